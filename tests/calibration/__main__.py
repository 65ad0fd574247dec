"""`python -m tests.calibration`: print the calibration agreement table (see agreement.py)."""

import sys

from tests.calibration.agreement import main

sys.exit(main(sys.argv[1:]))
