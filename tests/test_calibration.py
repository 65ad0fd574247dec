"""The calibration set (issue 9, point 5): real programmes with published EIF ratings, as
profiles built from their public evaluations, each fact with its source, and the evidence
level the tool gives them set beside the published one (docs/calibration.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from scaleready.profile import load_profile
from tests.calibration.agreement import (
    PROFILES,
    TARGET,
    agreement_rate,
    agreement_rows,
    expected_level_of,
    format_table,
    load_ratings,
    main,
    profile_paths,
)
from tests.conftest import REPO, invoke

CALIBRATION_PROFILES = profile_paths()
RATINGS = load_ratings()
SOURCE_COMMENT = re.compile(r"(^|\s)#.*https?://")
LIST_ITEM = re.compile(r"^(\s*)- ")


def _evaluation_blocks(text: str) -> Iterator[list[str]]:
    """The lines of each item under `evidence.evaluations`, with the comments just above it."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "evaluations:")
    key_indent = len(lines[start]) - len(lines[start].lstrip())
    block: list[str] = []
    pending: list[str] = []  # comment lines that introduce the next item
    item_indent = None
    for line in lines[start + 1 :]:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped and not stripped.startswith("#") and indent <= key_indent:
            break  # the next key of `evidence` or of the profile: the list has ended
        item = LIST_ITEM.match(line)
        if item and item_indent in (None, len(item.group(1))):
            item_indent = len(item.group(1))
            if block:
                yield block
            block, pending = [*pending, line], []
        elif stripped.startswith("#") and (item_indent is None or indent <= item_indent + 2):
            pending.append(line)
        else:
            block += [*pending, line]
            pending = []
    if block:
        yield block


def test_the_set_holds_at_least_15_programmes_spread_over_levels_2_to_4():
    assert len(CALIBRATION_PROFILES) >= 15
    assert {rating.expected_level for rating in RATINGS} >= {2, 3, 4}


def test_every_profile_has_a_published_rating_and_every_rating_a_profile():
    assert sorted(rating.slug for rating in RATINGS) == sorted(p.stem for p in CALIBRATION_PROFILES)


@pytest.mark.parametrize("rating", RATINGS, ids=lambda r: r.slug)
def test_the_expected_level_follows_the_one_mapping_stated_in_ratings_yaml(rating):
    assert rating.expected_level == expected_level_of(rating.rating), (
        f"{rating.slug}: {rating.rating} maps to {expected_level_of(rating.rating)}; the mapping "
        "is not changed per programme"
    )
    assert rating.read_at.startswith(("http://", "https://")), f"{rating.slug}: where it was read"


@pytest.mark.parametrize("path", CALIBRATION_PROFILES, ids=lambda p: p.stem)
def test_every_calibration_profile_loads_as_version_2_with_its_evidence(path):
    profile = load_profile(path)
    assert profile.schema_version == "2"
    assert profile.evidence and profile.evidence.evaluations, f"{path.name}: no evaluations"


def test_every_calibration_profile_validates_with_the_cli(runner):
    result = invoke(runner, "profile", "validate", *CALIBRATION_PROFILES)
    assert result.exit_code == 0, result.output
    assert result.output.count("ok: ") == len(CALIBRATION_PROFILES)


@pytest.mark.parametrize("path", CALIBRATION_PROFILES, ids=lambda p: p.stem)
def test_every_evaluation_in_a_profile_cites_its_source_in_a_comment(path):
    blocks = list(_evaluation_blocks(path.read_text(encoding="utf-8")))
    assert len(blocks) == len(load_profile(path).evidence.evaluations)
    for block in blocks:
        assert any(SOURCE_COMMENT.search(line) for line in block), (
            f"{path.name}: the evaluation starting {block[0].strip()!r} has no comment citing "
            "a web address for its facts"
        )


def test_the_source_check_finds_an_evaluation_without_a_source_comment():
    text = (
        "evidence:\n  evaluations:\n    # https://example.org/a\n    - design: rct\n"
        "    - design: pre_post  # from memory\nreach: {}\n"
    )
    blocks = list(_evaluation_blocks(text))
    assert [any(SOURCE_COMMENT.search(line) for line in b) for b in blocks] == [True, False]


def test_the_table_has_a_row_per_programme_with_the_rule_that_decided_it():
    rows = agreement_rows()
    assert [row.expected for row in rows] == [rating.expected_level for rating in RATINGS]
    assert all(row.level <= row.potential for row in rows)
    table = format_table(rows).splitlines()
    assert len(table) == 2 + len(RATINGS)
    for row in rows:
        assert row.level == 5 or "(" in row.decided_by, row  # a rule id with its outcome


# Measured with evidence 0.4.1 and the profiles of session 16: see docs/calibration.md for the
# table and the reasons. Strict, so that the marker goes once the rate reaches the target.
@pytest.mark.xfail(
    strict=True,
    reason="exact agreement measured at 6/16 (37.5%) against the 90% target (evidence 0.4.1, "
    "profiles of session 16): all 10 disagreements are held below the published level by a "
    "rule not known yet (low_attrition in 9: attrition per group is rarely in an abstract); "
    "see docs/calibration.md",
)
def test_the_evidence_level_agrees_with_the_published_rating_for_90_percent():
    rows = agreement_rows()
    assert agreement_rate(rows) >= TARGET, "\n" + format_table(rows)


@pytest.mark.slow
def test_python_m_tests_calibration_prints_the_table_and_the_rate():
    result = subprocess.run(
        [sys.executable, "-m", "tests.calibration"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Exact agreement" in result.stdout
    for path in CALIBRATION_PROFILES:
        assert f"| {load_profile(path).name} |" in result.stdout
    assert PROFILES.is_dir()


def test_a_missing_rules_file_is_named_with_no_traceback(capsys, tmp_path):
    missing = tmp_path / "evidence.yaml"
    assert main(["--rules", str(missing)]) == 3
    err = capsys.readouterr().err
    assert str(missing) in err and "Traceback" not in err
