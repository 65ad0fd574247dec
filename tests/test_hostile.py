"""The hostile-input corpus (tests/hostile/): each case ends with its documented exit code and a
message naming the culprit, never a traceback, a hang or unbounded memory."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, SCALEREADY
from tests.hostile.generate import GENERATORS

CORPUS = REPO / "tests" / "hostile"
CASES = sorted(CORPUS.rglob("*.yaml"))
DEFAULT_SECONDS = 30
DEFAULT_MEMORY_MIB = 600

pytestmark = pytest.mark.slow  # every case runs the installed command in a subprocess


def _write_files(folder: Path, files: dict) -> None:
    for name, recipe in (files or {}).items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if "text" in recipe:
            target.write_bytes(recipe["text"].encode(recipe.get("encoding", "utf-8")))
        elif "copy" in recipe:
            shutil.copyfile(REPO / recipe["copy"], target)
        elif "base64" in recipe:
            target.write_bytes(base64.b64decode(recipe["base64"]))
        elif "fifo" in recipe:  # a named pipe nobody writes to: reading it would wait forever
            os.mkfifo(target)
        elif "symlink" in recipe:  # e.g. {symlink: /dev/zero}
            target.symlink_to(recipe["symlink"])
        else:
            parameters = {k: v for k, v in recipe.items() if k != "generate"}
            target.write_bytes(GENERATORS[recipe["generate"]](**parameters))


def _run(case: dict, folder: Path, plugins_env: dict) -> tuple[int, str, str, float]:
    """Exit code, stdout, stderr and peak resident memory (MiB) of the command."""
    env = {**os.environ, **plugins_env, **{k: str(v) for k, v in (case.get("env") or {}).items()}}
    env.pop("SCALEREADY_DEBUG", None)
    with (folder / ".stdout").open("wb") as out, (folder / ".stderr").open("wb") as err:
        process = subprocess.Popen(
            [str(SCALEREADY), *map(str, case["args"])],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    code, peak_mib = _wait(process, case.get("seconds", DEFAULT_SECONDS))
    return code, _read(folder / ".stdout"), _read(folder / ".stderr"), peak_mib


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "replace")


def _wait(process: subprocess.Popen, seconds: float) -> tuple[int, float]:
    """The command's exit code and peak resident memory (MiB); killed at the time limit.

    The peak is the kernel's high-water mark of the command's own memory (VmHWM), read as it
    runs: wait4's ru_maxrss would not do, as it keeps the high-water mark of the process that
    started the command (pytest itself) across the exec.
    """
    deadline, peak_kib = time.monotonic() + seconds, 0
    while process.poll() is None:
        peak_kib = max(peak_kib, _high_water_kib(process.pid))
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"still running after {seconds} s")
        time.sleep(0.01)
    return process.returncode, peak_kib / 1024


def _high_water_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # it has just ended
        return 0
    line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return int(line.split()[1]) if line else 0


@pytest.mark.parametrize("case_file", CASES, ids=[str(p.relative_to(CORPUS)) for p in CASES])
def test_hostile_input_ends_as_documented(case_file: Path, tmp_path: Path, plugin_sites):
    case = yaml.safe_load(case_file.read_text(encoding="utf-8"))
    _write_files(tmp_path, case.get("files"))
    # each plugin package is installed for real once a session, outside the case's folder;
    # a case sees only its own packages
    plugins_env = plugin_sites(*case["plugins"]) if case.get("plugins") else {}
    code, stdout, stderr, peak_mib = _run(case, tmp_path, plugins_env)
    assert code == case["exit"], f"exit {code}, expected {case['exit']}\n{stderr[-3000:]}"
    assert "Traceback" not in stdout + stderr, stderr[-3000:]
    for text in case.get("stderr") or []:
        assert text in stderr, f"{text!r} not in the message:\n{stderr[-3000:]}"
    for text in case.get("stdout") or []:
        assert text in stdout, f"{text!r} not in the output:\n{stdout[-3000:]}"
    for text in case.get("absent") or []:
        assert text not in stdout + stderr, f"{text!r} was printed"
    for name, lines in (case.get("outputs") or {}).items():
        produced = tmp_path / name
        assert produced.is_file(), f"{name} was not written"
        if lines is not None:
            assert len(produced.read_text(encoding="utf-8-sig").splitlines()) == lines
    assert peak_mib < case.get("memory_mib", DEFAULT_MEMORY_MIB), f"peak {peak_mib:.0f} MiB"
