"""One round, run in a process of its own by the service worker that holds it:
``python -m scaleready.service.round_job JOB_ID PARENT_PID WORKER``, in the round's folder.

It runs the round as `scaleready batch ROUND --summary summary.csv --scorecards
scorecards.jsonl [--policy POLICY]` does, in that folder (so items are named by the file's
name, as batch names them), and keeps the job's progress and heartbeat in the store, so any
worker answers a poll and a round whose worker died is seen to be stale. It ends with the worker
that started it (Linux: PR_SET_PDEATHSIG), so a job is never run by a process no one watches.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

from scaleready.errors import ScaleReadyError
from scaleready.history import Job, Store, open_store
from scaleready.processes import end_with_parent
from scaleready.service.settings import CALLER, HEARTBEAT_SECONDS, Settings

if TYPE_CHECKING:
    from scaleready.rounds import batch
    from scaleready.rounds.writer import Tally

# The engine and the round machinery are imported once the heartbeat beats (in `run`): until
# then, nothing tells the other workers that this round is alive.

SUMMARY = Path("summary.csv")
SCORECARDS = Path("scorecards.jsonl")
RECORD_BATCH = 200  # assessments recorded per transaction
EXIT_TAKEN_OVER = 3  # another worker took the round up: this process leaves it to that one


class Heartbeat:
    """The round's heartbeat and progress, written to its job from a thread of their own as
    soon as the process starts; if another worker has taken the round up (this one was thought
    dead), the process ends at once, so one round never runs twice."""

    def __init__(self, store: Store, job_id: str, worker: str) -> None:
        self.store, self.job_id, self.worker = store, job_id, worker
        self.done: int = 0
        self.total: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self) -> Heartbeat:
        self.beat()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self.beat()

    def beat(self) -> None:
        if not self.still_ours():
            os._exit(EXIT_TAKEN_OVER)
        self.store.update_job(self.job_id, status="running", done=self.done, total=self.total)

    def still_ours(self) -> bool:
        job = self.store.get_job(self.job_id)
        return job is not None and job.worker == self.worker and job.status == "running"


class RoundRecorder:
    """Records each item assessed in the history, with the round's funder and job, a batch per
    transaction; a round taken up again records from the item after the last one recorded (its
    items come in the same order every time), so no assessment is recorded twice."""

    def __init__(self, store: Store, job: Job) -> None:
        self.store, self.job = store, job
        last = store.find(job_id=job.id, limit=1)
        self._after: str | None = last[0].scorecard["profile"]["source"] if last else None
        self._pending: list[tuple[str, dict]] = []  # each scorecard as its JSON text

    def add(self, outcome: batch.ItemResult) -> None:
        if outcome.scorecard_json is None or outcome.profile_json is None:
            return  # not assessed: the summary names why
        if self._after is not None:  # recorded by an earlier attempt
            self._after = None if outcome.label == self._after else self._after
            return
        self._pending.append((outcome.scorecard_json, json.loads(outcome.profile_json)))
        if len(self._pending) >= RECORD_BATCH:
            self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            job = self.job
            self.store.record_all(
                pending,
                caller=job.caller or CALLER,  # a round posted before callers were kept: the service
                funder=job.funder,
                policy=job.policy,
                job_id=job.id,
            )


def run(job: Job, jobs: int, heartbeat: Heartbeat, warnings: list[str]) -> Tally:
    """The round assessed, its outputs in place in this folder, its tally; what batch would
    warn about (columns ignored, rows read as Windows-1252) added to ``warnings``."""
    from scaleready.report import outputs
    from scaleready.rounds import batch
    from scaleready.rounds.writer import RoundFiles, RoundWriter

    policy_file = _policy_file() if job.policy else None
    assessor = _assessor(policy_file)
    items = batch.Round([Path(job.filename)], warn=warnings.append)
    files = RoundFiles(summary=SUMMARY, scorecards=SCORECARDS)
    with (
        outputs.OutputSet() as staged,
        RoundWriter(assessor.columns, files, staged) as round_,
    ):
        recorder = RoundRecorder(heartbeat.store, job)
        with closing(batch.assess_all(items, assessor, jobs)) as outcomes:
            for outcome in outcomes:
                round_.add(outcome)
                recorder.add(outcome)
                heartbeat.done = round_.tally.items
                heartbeat.total = items.count if items.done else None
        recorder.flush()
        round_.finish(job.filename)
        staged.commit()
    return round_.tally


def _policy_file() -> Path:
    return next(p for p in Path().iterdir() if p.stem == "policy")


def _assessor(policy_file: Path | None) -> batch.Assessor:
    """The assessor `scaleready batch` builds for these options (scaleready.toml aside: the
    service's rulesets are the default, or the policy's)."""
    from scaleready.assessment.build import create_engine
    from scaleready.assessment.policy import read_policy
    from scaleready.rounds import batch

    policy = read_policy(policy_file) if policy_file else None
    engine, _ = create_engine(policy=policy)
    if policy is not None:
        policy.check_against(engine.rulesets)
    options = batch.BatchOptions(
        tuple(ruleset.id for ruleset in engine.rulesets),
        policy=str(policy_file) if policy_file else None,
        keep_scorecards=True,
        keep_profiles=True,  # for the history
    )
    return batch.Assessor.around(engine, options)


def tally_summary(tally: Tally, warnings: list[str]) -> dict[str, object]:
    """The job's summary: what became of its items, and the warnings batch would print."""
    return {
        "items": tally.items,
        "assessed": tally.items - tally.errors,
        "errors": tally.errors,
        "internal_errors": tally.internal,
        "gate_failed": tally.gate_failed,
        "warnings": warnings,
    }


def main(job_id: str, parent: int, worker: str) -> int:
    end_with_parent(parent)
    settings = Settings.from_environment()
    store = open_store(settings.store_url)
    job = store.get_job(job_id)
    if job is None:
        return 2
    warnings: list[str] = []
    with Heartbeat(store, job_id, worker) as heartbeat:
        try:
            tally = run(job, settings.round_jobs, heartbeat, warnings)
        except ScaleReadyError as error:  # bad input for the whole round: a policy, say
            store.update_job(job_id, status="failed", error=str(error))
            return 1
        except Exception as error:  # a bug: the round fails with it named, never hangs
            store.update_job(job_id, status="failed", error=f"internal error: {error!r}")
            raise
    if not heartbeat.still_ours():  # its outputs are another attempt's too: the same
        return EXIT_TAKEN_OVER
    summary = tally_summary(tally, warnings)
    store.update_job(job_id, status="done", done=tally.items, total=tally.items, summary=summary)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
