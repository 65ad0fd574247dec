"""Assessing a whole grant round: many profiles from folders, JSONL, CSV or XLSX, on every core.

Items are read in the main process (a bad row or file becomes a failed item, never a stop),
assessed in worker processes that each build their own engine (durable_rules is per process),
and returned in input order.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from scaleready import flat
from scaleready.documents import SUFFIXES
from scaleready.engine import Engine, create_engine, data_sha256
from scaleready.errors import InputError, ProfileError
from scaleready.policy import Policy, load_policy
from scaleready.profile import load_profile_with_hash, profile_from_data
from scaleready.scorecard import Scorecard

CHUNK = 250  # items per task sent to a worker: large enough to make the hand-over cheap
INLINE_BELOW = 400  # fewer items than this are assessed in this process: a pool costs more


@dataclass(frozen=True)
class Item:
    """One profile to assess: where it came from, and either its data, its file, or why not."""

    label: str
    data: dict | None = None
    path: str | None = None
    error: str | None = None
    json_text: str | None = None  # a JSONL line, parsed by the worker that assesses it


@dataclass(frozen=True)
class Outcome:
    """What became of one item: its summary row, its scorecard (JSON, if kept), or its error."""

    label: str
    row: dict
    scorecard_json: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class BatchOptions:
    """How each worker builds its engine and what it sends back: the same for every process."""

    rulesets: tuple[str, ...] = ()
    rule_files: tuple[str, ...] = ()
    backend: str = "auto"
    policy: str | None = None
    keep_scorecards: bool = False


def read_items(sources: Iterable[str | Path]) -> Iterator[Item]:
    """Every profile in the sources: folders of YAML/JSON files, JSONL, CSV and XLSX files."""
    for source in map(Path, sources):
        if source.is_dir():
            yield from _folder_items(source)
        elif source.suffix.lower() == ".jsonl":
            yield from _guarded(source, _jsonl_items)
        elif source.suffix.lower() in (".csv", ".xlsx"):
            yield from _guarded(source, _flat_items)
        else:
            yield Item(str(source), path=str(source))


def _guarded(source: Path, read: Callable[[Path], Iterator[Item]]) -> Iterator[Item]:
    """Items of a file; a file that cannot be read at all becomes one failed item."""
    try:
        yield from read(source)
    except (OSError, UnicodeDecodeError, InputError, ValueError) as error:
        yield Item(
            str(source), error=str(error) if isinstance(error, InputError) else f"{source}: {error}"
        )


def _folder_items(folder: Path) -> Iterator[Item]:
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file()):
        yield Item(str(path), path=str(path))


def _jsonl_items(path: Path) -> Iterator[Item]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield Item(f"{path}:line {number}", json_text=line)


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


def _flat_items(path: Path) -> Iterator[Item]:
    rows = flat.xlsx_rows(path) if path.suffix.lower() == ".xlsx" else flat.csv_rows(path)
    columns = None
    for number, cells in rows:
        if columns is None:
            columns = flat.parse_header([str(c) if c is not None else "" for c in cells], str(path))
            continue
        if any(cell not in (None, "") for cell in cells):
            yield _flat_item(f"{path}:row {number}", columns, cells)


def _flat_item(label: str, columns: list, cells: list) -> Item:
    try:
        return Item(label, data=flat.row_to_profile(columns, cells, label))
    except ProfileError as error:
        return Item(label, error=str(error))


# --- assessing, in this process or in workers ----------------------------------------------------


@dataclass(frozen=True)
class Assessor:
    """An engine, the policy to apply, and the summary columns: all a worker needs."""

    options: BatchOptions
    engine: Engine
    policy: Policy | None
    columns: list[str]

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
        return cls(options, engine, policy, columns)

    def assess(self, item: Item) -> Outcome:
        """Load, validate and assess one item; bad input is its outcome, not an exception."""
        try:
            card = self._scorecard(item)
        except InputError as error:
            return Outcome(
                item.label,
                summary_row(item.label, None, self.columns, str(error)),
                error=str(error),
            )
        scorecard_json = (
            Scorecard.model_validate(card).model_dump_json()
            if self.options.keep_scorecards
            else None
        )
        return Outcome(item.label, summary_row(item.label, card, self.columns), scorecard_json)

    def _scorecard(self, item: Item) -> dict:
        """The item's scorecard as plain data; validated only if it is kept whole."""
        if item.error:
            raise InputError(item.error)
        if item.path is not None:
            profile, digest = load_profile_with_hash(item.path)
        else:
            data = (
                item.data
                if item.json_text is None
                else _parse_json_line(item.label, item.json_text)
            )
            profile, digest = profile_from_data(data, source=item.label), data_sha256(data)
        card = self.engine.assess_data(profile, source=item.label, profile_sha256=digest)
        return self.policy.apply_to_data(card) if self.policy is not None else card


_worker: Assessor | None = None


def _start_worker(options: BatchOptions) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _worker = Assessor.build(options)


def _assess_chunk(items: Sequence[Item]) -> list[Outcome]:
    return [_worker.assess(item) for item in items]


def assess_all(
    items: Sequence[Item],
    assessor: Assessor,
    jobs: int,
    progress: Callable[[int], None] = lambda n: None,
) -> Iterator[Outcome]:
    """Outcomes in input order; on several cores when the batch is large enough to gain."""
    chunks = [items[start : start + CHUNK] for start in range(0, len(items), CHUNK)]
    if jobs <= 1 or len(items) < INLINE_BELOW:
        for chunk in chunks:
            yield from map(assessor.assess, chunk)
            progress(len(chunk))
        return
    pool = ProcessPoolExecutor(
        max_workers=jobs, initializer=_start_worker, initargs=(assessor.options,)
    )
    try:
        for outcomes in pool.map(_assess_chunk, chunks):
            yield from outcomes
            progress(len(outcomes))
    finally:  # on an interrupt, drop the chunks not started rather than finish them
        pool.shutdown(wait=True, cancel_futures=True)


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# --- the summary: one row per item --------------------------------------------------------------


def summary_columns(dimension_ids: Sequence[str], with_gate: bool) -> list[str]:
    columns = ["item", "name", "overall_score", "overall_level", "bottleneck"]
    columns += [f"{d}_{what}" for d in dimension_ids for what in ("score", "level")]
    columns += ["gate", "gate_reasons"] if with_gate else []
    return [*columns, "error"]


def summary_row(label: str, card: dict | None, columns: Sequence[str], error: str = "") -> dict:
    """One summary row: the verdict of a scorecard (as plain data), or the error of an item."""
    row: dict[str, object] = dict.fromkeys(columns, "")
    row.update(item=label, error=error)
    if card is None:
        return row
    overall = card["overall"]
    row.update(
        name=card["profile"]["name"], overall_score=overall["score"], overall_level=overall["level"]
    )
    row["bottleneck"] = ";".join(overall["bottleneck"])
    for dimension in card["dimensions"]:
        row[f"{dimension['id']}_score"], row[f"{dimension['id']}_level"] = (
            dimension["score"],
            dimension["level"],
        )
    if card.get("gate") is not None:
        row["gate"] = "passed" if card["gate"]["passed"] else "failed"
        row["gate_reasons"] = "; ".join(card["gate"]["reasons"])
    return row
