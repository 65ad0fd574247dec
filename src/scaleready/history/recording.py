"""What the commands record: each scorecard with its profile, who asked, and the policy applied."""

from __future__ import annotations

import getpass
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scaleready.assessment.policy import Policy
from scaleready.assessment.scorecard import Scorecard, ScorecardData
from scaleready.documents import load_document
from scaleready.errors import PolicyError
from scaleready.history.store import Store

BATCH = 200  # records per transaction: a round is appended in pieces, not one commit a profile


def cli_caller() -> str:
    """Who recorded from the command line: the user and the machine."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


def policy_document(policy: Policy) -> dict[str, Any]:
    """The policy's document as it was read (its hash checked): what reassess re-applies."""
    document = load_document(Path(policy.source), PolicyError)
    if document.sha256 != policy.sha256:
        raise PolicyError("changed while it was being applied; run again", source=policy.source)
    if not isinstance(document.data, dict):  # read_policy accepted it, so this is a mapping
        raise PolicyError("is not a mapping", source=policy.source)
    return document.data


class Recorder:
    """Appends a command's assessments to the history, a batch per transaction; ``close``
    appends what is left, so an interrupted command keeps what it assessed."""

    def __init__(self, store: Store, *, caller: str, policy: Policy | None) -> None:
        self.store = store
        self.caller = caller
        self._policy = None if policy is None else policy_document(policy)
        self._policy_sha256 = None if policy is None else policy.sha256
        self._pending: list[tuple[Scorecard | ScorecardData, Mapping[str, Any]]] = []
        self.count = 0

    def add(self, card: Scorecard | ScorecardData, profile: Mapping[str, Any]) -> None:
        self._pending.append((card, profile))
        if len(self._pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        self.store.record_all(
            pending, caller=self.caller, policy=self._policy, policy_sha256=self._policy_sha256
        )
        self.count += len(pending)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.store.close()
