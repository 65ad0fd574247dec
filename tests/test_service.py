"""The HTTP service as a grant system meets it: a real `scaleready serve` with two worker
processes, started once for the module, spoken to over HTTP; its history read back as an
auditor would."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from scaleready.history import open_store
from tests.conftest import REPO, SCALEREADY, run_scaleready, synthetic_round

pytestmark = pytest.mark.slow

EPOCH = "1700000000"  # SOURCE_DATE_EPOCH: the server's scorecards and batch's, at one time
LIMIT = 1_000_000  # --max-request-bytes
STALE_AFTER = 5  # --stale-after: seconds without a heartbeat before a round is taken up again
POLICIES = REPO / "examples" / "policies"
CODE_CLUB = REPO / "examples" / "code-club.yaml"
PROBLEM_JSON = "application/problem+json"


@dataclass
class Server:
    url: str
    store_url: str
    tokens: dict[str, str]
    log: Path

    def history(self, method: str, *args, **kwargs):
        """What the history answers to one call, as an auditor reads it."""
        with open_store(self.store_url) as store:
            return getattr(store, method)(*args, **kwargs)

    def client(self, funder: str | None = None, token: str | None = None) -> httpx.Client:
        """A client acting for a funder (with its token), or with the token given, or none."""
        token = token or (self.tokens[funder] if funder else None)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory) -> Iterator[Server]:
    """The service on a SQLite history, and on a real PostgreSQL server's."""
    folder = tmp_path_factory.mktemp("service")
    store_url = f"sqlite:///{folder / 'history.sqlite'}"
    if request.param == "postgresql":
        from tests import postgres

        store_url = postgres.new_database(request.getfixturevalue("postgres_server"))
    tokens = {}
    for funder in ("funder-a", "funder-b"):
        label = ("--label", f"{funder} portal")
        issued = run_scaleready("token", "issue", funder, *label, "--url", store_url)
        assert issued.returncode == 0, issued.stderr
        tokens[funder] = issued.stdout.strip()
    port, log = free_port(), folder / "serve.log"
    command = [SCALEREADY, "serve", "--port", port, "--workers", 2, "--url", store_url]
    command += ["--policies", POLICIES, "--max-request-bytes", LIMIT]
    command += ["--rounds-dir", folder / "rounds", "--stale-after", STALE_AFTER]
    environment = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    with open(log, "wb") as output:
        process = subprocess.Popen(
            list(map(str, command)), stdout=output, stderr=subprocess.STDOUT, env=environment
        )
    found = Server(f"http://127.0.0.1:{port}", store_url, tokens, log)
    try:
        _wait_until_up(found, process)
        yield found
    finally:
        process.terminate()
        process.wait(timeout=60)


def _wait_until_up(server: Server, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, server.log.read_text()
        try:
            if httpx.get(server.url + "/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"the service did not start:\n{server.log.read_text()}")


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == f"urn:scaleready:problem:{kind}"
    assert problem["status"] == status
    return problem


def post_profile(client: httpx.Client, path: Path = CODE_CLUB, **kw) -> httpx.Response:
    headers = {"Content-Type": "application/yaml", **kw.pop("headers", {})}
    return client.post("/assessments", content=path.read_bytes(), headers=headers, **kw)


# --- access -------------------------------------------------------------------------------------


def test_health_answers_without_a_token(server):
    health = httpx.get(server.url + "/health").json()
    assert health["status"] == "ok" and health["worker"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer sr_not-a-token", "Basic ZnVuZGVyOnNlY3JldA=="],
    ids=["missing", "unknown", "not-bearer"],
)
def test_a_request_without_a_known_token_is_refused_401(server, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.post(
        server.url + "/assessments", content=CODE_CLUB.read_bytes(), headers=headers
    )
    problem = assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "token" in problem["detail"]


def test_a_revoked_token_is_refused(server):
    issued = run_scaleready("token", "issue", "funder-c", "--url", server.store_url)
    token = issued.stdout.strip()
    with server.client(token=token) as client:
        assert client.get("/assessments").status_code == 200
        listed = run_scaleready(
            "token", "list", "--funder", "funder-c", "--json", "--url", server.store_url
        )
        (token_id,) = [row["id"] for row in json.loads(listed.stdout)]
        run_scaleready("token", "revoke", token_id, "--url", server.store_url)
        assert_problem(client.get("/assessments"), 401, "unauthorized")
    assert token not in listed.stdout  # only its hash is kept


def test_each_funder_sees_only_its_own_assessments(server):
    with server.client("funder-a") as a, server.client("funder-b") as b:
        mine = post_profile(a).json()
        theirs = post_profile(b).json()
        assert mine["funder"] == "funder-a" and theirs["funder"] == "funder-b"
        listed = {item["id"] for item in a.get("/assessments").json()["items"]}
        assert mine["id"] in listed and theirs["id"] not in listed
        assert a.get(f"/assessments/{mine['id']}").json()["scorecard"] == mine["scorecard"]
        assert_problem(a.get(f"/assessments/{theirs['id']}"), 404, "not-found")


# --- assessing ----------------------------------------------------------------------------------


def test_an_assessment_is_the_cli_scorecard_and_is_recorded_with_caller_and_funder(server):
    with server.client("funder-a") as client:
        response = post_profile(client)
    assert response.status_code == 201
    assessment = response.json()
    assert response.headers["location"] == f"/assessments/{assessment['id']}"
    cli = run_scaleready("assess", CODE_CLUB, "--format", "json", env=_fixed_clock())
    expected = json.loads(cli.stdout)
    expected["profile"]["source"] = None  # a profile sent, not a file
    expected["provenance"]["profile_sha256"] = assessment["profile_sha256"]  # of the data
    assert assessment["scorecard"] == expected
    record = server.history("get", assessment["id"])
    assert (record.funder, record.caller) == ("funder-a", caller_of(server, "funder-a"))
    assert record.profile == yaml.safe_load(CODE_CLUB.read_text())


def caller_of(server: Server, funder: str) -> str:
    """How the history names a caller with this funder's token: by the token's id and label."""
    token = server.history("token_info", server.tokens[funder])
    assert token is not None and token.funder == funder
    return f"scaleready serve: token {token.id} ({funder} portal)"


def _fixed_clock() -> dict[str, str]:
    return {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}


def test_a_policy_is_applied_by_name_or_sent_inline(server):
    policy_file = POLICIES / "scale-up-fund.yaml"
    profile = yaml.safe_load(CODE_CLUB.read_text())
    with server.client("funder-a") as client:
        named = post_profile(client, params={"policy": "scale-up-fund"}).json()
        inline = client.post(
            "/assessments",
            json={"profile": profile, "policy": yaml.safe_load(policy_file.read_text())},
        ).json()
    cli = run_scaleready("assess", CODE_CLUB, "--policy", policy_file, "--format", "json")
    gate = json.loads(cli.stdout)["gate"]
    assert named["scorecard"]["gate"] == gate
    assert {**inline["scorecard"]["gate"], "policy_sha256": None} == {
        **gate,
        "policy_sha256": None,
    }
    assert named["policy_sha256"] == gate["policy_sha256"]
    record = server.history("get", named["id"])
    assert record.policy is not None and record.policy["name"] == gate["policy"]


def test_an_unknown_policy_name_is_named_with_a_suggestion(server):
    with server.client("funder-a") as client:
        response = post_profile(client, params={"policy": "scale-up-fnd"})
    problem = assert_problem(response, 422, "invalid-policy")
    assert "did you mean 'scale-up-fund'?" in problem["detail"]


BAD_PROFILE = """\
name: Bad club
organisation:
  founded: next year
evidence:
  evaluations:
    - design: randomised
      year: 2020
"""


def test_a_bad_profile_is_422_with_the_cli_messages_by_field_and_line(server, tmp_path):
    with server.client("funder-a") as client:
        response = client.post(
            "/assessments", content=BAD_PROFILE, headers={"Content-Type": "application/yaml"}
        )
    problem = assert_problem(response, 422, "invalid-profile")
    fields = [error["field"] for error in problem["errors"]]
    assert fields == ["organisation.founded", "evidence.evaluations.1.design"]
    cli = run_scaleready("profile", "validate", _write(tmp_path / "bad.yaml", BAD_PROFILE))
    assert cli.returncode == 3
    for error in problem["errors"]:
        assert f"line {error['line']}: {error['field']}: {error['detail']}" in cli.stderr


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "content_type", "status", "kind"),
    [
        ("name: [unclosed", "application/yaml", 422, "invalid-profile"),
        ('{"name": "x",}', "application/json", 422, "invalid-profile"),
        ("name: x", "text/plain", 415, "unsupported-media-type"),
    ],
    ids=["bad-yaml", "bad-json", "unknown-media-type"],
)
def test_a_body_that_is_no_profile_is_a_problem_naming_why(
    server, body, content_type, status, kind
):
    with server.client("funder-a") as client:
        response = client.post("/assessments", content=body, headers={"Content-Type": content_type})
    assert assert_problem(response, status, kind)["detail"]


def test_a_retried_post_with_the_same_idempotency_key_is_assessed_once(server):
    key = {"Idempotency-Key": "application-1234-attempt"}
    with server.client("funder-a") as client:
        first = post_profile(client, headers=key)
        again = post_profile(client, headers=key)
        with ThreadPoolExecutor(4) as pool:  # and retries arriving at once, on both workers
            at_once = list(pool.map(lambda _: post_profile(client, headers=key), range(4)))
        other = client.post("/assessments", json={"name": "Another club"}, headers=key)
    assert first.status_code == 201 and again.status_code == 200
    assert {r.json()["id"] for r in [again, *at_once]} == {first.json()["id"]}
    records = server.history("find", funder="funder-a", limit=None)
    assert [r.id for r in records if r.idempotency_key == key["Idempotency-Key"]] == [
        first.json()["id"]
    ]
    assert "another profile" in assert_problem(other, 422, "idempotency-key-reused")["detail"]
    with server.client("funder-b") as client:  # a key is the funder's own
        assert post_profile(client, headers=key).status_code == 201


def test_a_request_over_the_size_limit_is_413(server):
    big = b"name: x\n" + b"#" * LIMIT
    with server.client("funder-a") as client:
        declared = post_profile_bytes(client, big)
        chunked = post_profile_bytes(client, iter([big[: LIMIT // 2], big[LIMIT // 2 :]]))
    for response in (declared, chunked):
        assert "larger than 1,000,000 bytes" in assert_problem(response, 413, "too-large")["detail"]


def post_profile_bytes(client: httpx.Client, content) -> httpx.Response:
    return client.post(
        "/assessments", content=content, headers={"Content-Type": "application/yaml"}
    )


# --- the catalogue ------------------------------------------------------------------------------


def test_rulesets_and_schemas_are_those_the_cli_gives(server):
    with server.client("funder-b") as client:
        rulesets = client.get("/rulesets").json()
        evidence = client.get("/rulesets/evidence").json()
        missing = client.get("/rulesets/evidense")
        schemas = {k: client.get(f"/schemas/{k}").json() for k in ("profile", "scorecard")}
        policy_schema = client.get("/schemas/policy").json()
    cli = json.loads(run_scaleready("rulesets", "list", "--json").stdout)
    assert [(r["id"], r["version"]) for r in rulesets] == [(r["id"], r["version"]) for r in cli]
    assert evidence["id"] == "evidence" and evidence["rules"]
    assert "did you mean 'evidence'?" in assert_problem(missing, 404, "not-found")["detail"]
    assert schemas["profile"] == json.loads(run_scaleready("profile", "schema").stdout)
    assert schemas["scorecard"] == json.loads(run_scaleready("scorecard", "schema").stdout)
    assert "minimum_levels" in policy_schema["properties"]


# --- rounds -------------------------------------------------------------------------------------


def write_round(path: Path, count: int) -> Path:
    """A round as CSV or XLSX (by the suffix): generated profiles, a wrong type in row 3."""
    return synthetic_round(path, count, seed=11, bad_row=1)


def wait_for_round(client: httpx.Client, location: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        try:
            status = client.get(location).json()
        except httpx.TransportError:  # a connection to a worker that was killed: poll again
            continue
        if status["status"] in ("done", "failed"):
            return status
        time.sleep(0.3)
    raise AssertionError(f"the round did not end: {status}")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.mark.parametrize(
    ("name", "media_type", "upload"),
    [
        ("round.csv", "text/csv", "multipart"),
        ("round.csv", "text/csv", "body"),
        ("round.xlsx", XLSX, "multipart"),
    ],
    ids=["csv-multipart", "csv-body", "xlsx-multipart"],
)
def test_a_round_gives_the_same_summary_and_scorecards_as_batch(
    server, tmp_path, name, media_type, upload
):
    round_file = write_round(tmp_path / name, 30)
    params = {"policy": "scale-up-fund"}
    with server.client("funder-a") as client:
        if upload == "multipart":
            files = {"file": (name, round_file.read_bytes(), media_type)}
            response = client.post("/rounds", files=files, params=params)
        else:
            response = client.post(
                "/rounds",
                content=round_file.read_bytes(),
                params={**params, "filename": name},
                headers={"Content-Type": media_type},
            )
        assert response.status_code == 202, response.text
        location = response.headers["location"]
        assert client.get(location + "/summary").status_code in (200, 409)  # 409 until done
        status = wait_for_round(client, location)
        summary = client.get(location + "/summary")
        scorecards = client.get(location + "/scorecards")
    assert status["status"] == "done", json.dumps(status)
    assert status["summary"]["items"] == 30 and status["summary"]["errors"] == 1
    shutil.copy(POLICIES / "scale-up-fund.yaml", tmp_path)
    outputs = ("--summary", "summary.csv", "--scorecards", "scorecards.jsonl")
    policy = ("--policy", "scale-up-fund.yaml")
    batch = run_scaleready("batch", name, *policy, *outputs, env=_fixed_clock(), cwd=tmp_path)
    assert batch.returncode == 3, batch.stderr  # the bad row
    assert summary.content == (tmp_path / "summary.csv").read_bytes()
    assert scorecards.content == (tmp_path / "scorecards.jsonl").read_bytes()
    recorded = server.history("find", job_id=status["id"], limit=None)
    cards = [json.loads(line) for line in scorecards.text.splitlines()]
    assert sorted(map(_canonical, (r.scorecard for r in recorded))) == sorted(
        map(_canonical, cards)
    )
    assert {(r.funder, r.caller) for r in recorded} == {("funder-a", caller_of(server, "funder-a"))}


def _canonical(data: dict) -> str:
    return json.dumps(data, sort_keys=True)


def test_a_round_is_another_funders_to_see_not(server):
    with server.client("funder-a") as a, server.client("funder-b") as b:
        content = json.dumps({"name": "One club"}).encode() + b"\n"
        response = a.post(
            "/rounds", content=content, headers={"Content-Type": "application/x-ndjson"}
        )
        location = response.headers["location"]
        assert_problem(b.get(location), 404, "not-found")
        assert_problem(b.get(location + "/summary"), 404, "not-found")
        assert wait_for_round(a, location)["status"] == "done"


def test_a_round_that_is_no_round_is_refused(server):
    with server.client("funder-a") as client:
        response = client.post("/rounds", files={"file": ("round.txt", b"x", "text/plain")})
    assert ".csv, .xlsx or .jsonl" in assert_problem(response, 422, "invalid-round")["detail"]


def test_a_round_whose_worker_is_killed_still_ends(server, tmp_path):
    """SIGKILL the worker process holding a running round: the round's own process dies with
    it, another worker takes the round up once its heartbeat is stale, and it ends, whole."""
    count = 2000
    profiles = ({"name": f"Club {n}", "organisation": {"yearly_income": n}} for n in range(count))
    lines = [json.dumps(profile) for profile in profiles]
    content = ("\n".join(lines) + "\n").encode()
    with open_store(server.store_url) as store, server.client("funder-a") as client:
        response = client.post(
            "/rounds",
            content=content,
            params={"filename": "big.jsonl"},
            headers={"Content-Type": "application/x-ndjson"},
        )
        job_id = response.json()["id"]
        holder = _wait_until_running(store, job_id)
        os.kill(holder, signal.SIGKILL)
        status = wait_for_round(client, response.headers["location"])
        summary = client.get(response.headers["location"] + "/summary").text
        recorded = store.find(job_id=job_id, limit=None)  # each item once, whatever happened
    assert status["status"] == "done", json.dumps(status)
    assert f":{holder})" in status["note"] and "taken up again" in status["note"]
    assert status["summary"]["items"] == count and status["summary"]["errors"] == 0
    assert len(summary.splitlines()) == count + 1
    assert _no_process_left(job_id)  # the first attempt's process died with its worker
    assert sorted(r.scorecard["profile"]["name"] for r in recorded) == sorted(
        f"Club {n}" for n in range(count)
    )


def test_a_round_silent_while_its_worker_lives_is_not_taken_up_again(server):
    """A round's process that says nothing for longer than the stale time while its worker is
    alive (stopped here; in life, starved of CPU while it starts) is still that worker's: no
    watchdog takes it up again, so it never runs twice, and it ends once, whole."""
    count = 1500
    lines = [json.dumps({"name": f"Silent {n}"}) for n in range(count)]
    with open_store(server.store_url) as store, server.client("funder-a") as client:
        response = client.post(
            "/rounds",
            content=("\n".join(lines) + "\n").encode(),
            params={"filename": "silent.jsonl"},
            headers={"Content-Type": "application/x-ndjson"},
        )
        job_id = response.json()["id"]
        _wait_until_running(store, job_id)
        round_processes = _wait_for_processes(job_id)
        for pid in round_processes:
            os.kill(pid, signal.SIGSTOP)
        time.sleep(STALE_AFTER + 4)  # past the stale time, and a watchdog's look after it
        for pid in round_processes:
            os.kill(pid, signal.SIGCONT)
        status = wait_for_round(client, response.headers["location"])
        recorded = store.find(job_id=job_id, limit=None)
    assert status["status"] == "done", json.dumps(status)
    assert status["note"] is None, status["note"]
    assert sorted(r.scorecard["profile"]["name"] for r in recorded) == sorted(
        f"Silent {n}" for n in range(count)
    )


def _wait_for_processes(job_id: str) -> list[int]:
    deadline = time.monotonic() + 60
    while not (found := _processes_running(job_id)):
        assert time.monotonic() < deadline, "the round's process never started"
        time.sleep(0.05)
    return found


def _no_process_left(job_id: str) -> bool:
    deadline = time.monotonic() + 10  # the last attempt's process may be exiting still
    while _processes_running(job_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    return _processes_running(job_id) == []


def _wait_until_running(store, job_id: str) -> int:
    """The pid of the worker holding the round, once it runs."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = store.get_job(job_id)
        if job.status == "running":
            return int(job.worker.rpartition(":")[2])
        assert job.status != "done", "the round ended before its worker could be killed"
        time.sleep(0.1)
    raise AssertionError(f"the round did not start: {store.get_job(job_id)}")


def _processes_running(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found
