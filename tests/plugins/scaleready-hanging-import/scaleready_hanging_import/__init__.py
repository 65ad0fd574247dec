"""A plugin whose import never returns, as one waiting on a network drive or a lock would."""

import threading

threading.Event().wait()  # nothing ever sets it
