"""A plugin that ends the process at import, as a script mistaken for a plugin might."""

import sys

sys.exit(0)
