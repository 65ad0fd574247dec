"""The tutorial in docs/plugins.md, run as written, so that it cannot drift from scaleready.

The page marks what the test reads with an HTML comment before a fenced block (invisible on
GitHub):

- ``<!-- tutorial-file: PATH -->``: write the block to PATH, relative to the folder the
  tutorial's commands are in at that point (a generated file is replaced);
- ``<!-- tutorial-commands -->``: run each line as a shell would, in document order;
- ``<!-- tutorial-output -->``: what the last command printed; each line but ``...`` must be in
  its output, in order, spaces aside.

The commands run for real in fresh virtualenvs: ``python -m venv DIR`` makes one (with
scaleready from this source tree, built once as a wheel, standing in for PyPI), ``. DIR/bin/
activate`` uses it, ``pip`` is this environment's pip installing into it (offline), and any
other program must be one of the virtualenv's (``scaleready``, ``pytest``). A command the test
does not know fails it, so the page cannot gain a step that is never run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

from scaleready import scaffold
from scaleready.plugins import load_registry_with_sources
from tests.conftest import REPO, assert_cases_cover_and_pass, pip

TUTORIAL = REPO / "docs" / "plugins.md"
MARKED_BLOCK = re.compile(
    r"^<!-- tutorial-(?P<kind>file|commands|output)(?::\s*(?P<path>\S+))?\s*-->\s*\n"
    r"```[^\n]*\n(?P<body>.*?)^```",
    re.DOTALL | re.MULTILINE,
)
ELIDED = "..."
PLUGIN_NEW = ["scaleready", "plugin", "new"]
TIMEOUT = 600  # seconds for one command: pip builds and installs


@dataclass(frozen=True)
class Step:
    kind: str  # file, commands or output
    path: str | None  # a file's path
    body: str


def tutorial_steps() -> list[Step]:
    text = TUTORIAL.read_text(encoding="utf-8")
    return [Step(m["kind"], m["path"], m["body"]) for m in MARKED_BLOCK.finditer(text)]


def commands(steps: list[Step]) -> list[list[str]]:
    """Every command of the tutorial as words, ``a && b`` as two."""
    lines = [line for step in steps if step.kind == "commands" for line in step.body.splitlines()]
    return [
        words
        for line in lines
        for part in line.split("&&")
        if (words := shlex.split(part, comments=True))
    ]


def test_the_tutorial_marks_its_files_commands_and_output():
    """A marker lost in an edit would silently leave part of the tutorial untested."""
    steps = tutorial_steps()
    text = TUTORIAL.read_text(encoding="utf-8")
    markers = re.findall(r"^<!-- tutorial-", text, re.MULTILINE)
    assert len(steps) == len(markers), "a tutorial marker that is not right before a block"
    files = [step.path for step in steps if step.kind == "file"]
    assert all(path and not Path(path).is_absolute() and ".." not in path for path in files)
    assert [words[3] for words in commands(steps) if words[:3] == PLUGIN_NEW] == ["peer-support"]
    assert any(words[:2] == ["scaleready", "assess"] for words in commands(steps))
    assert any(step.kind == "output" for step in steps)


def test_the_tutorials_plugin_passes_its_own_cases_read_from_source(tmp_path):
    """The quick check: the kit's package with the tutorial's files, read as `rulesets validate
    --plugin .` reads it, and every case of its tests file passing on every backend."""
    steps = tutorial_steps()
    name = next(words[3] for words in commands(steps) if words[:3] == PLUGIN_NEW)
    names = scaffold.plugin_names(name)
    scaffold.write_plugin(names, tmp_path)
    for step in steps:
        if step.kind == "file":
            assert step.path is not None
            (tmp_path / step.path).write_text(step.body, encoding="utf-8")
    registry = load_registry_with_sources([tmp_path])
    assert not registry.problems, registry.problems
    ruleset = registry.rulesets[names.ruleset_id]
    assert_cases_cover_and_pass(
        registry, ruleset, tmp_path / "src" / names.package / names.tests_file
    )


@pytest.mark.slow
def test_the_tutorial_run_as_written_builds_installs_and_assesses(tmp_path):
    """Every file and command in order, in fresh virtualenvs, to the scorecard it shows."""
    shell = TutorialShell(tmp_path / "work", scaleready_wheel(tmp_path / "dist"))
    for step in tutorial_steps():
        shell.take(step)
    assess = [
        words for words in commands(tutorial_steps()) if words[:2] == ["scaleready", "assess"]
    ]
    chosen = [assess[-1][i + 1] for i, word in enumerate(assess[-1]) if word == "--ruleset"]
    card = json.loads(shell.run(assess[-1] + ["--format", "json"]).stdout)
    stated = re.search(r"Readiness level (\d) of 5", shell.outputs_shown[-1])
    assert stated, "the tutorial's output does not state the level"
    assert [(d["id"], d["level"]) for d in card["dimensions"]] == [(chosen[0], int(stated[1]))]
    sections = card["provenance"]["sections"]
    assert [(s["name"], s["plugin"]) for s in sections] == [(chosen[0], chosen[0])]
    installed = json.loads(shell.run(["scaleready", "rulesets", "list", "--json"]).stdout)
    source = next(row["source"] for row in installed if row["id"] == chosen[0])
    assert str(shell.virtualenv) in source, "the plugin ran from its source, not from the wheel"


def scaleready_wheel(folder: Path) -> Path:
    pip("wheel", "-w", str(folder), str(REPO))
    return next(folder.glob("scaleready-*.whl"))


class TutorialShell:
    """Runs the tutorial's commands as a shell would: a current folder, an active virtualenv."""

    def __init__(self, folder: Path, wheel: Path) -> None:
        folder.mkdir(parents=True)
        self.folder = folder
        self.wheel = wheel
        self.virtualenv: Path | None = None
        self.last_output = ""
        self.outputs_shown: list[str] = []

    def take(self, step: Step) -> None:
        if step.kind == "file":
            assert step.path is not None
            path = self.folder / step.path
            assert path.parent.is_dir(), f"{step.path}: the tutorial writes into a missing folder"
            path.write_text(step.body, encoding="utf-8")
        elif step.kind == "commands":
            for words in commands([step]):
                self.last_output = self.run(words).stdout
        else:
            self.expect_output(step.body)

    def run(self, words: list[str]) -> subprocess.CompletedProcess:
        program, args = words[0], words[1:]
        if program == "cd":
            self.folder = (self.folder / args[0]).resolve()
            return self.done()
        if program in (".", "source"):
            self.virtualenv = (self.folder / args[0]).resolve().parent.parent
            assert (self.virtualenv / "bin" / "python").exists(), f"no virtualenv for {words}"
            return self.done()
        if program == "deactivate":
            self.virtualenv = None
            return self.done()
        if words[:3] == ["python", "-m", "venv"]:
            return self.new_virtualenv(self.folder / args[-1])
        if program == "pip":
            return self.execute([sys.executable, "-m", "pip", "--python", self.python(), *args])
        executable = self.bin() / program
        assert executable.exists(), f"the tutorial runs {words}: not a program of its virtualenv"
        return self.execute([str(executable), *args])

    def new_virtualenv(self, folder: Path) -> subprocess.CompletedProcess:
        """A fresh virtualenv with scaleready from this source tree, as PyPI would give it."""
        venv.EnvBuilder(with_pip=False).create(folder)
        python = str(folder / "bin" / "python")
        return self.execute(
            [sys.executable, "-m", "pip", "--python", python, "install", "-q", str(self.wheel)]
        )

    def expect_output(self, shown: str) -> None:
        actual = [" ".join(line.split()) for line in self.last_output.splitlines()]
        position = 0
        for line in shown.splitlines():
            wanted = " ".join(line.split())
            if not wanted or wanted == ELIDED:
                continue
            found = [i for i, got in enumerate(actual[position:], position) if wanted in got]
            assert found, f"the tutorial shows {wanted!r}; scaleready printed:\n{self.last_output}"
            position = found[0] + 1
        self.outputs_shown.append(shown)

    def python(self) -> str:
        return str(self.bin() / "python")

    def bin(self) -> Path:
        assert self.virtualenv is not None, "the tutorial runs a command outside a virtualenv"
        return self.virtualenv / "bin"

    def execute(self, command: list[str]) -> subprocess.CompletedProcess:
        environment = dict(os.environ)
        if self.virtualenv is not None:
            environment["VIRTUAL_ENV"] = str(self.virtualenv)
            environment["PATH"] = f"{self.bin()}{os.pathsep}{environment.get('PATH', '')}"
        result = subprocess.run(
            command,
            cwd=self.folder,
            env=environment,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
        return result

    def done(self) -> subprocess.CompletedProcess:
        return subprocess.CompletedProcess([], 0, "", "")
