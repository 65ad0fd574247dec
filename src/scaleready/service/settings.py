"""What a service process is configured with, passed to uvicorn's worker processes by the
environment (each worker builds its app from it)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from scaleready.errors import SettingError

DEFAULT_MAX_REQUEST_BYTES = 10 * 2**20  # a round of 10,000 rows as CSV is about 5 MiB
HEARTBEAT_SECONDS = 1.0  # how often a running round says it is alive
DEFAULT_STALE_SECONDS = 30.0  # a round silent this long lost its worker: another takes it up
MAX_ATTEMPTS = 3  # a round whose worker died this many times is failed, with the reason

CALLER = "scaleready serve"  # how the history names the service as the caller
_PREFIX = "SCALEREADY_SERVICE_"
N = TypeVar("N", int, float)


@dataclass(frozen=True)
class Settings:
    """A service's settings: its store, its policies folder, its limits."""

    store_url: str | None = None  # None: the store's default (open_store)
    policies: Path | None = None  # a folder of policy files, named in requests by file name
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    rounds_dir: Path = field(default_factory=lambda: default_rounds_dir())
    stale_after_s: float = DEFAULT_STALE_SECONDS
    round_jobs: int = 1  # worker processes per round (each round's own pool)

    def environment(self) -> dict[str, str]:
        """These settings as environment variables, for `from_environment` in a worker."""
        values = {
            "STORE": self.store_url or "",
            "POLICIES": str(self.policies or ""),
            "MAX_REQUEST_BYTES": str(self.max_request_bytes),
            "ROUNDS_DIR": str(self.rounds_dir),
            "STALE_AFTER": str(self.stale_after_s),
            "ROUND_JOBS": str(self.round_jobs),
        }
        return {_PREFIX + name: value for name, value in values.items()}

    @classmethod
    def from_environment(cls) -> Settings:
        """The settings `environment` gave, defaults for those not set."""
        get = lambda name: os.environ.get(_PREFIX + name, "").strip()  # noqa: E731
        defaults = cls()
        return cls(
            store_url=get("STORE") or None,
            policies=Path(get("POLICIES")) if get("POLICIES") else None,
            max_request_bytes=_number(get("MAX_REQUEST_BYTES"), defaults.max_request_bytes, int),
            rounds_dir=Path(get("ROUNDS_DIR")) if get("ROUNDS_DIR") else defaults.rounds_dir,
            stale_after_s=_number(get("STALE_AFTER"), defaults.stale_after_s, float),
            round_jobs=_number(get("ROUND_JOBS"), defaults.round_jobs, int),
        )


def _number(text: str, default: N, kind: Callable[[str], N]) -> N:
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = kind("0")
    if value <= 0:
        raise SettingError(f"{text!r} is not a positive number", source="the service settings")
    return value


def default_rounds_dir() -> Path:
    """Where rounds' uploads and outputs are kept: beside the default history database."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "scaleready" / "rounds"
