"""Scorecards written as assess makes them: the same bytes as rendering them all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaleready.report import cards, render
from scaleready.report.outputs import OutputSet
from tests.test_html_report import simple_card

CARDS = [simple_card("Alpha", 60.0), simple_card("Beta", 40.0), simple_card("Gamma", 20.0)]


def written(output_format: str, count: int, output: Path | None) -> str:
    """What RenderedCards puts out for the first ``count`` cards: printed, or in ``output``."""
    printed: list[str] = []
    with OutputSet() as staged:
        sink = cards.RenderedCards(output_format, output, staged, printed.append)
        for number, card in enumerate(CARDS[:count]):
            sink.add(number, card)
        sink.close()
        staged.commit()
    return "".join(printed) if output is None else output.read_text(encoding="utf-8")


@pytest.mark.parametrize("count", [1, 2, 3], ids=["one", "two", "three"])
@pytest.mark.parametrize("output_format", ["json", "table", "markdown"])
def test_cards_written_one_by_one_are_the_bytes_of_all_rendered_at_once(output_format, count):
    assert written(output_format, count, None) == render.render(CARDS[:count], output_format)


def test_cards_written_to_a_file_are_the_bytes_printed(tmp_path):
    output = tmp_path / "cards.json"
    assert written("json", 3, output) == written("json", 3, None)


def test_nothing_is_written_before_the_outputs_are_committed(tmp_path):
    output = tmp_path / "cards.md"
    with OutputSet() as staged:
        sink = cards.RenderedCards("markdown", output, staged, print)
        sink.add(0, CARDS[0])
        sink.close()
    assert not output.exists()


def test_html_reports_are_written_one_per_profile_and_each_is_told(tmp_path):
    told: list[str] = []
    reports = cards.HtmlReports(tmp_path, [Path("a/alpha.yaml"), Path("beta.json")], told.append)
    reports.add(0, CARDS[0])
    reports.add(1, CARDS[1])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alpha.html", "beta.html"]
    assert told == [f"wrote {tmp_path / 'alpha.html'}", f"wrote {tmp_path / 'beta.html'}"]
    assert reports.count == 2


@pytest.mark.parametrize(
    ("profiles", "names"),
    [
        (["a.yaml", "b.yaml"], ["a.html", "b.html"]),
        (["x/a.yaml", "y/a.yaml"], ["a-1.html", "a-2.html"]),
        (["a.yaml", "a.yaml"], ["a-1.html", "a-2.html"]),
        (["x/A.yaml", "y/a.json"], ["A-1.html", "a-2.html"]),
        (["x/a.yaml", "y/a.yaml", "a-1.yaml"], ["a-2.html", "a-3.html", "a-1.html"]),
    ],
    ids=["distinct", "two-folders", "given-twice", "differ-only-in-case", "a-number-is-taken"],
)
def test_report_names_never_let_one_report_overwrite_another(profiles, names):
    assert cards.report_names([Path(p) for p in profiles]) == names
