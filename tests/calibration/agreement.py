"""The calibration agreement table: our evidence level against the published EIF ratings.

Run from the repository root, with the project installed:

    python -m tests.calibration          (or: python tests/calibration/agreement.py)
    python -m tests.calibration --rules my-evidence.yaml   (a candidate evidence ruleset)

Each programme in ``profiles/`` is assessed against the installed ``evidence`` ruleset and set
beside its published rating in ``ratings.yaml``. A row agrees when the confirmed level (the one
the scorecard states, unknown rules counted as not passed) equals the expected level. What the
set is and where it disagrees: docs/calibration.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
PROFILES = HERE / "profiles"
RATINGS = HERE / "ratings.yaml"
RULESET = "evidence"
TARGET = 0.9  # issue 9: at least 90% exact agreement on the evidence level


@dataclass(frozen=True)
class Rating:
    """A programme's published rating and the level it maps to."""

    slug: str
    rating: str
    read_at: str
    rated: str | None
    expected_level: int


@dataclass(frozen=True)
class Row:
    """One line of the agreement table."""

    programme: str
    rating: str
    expected: int
    level: int
    potential: int
    decided_by: str
    agree: bool

    @property
    def possible(self) -> bool:
        """The expected level lies between the confirmed and the potential level."""
        return self.level <= self.expected <= self.potential


def expected_level_of(rating: str) -> int:
    """The mapping: the EIF base number (2+ -> 2, 3+* -> 3, 4 -> 4); '+' and '*' do not move it."""
    return int(rating.rstrip("+*"))


def load_ratings(path: Path = RATINGS) -> list[Rating]:
    """The published ratings, in the file's order."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Rating(
            slug=slug,
            rating=str(entry["rating"]),
            read_at=entry["read_at"],
            rated=entry.get("rated"),
            expected_level=entry["expected_level"],
        )
        for slug, entry in data["programmes"].items()
    ]


def profile_paths() -> list[Path]:
    return sorted(PROFILES.glob("*.yaml"))


def assess_all(
    ratings: Sequence[Rating], rule_files: Sequence[str] = ()
) -> list[tuple[Rating, dict[str, Any], str]]:
    """Each rating with its programme's evidence dimension (as JSON data) and name."""
    from scaleready.assessment.build import create_engine
    from scaleready.profile import load_profile

    engine, _ = create_engine([RULESET], rule_files=rule_files)
    assessed = []
    for rating in ratings:
        profile = load_profile(PROFILES / f"{rating.slug}.yaml")
        card = engine.assess(profile).model_dump(mode="json")
        assessed.append((rating, card["dimensions"][0], profile.name))
    return assessed


def potential_level(dimension: dict[str, Any]) -> int:
    """The scorecard's potential level; on a base without one, the same reading of its rules."""
    if "potential_level" in dimension:
        return int(dimension["potential_level"])
    from scaleready.outcome import MAX_LEVEL, MET, Outcome

    standing = [
        r["level"] for r in dimension["rules"] if r["outcome"] not in {*MET, Outcome.UNKNOWN}
    ]
    if standing:
        return min(standing) - 1
    return min(max(r["level"] for r in dimension["rules"]), MAX_LEVEL)


def decided_by(dimension: dict[str, Any]) -> str:
    """The lowest-level rules not met, each with its outcome: what holds the level where it is."""
    from scaleready.outcome import MET

    unmet = [r for r in dimension["rules"] if r["outcome"] not in MET]
    if not unmet:
        return "-"
    lowest = min(r["level"] for r in unmet)
    return ", ".join(f"{r['id']} ({r['outcome']})" for r in unmet if r["level"] == lowest)


def agreement_rows(
    ratings: Sequence[Rating] | None = None, rule_files: Sequence[str] = ()
) -> list[Row]:
    rows = []
    for rating, dimension, name in assess_all(ratings or load_ratings(), rule_files):
        level = int(dimension["level"])
        rows.append(
            Row(
                programme=name,
                rating=rating.rating,
                expected=rating.expected_level,
                level=level,
                potential=potential_level(dimension),
                decided_by=decided_by(dimension),
                agree=level == rating.expected_level,
            )
        )
    return rows


def agreement_rate(rows: Sequence[Row]) -> float:
    return sum(row.agree for row in rows) / len(rows)


def format_table(rows: Sequence[Row]) -> str:
    """The table as Markdown, so docs/calibration.md can hold it as printed."""
    header = (
        "| programme | published | expected | ours | potential | decided by "
        "(lowest-level rule not met) | agree |"
    )
    lines = [header, "|---|---|---|---|---|---|---|"]
    for row in rows:
        potential = str(row.potential) if row.potential != row.level else ""
        lines.append(
            f"| {row.programme} | {row.rating} | {row.expected} | {row.level} | {potential} "
            f"| {row.decided_by} | {'yes' if row.agree else 'no'} |"
        )
    return "\n".join(lines)


def format_summary(rows: Sequence[Row]) -> str:
    agreed, possible, total = sum(r.agree for r in rows), sum(r.possible for r in rows), len(rows)
    return (
        f"Exact agreement (confirmed level = expected level): {agreed}/{total} = "
        f"{agreed / total:.1%} (target {TARGET:.0%})\n"
        f"Expected level between confirmed and potential (could agree once the missing data "
        f"is supplied): {possible}/{total} = {possible / total:.1%}"
    )


def main(argv: Iterable[str] = ()) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.calibration",
        description="Print the calibration agreement table (docs/calibration.md).",
    )
    parser.add_argument(
        "--rules",
        action="append",
        default=[],
        metavar="FILE",
        help="an evidence ruleset file to use instead of the installed one (repeatable)",
    )
    args = parser.parse_args(list(argv))
    from scaleready.errors import ScaleReadyError

    try:
        rows = agreement_rows(rule_files=args.rules)
    except ScaleReadyError as error:  # a bad ruleset or profile: its message names the culprit
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    print(format_table(rows))
    print()
    print(format_summary(rows))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[1]))  # run as a script: import tests.* from the root
    sys.exit(main(sys.argv[1:]))
