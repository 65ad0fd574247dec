"""A funder chooses the rulesets that count: --ruleset, a policy's rulesets, scaleready.toml.

Issue 10, finding 5: installing an unrelated plugin must not move a funder's results.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, REPO, run_scaleready

POLICIES = REPO / "examples" / "policies"
SOCIAL_VALUE = "scaleready-social-value"  # an unrelated plugin: one ruleset, one derived fact


def verdicts(stdout: str) -> list[dict]:
    """What a funder reads off each scorecard: scores, levels, bottleneck, gate, dimensions."""
    return [
        {
            "profile": card["profile"]["name"],
            "overall": card["overall"],
            "gate": card["gate"],
            "dimensions": {
                d["id"]: (d["score"], d["level"], d["weight"]) for d in card["dimensions"]
            },
        }
        for card in json.loads(stdout)
    ]


def assess_all(policy: Path, env: dict | None = None, cwd: Path | None = None) -> list[dict]:
    result = run_scaleready(
        "assess", *EXAMPLES, "--policy", policy, "--format", "json", env=env, cwd=cwd
    )
    assert result.returncode in (0, 1), result.stderr  # 1: some profiles fail the gate
    return verdicts(result.stdout)


@pytest.fixture(scope="module")
def with_social_value(plugin_sites) -> dict:
    return {**os.environ, **plugin_sites(SOCIAL_VALUE)}


@pytest.mark.slow
@pytest.mark.parametrize("policy", sorted(POLICIES.glob("*.yaml")), ids=lambda p: p.stem)
def test_installing_an_unrelated_plugin_moves_no_verdict_or_score(
    policy, with_social_value, tmp_path
):
    before = assess_all(policy, cwd=tmp_path)
    after = assess_all(policy, env=with_social_value, cwd=tmp_path)
    assert after == before
    assert all("social_value" not in card["dimensions"] for card in after)
