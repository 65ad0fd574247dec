"""The plugin host, with real plugin packages pip-installed from tests/plugins."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from scaleready import hookspecs
from scaleready.plugins import AUTOLOAD_OFF_VARIABLE, load_registry
from tests.conftest import REPO, pip, run_scaleready

PLUGINS = REPO / "tests" / "plugins"
BUILTINS = {"evidence", "partnership", "contract_fit", "replicability"}


def pip_install(package: Path, target: Path) -> Path:
    """Install a plugin package for real, into its own folder (the test venv stays clean)."""
    pip("install", "--target", str(target), str(package))
    return target


@pytest.fixture(scope="module")
def social_value_env(tmp_path_factory) -> dict:
    site = pip_install(PLUGINS / "scaleready-social-value", tmp_path_factory.mktemp("social-value"))
    return {**os.environ, "PYTHONPATH": str(site)}


@pytest.fixture(scope="module")
def broken_env(tmp_path_factory) -> dict:
    site = pip_install(PLUGINS / "scaleready-broken", tmp_path_factory.mktemp("broken"))
    return {**os.environ, "PYTHONPATH": str(site)}


def test_the_built_in_rulesets_are_registered_as_plugins(registry):
    assert set(registry.plugins) >= BUILTINS
    assert all(registry.plugins[name].rulesets == [name] for name in BUILTINS)
    assert not registry.problems


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
        "error": None,
    }


def test_an_installed_third_party_ruleset_is_scored(social_value_env, tmp_path):
    result = run_scaleready(
        "assess", REPO / "examples/local-start.yaml", "--format", "json", env=social_value_env
    )
    assert result.returncode == 0, result.stderr
    dimension = next(
        d for d in json.loads(result.stdout)["dimensions"] if d["id"] == "social_value"
    )
    outcomes = {r["id"]: r["outcome"] for r in dimension["rules"]}
    assert outcomes == {"social_action": "pass", "volunteer_led": "unknown"}  # staff is 0: no ratio


def test_a_plugin_that_raises_on_import_is_named_and_skipped(broken_env):
    result = run_scaleready("assess", REPO / "examples/code-club.yaml", env=broken_env)
    assert result.returncode == 0
    assert "plugin 'broken'" in result.stderr and "broken on purpose" in result.stderr
    assert "Traceback" not in result.stderr
    listing = json.loads(run_scaleready("plugins", "--json", env=broken_env).stdout)
    assert next(p for p in listing if p["name"] == "broken")["error"].startswith("failed to load")


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
