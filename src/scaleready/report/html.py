"""Self-contained HTML reports: one innovation's scorecard, or a portfolio for a grant round.

Standard library only. Every value that comes from a profile or a ruleset is escaped (and loses
its control and bidi formatting characters), and only http and https addresses become links. The
CSS and the SVG charts are inline and there is no script, so a report opens offline, prints
cleanly on A4 (see the print stylesheet) and reads in black and white: every outcome carries a
word, not only a colour. The same scorecards always give the same bytes.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from html import escape

from scaleready.assessment.scorecard import Dimension, NextStep, RuleResult, Scorecard
from scaleready.assessment.scoring import MAX_LEVEL
from scaleready.report.safe_text import plain_text

__all__ = ["portfolio_html", "scorecard_html"]

UNMET = ("fail", "unknown", "error")
TOP_UNMET_RULES = 15
OUTCOMES = {
    "pass": ("✓", "Pass"),
    "fail": ("✗", "Fail"),
    "unknown": ("?", "Data missing"),
    "not_applicable": ("–", "Not applicable"),
    "error": ("!", "Error"),
}
LEGEND = "✓ pass · ✗ fail · ? data missing (never counted as a pass) · – not applicable · ! error"
_URL = re.compile(r"https?://[^\s<>\"']+")
_NOT_ID = re.compile(r"[^A-Za-z0-9_-]+")

# Chart geometry, in SVG user units (the SVG scales to the page width).
# The width matches the page's content width, so chart text is the size of body text on screen.
CHART_WIDTH = 960
ROW, COUNT_ROW = 46, 34
LABEL_CHARS = 36
PIP_X, PIP_W, PIP_H, PIP_GAP = 310, 24, 16, 4
SCORE_X, SCORE_W = 520, 380
BAR_X, BAR_W = 310, 520

CSS = """
:root{--ink:#1b2433;--muted:#566173;--line:#d6dbe2;--soft:#f4f6f9;--accent:#1f4e79;
--pass:#1d6b3a;--fail:#a12a2a;--unknown:#8a5300;--na:#566173;--error:#6b2aa1}
*{box-sizing:border-box}
html{font:15px/1.5 "Segoe UI","Helvetica Neue",Arial,"Liberation Sans","DejaVu Sans",sans-serif;
color:var(--ink);background:#fff}
body{margin:0}
main{max-width:1040px;margin:0 auto;padding:32px 40px 48px}
header.report{border-bottom:3px solid var(--accent);padding-bottom:14px;margin-bottom:8px}
.eyebrow{margin:0;font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:var(--muted)}
h1{margin:4px 0 2px;font-size:30px;line-height:1.2}
h2{margin:36px 0 12px;padding-bottom:4px;font-size:20px;border-bottom:1px solid var(--line)}
h3{margin:24px 0 6px;font-size:17px}
p{margin:6px 0}
.meta{margin:0;color:var(--muted);font-size:14px}
.lead{color:var(--muted);font-size:14px;margin-top:-4px}
.verdict{margin:16px 0;padding:10px 16px;font-size:18px;border-left:4px solid var(--accent);
background:var(--soft)}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px;margin:0;
padding:0;list-style:none}
.tile{border:1px solid var(--line);border-radius:6px;padding:10px 16px;background:var(--soft)}
.tile .label{display:block;font-size:12px;letter-spacing:.05em;text-transform:uppercase;
color:var(--muted)}
.tile .value{display:block;font-size:24px;font-weight:600;line-height:1.3}
.tile .note{display:block;font-size:13px;color:var(--muted)}
table{width:100%;border-collapse:collapse;font-size:14px;margin:8px 0}
caption{caption-side:top;text-align:left;color:var(--muted);font-size:13px;padding-bottom:4px}
th,td{padding:6px 8px;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}
thead th{font-size:12px;letter-spacing:.04em;text-transform:uppercase;color:var(--muted);
border-bottom:2px solid var(--ink)}
tbody th{font-weight:600}
table.rules tbody th{font-weight:400}
.num{text-align:right;font-variant-numeric:tabular-nums}
td.num{white-space:nowrap}
.sub{display:block;font-size:12px;font-weight:400;color:var(--muted)}
.mark{display:inline-block;white-space:nowrap;font-size:13px;font-weight:600;padding:0 8px;
border:1px solid currentColor;border-radius:10px}
.mark-pass{color:var(--pass)}.mark-fail{color:var(--fail)}.mark-unknown{color:var(--unknown)}
.mark-not_applicable{color:var(--na)}.mark-error{color:var(--error)}
.flag{display:inline-block;font-size:11px;font-weight:700;letter-spacing:.06em;
text-transform:uppercase;color:var(--fail);border:1px solid currentColor;border-radius:3px;
padding:0 5px;margin-left:6px;vertical-align:1px}
.gate{margin:10px 0}.gate-reasons{margin:4px 0 12px;font-size:14px}
.steps{padding-left:24px}.steps li{margin:10px 0;break-inside:avoid}
.steps .what{display:block;font-size:13px;color:var(--muted)}
.cites{display:block;margin-top:2px;font-size:12px;color:var(--muted)}
.cites a{color:var(--muted)}
.sources-h{margin:10px 0 0;font-size:12px;font-weight:600;letter-spacing:.05em;
text-transform:uppercase;color:var(--muted)}
.sources{margin:2px 0 0;padding-left:28px;font-size:12px;color:var(--muted)}
.sources a{color:var(--muted)}
table.rules{table-layout:fixed}
#ranking tbody th{min-width:11em}
table.rules th:nth-child(1){width:9.5em}table.rules th:nth-child(2){width:4.5em}
table.rules th:nth-child(3){width:52%}
a{color:var(--accent);overflow-wrap:anywhere}
code,.hash{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px;
overflow-wrap:anywhere}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:8px 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
svg.chart{display:block;width:100%;height:auto;margin:8px 0}
svg text{font-size:13px;fill:var(--ink)}
svg .axis{font-size:11px;fill:var(--muted)}
svg .track{fill:#eef1f5;stroke:#9aa4b2;stroke-width:.6}
svg .bar{fill:var(--accent)}
svg .pip{fill:#fff;stroke:#7d8898;stroke-width:1}
svg .pip.on{fill:var(--accent);stroke:var(--accent)}
svg .grid{stroke:#9aa4b2;stroke-width:.6;stroke-dasharray:2 3}
svg .flagtext{font-size:11px;font-weight:700;letter-spacing:.06em;fill:var(--fail)}
svg .strong{font-weight:700}
.na{font-size:13px;color:var(--muted)}
footer{margin-top:40px;padding-top:8px;border-top:1px solid var(--line);font-size:12px;
color:var(--muted)}
@media print{
@page{size:A4;margin:14mm 13mm 16mm}
html{font-size:10pt;background:none}
main{max-width:none;padding:0}
.verdict,.tile{background:none}
.verdict{border-left-width:3pt}
h1{font-size:20pt}h2{font-size:14pt;margin-top:18pt}h3{font-size:12pt}
h2,h3,.lead,.sources-h,caption{break-after:avoid;page-break-after:avoid}
.tiles{grid-template-columns:repeat(4,1fr);gap:6pt}
.tile{padding:4pt 8pt}.tile .value{font-size:14pt}
.verdict{margin:8pt 0;font-size:12pt}
#dimensions table,#levels table,#bottlenecks table,#bottleneck li,.sources li{break-inside:avoid;
page-break-inside:avoid}
table{font-size:9pt}
thead{display:table-header-group}
tr,.tiles,svg.chart,.verdict,dl.facts{break-inside:avoid;page-break-inside:avoid}
#findings,#ranking{break-before:page;page-break-before:always}
#provenance,#errors{break-inside:avoid;page-break-inside:avoid}
svg text{font-size:15px}
a{color:inherit;text-decoration:none}
.mark,.flag{color:#000;border-color:#000}
svg .track{fill:#fff;stroke:#555}
svg .bar,svg .pip.on{fill:#333;stroke:#333}
svg .flagtext{fill:#000}
}
"""


def scorecard_html(card: Scorecard) -> str:
    """One innovation's scorecard as a self-contained HTML page."""
    sections = [
        _summary(card),
        _chart_section(card),
        _dimensions(card),
        _bottleneck(card),
        _next_steps(card),
        _findings(card),
        _data_gaps(card),
        _provenance(card),
    ]
    name = card.profile.name
    header = _header("Scale-readiness scorecard", name, _profile_meta(card))
    footer = f"Generated by scaleready {card.provenance.scaleready_version}. {LEGEND}."
    return _page(f"{name}: scale-readiness scorecard", header, sections, footer)


def portfolio_html(
    cards: Sequence[Scorecard],
    *,
    title: str = "Grant round",
    errors: Sequence[tuple[str, str]] = (),
) -> str:
    """A batch of scorecards as one self-contained HTML page; errors are (item, reason) pairs."""
    ranked = _ranked(cards)
    dims = _dimension_titles(ranked)
    sections = [
        _portfolio_summary(ranked, dims, errors),
        _levels(ranked, dims),
        _ranking(ranked, dims),
        _bottlenecks(ranked, dims),
        _unmet_rules(ranked, dims),
    ]
    if errors:
        sections.append(_errors(errors))
    sections.append(_portfolio_provenance(ranked))
    meta = f"{_count(len(cards), 'profile')} assessed"
    if errors:
        meta += f", {len(errors)} could not be assessed"
    header = _header("Scale-readiness portfolio", title, _e(meta))
    return _page(f"{title}: scale-readiness portfolio", header, sections, f"{LEGEND}.")


# Page scaffolding ---------------------------------------------------------------------------


def _page(title: str, header: str, sections: Sequence[str], footer: str) -> str:
    """The HTML document around the sections."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="scaleready">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        + header
        + "\n".join(sections)
        + f"\n<footer>{_e(footer)}</footer>\n</main>\n</body>\n</html>\n"
    )


def _header(eyebrow: str, heading: str, meta_html: str) -> str:
    """The report's title block."""
    return (
        f'<header class="report"><p class="eyebrow">{_e(eyebrow)}</p>'
        f'<h1>{_e(heading)}</h1><p class="meta">{meta_html}</p></header>\n'
    )


def _section(section_id: str, heading: str, body: str, lead: str = "") -> str:
    """A titled section with a stable id that tests and links can rely on."""
    lead_html = f'<p class="lead">{_e(lead)}</p>' if lead else ""
    return (
        f'<section id="{section_id}" aria-labelledby="{section_id}-h">'
        f'<h2 id="{section_id}-h">{_e(heading)}</h2>{lead_html}\n{body}</section>\n'
    )


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    caption: str = "",
    numeric: Iterable[int] = (),
    css_class: str = "",
    row_header: int = 0,
) -> str:
    """A table of HTML cells; the cell at ``row_header`` names its row for screen readers."""
    numeric = set(numeric)
    attrs = [' class="num"' if i in numeric else "" for i in range(len(headers))]
    head = "".join(f'<th scope="col"{a}>{_e(h)}</th>' for h, a in zip(headers, attrs, strict=True))
    body = [_row(row, attrs, row_header) for row in rows]
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    empty = f'<tr><td colspan="{len(headers)}">None.</td></tr>' if not body else ""
    table_class = f' class="{css_class}"' if css_class else ""
    return (
        f"<table{table_class}>{cap}<thead><tr>{head}</tr></thead><tbody>"
        + "\n".join(body)
        + f"{empty}</tbody></table>\n"
    )


def _row(cells: Sequence[str], attrs: Sequence[str], row_header: int) -> str:
    """One table row."""
    return (
        "<tr>"
        + "".join(
            f'<th scope="row"{a}>{cell}</th>' if i == row_header else f"<td{a}>{cell}</td>"
            for i, (cell, a) in enumerate(zip(cells, attrs, strict=True))
        )
        + "</tr>"
    )


def _tiles(items: Sequence[tuple[str, str, str]]) -> str:
    """Key figures as (label, value, note) tiles."""
    tiles = "".join(
        f'<li class="tile"><span class="label">{_e(label)}</span>'
        f'<span class="value">{_e(value)}</span>'
        + (f'<span class="note">{_e(note)}</span>' if note else "")
        + "</li>"
        for label, value, note in items
    )
    return f'<ul class="tiles">{tiles}</ul>\n'


# Small formatting helpers ---------------------------------------------------------------------


def _e(value: object) -> str:
    """Escape text for HTML content and attribute values, without control or bidi characters."""
    return escape(plain_text(str(value), keep_line_breaks=True), quote=True)


def _score(value: float) -> str:
    """A score with one decimal."""
    return f"{value:.1f}"


def _count(n: int, noun: str) -> str:
    """A count with its noun, plural unless one."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _share(n: int, total: int) -> str:
    """A share of the total as a whole percentage."""
    return f"{round(100 * n / total)}%" if total else "0%"


def _slug(text: str) -> str:
    """A safe fragment of an element id."""
    return _NOT_ID.sub("-", text).strip("-") or "x"


def _clip(text: str, width: int) -> str:
    """Shorten a chart label to fit its column; the full text stays in the chart's title."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _mark(outcome: str, word: str = "") -> str:
    """An outcome as symbol and word, so it reads without colour."""
    symbol, default = OUTCOMES[outcome]
    return (
        f'<span class="mark mark-{outcome}"><span aria-hidden="true">{symbol}</span> '
        f"{_e(word or default)}</span>"
    )


def _field(path: str) -> str:
    """A profile field path as code that may wrap after each dot."""
    return "<code>" + ".<wbr>".join(_e(part) for part in path.split(".")) + "</code>"


def _flag(text: str = "Bottleneck") -> str:
    """A small boxed label, in words."""
    return f'<span class="flag">{_e(text)}</span>'


def _linkify(text: str) -> str:
    """Escape text and turn its web addresses into links (http and https only)."""
    text = plain_text(text)  # no control character inside an address
    parts, last = [], 0
    for match in _URL.finditer(text):
        url = match.group().rstrip(".,;:)]")
        parts += [_e(text[last : match.start()]), f'<a href="{_e(url)}">{_e(url)}</a>']
        last = match.start() + len(url)
    return "".join(parts) + _e(text[last:])


def _svg(chart_id: str, title: str, desc: str, height: int, body: str) -> str:
    """An accessible inline SVG chart with a title and a text description."""
    return (
        f'<svg class="chart" viewBox="0 0 {CHART_WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{_e(title)}</title>'
        f'<desc id="{chart_id}-desc">{_e(desc)}</desc>{body}</svg>\n'
    )


# One scorecard ---------------------------------------------------------------------------------


def _profile_meta(card: Scorecard) -> str:
    """Figures year, source file and time of assessment, as a line under the title."""
    parts = []
    if card.profile.figures_year:
        parts.append(f"Figures for {card.profile.figures_year}")
    if card.profile.source:
        parts.append(f"profile {card.profile.source}")
    parts.append(f"assessed {card.provenance.assessed_at}")
    return _e(" · ".join(parts))


def _held_back(card: Scorecard) -> list[str]:
    """The bottleneck dimensions; none once every dimension is at the top level."""
    return card.overall.bottleneck if card.overall.level < MAX_LEVEL else []


def _titles(card: Scorecard) -> dict[str, str]:
    """Dimension titles by id."""
    return {d.id: d.title for d in card.dimensions}


def _summary(card: Scorecard) -> str:
    """The verdict in one sentence and the key figures."""
    overall = card.overall
    tiles = [
        ("Readiness level", f"{overall.level} of {MAX_LEVEL}", "the lowest dimension level"),
        ("Overall score", f"{_score(overall.score)} / 100", "weighted mean of the dimensions"),
        _bottleneck_tile(card),
        ("Rules judged", str(sum(len(d.rules) for d in card.dimensions)), _outcome_note(card)),
    ]
    body = f'<p class="verdict">{_e(overall.summary)}</p>\n' + _gate(card) + _tiles(tiles)
    return _section("summary", "Summary", body)


def _bottleneck_tile(card: Scorecard) -> tuple[str, str, str]:
    """The bottleneck by name; when dimensions tie, how many, with their names underneath."""
    held = [_titles(card).get(b, b) for b in _held_back(card)]
    if len(held) <= 1:
        return ("Bottleneck", held[0] if held else "None", "what holds it back")
    return ("Bottleneck", f"{len(held)} dimensions", "tied: " + ", ".join(held))


def _gate(card: Scorecard) -> str:
    """The funder policy's verdict, when a policy was applied."""
    if card.gate is None:
        return ""
    verdict = "met" if card.gate.passed else "not met"
    mark = _mark("pass" if card.gate.passed else "fail", verdict.capitalize())
    reasons = "".join(f"<li>{_e(reason)}</li>" for reason in card.gate.reasons)
    policy = f"<strong>{_e(card.gate.policy)}</strong>"
    head = f'<p class="gate">{mark} Funder policy {policy}: {verdict}.</p>'
    return head + (f'<ul class="gate-reasons">{reasons}</ul>' if reasons else "")


def _outcome_note(card: Scorecard) -> str:
    """How many rules came out each way, in words."""
    counts = Counter(r.outcome for d in card.dimensions for r in d.rules)
    return ", ".join(f"{counts[o]} {OUTCOMES[o][1].lower()}" for o in OUTCOMES if counts[o])


def _chart_section(card: Scorecard) -> str:
    """Every dimension's level and score as bars."""
    lead = "Filled boxes show the readiness level reached (0–5); the bar shows the score (0–100)."
    return _section("chart", "Dimensions at a glance", _dimension_chart(card), lead)


def _dimension_chart(card: Scorecard) -> str:
    """The SVG chart of levels and scores; the table below is its text equivalent."""
    held = _held_back(card)
    rows = "".join(_dimension_row(i, d, d.id in held) for i, d in enumerate(card.dimensions))
    height = 30 + ROW * len(card.dimensions) + 22
    desc = "; ".join(
        f"{d.title}: level {d.level} of {MAX_LEVEL}, score {_score(d.score)} of 100"
        for d in card.dimensions
    )
    body = _chart_axes(height) + rows
    return _svg("dimension-chart", "Readiness level and score by dimension", desc, height, body)


def _chart_axes(height: int) -> str:
    """Column headings, score gridlines and tick labels of the dimension chart."""
    parts = [
        f'<text class="axis" x="{PIP_X}" y="16">READINESS LEVEL</text>',
        f'<text class="axis" x="{SCORE_X}" y="16">SCORE</text>',
    ]
    for tick in (0, 25, 50, 75, 100):
        x = SCORE_X + SCORE_W * tick / 100
        parts.append(f'<line class="grid" x1="{x:g}" y1="26" x2="{x:g}" y2="{height - 18}"/>')
        parts.append(
            f'<text class="axis" x="{x:g}" y="{height - 4}" text-anchor="middle">{tick}</text>'
        )
    return "".join(parts)


def _dimension_row(index: int, d: Dimension, is_bottleneck: bool) -> str:
    """One dimension: its name, level boxes and score bar."""
    y = 30 + index * ROW
    mid = y + ROW / 2
    weight = ' class="strong"' if is_bottleneck else ""
    label_y = mid - 4 if is_bottleneck else mid + 5
    label = f'<text x="0" y="{label_y:g}"{weight}>{_e(_clip(d.title, LABEL_CHARS))}</text>'
    if is_bottleneck:
        label += f'<text class="flagtext" x="0" y="{mid + 13:g}">◀ BOTTLENECK</text>'
    title = f"<title>{_e(d.title)}: level {d.level} of {MAX_LEVEL}, score {_score(d.score)}</title>"
    return f"<g>{title}{label}{_pips(mid, d.level)}{_score_bar(mid, d.score)}</g>"


def _pips(mid: float, level: int) -> str:
    """One box per level, filled up to the level reached, and the level in figures."""
    boxes = "".join(
        f'<rect class="pip{" on" if n <= level else ""}" x="{PIP_X + (n - 1) * (PIP_W + PIP_GAP)}"'
        f' y="{mid - PIP_H / 2:g}" width="{PIP_W}" height="{PIP_H}" rx="2"/>'
        for n in range(1, MAX_LEVEL + 1)
    )
    x = PIP_X + MAX_LEVEL * (PIP_W + PIP_GAP) + 4
    return boxes + f'<text x="{x}" y="{mid + 5:g}">{level}/{MAX_LEVEL}</text>'


def _score_bar(mid: float, score: float) -> str:
    """A 0–100 track with the score filled and written at its end."""
    width = SCORE_W * score / 100
    return (
        f'<rect class="track" x="{SCORE_X}" y="{mid - 8:g}" width="{SCORE_W}" height="16"/>'
        f'<rect class="bar" x="{SCORE_X}" y="{mid - 8:g}" width="{width:.1f}" height="16"/>'
        f'<text x="{SCORE_X + SCORE_W + 8}" y="{mid + 5:g}">{_score(score)}</text>'
    )


def _dimensions(card: Scorecard) -> str:
    """Each dimension's level, score and what its level means."""
    held = _held_back(card)
    rows = [
        [
            _e(d.title) + (_flag() if d.id in held else ""),
            f"{d.level} of {MAX_LEVEL}",
            _score(d.score),
            _e(d.level_meaning or ("Not yet at level 1." if d.level == 0 else "")),
        ]
        for d in card.dimensions
    ]
    headers = ["Dimension", "Level", "Score", "What the level means"]
    return _section("dimensions", "Dimensions", _table(headers, rows, numeric=(1, 2)))


def _bottleneck(card: Scorecard) -> str:
    """What holds the innovation back, and why."""
    held = _held_back(card)
    body = "".join(_bottleneck_dimension(d) for d in card.dimensions if d.id in held)
    body = body or "<p>No bottleneck: every dimension has reached the top level.</p>"
    lead = (
        "The overall level is the lowest dimension level: "
        "the innovation is only as ready as its weakest part."
    )
    return _section("bottleneck", "What holds it back", body, lead)


def _bottleneck_dimension(d: Dimension) -> str:
    """One bottleneck dimension and the unmet rules that keep it at its level."""
    blocking = {s.rule for s in d.next_steps}
    items = "".join(
        f"<li>{_mark(r.outcome)} <strong>{_e(r.title)}</strong>. {_e(r.finding)}</li>"
        for r in d.rules
        if r.id in blocking
    )
    head = f"<h3>{_e(d.title)}: level {d.level} of {MAX_LEVEL}, score {_score(d.score)}</h3>"
    where = f"<p>{_e(d.level_meaning)}</p>" if d.level_meaning else ""
    why = f"<p>To reach level {d.level + 1}, these rules must pass:</p><ul>{items}</ul>"
    return head + where + (why if items else "")


def _next_steps(card: Scorecard) -> str:
    """The unmet rules between each dimension and its next level, the bottleneck first."""
    if not card.next_steps:
        body = "<p>None: every rule that applies has passed.</p>"
    else:
        body = '<ol class="steps">' + "".join(_step(card, s) for s in card.next_steps) + "</ol>"
    lead = "What would move each dimension to its next level, the bottleneck first."
    return _section("next-steps", "Next steps", body, lead)


def _step(card: Scorecard, step: NextStep) -> str:
    """One next step as a list item."""
    title = _titles(card).get(step.dimension, step.dimension)
    flag = _flag() if step.dimension in _held_back(card) else ""
    rule = _rule(card, step.dimension, step.rule)
    what = f"{title} → level {step.level} · rule: {rule.title if rule else step.rule}"
    return (
        f'<li><span class="what">{_e(what)}{flag}</span>'
        f"{_mark(step.outcome)} {_e(step.action)}</li>"
    )


def _rule(card: Scorecard, dimension: str, rule_id: str) -> RuleResult | None:
    """A rule's result by dimension and rule id."""
    for d in card.dimensions:
        for r in d.rules if d.id == dimension else ():
            if r.id == rule_id:
                return r
    return None


def _findings(card: Scorecard) -> str:
    """Every rule of every dimension with its outcome, finding and advice."""
    body = "".join(_dimension_findings(d) for d in card.dimensions)
    return _section("findings", "Findings", body, f"Outcomes: {LEGEND}.")


def _dimension_findings(d: Dimension) -> str:
    """One dimension's rule table and sources; rules that do not apply get one line."""
    sources = _sources(d)
    judged = sorted((r for r in d.rules if r.outcome != "not_applicable"), key=lambda r: r.level)
    rows = [
        [_mark(r.outcome), str(r.level), _rule_cell(d, r, sources), _advice_cell(r)] for r in judged
    ]
    headers = ["Outcome", "Level", "Rule and finding", "What would move it on"]
    table = _table(headers, rows, numeric=(1,), css_class="rules", row_header=2)
    skipped = [r.title for r in d.rules if r.outcome == "not_applicable"]
    note = f'<p class="na">Not applicable here: {_e("; ".join(skipped))}.</p>' if skipped else ""
    head = f"{_e(d.title)}: level {d.level} of {MAX_LEVEL}, score {_score(d.score)}"
    return f'<h3 id="findings-{_slug(d.id)}">{head}</h3>{table}{note}{_source_list(d, sources)}'


def _sources(d: Dimension) -> dict[str, int]:
    """The dimension's judged rules' references, numbered in order of first citation."""
    numbers: dict[str, int] = {}
    for r in sorted(d.rules, key=lambda r: r.level):
        if r.outcome != "not_applicable":
            for ref in r.references:
                numbers.setdefault(ref, len(numbers) + 1)
    return numbers


def _source_id(d: Dimension, number: int) -> str:
    """The element id of a numbered source in a dimension's source list."""
    return f"source-{_slug(d.id)}-{number}"


def _rule_cell(d: Dimension, r: RuleResult, sources: dict[str, int]) -> str:
    """The rule's title, its finding and the numbers of its sources."""
    cites = ", ".join(
        f'<a href="#{_source_id(d, n)}">[{n}]</a>'
        for n in sorted({sources[x] for x in r.references})
    )
    cites_html = f'<span class="cites">Sources {cites}</span>' if cites else ""
    return f"<strong>{_e(r.title)}</strong><br>{_e(r.finding)}{cites_html}"


def _source_list(d: Dimension, sources: dict[str, int]) -> str:
    """The numbered sources the dimension's rules stand on."""
    if not sources:
        return ""
    items = "".join(
        f'<li id="{_source_id(d, n)}" value="{n}">{_linkify(ref)}</li>'
        for ref, n in sources.items()
    )
    return f'<p class="sources-h">Sources</p><ol class="sources">{items}</ol>'


def _advice_cell(r: RuleResult) -> str:
    """The advice for a rule that has not passed, and the data it lacks."""
    if r.outcome == "pass":
        return ""
    missing = ", ".join(_field(m) for m in r.missing)
    data = f"<p>Data needed: {missing}</p>" if missing else ""
    return data + (_e(r.advice) if r.advice else "")


def _data_gaps(card: Scorecard) -> str:
    """The missing profile fields that left rules unknown."""
    rows = [
        [_field(g.field), _e(d.title), _e(", ".join(_rule_titles(d, g.rules)))]
        for d in card.dimensions
        for g in d.data_gaps
    ]
    lead = (
        "Fields the profile leaves empty that rules need; supplying them lets the rules be judged."
    )
    body = _table(["Missing field", "Dimension", "Rules left unknown"], rows)
    return _section("data-gaps", "Data gaps", body, lead)


def _rule_titles(d: Dimension, rule_ids: Sequence[str]) -> list[str]:
    """The titles of a dimension's rules, by id."""
    titles = {r.id: r.title for r in d.rules}
    return [titles.get(rule_id, rule_id) for rule_id in rule_ids]


def _provenance(card: Scorecard) -> str:
    """What is needed to reproduce the assessment for an audit."""
    p = card.provenance
    facts = [
        ("Profile", card.profile.name),
        ("Profile file", card.profile.source or "not from a file"),
        ("Profile SHA-256", p.profile_sha256 or "not recorded"),
        ("Assessed at (UTC)", p.assessed_at),
        ("scaleready version", p.scaleready_version),
        ("Rule engine", p.backend),
    ]
    if card.gate is not None:
        facts.append(("Funder policy", f"{card.gate.policy} (SHA-256 {card.gate.policy_sha256})"))
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    rows = [
        [_e(r.id), _e(r.version), f'<span class="hash">{_e(r.sha256)}</span>'] for r in p.rulesets
    ]
    body = f'<dl class="facts">{dl}</dl>' + _table(["Ruleset", "Version", "SHA-256"], rows)
    lead = "Enough to reproduce this assessment for an audit."
    return _section("provenance", "Provenance", body, lead)


# A portfolio ------------------------------------------------------------------------------------


def _ranked(cards: Sequence[Scorecard]) -> list[Scorecard]:
    """Highest overall score first, then by name (then source) for a stable order."""
    return sorted(cards, key=lambda c: (-c.overall.score, c.profile.name, c.profile.source or ""))


def _dimension_titles(cards: Sequence[Scorecard]) -> dict[str, str]:
    """Every dimension id in the batch with its title, in order of first appearance."""
    titles: dict[str, str] = {}
    for card in cards:
        for d in card.dimensions:
            titles.setdefault(d.id, d.title)
    return titles


def _bottleneck_counts(cards: Sequence[Scorecard], dims: dict[str, str]) -> list[tuple[str, int]]:
    """How often each dimension is a bottleneck, most often first."""
    counts = Counter(b for c in cards for b in _held_back(c))
    return sorted(((d, counts[d]) for d in dims), key=lambda item: (-item[1], dims[item[0]]))


def _portfolio_summary(
    cards: Sequence[Scorecard], dims: dict[str, str], errors: Sequence[tuple[str, str]]
) -> str:
    """The batch in a few figures."""
    n = len(cards)
    scores = [c.overall.score for c in cards]
    ready = sum(c.overall.level >= 1 for c in cards)
    top = _bottleneck_counts(cards, dims)[:1]
    common = (dims[top[0][0]], _count(top[0][1], "profile")) if top and top[0][1] else ("None", "")
    tiles = [
        ("Profiles assessed", str(n), f"{len(errors)} could not be assessed" if errors else ""),
        ("Median overall score", _score(statistics.median(scores)) if scores else "–", "of 100"),
        ("At level 1 or above", f"{ready} ({_share(ready, n)})", "overall readiness level"),
        ("Most common bottleneck", common[0], common[1]),
    ]
    gated = [c for c in cards if c.gate is not None]
    if gated:
        met = sum(c.gate.passed for c in gated)
        tiles.append(("Meet the funder policy", f"{met} ({_share(met, len(gated))})", ""))
    return _section("summary", "Summary", _tiles(tiles))


def _levels(cards: Sequence[Scorecard], dims: dict[str, str]) -> str:
    """How many profiles reach each overall level, and each dimension's levels."""
    counts = Counter(c.overall.level for c in cards)
    bars = [(f"Level {lv}", counts[lv]) for lv in range(MAX_LEVEL + 1)]
    desc = "; ".join(f"{label}: {_count(v, 'profile')}" for label, v in bars)
    chart = _bar_chart(
        "levels-chart", "Profiles by overall readiness level", desc, bars, len(cards)
    )
    headers = ["", *(f"Level {lv}" for lv in range(MAX_LEVEL + 1))]
    rows = [["Overall", *(str(counts[lv]) for lv in range(MAX_LEVEL + 1))]]
    for dim_id, title in dims.items():
        per = Counter(d.level for c in cards for d in c.dimensions if d.id == dim_id)
        rows.append([_e(title), *(str(per[lv]) for lv in range(MAX_LEVEL + 1))])
    caption = "Number of profiles at each level, overall and per dimension."
    table = _table(headers, rows, caption, numeric=range(1, MAX_LEVEL + 2))
    return _section("levels", "Readiness levels", chart + table)


def _bar_chart(
    chart_id: str, title: str, desc: str, bars: Sequence[tuple[str, int]], total: int
) -> str:
    """Horizontal bars of counts out of a total, each labelled with its count and share."""
    rows = "".join(_count_bar(i, label, v, total) for i, (label, v) in enumerate(bars))
    return _svg(chart_id, title, desc, COUNT_ROW * len(bars) + 4, rows)


def _count_bar(index: int, label: str, value: int, total: int) -> str:
    """One labelled bar of a count chart."""
    mid = index * COUNT_ROW + COUNT_ROW / 2
    width = BAR_W * value / total if total else 0
    text = f"{value} ({_share(value, total)})"
    return (
        f"<g><title>{_e(label)}: {_e(text)}</title>"
        f'<text x="0" y="{mid + 5:g}">{_e(_clip(label, LABEL_CHARS))}</text>'
        f'<rect class="track" x="{BAR_X}" y="{mid - 9:g}" width="{BAR_W}" height="18"/>'
        f'<rect class="bar" x="{BAR_X}" y="{mid - 9:g}" width="{width:.1f}" height="18"/>'
        f'<text x="{BAR_X + BAR_W + 10}" y="{mid + 5:g}">{_e(text)}</text></g>'
    )


def _ranking(cards: Sequence[Scorecard], dims: dict[str, str]) -> str:
    """Every profile, highest overall score first; equal scores share a rank."""
    gated = any(c.gate is not None for c in cards)
    rows = [
        _ranking_row(rank, c, dims, gated) for rank, c in zip(_ranks(cards), cards, strict=True)
    ]
    headers = ["Rank", "Innovation", "Level", "Score", "Bottleneck", *dims.values()]
    headers += ["Funder policy"] if gated else []
    caption = (
        "Highest overall score first, then by name; equal scores share a rank. "
        "Dimension columns give the level reached (0–5) over the score (0–100)."
    )
    numeric = (0, 2, 3, *range(5, 5 + len(dims)))
    return _section("ranking", "Ranking", _table(headers, rows, caption, numeric, row_header=1))


def _ranks(cards: Sequence[Scorecard]) -> list[int]:
    """Competition ranks of cards already in ranking order: equal scores share a rank."""
    ranks: list[int] = []
    for i, card in enumerate(cards):
        tied = i > 0 and card.overall.score == cards[i - 1].overall.score
        ranks.append(ranks[-1] if tied else i + 1)
    return ranks


def _ranking_row(rank: int, card: Scorecard, dims: dict[str, str], gated: bool) -> list[str]:
    """One profile's row of the ranking table."""
    by_id = {d.id: d for d in card.dimensions}
    source = f'<span class="sub">{_e(card.profile.source)}</span>' if card.profile.source else ""
    held = _held_back(card)
    cells = [
        f'{by_id[i].level}<span class="sub">{_score(by_id[i].score)}</span>' if i in by_id else "–"
        for i in dims
    ]
    row = [
        str(rank),
        f"<strong>{_e(card.profile.name)}</strong>{source}",
        str(card.overall.level),
        _score(card.overall.score),
        _e(", ".join(dims.get(b, b) for b in held) or "None"),
        *cells,
    ]
    return row + ([_gate_cell(card)] if gated else [])


def _gate_cell(card: Scorecard) -> str:
    """Whether the card met the funder policy, in words."""
    if card.gate is None:
        return "–"
    return _mark("pass", "Met") if card.gate.passed else _mark("fail", "Not met")


def _bottlenecks(cards: Sequence[Scorecard], dims: dict[str, str]) -> str:
    """How often each dimension holds a profile back."""
    bars = [(dims[d], n) for d, n in _bottleneck_counts(cards, dims)]
    desc = "; ".join(f"{label}: {_count(n, 'profile')}" for label, n in bars)
    chart = _bar_chart(
        "bottleneck-chart", "Profiles held back by each dimension", desc, bars, len(cards)
    )
    rows = [[_e(label), str(n), _share(n, len(cards))] for label, n in bars]
    table = _table(["Dimension", "Profiles", "Share"], rows, numeric=(1, 2))
    lead = (
        "A profile has more than one bottleneck when dimensions tie at its lowest level, "
        "so the shares can add up to more than 100%."
    )
    return _section("bottlenecks", "Bottlenecks", chart + table, lead)


def _unmet_counts(cards: Sequence[Scorecard]) -> list[tuple[str, RuleResult, Counter]]:
    """Each rule that some profile did not pass, with its outcomes, most often unmet first."""
    counts: dict[tuple[str, str], Counter] = {}
    first: dict[tuple[str, str], RuleResult] = {}
    for card in cards:
        for d in card.dimensions:
            for r in d.rules:
                if r.outcome in UNMET:
                    counts.setdefault((d.id, r.id), Counter())[r.outcome] += 1
                    first.setdefault((d.id, r.id), r)
    order = sorted(counts, key=lambda key: (-counts[key].total(), key))
    return [(key[0], first[key], counts[key]) for key in order]


def _unmet_rules(cards: Sequence[Scorecard], dims: dict[str, str]) -> str:
    """The rules most often not passed, split into fails and missing data."""
    unmet = _unmet_counts(cards)
    rows = [_unmet_row(dim, r, c, dims, len(cards)) for dim, r, c in unmet[:TOP_UNMET_RULES]]
    headers = ["Rule", "Dimension", "Level", "Fail", "Data missing", "Error", "Unmet in"]
    body = _table(headers, rows, numeric=range(2, 7))
    more = len(unmet) - TOP_UNMET_RULES
    if more > 0:
        body += f'<p class="na">{_count(more, "more rule")} unmet at least once not shown.</p>'
    lead = (
        "Most often first. Unmet means a fail, or data missing that kept the rule from a verdict."
    )
    return _section("unmet-rules", "Most common unmet rules", body, lead)


def _unmet_row(dim: str, r: RuleResult, c: Counter, dims: dict[str, str], n: int) -> list[str]:
    """One unmet rule: what it checks, where, and how often each way it was not met."""
    return [
        f'{_e(r.title)}<span class="sub">{_e(dim)}.{_e(r.id)}</span>',
        _e(dims.get(dim, dim)),
        str(r.level),
        str(c["fail"]),
        str(c["unknown"]),
        str(c["error"]),
        f"{c.total()} ({_share(c.total(), n)})",
    ]


def _errors(errors: Sequence[tuple[str, str]]) -> str:
    """Profiles that could not be assessed, and why."""
    rows = [[_e(item), _e(reason)] for item, reason in errors]
    lead = "These profiles are not in the figures above; fix them and assess them again."
    return _section("errors", "Could not be assessed", _table(["Profile", "Reason"], rows), lead)


def _portfolio_provenance(cards: Sequence[Scorecard]) -> str:
    """The versions and rulesets behind the batch, for an audit."""
    versions = sorted({c.provenance.scaleready_version for c in cards})
    backends = sorted({c.provenance.backend for c in cards})
    times = sorted(c.provenance.assessed_at for c in cards)
    facts = [
        ("scaleready version", ", ".join(versions) or "–"),
        ("Rule engine", ", ".join(backends) or "–"),
        ("Assessed (UTC)", f"{times[0]} to {times[-1]}" if times else "–"),
    ]
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    rulesets = sorted({(r.id, r.version, r.sha256) for c in cards for r in c.provenance.rulesets})
    rows = [[_e(i), _e(v), f'<span class="hash">{_e(h)}</span>'] for i, v, h in rulesets]
    body = f'<dl class="facts">{dl}</dl>' + _table(["Ruleset", "Version", "SHA-256"], rows)
    return _section(
        "provenance",
        "Provenance",
        body,
        "Each profile's own scorecard records its profile's SHA-256.",
    )
