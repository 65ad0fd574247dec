"""Assessing many profiles on worker processes, results in input order: ``Engine.assess_many``.

One engine assesses one profile at a time (the durable-rules core is serialised by a lock), so
threads do not help; processes do. Each worker unpickles the work once, when it starts, which
rebuilds the engine there (an engine pickles as the parts it was built from); then it is sent
chunks of numbered profiles and sends back their results. A worker that dies (a crash in native
code, the OOM killer) breaks the pool: the items it held are assessed again one at a time, so
only an item that kills its worker again is reported as failed; then a fresh pool goes on.
Workers leave Ctrl-C to the caller, and end when the caller's process does, even if killed.
(``rounds.batch`` keeps its own pool: it reads rounds in the workers and sends back rows.)
"""

from __future__ import annotations

import os
import pickle
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import Any, TypeVar

from scaleready.processes import end_with_parent

Item = TypeVar("Item")
Result = TypeVar("Result")

CHUNK = 25  # profiles per task: enough to make the hand-over cheap, few enough to spread
AHEAD = 4  # tasks out per worker: keeps each busy while the caller reads results


def in_order(
    work: Callable[[tuple[int, Item]], Result],
    items: Iterable[tuple[int, Item]],
    jobs: int,
    died: Callable[[int, str], Result],
) -> Iterator[Result]:
    """``map(work, items)`` on ``jobs`` processes, in order; ``died(index, how)`` stands for the
    result of an item whose worker stopped. ``work`` must pickle; items are read as needed."""
    chunks = _chunks(iter(items))
    pending: deque[tuple[list[tuple[int, Item]], Future[list[Result]]]] = deque()
    pool = _pool(work, jobs)
    try:
        while True:
            while len(pending) < jobs * AHEAD and (chunk := next(chunks, None)) is not None:
                pending.append((chunk, pool.submit(_run, chunk)))
            if not pending:
                return
            chunk, future = pending[0]
            try:
                results = future.result()
            except BrokenProcessPool:  # every chunk out is lost: each item again, alone
                pool.shutdown(wait=False, cancel_futures=True)
                lost = [item for chunk, _ in pending for item in chunk]
                pending.clear()
                pool = _pool(work, 1)
                for item in lost:
                    result, pool = _alone(pool, work, item, died)
                    yield result
                pool.shutdown(wait=False, cancel_futures=True)
                pool = _pool(work, jobs)
                continue
            pending.popleft()
            yield from results
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _alone(
    pool: ProcessPoolExecutor,
    work: Callable[[tuple[int, Item]], Result],
    item: tuple[int, Item],
    died: Callable[[int, str], Result],
) -> tuple[Result, ProcessPoolExecutor]:
    """One item on a pool of one worker: its result, or ``died`` and a fresh pool if it kills
    the worker (so only the item at fault is lost)."""
    try:
        return pool.submit(_run, [item]).result()[0], pool
    except BrokenProcessPool:
        pool.shutdown(wait=False, cancel_futures=True)
        return died(item[0], "it was killed or crashed"), _pool(work, 1)


def _chunks(items: Iterator[tuple[int, Item]]) -> Iterator[list[tuple[int, Item]]]:
    while chunk := list(islice(items, CHUNK)):
        yield chunk


def _pool(work: Callable[[Any], Any], jobs: int) -> ProcessPoolExecutor:
    # pickled here, unpickled in each worker: the engine is rebuilt there, not copied by fork
    try:
        pickled = pickle.dumps(work)
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        raise TypeError(
            f"the engine cannot be sent to worker processes ({error}): a derived fact or "
            "section given with create_engine(plugins=...) must be defined at the top level "
            "of a module, not as a lambda or inside a function; or use jobs=1"
        ) from error
    return ProcessPoolExecutor(jobs, initializer=_start, initargs=(pickled, os.getpid()))


_work: Callable[[Any], Any] | None = None  # in a worker: what its chunks are given to
_failed: BaseException | None = None  # in a worker: why the work could not be rebuilt


def _start(pickled: bytes, parent: int) -> None:
    global _work, _failed
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's to handle
    end_with_parent(parent)
    try:
        _work = pickle.loads(pickled)
    except BaseException as error:  # raised with each chunk: the caller sees why
        _failed = error


def _run(chunk: list[Any]) -> list[Any]:
    if _failed is not None:
        raise _failed
    assert _work is not None  # set by _start, which runs before any chunk
    return [_work(item) for item in chunk]
