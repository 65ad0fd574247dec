"""The HTML reports: escaped, complete, deterministic, offline, and rendered by a real browser."""

from __future__ import annotations

import json
import re
import subprocess
from html import escape, unescape
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest

from scaleready.assessment.engine import Engine
from scaleready.assessment.scorecard import (
    DataGap,
    Dimension,
    Gate,
    NextStep,
    Overall,
    ProfileRef,
    Provenance,
    RuleResult,
    RulesetProvenance,
    Scorecard,
)
from scaleready.profile import load_profile
from scaleready.report.html import portfolio_html, scorecard_html
from tests.conftest import EXAMPLES, REPO, run_scaleready, write
from tests.test_render import hostile_ruleset

SCORECARD_SECTIONS = {
    "summary",
    "chart",
    "dimensions",
    "bottleneck",
    "next-steps",
    "findings",
    "data-gaps",
    "provenance",
}
PORTFOLIO_SECTIONS = {"summary", "levels", "ranking", "bottlenecks", "unmet-rules", "provenance"}
CELL = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>", re.S)
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
# Each way in marks the page if it runs: a script, event handlers in and out of an attribute,
# links that are not web addresses, and control and bidi characters.
PWNED = "document.body.dataset.pwned"
HOSTILE_EVERYWHERE = (
    f"\"'><script>console.log('pwned'); {PWNED}=1</script><img src=x onerror=\"{PWNED}=2\">"
    f"<svg onload={PWNED}=3> javascript:{PWNED}=4 [x](javascript:{PWNED}=5) "
    f"https://example.org/a\"onmouseover=\"{PWNED}=6 http://example.org/b'onclick='{PWNED}=7 "
    "data:text/html,<b>x</b> vbscript:msgbox \x1b]8;;http://evil.example\x07link \u202eevil"
)
CONTROL_OR_BIDI = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium package at /usr/bin/chromium (apt-get install chromium)",
)


# Building scorecards by hand, so each test says exactly what it renders -----------------------


def rule(rule_id: str, outcome: str = "fail", level: int = 1, **fields) -> RuleResult:
    defaults = {
        "title": f"Rule {rule_id}",
        "weight": 1.0,
        "finding": f"Finding of {rule_id}.",
        "advice": None if outcome == "pass" else f"Advice for {rule_id}.",
    }
    return RuleResult(id=rule_id, level=level, outcome=outcome, **{**defaults, **fields})


def dimension(
    dim_id: str,
    level: int,
    score: float,
    rules: list[RuleResult],
    potential_level: int | None = None,
    potential_score: float | None = None,
) -> Dimension:
    unmet = [r for r in rules if r.outcome in ("fail", "unknown", "error")]
    steps = [
        NextStep(dimension=dim_id, rule=r.id, level=r.level, outcome=r.outcome, action=r.advice)
        for r in unmet
        if r.level == level + 1
    ]
    gaps = [
        DataGap(field=f, meaning=None, unlocks=r.level, rules=[r.id])
        for r in rules
        for f in r.missing
    ]
    return Dimension(
        id=dim_id,
        title=dim_id.replace("_", " ").capitalize(),
        weight=1.0,
        score=score,
        potential_score=score if potential_score is None else potential_score,
        level=level,
        potential_level=level if potential_level is None else potential_level,
        findings=[r.finding for r in rules],
        data_gaps=gaps,
        next_steps=steps,
        rules=rules,
    )


def card(name: str, score: float, dims: list[Dimension], **extra) -> Scorecard:
    level = min(d.level for d in dims)
    held = [d.id for d in dims if d.level == level]
    return Scorecard(
        profile=ProfileRef(name=name, source=f"profiles/{name}.yaml", figures_year=2024),
        overall=Overall(
            score=score,
            potential_score=max(score, *(d.potential_score for d in dims)),
            level=level,
            potential_level=min(d.potential_level for d in dims),
            bottleneck=held,
            summary=f"{name} summary.",
        ),
        dimensions=dims,
        next_steps=[s for d in dims for s in d.next_steps],
        provenance=Provenance(
            scaleready_version="0.1.0",
            backend="python",
            assessed_at="2026-01-01T00:00:00Z",
            profile_sha256="ab" * 32,
            rulesets=[RulesetProvenance(id=d.id, version="1.0.0", sha256="cd" * 32) for d in dims],
        ),
        **extra,
    )


def simple_card(name: str, score: float, evidence_level: int = 1, contract_level: int = 0):
    """Two dimensions: evidence (one pass, one fail) and contract fit (a fail and a data gap)."""
    evidence = dimension(
        "evidence",
        evidence_level,
        score,
        [rule("theory", "pass"), rule("outcome_data", "fail", level=evidence_level + 1)],
    )
    contract = dimension(
        "contract_fit",
        contract_level,
        score / 2,
        [
            rule("reserves", "fail", level=contract_level + 1),
            rule("track_record", "unknown", level=contract_level + 1, missing=["contracts"]),
            rule("lots", "not_applicable", level=4),
        ],
    )
    return card(name, score, [contract, evidence])


class Page(HTMLParser):
    """The ids, tags with their attributes, and text of an HTML page."""

    def __init__(self, text: str):
        super().__init__()
        self.ids: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if "id" in attributes:
            self.ids.append(attributes["id"])

    def handle_data(self, data):
        self.text.append(data)


def section(html: str, section_id: str) -> str:
    """The HTML of one section."""
    match = re.search(rf'<section id="{section_id}".*?</section>', html, re.S)
    assert match, f"no section {section_id}"
    return match.group()


def table_rows(html: str) -> list[list[list[str]]]:
    """The words of each cell of each body row of the first table."""
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    return [
        [unescape(re.sub(r"<[^>]+>", " ", cell)).split() for cell in CELL.findall(row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


# Unit tests -----------------------------------------------------------------------------------


def test_scorecard_has_every_section_once():
    page = Page(scorecard_html(simple_card("Walk and Talk", 40.0)))
    assert set(page.ids) >= SCORECARD_SECTIONS
    assert len(page.ids) == len(set(page.ids)), "ids must be unique"


def test_portfolio_has_every_section_and_errors_only_when_there_are_some():
    cards = [simple_card("A", 40.0), simple_card("B", 20.0)]
    without = Page(portfolio_html(cards)).ids
    with_errors = Page(portfolio_html(cards, errors=[("bad.yaml", "line 3: unknown key")])).ids
    assert set(without) >= PORTFOLIO_SECTIONS
    assert "errors" not in without
    assert "errors" in with_errors
    assert len(with_errors) == len(set(with_errors))


def test_hostile_names_and_findings_are_escaped():
    hostile_rule = rule("x", "fail", title=HOSTILE, finding=HOSTILE, advice=HOSTILE)
    dims = [dimension("evidence", 0, 10.0, [hostile_rule])]
    hostile = card(HOSTILE, 10.0, dims)
    for html in (scorecard_html(hostile), portfolio_html([hostile], title=HOSTILE)):
        tags = {tag for tag, _ in Page(html).tags}
        assert "script" not in tags
        assert "img" not in tags
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
        assert "<title>&lt;script&gt;" in html


def test_only_web_addresses_become_links():
    refs = [
        "Nesta (2012) https://www.nesta.org.uk/report/standards-of-evidence/.",
        "javascript:alert(1)",
        'https://example.org/"><script>alert(1)</script>',
    ]
    dims = [dimension("evidence", 0, 0.0, [rule("x", "fail", references=refs)])]
    html = scorecard_html(card("Refs", 0.0, dims))
    hrefs = [a["href"] for tag, a in Page(html).tags if tag == "a" and "href" in a]
    external = [h for h in hrefs if not h.startswith("#")]
    assert external == [
        "https://www.nesta.org.uk/report/standards-of-evidence/",
        "https://example.org/",
    ]
    assert "javascript:alert(1)" in html and 'href="javascript' not in html


@pytest.fixture(scope="module")
def hostile_reports(tmp_path_factory) -> dict[str, str]:
    """A scorecard and a portfolio written by the real CLI from a profile and a ruleset whose every
    text is HOSTILE_EVERYWHERE."""
    folder = tmp_path_factory.mktemp("hostile")
    rules = hostile_ruleset(folder, HOSTILE_EVERYWHERE)
    for name in ("a", "b"):
        write(folder / "round" / f"{name}.yaml", f"name: {json.dumps(HOSTILE_EVERYWHERE)}\n")
    options = ["--rules", rules, "--ruleset", "hostile"]
    scorecard, portfolio = folder / "scorecard.html", folder / "portfolio.html"
    one = folder / "round" / "a.yaml"
    ran = [
        run_scaleready("assess", one, "--format", "html", "--output", scorecard, *options),
        run_scaleready("batch", folder / "round", "--report", portfolio, *options),
    ]
    assert [r.returncode for r in ran] == [0, 0], [r.stderr for r in ran]
    return {p.stem: p.read_text(encoding="utf-8") for p in (scorecard, portfolio)}


@pytest.mark.parametrize("kind", ["scorecard", "portfolio"])
def test_hostile_texts_from_the_cli_are_text_in_every_context(hostile_reports, kind):
    html = hostile_reports[kind]
    page = Page(html)
    assert "script" not in {tag for tag, _ in page.tags}
    handlers = [(tag, name) for tag, attrs in page.tags for name in attrs if name.startswith("on")]
    assert handlers == [], "no event handler attribute"
    hrefs = [attrs["href"] for tag, attrs in page.tags if "href" in attrs]
    external = {href for href in hrefs if not href.startswith("#")}
    assert external <= {"https://example.org/a", "http://example.org/b"}
    assert not CONTROL_OR_BIDI.findall(html)
    shown = HOSTILE_EVERYWHERE.replace("\x1b]8;;http://evil.example\x07", "").replace("\u202e", "")
    assert shown in "".join(page.text), "the text is shown as it is"


def test_reports_need_no_network():
    cards = [simple_card("A", 40.0), simple_card("B", 20.0)]
    for html in (scorecard_html(cards[0]), portfolio_html(cards)):
        page = Page(html)
        assert not [t for t, a in page.tags if "src" in a], "nothing is loaded from elsewhere"
        assert not [t for t, a in page.tags if "href" in a and t != "a"], "only links have href"
        assert {t for t, _ in page.tags}.isdisjoint({"link", "script", "img", "iframe", "object"})
        style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
        assert "url(" not in style and "@import" not in style


def test_same_scorecards_give_the_same_bytes():
    first = [simple_card("A", 40.0), simple_card("B", 20.0)]
    again = [Scorecard.model_validate(c.model_dump(mode="json")) for c in first]
    assert scorecard_html(first[0]).encode() == scorecard_html(again[0]).encode()
    assert portfolio_html(first, errors=[("x", "y")]) == portfolio_html(again, errors=[("x", "y")])


def provisional_card(name: str, score: float, level: int, potential: int) -> Scorecard:
    """One dimension at ``level``, which missing data alone could lift to ``potential``."""
    rules = [rule("base", "pass", level=level)] if level else []
    rules += [
        rule(f"gap{lv}", "unknown", level=lv, missing=["x"])
        for lv in range(level + 1, potential + 1)
    ]
    rules += [rule("wall", "fail", level=potential + 1)] if potential < 5 else []
    dims = [dimension("evidence", level, score, rules, potential, min(score + 30, 100))]
    return card(name, score, dims)


def test_portfolio_ranks_by_level_reached_then_level_possible_then_score():
    cards = [
        provisional_card("High score, level 1", 90.0, level=1, potential=1),
        provisional_card("Level 2", 20.0, level=2, potential=2),
        provisional_card("Level 1, 3 possible", 30.0, level=1, potential=3),
        provisional_card("Level 1, 2 possible", 80.0, level=1, potential=2),
    ]
    rows = table_rows(section(portfolio_html(cards), "ranking"))
    assert [" ".join(row[1]).split(" profiles/")[0] for row in rows] == [
        "Level 2",
        "Level 1, 3 possible",
        "Level 1, 2 possible",
        "High score, level 1",
    ]
    assert [row[2] for row in rows] == [
        ["2"],
        ["1", "3", "possible"],
        ["1", "2", "possible"],
        ["1"],
    ]


def test_portfolio_ranks_by_score_then_name_and_ties_share_a_rank():
    cards = [
        simple_card(n, s) for n, s in [("Beta", 50), ("Delta", 10), ("Alpha", 50), ("Gamma", 70)]
    ]
    rows = table_rows(section(portfolio_html(cards), "ranking"))
    assert [(row[0][0], row[1][0]) for row in rows] == [
        ("1", "Gamma"),
        ("2", "Alpha"),
        ("2", "Beta"),
        ("4", "Delta"),
    ]
    assert portfolio_html(cards) == portfolio_html(list(reversed(cards)))


def test_portfolio_counts_levels_and_bottlenecks():
    cards = [
        simple_card("A", 60.0, evidence_level=2, contract_level=1),  # held back by contract fit
        simple_card("B", 30.0, evidence_level=0, contract_level=0),  # a tie: both dimensions
        simple_card("C", 20.0, evidence_level=1, contract_level=0),  # contract fit
    ]
    html = portfolio_html(cards)
    overall = table_rows(section(html, "levels"))[0]
    assert overall == [["Overall,", "reached"], ["2"], ["1"], ["0"], ["0"], ["0"], ["0"]]
    bottlenecks = table_rows(section(html, "bottlenecks"))
    # contract fit's next level is blocked by a fail as well as missing data: never data only
    assert bottlenecks == [
        [["Contract", "fit"], ["3"], ["100%"], ["0"]],
        [["Evidence"], ["1"], ["33%"], ["0"]],
    ]


def test_portfolio_counts_unmet_rules_only_where_they_block_the_next_level():
    html = portfolio_html([simple_card("A", 40.0), simple_card("B", 20.0)])
    rows = table_rows(section(html, "unmet-rules"))
    # both cards are at level 0: they fail reserves and lack the data for track_record (level 1),
    # and fail outcome_data too, but that is a level-2 rule: it does not block their next level
    assert [row[0][-1] for row in rows] == [
        "contract_fit.reserves",
        "contract_fit.track_record",
    ]
    assert rows[1][3:] == [["0"], ["2"], ["0"], ["2", "(100%)"]]


def test_a_rule_that_blocks_only_some_profiles_next_level_is_counted_only_for_those():
    def contract_fit(reserves: str) -> Dimension:
        rules = [rule("reserves", reserves, level=1), rule("top", "fail", level=3)]
        return dimension("contract_fit", 2 if reserves == "pass" else 0, 50.0, rules)

    evidence = dimension("evidence", 1, 50.0, [rule("outcome_data", "fail", level=2)])
    cards = [
        card("A", 30.0, [contract_fit("fail"), evidence]),  # level 0: reserves blocks level 1
        card("B", 60.0, [contract_fit("pass"), evidence]),  # level 1: outcome_data blocks 2
    ]
    rows = table_rows(section(portfolio_html(cards), "unmet-rules"))
    counts = {row[0][-1]: row[-1] for row in rows}
    assert counts == {  # top (level 3) is beyond both next levels: it is not counted
        "contract_fit.reserves": ["1", "(50%)"],
        "evidence.outcome_data": ["1", "(50%)"],
    }


def test_a_level_only_possible_is_never_shown_in_the_place_of_the_level_reached():
    html = scorecard_html(provisional_card("Rising", 30.0, level=1, potential=3))
    tiles = re.findall(r'<span class="label">(.*?)</span><span class="value">(.*?)</span>', html)
    assert tiles[:2] == [
        ("Readiness level reached", "1 of 5"),
        ("Possible with the missing data", "3 of 5"),
    ]
    rows = table_rows(section(html, "dimensions"))
    assert rows[0][1:4] == [["1", "of", "5"], ["3", "of", "5"], ["30.0–60.0"]]
    assert "Only missing data holds it at level 1" in section(html, "bottleneck")
    steady = scorecard_html(provisional_card("Steady", 30.0, level=1, potential=1))
    assert table_rows(section(steady, "dimensions"))[0][2] == ["–"]


def test_data_gaps_say_what_each_field_holds_and_what_it_could_unlock_nearest_first():
    rules = [
        rule("far", "unknown", level=3, missing=["far_field"]),
        rule("near", "unknown", level=2, missing=["near_field"]),
        rule("blocked", "fail", level=4),
        rule("beyond", "unknown", level=5, missing=["beyond_field"]),
    ]
    gaps = [
        DataGap(field="far_field", meaning="What far holds.", unlocks=3, rules=["far"]),
        DataGap(field="beyond_field", meaning=None, unlocks=None, rules=["beyond"]),
        DataGap(field="near_field", meaning="What near holds.", unlocks=2, rules=["near"]),
    ]
    dim = dimension("evidence", 1, 20.0, rules, 3, 60.0).model_copy(update={"data_gaps": gaps})
    rows = table_rows(section(scorecard_html(card("Gaps", 20.0, [dim])), "data-gaps"))
    assert [row[0][0] for row in rows] == ["near_field", "far_field", "beyond_field"]
    assert rows[0][0][1:] == ["What", "near", "holds."]
    assert " ".join(rows[0][1]) == "Could unlock Evidence level 2"
    assert " ".join(rows[2][1]).startswith("Lifts no level of Evidence yet")


def test_portfolio_opens_with_contents_linking_every_section():
    cards = [simple_card("A", 40.0), simple_card("B", 20.0)]
    html = portfolio_html(cards, errors=[("bad.yaml", "line 3: unknown key")])
    page = Page(html)
    first = [i for i in page.ids if not i.endswith("-h")][:2]
    assert first == ["contents", "summary"], "contents, then the overview, come first"
    contents = re.search(r'<nav id="contents".*?</nav>', html, re.S).group()
    linked = re.findall(r'href="#([^"]+)"', contents)
    sections = re.findall(r'<section id="([^"]+)"', html)
    assert linked == sections, "every section, in page order"
    assert sections.index("bottlenecks") < sections.index("ranking")
    assert sections.index("unmet-rules") < sections.index("ranking")


def many_cards(count: int) -> list[Scorecard]:
    """``count`` cards at every level, some of which missing data could lift."""
    return [
        provisional_card(f"Innovation {n:04d}", float(n % 97), level=n % 4, potential=n % 4 + n % 2)
        for n in range(count)
    ]


def test_a_long_ranking_comes_in_folded_pages_with_every_profile_once():
    cards = many_cards(250)
    ranking = section(portfolio_html(cards), "ranking")
    pages = re.findall(r"<details id=\"(ranking-\d+)\" class=\"page\"( open)?>", ranking)
    assert pages == [("ranking-1", " open"), ("ranking-2", ""), ("ranking-3", "")]
    assert set(re.findall(r'href="#(ranking-\d+)"', ranking)) == {p for p, _ in pages}
    names = re.findall(r"<strong>(Innovation \d+)</strong>", ranking)
    assert sorted(names) == sorted(c.profile.name for c in cards)
    ranks = [int(row[0][0]) for page in ranking.split("<details")[1:] for row in table_rows(page)]
    assert ranks == sorted(ranks) and len(ranks) == 250


def test_a_short_ranking_is_one_open_table():
    ranking = section(portfolio_html(many_cards(12)), "ranking")
    assert "<details" not in ranking and len(table_rows(ranking)) == 12


def test_portfolio_says_when_only_missing_data_holds_a_profile_back():
    cards = [
        provisional_card("Could rise", 30.0, level=1, potential=3),
        provisional_card("Cannot rise", 30.0, level=1, potential=1),
    ]
    html = portfolio_html(cards)
    rows = {row[1][0] + " " + row[1][1]: row for row in table_rows(section(html, "ranking"))}
    assert "missing" in rows["Could rise"][4] and "missing" not in rows["Cannot rise"][4]
    assert table_rows(section(html, "bottlenecks")) == [[["Evidence"], ["2"], ["100%"], ["1"]]]


def test_portfolio_names_the_profiles_that_could_not_be_assessed():
    html = portfolio_html([], title="Round 1", errors=[("bad <1>.yaml", "line 3: unknown key")])
    assert table_rows(section(html, "errors")) == [
        [["bad", "<1>.yaml"], ["line", "3:", "unknown", "key"]]
    ]
    assert "0 profiles assessed, 1 could not be assessed" in html


def test_outcomes_read_without_colour():
    html = scorecard_html(simple_card("A", 40.0))
    text = "".join(Page(html).text)
    for words in ("✓ Pass", "✗ Fail", "? Data missing", "Bottleneck"):
        assert words in text


def test_a_funder_policy_verdict_is_shown_with_its_reasons():
    gate = Gate(policy="Round 3", policy_sha256="ef" * 32, passed=False, reasons=["Level below 2"])
    gated = simple_card("A", 40.0).model_copy(update={"gate": gate})
    assert "Funder policy <strong>Round 3</strong>: not met" in scorecard_html(gated)
    assert "Level below 2" in scorecard_html(gated)
    assert "Funder policy" in section(portfolio_html([gated]), "ranking")


def test_every_example_profile_renders(real_cards):
    for html in [scorecard_html(c) for c in real_cards] + [portfolio_html(real_cards)]:
        ids = Page(html).ids
        assert "<svg" in html and html.endswith("</html>\n")
        assert len(ids) == len(set(ids)), "ids must be unique"


# A real browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_cards(registry) -> list[Scorecard]:
    """The bundled example profiles, assessed by the pure-Python backend (enough to render)."""
    engine = Engine(list(registry.rulesets.values()), registry.derived_facts, backend="python")
    return [engine.assess(load_profile(path)) for path in EXAMPLES]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium with a throwaway profile, logging the page's console to stderr."""
    return subprocess.run(
        [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def console_messages(stderr: str) -> list[str]:
    """Lines where the page wrote to its console: a report has no script, so none are expected."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.mark.slow
@needs_chromium
def test_the_console_check_catches_a_script_error(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><title>t</title><script>missing();</script>", encoding="utf-8")
    result = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert any("Uncaught ReferenceError" in line for line in console_messages(result.stderr))


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("kind", ["scorecard", "portfolio"])
def test_hostile_texts_run_nothing_in_a_real_browser(hostile_reports, kind, tmp_path):
    report = tmp_path / f"{kind}.html"
    report.write_text(hostile_reports[kind], encoding="utf-8")
    dom = chromium(tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr
    assert console_messages(dom.stderr) == [], "no script ran"
    body = [attrs for tag, attrs in Page(dom.stdout).tags if tag == "body"]
    assert body == [{}], "no handler or script marked the page"
    links = {a["href"] for tag, a in Page(dom.stdout).tags if tag == "a"}
    assert {href for href in links if not href.startswith("#")} <= {
        "https://example.org/a",
        "http://example.org/b",
    }


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("kind", ["scorecard", "portfolio"])
def test_reports_render_in_a_real_browser(kind, real_cards, tmp_path):
    if kind == "scorecard":
        html, sections = scorecard_html(real_cards[0]), SCORECARD_SECTIONS
    else:
        errors = [("broken.yaml", "line 2: unknown key 'nmae'")]
        html, sections = portfolio_html(real_cards, errors=errors), PORTFOLIO_SECTIONS | {"errors"}
    report = tmp_path / f"{kind}.html"
    report.write_text(html, encoding="utf-8")

    dom = chromium(tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr
    assert console_messages(dom.stderr) == []
    assert sections <= set(Page(dom.stdout).ids)

    png = tmp_path / f"{kind}.png"
    shot = chromium(tmp_path, f"--screenshot={png}", "--window-size=1200,1600", report.as_uri())
    assert shot.returncode == 0, shot.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000, "a blank page compresses to a few kilobytes"


# Measured in the browser: a script added to a copy of the page (reports have none) writes the
# page's size and every table wider than the content box into the DOM Chromium dumps.
MEASURE = """<script>
addEventListener("load", () => {
  const main = document.querySelector("main"), style = getComputedStyle(main);
  const right = main.getBoundingClientRect().right - parseFloat(style.paddingRight);
  const wide = [...document.querySelectorAll("table")]
    .filter(t => t.getBoundingClientRect().right > right + 1 || t.scrollWidth > t.clientWidth + 1)
    .map(t => (t.closest("section") || {}).id);
  const d = document.documentElement;
  document.body.dataset.measured = JSON.stringify(
    {height: d.scrollHeight, width: d.scrollWidth, viewport: innerWidth, wide});
});
</script>"""


def measured(tmp_path: Path, html: str, width: int) -> dict:
    """The page's height and width as Chromium lays it out ``width`` pixels wide, and the
    sections of tables that run past the content's edge."""
    page = tmp_path / f"measured-{width}.html"
    page.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = chromium(tmp_path, f"--window-size={width},1200", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr
    found = re.search(r'data-measured="([^"]*)"', dom.stdout)
    assert found, "the measuring script ran"
    return json.loads(unescape(found.group(1)))


def long_named_cards(count: int) -> list[Scorecard]:
    """Cards of four dimensions with long titles and names, under a funder policy: the widest
    ranking a round makes."""
    gate = Gate(policy="Scale-up fund", policy_sha256="ef" * 32, passed=False, reasons=["x"])
    titles = ["Fit with public contracts", "Evidence of impact", "Partnership and demand"]
    cards = []
    for n in range(count):
        dims = [
            dimension(
                f"dim_{i}", n % 3, 40.0, [rule("r", "unknown", level=n % 3 + 1)], 3, 90.0
            ).model_copy(update={"title": title})
            for i, title in enumerate([*titles, "Replicability"])
        ]
        name = f"The Community Wellbeing Partnership for Northern Towns, programme {n}"
        cards.append(card(name, 40.0, dims, gate=gate))
    return cards


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize("width", [800, 1200])
def test_the_portfolio_stays_within_the_page_width(tmp_path, width):
    size = measured(tmp_path, portfolio_html(long_named_cards(150)), width)
    assert size["wide"] == [], "no table runs past the edge of the content"
    assert size["width"] <= size["viewport"], "the page never scrolls sideways"


@pytest.mark.slow
@needs_chromium
def test_a_large_rounds_portfolio_grows_by_a_line_per_page_of_the_ranking(tmp_path):
    small = measured(tmp_path, portfolio_html(long_named_cards(100)), 1200)["height"]
    large = measured(tmp_path, portfolio_html(long_named_cards(2000)), 1200)["height"]
    assert large - small < 19 * 60, "19 more folded pages: a line each, not their rows"
    assert large < 20_000


def printed_pages(tmp_path: Path, html: str, name: str) -> int:
    """How many A4 pages Chromium prints the page on."""
    page, pdf = tmp_path / f"{name}.html", tmp_path / f"{name}.pdf"
    page.write_text(html, encoding="utf-8")
    printed = chromium(tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri())
    assert printed.returncode == 0, printed.stderr
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes()))


@pytest.mark.slow
@needs_chromium
def test_a_printed_portfolio_holds_every_page_of_the_ranking_folded_or_not(tmp_path):
    one_page = printed_pages(tmp_path, portfolio_html(long_named_cards(100)), "one")
    three_pages = printed_pages(tmp_path, portfolio_html(long_named_cards(300)), "three")
    assert three_pages - one_page >= 200 // 40, "200 more rows, at most 40 to an A4 page"


def test_the_stylesheet_is_package_data_inlined_in_every_page():
    css = resources.files("scaleready.report").joinpath("report.css").read_text(encoding="utf-8")
    assert css.startswith(":root{") and "@media print" in css
    for page in (scorecard_html(simple_card("A", 50.0)), portfolio_html([simple_card("A", 50.0)])):
        assert f"<style>\n{css}</style>" in page


def test_data_gaps_name_the_list_items_that_lack_the_field_their_names_escaped(engine):
    profile = load_profile(REPO / "tests/profiles/attrition-missing-in-two-of-three.yaml")
    html = section(scorecard_html(engine.assess(profile)), "data-gaps")
    said = (
        'Missing in 2 of 3 items: evidence.evaluations[0] ("Jones 2019 <Leeds & Bradford>"), '
        '[2] ("Okafor 2023, a trial in Glasgow")'
    )
    assert f'<span class="sub">{escape(said)}</span>' in html
    assert "<Leeds" not in html, "a name is text, never markup"
    fields = (["model.", "unit_cost"], ["replication.", "replications"])  # code wraps at dots
    outside = [row for row in table_rows(html) if row[0][:2] in fields]
    assert outside and not any("Missing" in row[0] for row in outside)
