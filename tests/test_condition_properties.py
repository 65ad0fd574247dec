"""Properties of the condition language over random input, seeded so every run is the same.

Conditions drawn from the grammar over the real profile fields either load or are a
RulesetError; those that load are evaluated without an exception on sample profiles, the
durable_rules backend agrees with the plain-Python one, and the measured compiled size is the
size of what durable_backend compiles.  Random tokens and random text are only ever a
ConditionError.
"""

from __future__ import annotations

import contextlib
from functools import cache
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scaleready.assessment.engine import Engine
from scaleready.errors import RulesetError
from scaleready.language import durable
from scaleready.language.evaluate import Context, planned, planned_decision, truth
from scaleready.language.nodes import ConditionError
from scaleready.language.parser import Vocabulary, parse_condition
from scaleready.language.ruleset import load_ruleset
from scaleready.plugins import compute_derived_facts, load_registry
from scaleready.profile import load_profile, profile_fields, profile_from_data
from scaleready.synthetic import synthetic_profiles
from tests.conftest import EXAMPLES
from tests.test_rules import compiled_json, durable_json_size


def seeded(examples: int):
    """Same examples every run, no example database, a bound on the work."""
    return settings(
        derandomize=True,
        database=None,
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


# --- the grammar, over the real profile fields --------------------------------------------------


def fields(kind: str, scope: str | None) -> list[str]:
    """Field names of a kind, as written in ``scope`` (relative to the list's items)."""
    prefix = f"{scope}." if scope else ""
    return sorted(
        path[len(prefix) :]
        for path, info in profile_fields().items()
        if info.kind == kind and info.in_list == scope
    )


def choices(scope: str | None) -> dict[str, tuple[str, ...]]:
    prefix = f"{scope}." if scope else ""
    return {
        path[len(prefix) :]: info.choices
        for path, info in profile_fields().items()
        if info.choices and info.kind == "string" and info.in_list == scope
    }


NUMBERS = st.one_of(
    st.integers(-1000, 100_000).map(str),
    st.integers(0, 10**16).map(str),  # sometimes past MAX_NUMBER
    st.decimals(0, 10**6, places=4, allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(["0.00001", "0.0001", "1_000", "-0.5", "9" * 30]),
)
TEXTS = st.text(alphabet=st.characters(exclude_characters='"\\'), max_size=8).map(
    lambda text: f'"{text}"'
)


def numeric_term(scope: str | None, depth: int) -> st.SearchStrategy[str]:
    leaves = [st.sampled_from(fields("number", scope)), NUMBERS]
    if scope is None:
        leaves.append(st.sampled_from(["derived.largest_funder_share", "derived.buyer_areas"]))
        leaves.append(st.sampled_from(fields("list", None)).map(lambda items: f"count({items})"))
        leaves.append(counted_where())
    term = st.one_of(*leaves)
    if depth <= 0:
        return term
    inner = numeric_term(scope, depth - 1)
    calculation = st.tuples(inner, st.sampled_from("+-*/"), inner).map(" ".join)
    return st.one_of(term, calculation, calculation.map(lambda text: f"({text})"))


def counted_where() -> st.SearchStrategy[str]:
    """``count(list, c)``: a range where some items leave ``c`` unknown."""
    lists = [name for name in fields("list", None) if fields("number", name)]
    return st.sampled_from(lists).flatmap(
        lambda items: condition(items, depth=1).map(lambda where: f"count({items}, {where})")
    )


def comparison(scope: str | None, depth: int) -> st.SearchStrategy[str]:
    options = [
        st.tuples(
            numeric_term(scope, depth), st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
        ).flatmap(lambda left: numeric_term(scope, depth).map(lambda r: f"{left[0]} {left[1]} {r}"))
    ]
    if fields("boolean", scope):
        options.append(st.sampled_from(fields("boolean", scope)))
        options.append(
            st.tuples(st.sampled_from(fields("boolean", scope)), st.booleans()).map(
                lambda pair: f"{pair[0]} == {str(pair[1]).lower()}"
            )
        )
    enumerated = choices(scope)
    if enumerated:
        options.append(
            st.sampled_from(sorted(enumerated)).flatmap(
                lambda name: st.tuples(
                    st.just(name),
                    st.sampled_from(["in", "not in"]),
                    st.lists(
                        st.one_of(st.sampled_from(enumerated[name]), st.just("nope")),
                        min_size=1,
                        max_size=40,  # sometimes past MAX_ALTERNATIVES
                    ),
                ).map(lambda t: f"{t[0]} {t[1]} [{', '.join(repr(v) for v in t[2])}]")
            )
        )
    if fields("string", scope):
        options.append(st.tuples(st.sampled_from(fields("string", scope)), TEXTS).map(" == ".join))
    every_field = sorted(set().union(*(fields(kind, scope) for kind in ("number", "string"))))
    options.append(
        st.tuples(st.sampled_from(["missing", "present"]), st.sampled_from(every_field)).map(
            lambda pair: f"{pair[0]}({pair[1]})"
        )
    )
    return st.one_of(*options)


def quantified(scope: str | None, depth: int) -> st.SearchStrategy[str]:
    lists = [name for name in fields("list", scope) if fields("number", _join(scope, name))]
    if not lists or depth <= 0:
        return comparison(scope, depth)
    return st.sampled_from(lists).flatmap(
        lambda items: st.tuples(
            st.sampled_from(["any", "all"]), condition(_join(scope, items), depth - 1)
        ).map(lambda pair: f"{pair[0]}({items}, {pair[1]})")
    )


def _join(scope: str | None, name: str) -> str:
    return f"{scope}.{name}" if scope else name


def condition(scope: str | None, depth: int = 2) -> st.SearchStrategy[str]:
    leaf = st.one_of(comparison(scope, depth), quantified(scope, depth))
    if scope is None:
        leaf = st.one_of(leaf, st.sampled_from(["passed(base)", "failed(base)", "passed(gated)"]))
    if depth <= 0:
        return leaf
    inner = condition(scope, depth - 1)
    return st.one_of(
        leaf,
        st.lists(inner, min_size=2, max_size=4).map(" and ".join),
        st.lists(inner, min_size=2, max_size=4).map(" or ".join),
        inner.map(lambda text: f"not ({text})"),
        inner.map(lambda text: f"({text})"),
    )


CONDITIONS = condition(None)


# --- the two backends over sample profiles --------------------------------------------------------


@cache
def registry():
    return load_registry()


@cache
def sample_profiles() -> tuple:
    synthetic = [profile_from_data(data) for data in synthetic_profiles(12, seed=7)]
    return (*[load_profile(path) for path in EXAMPLES], *synthetic)


def ruleset_file(folder: Path, text: str, applies: str | None) -> Path:
    texts = {"title": "t", "level": 1, "pass": "p", "fail": "f", "advice": "a"}
    rule = {"id": "drawn", "condition": text, **texts}
    if applies is not None:
        rule["applies_when"] = applies
    gated = {"id": "gated", "applies_when": "count(contracts) > 0", "condition": "passed(base)"}
    rules = [{"id": "base", "condition": "reach.sites > 10", **texts}, gated | texts, rule]
    document = {"id": "drawn", "title": "t", "version": "1.0.0", "summary": "s", "rules": rules}
    path = folder / "drawn.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=100_000), encoding="utf-8")
    return path


def outcomes(card) -> dict[str, str]:
    return {f"{d.id}.{r.id}": r.outcome for d in card.dimensions for r in d.rules}


@pytest.mark.skipif(not durable.AVAILABLE, reason="durable_rules cannot be imported here")
@seeded(examples=60)
@given(text=CONDITIONS, applies=st.one_of(st.none(), condition(None, depth=1)))
def test_drawn_conditions_load_or_are_named_and_then_both_backends_agree(tmp_path, text, applies):
    try:
        ruleset = load_ruleset(ruleset_file(tmp_path, text, applies), registry().fact_kinds())
    except RulesetError as error:
        assert "rule 'drawn'" in str(error) and "drawn.yaml" in str(error)
        event("refused")
        return
    facts = registry().derived_facts
    engines = [Engine([ruleset], facts, backend=b) for b in ("durable_rules", "python")]
    for profile in sample_profiles():
        durable, python = (outcomes(engine.assess(profile)) for engine in engines)
        assert durable == python, (text, applies, profile.name)
        event(f"outcome {durable['drawn.drawn']}")


@seeded(examples=150)
@given(text=CONDITIONS, applies=st.one_of(st.none(), condition(None, depth=1)))
def test_the_measured_size_is_the_compiled_size_for_drawn_conditions(tmp_path, text, applies):
    try:
        ruleset = load_ruleset(ruleset_file(tmp_path, text, applies), registry().fact_kinds())
    except RulesetError:
        return
    drawn = ruleset.rule("drawn")
    for outcome, compiled in compiled_json(ruleset, drawn).items():
        shape = drawn.size.outcomes()[outcome]
        assert durable_json_size(compiled) == (shape.tests, shape.paths, shape.groups)


# --- random tokens and random text --------------------------------------------------------------

TOKENS = st.one_of(
    st.sampled_from(
        [
            "and",
            "or",
            "not",
            "in",
            "true",
            "false",
            "(",
            ")",
            "[",
            "]",
            ",",
            "==",
            "!=",
            "<",
            "<=",
            ">",
            ">=",
            "+",
            "-",
            "*",
            "/",
            "any",
            "all",
            "count",
            "missing",
            "present",
            "passed",
            "failed",
            "reach.sites",
            "replication.manual",
            "partnerships",
            "role",
            "contracts",
            "lots",
            "derived.buyer_areas",
            "organisation.legal_form",
            '"buyer"',
            "'charity'",
            "cited",
            "nope",
            "__import__",
            "=",
            ";",
            "!",
        ]
    ),
    NUMBERS,
    TEXTS,
)


@cache
def vocabulary() -> Vocabulary:
    return Vocabulary(profile_fields(), registry().fact_kinds(), frozenset({"cited"}))


@cache
def sample_contexts() -> tuple[Context, ...]:
    """Each sample profile as rules read it: JSON-mode data, with its derived facts."""
    facts = registry().derived_facts
    contexts = []
    for profile in sample_profiles():
        data = profile.model_dump(mode="json", exclude_none=True)
        derived, _ = compute_derived_facts(facts, sorted(facts), profile)
        contexts.append(Context(data, derived, {"cited": "pass"}.get))
    return tuple(contexts)


@seeded(examples=300)
@given(text=CONDITIONS)
def test_a_drawn_condition_planned_judges_as_the_walk_over_the_tree(text):
    # both backends judge through planned closures: the tree walk is the reference they answer to
    with contextlib.suppress(ConditionError):
        condition = parse_condition(text, vocabulary())
        for context in sample_contexts():
            judged = planned(condition)(context.profile, context)
            assert judged is truth(condition, context.profile, context), text
            decided, deciding = planned_decision(condition)(context.profile, context, _cited)
            assert decided is judged, text
            assert not deciding or decided is None, text  # what is decided asks for nothing


def _cited(rule_id: str) -> set[str]:
    return {rule_id}


@seeded(examples=400)
@given(tokens=st.lists(TOKENS, max_size=30))
def test_random_token_strings_only_ever_raise_condition_error(tokens):
    try:
        tree = parse_condition(" ".join(tokens), vocabulary())
    except ConditionError:
        return
    for profile in sample_profiles()[:4]:  # what parses evaluates, on real profiles
        data = profile.model_dump(mode="json", exclude_none=True)
        assert truth(tree, data, Context(data)) in (True, False, None)


@seeded(examples=300)
@given(text=st.text(max_size=200))
def test_random_text_only_ever_raises_condition_error(text):
    with contextlib.suppress(ConditionError):
        parse_condition(text, vocabulary())


@seeded(examples=100)
@given(
    text=st.one_of(
        st.integers(1, 200).map(lambda n: "(" * n + "reach.sites > 1" + ")" * n),
        st.integers(1, 200).map(lambda n: "not " * n + "replication.manual"),
        st.integers(1, 60).map(lambda n: "reach.sites" + " + 1" * n + " > 1"),
        st.integers(1, 20).map(
            lambda n: "any(evidence.evaluations, " * n + "independent" + ")" * n
        ),
    )
)
def test_deep_nesting_is_parsed_or_a_condition_error(text):
    try:
        parse_condition(text, vocabulary())
    except ConditionError as error:
        assert "nested more than" in str(error) or "steps" in str(error) or "unknown" in str(error)
