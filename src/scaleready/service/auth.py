"""Bearer tokens, one or more per funder, issued by `scaleready token issue FUNDER` and kept
hashed in the store: a request's token says which funder it acts for."""

from __future__ import annotations

from typing import Annotated, NamedTuple

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from scaleready.history import TokenInfo
from scaleready.service.problem_details import Problem
from scaleready.service.settings import CALLER
from scaleready.service.state import Service, current

_bearer = HTTPBearer(auto_error=False, description="A funder's token: `scaleready token issue`")


class Caller(NamedTuple):
    """Who is asking: the funder the token belongs to, and the caller as the history names it."""

    funder: str
    name: str


def caller(
    service: Annotated[Service, Depends(current)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller of a request with a known token; 401 otherwise."""
    if credentials is None:
        raise _unauthorized("send a funder's token: Authorization: Bearer TOKEN", "")
    token = service.store.token_info(credentials.credentials)
    if token is None:
        raise _unauthorized(
            "the token is not known, or was revoked; ask for a new one "
            "(scaleready token issue FUNDER)",
            ' error="invalid_token"',
        )
    return Caller(token.funder, caller_name(token))


def caller_name(token: TokenInfo) -> str:
    """How the history names a caller: the service and the token (its id, as `scaleready token
    list` shows it, and its label), so that a record says which grant system asked."""
    label = f" ({token.label})" if token.label else ""
    return f"{CALLER}: token {token.id}{label}"[:200]  # the column holds 200


def _unauthorized(detail: str, error: str) -> Problem:
    headers = {"WWW-Authenticate": f"Bearer{error}"}
    return Problem(401, "unauthorized", "Unauthorized", detail, headers=headers)


CallerDep = Annotated[Caller, Depends(caller)]
