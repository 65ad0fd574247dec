"""The Python API as an embedder uses it: dicts in, policies from data, many profiles at once,
errors whose problems map back onto a form's fields, and names looked up with suggestions."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import scaleready
from scaleready import (
    Engine,
    EngineError,
    InputError,
    PluginError,
    Policy,
    PolicyError,
    Problem,
    ProfileError,
    RulesetError,
    create_engine,
    load_profile,
)
from scaleready.language.ruleset import load_ruleset
from scaleready.plugins import DerivedFact
from tests.conftest import PLUGINS, REPO, write

GOODSAM = REPO / "examples" / "goodsam.yaml"
SCALE_UP = REPO / "examples" / "policies" / "scale-up-fund.yaml"


@pytest.fixture(scope="module")
def built() -> Engine:
    return create_engine()[0]


@pytest.fixture(scope="module")
def goodsam() -> dict:
    return yaml.safe_load(GOODSAM.read_text())


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


# ---------------------------------------------------------------- a profile given as a dict


def test_a_dict_is_assessed_as_the_file_holding_it_is(built, goodsam):
    from_dict = built.assess(goodsam)
    from_file = built.assess(load_profile(GOODSAM, built.profile_model))
    assert from_dict.overall == from_file.overall
    assert from_dict.dimensions == from_file.dimensions


def test_a_dict_that_is_not_a_profile_is_a_profile_error_with_its_field_paths(built, goodsam):
    bad = {**goodsam, "name": 3}
    bad["evidence"] = {"evaluations": [{"design": "rtc"}]}
    with pytest.raises(ProfileError) as caught:
        built.assess(bad, source="application 7")
    assert str(caught.value).startswith("application 7: 2 problems:")
    paths = [problem.path for problem in caught.value.problems]
    assert paths == ["name", "evidence.evaluations[0].design"]
    assert "did you mean 'rct'?" in caught.value.problems[1].message


def test_something_neither_a_profile_nor_a_dict_is_a_type_error_saying_what_to_do(built):
    with pytest.raises(TypeError, match=r"not str; read a file with scaleready.load_profile"):
        built.assess(str(GOODSAM))  # type: ignore[arg-type]


# ---------------------------------------------------------------- structured problems


def test_an_unknown_key_is_a_problem_at_its_own_path_with_its_line(tmp_path, built):
    profile = write(
        tmp_path / "p.yaml",
        "name: Club\nevidence:\n  evaluations:\n    - design: rct\n      desgin: rct\n",
    )
    with pytest.raises(ProfileError) as caught:
        load_profile(profile, built.profile_model)
    assert caught.value.problems == [
        Problem("evidence.evaluations[0].desgin", "unknown key 'desgin'; did you mean 'design'?", 5)
    ]
    assert "line 5: evidence.evaluations.1: unknown key 'desgin'" in str(caught.value)


def test_an_unknown_section_is_a_problem_at_its_own_path(built):
    with pytest.raises(ProfileError) as caught:
        built.assess({"name": "Club", "evidense": {"evaluations": []}})
    [problem] = caught.value.problems
    assert problem.path == "evidense"
    assert "did you mean 'evidence'?" in problem.message


def test_an_error_about_a_whole_file_is_one_problem_naming_no_field(tmp_path):
    with pytest.raises(ProfileError) as caught:
        load_profile(write(tmp_path / "p.yaml", "name: [unclosed\n"))
    [problem] = caught.value.problems
    assert problem.path == ""
    assert problem.line == 2 or problem.line == 1
    assert problem.message in str(caught.value)


def test_a_key_that_is_not_a_plain_name_is_quoted_in_its_path(built, goodsam):
    with pytest.raises(ProfileError) as caught:
        built.assess({**goodsam, "identifiers": {"grant ref": "x"}})
    assert caught.value.problems[0].path == 'identifiers["grant ref"]'


def test_a_bad_ruleset_file_lists_its_problems_with_paths_and_lines(tmp_path, registry):
    ruleset = (REPO / "tests" / "rulesets" / "language.yaml").read_text()
    broken = ruleset.replace("version:", "verison:", 1)
    with pytest.raises(RulesetError) as caught:
        load_ruleset(write(tmp_path / "r.yaml", broken), registry.fact_kinds())
    paths = {problem.path for problem in caught.value.problems}
    assert {"verison", "version"} <= paths
    assert all(problem.line for problem in caught.value.problems if problem.path == "verison")


def test_a_bad_condition_is_a_problem_at_its_rule_with_its_line(tmp_path):
    text = CRASHING_RULESET.replace("derived.crash > 0", "organisation.staf > 0")
    with pytest.raises(RulesetError) as caught:
        load_ruleset(write(tmp_path / "r.yaml", text), {"crash": "number"})
    [problem] = caught.value.problems
    line = text.splitlines().index("    condition: organisation.staf > 0") + 1
    assert (problem.path, problem.line) == ("rules[0].condition", line)
    assert "organisation.staff" in problem.message


def test_errors_cross_processes_whole():
    errors = [
        ProfileError("bad", source="f.yaml", problems=[Problem("name", "bad", 3)]),
        PluginError("broke", plugin="p", source="s"),
        EngineError("stuck", source="profiles[2]"),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert (type(copy), str(copy), copy.__dict__) == (type(error), str(error), error.__dict__)


# ---------------------------------------------------------------- policies from Python


def test_a_policy_from_a_dict_gates_as_the_same_policy_from_its_file(built, goodsam):
    from_file = Policy.from_file(SCALE_UP)
    from_dict = Policy.from_dict(yaml.safe_load(SCALE_UP.read_text()))
    by_file = built.assess(goodsam, policy=from_file)
    by_dict = built.assess(goodsam, policy=from_dict.to_dict())
    assert by_file.gate is not None and by_dict.gate is not None
    assert (by_dict.gate.passed, by_dict.gate.reasons) == (
        by_file.gate.passed,
        by_file.gate.reasons,
    )
    assert by_dict.gate.policy_sha256 == from_dict.sha256
    assert by_dict.overall == by_file.overall


def test_a_policy_dict_with_a_bad_value_names_its_field(built, goodsam):
    with pytest.raises(PolicyError) as caught:
        built.assess(goodsam, policy={"name": "Fund", "minimum_levels": {"evidence": 9}})
    assert caught.value.problems[0].path == "minimum_levels.evidence"


def test_a_policy_naming_a_ruleset_not_assessed_suggests_the_nearest(built, goodsam):
    with pytest.raises(PolicyError) as caught:
        built.assess(goodsam, policy={"name": "Fund", "weights": {"evidnce": 2}})
    assert "did you mean 'evidence'?" in str(caught.value)
    assert caught.value.problems[0].path == "weights.evidnce"


# ---------------------------------------------------------------- names looked up


def test_create_engine_suggests_a_ruleset_for_a_misspelt_id():
    with pytest.raises(InputError, match="did you mean 'evidence'?"):
        create_engine(["evidnce"])


@pytest.mark.parametrize(
    ("reference", "suggestion"),
    [
        ("evidence.theory_of_chnage", "evidence.theory_of_change"),
        ("theory_of_chnage", "theory_of_change"),
        ("evidnce.theory_of_change", "evidence"),
    ],
    ids=["ruleset.rule", "rule", "ruleset"],
)
def test_explain_suggests_the_nearest_rule_or_ruleset(built, goodsam, reference, suggestion):
    with pytest.raises(InputError, match=f"did you mean '{suggestion}'"):
        built.explain(goodsam, reference)


def test_explain_takes_a_dict(built, goodsam):
    explanation = built.explain(goodsam, "evidence.theory_of_change")
    assert explanation.ruleset == "evidence"
    assert explanation.outcome in ("pass", "fail", "unknown")


# ---------------------------------------------------------------- assess_many


def test_assess_many_gives_each_profile_its_scorecard_or_its_error_in_order(built, goodsam):
    profiles = [goodsam, {"name": 3}, load_profile(GOODSAM, built.profile_model), goodsam]
    results = list(built.assess_many(profiles))
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert [r.ok for r in results] == [True, False, True, True]
    assert isinstance(results[1].error, ProfileError)
    assert str(results[1].error).startswith("profiles[1]: name:")
    assert results[0].scorecard == built.assess(goodsam, source="profiles[0]")


def test_assess_many_reports_what_is_not_a_profile_as_that_items_profile_error(built, goodsam):
    results = list(built.assess_many([str(GOODSAM), goodsam]))
    assert isinstance(results[0].error, ProfileError)
    assert "expected a mapping of fields" in str(results[0].error)
    assert results[1].ok


def test_assess_many_applies_a_policy_to_every_profile(built, goodsam):
    policy = Policy.from_file(SCALE_UP)
    [result] = built.assess_many([goodsam], policy=policy)
    assert result.scorecard is not None and result.scorecard.gate is not None
    assert result.scorecard.gate == built.assess(goodsam, policy=policy).gate


def test_assess_many_refuses_a_bad_policy_before_assessing_anything(built, goodsam):
    results = built.assess_many([goodsam], policy={"name": "Fund", "weights": {"nope": 1}})
    with pytest.raises(PolicyError):
        next(results)


@pytest.mark.slow
def test_assess_many_on_worker_processes_gives_what_one_process_gives(built, goodsam):
    profiles = [{**goodsam, "name": f"Application {n}"} for n in range(120)]
    profiles[57] = {"name": ["not", "text"]}
    policy = Policy.from_file(SCALE_UP)
    alone = list(built.assess_many(profiles, policy=policy))
    many = built.assess_many(profiles, jobs=2, policy=policy)
    first = next(many)
    workers = multiprocessing.active_children()
    assert len(workers) >= 2 and all(w.pid != os.getpid() for w in workers)
    together = [first, *many]
    assert [r.index for r in together] == list(range(120))
    assert [r.scorecard for r in together] == [r.scorecard for r in alone]
    assert [str(r.error) for r in together] == [str(r.error) for r in alone]
    assert str(together[57].error).startswith("profiles[57]: name:")


def crash_on_name(profile) -> float:
    """A derived fact that kills its process for one profile: a crash in native code."""
    if profile.name == "Crash":
        os._exit(9)
    return 1.0


CRASHING_RULESET = """\
id: crashing
title: Crashing
version: 0.0.1
summary: A test ruleset reading a derived fact that kills its process for one profile.
levels:
  1: It runs.
references: []
rules:
  - id: reads_the_fact
    title: Reads the fact
    level: 1
    condition: derived.crash > 0
    pass: The fact holds.
    fail: The fact does not hold.
    advice: None.
"""


@pytest.mark.slow
def test_a_worker_that_dies_costs_failed_items_not_the_rest(tmp_path):
    ruleset = load_ruleset(write(tmp_path / "crashing.yaml", CRASHING_RULESET), {"crash": "number"})
    fact = DerivedFact("crash", crash_on_name, "number", "Crashes.", "tests", time_limit=None)
    engine = Engine([ruleset], {"crash": fact}, backend="python")
    profiles = [{"name": "Crash" if n == 40 else f"P{n}"} for n in range(200)]
    results = list(engine.assess_many(profiles, jobs=2))
    assert [r.index for r in results] == list(range(200))
    failed = [r for r in results if not r.ok]
    assert results[40] in failed
    assert all("worker process assessing it stopped" in str(r.error) for r in failed)
    assert failed == [results[40]]


def test_an_engine_pickles_as_its_parts_and_assesses_alike(built, goodsam):
    copy = pickle.loads(pickle.dumps(built))
    assert copy is not built and copy.backend == built.backend
    assert copy.assess(goodsam) == built.assess(goodsam)


def test_every_public_name_is_importable():
    for name in scaleready.__all__:
        assert getattr(scaleready, name) is not None, name
    assert Path(scaleready.__file__).with_name("py.typed").is_file()


def test_an_engine_that_cannot_go_to_workers_says_why_and_what_to_do(tmp_path):
    ruleset = load_ruleset(write(tmp_path / "crashing.yaml", CRASHING_RULESET), {"crash": "number"})
    local = DerivedFact("crash", lambda profile: 1.0, "number", "One.", "tests", time_limit=None)
    engine = Engine([ruleset], {"crash": local}, backend="python")
    assert [r.ok for r in engine.assess_many([{"name": "A"}])] == [True]
    with pytest.raises(TypeError, match="not as a lambda or inside a function; or use jobs=1"):
        list(engine.assess_many([{"name": "A"}], jobs=2))


def test_a_policy_naming_a_ruleset_not_installed_names_the_key_at_fault():
    with pytest.raises(PolicyError) as caught:
        create_engine(policy={"name": "Fund", "minimum_levels": {"social_valu": 1}})
    [problem] = caught.value.problems
    assert problem.path == "minimum_levels"
    assert "names ruleset 'social_valu', which is not installed" in problem.message


@pytest.fixture(scope="module")
def social_action():
    """An engine with a plugin's profile section: its profiles are of a model made at run time."""
    sys.path.insert(0, str(PLUGINS / "scaleready-social-action"))
    try:
        plugin = importlib.import_module("scaleready_social_action")
        yield create_engine(["social_action"], plugins=[plugin], load_entry_points=False)[0]
    finally:
        sys.path.remove(str(PLUGINS / "scaleready-social-action"))
        sys.modules.pop("scaleready_social_action", None)


@pytest.mark.slow
def test_profiles_with_a_plugins_section_go_to_workers_and_come_back_alike(social_action):
    from tests.test_sections import PEER_HELPERS

    profile = social_action.profile_of(PEER_HELPERS)
    assert type(profile) is not scaleready.InnovationProfile  # not importable by name
    profiles = [profile, PEER_HELPERS] * 30
    alone = [r.scorecard for r in social_action.assess_many(profiles)]
    together = [r.scorecard for r in social_action.assess_many(profiles, jobs=2)]
    assert None not in together and together == alone


ORPHANING = """\
import multiprocessing, sys, time
import scaleready
engine, _ = scaleready.create_engine()
results = engine.assess_many([{"name": f"P{n}"} for n in range(100000)], jobs=2)
next(results)
print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
time.sleep(120)
"""


def running(pid: int) -> bool:
    """True if the process exists and has not ended (a zombie waiting to be reaped has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_workers_end_when_the_callers_process_is_killed(tmp_path):
    script = write(tmp_path / "orphaning.py", ORPHANING)
    with subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True
    ) as caller:
        try:
            assert caller.stdout is not None
            workers = [int(pid) for pid in caller.stdout.readline().split()]
            assert len(workers) == 2 and all(map(running, workers))
        finally:
            caller.kill()
    deadline = time.monotonic() + 10
    while any(map(running, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(running, workers))
