"""Errors as RFC 9457 problem details: the CLI's message in ``detail``, and each field's
problem in ``errors`` (its path as the CLI writes it, its line where there is one, its message),
so a grant system can put each message beside the form field it is about."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from scaleready.documents import Location
from scaleready.errors import (
    InputError,
    PolicyError,
    ProfileError,
    RulesetError,
    ScaleReadyError,
    SettingError,
)
from scaleready.problems import item_path

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:scaleready:problem:"  # + a kind; docs/service.md lists them
_log = logging.getLogger("scaleready.service")

# "line 12: " before a problem, and "evidence.evaluations.1.design: " (a field path) after it
_LINE = re.compile(r"^line (\d+): ")
_FIELD = re.compile(r"^(top level|[^\s:]+): ")
_MORE = re.compile(r"^\.\.\. and [\d,]+ more$")


class Problem(Exception):
    """A response that is a problem: its status, kind, title, and what went wrong."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str | None = None,
        *,
        errors: Sequence[dict[str, Any]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.kind, self.title, self.detail = status, kind, title, detail
        self.errors, self.headers = list(errors), headers or {}

    def response(self, instance: str | None = None) -> JSONResponse:
        body: dict[str, Any] = {"type": TYPE_PREFIX + self.kind, "title": self.title}
        body["status"] = self.status
        if self.detail:
            body["detail"] = self.detail
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        return JSONResponse(body, self.status, self.headers, media_type=PROBLEM_JSON)


_INPUT_KINDS: tuple[tuple[type[InputError], str, str], ...] = (
    (ProfileError, "invalid-profile", "The profile is not valid"),
    (PolicyError, "invalid-policy", "The policy is not valid"),
    (RulesetError, "invalid-ruleset", "A ruleset is not valid"),
    (InputError, "invalid-input", "The input is not valid"),
)


def from_error(
    error: ScaleReadyError, line_of: Callable[[Location], int | None] | None = None
) -> Problem:
    """scaleready's error as a problem: bad input 422 with its field problems (``line_of``
    finds a field's line in the request's body), others 500."""
    if isinstance(error, InputError):
        kind, title = next((k, t) for cls, k, t in _INPUT_KINDS if isinstance(error, cls))
        return Problem(422, kind, title, str(error), errors=field_problems(error, line_of))
    if isinstance(error, SettingError):
        return Problem(500, "setting", "The service is misconfigured", str(error))
    return Problem(500, "internal", "The assessment failed", str(error))


def field_problems(
    error: ScaleReadyError, line_of: Callable[[Location], int | None] | None = None
) -> list[dict[str, Any]]:
    """Each problem of the error, in the order the CLI lists them: ``field``, its path as the
    CLI writes it (``evidence.evaluations.1.design``; None for the input as a whole),
    ``pointer``, a JSON Pointer to it in the profile (``/evidence/evaluations/0/design``),
    ``line`` where it has one, and ``detail``, the CLI's message about it."""
    found = [_as_dict(*problem) for problem in _problems(error)]
    for problem, location in found:
        if problem["line"] is None and location and line_of is not None:
            problem["line"] = line_of(location)
    return [problem for problem, _ in found]


def _problems(error: ScaleReadyError) -> list[tuple[str, str, int | None]]:
    """(path, message, line) of each problem: the error's own list where it keeps one, else
    read from its message, as the CLI prints it."""
    structured = getattr(error, "problems", None)
    if isinstance(structured, list) and all(_is_triple(p) for p in structured):
        return [(path, message, line) for path, message, line in structured]
    lines = error.message.splitlines()
    if len(lines) > 1 and re.match(r"^[\d,]+ problems:$", lines[0]):
        lines = [line.strip() for line in lines[1:] if not _MORE.match(line.strip())]
    return [_one_problem(line) for line in lines]


def _is_triple(value: object) -> bool:
    return isinstance(value, tuple) and len(value) == 3


def _one_problem(text: str) -> tuple[str, str, int | None]:
    line = None
    if found := _LINE.match(text):
        line, text = int(found.group(1)), text[found.end() :]
    path = ""
    if found := _FIELD.match(text):
        path, text = found.group(1), text[found.end() :]
    return path, text, line


def _as_dict(path: str, message: str, line: int | None) -> tuple[dict[str, Any], Location]:
    location = location_of(path)
    problem = {
        "field": item_path(location) or None,
        "pointer": "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in location),
        "line": line,
        "detail": message,
    }
    return problem, location


# a step of a path as code writes it: [0], ["a key"], or .name
_CODE_STEP = re.compile(r'\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([^.\[]+)')


def location_of(path: str) -> Location:
    """The steps of a field path, written as the CLI writes it (items numbered from 1) or as
    code does (``evidence.evaluations[0].design``)."""
    if path in ("", "top level"):
        return ()
    if "[" not in path:
        return tuple(int(step) - 1 if step.isdigit() else step for step in path.split("."))
    return tuple(
        int(index) if index else json.loads(quoted) if quoted else name
        for index, quoted, name in _CODE_STEP.findall(path)
    )


def install(app: FastAPI) -> None:
    """Make every error the app answers with a problem details document."""
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(ScaleReadyError, _scaleready_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_error)
    app.add_exception_handler(Exception, _unexpected)


async def _problem(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, Problem)
    return error.response(request.url.path)


async def _scaleready_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ScaleReadyError)
    return from_error(error).response(request.url.path)


_HTTP_KINDS = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized"}


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    kind = _HTTP_KINDS.get(error.status_code, "http-error")
    detail = error.detail if isinstance(error.detail, str) else None
    problem = Problem(error.status_code, kind, _title(error.status_code), detail)
    problem.headers = dict(error.headers or {})
    return problem.response(request.url.path)


async def _request_error(request: Request, error: Exception) -> JSONResponse:
    """A query parameter or header of the wrong shape (the bodies are read by scaleready)."""
    assert isinstance(error, RequestValidationError)
    errors = [
        {"field": ".".join(map(str, e["loc"][1:])), "line": None, "detail": e["msg"]}
        for e in error.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['detail']}" for e in errors)
    return Problem(
        422, "invalid-request", "The request is not valid", detail, errors=errors
    ).response(request.url.path)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    """A bug: logged with its traceback, answered without one."""
    _log.exception("internal error answering %s %s", request.method, request.url.path)
    detail = f"internal error: {type(error).__name__}; the service's log has the details"
    return Problem(500, "internal", "Internal error", detail).response(request.url.path)


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
