"""The errors scaleready raises; only the CLI turns them into messages and exit codes."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any, NamedTuple


class Problem(NamedTuple):
    """One thing wrong with an input: where (a field path as the user writes it, such as
    ``evidence.evaluations[0].design``; "" for the document as a whole), what, and its line."""

    path: str
    message: str
    line: int | None = None


class ScaleReadyError(Exception):
    """Root of every error scaleready raises on purpose."""

    exit_code = 4

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source

    def __str__(self) -> str:
        return f"{self.source}: {self.message}" if self.source else self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword arguments are not in self.args: rebuilt from the attributes instead, so that
        # an error crosses to another process whole (assess_many's workers send them back)
        return (_rebuilt, (type(self), self.__dict__.copy()))


def _rebuilt(kind: type[ScaleReadyError], state: dict[str, Any]) -> ScaleReadyError:
    error = kind.__new__(kind)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class InputError(ScaleReadyError):
    """A profile, ruleset or other input file is malformed or invalid."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        problems: Sequence[Problem] | None = None,
    ) -> None:
        super().__init__(message, source=source)
        self._problems = list(problems) if problems is not None else None

    @property
    def problems(self) -> list[Problem]:
        """Each problem, to map back onto a form's fields; one naming no field when the error
        is about the input as a whole (a file not found, YAML that does not parse)."""
        if self._problems is not None:
            return self._problems
        line = _LEADING_LINE.match(self.message)
        if line is None:
            return [Problem("", self.message)]
        return [Problem("", self.message[line.end() :], int(line[1]))]


_LEADING_LINE = re.compile(r"line (\d+): ")


class ProfileError(InputError):
    """An innovation profile cannot be read or does not match the profile schema."""


class RulesetError(InputError):
    """A ruleset cannot be read, or a rule in it is invalid."""


class PolicyError(InputError):
    """A funder policy file is malformed or names rulesets or rules that are not assessed."""


class PluginError(ScaleReadyError):
    """A plugin failed to import or to register what it provides."""

    def __init__(self, message: str, *, plugin: str, source: str | None = None) -> None:
        super().__init__(message, source=source)
        self.plugin = plugin

    def __str__(self) -> str:
        return f"plugin {self.plugin!r}: {self.message}"


class EngineError(ScaleReadyError):
    """The rules engine failed while assessing a profile (a bug, not bad input)."""


class SettingError(ScaleReadyError):
    """An environment variable that configures scaleready has a value it cannot use."""

    exit_code = 2


class OutputError(ScaleReadyError):
    """An output cannot be written where it was asked for: a usage error, choose another target."""

    exit_code = 2


class ClusterError(ScaleReadyError):
    """A round's cluster cannot be used: not installed, not reached, or its workers differ."""

    exit_code = 2


class ScaleReadyWarning(UserWarning):
    """Root of scaleready's warnings: the CLI shows each as one line, 'warning: ...'."""


class ProfileVersionWarning(ScaleReadyWarning):
    """A profile in an older format was read: it loads, and `profile upgrade` would rewrite it."""


def item_failure(label: str, error: Exception) -> tuple[str, int]:
    """Why one item (a profile file, a row of a round) could not be assessed, and its exit code.

    Bad input names its file and line already; an engine or plugin error is named after the
    item; anything else is a bug met on this item, reported as one (exit 4), unless
    SCALEREADY_DEBUG asks for the traceback. The other items go on either way.
    """
    if isinstance(error, InputError):
        return str(error), error.exit_code
    if isinstance(error, ScaleReadyError):
        return _naming(label, str(error)), error.exit_code
    if os.environ.get("SCALEREADY_DEBUG"):
        raise error
    return _naming(label, f"internal error: {type(error).__name__}: {error}"), INTERNAL_ERROR


INTERNAL_ERROR = ScaleReadyError.exit_code  # a bug: the exit code the CLI documents for one


def _naming(label: str, reason: str) -> str:
    """The reason, starting with the item it is about."""
    return reason if reason.startswith(label) else f"{label}: {reason}"
