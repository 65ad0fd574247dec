"""A round on a Dask cluster of real worker processes: the local pool's outputs byte for byte,
a worker killed mid-round costing nothing, an item that kills workers reported as failed, and a
cluster that cannot be used refused with a clear message (exit 2) before any work."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from itertools import chain
from pathlib import Path

import pytest
import yaml

from scaleready.assessment.build import create_engine
from scaleready.errors import ClusterError
from scaleready.rounds import batch
from scaleready.rounds.executors import executor_for
from scaleready.synthetic import synthetic_profiles
from tests.conftest import EXAMPLES, REPO, SCALEREADY, run_scaleready, synthetic_round, write
from tests.test_hostile import _write_files as write_case_files

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
import dask.config  # noqa: E402  # installed with distributed

from scaleready.rounds.cluster import DaskCluster  # noqa: E402  # needs distributed

POLICY = REPO / "examples" / "policies" / "scale-up-fund.yaml"
SYNTHETIC = 300  # profiles in each generated file: with the examples, more than a pool's share
FIXED_TIME = {"SOURCE_DATE_EPOCH": "1700000000"}  # the scorecards' time, here and on workers


def local_cluster(**worker_options: object):
    """Two worker processes (one thread each), each under a nanny that restarts it if it dies."""
    return distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # any free port: never a clash with another cluster
        **worker_options,
    )


@pytest.fixture(scope="module")
def cluster():
    with local_cluster() as running, distributed.Client(running) as client:
        yield running.scheduler_address, client


@pytest.fixture(scope="module")
def round_sources(tmp_path_factory) -> list[Path]:
    """A folder (the examples, a broken file, an unknown field), a JSONL file (a byte-order
    mark, bad lines), a CSV and an XLSX file (bad cells): every kind of task a round is cut into."""
    root = tmp_path_factory.mktemp("round")
    folder = root / "applications"
    for example in EXAMPLES:
        write(folder / example.name, example.read_text(encoding="utf-8"))
    write(folder / "broken.yaml", "name: [unclosed\n")
    write(folder / "unknown.yaml", "name: Unknown field\norganisation:\n  turnover: 3\n")
    lines = [json.dumps(p) for p in synthetic_profiles(SYNTHETIC, seed=3)]
    lines[10:10] = ["not json", "[1, 2]", '{"name": "Bad", "organisation": {"founded": "x"}}', ""]
    jsonl = root / "round.jsonl"
    jsonl.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n")
    return [folder, jsonl, flat_round(root / "round.csv"), flat_round(root / "round.xlsx", 40, 6)]


def flat_round(path: Path, count: int = SYNTHETIC, seed: int = 4) -> Path:
    """A CSV or XLSX round of synthetic profiles, a word where row 4's number should be."""
    return synthetic_round(path, count, seed, bad_row=2)


def run_round(sources, out: Path, *options: object, env: dict | None = None):
    """`scaleready batch` writing every output into ``out``; (result, {output: bytes})."""
    out.mkdir()
    files = {"summary": out / "s.csv", "scorecards": out / "c.jsonl", "report": out / "r.html"}
    result = run_scaleready(
        "batch", *sources, *options,
        *(f for name, path in files.items() for f in (f"--{name}", path)),
        env={**os.environ, **FIXED_TIME, **(env or {})},
    )  # fmt: skip
    return result, {name: path.read_bytes() for name, path in files.items() if path.exists()}


# --- the same outputs as the local pool -----------------------------------------------------


@pytest.mark.slow
def test_a_round_on_dask_writes_the_local_pools_outputs_byte_for_byte(
    cluster, round_sources, tmp_path
):
    address, _ = cluster
    rules = write(
        tmp_path / "rules" / "evidence.yaml", (REPO / "rulesets" / "evidence.yaml").read_text()
    )
    extra = ["--rules", rules, "--policy", POLICY]
    local, local_outputs = run_round(round_sources, tmp_path / "local", "--jobs", "2", *extra)
    on_dask, dask_outputs = run_round(
        round_sources, tmp_path / "dask", "--executor", "dask", "--scheduler", address, *extra
    )
    assert local.returncode == 3, local.stderr  # the bad rows and files
    assert (on_dask.returncode, on_dask.stdout, on_dask.stderr) == (3, local.stdout, local.stderr)
    assert dask_outputs == local_outputs and set(local_outputs) == {
        "summary",
        "scorecards",
        "report",
    }
    summary = local_outputs["summary"].decode()
    assert summary.count("\n") == len(EXAMPLES) + 2 + 2 * SYNTHETIC + 3 + 40 + 1  # and the header
    assert "not valid JSON" in summary and "broken.yaml" in summary and "'lots'" in summary


@pytest.mark.slow
def test_the_library_gives_the_local_pools_outcomes_on_a_cluster(cluster, round_sources):
    _, client = cluster
    engine, _ = create_engine(rule_files=[], backend="auto")
    options = batch.BatchOptions(tuple(r.id for r in engine.rulesets), keep_scorecards=True)
    assessor = batch.Assessor.around(engine, options)
    local = list(batch.assess_all(batch.Round(round_sources), assessor, jobs=2))
    on_dask = list(
        batch.assess_all(batch.Round(round_sources), assessor, executor=DaskCluster(client))
    )
    assert [o._replace(scorecard_json=None) for o in on_dask] == [
        o._replace(scorecard_json=None) for o in local
    ]
    assert [without_time(o.scorecard_json) for o in on_dask] == [
        without_time(o.scorecard_json) for o in local
    ]
    assert len(local) == len(EXAMPLES) + 2 + 2 * SYNTHETIC + 3 + 40


def without_time(scorecard_json: str | None) -> object:
    if scorecard_json is None:
        return None
    card = json.loads(scorecard_json)
    del card["provenance"]["assessed_at"]  # each process stamps its own time
    return card


# --- workers lost ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_worker_killed_mid_round_costs_nothing(cluster, tmp_path):
    address, client = cluster
    jsonl = write(tmp_path / "big.jsonl", "\n".join(map(json.dumps, synthetic_profiles(3_000))))
    engine, _ = create_engine()
    assessor = batch.Assessor.around(
        engine, batch.BatchOptions(tuple(r.id for r in engine.rulesets))
    )
    expected = [o.values for o in batch.assess_all(batch.Round([jsonl]), assessor, jobs=1)]
    outcomes = batch.assess_all(batch.Round([jsonl]), assessor, executor=DaskCluster(address))
    got = [next(outcomes).values]  # the round has started: every worker holds tasks
    victim = busy_worker(client)
    os.kill(client.run(os.getpid, workers=[victim])[victim], signal.SIGKILL)
    got += [o.values for o in outcomes]
    assert got == expected
    client.wait_for_workers(2, timeout=60)  # the nanny has started another, for the next tests


def busy_worker(client) -> str:
    """A worker with one of the round's tasks in hand."""
    processing = client.processing()
    return next(w for w, keys in processing.items() if any("scaleready" in str(k) for k in keys))


@pytest.mark.slow
def test_an_item_that_kills_every_worker_it_meets_is_a_failed_item(
    plugin_sites, tmp_path, monkeypatch
):
    trouble = plugin_sites("scaleready-trouble")
    profiles = list(synthetic_profiles(40))
    jsonl = tmp_path / "trouble.jsonl"
    local, local_outputs = run_round(
        [write(jsonl, "\n".join(map(json.dumps, profiles)))], tmp_path / "local",
        "--ruleset", "trouble", env=trouble,
    )  # fmt: skip  # (a round this small is assessed in the main process: no trouble in it)
    profiles[3]["name"] = "Trouble: worker exits"
    write(jsonl, "\n".join(map(json.dumps, profiles)))
    config = {"distributed.scheduler.allowed-failures": 0}  # a task lost with a worker: given up
    monkeypatch.syspath_prepend(trouble["PYTHONPATH"].split(os.pathsep)[0])  # workers copy it
    with dask.config.set(config), local_cluster() as running:
        on_dask, dask_outputs = run_round(
            [jsonl], tmp_path / "dask", "--ruleset", "trouble", "--executor", "dask",
            "--scheduler", running.scheduler_address, env=trouble,
        )  # fmt: skip
    assert (local.returncode, on_dask.returncode) == (0, 4), on_dask.stderr
    local_rows = list(csv.DictReader(local_outputs["summary"].decode().splitlines()))
    dask_rows = list(csv.DictReader(dask_outputs["summary"].decode().splitlines()))
    lost = f"{jsonl}:line 4: internal error: the Dask task assessing it failed on every try"
    assert dask_rows[3]["error"].startswith(lost) and "KilledWorker" in dask_rows[3]["error"]
    assert dask_rows[:3] + dask_rows[4:] == local_rows[:3] + local_rows[4:]
    assert (
        "assessed 39 of 40 profiles; 1 could not be assessed (1 by an internal error)"
        in on_dask.stderr
    )
    assert "Traceback" not in on_dask.stderr


# --- a cluster that cannot be used: refused before any work, exit 2 ---------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scheduler", "said"),
    [
        (f"tcp://127.0.0.1:{free_port()}", "cannot reach the Dask scheduler at tcp://127.0.0.1:"),
        ("localhost", "'localhost' is not a Dask scheduler's address (missing port number"),
    ],
    ids=["nothing listening", "no port"],
)
def test_a_scheduler_that_cannot_be_reached_is_exit_2_without_a_traceback(
    tmp_path, scheduler, said
):
    result, outputs = run_round(
        EXAMPLES, tmp_path / "out", "--executor", "dask", "--scheduler", scheduler
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {said}") and "Traceback" not in result.stderr
    assert outputs == {}


@pytest.mark.slow
def test_workers_without_the_plugins_installed_here_are_refused(cluster, plugin_sites, tmp_path):
    address, _ = cluster
    trouble = plugin_sites("scaleready-trouble")  # here only: the workers do not have it
    result, outputs = run_round(
        EXAMPLES, tmp_path / "out", "--executor", "dask", "--scheduler", address, env=trouble
    )
    assert result.returncode == 2, result.stderr
    assert "Dask workers cannot assess this round as this machine would" in result.stderr
    assert "derived facts:" in result.stderr and "'trouble'] here" in result.stderr
    assert "Traceback" not in result.stderr and outputs == {}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("options", "said"),
    [
        (["--executor", "dask"], "--executor dask needs --scheduler ADDRESS"),
        (["--scheduler", "tcp://127.0.0.1:8786"], "--scheduler is for --executor dask"),
    ],
    ids=["dask without a scheduler", "a scheduler without dask"],
)
def test_executor_options_that_do_not_fit_together_are_exit_2(tmp_path, options, said):
    result, outputs = run_round(EXAMPLES, tmp_path / "out", *options)
    assert (result.returncode, outputs) == (2, {})
    assert result.stderr.startswith(f"error: {said}")


@pytest.mark.slow
def test_a_terminated_round_leaves_no_output_and_nothing_on_the_cluster(cluster, tmp_path):
    address, client = cluster
    jsonl = write(tmp_path / "big.jsonl", "\n".join(map(json.dumps, synthetic_profiles(3_000))))
    summary = tmp_path / "s.csv"
    args = [SCALEREADY, "batch", jsonl, "--executor", "dask", "--scheduler", address]
    with subprocess.Popen(
        [*map(str, args), "--summary", str(summary)], stderr=subprocess.PIPE, text=True
    ) as running:
        wait_until(lambda: any(map(is_ours, chain(*client.processing().values()))))
        running.send_signal(signal.SIGTERM)
        _, stderr = running.communicate(timeout=120)
    assert running.returncode == 143, stderr
    assert "terminated (SIGTERM): stopped; no output was left half-written" in stderr
    assert not summary.exists() and "Traceback" not in stderr
    assert not any(map(is_ours, chain(*client.processing().values())))
    assert client.run(lambda dask_worker: [n for n in dask_worker.plugins if is_ours(n)]) == {
        worker: [] for worker in client.nthreads()
    }


def is_ours(name: object) -> bool:
    return str(name).startswith("scaleready-")


def wait_until(condition, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the round never started"
        time.sleep(0.05)


def test_without_the_dask_extra_the_message_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "scaleready.rounds.cluster")
    with pytest.raises(ClusterError, match=r"install it with pip install 'scaleready\[dask\]'"):
        executor_for("dask", scheduler="tcp://127.0.0.1:8786")
    assert ClusterError.exit_code == 2


# One case of each way a round is read and sent (all 22 pass; these keep CI's run short).
HOSTILE_ROUNDS = [
    REPO / "tests" / "hostile" / "batch-input" / f"{name}.yaml"
    for name in (
        "csv-latin1-row-248",  # rows read as Windows-1252, a warning
        "csv-utf16-unicode-text-from-excel",  # a .txt file: a profile of an unknown kind
        "csv-grant-system-columns-strict",  # --strict-columns
        "jsonl-latin1-line",  # a line that is not UTF-8, inside a range sent as bytes
        "jsonl-nested-5000-deep",
        "xlsx-damaged-mid-sheet",  # rows read before the damage, then the file's error
        "xlsx-not-a-zip",  # a file that cannot be read at all, beside a good JSONL file
    )
]


@pytest.mark.slow
@pytest.mark.parametrize("case_file", HOSTILE_ROUNDS, ids=lambda path: path.stem)
def test_a_hostile_round_ends_on_dask_as_on_the_local_pool(cluster, case_file, tmp_path):
    """The hostile corpus's rounds, run where the workers cannot read the files (relative paths
    from the command's own folder): the same exit code, messages and summary."""
    address, _ = cluster
    case = yaml.safe_load(case_file.read_text(encoding="utf-8"))
    ran = {}
    for executor in ("local", "dask"):
        folder = tmp_path / executor
        folder.mkdir()
        write_case_files(folder, case["files"])
        options = ["--executor", "dask", "--scheduler", address] if executor == "dask" else []
        ran[executor] = subprocess.run(
            [str(SCALEREADY), *map(str, case["args"]), "--jobs", "2", *options],
            cwd=folder, capture_output=True, timeout=120, env={**os.environ, **FIXED_TIME},
        )  # fmt: skip
        ran[executor].outputs = {p.name: p.read_bytes() for p in folder.glob("summary.*")}
    local, on_dask = ran["local"], ran["dask"]
    assert on_dask.returncode == local.returncode == case["exit"], on_dask.stderr
    assert (on_dask.stdout, on_dask.stderr) == (local.stdout, local.stderr)
    assert on_dask.outputs == local.outputs


@pytest.mark.slow
def test_a_scheduler_lost_mid_round_is_a_cluster_error_not_a_hang(tmp_path):
    jsonl = write(tmp_path / "big.jsonl", "\n".join(map(json.dumps, synthetic_profiles(3_000))))
    engine, _ = create_engine()
    options = batch.BatchOptions(tuple(r.id for r in engine.rulesets))
    assessor = batch.Assessor.around(engine, options)
    with local_cluster() as doomed:
        outcomes = batch.assess_all(
            batch.Round([jsonl]), assessor, executor=DaskCluster(doomed.scheduler_address)
        )
        next(outcomes)  # the round has started
        doomed.close()
        with pytest.raises(ClusterError, match="lost the Dask scheduler at .* during the round"):
            list(outcomes)
