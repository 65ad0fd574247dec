"""Worker processes that end with the process that started them, even when it is killed.

A round's pool, ``assess_many``'s pool and the service's round processes all start workers; a
worker left behind by a parent killed with SIGKILL would go on using a core (and hold files
open) for nobody. Linux tells a process when its parent dies (``PR_SET_PDEATHSIG``); elsewhere a
thread watches the parent's pid.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

WATCH_SECONDS = 1.0  # where PR_SET_PDEATHSIG is missing, how often a worker checks its parent
_PR_SET_PDEATHSIG = 1  # from linux/prctl.h


def end_with_parent(parent: int) -> None:
    """Make sure this process ends when process ``parent`` does, even if it is killed."""
    if not _killed_when_parent_dies():
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it died before we asked
        os._exit(1)


def _killed_when_parent_dies() -> bool:
    """Linux's PR_SET_PDEATHSIG; False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes  # only here: a worker on Linux

    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)
