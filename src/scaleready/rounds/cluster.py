"""A round on an existing Dask distributed cluster: the local pool's tasks, outcomes and order.

A worker plugin builds the engine once per worker from what was chosen here: the rulesets, the
rule files' and the policy's bytes, the backend and the settings (SCALEREADY_*,
SOURCE_DATE_EPOCH), all sent with the plugin: the workers need not share a disk with this
machine. Each worker's fingerprint (scaleready's version, the backend, every ruleset's id,
version and hash, the plugins' facts and profile sections) must equal this process's, or the
round is refused before any work.

Tasks carry their items' data (a JSONL range's bytes, a folder's files' bytes, rows' cells),
never a path for the worker to read, and come back as the local pool's do: in input order, at
most CHUNKS_AHEAD per worker thread out at once. Dask runs a task lost with its worker again on
another, and one that raised up to RETRIES more times; a task that still fails is assessed
again item by item, one at a time, so that only the item that kills workers is lost (reported
as a failed item).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import uuid
from collections import deque
from collections.abc import Generator, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeAlias

import distributed
from distributed.comm.addressing import get_address_host_port

from scaleready import __version__
from scaleready.documents import SUFFIXES, read_file
from scaleready.errors import (
    INTERNAL_ERROR,
    ClusterError,
    PolicyError,
    ProfileError,
    RulesetError,
)
from scaleready.rounds.batch import (
    Assessor,
    BatchOptions,
    Item,
    ItemResult,
    Items,
    Lines,
    Task,
    summary_values,
)

CONNECT_SECONDS = 10  # how long to try to reach the scheduler before saying it cannot be
RETRIES = 2  # more runs of a task that raised, as Dask's retries= (a lost worker: its own)
CHUNKS_AHEAD = 3  # tasks out per worker thread: bounds what a round holds in memory
# The settings that change an assessment (SOURCE_DATE_EPOCH fixes its time), sent to workers.
SETTINGS = ("SCALEREADY_", "SOURCE_DATE_EPOCH")
Fingerprint: TypeAlias = dict[str, object]


@dataclass(frozen=True)
class DaskCluster:
    """An existing Dask cluster, by its scheduler's address (or a connected client)."""

    scheduler: str | distributed.Client
    retries: int = RETRIES

    def assess(
        self, tasks: Iterator[Task], assessor: Assessor
    ) -> Generator[list[ItemResult], None, None]:
        plugin = EnginePlugin.of(assessor)
        client = self._client()
        try:
            client.register_plugin(plugin, name=plugin.name)
            check_workers(client, plugin)
            yield from _ClusterRound(client, plugin.name, assessor, self.retries).assess(tasks)
        finally:
            _let_go(client, plugin.name, owned=not isinstance(self.scheduler, distributed.Client))

    def _client(self) -> distributed.Client:
        if isinstance(self.scheduler, distributed.Client):
            return self.scheduler
        return connect(self.scheduler)


def connect(address: str, timeout: float = CONNECT_SECONDS) -> distributed.Client:
    """A client of the scheduler at ``address``, or a ClusterError saying why not."""
    try:  # a malformed address is refused before a client is made (its clean-up would hang)
        get_address_host_port(address)
    except ValueError as error:
        raise ClusterError(
            f"{address!r} is not a Dask scheduler's address ({error}); give it as "
            "tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786"
        ) from None
    try:
        return distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, ValueError) as error:  # OSError: TimeoutError too
        raise ClusterError(
            f"cannot reach the Dask scheduler at {address} ({_reason(error)}); check the "
            "address (tcp://HOST:PORT) and that the scheduler is running (`dask scheduler`), "
            "or use --executor local"
        ) from None


def _reason(error: Exception) -> str:
    return str(error) if isinstance(error, OSError) else f"{type(error).__name__}: {error}"


def _address(client: distributed.Client) -> str:
    return str(getattr(client.scheduler, "address", "the address given"))


def _let_go(client: distributed.Client, name: str, owned: bool) -> None:
    """Take the plugin off the workers (its engine and files go), and close our own client."""
    with suppress(Exception):  # the cluster may be gone: nothing is left to clean there
        client.unregister_worker_plugin(name)
    if owned:
        client.close()


# --- the worker plugin: one engine per worker, as this process built it -------------------------


class WorkerDiffers(Exception):
    """A worker cannot assess as this process does (raised on the worker, by a task)."""


class EnginePlugin(distributed.WorkerPlugin):
    """Builds the round's engine once per worker, and checks it against this process's."""

    def __init__(
        self,
        options: BatchOptions,
        files: Mapping[str, bytes],
        settings: Mapping[str, str],
        expected: Fingerprint,
    ) -> None:
        self.options, self.files, self.settings = options, dict(files), dict(settings)
        self.expected = expected
        self.name = f"scaleready-{uuid.uuid4().hex}"  # one round's: taken off at its end
        self.assessor: Assessor | None = None
        self.problem = "the round's engine was not built on this worker"

    @classmethod
    def of(cls, assessor: Assessor) -> EnginePlugin:
        """The plugin that builds, on each worker, the engine ``assessor`` has here."""
        options = assessor.options
        paths = [*options.rule_files, *([options.policy] if options.policy else [])]
        files = {
            path: read_file(Path(path), PolicyError if path == options.policy else RulesetError)
            for path in paths
        }
        settings = {k: v for k, v in os.environ.items() if k.startswith(SETTINGS)}
        return cls(options, files, settings, fingerprint(assessor))

    def setup(self, worker: distributed.Worker) -> None:
        """Build the engine; a failure or a difference is kept, and told by each task."""
        self.lock = threading.Lock()  # durable_rules is not thread-safe: one item at a time
        self.folder = tempfile.mkdtemp(prefix="scaleready-")
        _use_settings(self.settings)
        try:
            assessor = Assessor.build(self._options_here())
        except Exception as error:  # told to the round, which refuses to go on
            self.problem = f"cannot build the engine: {type(error).__name__}: {error}"
            return
        differences = differences_between(self.expected, fingerprint(assessor))
        if differences:
            self.problem = "differs from the machine running the round: " + "; ".join(differences)
        else:
            self.assessor = assessor

    def teardown(self, worker: distributed.Worker) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _options_here(self) -> BatchOptions:
        """The options with each file written into this worker's folder, under its own name."""
        here: dict[str, str] = {}
        for number, (path, content) in enumerate(self.files.items()):
            copy = Path(self.folder, str(number), Path(path).name)
            copy.parent.mkdir()
            copy.write_bytes(content)
            here[path] = str(copy)
        return replace(
            self.options,
            rule_files=tuple(here[path] for path in self.options.rule_files),
            policy=here[self.options.policy] if self.options.policy else None,
        )


def _use_settings(settings: Mapping[str, str]) -> None:
    """This process's settings become the round's (only those: none other)."""
    for name in [name for name in os.environ if name.startswith(SETTINGS)]:
        del os.environ[name]
    os.environ.update(settings)


def fingerprint(assessor: Assessor) -> Fingerprint:
    """What must be the same on every machine for its scorecards to be the same."""
    engine = assessor.engine
    return {
        "scaleready version": __version__,
        "backend": engine.backend,
        "rulesets": [f"{r.id} {r.version} (sha256 {r.sha256[:12]})" for r in engine.rulesets],
        "derived facts": sorted(engine.derived_facts),
        "profile fields": sorted(engine.profile_model.model_fields),
        "policy": None if assessor.policy is None else assessor.policy.sha256[:12],
    }


def differences_between(here: Fingerprint, there: Fingerprint) -> list[str]:
    return [
        f"{key}: {there.get(key)} there, {value} here"
        for key, value in here.items()
        if there.get(key) != value
    ]


def _worker_problem(dask_worker: distributed.Worker, name: str) -> str | None:
    """Why this worker cannot take the round's tasks, or None (run on each worker)."""
    plugin = dask_worker.plugins.get(name)
    if not isinstance(plugin, EnginePlugin):
        return "the round's worker plugin is not installed on it"
    return None if plugin.assessor is not None else plugin.problem


def check_workers(client: distributed.Client, plugin: EnginePlugin) -> None:
    """Refuse a cluster without workers, or with one that cannot assess as this process does."""
    problems = client.run(_worker_problem, name=plugin.name)
    if not problems:
        raise ClusterError(
            f"the Dask scheduler at {_address(client)} has no workers; start some "
            "(`dask worker ADDRESS`) with scaleready and its plugins installed"
        )
    refused = sorted(f"{worker}: {problem}" for worker, problem in problems.items() if problem)
    if refused:
        raise ClusterError(
            "Dask workers cannot assess this round as this machine would; install on them the "
            "same scaleready and plugins (see docs/dask.md): " + " | ".join(refused)
        )


# --- tasks: as they travel, and as a worker assesses them ---------------------------------------


def assess_on_worker(name: str, task: Task | ShippedLines) -> list[ItemResult]:
    """A task's outcomes, on a Dask worker, with the engine its plugin built."""
    plugin = distributed.get_worker().plugins.get(name)
    if not isinstance(plugin, EnginePlugin) or plugin.assessor is None:
        raise WorkerDiffers(getattr(plugin, "problem", "the round's worker plugin is missing"))
    with plugin.lock:
        return [plugin.assessor.assess(item) for item in task.read()]


@dataclass(frozen=True)
class ShippedLines:
    """A JSONL range and its bytes, for a worker that cannot read the file."""

    lines: Lines
    content: bytes

    @property
    def size(self) -> int:
        return self.lines.size

    def written(self, copy: Path) -> Lines:
        """The range, read from a copy: a line feed before a range that does not start the
        file, so that a byte-order mark at its start is read as text, as in the file."""
        lead = b"\n" if self.lines.start else b""
        copy.write_bytes(lead + self.content)
        return self.lines._replace(
            start=len(lead), end=len(lead) + len(self.content), copy=str(copy)
        )

    def read(self) -> Iterator[Item]:
        """The range's items, read from a copy in a temporary folder as from the file."""
        with tempfile.TemporaryDirectory(prefix="scaleready-lines-") as folder:
            yield from self.written(Path(folder, "lines.jsonl")).read()


def shipped(task: Task) -> Task | ShippedLines:
    """The task with the bytes a worker would read from this machine's disk."""
    if isinstance(task, Lines):
        try:
            with open(task.path, "rb") as raw:
                raw.seek(task.start)
                return ShippedLines(task, raw.read(task.end - task.start))
        except OSError:  # the worker tries, and says what it could not read as the pool does
            return task
    if isinstance(task, Items):
        return Items(tuple(map(_with_bytes, task.items)))
    return task


def _with_bytes(item: Item) -> Item:
    """A file's item with the file's bytes, read as the worker would (its errors the same)."""
    if item.path is None or item.raw is not None or Path(item.path).suffix.lower() not in SUFFIXES:
        return item
    try:
        return item._replace(raw=read_file(Path(item.path), ProfileError))
    except ProfileError as error:
        return Item(item.label, error=str(error))


# --- the round: tasks out, outcomes back in input order -----------------------------------------


class _ClusterRound:
    def __init__(
        self, client: distributed.Client, name: str, assessor: Assessor, retries: int
    ) -> None:
        self.client, self.name, self.retries = client, name, retries
        self.columns = assessor.columns
        self.round = uuid.uuid4().hex[:12]
        self.sent = 0

    def assess(self, tasks: Iterator[Task]) -> Generator[list[ItemResult], None, None]:
        limit = CHUNKS_AHEAD * max(1, sum(self.client.nthreads().values()))
        out: deque[tuple[Task | ShippedLines, distributed.Future]] = deque()
        try:
            for task in tasks:
                out.append(self._submit(shipped(task), self.retries))
                if len(out) >= limit:
                    yield self._outcomes(*out.popleft())
            while out:
                yield self._outcomes(*out.popleft())
        finally:
            self.client.cancel([future for _, future in out])

    def _submit(
        self, task: Task | ShippedLines, retries: int
    ) -> tuple[Task | ShippedLines, distributed.Future]:
        self.sent += 1
        key = f"scaleready-{self.round}-{self.sent}"
        future = self.client.submit(
            assess_on_worker, self.name, task, key=key, retries=retries, pure=False
        )
        return task, future

    def _outcomes(self, task: Task | ShippedLines, future: distributed.Future) -> list[ItemResult]:
        try:
            return future.result()
        except WorkerDiffers as error:
            raise ClusterError(f"a Dask worker cannot assess this round: {error}") from None
        except Exception:  # noqa: BLE001  # a worker killed by the task, or the task raised:
            self._check_connected()  # whatever it was, each item is tried once more alone
            return self._one_by_one(task)

    def _one_by_one(self, task: Task | ShippedLines) -> list[ItemResult]:
        """A task that failed, each item alone and one at a time (no other item of it beside
        it on a worker that dies): only the item that fails is lost."""
        outcomes: list[ItemResult] = []
        for item in task.read():
            _, future = self._submit(Items((item,)), retries=0)
            try:
                outcomes += future.result()
            except WorkerDiffers as error:
                raise ClusterError(f"a Dask worker cannot assess this round: {error}") from None
            except Exception as error:  # noqa: BLE001  # this item's alone: reported as failed
                self._check_connected()
                outcomes.append(self._lost(item, error))
        return outcomes

    def _lost(self, item: Item, error: Exception) -> ItemResult:
        reason = (
            f"{item.label}: internal error: the Dask task assessing it failed on every try "
            f"({type(error).__name__}: {error})"
        )
        values = summary_values(item.label, None, self.columns, reason)
        return ItemResult(item.label, values, self.columns, error=reason, exit_code=INTERNAL_ERROR)

    def _check_connected(self) -> None:
        if self.client.status != "running":
            raise ClusterError(
                f"lost the Dask scheduler at {_address(self.client)} during the round "
                "(no output was written); run it again"
            )
