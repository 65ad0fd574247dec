"""The service's parts that need no server: its OpenAPI document, its problem details, its
settings, and the watchdog that fails a round whose workers kept dying."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scaleready.errors import PolicyError, ProfileError
from scaleready.history import open_store
from scaleready.profile import profile_from_data
from scaleready.service.problem_details import field_problems, from_error, location_of
from scaleready.service.settings import MAX_ATTEMPTS, Settings
from tests.conftest import REPO

OPENAPI = REPO / "docs" / "openapi.json"


@pytest.mark.slow
def test_the_committed_openapi_document_is_current():
    from scaleready.service.openapi import openapi_text

    assert OPENAPI.read_text(encoding="utf-8") == openapi_text(), (
        "regenerate it: python -m scaleready.service.openapi docs/openapi.json"
    )


def profile_error(data: dict) -> ProfileError:
    with pytest.raises(ProfileError) as raised:
        profile_from_data(data, source="request body")
    return raised.value


def test_each_problem_is_the_cli_message_split_into_field_and_detail():
    error = profile_error(
        {"name": 3, "organisation": {"founded": "soon"}, "reach": {"people_per_year": -1}}
    )
    problems = field_problems(error)
    assert [p["field"] for p in problems] == [
        "name",
        "organisation.founded",
        "reach.people_per_year",
    ]
    for problem in problems:
        assert f"  {problem['field']}: {problem['detail']}" in str(error)


def test_one_problem_alone_is_split_too():
    (problem,) = field_problems(profile_error({"name": "x", "organisation": 3}))
    assert problem["field"] == "organisation" and problem["line"] is None
    assert problem["detail"].startswith("expected a section of keys")


def test_a_problem_with_no_field_keeps_its_whole_message():
    error = PolicyError("no policy 'x'; this service has no policies", source="policy")
    assert field_problems(error) == [
        {
            "field": None,
            "pointer": "",
            "line": None,
            "detail": "no policy 'x'; this service has no policies",
        }
    ]


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("evidence.evaluations.2.design", ("evidence", "evaluations", 1, "design")),
        ("evidence.evaluations[1].design", ("evidence", "evaluations", 1, "design")),
        ('metadata["grant ref"].x', ("metadata", "grant ref", "x")),
        ("top level", ()),
    ],
    ids=["as-the-cli-writes-it", "as-code-writes-it", "a-quoted-key", "the-whole-profile"],
)
def test_a_field_path_is_read_as_the_cli_or_code_writes_it(path, location):
    assert location_of(path) == location


def test_a_field_is_given_as_the_cli_writes_it_and_as_a_json_pointer():
    (problem,) = field_problems(profile_error({"name": "x", "partnerships": [{"role": 5}]}))
    assert problem["field"] == "partnerships.1.role"
    assert problem["pointer"] == "/partnerships/0/role"


def test_a_problem_is_given_the_line_of_its_field_when_there_is_one():
    problem = from_error(profile_error({"organisation": 3}), {("organisation",): 7}.get)
    assert problem.status == 422 and problem.kind == "invalid-profile"
    assert [(e["field"], e["line"]) for e in problem.errors] == [
        ("name", None),
        ("organisation", 7),
    ]


def test_the_settings_reach_the_worker_processes_through_the_environment(monkeypatch):
    settings = Settings(
        store_url="sqlite:///h.sqlite",
        policies=Path("policies"),
        max_request_bytes=1234,
        rounds_dir=Path("rounds"),
        stale_after_s=7.5,
        round_jobs=2,
    )
    for name, value in settings.environment().items():
        monkeypatch.setenv(name, value)
    assert Settings.from_environment() == settings


def test_a_round_whose_workers_kept_dying_is_failed_with_the_reason(tmp_path):
    from scaleready.service.runner import RoundRunner

    with open_store(f"sqlite:///{tmp_path / 'history.sqlite'}") as store:
        job = store.create_job("funder-a", filename="round.csv", fmt="csv", policy=None)
        note = f"taken up again by host:2 (attempt {MAX_ATTEMPTS} of {MAX_ATTEMPTS})"
        store.update_job(job.id, status="running", worker="host:3", error=note)
        runner = RoundRunner(Settings(rounds_dir=tmp_path, stale_after_s=0.05), store)
        runner.start()
        try:
            deadline = time.monotonic() + 10
            while store.get_job(job.id).status == "running" and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            runner.stop()
        failed = store.get_job(job.id)
    assert failed.status == "failed"
    assert f"failed after {MAX_ATTEMPTS} attempts" in failed.error and "host:3" in failed.error


def test_a_profile_sent_is_bounded_as_a_profile_file_is():
    from scaleready.documents import max_document_bytes
    from scaleready.service.assessing import read_request
    from scaleready.service.problem_details import Problem

    body = b"name: x\n" + b"#" * max_document_bytes()
    with pytest.raises(Problem) as refused:
        read_request(body, "application/yaml", None)
    assert refused.value.status == 413 and "at most 1 MiB" in (refused.value.detail or "")


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"[" * 5000 + b"]" * 5000, "application/json", "nested more than 32 levels deep"),
        (
            b"a:\n" + b"".join(b"  " * i + b"b:\n" for i in range(1, 300)),
            "application/yaml",
            "line 33: lists and sections are nested more than 32 levels deep",
        ),
        ("name: Caf\xe9\n".encode("latin-1"), "application/yaml", "not UTF-8 text (byte 0xe9)"),
        ("name: x\n".encode("utf-16"), "application/json", "not UTF-8 text (byte 0xff)"),
        (b"[1, 2]", "application/json", "expected a mapping of 'key: value' entries"),
        (b"name: x\x00\n", "application/yaml", "U+0000 is not allowed"),
        (b"name: !!python/object/apply:os.system [x]\n", "application/yaml", "is not allowed"),
    ],
    ids=["deep-json", "deep-yaml", "latin-1", "utf-16", "a-list", "nul", "python-tag"],
)
def test_a_hostile_body_is_refused_as_a_hostile_file_is(body, content_type, message):
    """A request body goes through the checks of every document read from a file."""
    from scaleready.errors import ProfileError
    from scaleready.service.assessing import read_request

    with pytest.raises(ProfileError) as refused:
        read_request(body, content_type, None)
    assert message in str(refused.value) and str(refused.value).startswith("request body: ")
    assert "the file" not in str(refused.value)  # a body, not a file
