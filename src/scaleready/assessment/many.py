"""Assessing many profiles on worker processes, results in input order: ``Engine.assess_many``.

One engine assesses one profile at a time (the durable-rules core is serialised by a lock), so
threads do not help; processes do. Each worker unpickles the work once, when it starts, which
rebuilds the engine there (an engine pickles as the parts it was built from); then it is sent
chunks of numbered profiles and sends back their results. A worker that dies (a crash in native
code, the OOM killer) costs the results of the chunks it and its pool held, reported as failed
items; the rest go on in a fresh pool.
"""

from __future__ import annotations

import pickle
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import Any, TypeVar

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
    pending: deque[tuple[list[int], Future[list[Result]]]] = deque()
    pool = _pool(work, jobs)
    try:
        while True:
            while len(pending) < jobs * AHEAD and (chunk := next(chunks, None)) is not None:
                pending.append(([index for index, _ in chunk], pool.submit(_run, chunk)))
            if not pending:
                return
            indexes, future = pending.popleft()
            try:
                yield from future.result()
            except BrokenProcessPool:
                yield from (died(index, "it was killed or crashed") for index in indexes)
                pool.shutdown(wait=False, cancel_futures=True)
                yield from _lost(pending, died)
                pool = _pool(work, jobs)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _chunks(items: Iterator[tuple[int, Item]]) -> Iterator[list[tuple[int, Item]]]:
    while chunk := list(islice(items, CHUNK)):
        yield chunk


def _lost(
    pending: deque[tuple[list[int], Future[list[Result]]]], died: Callable[[int, str], Result]
) -> Iterator[Result]:
    """The chunks a broken pool held: those done are kept, the others reported."""
    while pending:
        indexes, future = pending.popleft()
        if future.done() and not future.cancelled() and future.exception() is None:
            yield from future.result()
        else:
            yield from (died(index, "its pool lost a worker") for index in indexes)


def _pool(work: Callable[[Any], Any], jobs: int) -> ProcessPoolExecutor:
    # pickled here, unpickled in each worker: the engine is rebuilt there, not copied by fork
    return ProcessPoolExecutor(jobs, initializer=_start, initargs=(pickle.dumps(work),))


_work: Callable[[Any], Any] | None = None  # in a worker: what its chunks are given to
_failed: BaseException | None = None  # in a worker: why the work could not be rebuilt


def _start(pickled: bytes) -> None:
    global _work, _failed
    try:
        _work = pickle.loads(pickled)
    except BaseException as error:  # raised with each chunk: the caller sees why
        _failed = error


def _run(chunk: list[Any]) -> list[Any]:
    if _failed is not None:
        raise _failed
    assert _work is not None  # set by _start, which runs before any chunk
    return [_work(item) for item in chunk]
