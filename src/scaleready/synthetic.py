"""Seeded synthetic innovation profiles, for tests that compare backends and for benchmarks.

Values are drawn from each field's own type and limits, as the profile's field catalogue gives
them, so every profile is valid; fields are left out at random so that data gaps are exercised
too.  The same seed gives the same profiles.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from typing import Any

from scaleready.profile import FieldInfo, profile_fields

NUMBER_SCALES = (1, 10, 100, 10_000, 1_000_000)  # drawn at random: small counts to large incomes
LIST_LENGTHS = (0, 1, 1, 2, 3)
TEXTS = ("alpha", "beta", "gamma", "https://example.org/report")


def synthetic_profiles(count: int, seed: int = 0, missing: float = 0.2) -> Iterator[dict[str, Any]]:
    """``count`` valid profile dicts; each optional field is left out with chance ``missing``."""
    rng = random.Random(seed)
    for number in range(count):
        profile = _section("", rng, missing)
        profile["name"] = f"Synthetic innovation {number}"
        yield profile


@functools.cache
def _sections() -> dict[str, list[FieldInfo]]:
    """The fields of each section (a list's path holds its items' fields), in declared order."""
    sections: dict[str, list[FieldInfo]] = {}
    for path, info in profile_fields().items():
        sections.setdefault(path.rpartition(".")[0], []).append(info)
    return sections


def _section(path: str, rng: random.Random, missing: float) -> dict[str, Any]:
    values = {}
    for info in _sections()[path]:
        if not info.required and rng.random() < missing:
            continue
        values[info.path.rpartition(".")[2]] = _value(info, rng, missing)
    return _fit_validators(values)


def _value(info: FieldInfo, rng: random.Random, missing: float) -> Any:
    if info.kind == "list":
        return [_item(info, rng, missing) for _ in range(rng.choice(LIST_LENGTHS))]
    if info.kind == "object":
        return _section(info.path, rng, missing)
    return _scalar(info, rng)


def _item(field: FieldInfo, rng: random.Random, missing: float) -> Any:
    """One item of a list: a section of the item's fields, or a value of the item's kind."""
    if field.item_kind == "object":
        return _section(field.path, rng, missing)
    item = FieldInfo(field.path, field.item_kind or "string", field.description, field.choices)
    return _scalar(item, rng)


def _scalar(info: FieldInfo, rng: random.Random) -> Any:
    if info.choices:
        return rng.choice(info.choices)
    if info.kind == "boolean":
        return rng.random() < 0.5
    if info.kind == "string":
        return rng.choice(TEXTS)
    return _number(info, rng)


def _number(info: FieldInfo, rng: random.Random) -> int | float:
    low = info.minimum if info.minimum is not None else 0
    high = info.maximum
    if high is None:
        high = low + rng.choice(NUMBER_SCALES)
    value = rng.uniform(low, high)
    return round(value) if info.whole else round(value, 2)


_IDENTIFIERS = {
    "org_id": "GB-CHC-1234567",
    "charity_number": "1129409",
    "company_number": "09028397",
}


def _fit_validators(values: dict[str, Any]) -> dict[str, Any]:
    """Repair combinations a model's own validators forbid (shares that add up to more than 1,
    a confidence interval upside down)."""
    if {"pbr_share", "upfront_share"} <= set(values) and values["pbr_share"] + values[
        "upfront_share"
    ] > 1:
        values["upfront_share"] = round(1 - values["pbr_share"], 2)
    if {"ci_lower", "ci_upper"} <= set(values) and values["ci_lower"] > values["ci_upper"]:
        values["ci_lower"], values["ci_upper"] = values["ci_upper"], values["ci_lower"]
    for key, valid in _IDENTIFIERS.items():  # texts of a set form: one that fits it
        if key in values:
            values[key] = valid
    if "estimates" in values:
        del values["estimates"]  # must name real field paths; not worth generating
    if "website" in values or "url" in values or "document_url" in values:
        for key in ("website", "url", "document_url"):
            if key in values:
                values[key] = "https://example.org/"
    return values
