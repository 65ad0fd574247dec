"""The history as `scaleready history` and `reassess` show it: a table or JSON."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from scaleready.history.reassess import Reassessment, Verdict
from scaleready.history.store import Record
from scaleready.report.levels import level_text
from scaleready.report.safe_text import terminal_line


def record_summary(record: Record) -> dict[str, Any]:
    """A record without its profile and scorecard: what a listing shows."""
    overall, gate = record.scorecard["overall"], record.scorecard["gate"]
    return {
        "id": record.id,
        "recorded_at": _time(record),
        "assessed_at": record.assessed_at,
        "name": record.name,
        "caller": record.caller,
        "funder": record.funder,
        "level": overall["level"],
        "potential_level": overall["potential_level"],
        "score": overall["score"],
        "bottleneck": overall["bottleneck"],
        "gate": None if gate is None else ("passed" if gate["passed"] else "failed"),
        "policy_name": None if gate is None else gate["policy"],
        "policy_sha256": record.policy_sha256,
        "rulesets": record.rulesets,
        "profile_sha256": record.profile_sha256,
        "backend": record.backend,
        "job_id": record.job_id,
    }


def record_json(record: Record) -> dict[str, Any]:
    """A record in full: its summary, then the profile, scorecard and policy as recorded."""
    return {
        **record_summary(record),
        "idempotency_key": record.idempotency_key,
        "policy": record.policy,
        "profile": record.profile,
        "scorecard": record.scorecard,
    }


def records_table(records: Sequence[Record]) -> str:
    """One line a record, newest first."""
    rows: list[tuple[str, ...]] = [
        ("recorded (UTC)", "id", "level", "score", "gate", "funder", "name")
    ]
    for record in records:
        summary = record_summary(record)
        rows.append(
            (
                summary["recorded_at"][:16].replace("T", " "),
                record.id,
                level_text(summary["level"], summary["potential_level"]),
                f"{summary['score']:.1f}",
                summary["gate"] or "-",
                record.funder or "-",
                record.name,
            )
        )
    return _table(rows)


def _time(record: Record) -> str:
    return record.recorded_at.isoformat(timespec="seconds").replace("+00:00", "Z")


def reassessment_json(done: Reassessment) -> dict[str, Any]:
    """A reassessment: the verdict then and now, what changed, and the ruleset versions."""
    return {
        "id": done.record.id,
        "name": done.record.name,
        "recorded_at": _time(done.record),
        "changed": done.changes,
        "before": _verdict_json(done.before),
        "after": None if done.after is None else _verdict_json(done.after),
        "rulesets": [
            {"id": v.id, "recorded": v.recorded, "now": v.now, "same_file": v.same_file}
            for v in done.rulesets
        ],
        "error": done.error,
    }


def _verdict_json(verdict: Verdict) -> dict[str, Any]:
    return {
        "level": verdict.level,
        "potential_level": verdict.potential_level,
        "score": verdict.score,
        "bottleneck": list(verdict.bottleneck),
        "gate": None if verdict.gate is None else ("passed" if verdict.gate else "failed"),
        "gate_reasons": list(verdict.gate_reasons),
    }


def reassessment_lines(done: Reassessment) -> list[str]:
    """A reassessment in a few lines, safe for a terminal: the record, then each change, or
    that none changed."""
    return [terminal_line(line) for line in _reassessment_lines(done)]


def _reassessment_lines(done: Reassessment) -> list[str]:
    record = done.record
    head = f"{record.name} ({record.id}, recorded {_time(record)})"
    if done.error is not None or done.after is None:
        return [head, f"  could not be reassessed: {done.error}"]
    lines = [head]
    for version in done.rulesets_changed:
        same = " (the same version, its file changed)" if version.recorded == version.now else ""
        lines.append(f"  ruleset {version.id}: {version.recorded} -> {version.now}{same}")
    lines += _verdict_changes(done.before, done.after) or [
        "  no change in level, bottleneck or gate"
    ]
    return lines


def _verdict_changes(before: Verdict, after: Verdict) -> list[str]:
    lines = []
    if (before.level, before.potential_level) != (after.level, after.potential_level):
        was = level_text(before.level, before.potential_level)
        lines.append(f"  level: {was} -> {level_text(after.level, after.potential_level)}")
    if before.score != after.score:
        lines.append(f"  score: {before.score:g} -> {after.score:g}")
    if before.bottleneck != after.bottleneck:
        lines.append(f"  bottleneck: {_names(before.bottleneck)} -> {_names(after.bottleneck)}")
    if (before.gate, before.gate_reasons) != (after.gate, after.gate_reasons):
        lines.append(f"  gate: {_gate(before)} -> {_gate(after)}")
    return lines


def _names(ids: Iterable[str]) -> str:
    return ", ".join(ids) or "none"


def _gate(verdict: Verdict) -> str:
    if verdict.gate is None:
        return "no policy"
    if verdict.gate:
        return "passed"
    return f"failed ({'; '.join(verdict.gate_reasons)})"


def _table(rows: list[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell; text from profiles made safe for a terminal."""
    rows = [tuple(terminal_line(cell) for cell in row) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )
