"""The project config file, scaleready.toml: the rulesets that count and the policy, for a folder.

Looked up from the working folder upward, as git and ruff find theirs; the first one found is
used. It pins choices that would otherwise depend on which plugins happen to be installed
(docs/choosing-rulesets.md). Every key is optional; an unknown key is an error, not a guess.

    rulesets = ["evidence", "partnership", "contract_fit", "replicability", "social_value"]
    policy = "policies/our-fund.yaml"   # relative to this file's folder
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaleready.documents import MAX_LIST_ITEMS, read_file
from scaleready.errors import InputError
from scaleready.problems import brief, did_you_mean

CONFIG_NAME = "scaleready.toml"
_KEYS = ("rulesets", "policy")


@dataclass(frozen=True)
class ProjectConfig:
    """A checked scaleready.toml: where it is, and what it pins (None where it is silent)."""

    path: Path
    rulesets: tuple[str, ...] | None = None
    policy: Path | None = None
    text: str = field(default="", repr=False, compare=False)  # for the line of an id

    def line_of_ruleset(self, ruleset_id: str) -> int | None:
        """The line on which ``rulesets`` names this id (quoted), or its key's line."""
        lines = _Problems(self.path, self.text)
        quoted = re.compile(rf"""["']{re.escape(ruleset_id)}["']""")
        start = lines.line_of("rulesets") or 1
        found = (n for n, line in enumerate(lines.lines[start - 1 :], start) if quoted.search(line))
        return next(found, start if lines.line_of("rulesets") else None)


def find_config(start: Path | None = None) -> Path | None:
    """The nearest scaleready.toml in ``start`` (the working folder) or a folder above it."""
    try:
        folder = (start or Path.cwd()).resolve()
    except OSError:  # the working folder was removed: there is no project to configure
        return None
    for candidate in (folder, *folder.parents):
        path = candidate / CONFIG_NAME
        try:
            if path.exists() or path.is_symlink():  # not a file? load_config says so
                return path
        except OSError:  # a folder we may not look into holds no config of ours
            continue
    return None


def project_config(start: Path | None = None) -> ProjectConfig | None:
    """The nearest scaleready.toml, read and checked; None if there is none."""
    path = find_config(start)
    return None if path is None else load_config(path)


def load_config(path: Path) -> ProjectConfig:
    """Read and check a scaleready.toml; InputError naming the file and line if it is bad."""
    text = _read_text(path)
    data = _parse(text, path)
    problem = _Problems(path, text)
    for key in data:
        if key not in _KEYS:
            hint = did_you_mean(key, _KEYS, otherwise=f"the keys allowed are {', '.join(_KEYS)}")
            raise problem.at(key, f"unknown key {brief(key)}; {hint}", name_key=False)
    return ProjectConfig(
        path,
        rulesets=_rulesets(data.get("rulesets"), problem),
        policy=_policy(data.get("policy"), path, problem),
        text=text,
    )


def _read_text(path: Path) -> str:
    # as every document is read: a pipe or a device refused at once, the size bounded
    raw = read_file(path, InputError, wanted=f"a {CONFIG_NAME} file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text; save it as UTF-8", source=str(path)) from None


def _parse(text: str, path: Path) -> dict[str, Any]:
    import tomllib  # only when a config file exists

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InputError(
            f"{_toml_problem(str(error), text)} (not valid TOML)", source=str(path)
        ) from None
    except RecursionError:  # tomllib reads nested arrays and tables by recursion
        raise InputError(
            "arrays or tables are nested too deep to read; a config needs a level or two",
            source=str(path),
        ) from None


def _toml_problem(message: str, text: str) -> str:
    """tomllib's message led by its line, as scaleready's messages are: it ends in "(at line 3,
    column 5)" or "(at end of document)", which is the last line."""
    found = re.search(r"^(.*) \(at (?:line (\d+), column \d+|end of document)\)$", message)
    if not found:
        return message
    line = found[2] or max(1, len(text.splitlines()))
    return f"line {line}: {found[1]}"


def _rulesets(value: object, problem: _Problems) -> tuple[str, ...] | None:
    if value is None:
        return None
    example = 'write e.g. rulesets = ["evidence", "partnership"]'
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise problem.at(
            "rulesets", f"expected a list of ruleset ids, got {brief(value)}; {example}"
        )
    if not value:
        raise problem.at("rulesets", f"is empty: at least one ruleset must count; {example}")
    if len(value) > MAX_LIST_ITEMS:
        raise problem.at("rulesets", f"lists more than {MAX_LIST_ITEMS:,} rulesets")
    return tuple(dict.fromkeys(value))


def _policy(value: object, path: Path, problem: _Problems) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        example = 'write e.g. policy = "policies/our-fund.yaml"'
        raise problem.at(
            "policy", f"expected the path of a policy file, got {brief(value)}; {example}"
        )
    return path.parent / value  # relative to the config file, wherever scaleready runs


class _Problems:
    """Errors naming the config file and the line of the key at fault."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def at(self, key: str, message: str, *, name_key: bool = True) -> InputError:
        line = self.line_of(key)
        where = (f"line {line}: " if line else "") + (f"{key}: " if name_key else "")
        return InputError(where + message, source=str(self.path))

    def line_of(self, key: str) -> int | None:
        """The line of a top-level key (``key = ...`` or ``[key]``), quoted or bare."""
        pattern = re.compile(rf"""^\s*(\[\s*)?["']?{re.escape(key)}["']?\s*(=|\])""")
        return next((n for n, line in enumerate(self.lines, 1) if pattern.match(line)), None)
