"""Rounds held by this service worker, each run in a process of its own
(``scaleready.service.round_job``), and rounds whose worker died taken up again.

A round's state lives in the store's jobs table, so any worker answers a poll. A running round
beats a heartbeat into its job (its process does, and its worker while the process runs); one
silent for longer than the stale time lost its worker (the round's process dies with it), and
a watchdog in every worker takes it up again from the start (its outputs are put in place
together at the end, so nothing half-done is left), at most MAX_ATTEMPTS times, after which
it is failed with the reason: no round stays "running" forever.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from scaleready.history import Job, Store
from scaleready.service.settings import HEARTBEAT_SECONDS, MAX_ATTEMPTS, Settings

ROUNDS_AT_ONCE = 2  # rounds one worker runs at a time; the rest wait, queued
_ATTEMPT = re.compile(r"\(attempt (\d+) of \d+\)")
_log = logging.getLogger("scaleready.service")


def worker_name() -> str:
    """This worker process, as jobs name the worker holding them."""
    return f"{socket.gethostname()}:{os.getpid()}"


class RoundRunner:
    """Starts this worker's rounds and watches for rounds other workers left behind."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings, self.store = settings, store
        self.name = worker_name()
        self._slots = threading.BoundedSemaphore(ROUNDS_AT_ONCE)
        self._held: set[str] = set()  # rounds a thread of this worker is holding now
        self._stopping = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, daemon=True, name="round watchdog")

    def start(self) -> None:
        self._watchdog.start()

    def stop(self) -> None:
        self._stopping.set()

    def folder(self, job_id: str) -> Path:
        return self.settings.rounds_dir / job_id

    def submit(self, job_id: str) -> None:
        """Run the round in the background, on a thread of its own that waits for the round's
        process: Linux ends that process when the thread that started it ends (PDEATHSIG),
        so the thread must outlive it, as a worker's short-lived request threads would not."""
        threading.Thread(target=self._hold, args=(job_id,), daemon=True, name=job_id).start()

    def _hold(self, job_id: str) -> None:
        self._held.add(job_id)
        try:
            self._queue_and_run(job_id)
        finally:
            self._held.discard(job_id)

    def _queue_and_run(self, job_id: str) -> None:
        while not self._slots.acquire(timeout=HEARTBEAT_SECONDS):  # queued: still alive
            self.store.update_job(job_id, status="queued", worker=self.name)
        try:
            if not self.folder(job_id).is_dir():  # another machine's, not shared with this one
                self._fail_unreachable(job_id)
                return
            self.store.update_job(job_id, status="running", worker=self.name)
            exit_code = self._run(job_id)
            self._check_ended(job_id, exit_code)
        except Exception:  # the store unreachable, say: the watchdogs will take it up again
            _log.exception("round %s: its worker could not run it", job_id)
        finally:
            self._slots.release()

    def _fail_unreachable(self, job_id: str) -> None:
        error = (
            f"internal error: the round's files are not in {self.settings.rounds_dir} on "
            f"{socket.gethostname()}; every worker must share the same --rounds-dir"
        )
        self.store.update_job(job_id, status="failed", error=error)

    def _run(self, job_id: str) -> int:
        folder = self.folder(job_id)
        module = "scaleready.service.round_job"
        command = [sys.executable, "-m", module, job_id, str(os.getpid()), self.name]
        environment = {**os.environ, **self.settings.environment()}
        with open(folder / "round.log", "ab") as log:
            process = subprocess.Popen(command, cwd=folder, env=environment, stdout=log, stderr=log)
            beat_every = self.settings.stale_after_s / 3  # often enough, without a write a second
            while True:
                try:
                    return process.wait(timeout=beat_every)
                except subprocess.TimeoutExpired:
                    self._beat_for(job_id)

    def _beat_for(self, job_id: str) -> None:
        """Keep a round this worker holds alive in the jobs table while its process runs.

        Staleness means the worker has stopped: a round's process that is merely slow to start
        or to beat (starved of CPU) must not be taken up again by a watchdog and run twice.  A
        round process that ends on its own is failed by _check_ended; one that dies with its
        worker is taken up again, as no one beats for it any more.
        """
        try:
            self.store.touch_job(job_id, self.name)
        except Exception:  # the store unreachable: keep waiting for the process all the same
            _log.exception("round %s: its heartbeat could not be written", job_id)

    def _check_ended(self, job_id: str, exit_code: int) -> None:
        """A round whose process stopped without saying how it ended is failed, naming why."""
        job = self.store.get_job(job_id)
        if job is None or job.status in ("done", "failed") or job.worker != self.name:
            return
        self.store.update_job(
            job_id,
            status="failed",
            error=f"internal error: the round's process stopped ({_how(exit_code)}); "
            "the service's round.log for it has the details",
        )

    def _watch(self) -> None:
        interval = min(self.settings.stale_after_s / 3, 5.0)
        while not self._stopping.wait(interval):
            try:
                for job in self.store.stale_jobs(self.settings.stale_after_s):
                    self._take_up(job)
            except Exception:  # keep watching: the store may be back next time
                _log.exception("the round watchdog could not read the jobs")

    def _take_up(self, job: Job) -> None:
        """Claim a round whose worker went silent, and run it again (or fail it after the last
        attempt); of two watchdogs claiming it at once, one gets it (the store's claim_job)."""
        if job.id in self._held:  # late, not lost: this worker is running it (see _beat_for)
            return
        attempt = _attempt(job) + 1
        lost = f"its worker ({job.worker or 'none yet'}) stopped"
        if attempt > MAX_ATTEMPTS:
            error = f"{lost}; failed after {MAX_ATTEMPTS} attempts, each ending with its worker"
            self.store.update_job(job.id, status="failed", error=error)
            return
        if not self.store.claim_job(job.id, self.name, stale_after_s=self.settings.stale_after_s):
            return  # another worker's watchdog took it up first
        note = f"{lost}; taken up again by {self.name} (attempt {attempt} of {MAX_ATTEMPTS})"
        self.store.update_job(job.id, status="queued", error=note)
        _log.warning("round %s: %s", job.id, note)
        self.submit(job.id)


def _attempt(job: Job) -> int:
    """Which attempt the job is on: the first unless a watchdog noted another."""
    found = _ATTEMPT.search(job.error or "")
    return int(found.group(1)) if found else 1


def _how(exit_code: int) -> str:
    if exit_code < 0:
        try:
            return f"killed by signal {signal.Signals(-exit_code).name}"
        except ValueError:
            return f"killed by signal {-exit_code}"
    return f"exit code {exit_code}"
