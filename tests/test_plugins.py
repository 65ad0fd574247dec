"""The plugin host, with real plugin packages pip-installed from tests/plugins."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from scaleready import hookspecs
from scaleready.assessment.build import create_engine
from scaleready.plugins import (
    AUTOLOAD_OFF_VARIABLE,
    FACT_TIMEOUT_VARIABLE,
    PLUGIN_TIMEOUT_VARIABLE,
    DerivedFact,
    compute_derived_facts,
    load_registry,
)
from scaleready.profile import load_profile
from tests.conftest import REPO, SCALEREADY, pip, run_scaleready

PLUGINS = REPO / "tests" / "plugins"
BUILTINS = {"evidence", "partnership", "contract_fit", "replicability"}
CODE_CLUB = REPO / "examples" / "code-club.yaml"
LOCAL_START = REPO / "examples" / "local-start.yaml"
SHORT_LIMITS = {PLUGIN_TIMEOUT_VARIABLE: "1", FACT_TIMEOUT_VARIABLE: "1"}


def pip_install(package: Path, target: Path) -> Path:
    """Install a plugin package for real, into its own folder (the test venv stays clean)."""
    pip("install", "--target", str(target), str(package))
    return target


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """An environment that sees the named packages of tests/plugins, each installed once;
    uninstalled (their folders removed) when the module's tests are done."""
    sites: dict[str, Path] = {}

    def environment(*packages: str, **variables: str) -> dict:
        for package in packages:
            if package not in sites:
                sites[package] = pip_install(PLUGINS / package, tmp_path_factory.mktemp(package))
        path = os.pathsep.join(str(sites[package]) for package in packages)
        return {**os.environ, "PYTHONPATH": path, **variables}

    yield environment
    for site in sites.values():
        shutil.rmtree(site)


@pytest.fixture(scope="module")
def social_value_env(installed) -> dict:
    return installed("scaleready-social-value")


@pytest.fixture(scope="module")
def broken_env(installed) -> dict:
    return installed("scaleready-broken")


def test_the_built_in_rulesets_are_registered_as_plugins(registry):
    assert set(registry.plugins) >= BUILTINS
    assert all(registry.plugins[name].rulesets == [name] for name in BUILTINS)
    assert not registry.problems


@pytest.mark.slow
def test_an_installed_third_party_plugin_is_listed_with_its_version_and_what_it_provides(
    social_value_env,
):
    listing = run_scaleready("plugins", "--json", env=social_value_env)
    assert listing.returncode == 0, listing.stderr
    plugins = {entry["name"]: entry for entry in json.loads(listing.stdout)}
    assert plugins["social_value"] == {
        "name": "social_value",
        "version": "1.2.0",
        "rulesets": ["social_value"],
        "derived_facts": ["volunteers_per_staff"],
        "sections": [],
        "error": None,
        "distribution": "scaleready-social-value",
        "builtin": False,
        "derived_fact_descriptions": [
            {
                "name": "volunteers_per_staff",
                "kind": "number",
                "description": "Volunteers for each member of staff (FTE).",
                "inputs": ["organisation.volunteers", "organisation.staff"],
            }
        ],
    }
    assert all(plugins[name]["builtin"] for name in BUILTINS)


@pytest.mark.slow
def test_an_installed_third_party_ruleset_is_scored_when_chosen(social_value_env, tmp_path):
    result = run_scaleready(
        "assess", REPO / "examples/local-start.yaml", "--format", "json",
        "--ruleset", "social_value", env=social_value_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    dimension = next(
        d for d in json.loads(result.stdout)["dimensions"] if d["id"] == "social_value"
    )
    outcomes = {r["id"]: r["outcome"] for r in dimension["rules"]}
    assert outcomes == {"social_action": "pass", "volunteer_led": "unknown"}  # staff is 0: no ratio


@pytest.mark.slow
def test_a_plugin_that_raises_on_import_is_named_and_skipped(broken_env):
    result = run_scaleready("assess", REPO / "examples/code-club.yaml", env=broken_env)
    assert result.returncode == 0
    assert "plugin 'broken'" in result.stderr and "broken on purpose" in result.stderr
    assert "Traceback" not in result.stderr
    listing = json.loads(run_scaleready("plugins", "--json", env=broken_env).stdout)
    assert next(p for p in listing if p["name"] == "broken")["error"].startswith("failed to load")


@pytest.mark.slow
@pytest.mark.parametrize("where", ["command", "group"])
def test_strict_plugins_turns_a_broken_plugin_into_exit_4(broken_env, where):
    args = ["assess", REPO / "examples/code-club.yaml", "--strict-plugins"]
    if where == "group":
        args = ["--strict-plugins", *args[:-1]]
    result = run_scaleready(*args, env=broken_env)
    assert result.returncode == 4
    assert "plugin 'broken'" in result.stderr and "Traceback" not in result.stderr


def test_autoloading_can_be_turned_off_for_embedders_and_tests(monkeypatch):
    monkeypatch.setenv(AUTOLOAD_OFF_VARIABLE, "1")
    assert load_registry().plugins == {}
    monkeypatch.delenv(AUTOLOAD_OFF_VARIABLE)
    assert set(load_registry().plugins) >= BUILTINS
    assert load_registry(load_entry_points=False).plugins == {}


class _RaisesWhileRegistering:
    @hookspecs.hookimpl
    def register_rulesets(self, register):
        register(REPO / "rulesets" / "evidence.yaml")
        raise ValueError("half-way through")


def test_a_plugin_that_raises_while_registering_is_skipped_whole():
    registry = load_registry([_RaisesWhileRegistering()], load_entry_points=False)
    assert registry.rulesets == {}
    assert "register_rulesets failed: ValueError: half-way through" in str(registry.problems[0])


class _MisspelledHook:
    @hookspecs.hookimpl
    def register_ruleset(self, register):
        """Misspelled on purpose: pluggy's check_pending must catch it."""


def test_a_misspelled_hook_fails_loudly():
    from pluggy import PluginValidationError

    with pytest.raises(PluginValidationError):
        load_registry([_MisspelledHook()], load_entry_points=False)


def test_explicit_plugins_work_without_autoloading():
    import scaleready_builtins.evidence as evidence

    registry = load_registry([evidence], load_entry_points=False)
    assert list(registry.rulesets) == ["evidence"]


class _FactWithAMisspelledInput:
    @hookspecs.hookimpl
    def register_derived_facts(self, register):
        register(
            "x",
            lambda profile: 1,
            kind="number",
            description="d",
            inputs=["organisation.yearly_incom"],
        )


def test_a_derived_fact_whose_inputs_are_not_profile_fields_is_named_and_skipped():
    registry = load_registry([_FactWithAMisspelledInput()], load_entry_points=False)
    assert registry.derived_facts == {}
    assert "did you mean 'organisation.yearly_income'" in str(registry.problems[0])


# --- plugins that never return (issue 7, item 13) ------------------------------------------------


def outcomes_of(result: subprocess.CompletedProcess, ruleset: str) -> list[dict[str, str]]:
    """Rule outcomes of one ruleset in each scorecard of `assess --format json`."""
    cards = json.loads(result.stdout)
    cards = cards if isinstance(cards, list) else [cards]
    found = []
    for card in cards:
        dimension = next(d for d in card["dimensions"] if d["id"] == ruleset)
        found.append({r["id"]: (r["outcome"], _reason(r)) for r in dimension["rules"]})
    return found


def _reason(rule: dict) -> str:
    """Why a rule could not be assessed, from its finding; empty for any other outcome."""
    return rule["finding"] if rule["outcome"] == "error" else ""


@pytest.mark.slow
@pytest.mark.parametrize(
    "package, plugin, what",
    [
        ("scaleready-hanging-import", "hanging_import", "failed to load scaleready_hanging_import"),
        ("scaleready-hanging-hook", "hanging_hook", "register_rulesets failed"),
    ],
    ids=["import", "hook"],
)
def test_a_plugin_that_never_returns_is_named_and_skipped_after_its_time_limit(
    installed, package, plugin, what
):
    env = installed(package, **SHORT_LIMITS)
    listing = run_scaleready("plugins", "--json", env=env)  # the hang bound is run_scaleready's
    assert listing.returncode == 0, listing.stderr
    entry = next(p for p in json.loads(listing.stdout) if p["name"] == plugin)
    assert entry["error"] == (
        f"{what}: it did not finish within 1 s (SCALEREADY_PLUGIN_TIMEOUT); plugin skipped"
    )
    result = run_scaleready("assess", CODE_CLUB, env=env)
    assert result.returncode == 0 and "Code Club" in result.stdout
    assert f"warning: plugin {plugin!r}: {what}: it did not finish within 1 s" in result.stderr
    strict = run_scaleready("assess", CODE_CLUB, "--strict-plugins", env=env)
    assert strict.returncode == 4 and f"plugin {plugin!r}" in strict.stderr


@pytest.mark.slow
def test_a_derived_fact_that_never_returns_is_an_error_for_the_rules_that_need_it(installed):
    env = installed("scaleready-hanging-fact", **SHORT_LIMITS)
    result = run_scaleready(
        "assess", CODE_CLUB, LOCAL_START, "--ruleset", "hanging", "--format", "json", env=env
    )
    assert result.returncode == 0, result.stderr
    message = (
        "derived fact 'never_returns' from plugin 'hanging_fact' did not return within 1 s "
        "(SCALEREADY_FACT_TIMEOUT); it is not called again in this run"
    )
    code_club, local_start = outcomes_of(result, "hanging")
    error = ("error", f"Could not be assessed: Reads the misbehaving derived fact ({message}).")
    assert code_club == {"needs_the_fact": error, "needs_no_fact": ("pass", "")}
    assert local_start == {"needs_the_fact": error, "needs_no_fact": ("fail", "")}


@pytest.mark.slow
def test_a_hanging_fact_in_a_batch_on_two_workers_costs_each_worker_one_time_limit(
    installed, tmp_path
):
    env = installed("scaleready-hanging-fact", **SHORT_LIMITS)
    round_file = tmp_path / "round.jsonl"
    round_file.write_text("".join(f'{{"name": "Applicant {n}"}}\n' for n in range(450)))
    summary = tmp_path / "summary.csv"
    result = run_scaleready(
        "batch", round_file, "--ruleset", "hanging", "--jobs", "2", "--summary", summary, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "assessed 450 of 450 profiles" in result.stderr
    assert len(summary.read_text(encoding="utf-8-sig").splitlines()) == 451


@pytest.mark.slow
def test_a_third_party_fact_runs_in_batch_workers(social_value_env, tmp_path):
    """Forked workers start their own helper threads (the parent's do not exist in them)."""
    round_file = tmp_path / "round.jsonl"
    profile = {"name": "x", "organisation": {"staff": 2, "volunteers": 9}}
    round_file.write_text((json.dumps(profile) + "\n") * 450)
    cards = tmp_path / "cards.jsonl"
    result = run_scaleready(
        "batch",
        round_file,
        "--ruleset",
        "social_value",
        "--jobs",
        "2",
        "--scorecards",
        cards,
        env=social_value_env,
    )
    assert result.returncode == 0, result.stderr
    outcomes = {
        rule["outcome"]
        for line in cards.read_text().splitlines()
        for rule in json.loads(line)["dimensions"][0]["rules"]
        if rule["id"] == "volunteer_led"
    }
    assert outcomes == {"pass"}


@pytest.mark.slow
def test_ctrl_c_while_waiting_for_a_hanging_fact_still_stops_scaleready(installed):
    env = installed("scaleready-hanging-fact", **{FACT_TIMEOUT_VARIABLE: "600"})
    process = subprocess.Popen(
        [str(SCALEREADY), "assess", str(CODE_CLUB), "--ruleset", "hanging"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)  # loaded and waiting for the fact (a generous guess: the machine is shared)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)  # not the 600 s of the fact's limit
    assert process.returncode != 0
    assert "plugin" not in stderr and "Traceback" not in stderr


class _Hangs:
    """A derived fact that waits until the test lets it go; rules in the hanging test ruleset."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def never_returns(self, profile):
        self.calls += 1
        self.release.wait()

    @hookspecs.hookimpl
    def register_derived_facts(self, register):
        register("never_returns", self.never_returns, kind="number", description="Hangs.")

    @hookspecs.hookimpl
    def register_rulesets(self, register):
        register(PLUGINS / "scaleready-hanging-fact/scaleready_hanging_fact/hanging.yaml")


def test_an_engine_shared_by_threads_survives_a_hanging_fact(monkeypatch):
    """Each thread gets the error outcome, none waits more than a time limit or two."""
    monkeypatch.setenv(FACT_TIMEOUT_VARIABLE, "0.5")
    plugin = _Hangs()
    engine, _ = create_engine(["hanging"], plugins=[plugin], load_entry_points=False)
    profile = load_profile(CODE_CLUB)
    outcomes: list[str] = []

    def assess() -> None:
        for _ in range(3):
            card = engine.assess(profile)
            outcomes.extend(rule.outcome for rule in card.dimensions[0].rules)

    threads = [threading.Thread(target=assess) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)
    finally:
        plugin.release.set()
    assert sorted(outcomes) == ["error"] * 12 + ["pass"] * 12
    assert 1 <= plugin.calls <= 4  # once it ran out of time, it is not called again


def test_a_slow_fact_within_its_limit_is_kept(monkeypatch):
    class Slow:
        @hookspecs.hookimpl
        def register_derived_facts(self, register):
            register("slow", lambda profile: time.sleep(0.2) or 7, kind="number", description="d")

    monkeypatch.setenv(FACT_TIMEOUT_VARIABLE, "30")
    registry = load_registry([Slow()], load_entry_points=False)
    values, errors = compute_derived_facts(
        registry.derived_facts, ["slow"], load_profile(CODE_CLUB)
    )
    assert (values, errors) == ({"slow": 7}, {})


def test_built_in_facts_run_inline_and_third_party_facts_within_the_time_limit(monkeypatch):
    assert all(fact.time_limit is None for fact in load_registry().derived_facts.values())
    monkeypatch.setenv(FACT_TIMEOUT_VARIABLE, "7")
    registry = load_registry([_Hangs()], load_entry_points=False)
    assert registry.derived_facts["never_returns"].time_limit == 7.0


@pytest.mark.slow
@pytest.mark.parametrize("value", ["abc", "0", "-1", "nan", "inf", "1e999"])
@pytest.mark.parametrize("variable", [PLUGIN_TIMEOUT_VARIABLE, FACT_TIMEOUT_VARIABLE])
def test_a_time_limit_that_is_not_a_positive_number_of_seconds_is_refused(variable, value):
    result = run_scaleready("plugins", env={**os.environ, variable: value})
    assert result.returncode == 2  # a setting, like SCALEREADY_MAX_DOCUMENT_MIB
    assert f"error: {variable}: {value!r} is not a number of seconds above 0" in result.stderr


# --- plugins that try to end the process (item 14) -----------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "package, plugin, what",
    [
        ("scaleready-exit-at-import", "exit_at_import", "failed to load scaleready_exit_at_import"),
        ("scaleready-exit-in-hook", "exit_in_hook", "register_rulesets failed"),
    ],
    ids=["import", "hook"],
)
def test_a_plugin_that_calls_sys_exit_is_named_and_skipped(installed, package, plugin, what):
    result = run_scaleready("assess", CODE_CLUB, env=installed(package))
    assert result.returncode == 0 and "overall score 24.5/100" in result.stdout
    assert (
        f"warning: plugin {plugin!r}: {what}: it called sys.exit(0), which a plugin "
        "must not do; plugin skipped"
    ) in result.stderr


@pytest.mark.slow
def test_a_derived_fact_that_calls_sys_exit_is_an_error_for_the_rules_that_need_it(installed):
    env = installed("scaleready-exit-in-fact")
    for command in (["assess", CODE_CLUB, "--format", "json"], ["batch", CODE_CLUB]):
        result = run_scaleready(*command, "--ruleset", "exiting", env=env)
        assert result.returncode == 0, result.stderr
    result = run_scaleready(
        "assess", CODE_CLUB, "--ruleset", "exiting", "--format", "json", env=env
    )
    message = (
        "derived fact 'exits' from plugin 'exit_in_fact' failed: it called sys.exit(0), "
        "which a plugin must not do"
    )
    error = ("error", f"Could not be assessed: Reads the misbehaving derived fact ({message}).")
    assert outcomes_of(result, "exiting") == [
        {"needs_the_fact": error, "needs_no_fact": ("pass", "")}
    ]


class _Escape(BaseException):
    """Not an Exception: what a plugin might raise to get past `except Exception`."""


class _RaisesBaseExceptions:
    @hookspecs.hookimpl
    def register_derived_facts(self, register):
        register("escapes", self.escapes, kind="number", description="d")

    def escapes(self, profile):
        raise _Escape("out")


class _HookRaisesGeneratorExit:
    @hookspecs.hookimpl
    def register_rulesets(self, register):
        raise GeneratorExit


def test_any_base_exception_from_a_plugin_is_contained_and_named():
    plugins = [_RaisesBaseExceptions(), _HookRaisesGeneratorExit()]
    registry = load_registry(plugins, load_entry_points=False)
    assert [str(p) for p in registry.problems] == [
        "plugin '_HookRaisesGeneratorExit': register_rulesets failed: GeneratorExit; plugin skipped"
    ]
    _, errors = compute_derived_facts(registry.derived_facts, ["escapes"], load_profile(CODE_CLUB))
    assert errors == {
        "escapes": "derived fact 'escapes' from plugin '_RaisesBaseExceptions' failed: _Escape: out"
    }


# --- KeyboardInterrupt is not a broken plugin (item 17) ------------------------------------------


class _Interrupts:
    def __init__(self, where: str) -> None:
        self.where = where

    @hookspecs.hookimpl
    def register_derived_facts(self, register):
        if self.where == "hook":
            raise KeyboardInterrupt
        register("interrupts", self.interrupts, kind="number", description="d")

    def interrupts(self, profile):
        raise KeyboardInterrupt


def test_a_keyboard_interrupt_in_a_hook_propagates():
    with pytest.raises(KeyboardInterrupt):
        load_registry([_Interrupts("hook")], load_entry_points=False)


@pytest.mark.parametrize("time_limit", [None, 5.0], ids=["built-in", "third-party"])
def test_a_keyboard_interrupt_in_a_derived_fact_propagates(time_limit):
    function = _Interrupts("fact").interrupts
    fact = DerivedFact("interrupts", function, "number", "d", "p", (), time_limit)
    with pytest.raises(KeyboardInterrupt):
        compute_derived_facts({"interrupts": fact}, ["interrupts"], load_profile(CODE_CLUB))


@pytest.mark.slow
def test_an_installed_plugin_that_raises_keyboard_interrupt_is_not_called_broken(installed):
    result = run_scaleready("assess", CODE_CLUB, env=installed("scaleready-interrupt-in-hook"))
    assert result.returncode == 130  # interrupted, never "gate failed" (1) or a broken plugin
    assert "interrupt_in_hook" not in result.stderr and "Traceback" not in result.stderr
    assert not result.stdout


# --- derived facts the rules engine cannot read (item 1) -----------------------------------------


@pytest.mark.slow
def test_a_non_finite_derived_fact_is_refused_naming_the_fact_and_the_plugin(installed, tmp_path):
    counted = sorted(BUILTINS | {"non_finite"})
    (tmp_path / "scaleready.toml").write_text(f"rulesets = {json.dumps(counted)}\n")
    result = run_scaleready(
        "assess", CODE_CLUB, "--format", "json", env=installed("scaleready-nan-fact"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    (outcomes,) = outcomes_of(result, "non_finite")
    assert outcomes["needs_no_fact"] == ("pass", "")
    assert outcomes["needs_the_fact"][0] == "error"
    assert "from plugin 'nan_fact' returned" in outcomes["needs_the_fact"][1]
    evidence = json.loads(result.stdout)["dimensions"]
    assert {d["id"] for d in evidence} == BUILTINS | {"non_finite"}  # the rest stands


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_compute_derived_facts_refuses_nan_and_infinity(value):
    fact = DerivedFact("ratio", lambda profile: value, "number", "d", "p", (), None)
    values, errors = compute_derived_facts({"ratio": fact}, ["ratio"], object())
    assert values == {}
    assert errors == {
        "ratio": f"derived fact 'ratio' from plugin 'p' returned {value!r}, not a finite number "
        "(it should return None when the data it needs is missing)"
    }


def test_a_wrong_kind_of_derived_fact_names_the_plugin():
    fact = DerivedFact("ratio", lambda profile: "high", "number", "d", "p", (), None)
    assert compute_derived_facts({"ratio": fact}, ["ratio"], object())[1] == {
        "ratio": "derived fact 'ratio' from plugin 'p' returned a string, not a number"
    }


# --- built-ins cannot be replaced (item 15) ------------------------------------------------------


@pytest.mark.slow
def test_a_plugin_cannot_replace_a_built_in_ruleset_or_derived_fact(installed):
    plain = run_scaleready(
        "assess", CODE_CLUB, "--format", "json", env={**os.environ, "SOURCE_DATE_EPOCH": "0"}
    )
    env = installed("scaleready-impostor", SOURCE_DATE_EPOCH="0")
    result = run_scaleready("assess", CODE_CLUB, "--format", "json", env=env)
    assert result.returncode == 0
    assert json.loads(result.stdout)["overall"]["score"] == 24.5
    assert result.stdout == plain.stdout
    assert (
        "warning: plugin 'aaa_impostor': ruleset 'evidence' is already provided by the built-in "
        "plugin 'evidence'; skipped"
    ) in result.stderr
    assert (
        "warning: plugin 'aaa_impostor': derived fact 'eif_cost_rating' is already registered by "
        "the built-in plugin 'evidence'; skipped"
    ) in result.stderr
    assert (
        "warning: plugin 'scaleready-impostor': its entry point 'evidence' has the name of a "
        "built-in plugin, which cannot be replaced; not loaded (scaleready-impostor 6.6.6 in "
    ) in result.stderr
    strict = run_scaleready("assess", CODE_CLUB, "--strict-plugins", env=env)
    assert strict.returncode == 4 and "aaa_impostor" in strict.stderr


@pytest.mark.slow
def test_the_listing_shows_the_built_in_and_the_impostor_that_took_its_name(installed):
    listing = run_scaleready("plugins", "--json", env=installed("scaleready-impostor"))
    entries = [p for p in json.loads(listing.stdout) if p["name"] == "evidence"]
    assert [(p["builtin"], p["distribution"], p["error"] is None) for p in entries] == [
        (True, "scaleready", True),
        (False, "scaleready-impostor", False),
    ]


# --- --strict-plugins everywhere, each warning once, plugins installed twice (item 16) -----------


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [["list"], ["show", "evidence"], ["test", "evidence"], ["docs", "evidence", "--output", "out"]],
    ids=["list", "show", "test", "docs"],
)
@pytest.mark.parametrize("where", ["command", "group"])
def test_strict_plugins_is_honoured_by_the_rulesets_commands(broken_env, tmp_path, command, where):
    args = ["rulesets", *command, "--strict-plugins"]
    if where == "group":
        args = ["--strict-plugins", *args[:-1]]
    result = run_scaleready(*args, env=broken_env, cwd=tmp_path)
    assert result.returncode == 4, result.stderr
    assert "error: plugin 'broken': failed to load" in result.stderr
    assert not (tmp_path / "out").exists()
    lenient = run_scaleready("rulesets", *command, env=broken_env, cwd=tmp_path)
    assert lenient.returncode == 0, lenient.stderr
    assert lenient.stderr.count("plugin 'broken'") == 1


class _FactHookFailsAndItsRulesetNeedsTheFact:
    @hookspecs.hookimpl
    def register_derived_facts(self, register):
        raise ValueError("no facts today")

    @hookspecs.hookimpl
    def register_rulesets(self, register):
        register(PLUGINS / "scaleready-social-value/scaleready_social_value/social_value.yaml")


def test_a_plugin_that_fails_is_reported_once_not_again_for_what_depends_on_it():
    registry = load_registry([_FactHookFailsAndItsRulesetNeedsTheFact()], load_entry_points=False)
    assert [str(p) for p in registry.problems] == [
        "plugin '_FactHookFailsAndItsRulesetNeedsTheFact': register_derived_facts failed: "
        "ValueError: no facts today; plugin skipped"
    ]
    assert registry.rulesets == {}


@pytest.mark.slow
def test_the_same_plugin_installed_twice_is_named_with_both_places(installed, tmp_path):
    first = installed("scaleready-social-value")["PYTHONPATH"]
    second = pip_install(PLUGINS / "scaleready-social-value", tmp_path / "second")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([first, str(second)])}
    result = run_scaleready("assess", LOCAL_START, env=env)
    assert result.returncode == 0
    assert (
        f"warning: plugin 'social_value': installed twice: scaleready-social-value 1.2.0 in "
        f"{first}, and scaleready-social-value 1.2.0 in {second}; the first is loaded"
    ) in result.stderr
    assert run_scaleready("assess", LOCAL_START, "--strict-plugins", env=env).returncode == 4


@pytest.mark.slow
def test_two_distributions_with_the_same_plugin_name_are_both_named(installed):
    env = installed("scaleready-social-value", "scaleready-social-value-fork")
    listing = run_scaleready("plugins", "--json", env=env)
    entries = [p for p in json.loads(listing.stdout) if p["name"] == "social_value"]
    assert [(p["distribution"], p["error"] is None) for p in entries] == [
        ("scaleready-social-value", True),
        ("scaleready-social-value-fork", False),
    ]
    assert "scaleready-social-value 1.2.0 in" in entries[1]["error"]
    assert "scaleready-social-value-fork 0.0.1 in" in entries[1]["error"]


class _FactAndInvalidRuleset:
    """A plugin with a good derived fact and a ruleset that does not load."""

    fact = "helpers_per_site"

    def __init__(self, ruleset: Path) -> None:
        self.ruleset = ruleset

    @hookspecs.hookimpl
    def register_derived_facts(self, register):
        register(self.fact, lambda profile: None, kind="number", description="Helpers per site")

    @hookspecs.hookimpl
    def register_rulesets(self, register):
        register(self.ruleset)


class _SocialValuesFactAndInvalidRuleset(_FactAndInvalidRuleset):
    fact = "volunteers_per_staff"  # the fact the social_value ruleset uses


class _UsesAnotherPluginsFact:
    @hookspecs.hookimpl
    def register_rulesets(self, register):
        register(PLUGINS / "scaleready-social-value/scaleready_social_value/social_value.yaml")


def test_a_plugin_with_an_invalid_ruleset_keeps_none_of_its_derived_facts(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\ntitle: Bad\nversion: 0.1\nsummary: s\nrules: []\n")
    registry = load_registry([_FactAndInvalidRuleset(bad)], load_entry_points=False)
    assert "helpers_per_site" not in registry.derived_facts
    info = registry.plugins["_FactAndInvalidRuleset"]
    assert (info.derived_facts, info.rulesets) == ([], [])
    assert info.error.startswith("ruleset bad.yaml is invalid: ")
    assert info.error.endswith("; plugin skipped")


def test_a_ruleset_that_needs_a_skipped_plugins_fact_is_dropped_naming_both(tmp_path):
    fact_owner = _SocialValuesFactAndInvalidRuleset(tmp_path / "missing.yaml")
    registry = load_registry([fact_owner, _UsesAnotherPluginsFact()], load_entry_points=False)
    assert registry.rulesets == {} and registry.derived_facts == {}
    assert str(registry.problems[-1]) == (
        "plugin '_UsesAnotherPluginsFact': ruleset 'social_value' uses derived fact "
        "'volunteers_per_staff' of plugin '_SocialValuesFactAndInvalidRuleset', which was "
        "skipped; ruleset skipped"
    )
