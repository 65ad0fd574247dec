"""A plugin that misbehaves on purpose for profiles named "Trouble: <what>", as a plugin with a
bug in native code, an os._exit or a stray KeyboardInterrupt would; every other profile is fine."""

import os
import signal
import time
from pathlib import Path

from scaleready.hookspecs import hookimpl


def trouble(profile):
    """1 for an ordinary profile; for a "Trouble:" profile, the trouble its name asks for."""
    what = profile.name.removeprefix("Trouble: ") if profile.name.startswith("Trouble: ") else ""
    if what == "worker exits":
        os._exit(70)
    if what == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
        time.sleep(5)  # the signal arrives before this ends
    if what == "interrupt":
        raise KeyboardInterrupt
    return 1


@hookimpl
def register_derived_facts(register):
    register("trouble", trouble, kind="number", description="1, or trouble on purpose.")


@hookimpl
def register_rulesets(register):
    register(Path(__file__).parent / "trouble.yaml")
