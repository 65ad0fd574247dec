"""Seeded synthetic innovation profiles, for tests that compare backends and for benchmarks.

Values are drawn from each field's own type and limits, so every profile is valid; fields are
left out at random so that data gaps are exercised too.  The same seed gives the same profiles.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any, Literal, get_args, get_origin

from annotated_types import Ge, Le
from pydantic import BaseModel

from scaleready.problems import unwrap as _unwrap
from scaleready.profile import InnovationProfile, _item_type

NUMBER_SCALES = (1, 10, 100, 10_000, 1_000_000)  # drawn at random: small counts to large incomes


def synthetic_profiles(count: int, seed: int = 0, missing: float = 0.2) -> Iterator[dict[str, Any]]:
    """``count`` valid profile dicts; each optional field is left out with chance ``missing``."""
    rng = random.Random(seed)
    for number in range(count):
        profile = _model_value(InnovationProfile, rng, missing)
        profile["name"] = f"Synthetic innovation {number}"
        yield profile


def _model_value(model: type[BaseModel], rng: random.Random, missing: float) -> dict[str, Any]:
    values = {}
    for name, spec in model.model_fields.items():
        if not spec.is_required() and rng.random() < missing:
            continue
        values[name] = _value(_unwrap(spec.annotation), spec.metadata, rng, missing)
    return _fit_validators(model, values)


def _value(annotation: Any, limits: list, rng: random.Random, missing: float) -> Any:
    if get_origin(annotation) is Literal:
        return rng.choice(get_args(annotation))
    if get_origin(annotation) is list:
        item = _item_type(annotation)
        return [_value(item, [], rng, missing) for _ in range(rng.choice((0, 1, 1, 2, 3)))]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _model_value(annotation, rng, missing)
    if annotation is bool:
        return rng.random() < 0.5
    if annotation is str:
        return rng.choice(("alpha", "beta", "gamma", "https://example.org/report"))
    return _number(annotation, limits, rng)


def _number(annotation: Any, limits: list, rng: random.Random) -> int | float:
    low = next((limit.ge for limit in limits if isinstance(limit, Ge)), 0)
    high = next((limit.le for limit in limits if isinstance(limit, Le)), None)
    if high is None:
        high = low + rng.choice(NUMBER_SCALES)
    value = rng.uniform(low, high)
    return round(value) if annotation is int else round(value, 2)


def _fit_validators(model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """Repair combinations a model's own validators forbid (shares that add up to more than 1)."""
    if {"pbr_share", "upfront_share"} <= set(values) and values["pbr_share"] + values[
        "upfront_share"
    ] > 1:
        values["upfront_share"] = round(1 - values["pbr_share"], 2)
    if "estimates" in values:
        del values["estimates"]  # must name real field paths; not worth generating
    if "website" in values or "url" in values or "document_url" in values:
        for key in ("website", "url", "document_url"):
            if key in values:
                values[key] = "https://example.org/"
    return values
