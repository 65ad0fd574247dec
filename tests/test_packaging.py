"""The built wheel, installed into a fresh virtualenv, works from outside the checkout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, pip

BUILTINS = ["contract_fit", "evidence", "partnership", "replicability"]

pytestmark = pytest.mark.slow  # builds a wheel and installs it into fresh virtualenvs


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    pip("wheel", "-w", str(folder), str(REPO))
    return next(folder.glob("scaleready-*.whl"))


def fresh_install(python: str, wheel: Path, folder: Path) -> Path:
    """A new virtualenv with only the wheel and its dependencies; returns its bin folder.

    This environment's pip installs into it (pip --python): the virtualenv gets no pip of its
    own, whose installation (ensurepip) would cost more than the rest of its set-up."""
    subprocess.run(
        [python, "-m", "venv", "--without-pip", str(folder)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pip = [sys.executable, "-m", "pip", "--python", str(folder / "bin" / "python")]
    result = subprocess.run(
        [*pip, "install", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return folder / "bin"


def assess_outside_the_checkout(bin_folder: Path, tmp_path: Path) -> dict:
    profile = shutil.copy(REPO / "examples" / "code-club.yaml", tmp_path / "profile.yaml")
    result = subprocess.run(
        [str(bin_folder / "scaleready"), "assess", str(profile), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_wheel_carries_the_built_in_plugins_and_their_rulesets(wheel, tmp_path):
    bin_folder = fresh_install(sys.executable, wheel, tmp_path / "venv")
    card = assess_outside_the_checkout(bin_folder, tmp_path)
    assert sorted(d["id"] for d in card["dimensions"]) == BUILTINS
    assert card["provenance"]["backend"] == "durable_rules"
    sources = [
        row["source"]
        for row in json.loads(
            subprocess.run(
                [str(bin_folder / "scaleready"), "rulesets", "list", "--json"],
                capture_output=True,
                text=True,
                cwd=tmp_path,
            ).stdout
        )
    ]
    assert all(str(tmp_path / "venv") in source for source in sources)


def python_3_13() -> str | None:
    """A working Python 3.13 interpreter: on PATH, or installed by pyenv but not selected."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [
        shutil.which("python3.13"),
        *sorted(map(str, pyenv_root.glob("versions/3.13*/bin/python3.13"))),
    ]
    for candidate in filter(None, candidates):
        if subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None


PYTHON_3_13 = python_3_13()


@pytest.mark.skipif(PYTHON_3_13 is None, reason="no Python 3.13 on this machine")
def test_on_python_3_13_it_installs_without_durable_rules_and_uses_the_python_backend(
    wheel, tmp_path
):
    assert PYTHON_3_13 is not None  # for the type checker: the test is skipped without it
    bin_folder = fresh_install(PYTHON_3_13, wheel, tmp_path / "venv")
    card = assess_outside_the_checkout(bin_folder, tmp_path)
    assert card["provenance"]["backend"] == "python"
    assert sorted(d["id"] for d in card["dimensions"]) == BUILTINS
