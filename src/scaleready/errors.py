"""The errors scaleready raises; only the CLI turns them into messages and exit codes."""

from __future__ import annotations


class ScaleReadyError(Exception):
    """Root of every error scaleready raises on purpose."""

    exit_code = 4

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source

    def __str__(self) -> str:
        return f"{self.source}: {self.message}" if self.source else self.message


class InputError(ScaleReadyError):
    """A profile, ruleset or other input file is malformed or invalid."""

    exit_code = 3


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


class ScaleReadyWarning(UserWarning):
    """Root of scaleready's warnings: the CLI shows each as one line, 'warning: ...'."""


class ProfileVersionWarning(ScaleReadyWarning):
    """A profile in an older format was read: it loads, and `profile upgrade` would rewrite it."""
