"""A round's outputs, written as its outcomes arrive: summary, scorecards, portfolio report."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from scaleready.errors import ScaleReadyError
from scaleready.report import outputs
from scaleready.report.levels import ranking_key
from scaleready.rounds import batch


@dataclass(frozen=True)
class RoundFiles:
    """Where a round's outputs go; None for one not asked for."""

    summary: Path | None = None  # one row per item: .csv, .xlsx or .jsonl
    scorecards: Path | None = None  # every scorecard, one JSON object per line
    report: Path | None = None  # the portfolio report, HTML


@dataclass
class Tally:
    """What became of a round's items so far."""

    items: int = 0
    errors: int = 0  # items that could not be assessed ...
    internal: int = 0  # ... of which by an engine, plugin or internal error
    gate_failed: int = 0


class RoundWriter:
    """A round's outputs, written as outcomes arrive: summary rows to a spool (written at the
    end), scorecards straight to their staged file, and a compact portfolio for the report.

    A context manager: the spool and the scorecards' file are closed when the block ends.
    ``order`` is the summary's: "input" (as the items came) or "ranking" (as the portfolio
    ranks them, with a rank column first).
    """

    def __init__(
        self,
        columns: Sequence[str],
        files: RoundFiles,
        staged: outputs.OutputSet,
        order: str = "input",
    ) -> None:
        if order not in SUMMARY_ORDERS:
            raise ValueError(f"the summary's order is one of {', '.join(SUMMARY_ORDERS)}")
        self.ranked = order == "ranking"
        self.columns = ["rank", *columns] if self.ranked else list(columns)
        self.files, self.tally = files, Tally()
        self._summary = _stage(staged, files.summary)
        self._scorecards = None if files.scorecards is None else staged.open_text(files.scorecards)
        self._report = _stage(staged, files.report)
        self._portfolio = None if files.report is None else batch.Portfolio()
        self._rows = outputs.RowSpool()

    def __enter__(self) -> RoundWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._rows.close()
        if self._scorecards is not None:
            self._scorecards.close()

    def add(self, outcome: batch.ItemResult) -> None:
        self._count(outcome)
        self._rows.add(outcome.row)
        if self._scorecards is not None and outcome.scorecard_json:
            self._scorecards.write(outcome.scorecard_json + "\n")
        if self._portfolio is not None:
            self._portfolio.add(outcome)

    def _count(self, outcome: batch.ItemResult) -> None:
        self.tally.items += 1
        if outcome.error:
            self.tally.errors += 1
            self.tally.internal += outcome.exit_code == ScaleReadyError.exit_code
        self.tally.gate_failed += outcome.row.get("gate") == "failed"

    def finish(self, title: str) -> None:
        """Write the report and the summary into their staged files (not yet in place); the
        report first, so that the round's portfolio is let go before the summary is written."""
        if self._scorecards is not None:
            self._scorecards.close()
        if self._portfolio is not None and self._report is not None:
            target, path = self._report
            html, self._portfolio = self._portfolio.html(title), None
            with outputs.writing(target):
                path.write_text(html, encoding="utf-8")
        if self._summary is not None:
            target, path = self._summary
            outputs.write_table_staged(path, target, self.columns, self._summary_rows())

    def summary_csv(self) -> str:
        """The summary as CSV text, for printing when no summary file was asked for."""
        return outputs.csv_text(self.columns, self._summary_rows())

    def _summary_rows(self) -> Iterator[dict]:
        """The summary's rows in its order."""
        if not self.ranked:
            return self._rows.rows()
        return ranked(self._rows.sorted_rows(key=ranking_order))


SUMMARY_ORDERS = ("input", "ranking")


def ranking_order(row: dict) -> tuple:
    """Where a summary row goes in the ranking: as the portfolio ranks (level reached, level
    possible, score, then name), items that could not be assessed last, in input order."""
    if row["error"] or row["overall_level"] == "":
        return (1,)
    key = ranking_key(row["overall_level"], row["overall_potential_level"], row["overall_score"])
    return (0, key, row["name"])


def ranked(rows: Iterator[dict]) -> Iterator[dict]:
    """Rows in ranking order, each given its rank: rows equal on level reached, level possible
    and score share one; items that could not be assessed have none."""
    rank, last = 0, None
    for number, row in enumerate(rows, 1):
        order = ranking_order(row)
        if order[0] == 0 and order[1] != last:
            rank, last = number, order[1]
        yield {"rank": rank if order[0] == 0 else "", **row}


def _stage(staged: outputs.OutputSet, target: Path | None) -> tuple[Path, Path] | None:
    """(the target, where its content is written now), or None for an output not asked for."""
    return None if target is None else (target, staged.stage(target))
