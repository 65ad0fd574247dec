"""Scorecards, explanations, rulesets and plugins as text: a terminal table, JSON, Markdown."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from scaleready.outcome import MAX_LEVEL, MET, Outcome
from scaleready.report.levels import (
    data_gaps,
    dimension_held_by_missing_data,
    level_text,
    missing_in_text,
    score_text,
    unlocks_text,
)
from scaleready.report.marks import MARKS
from scaleready.report.safe_text import markdown_text, terminal_json, terminal_line

if TYPE_CHECKING:  # imported when used, so that the CLI's --help need not import the engine
    from scaleready.assessment.engine import Explanation
    from scaleready.assessment.scorecard import DataGap, Dimension, Scorecard
    from scaleready.language.evaluate import Step
    from scaleready.language.ruleset import Ruleset
    from scaleready.plugins import PluginInfo

FORMATS = ("table", "json", "markdown", "html")
BAR_WIDTH = 20


def render(scorecards: Sequence[Scorecard], output_format: str) -> str:
    """All scorecards in one format; JSON is one object for one profile, else an array; HTML one."""
    if output_format == "json":
        payload = [card.model_dump(mode="json") for card in scorecards]
        document = payload[0] if len(payload) == 1 else payload
        return terminal_json(document) + "\n"
    if output_format == "html":
        from scaleready.report.html import scorecard_html

        if len(scorecards) != 1:
            raise ValueError("an HTML report holds one scorecard")
        return scorecard_html(scorecards[0])
    renderer = table if output_format == "table" else markdown
    return "\n".join(renderer(card) for card in scorecards)


def _bar(score: float, potential: float) -> str:
    """The score filled, the rest of its range shaded: reached and possible never look alike."""
    filled = round(score / 100 * BAR_WIDTH)
    possible = max(round(potential / 100 * BAR_WIDTH) - filled, 0)
    return "█" * filled + "▒" * possible + "░" * (BAR_WIDTH - filled - possible)


def _heading(card: Scorecard, text: Callable[[str], str] = str) -> str:
    year = f" (figures for {card.profile.figures_year})" if card.profile.figures_year else ""
    return f"{text(card.profile.name)}{year}"


def table(card: Scorecard) -> str:
    """A readable terminal report.

    Every line goes through terminal_line, so no text from a profile or a ruleset can act on the
    terminal (escape sequences, control and bidi characters) or start a line of its own.
    """
    lines = [_heading(card), card.overall.summary, *_gate_lines(card), ""]
    lines += _level_table(card)
    lines += ["", "Rules  (✓ pass  ✗ fail  ? unknown: data missing  – not applicable  ! error)"]
    for d in card.dimensions:
        lines.append(f"  {d.title}")
        lines += [f"    {MARKS[r.outcome].symbol} L{r.level} {r.id}: {r.finding}" for r in d.rules]
    if card.next_steps:
        lines += ["", "Next steps (bottleneck first; ? means: supply the data)"]
        lines += [
            f"  {n}. {MARKS[s.outcome].symbol} [{s.dimension} → level {s.level}] {s.action}"
            for n, s in enumerate(card.next_steps, 1)
        ]
    gaps = data_gaps(card)
    if gaps:
        lines += ["", "Data gaps (nearest level first)"]
        lines += [f"  - {_gap_line(d, g)}" for d, g in gaps]
    lines += ["", _provenance_line(card), ""]
    return "\n".join(map(terminal_line, lines))


def _level_table(card: Scorecard) -> list[str]:
    """The overall verdict and each dimension: the level reached and what the missing data
    could make possible, the score and its range, as a bar."""
    titles = {d.id: terminal_line(d.title) for d in card.dimensions}
    width = max(len("Overall"), *map(len, titles.values()))
    o = card.overall
    rows = [("Overall", level_text(o.level, o.potential_level), o.score, o.potential_score, "")]
    for d in card.dimensions:
        flag = f"  ◀ bottleneck{_data_only(d)}" if d.id in o.bottleneck else ""
        level = level_text(d.level, d.potential_level)
        rows.append((titles[d.id], level, d.score, d.potential_score, flag))
    level_width = max(len(row[1]) for row in rows)
    score_width = max(len(score_text(row[2], row[3])) for row in rows)
    lines = [f"  {'Dimension':<{width}}  {'Level':<{level_width}}  Score"]
    for title, level, score, potential, flag in rows:
        scores = f"{score_text(score, potential):>{score_width}}"
        lines.append(
            f"  {title:<{width}}  {level:<{level_width}}  {scores}  {_bar(score, potential)}{flag}"
        )
    lines.append(
        "  Level: reached (possible once the missing data is supplied). "
        "Score: █ reached, ▒ possible with the missing data."
    )
    return lines


def _data_only(d: Dimension) -> str:
    """Says so when only missing data holds a dimension at its level."""
    return " (data missing only)" if dimension_held_by_missing_data(d) else ""


def _gap_line(d: Dimension, gap: DataGap) -> str:
    """A data gap: the field, what it means, the list items that lack it, and what supplying it
    could unlock."""
    meaning = f" ({gap.meaning.rstrip('.')})" if gap.meaning else ""
    missing_in = missing_in_text(gap)
    where = f" {missing_in};" if missing_in else ""
    rules = ", ".join(f"{d.id}.{r}" for r in gap.rules)
    return f"{gap.field}{meaning}:{where} {unlocks_text(d, gap)}; decides {rules}"


def _gate_lines(card: Scorecard, text: Callable[[str], str] = str) -> list[str]:
    """The policy's verdict: passed, or failed with each reason."""
    if card.gate is None:
        return []
    verdict = "passed" if card.gate.passed else "FAILED"
    return [
        f"Policy '{text(card.gate.policy)}': {verdict}",
        *(f"  - {text(reason)}" for reason in card.gate.reasons),
    ]


def _provenance_line(card: Scorecard) -> str:
    p = card.provenance
    rulesets = ", ".join(f"{r.id} {r.version}" for r in p.rulesets)
    return f"scaleready {p.scaleready_version} · {p.backend} · {rulesets} · {p.assessed_at}"


def markdown(card: Scorecard) -> str:
    """A Markdown report a panel can read.

    Every text from a profile or a ruleset goes through markdown_text: it shows as itself, never
    as HTML, a link, an image or a table cell.
    """
    md = markdown_text
    lines = [f"# {_heading(card, md)}", "", f"**{md(card.overall.summary)}**", ""]
    if card.gate is not None:
        lines += [*_gate_lines(card, md), ""]
    lines += _markdown_levels(card)
    if card.next_steps:
        lines += ["", "## Next steps", ""]
        lines += [
            f"{n}. {MARKS[s.outcome].symbol} **{md(s.dimension)}** (to level {s.level}): "
            f"{md(s.action)}"
            for n, s in enumerate(card.next_steps, 1)
        ]
    gaps = data_gaps(card)
    if gaps:
        lines += ["", "## Data gaps", "", "Nearest level first.", ""]
        lines += [f"- {_markdown_gap(d, g)}" for d, g in gaps]
    for d in card.dimensions:
        lines += ["", *_markdown_dimension(d)]
    p = card.provenance
    lines += [
        "",
        "## Provenance",
        "",
        f"- scaleready {p.scaleready_version}, backend {md(p.backend)}, "
        f"assessed {md(p.assessed_at)}",
    ]
    lines.append(f"- profile sha256 {_code(p.profile_sha256 or '')}")
    lines += [f"- ruleset {md(r.id)} {md(r.version)}, sha256 {_code(r.sha256)}" for r in p.rulesets]
    return "\n".join(lines) + "\n"


def _markdown_levels(card: Scorecard) -> list[str]:
    """The overall verdict and each dimension: level reached, level possible, score range."""
    md, o = markdown_text, card.overall
    lines = [
        "| Dimension | Level reached | Possible with the missing data | Score | |",
        "|---|---|---|---|---|",
        f"| **Overall** | {o.level}/{MAX_LEVEL} | {_possible(o.level, o.potential_level)} "
        f"| {score_text(o.score, o.potential_score)} | |",
    ]
    for d in card.dimensions:
        flag = f"bottleneck{_data_only(d)}" if d.id in o.bottleneck else ""
        lines.append(
            f"| {md(d.title)} | {d.level}/{MAX_LEVEL} | {_possible(d.level, d.potential_level)} "
            f"| {score_text(d.score, d.potential_score)} | {flag} |"
        )
    note = "Score: reached, or reached–possible were every rule now unknown to pass."
    return [*lines, "", note]


def _possible(level: int, potential: int) -> str:
    return f"{potential}/{MAX_LEVEL}" if potential > level else "–"


def _markdown_gap(d: Dimension, gap: DataGap) -> str:
    """A data gap as a list item: the field, what it means, the list items that lack it, what
    supplying it could unlock."""
    md = markdown_text
    meaning = f" ({md(gap.meaning.rstrip('.'))})" if gap.meaning else ""
    missing_in = missing_in_text(gap)
    where = f" {md(missing_in)};" if missing_in else ""
    rules = ", ".join(f"{d.id}.{r}" for r in gap.rules)
    return f"{_code(gap.field)}{meaning}:{where} {md(unlocks_text(d, gap))}; decides {md(rules)}"


def _markdown_dimension(d: Dimension) -> list[str]:
    """One dimension's heading and rule table."""
    md = markdown_text
    meaning = f" — {md(d.level_meaning)}" if d.level_meaning else ""
    level = level_text(d.level, d.potential_level)
    score = score_text(d.score, d.potential_score)
    lines = [f"## {md(d.title)}: level {level}, score {score}{meaning}", ""]
    lines += ["| | Level | Rule | Finding |", "|---|---|---|---|"]
    lines += [
        f"| {MARKS[r.outcome].symbol} {r.outcome} | {r.level} | {md(r.title)} | {md(r.finding)} |"
        for r in d.rules
    ]
    return lines


def _code(text: str) -> str:
    """A field path or a hash as inline code; with a backtick in it, as escaped text instead."""
    plain = terminal_line(text)
    return f"`{plain}`" if plain and "`" not in plain else markdown_text(plain)


def explanation(result: Explanation) -> str:
    """Each condition of a rule, the values it saw, and the outcome."""
    from scaleready.language.ruleset import condition_text

    spec = result.rule.spec
    lines = [
        f"{result.ruleset}.{spec.id}: {spec.title} (level {spec.level})",
        f"Outcome: {MARKS[result.outcome].symbol} {result.outcome}",
    ]
    if result.applies_steps:
        lines += ["", f"Applies when: {spec.applies_when}"] + _steps(result.applies_steps)
    lines += ["", f"Condition: {condition_text(result.rule)}"] + _steps(result.condition_steps)
    if result.missing:
        lines += ["", "Missing data: " + ", ".join(result.missing)]
    if result.error:
        lines += ["", f"Error: {result.error}"]
    meanings: dict[str, str] = {Outcome.PASS: spec.pass_text, Outcome.FAIL: spec.fail_text}
    meaning = meanings.get(result.outcome)
    if meaning:
        lines += ["", f"What it means: {meaning}"]
    if result.outcome not in MET:
        lines.append(f"Advice: {spec.advice}")
    return "\n".join(map(terminal_line, lines)) + "\n"  # safe to print, as in table()


def _steps(steps: Sequence[Step]) -> list[str]:
    lines = []
    for step in steps:
        mark = {True: "✓ true   ", False: "✗ false  ", None: "? unknown"}[step.result]
        seen = ", ".join(f"{name} = {_show(value)}" for name, value in step.values.items())
        lines.append(f"  {mark} {step.text}" + (f"    [{seen}]" if seen else ""))
    return lines


def _decimal(value: float) -> str:
    """A number as people write it: 1,600,000 or 0.8333, never 1.6e+06."""
    return f"{int(value):,}" if float(value).is_integer() else f"{round(value, 4):,}"


def _show(value: object) -> str:
    from scaleready.language.evaluate import MISSING

    if value is MISSING:
        return "missing"
    if isinstance(value, list):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _decimal(value)
    return (
        json.dumps(value, ensure_ascii=False)
        if not isinstance(value, str) or " " not in value
        else value
    )


def ruleset_outline(ruleset: Ruleset) -> str:
    """A ruleset's levels and rules, each with its condition (`scaleready rulesets show`)."""
    from scaleready.language.ruleset import condition_text

    spec = ruleset.spec
    lines = [f"{spec.title} ({spec.id} {spec.version})", spec.summary, ""]
    lines += [f"  Level {level}: {meaning}" for level, meaning in sorted(spec.levels.items())]
    for rule in ruleset.rules:
        lines += ["", f"[L{rule.level}] {rule.id}: {rule.spec.title} (weight {rule.spec.weight:g})"]
        if rule.spec.applies_when:
            lines.append(f"    applies when: {rule.spec.applies_when}")
        lines.append(f"    condition:    {condition_text(rule)}")
    return "\n".join(lines)


def plugin_line(info: PluginInfo) -> str:
    """A plugin in one line: name, version, what it provides, and why it failed if it did."""
    status = f"  FAILED: {info.error}" if info.error else ""
    sections = [f"profile section {name}" for name in info.sections]
    provides = ", ".join(
        info.rulesets + [f"derived.{name}" for name in info.derived_facts] + sections
    )
    version = f" {info.version}" if info.version else ""
    kind = " (built-in)" if info.builtin else ""
    return f"{info.name}{version}{kind}: {provides or 'nothing'}{status}"
