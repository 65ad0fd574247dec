"""Assessing a whole grant round: many profiles from folders, JSONL, CSV or XLSX, on every core.

The main process cuts the round into tasks and does little per item, so the speed follows the
number of cores: a JSONL file is handed out as byte ranges of whole lines, which the worker reads,
parses, validates and assesses; a folder as its files' names; a CSV or XLSX file as its rows'
cells (a CSV row may hold line breaks inside quotes and a line may be read as Windows-1252, so
only reading it from the start finds its rows and their numbers; an XLSX sheet is one zipped XML
stream), which the worker makes into profiles. A bad row or file becomes a failed item, never a
stop. Workers build their own engine (durable_rules is per process) and send back each item's
summary row as a tuple, its scorecard JSON only if kept and its portfolio card only if asked;
outcomes come back in input order.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing, suppress
from dataclasses import dataclass
from itertools import chain
from multiprocessing import Pipe, Process
from multiprocessing.connection import Connection, wait
from pathlib import Path
from queue import SimpleQueue
from typing import BinaryIO, NamedTuple, Protocol, TypeAlias, TypeVar

from scaleready.assessment.build import create_engine
from scaleready.assessment.engine import Engine, data_sha256
from scaleready.assessment.policy import Policy, load_policy
from scaleready.assessment.scorecard import DimensionData, OverallData, ScorecardData, dump_json
from scaleready.documents import SUFFIXES
from scaleready.errors import InputError, ProfileError, ScaleReadyError, item_failure
from scaleready.outcome import UNMET
from scaleready.processes import end_with_parent
from scaleready.profile import (
    Identifiers,
    InnovationProfile,
    load_profile_with_hash,
    profile_from_data,
)
from scaleready.report.html import portfolio_html
from scaleready.rounds import spreadsheets

CHUNK = 250  # items per task sent to a worker: large enough to make the hand-over cheap
INLINE_BELOW = 400  # fewer items than this are assessed in this process: a pool costs more
_SCAN_BYTES = 1 << 20  # the main process reads at most this of a line at a time
_RANGE_BYTES = 8 << 20  # ... and at most this of a range at a time (lines may be long)
T = TypeVar("T")
V = TypeVar("V")


class Item(NamedTuple):
    """One profile to assess: where it came from, and either its data, its file, or why not."""

    label: str
    data: dict | None = None
    path: str | None = None
    error: str | None = None
    json_text: str | None = None  # a JSONL line, parsed by the worker that assesses it
    raw: bytes | None = None  # its file's bytes, read for a worker that cannot read the file


@dataclass(frozen=True)
class BatchOptions:
    """How each worker builds its engine and what it sends back: the same for every process."""

    rulesets: tuple[str, ...] = ()
    rule_files: tuple[str, ...] = ()
    backend: str = "auto"
    policy: str | None = None
    keep_scorecards: bool = False
    keep_portfolio: bool = False
    keep_profiles: bool = False  # each profile assessed, as JSON: for the history (--record)


# --- tasks: a round cut into pieces, each read by the process that assesses it --------------------


class Items(NamedTuple):
    """Items the main process has made: files of a folder, lines of a UTF-16 file, errors."""

    items: tuple[Item, ...]

    @property
    def size(self) -> int:
        return len(self.items)

    def read(self) -> Iterator[Item]:
        return iter(self.items)


class Lines(NamedTuple):
    """Whole lines of a UTF-8 JSONL file, bytes ``start`` to ``end``: read by the worker."""

    path: str
    start: int
    end: int
    first: int  # the number of its first line
    size: int  # lines in the range (blank ones are no item: the most items it holds)
    copy: str | None = None  # a copy of the range to read instead (on another machine)

    def read(self) -> Iterator[Item]:
        """An item per line that is not blank, as reading the whole file gives it."""
        unread = self.first
        source = Path(self.copy or self.path)
        try:
            for row in spreadsheets.jsonl_rows(source, self.start, self.end, self.first):
                unread = row.number + 1
                if (item := _jsonl_item(self.path, row)) is not None:
                    yield item
        except (InputError, OSError) as error:  # the file changed since it was cut up
            last = self.first + self.size - 1
            unread = min(unread, last)
            label, reason = f"{self.path}:line {unread}", getattr(error, "strerror", None) or error
            yield Item(label, error=f"{label}: lines {unread} to {last} not read: {reason}")


class FlatRows(NamedTuple):
    """Rows of a CSV or XLSX file and the header above them: the worker makes them profiles."""

    path: str
    header: spreadsheets.Header
    rows: tuple[spreadsheets.Row, ...]

    @property
    def size(self) -> int:
        return len(self.rows)

    def read(self) -> Iterator[Item]:
        for row in self.rows:
            if row.error is None and not row.undecodable and spreadsheets.is_blank(row.cells):
                continue
            yield _flat_item(f"{self.path}:row {row.number}", self.header, row)


Task: TypeAlias = Items | Lines | FlatRows


class Round:
    """A round's sources, read as tasks; how many items were found so far (for JSONL, lines),
    and whether every source has been read."""

    def __init__(
        self,
        sources: Iterable[str | Path],
        *,
        strict_columns: bool = False,
        warn: spreadsheets.Warn = spreadsheets.ignore_warning,
    ) -> None:
        self._sources, self._strict, self._warn = sources, strict_columns, warn
        self.count, self.done = 0, False

    def tasks(self, size: int = CHUNK) -> Iterator[Task]:
        """The round in tasks of about ``size`` items, in input order."""
        for task in read_tasks(self._sources, size, self._strict, self._warn):
            self.count += task.size
            yield task
        self.done = True

    def __iter__(self) -> Iterator[Item]:
        return chain.from_iterable(task.read() for task in self.tasks())


def read_items(
    sources: Iterable[str | Path],
    *,
    strict_columns: bool = False,
    warn: spreadsheets.Warn = spreadsheets.ignore_warning,
) -> Iterator[Item]:
    """Every profile in the sources: folders of YAML/JSON files, JSONL, CSV and XLSX files.

    Every row or line is an item, or an item's error naming it; a file that cannot be read at
    all is one item with its error.  ``warn`` hears, once per file, of columns ignored
    (``strict_columns`` refuses them instead) and rows read as Windows-1252.
    """
    return iter(Round(sources, strict_columns=strict_columns, warn=warn))


def read_tasks(
    sources: Iterable[str | Path], size: int, strict_columns: bool, warn: spreadsheets.Warn
) -> Iterator[Task]:
    """The sources as tasks of up to ``size`` items; items made here are gathered into one."""
    return _gathered(
        chain.from_iterable(_source_tasks(Path(s), size, strict_columns, warn) for s in sources),
        size,
    )


def _source_tasks(
    source: Path, size: int, strict_columns: bool, warn: spreadsheets.Warn
) -> Iterator[Task]:
    if source.is_dir():
        return (Items((item,)) for item in _folder_items(source))
    if source.suffix.lower() == ".jsonl":
        return _guarded(source, functools.partial(_jsonl_tasks, size=size))
    if source.suffix.lower() in spreadsheets.FLAT_SUFFIXES:
        return _guarded(source, functools.partial(_flat_tasks, strict_columns, warn, size))
    return iter([Items((Item(str(source), path=str(source)),))])


def _gathered(tasks: Iterator[Task], size: int) -> Iterator[Task]:
    """Tasks as they come, with runs of small Items tasks joined into tasks of ``size`` items."""
    held: list[Item] = []
    for task in tasks:
        if held and (not isinstance(task, Items) or len(held) + task.size > size):
            yield Items(tuple(held))
            held = []
        if isinstance(task, Items):
            held += task.items
        else:
            yield task
    if held:
        yield Items(tuple(held))


def _guarded(source: Path, read: Callable[[Path], Iterator[Task]]) -> Iterator[Task]:
    """Tasks of a file; a file that cannot be read (any further) becomes one failed item."""
    if not source.is_file():  # a device or a pipe could be read forever
        error = f"{source}: not a regular file; a round must be a file"
        yield Items((Item(str(source), error=error),))
        return
    try:
        yield from read(source)
    except InputError as error:
        yield Items((Item(str(source), error=str(error)),))
    except OSError as error:
        reason = f"{source}: cannot read the file: {error.strerror or error}"
        yield Items((Item(str(source), error=reason),))


def _folder_items(folder: Path) -> Iterator[Item]:
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file()):
        yield Item(str(path), path=str(path))


def _jsonl_tasks(path: Path, size: int) -> Iterator[Task]:
    """A UTF-8 file as byte ranges of about ``size`` lines (found without decoding them); a
    UTF-16 one (rare: its line ends are two bytes) is read here."""
    with open(path, "rb") as raw:
        if spreadsheets.encoding_of(raw.read(4), windows_1252=False).name != "UTF-8":
            items = _jsonl_items(str(path), spreadsheets.jsonl_rows(path))
            yield from (Items(tuple(batch)) for batch in _batches(items, size))
            return
        raw.seek(0)
        first = 1
        for start, end, lines in _line_ranges(raw, size):
            yield Lines(str(path), start, end, first, lines)
            first += lines


def _line_ranges(raw: BinaryIO, size: int) -> Iterator[tuple[int, int, int]]:
    """(start, end, lines) of ranges of whole lines, about ``size`` each: a range's length in
    bytes is guessed from the lines before it, so no line is looked at one by one here."""
    head = raw.read(_SCAN_BYTES)
    line_bytes = len(head) // (head.count(b"\n") + 1) + 1
    raw.seek(start := 0)
    counted = 0
    while block := raw.read(min(line_bytes * size, _RANGE_BYTES)):
        lines = block.count(b"\n")
        if not block.endswith(b"\n"):  # the range ends where the line it cut ends
            lines += 1
            while (rest := raw.readline(_SCAN_BYTES)) and not rest.endswith(b"\n"):
                pass
        yield start, raw.tell(), lines
        start, counted = raw.tell(), counted + lines
        line_bytes = start // counted + 1


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Items ``size`` at a time; those read before an error are kept before it."""
    held: list[T] = []
    try:
        for item in items:
            held.append(item)
            if len(held) == size:
                yield held
                held = []
    except (InputError, OSError):
        if held:
            yield held
        raise
    if held:
        yield held


def _jsonl_items(path: str, rows: Iterator[spreadsheets.Row]) -> Iterator[Item]:
    """One item per line that is not blank; JSON Lines are UTF-8 (or UTF-16 with its mark)."""
    for row in rows:
        if (item := _jsonl_item(path, row)) is not None:
            yield item


def _jsonl_item(path: str, row: spreadsheets.Row) -> Item | None:
    label = f"{path}:line {row.number}"
    line = str(row.cells[0]) if row.cells else ""
    if row.error:
        return Item(label, error=f"{label}: {row.error}")
    if row.undecodable:
        return Item(label, error=f"{label}: {_not_utf8(line)}")
    return Item(label, json_text=line) if line.strip() else None


def _not_utf8(line: str) -> str:
    at = next(i for i, c in enumerate(line) if 0xD800 <= ord(c) <= 0xDFFF)
    return (
        f"byte 0x{ord(line[at]) - 0xDC00:02x} at column {at + 1} is not text in "
        "UTF-8, which JSON Lines must be; save the file as UTF-8"
    )


def _parse_json_line(label: str, line: str) -> dict:
    """One JSONL line's profile data; whatever is wrong with the line is an InputError."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise InputError(f"{label}: not valid JSON ({error.msg}, column {error.colno})") from None
    except RecursionError:
        raise InputError(
            f"{label}: nested too deeply (lists or objects inside each other)"
        ) from None
    except ValueError:  # json raises it only for an integer longer than Python converts
        digits = sys.get_int_max_str_digits()
        raise InputError(f"{label}: a number has more than {digits:,} digits") from None
    if not isinstance(data, dict):
        raise InputError(f"{label}: each line must be a JSON object (a profile)")
    return data


def _flat_tasks(
    strict_columns: bool, warn: spreadsheets.Warn, size: int, path: Path
) -> Iterator[Task]:
    """The rows under the first row that is not blank, the header, ``size`` rows a task."""
    rows = (
        spreadsheets.xlsx_rows(path)
        if path.suffix.lower() == ".xlsx"
        else spreadsheets.csv_rows(path, warn)
    )
    for row in rows:
        if row.error is None and not row.undecodable and spreadsheets.is_blank(row.cells):
            continue
        header = _header(row, path, strict_columns, warn)
        for batch in _batches(rows, size):
            yield FlatRows(str(path), header, tuple(batch))
        return
    warn(f"{path}: the file holds no rows: nothing to assess")


def _header(
    row: spreadsheets.Row, path: Path, strict_columns: bool, warn: spreadsheets.Warn
) -> spreadsheets.Header:
    if row.error:
        return spreadsheets.Header(
            (), problem=f"the header (row {row.number}) cannot be read: {row.error}"
        )
    header = spreadsheets.parse_header(row.cells, row.number, strict_columns)
    if header.ignored and not strict_columns:
        warn(spreadsheets.ignored_columns_warning(str(path), header))
    return header


def _flat_item(label: str, header: spreadsheets.Header, row: spreadsheets.Row) -> Item:
    if row.error or header.problem:
        return Item(label, error=f"{label}: {row.error or header.problem}")
    try:
        return Item(label, data=spreadsheets.row_to_profile(header, row, label))
    except ProfileError as error:
        return Item(label, error=str(error))


# --- assessing, in this process or in workers ----------------------------------------------------

CHUNK_OF_SCORECARDS = 50  # items per task when whole scorecards (about 40 KB each) come back
WORKER_QUEUE = 2  # chunks a worker holds: the one it works on and the next, so it never waits
CHUNKS_AHEAD = 3  # chunks out per worker, done or not: bounds what a round holds in memory
_SIGNALS = set(signal.Signals)


class ItemResult(NamedTuple):
    """What became of one item: its summary row, its scorecard (JSON, if kept), or its error.

    A tuple, with the row as values in the order of ``columns``: outcomes cross from the workers
    by the thousand, and the main process does as little as it can for each.
    """

    label: str
    values: tuple[object, ...]  # the summary row
    columns: tuple[str, ...]  # the summary's columns (one tuple, shared by every outcome)
    scorecard_json: str | None = None
    error: str | None = None
    exit_code: int = 0  # why it could not be assessed: 3 bad input, 4 engine, plugin or bug
    portfolio: PortfolioCard | None = None  # what the portfolio report needs, if asked for
    profile_json: str | None = None  # the profile assessed, if kept (for the history)

    @property
    def row(self) -> dict[str, object]:
        """The summary row, by column."""
        return dict(zip(self.columns, self.values, strict=True))


@dataclass(frozen=True)
class Assessor:
    """An engine, the policy to apply, and the summary columns: all a worker needs."""

    options: BatchOptions
    engine: Engine
    policy: Policy | None
    columns: tuple[str, ...]

    @classmethod
    def build(cls, options: BatchOptions) -> Assessor:
        """The same for every worker; plugin problems were reported by the caller."""
        engine, _ = create_engine(
            list(options.rulesets), rule_files=list(options.rule_files), backend=options.backend
        )
        return cls.around(engine, options)

    @classmethod
    def around(cls, engine: Engine, options: BatchOptions) -> Assessor:
        """An assessor using an engine already built (from the same options)."""
        policy = load_policy(options.policy, engine.rulesets) if options.policy else None
        columns = summary_columns([rs.id for rs in engine.rulesets], with_gate=policy is not None)
        return cls(options, engine, policy, tuple(columns))

    def assess(self, item: Item) -> ItemResult:
        """Load, validate and assess one item; whatever fails is this item's outcome alone."""
        try:
            profile, digest = self._profile(item)
            card = self._judge(profile, digest, item.label)
        except Exception as error:  # whatever fails is this item's outcome alone
            return self._failed(item, *item_failure(item.label, error))
        scorecard_json = dump_json(card) if self.options.keep_scorecards else None
        portfolio = portfolio_card(card) if self.options.keep_portfolio else None
        profile_json = (
            profile.model_dump_json(exclude_none=True) if self.options.keep_profiles else None
        )
        values = summary_values(item.label, card, self.columns)
        return ItemResult(
            item.label,
            values,
            self.columns,
            scorecard_json,
            portfolio=portfolio,
            profile_json=profile_json,
        )

    def _failed(self, item: Item, reason: str, exit_code: int) -> ItemResult:
        values = summary_values(item.label, None, self.columns, reason)
        return ItemResult(item.label, values, self.columns, error=reason, exit_code=exit_code)

    def _profile(self, item: Item) -> tuple[InnovationProfile, str]:
        """The item's profile, validated, and the SHA-256 of its file or data."""
        if item.error:
            raise InputError(item.error)
        if item.path is not None:
            return load_profile_with_hash(item.path, self.engine.profile_model, raw=item.raw)
        data = item.data if item.json_text is None else _parse_json_line(item.label, item.json_text)
        model = self.engine.profile_model  # refuses anything but a dict:
        profile = profile_from_data(data, source=item.label, model=model)
        return profile, data_sha256(data or {})

    def _judge(self, profile: InnovationProfile, digest: str, label: str) -> ScorecardData:
        """The scorecard as plain data, the policy applied: the one place calling the engine."""
        return self.engine.assess_raw(
            profile, policy=self.policy, source=label, profile_sha256=digest
        )


def assess_all(
    items: Iterable[Item] | Round,
    assessor: Assessor,
    jobs: int = 1,
    executor: Executor | None = None,
) -> Generator[ItemResult, None, None]:
    """Outcomes in input order, items read only as they are needed: by ``executor``, else by
    the local pool of ``jobs`` processes. Close it (or let it finish) to stop the workers."""
    size = CHUNK_OF_SCORECARDS if assessor.options.keep_scorecards else CHUNK
    if isinstance(items, Round):
        tasks = items.tasks(size)
    else:
        tasks = _gathered((Items((item,)) for item in items), size)
    with closing((executor or LocalPool(jobs)).assess(tasks, assessor)) as replies:
        for outcomes in replies:
            yield from outcomes


class Executor(Protocol):
    """Where a round's tasks are assessed: the local pool, or a cluster (rounds.executors)."""

    def assess(
        self, tasks: Iterator[Task], assessor: Assessor
    ) -> Generator[Iterable[ItemResult], None, None]:
        """Each task's outcomes, in input order; closing the generator stops the work."""
        ...


@dataclass(frozen=True)
class LocalPool:
    """Worker processes on this machine, each with its own engine; a round too small to gain
    from them (or ``jobs`` 1) is assessed in this process."""

    jobs: int = 1

    def assess(
        self, tasks: Iterator[Task], assessor: Assessor
    ) -> Generator[Iterable[ItemResult], None, None]:
        first = _first_items(tasks, INLINE_BELOW)
        if self.jobs <= 1 or sum(task.size for task in first) < INLINE_BELOW:
            for task in chain(first, tasks):
                yield map(assessor.assess, task.read())  # each item as it is assessed
            return
        with _Workers(assessor, self.jobs) as workers:
            yield from workers.assess(chain(first, tasks))


def _first_items(tasks: Iterator[Task], count: int) -> list[Task]:
    """The first tasks, up to the one that brings their items to ``count`` (or all of them)."""
    first: list[Task] = []
    while sum(task.size for task in first) < count and (task := next(tasks, None)) is not None:
        first.append(task)
    return first


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _Workers:
    """Worker processes, each with its own engine, each holding up to WORKER_QUEUE tasks.

    Results come back in input order, with at most CHUNKS_AHEAD tasks per worker out. A worker
    that dies (a crash in native code, a plugin's os._exit, the OOM killer) costs only the item
    that killed it: its tasks are assessed again one item at a time in a fresh worker. On an
    interrupt the workers are killed at once; they also end if this process is killed.
    """

    def __init__(self, assessor: Assessor, jobs: int) -> None:
        self._options, self._columns = assessor.options, assessor.columns
        self._workers = [_Worker(self._options) for _ in range(jobs)]

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        for worker in self._workers:
            worker.stop(kill=kind is not None)

    def assess(self, tasks: Iterator[Task]) -> Iterator[list[ItemResult]]:
        finished: dict[int, list[ItemResult]] = {}
        queue = _TaskQueue(tasks, limit=len(self._workers) * CHUNKS_AHEAD)
        while True:
            self._feed(queue)
            if not any(worker.tasks for worker in self._workers):
                return
            for index, outcomes in self._replies():
                finished[index] = outcomes
            self._feed(queue)  # before the caller's work on the outcomes: keep workers busy
            while queue.next_out in finished:
                yield finished.pop(queue.next_out)
                queue.next_out += 1

    def _feed(self, queue: _TaskQueue) -> None:
        """Give tasks to the workers holding fewest, up to WORKER_QUEUE each."""
        while queue.ready():
            worker = min(self._workers, key=lambda w: len(w.tasks))
            if len(worker.tasks) >= WORKER_QUEUE:
                return
            worker.send(*queue.take())

    def _replies(self) -> Iterator[tuple[int, list[ItemResult]]]:
        """The replies of the workers that are done; a dead worker's tasks, item by item."""
        busy = {worker.connection: worker for worker in self._workers if worker.tasks}
        for connection in wait(list(busy)):
            worker = busy[connection]  # type: ignore[index]  # wait() gives back what it was given
            try:
                yield worker.tasks[0][0], worker.receive()
            except (EOFError, OSError):
                worker.stop(kill=True)
                self._workers[self._workers.index(worker)] = _Worker(self._options)
                for index, task in worker.tasks:
                    yield index, _one_by_one(task, self._options, self._columns)


class _TaskQueue:
    """Tasks to send, numbered; one is read ahead, and no more than ``limit`` are out at once."""

    def __init__(self, tasks: Iterator[Task], limit: int) -> None:
        self._tasks, self._limit = tasks, limit
        self._next: Task | None = next(tasks, None)
        self.sent = self.next_out = 0

    def ready(self) -> bool:
        return self._next is not None and self.sent - self.next_out < self._limit

    def take(self) -> tuple[int, Task]:
        assert self._next is not None  # the caller asked ready() first
        taken = (self.sent, self._next)
        self.sent += 1
        self._next = next(self._tasks, None)
        return taken


def _one_by_one(task: Task, options: BatchOptions, columns: tuple[str, ...]) -> list[ItemResult]:
    """A task whose worker died, each item alone in a worker: only the culprit is lost.

    Its items are read here (this is rare), and each is sent as a task of its own.
    """
    outcomes: list[ItemResult] = []
    worker = _Worker(options)
    try:
        for item in task.read():
            try:
                worker.send(0, Items((item,)))
                outcomes += worker.receive()
            except (EOFError, OSError):
                died = worker.stop(kill=True)
                worker = _Worker(options)
                outcomes.append(_worker_died(item, died, columns))
    finally:
        worker.stop(kill=True)
    return outcomes


def _worker_died(item: Item, exit_code: int | None, columns: tuple[str, ...]) -> ItemResult:
    how = f"exit code {exit_code}"
    if exit_code is not None and exit_code < 0:
        name = signal.Signals(-exit_code).name if -exit_code in _SIGNALS else -exit_code
        how = f"killed by signal {name}"
    reason = f"{item.label}: internal error: the worker process assessing it stopped ({how})"
    values = summary_values(item.label, None, columns, reason)
    exit_code = ScaleReadyError.exit_code
    return ItemResult(item.label, values, columns, error=reason, exit_code=exit_code)


class _Worker:
    """One worker process and the pipe to it; ``tasks`` are the tasks it holds, in order."""

    def __init__(self, options: BatchOptions) -> None:
        self.connection, theirs = Pipe()
        self.process = Process(target=_work, args=(theirs, options, os.getpid()), daemon=True)
        self.process.start()
        theirs.close()
        self.tasks: deque[tuple[int, Task]] = deque()

    def send(self, index: int, task: Task) -> None:
        self.tasks.append((index, task))
        self.connection.send(task)

    def receive(self) -> list[ItemResult]:
        reply = self.connection.recv()
        self.tasks.popleft()
        if isinstance(reply, BaseException):  # e.g. a KeyboardInterrupt raised in a plugin
            raise reply
        return reply

    def stop(self, kill: bool) -> int | None:
        """End the worker (at once if ``kill``, else once it is idle); its exit code."""
        if kill:
            self.process.kill()
        else:  # other workers hold a copy of this pipe: closing it is no signal to stop
            with suppress(OSError):
                self.connection.send(None)
        self.connection.close()
        self.process.join()
        return self.process.exitcode


def _work(connection: Connection, options: BatchOptions, parent: int) -> None:
    """A worker's life: build the engine, then read and assess each task sent until the pipe
    closes."""
    end_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the handler inherited from the parent
    try:
        assessor: Assessor | BaseException = Assessor.build(options)
    except BaseException as error:  # sent back with the first task, raised in the main process
        assessor = error
    tasks: SimpleQueue[Task | None] = SimpleQueue()
    threading.Thread(target=_receive_tasks, args=(connection, tasks), daemon=True).start()
    for task in iter(tasks.get, None):
        connection.send(_assess_task(assessor, task))


def _receive_tasks(connection: Connection, tasks: SimpleQueue[Task | None]) -> None:
    """Take tasks off the pipe as they come: the main process never waits to send one (the
    engine is used by the worker's main thread only; durable_rules is not thread-safe)."""
    try:
        for task in iter(connection.recv, None):
            tasks.put(task)
    except EOFError:
        pass
    finally:
        tasks.put(None)


def _assess_task(
    assessor: Assessor | BaseException, task: Task
) -> list[ItemResult] | BaseException:
    if isinstance(assessor, BaseException):
        return assessor
    try:
        return [assessor.assess(item) for item in task.read()]
    except BaseException as error:  # a plugin's KeyboardInterrupt or SystemExit: the caller's
        return error


# --- the portfolio report: what it needs of each scorecard ---------------------------------------


class PortfolioProfile(NamedTuple):
    name: str
    source: str | None


class PortfolioOverall(NamedTuple):
    score: float
    potential_score: float
    level: int
    potential_level: int
    bottleneck: tuple[str, ...]


class PortfolioRule(NamedTuple):
    id: str
    title: str
    level: int
    outcome: str


class PortfolioDimension(NamedTuple):
    id: str
    title: str
    level: int
    potential_level: int
    score: float
    potential_score: float
    rules: tuple[PortfolioRule, ...]  # only those not passed: all the report counts


class PortfolioGate(NamedTuple):
    passed: bool


class PortfolioRuleset(NamedTuple):
    id: str
    version: str
    sha256: str


class PortfolioProvenance(NamedTuple):
    scaleready_version: str
    backend: str
    assessed_at: str
    rulesets: tuple[PortfolioRuleset, ...]


class PortfolioCard(NamedTuple):
    """The parts of a scorecard that report.html.portfolio_html reads, by the same names."""

    profile: PortfolioProfile
    overall: PortfolioOverall
    dimensions: tuple[PortfolioDimension, ...]
    gate: PortfolioGate | None
    provenance: PortfolioProvenance


def portfolio_card(card: ScorecardData) -> PortfolioCard:
    """What the portfolio report needs of a scorecard (as plain data)."""
    overall, provenance, gate = card["overall"], card["provenance"], card.get("gate")
    return PortfolioCard(
        PortfolioProfile(card["profile"]["name"], card["profile"]["source"]),
        PortfolioOverall(
            float(overall["score"]),
            float(overall["potential_score"]),
            overall["level"],
            overall["potential_level"],
            tuple(overall["bottleneck"]),
        ),
        tuple(_portfolio_dimension(d) for d in card["dimensions"]),
        None if gate is None else PortfolioGate(gate["passed"]),
        PortfolioProvenance(
            provenance["scaleready_version"],
            provenance["backend"],
            provenance["assessed_at"],
            tuple(
                PortfolioRuleset(r["id"], r["version"], r["sha256"]) for r in provenance["rulesets"]
            ),
        ),
    )


def _portfolio_dimension(d: DimensionData) -> PortfolioDimension:
    unmet = tuple(
        PortfolioRule(r["id"], r["title"], r["level"], r["outcome"])
        for r in d["rules"]
        if r["outcome"] in UNMET
    )
    return PortfolioDimension(
        d["id"],
        d["title"],
        d["level"],
        d["potential_level"],
        float(d["score"]),
        float(d["potential_score"]),
        unmet,
    )


class Portfolio:
    """A round as its portfolio report sees it, in a few hundred bytes per profile.

    The parts that repeat from profile to profile (dimensions, rules, provenance) are kept once.
    """

    def __init__(self) -> None:
        self.cards: list[PortfolioCard] = []
        self.errors: list[tuple[str, str]] = []
        self._kept: dict = {}

    def add(self, outcome: ItemResult) -> None:
        if outcome.error is not None:
            self.errors.append((outcome.label, outcome.error))
        elif outcome.portfolio is not None:
            self.cards.append(self._compact(outcome.portfolio))

    def html(self, title: str) -> str:
        """The portfolio report: the last use of the round, so the index of shared parts goes."""
        self._kept.clear()
        # portfolio_html reads these by the names a Scorecard has (it is typed for Scorecard)
        return portfolio_html(self.cards, title=title, errors=self.errors)  # type: ignore[arg-type]

    def _once(self, value: V) -> V:
        return self._kept.setdefault(value, value)

    def _compact(self, card: PortfolioCard) -> PortfolioCard:
        dimensions = self._once(
            tuple(
                self._once(d._replace(rules=self._once(tuple(map(self._once, d.rules)))))
                for d in card.dimensions
            )
        )
        overall = card.overall._replace(bottleneck=self._once(card.overall.bottleneck))
        gate = None if card.gate is None else self._once(card.gate)
        provenance = self._once(card.provenance)
        return card._replace(
            overall=overall, dimensions=dimensions, gate=gate, provenance=provenance
        )


# --- the summary: one row per item --------------------------------------------------------------


def summary_columns(dimension_ids: Sequence[str], with_gate: bool) -> list[str]:
    """The summary's columns: each level reached (confirmed) before the level possible were
    every rule now unknown to pass, each score before the top of its range."""
    columns = ["item", "name", *_verdict_columns("overall")]
    columns += ["bottleneck", "bottleneck_titles", "bottleneck_missing_data_only"]
    columns += [column for d in dimension_ids for column in _verdict_columns(d)]
    columns += ["gate", "gate_reasons"] if with_gate else []
    return [*columns, *IDENTIFIER_COLUMNS, "metadata", "error"]


# A profile's identifiers, named as a round's input columns are, so rows can be matched back.
IDENTIFIER_COLUMNS = tuple(f"identifiers.{name}" for name in Identifiers.model_fields)


def _carried(card: ScorecardData) -> dict[str, object]:
    """A profile's identifiers and metadata (as compact JSON text: one cell in any format)."""
    reference = card["profile"]
    identifiers = reference.get("identifiers") or {}
    metadata = reference.get("metadata")
    carried: dict[str, object] = {
        f"identifiers.{name}": value for name, value in identifiers.items()
    }
    if metadata is not None:
        carried["metadata"] = json.dumps(metadata, ensure_ascii=False, separators=(",", ":"))
    return carried


def _verdict_columns(prefix: str) -> list[str]:
    return [f"{prefix}_{what}" for what in ("level", "potential_level", "score", "potential_score")]


def summary_values(
    label: str, card: ScorecardData | None, columns: Sequence[str], error: str = ""
) -> tuple[object, ...]:
    """A summary row's values, in the order of the columns."""
    return tuple(summary_row(label, card, columns, error).values())


def summary_row(
    label: str, card: ScorecardData | None, columns: Sequence[str], error: str = ""
) -> dict:
    """One summary row: the verdict of a scorecard (as plain data), or the error of an item."""
    row: dict[str, object] = dict.fromkeys(columns, "")
    row.update(item=label, error=error)
    if card is None:
        return row
    overall = card["overall"]
    row["name"] = card["profile"]["name"]
    _put_verdict(row, "overall", overall)
    row.update(_bottleneck_cells(card))
    row.update(_carried(card))
    for dimension in card["dimensions"]:
        _put_verdict(row, dimension["id"], dimension)
    gate = card.get("gate")
    if gate is not None:
        row["gate"] = "passed" if gate["passed"] else "failed"
        row["gate_reasons"] = "; ".join(gate["reasons"])
    return row


def _put_verdict(row: dict[str, object], prefix: str, verdict: OverallData | DimensionData) -> None:
    row[f"{prefix}_level"] = verdict["level"]
    row[f"{prefix}_potential_level"] = verdict["potential_level"]
    row[f"{prefix}_score"] = verdict["score"]
    row[f"{prefix}_potential_score"] = verdict["potential_score"]


def _bottleneck_cells(card: ScorecardData) -> dict[str, str]:
    """The bottleneck by id and by title, each title saying when only missing data holds that
    dimension back; and whether only missing data holds the whole innovation back."""
    from scaleready.report.levels import held_by_missing_data

    by_id = {d["id"]: d for d in card["dimensions"]}
    held = card["overall"]["bottleneck"]
    data_only = {
        b: held_by_missing_data(
            by_id[b]["level"], ((r["level"], r["outcome"]) for r in by_id[b]["rules"])
        )
        for b in held
    }
    titles = [by_id[b]["title"] + (" (data missing only)" if data_only[b] else "") for b in held]
    return {
        "bottleneck": ";".join(held),
        "bottleneck_titles": "; ".join(titles),
        "bottleneck_missing_data_only": "yes" if held and all(data_only.values()) else "no",
    }
