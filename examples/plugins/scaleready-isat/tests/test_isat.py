"""Tests of the isat plugin: its derived fact on its own, and whole assessments.

The cases in isat.tests.yaml run as tests too (the scaleready.testing pytest plugin collects them).
"""

from __future__ import annotations

import scaleready_isat as plugin
from scaleready import profile_from_data


def test_volunteers_per_staff_divides_volunteers_by_staff():
    profile = profile_from_data({"name": "x", "organisation": {"staff": 4, "volunteers": 10}})
    assert plugin.isat_volunteers_per_staff(profile) == 2.5


def test_volunteers_per_staff_is_missing_without_staff():
    profile = profile_from_data({"name": "x", "organisation": {"staff": 0, "volunteers": 10}})
    assert plugin.isat_volunteers_per_staff(profile) is None


def test_the_dimension_is_on_the_scorecard(scaleready_assess):
    card = scaleready_assess({"organisation": {"staff": 2, "volunteers": 9}})
    assert [dimension.id for dimension in card.dimensions] == ["isat"]


def test_many_volunteers_pass_the_volunteer_rule(scaleready_outcomes):
    outcomes = scaleready_outcomes({"organisation": {"staff": 2, "volunteers": 9}})
    assert outcomes["volunteer_led"] == "pass"
