"""Scorecards written as they are made: rendered into one output, or one HTML report each.

``scaleready assess`` puts each scorecard here as soon as it is made, so memory stays flat
however many profiles are given; nothing is in place before the caller commits its outputs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from scaleready.assessment.scorecard import Scorecard
from scaleready.report import outputs, render

Echo = Callable[[str], None]  # prints text as it is, with no newline added


class CardSink:
    """Where assess puts each scorecard as it is made."""

    count = 0

    def add(self, number: int, card: Scorecard) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish what was written (nothing is in place before the caller commits)."""


class RenderedCards(CardSink):
    """Scorecards rendered one by one, giving the bytes render.render gives for all of them."""

    def __init__(
        self, output_format: str, output: Path | None, staged: outputs.OutputSet, echo: Echo
    ) -> None:
        self.format, self.output, self._first_json = output_format, output, None
        self._echo = echo
        self._handle = None
        if output is not None:
            with outputs.writing(output):
                self._handle = open(staged.stage(output), "w", encoding="utf-8")  # noqa: SIM115

    def add(self, number: int, card: Scorecard) -> None:
        text = render.render([card], self.format)
        if self.format != "json":
            self._put(("\n" if self.count else "") + text)
        elif self.count == 0:
            self._first_json = text.removesuffix("\n")  # alone, or the first of an array
        else:
            first, self._first_json = self._first_json, None
            self._put("[\n" + _indented(first) if first is not None else "")
            self._put(",\n" + _indented(text.removesuffix("\n")))
        self.count += 1

    def close(self) -> None:
        if self.format == "json" and self.count:
            self._put(self._first_json + "\n" if self.count == 1 else "\n]\n")
        if self._handle is not None:
            with outputs.writing(self.output):
                self._handle.close()

    def _put(self, text: str) -> None:
        if self._handle is None:
            self._echo(text)
        else:
            with outputs.writing(self.output):
                self._handle.write(text)


def _indented(json_text: str) -> str:
    """An object's JSON as an item of an indented array (JSON strings hold no newline)."""
    return "\n".join("  " + line for line in json_text.split("\n"))


class HtmlReports(CardSink):
    """One HTML report per profile, each written whole as soon as it is made."""

    def __init__(self, folder: Path, profiles: Sequence[Path], tell: Echo) -> None:
        self.targets = [folder / name for name in report_names(profiles)]
        self._tell = tell

    def add(self, number: int, card: Scorecard) -> None:
        outputs.write_text(self.targets[number], render.render([card], "html"))
        self._tell(f"wrote {self.targets[number]}")
        self.count += 1


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
