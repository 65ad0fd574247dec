"""Messages about bad input: the nearest name, a value quoted briefly, a field path, many problems,
and one formatter of pydantic's validation errors for every document scaleready reads.

Every message that names a problem goes through these, so they read the same everywhere.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import types
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypeGuard, TypeVar, Union, get_args, get_origin

from scaleready.documents import Document, Location, looks_like_number
from scaleready.errors import InputError, Problem

if TYPE_CHECKING:  # pydantic is imported by whoever has a ValidationError to describe
    from pydantic import BaseModel, ValidationError
    from pydantic.fields import FieldInfo
    from pydantic_core import ErrorDetails

ModelT = TypeVar("ModelT", bound="BaseModel")

# The most problems one message lists; the rest are counted ("... and 999,990 more").
MAX_PROBLEMS_SHOWN = 20


_BRIEF_BITS = 128  # whole numbers longer than this are described by their size


def brief(value: Any) -> str:
    """A value as a message quotes it: short, and never the whole of a long one."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a section of keys"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int) and value.bit_length() > _BRIEF_BITS:  # str() of it may fail
        return f"a whole number of about {int(value.bit_length() * math.log10(2)):,} digits"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def item_path(location: Location) -> str:
    """A field path as messages and CSV columns write it: `contracts.1.pbr_share`.

    List items are numbered from 1, as the columns of a grant round number them.
    """
    return ".".join(_step(step) for step in location)


def _step(step: str | int) -> str:
    if isinstance(step, int):
        return str(step + 1)
    return step if step.isprintable() else repr(step)  # a key may hold a newline or an escape


def field_path(location: Location) -> str:
    """A field path as code and forms write it: `evidence.evaluations[0].design`.

    List items are numbered from 0, in brackets; a key that is not a plain name is quoted in
    brackets (`metadata["grant ref"]`). The whole document is "".
    """
    path = ""
    for step in location:
        if isinstance(step, int):
            path += f"[{step}]"
        elif _PLAIN_KEY.fullmatch(step):
            path += f".{step}" if path else step
        else:
            path += f"[{json.dumps(step, ensure_ascii=False)}]"
    return path


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def join_problems(problems: Sequence[str], total: int | None = None) -> str:
    """One message for a document's problems: the first MAX_PROBLEMS_SHOWN, the rest counted.

    `total` is how many there are, when only the first few were made into `problems`.
    """
    total = len(problems) if total is None else total
    if total == 1:
        return problems[0]
    shown = [f"  {problem}" for problem in problems[:MAX_PROBLEMS_SHOWN]]
    if total > len(shown):
        shown.append(f"  ... and {total - len(shown):,} more")
    return f"{total:,} problems:\n" + "\n".join(shown)


def nearest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to a misspelt name, for 'did you mean ...?', or None."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str], otherwise: str = "") -> str:
    """ "did you mean 'x'?" for the nearest candidate, else ``otherwise`` (say, what is allowed)."""
    hint = nearest(name, candidates)
    return f"did you mean {hint!r}?" if hint else otherwise


# ---------------------------------------------------------------- pydantic's validation errors


def validation_problems(
    error: ValidationError,
    model: type[BaseModel],
    document: Document | None = None,
    owner: Callable[[Location], str] | None = None,
) -> str:
    """One message for data that does not match `model`: its problems in document order.

    Each names its line (when `document` is given), its field path and what to do; the first
    MAX_PROBLEMS_SHOWN are shown, the rest counted. `owner` names what a field belongs to, put
    before its path (a ruleset's "rule 'a': ").
    """
    return _message(_in_document_order(error, document), model, owner)


def _message(
    found: list[tuple[ErrorDetails, int | None]],
    model: type[BaseModel],
    owner: Callable[[Location], str] | None,
) -> str:
    shown = [
        (f"line {line}: " if line else "") + _problem(details, model, owner)
        for details, line in found[:MAX_PROBLEMS_SHOWN]
    ]
    return join_problems(shown, len(found))


def validation_problem_list(
    error: ValidationError,
    model: type[BaseModel],
    document: Document | None = None,
    owner: Callable[[Location], str] | None = None,
) -> list[tuple[int | None, str]]:
    """Each problem of data that does not match `model`, with its line, in document order.

    A list's "too short" is left out when the list has items: those items' own problems are the
    ones to fix (pydantic counts only the items that validated).
    """
    found = _in_document_order(error, document)
    return [(line, _problem(details, model, owner)) for details, line in found]


def _in_document_order(
    error: ValidationError, document: Document | None
) -> list[tuple[ErrorDetails, int | None]]:
    """pydantic's errors with their lines, in document order; problems without a line keep
    pydantic's (field) order."""
    errors = [e for e in error.errors(include_url=False) if not _short_of_invalid_items(e)]
    found = [(e, document.line_of(tuple(e["loc"])) if document else None) for e in errors]
    return sorted(found, key=lambda pair: (pair[1] is None, pair[1] or 0))


def _short_of_invalid_items(error: ErrorDetails) -> bool:
    value = error.get("input")
    return error["type"] == "too_short" and isinstance(value, list | tuple) and len(value) > 0


def validated(
    model: type[ModelT],
    data: object,
    error: type[InputError],
    source: str,
    document: Document | None = None,
    owner: Callable[[Location], str] | None = None,
) -> ModelT:
    """``data`` as ``model``, or ``error`` from ``source`` naming every problem (see above)."""
    from pydantic import ValidationError  # here, so that importing this module does not load it

    try:
        return model.model_validate(data)
    except ValidationError as exc:
        found = _in_document_order(exc, document)
        problems = _structured(found, model)
        raise error(_message(found, model, owner), source=source, problems=problems) from None


# The most problems an error lists as structured problems (`InputError.problems`).
MAX_STRUCTURED_PROBLEMS = 1000


def structured_problems(
    error: ValidationError, model: type[BaseModel], document: Document | None = None
) -> list[Problem]:
    """Each problem of data that does not match `model` as (field path, message, line), in
    document order, the first MAX_STRUCTURED_PROBLEMS of them: an unknown key at its own path."""
    return _structured(_in_document_order(error, document), model)


def _structured(
    found: list[tuple[ErrorDetails, int | None]], model: type[BaseModel]
) -> list[Problem]:
    return [
        Problem(field_path(details["loc"]), _said(details, model), line)
        for details, line in found[:MAX_STRUCTURED_PROBLEMS]
    ]


def _said(error: ErrorDetails, model: type[BaseModel]) -> str:
    """What is wrong at an error's place, without the place."""
    location = tuple(error["loc"])
    if error["type"] in ("extra_forbidden", "invalid_key"):
        return _unknown_key(model, location)
    return _explain(error, _field_at(model, location))


def _problem(
    error: ErrorDetails, model: type[BaseModel], owner: Callable[[Location], str] | None
) -> str:
    location = tuple(error["loc"])
    where = owner(location) if owner else ""
    if error["type"] in ("extra_forbidden", "invalid_key"):  # the key's own place is its section
        return f"{where}{item_path(location[:-1]) or 'top level'}: {_unknown_key(model, location)}"
    field = _field_at(model, location)
    return f"{where}{item_path(location) or 'top level'}: {_explain(error, field)}"


def _unknown_key(model: type[BaseModel], location: Location) -> str:
    section = _section_at(model, location[:-1])
    keys = [spec.alias or name for name, spec in section.model_fields.items()] if section else []
    key = str(location[-1])
    allowed = "the keys allowed here are " + ", ".join(keys) if keys else ""
    advice = did_you_mean(key, keys, otherwise=allowed)
    return f"unknown key {brief(key)}" + (f"; {advice}" if advice else "")


# The words for a value of the wrong type, and how to write one of the right type.
_EXPECTED = {
    "float_type": ("a number", "write a plain number without units or commas, e.g. {}"),
    "int_type": ("a whole number", "write a whole number without units or commas, e.g. {}"),
    "string_type": ("text", ""),
    "bool_type": ("true or false", "write true or false"),
    "list_type": ("a list", "write one '- ' item per line, or [] for none"),
    "tuple_type": ("a list", "write one '- ' item per line"),
    "model_type": ("a section of keys", "write its keys indented beneath it"),
    "model_attributes_type": ("a section of keys", "write its keys indented beneath it"),
    "dict_type": ("a section of keys", "write its keys indented beneath it"),
}
_NUMBER_TYPES = ("float_type", "int_type")
# Patterns a field may have to match, in words.
_PATTERNS = {
    r"^https?://\S+$": "a web address starting with https:// or http://",
    r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$": (
        "a version of three numbers, like '0.1.0' (major.minor.patch)"
    ),
    r"^[a-z][a-z0-9_]*$": (
        "a name in lower_snake_case: lower-case letters, digits and _, starting with a letter"
    ),
}


def _explain(error: ErrorDetails, field: FieldInfo | None) -> str:
    kind, value = error["type"], error.get("input")
    if kind in _EXPECTED:
        return _wrong_type(kind, value, field.examples if field else None)
    if kind == "missing":
        return "is required; add it"
    if kind in ("literal_error", "enum"):
        return _choice_problem(value, (error.get("ctx") or {}).get("expected", ""))
    return _constraint_problem(kind, error.get("ctx") or {}, value, error["msg"])


def _wrong_type(kind: str, value: Any, examples: list[Any] | None) -> str:
    expected, advice = _EXPECTED[kind]
    if kind in _NUMBER_TYPES and isinstance(value, bool):  # so are YAML's yes, no, on and off
        not_numbers = "true, false and quoted numbers are not numbers"
        return f"expected {expected} ({not_numbers}), got {brief(value)}"
    if kind in _NUMBER_TYPES and isinstance(value, str) and looks_like_number(value):
        advice = "remove the quotes around the number"
    if kind == "string_type" and examples and not isinstance(value, dict | list):
        advice = f"write it as text like {str(examples[0])!r}"
    advice = advice.format(examples[0] if examples else 12)
    return f"expected {expected}, got {brief(value)}" + (f"; {advice}" if advice else "")


def _choice_problem(value: Any, expected: str) -> str:
    choices = [c.strip(" '") for c in expected.replace(" or ", ", ").split(",")]
    allowed = "use one of: " + ", ".join(choices)
    advice = did_you_mean(value, choices, otherwise=allowed) if isinstance(value, str) else allowed
    return f"{brief(value)} is not one of the choices; {advice}"


def _constraint_problem(kind: str, ctx: dict[str, Any], value: Any, message: str) -> str:
    got = brief(value)
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return f"must be {'at least' if 'ge' in ctx else 'more than'} {bound:g}, got {got}"
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        tip = "; shares are fractions: write 0.3 for 30%" if bound == 1 else ""
        return f"must be {'at most' if 'le' in ctx else 'less than'} {bound:g}, got {got}{tip}"
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return (
            "must have at least one item; add one"
            if least == 1
            else f"must have {least} items or more"
        )
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in _PATTERNS:
        return f"expected {_PATTERNS[ctx['pattern']]}, got {got}"
    if kind == "too_long":
        return _too_long(ctx)
    return message.removeprefix("Value error, ")


def _too_long(ctx: dict[str, Any]) -> str:
    count = f"{ctx['actual_length']:,} items" if ctx.get("actual_length") else "more items"
    holder = "a list" if ctx.get("field_type") == "List" else "a section"
    return (
        f"holds {count}, more than the {ctx['max_length']:,} {holder} may hold here; "
        "keep the ones that matter most"
    )


# ---------------------------------------------------------------- what a model expects where


def _section_at(model: type[BaseModel], location: Location) -> type[BaseModel] | None:
    """The model of the section found at `location` in data for `model`, if it is one."""
    annotation = _expected_at(model, location)[0]
    return annotation if _is_model(annotation) else None


def _field_at(model: type[BaseModel], location: Location) -> FieldInfo | None:
    """The model field that `location` names (None for a list item or a mapping's value)."""
    return _expected_at(model, location)[1]


def _expected_at(model: type[BaseModel], location: Location) -> tuple[Any, FieldInfo | None]:
    """The type expected at `location`, and the field it belongs to if it is one."""
    annotation: Any = model
    field: FieldInfo | None = None
    for step in location:
        annotation = unwrap(annotation)
        origin = get_origin(annotation)
        if _is_model(annotation):
            field = _field_named(annotation, step)
            annotation = field.annotation if field else None
        elif origin in (list, tuple, dict):  # an item, or a mapping's value
            annotation, field = get_args(annotation)[-1 if origin is dict else 0], None
        else:
            return None, None
    return unwrap(annotation), field


def _field_named(model: type[BaseModel], key: str | int) -> FieldInfo | None:
    """The field a key names: by its name, or by its alias (a ruleset rule's `pass`)."""
    return next((f for name, f in model.model_fields.items() if key in (name, f.alias)), None)


def unwrap(annotation: Any) -> Any:
    """The type inside `X | None` and `Annotated[X, ...]`."""
    if get_origin(annotation) is Annotated:
        return unwrap(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return unwrap(args[0])
    return annotation


def _is_model(annotation: Any) -> TypeGuard[type[BaseModel]]:
    from pydantic import BaseModel  # here, so that importing this module does not load pydantic

    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
