"""The example profiles: each loads, real ones are dated and sourced, synthetic ones say so, and
each can be assessed by the assess command."""

from __future__ import annotations

import json

import pytest

from scaleready.profile import load_profile
from tests.conftest import EXAMPLES, invoke

SYNTHETIC = "SYNTHETIC"


def _is_synthetic(profile) -> bool:
    return SYNTHETIC in (profile.summary or "")


REAL_EXAMPLES = [path for path in EXAMPLES if not _is_synthetic(load_profile(path))]


def _values_at(data, parts: list[str]) -> list:
    """Every value at a dotted path, stepping into each item of a list on the way."""
    if not parts:
        return [data]
    if isinstance(data, list):
        return [value for item in data for value in _values_at(item, parts)]
    if not isinstance(data, dict) or data.get(parts[0]) is None:
        return []
    return _values_at(data[parts[0]], parts[1:])


def test_there_are_real_and_synthetic_examples():
    profiles = [load_profile(path) for path in EXAMPLES]
    assert any(_is_synthetic(p) for p in profiles)
    assert any(not _is_synthetic(p) for p in profiles)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_loads_and_validates(path):
    assert load_profile(path).name


@pytest.mark.parametrize("path", REAL_EXAMPLES, ids=lambda p: p.name)
def test_a_real_example_states_its_figures_year_and_cites_a_source_with_a_url(path):
    profile = load_profile(path)
    assert profile.figures_year, f"{path.name}: a real example states the year its figures describe"
    assert any(source.url for source in profile.sources or []), (
        f"{path.name}: a real example cites at least one source with a web address"
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_path_listed_as_an_estimate_holds_a_value(path):
    profile = load_profile(path)
    data = profile.model_dump(mode="json")
    for estimate in profile.estimates or []:
        values = [v for v in _values_at(data, estimate.split(".")) if v is not None]
        assert values, f"{path.name}: estimate {estimate!r} names a field the profile does not give"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_a_synthetic_example_says_so_in_its_summary(path):
    profile = load_profile(path)
    name = path.name
    if name in {"local-start.yaml", "evidenced-misfit.yaml", "data-gaps.yaml"}:
        assert _is_synthetic(profile), f"{name}: a synthetic example says SYNTHETIC in its summary"
    if _is_synthetic(profile):
        assert "not a real organisation" in (profile.summary or "")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_is_assessed_by_the_assess_command(runner, path):
    result = invoke(runner, "assess", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    card = json.loads(result.stdout)
    assert card["profile"]["name"] == load_profile(path).name
    assert {"score", "level", "bottleneck"} <= set(card["overall"])
