"""Scorecards written as they are made: rendered into one output, or one HTML report each.

``scaleready assess`` puts each scorecard in a sink as soon as it is made, so memory stays flat
however many profiles are given; nothing is in place before the caller commits its outputs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from scaleready.report import outputs, render

if TYPE_CHECKING:
    from scaleready.assessment.scorecard import Scorecard

Echo = Callable[[str], None]  # prints text as it is given


class CardSink(Protocol):
    """Where assess puts each scorecard as it is made; ``count`` says how many it took."""

    count: int

    def add(self, number: int, card: Scorecard) -> None:
        """Take the scorecard of the profile given ``number``-th (from 0)."""

    def close(self) -> None:
        """Finish what was written (nothing is in place before the caller commits)."""


class RenderedCards:
    """Scorecards rendered one by one into one output (the terminal when there is no file),
    giving the bytes render.render gives for all of them at once."""

    def __init__(
        self, output_format: str, output: Path | None, staged: outputs.OutputSet, echo: Echo
    ) -> None:
        self.format, self.count = output_format, 0
        self._file = None if output is None else staged.open_text(output)
        self._put = echo if self._file is None else self._file.write
        self._first_json: str | None = None  # held until we know whether an array follows

    def add(self, number: int, card: Scorecard) -> None:
        text = render.render([card], self.format)
        if self.format != "json":
            self._put(("\n" if self.count else "") + text)
        elif self.count == 0:
            self._first_json = text.removesuffix("\n")
        else:
            if self._first_json is not None:
                self._put("[\n" + _indented(self._first_json))
                self._first_json = None
            self._put(",\n" + _indented(text.removesuffix("\n")))
        self.count += 1

    def close(self) -> None:
        if self.format == "json" and self.count:
            self._put("\n]\n" if self._first_json is None else self._first_json + "\n")
        if self._file is not None:
            self._file.close()


def _indented(json_text: str) -> str:
    """An object's JSON as an item of an indented array (JSON strings hold no newline)."""
    return "\n".join("  " + line for line in json_text.split("\n"))


class HtmlReports:
    """One HTML report per profile in a folder, each written whole as soon as it is made."""

    def __init__(self, folder: Path, profiles: Sequence[Path], tell: Echo) -> None:
        self.targets = [folder / name for name in report_names(profiles)]
        self.count = 0
        self._tell = tell

    def add(self, number: int, card: Scorecard) -> None:
        outputs.write_text(self.targets[number], render.render([card], "html"))
        self._tell(f"wrote {self.targets[number]}")
        self.count += 1

    def close(self) -> None:
        """Each report is in place as soon as it is written."""


def report_names(profiles: Sequence[Path]) -> list[str]:
    """A report file name per profile, after its file; names shared by profiles in different
    folders (or given twice) get -1, -2... in the order given, so none overwrites another."""
    stems = [Path(profile).stem for profile in profiles]
    shared = Counter(stem.casefold() for stem in stems)
    taken = {stem.casefold() for stem in stems if shared[stem.casefold()] == 1}
    numbers: Counter[str] = Counter()
    names = []
    for stem in stems:
        name = stem
        while shared[stem.casefold()] > 1 and (name == stem or name.casefold() in taken):
            numbers[stem.casefold()] += 1
            name = f"{stem}-{numbers[stem.casefold()]}"
        taken.add(name.casefold())
        names.append(f"{name}.html")
    return names
