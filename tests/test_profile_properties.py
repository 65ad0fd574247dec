"""Property tests: whatever data or text a profile holds, only ProfileError escapes, and its
message names a line or a field (seeded and bounded, so the suite stays fast)."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaleready.errors import ProfileError
from scaleready.profile import field_catalogue, load_profile, profile_from_data

SETTINGS = settings(
    derandomize=True,  # the same examples on every run: a failure is reproducible
    database=None,
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Field names at every level, so that random data reaches deep into the schema.
NAMES = sorted({part for path in field_catalogue() for part in path.split(".")})
# A problem names where it is: a line, or a field path (items from 1), or the top level.
LOCATED = re.compile(r"^(line \d+: |(top level|[a-z_][a-z0-9_]*(\.[a-z0-9_]+)*): )|.* top level")

numbers = st.one_of(
    st.integers(),
    # huge whole numbers, by their number of digits (hypothesis cannot print 10**5000 itself)
    st.sampled_from([19, 20, 309, 400, 5000]).map(lambda digits: 10**digits - 1),
    st.sampled_from([20, 400]).map(lambda digits: -(10**digits)),
    st.floats(),  # NaN and infinities included
    st.sampled_from([1e-05, 5e-324, 1.7976931348623157e308, -0.0]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=30), st.sampled_from(NAMES))
keys = st.one_of(st.sampled_from(NAMES), st.text(max_size=12))
nested = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(keys, inner, max_size=6)),
    max_leaves=40,
)
deep = st.integers(min_value=1, max_value=3000).map(lambda depth: _deep(depth))
profile_like = st.builds(
    lambda name, fields: {"name": name, **fields},
    st.one_of(st.text(max_size=10), scalars),
    st.dictionaries(st.sampled_from(NAMES), st.one_of(nested, deep), max_size=6),
)


def _deep(depth: int) -> object:
    value: object = 1
    for level in range(depth):
        value = [value] if level % 2 else {"evaluations": value}
    return value


def check(error: ProfileError, source: str) -> None:
    text = str(error)
    assert text.startswith(f"{source}: "), text
    lines = text.removeprefix(f"{source}: ").splitlines()
    problems = lines[1:] if re.fullmatch(r"[\d,]+ problems:", lines[0]) else lines
    for problem in problems:
        if not problem.startswith("  ... and "):
            assert LOCATED.match(problem.strip()), problem


@SETTINGS
@given(st.one_of(profile_like, nested, deep))
def test_any_data_as_a_profile_is_valid_or_a_profile_error_naming_a_field(data):
    try:
        profile_from_data(data, source="round.jsonl:line 7")
    except ProfileError as error:
        check(error, "round.jsonl:line 7")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("profiles")


def _json(data: object) -> str:
    """JSON as a form or a script might write it; numbers too long to write are left out."""
    try:
        return json.dumps(data)
    except (ValueError, RecursionError):
        return json.dumps({"name": "too long to write"})


texts = st.one_of(
    profile_like.map(_json),
    nested.map(_json),
    st.text(alphabet=string.printable, max_size=200),
    st.text(max_size=200),
    st.lists(
        st.sampled_from(
            [
                "name: x\n",
                "reach:\n",
                "  sites: 1e6\n",
                "- ",
                "[",
                "]",
                "{",
                "}",
                ": ",
                "'",
                '"',
                "\t",
                "&a ",
                "*a ",
                "!!python/none ",
                "7" * 5000,
                "1e400",
                "\n",
            ]
        ),
        max_size=40,
    ).map("".join),
    st.integers(min_value=1, max_value=100_000).map(lambda d: "name: x\nsummary: " + "[" * d),
)


@SETTINGS
@given(text=texts, suffix=st.sampled_from([".yaml", ".json"]))
def test_any_text_as_a_profile_file_is_valid_or_a_profile_error_naming_a_line_or_field(
    folder, text, suffix
):
    path = folder / f"profile{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_profile(path)
    except ProfileError as error:
        check(error, str(path))
