"""A round's outputs, written as its outcomes arrive, and the items counted as they are read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from scaleready.report import outputs
from scaleready.rounds import batch

EXIT_INTERNAL = 4  # an item met an engine, plugin or internal error


class RoundWriter:
    """A round's outputs, written as outcomes arrive: summary rows to a spool (written at the
    end), scorecards straight to their staged file, and a compact portfolio for the report."""

    def __init__(
        self, assessor: batch.Assessor, targets: dict[str, Path | None], staged: outputs.OutputSet
    ) -> None:
        self.columns, self.targets = assessor.columns, targets
        self.tally: Counter[str] = Counter()
        self._staged = {o: staged.stage(t) for o, t in targets.items() if t is not None}
        self._rows = outputs.RowSpool()
        self._portfolio = batch.Portfolio() if targets["--report"] is not None else None
        self._scorecards = None
        if targets["--scorecards"] is not None:
            with outputs.writing(targets["--scorecards"]):
                self._scorecards = open(self._staged["--scorecards"], "w", encoding="utf-8")  # noqa: SIM115

    def __enter__(self) -> RoundWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._rows.close()
        if self._scorecards is not None:
            self._scorecards.close()

    def add(self, outcome: batch.Outcome) -> None:
        self.tally["items"] += 1
        if outcome.error:
            self.tally["errors"] += 1
            self.tally["internal"] += outcome.exit_code == EXIT_INTERNAL
        self.tally["gate failed"] += outcome.row.get("gate") == "failed"
        self._rows.add(outcome.row)
        if self._scorecards is not None and outcome.scorecard_json:
            with outputs.writing(self.targets["--scorecards"]):
                self._scorecards.write(outcome.scorecard_json + "\n")
        if self._portfolio is not None:
            self._portfolio.add(outcome)

    def finish(self, title: str) -> None:
        """Write the report and the summary into their staged files (not yet in place); the
        report first, so that the round's portfolio is let go before the summary is written."""
        if self._scorecards is not None:
            with outputs.writing(self.targets["--scorecards"]):
                self._scorecards.close()
        if self._portfolio is not None:
            report, html = self.targets["--report"], self._portfolio.html(title)
            self._portfolio = None
            with outputs.writing(report):
                self._staged["--report"].write_text(html, encoding="utf-8")
        summary = self.targets["--summary"]
        if summary is not None:
            rows = self._rows.rows()
            outputs.write_table_staged(self._staged["--summary"], summary, self.columns, rows)

    def summary_csv(self) -> str:
        """The summary as CSV text, for printing when no --summary file was asked for."""
        return outputs.csv_text(self.columns, self._rows.rows())


class CountedItems:
    """Items as they are read: how many so far, and whether every source has been read."""

    def __init__(self, items: Iterable[batch.Item]) -> None:
        self._items, self.count, self.done = items, 0, False

    def __iter__(self) -> Iterator[batch.Item]:
        for item in self._items:
            self.count += 1
            yield item
        self.done = True
