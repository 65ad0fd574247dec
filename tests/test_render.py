"""Printed and Markdown scorecards: a profile's or a ruleset's text is shown, never obeyed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from scaleready.assessment.scorecard import DataGap, GapItem, Scorecard
from scaleready.plugins import PluginInfo
from scaleready.profile import load_profile
from scaleready.report import render
from scaleready.report.levels import missing_in_text
from scaleready.report.safe_text import (
    FORMULA_TRIGGERS,
    markdown_text,
    plain_text,
    spreadsheet_text,
)
from tests.conftest import REPO, run_scaleready, write

# Raw HTML, a script link, a tracking image, an autolink, table cells, a heading and a link
# reference definition on lines of their own.
MARKUP = (
    "<script>alert(1)</script><svg onload=alert(2)> [click](javascript:alert(3)) "
    "![t](http://tracker.example/p.png) <javascript:alert(4)> | x | y |\n"
    "# Injected heading\n[click]: javascript:alert(5)"
)
# Terminal control: colour (CSI), a hyperlink and a window title (OSC), a bell, an 8-bit CSI
# that clears the screen, a carriage return that overwrites the line, a right-to-left override.
TERMINAL = (
    "Bell\x07 and \x1b[31mred\x1b[0m \x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\ "
    "\x1b]0;title\x07\x9b2J over\rwrite \u202eevil\u202c end"
)
TERMINAL_SHOWN = "Bell and red link  over write evil end"
# Characters no printed line may hold: C0 but the line break, DEL, C1, bidi formatting.
UNSAFE_ON_A_TERMINAL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)

# What the scorecard's own Markdown makes: headings, paragraphs, lists, tables, bold and code.
MARKDOWN_TAGS = {"h1", "h2", "p", "strong", "code", "ol", "ul", "li"}
MARKDOWN_TAGS |= {"table", "thead", "tbody", "tr", "th", "td"}


def hostile_ruleset(folder: Path, text: str) -> Path:
    """A ruleset whose every text is ``text``: one rule fails, one lacks data."""

    def rule(rule_id: str, condition: str) -> dict:
        return {
            "id": rule_id,
            "title": text,
            "level": 1,
            "condition": condition,
            "pass": text,
            "fail": text,
            "advice": text,
            "references": ["source"],
        }

    ruleset = {
        "id": "hostile",
        "title": text,
        "version": "1.0.0",
        "summary": text,
        "levels": {1: text, 2: text},
        "references": [{"id": "source", "title": text, "url": "javascript:alert(6)"}],
        "rules": [
            rule("fails", "present(organisation.country)"),
            rule("lacks_data", "organisation.yearly_income > 5"),
        ],
    }
    return write(folder / "hostile.yaml", json.dumps(ruleset))


def hostile_profile(folder: Path, name: str) -> Path:
    return write(folder / "profile.yaml", f"name: {json.dumps(name)}\n")


def assess(tmp_path: Path, text: str, *args: str):
    rules = hostile_ruleset(tmp_path, text)
    profile = hostile_profile(tmp_path, text)
    result = run_scaleready(
        "assess", profile, "--rules", rules, "--ruleset", "hostile", "--ruleset", "evidence", *args
    )
    assert result.returncode == 0, result.stderr
    return result


class Rendered(HTMLParser):
    """The tags, links and text of the HTML a Markdown renderer makes."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


# Markdown -------------------------------------------------------------------------------------


def test_markdown_shows_markup_from_profiles_and_rulesets_as_text(tmp_path):
    markdown = assess(tmp_path, MARKUP, "--format", "markdown").stdout
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    page = Rendered(html)
    tags = {tag for tag, _ in page.tags}
    assert tags <= MARKDOWN_TAGS, "no script, svg, link or image"
    one_line = MARKUP.replace("\n", " ")
    assert one_line in "".join(page.text), "the text is shown as it is, on one line"
    headings = [tag for tag, _ in page.tags if tag in ("h1", "h2")]
    assert len(headings) == len(re.findall(r"^#+ ", markdown, re.M)), "no injected heading"


def test_markdown_tables_keep_their_columns_and_rows(tmp_path):
    markdown = assess(tmp_path, MARKUP, "--format", "markdown").stdout
    html = MarkdownIt("commonmark").enable("table").render(markdown)
    tables = [
        [
            ["".join(Rendered(cell).text) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
        ]
        for table in re.findall(r"<table>(.*?)</table>", html, re.S)
    ]
    assert [len(set(map(len, rows))) for rows in tables] == [1] * len(tables), "no cell spills"
    assert [len(rows[0]) for rows in tables] == [5, 4, 4], "levels, then a table per dimension"
    one_line = MARKUP.replace("\n", " ")
    # one rule fails and one lacks data, both of level 1: level 0 whatever the data, a score
    # of 0 that the missing data could raise to 50
    hostile_dimension = [one_line, "0/5", "–", "0.0–50.0", "bottleneck"]
    failed_rule = ["✗ fail", "1", one_line, one_line]
    assert hostile_dimension in tables[0]
    assert any(failed_rule in rows for rows in tables[1:]), "the text fills exactly its own cell"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("organisation.yearly_income", "organisation.yearly_income"),
        ("_emphasis_ and *strong*", r"\_emphasis\_ and \*strong\*"),
        ("AT&T <b>", "AT&amp;T &lt;b&gt;"),
        ("a | b", r"a \| b"),
        ("Wow! ![x](y)", r"Wow! !\[x\](y)"),
    ],
    ids=["field-name-stays-readable", "emphasis", "html", "table-cell", "image"],
)
def test_markdown_text_escapes_only_what_could_act(text, shown):
    assert markdown_text(text) == shown


# The terminal ---------------------------------------------------------------------------------


@pytest.mark.parametrize("output_format", ["table", "markdown"])
def test_printed_scorecards_carry_no_terminal_control(tmp_path, output_format):
    stdout = assess(tmp_path, TERMINAL, "--format", output_format).stdout
    assert not UNSAFE_ON_A_TERMINAL.findall(stdout)
    assert TERMINAL_SHOWN in stdout


@pytest.mark.slow
def test_explain_carries_no_terminal_control(tmp_path):
    rules = hostile_ruleset(tmp_path, TERMINAL)
    profile = hostile_profile(tmp_path, TERMINAL)
    result = run_scaleready("explain", profile, "hostile.fails", "--rules", rules)
    assert result.returncode == 0, result.stderr
    assert not UNSAFE_ON_A_TERMINAL.findall(result.stdout)
    assert TERMINAL_SHOWN in result.stdout


def test_printed_json_escapes_terminal_control_and_keeps_the_data(tmp_path):
    stdout = assess(tmp_path, TERMINAL, "--format", "json").stdout
    assert not UNSAFE_ON_A_TERMINAL.findall(stdout)
    assert json.loads(stdout)["profile"]["name"] == TERMINAL


def test_plain_text_hides_nothing_after_an_unfinished_escape_sequence():
    assert plain_text("a\x1b]8;;http://x.example b") == "a8;;http://x.example b"
    assert plain_text("a\x9d0;title b") == "a0;title b"


# Properties of the guards, on texts drawn mostly from the characters that matter ----------------

TRICKY = st.lists(
    st.sampled_from(
        list("<>&\\`*_[]()!|~#$:/ =+-@'\"\t\r\n\x00\x1b\x07\x9b\x9d\x9c\u202e\u2028é😀a1.")
        + ["](javascript:", "<script>", "&lt;", "\x1b]8;;", "\x1b[31m", "http://x.example"]
    ),
    max_size=20,
).map("".join)
PROPERTIES = settings(max_examples=300, derandomize=True, deadline=None)


@PROPERTIES
@given(st.one_of(TRICKY, st.text(max_size=30)))
def test_any_text_renders_in_markdown_as_itself(text):
    for markdown in (f"| a |\n|---|\n| {markdown_text(text)} |\n", f"x {markdown_text(text)}\n"):
        html = MarkdownIt("commonmark").enable("table").render(markdown)
        page = Rendered(html)
        assert {tag for tag, _ in page.tags} <= {"p", "table", "thead", "tbody", "tr", "th", "td"}
        assert "".join(page.text).strip().endswith(plain_text(text).strip())


@PROPERTIES
@given(st.one_of(TRICKY, st.text(max_size=30)))
def test_any_text_prints_without_terminal_control(text):
    line = plain_text(text)
    assert not UNSAFE_ON_A_TERMINAL.findall(line)
    assert "\n" not in line
    assert plain_text(line) == line


@PROPERTIES
@given(st.one_of(TRICKY, st.text(max_size=30)))
def test_any_text_is_a_spreadsheet_text_never_a_formula(text):
    cell = spreadsheet_text(text)
    assert not cell.lstrip(" ").startswith(FORMULA_TRIGGERS)
    assert ILLEGAL_CHARACTERS_RE.search(cell) is None


def test_a_ruleset_outline_gives_its_levels_and_each_rule_with_its_condition(registry):
    outline = render.ruleset_outline(registry.rulesets["evidence"]).splitlines()
    assert outline[0].startswith(registry.rulesets["evidence"].spec.title)
    assert "  Level 1: " in outline[3]
    rules = [line for line in outline if line.startswith("[L")]
    conditions = [line for line in outline if line.startswith("    condition:    ")]
    assert len(rules) == len(conditions) == len(registry.rulesets["evidence"].rules)


def test_a_plugin_line_says_what_it_provides_and_why_it_failed():
    info = PluginInfo("social_value", "1.2", rulesets=["sv"], derived_facts=["ratio"])
    assert render.plugin_line(info) == "social_value 1.2: sv, derived.ratio"
    broken = PluginInfo("broken", None, error="ImportError: no module", builtin=True)
    assert (
        render.plugin_line(broken) == "broken (built-in): nothing  FAILED: ImportError: no module"
    )


def test_rendering_text_imports_neither_pydantic_nor_the_engine():
    """The CLI's --help imports render; pydantic and the engine wait for a command to need them."""
    code = (
        "import sys, scaleready.report.render, scaleready.cli; "
        "print(sorted(m for m in ('pydantic', 'durable', 'scaleready.assessment.engine') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr


# Provisional levels ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def data_gaps_card() -> dict:
    """The scorecard of the example whose bottlenecks are held only by missing data."""
    result = run_scaleready("assess", "examples/code-club.yaml", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _table_line(text: str, title: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"  {title}  "))


def test_the_table_shows_the_level_reached_and_then_the_level_possible(data_gaps_card):
    text = render.table(Scorecard.model_validate(data_gaps_card))
    for d in data_gaps_card["dimensions"]:
        line = _table_line(text, d["title"])
        reached = f"  {d['level']}/5"
        assert reached in line, "the level reached comes first, as a plain figure"
        possible = f"({d['potential_level']} possible)"
        assert (possible in line) == (d["potential_level"] > d["level"])
        assert line.index(reached) < line.index(possible) if possible in line else True
    assert any(d["potential_level"] > d["level"] for d in data_gaps_card["dimensions"])
    overall = _table_line(text, "Overall")
    assert f"{data_gaps_card['overall']['score']:.1f}–" in overall, "the score as a range"


def test_a_bottleneck_held_only_by_missing_data_says_so(data_gaps_card):
    text = render.table(Scorecard.model_validate(data_gaps_card))
    for d in data_gaps_card["dimensions"]:
        line = _table_line(text, d["title"])
        unknown_only = all(s["outcome"] == "unknown" for s in d["next_steps"])
        if d["id"] in data_gaps_card["overall"]["bottleneck"]:
            assert ("(data missing only)" in line) == unknown_only, line
        else:
            assert "bottleneck" not in line


@pytest.mark.parametrize("output_format", ["table", "markdown"])
def test_data_gaps_say_what_they_mean_and_unlock_nearest_first(data_gaps_card, output_format):
    card = Scorecard.model_validate(data_gaps_card)
    text = render.render([card], output_format)
    gaps = text[text.index("Data gaps") :].split("\n\n")[0 if output_format == "table" else 2]
    lines = [line for line in gaps.splitlines() if line.lstrip().startswith("-")]
    assert len(lines) == sum(len(d.data_gaps) for d in card.dimensions)
    found = [re.search(r"could unlock .* level (\d); decides", line) for line in lines]
    levels = [int(m.group(1)) if m else 9 for m in found]
    assert levels == sorted(levels), "nearest level first, those that unlock nothing last"
    meanings = [g.meaning for d in card.dimensions for g in d.data_gaps if g.meaning]
    assert meanings and all(markdown_text(m.rstrip(".")) in text for m in meanings)


# The list items a data gap names ------------------------------------------------------------

TWO_OF_THREE = (
    'missing in 2 of 3 items: evidence.evaluations[0] ("Jones 2019 <Leeds & Bradford>"), '
    '[2] ("Okafor 2023, a trial in Glasgow")'
)


@pytest.fixture(scope="module")
def two_of_three_card(engine) -> Scorecard:
    """The scorecard of three trials, two of them without their attrition."""
    return engine.assess(
        load_profile(REPO / "tests/profiles/attrition-missing-in-two-of-three.yaml")
    )


@pytest.mark.parametrize(
    ("output_format", "shown"),
    [("table", str), ("markdown", markdown_text)],
    ids=["table", "markdown"],
)
def test_a_data_gap_names_the_list_items_that_lack_its_field(
    two_of_three_card, output_format, shown
):
    text = render.render([two_of_three_card], output_format)
    after = text[text.index("Data gaps") :].splitlines()
    gaps = [line for line in after if line.lstrip().startswith("- ")]
    (attrition,) = [line for line in gaps if "].attrition" in line]
    assert f"{shown(TWO_OF_THREE)}; {shown('could unlock Evidence of impact level 3')}" in attrition
    for field in ("model.unit_cost", "replication.replications"):  # outside lists, a whole list
        lines = [line for line in gaps if f"{field}`" in line or f"- {field} " in line]
        assert lines and not any("missing in" in line for line in lines)


def _gap(missing: int, total: int, name: str | None = "A study") -> DataGap:
    items = [GapItem(path=f"evidence.evaluations[{n}]", name=name) for n in range(missing)]
    return DataGap(
        field="evidence.evaluations[].sites",
        meaning=None,
        unlocks=5,
        rules=["impact_elsewhere"],
        missing_in=items,
        list_items=total,
    )


@pytest.mark.parametrize(
    ("gap", "text"),
    [
        (_gap(0, 0), None),
        (_gap(1, 1, None), "missing in 1 of 1 item: evidence.evaluations[0]"),
        (_gap(3, 3), "missing in all 3 items"),
        (
            _gap(5, 7, "x" * 60),
            f'missing in 5 of 7 items: evidence.evaluations[0] ("{"x" * 39}…"), '
            f'[1] ("{"x" * 39}…"), [2] ("{"x" * 39}…") and 2 more',
        ),
    ],
    ids=["outside lists", "the only item", "every item", "long names, many items"],
)
def test_the_items_a_gap_names_are_few_and_briefly_named(gap, text):
    assert missing_in_text(gap) == text
