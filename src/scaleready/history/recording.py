"""What the commands record: each scorecard with its profile, who asked, and the policy applied."""

from __future__ import annotations

import getpass
import queue
import socket
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scaleready.assessment.policy import Policy
from scaleready.assessment.scorecard import Scorecard, ScorecardData
from scaleready.documents import load_document
from scaleready.errors import PolicyError
from scaleready.history.store import Store

BATCH = 200  # records per transaction: a round is appended in pieces, not one commit a profile
AHEAD = 4  # batches handed to the writer and not yet written, at most


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
    """Appends a command's assessments to the history, a batch per transaction, on a thread of
    its own: the command goes on assessing while the database writes (SQLite and psycopg let
    go of the GIL while they work). ``close`` appends what is left and waits for it, so an
    interrupted command keeps what it assessed; a write that failed is raised there, or by
    the next ``add``."""

    def __init__(self, store: Store, *, caller: str, policy: Policy | None) -> None:
        self.store = store
        self.caller = caller
        self._policy = None if policy is None else policy_document(policy)
        self._policy_sha256 = None if policy is None else policy.sha256
        self._pending: list[tuple[Scorecard | ScorecardData | str, Mapping[str, Any]]] = []
        self._batches: queue.Queue[list | None] = queue.Queue(maxsize=AHEAD)
        self._writer = threading.Thread(target=self._write, name="history-writer", daemon=True)
        self._writer.start()
        self._failure: BaseException | None = None
        self.count = 0

    def add(self, card: Scorecard | ScorecardData | str, profile: Mapping[str, Any]) -> None:
        """Record a scorecard (or its JSON text) and the profile assessed, soon."""
        self._pending.append((card, profile))
        if len(self._pending) >= BATCH:
            self._hand_over()

    def _hand_over(self) -> None:
        self._raise_failure()
        if self._pending:
            # put waits while AHEAD batches are queued (memory stays flat); an interrupt while
            # it waits leaves the batch pending, for close() to hand over
            self._batches.put(self._pending)
            self._pending = []

    def _write(self) -> None:
        while (batch := self._batches.get()) is not None:
            if self._failure is not None:
                continue  # drain, so that close() is never left waiting
            try:
                self.store.record_all(
                    batch,
                    caller=self.caller,
                    policy=self._policy,
                    policy_sha256=self._policy_sha256,
                )
                self.count += len(batch)
            except BaseException as error:  # raised in the command's thread, by add or close
                self._failure = error

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def close(self) -> None:
        """Append what is left, wait for it, and close the store."""
        try:
            self._hand_over()
        finally:
            self._batches.put(None)
            self._writer.join()
            self.store.close()
        self._raise_failure()
