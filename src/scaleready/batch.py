"""Assessing a whole grant round: many profiles from folders, JSONL, CSV or XLSX, on every core.

Items are read in the main process (a bad row or file becomes a failed item, never a stop),
assessed in worker processes that each build their own engine (durable_rules is per process),
and returned in input order.
"""

from __future__ import annotations

import functools
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


def read_items(
    sources: Iterable[str | Path],
    *,
    strict_columns: bool = False,
    warn: flat.Warn = flat.ignore_warning,
) -> Iterator[Item]:
    """Every profile in the sources: folders of YAML/JSON files, JSONL, CSV and XLSX files.

    Every row or line is an item, or an item's error naming it; a file that cannot be read at
    all is one item with its error.  ``warn`` hears, once per file, of columns ignored
    (``strict_columns`` refuses them instead) and rows read as Windows-1252.
    """
    for source in map(Path, sources):
        if source.is_dir():
            yield from _folder_items(source)
        elif source.suffix.lower() == ".jsonl":
            yield from _guarded(source, _jsonl_items)
        elif source.suffix.lower() in flat.FLAT_SUFFIXES:
            yield from _guarded(source, functools.partial(_flat_items, strict_columns, warn))
        else:
            yield Item(str(source), path=str(source))


def _guarded(source: Path, read: Callable[[Path], Iterator[Item]]) -> Iterator[Item]:
    """Items of a file; a file that cannot be read (any further) becomes one failed item."""
    if not source.is_file():  # a device or a pipe could be read forever
        yield Item(str(source), error=f"{source}: not a regular file; a round must be a file")
        return
    try:
        yield from read(source)
    except InputError as error:
        yield Item(str(source), error=str(error))
    except OSError as error:
        yield Item(str(source), error=f"{source}: cannot read the file: {error.strerror or error}")


def _folder_items(folder: Path) -> Iterator[Item]:
    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file()):
        yield Item(str(path), path=str(path))


def _jsonl_items(path: Path) -> Iterator[Item]:
    """One item per line that is not blank; JSON Lines are UTF-8 (or UTF-16 with its mark)."""
    for row in flat.jsonl_rows(path):
        label = f"{path}:line {row.number}"
        if row.error:
            yield Item(label, error=f"{label}: {row.error}")
        elif row.undecodable:
            yield Item(label, error=f"{label}: {_not_utf8(row.cells[0])}")
        elif row.cells[0].strip():
            yield Item(label, json_text=row.cells[0])


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


def _flat_items(strict_columns: bool, warn: flat.Warn, path: Path) -> Iterator[Item]:
    """One item per row that is not blank, under the first such row, the header."""
    rows = flat.xlsx_rows(path) if path.suffix.lower() == ".xlsx" else flat.csv_rows(path, warn)
    header = None
    for row in rows:
        if row.error is None and not row.undecodable and flat.is_blank(row.cells):
            continue
        if header is None:
            header = _header(row, path, strict_columns, warn)
        else:
            yield _flat_item(f"{path}:row {row.number}", header, row)
    if header is None:
        warn(f"{path}: the file holds no rows: nothing to assess")


def _header(row: flat.Row, path: Path, strict_columns: bool, warn: flat.Warn) -> flat.Header:
    if row.error:
        return flat.Header((), problem=f"the header (row {row.number}) cannot be read: {row.error}")
    header = flat.parse_header(row.cells, row.number, strict_columns)
    if header.ignored and not strict_columns:
        warn(flat.ignored_columns_warning(str(path), header))
    return header


def _flat_item(label: str, header: flat.Header, row: flat.Row) -> Item:
    if row.error or header.problem:
        return Item(label, error=f"{label}: {row.error or header.problem}")
    try:
        return Item(label, data=flat.row_to_profile(header, row, label))
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
