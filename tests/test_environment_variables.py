"""Environment variables that configure scaleready: a bad value is a usage error naming it."""

from __future__ import annotations

import json

import pytest

from scaleready.documents import MAX_DOCUMENT_MIB_VARIABLE
from tests.conftest import REPO, invoke

CODE_CLUB = REPO / "examples" / "code-club.yaml"


@pytest.mark.parametrize(
    "value", ["yesterday", "1e9", "-5", "1700000000.5", "99999999999999999", "9" * 5000], ids=str
)
def test_a_bad_source_date_epoch_is_a_usage_error_naming_the_variable(runner, value):
    result = invoke(runner, "assess", CODE_CLUB, env={"SOURCE_DATE_EPOCH": value})
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("error: SOURCE_DATE_EPOCH: ")
    assert "whole seconds since 1970-01-01 UTC" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr) < 400


def test_a_good_source_date_epoch_fixes_the_assessment_time(runner):
    result = invoke(
        runner, "assess", CODE_CLUB, "--format", "json", env={"SOURCE_DATE_EPOCH": " 1700000000 "}
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["provenance"]["assessed_at"] == "2023-11-14T22:13:20Z"


def test_a_bad_document_size_limit_is_a_usage_error_naming_the_variable(runner):
    result = invoke(runner, "assess", CODE_CLUB, env={MAX_DOCUMENT_MIB_VARIABLE: "big"})
    assert result.exit_code == 2, result.stderr
    assert f"error: {MAX_DOCUMENT_MIB_VARIABLE}: 'big' is not a whole number of MiB" in (
        result.stderr
    )
