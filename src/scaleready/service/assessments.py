"""POST /assessments, GET /assessments/{id}, GET /assessments: a funder's assessments, each
recorded in the history with its caller and funder."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from scaleready.errors import ProfileError
from scaleready.history import Record
from scaleready.service.assessing import Assessed, AssessmentRequest, read_request
from scaleready.service.auth import CallerDep
from scaleready.service.models import Assessment, AssessmentList, problem_responses
from scaleready.service.problem_details import Problem, from_error
from scaleready.service.state import Service, current

router = APIRouter(tags=["assessments"])
ServiceDep = Annotated[Service, Depends(current)]

_PROFILE_BODY: dict[str, Any] = {
    "description": 'A profile (GET /schemas/profile), or {"profile": ..., "policy": NAME '
    "or a policy document (GET /schemas/policy)}; as JSON or YAML.",
    "required": True,
    "content": {
        media_type: {"schema": {"type": "object"}}
        for media_type in ("application/json", "application/yaml")
    },
}


async def _body(request: Request) -> bytes:
    return await request.body()


@router.post(
    "/assessments",
    status_code=201,
    response_model=Assessment,
    openapi_extra={"requestBody": _PROFILE_BODY},
    responses={
        200: {"model": Assessment, "description": "Assessed before, under this Idempotency-Key"},
        **problem_responses(401, 413, 415, 422),
    },
)
def create_assessment(
    service: ServiceDep,
    caller: CallerDep,
    raw: Annotated[bytes, Depends(_body)],
    content_type: Annotated[str, Header()] = "application/json",
    policy: Annotated[
        str | None, Query(description="A policy of the service's folder, by name.")
    ] = None,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, description="Retrying with the same key returns the first answer."),
    ] = None,
) -> JSONResponse:
    """Assess a profile (and apply a policy); the assessment is recorded in the history."""
    request = read_request(raw, content_type, policy)
    if idempotency_key is not None:
        earlier = service.store.find_by_idempotency_key(caller.funder, idempotency_key)
        if earlier is not None:
            return _answer(_same_request(earlier, request), 200)
    try:
        assessed = service.assessing.assess(request)
    except ProfileError as error:  # named with the lines of its fields in the body
        raise from_error(error, request.line_of) from None
    record = _record(service, assessed, caller.funder, caller.name, idempotency_key)
    if record.profile_sha256 != assessed.profile_sha256:  # a request with the key came first
        return _answer(_same_request(record, request), 200)
    return _answer(record, 201)


def _same_request(earlier: Record, request: AssessmentRequest) -> Record:
    """The earlier assessment, if it was of the same profile; a key reused for another
    profile is a mistake to name (422), not a reason to answer with the wrong scorecard."""
    from scaleready.assessment.engine import data_sha256

    if isinstance(request.profile, dict) and data_sha256(request.profile) == earlier.profile_sha256:
        return earlier
    raise Problem(
        422,
        "idempotency-key-reused",
        "Idempotency-Key already used",
        f"this Idempotency-Key was used for another profile (assessment {earlier.id}); "
        "use a new key for a new request",
    )


def _record(
    service: Service, assessed: Assessed, funder: str, caller: str, key: str | None
) -> Record:
    policy = assessed.policy
    return service.store.record(
        assessed.card,
        assessed.profile,
        caller=caller,
        funder=funder,
        policy=assessed.document,
        policy_sha256=policy.sha256 if policy else None,
        idempotency_key=key,
    )


def _answer(record: Record, status: int) -> JSONResponse:
    body = Assessment.of(record).model_dump(mode="json")
    return JSONResponse(body, status, {"Location": f"/assessments/{record.id}"})


@router.get(
    "/assessments/{assessment_id}",
    response_model=Assessment,
    responses=problem_responses(401, 404),
)
def get_assessment(service: ServiceDep, caller: CallerDep, assessment_id: str) -> Assessment:
    """One of the funder's assessments (another funder's is not found)."""
    record = service.store.get(assessment_id, funder=caller.funder)
    if record is None:
        raise Problem(404, "not-found", "Not Found", f"no assessment {assessment_id!r}")
    return Assessment.of(record)


@router.get("/assessments", response_model=AssessmentList, responses=problem_responses(401, 422))
def list_assessments(
    service: ServiceDep,
    caller: CallerDep,
    name: Annotated[str | None, Query(description="Only profiles of this name.")] = None,
    since: Annotated[datetime | None, Query(description="Recorded at or after.")] = None,
    until: Annotated[datetime | None, Query(description="Recorded before.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AssessmentList:
    """The funder's assessments, newest first."""
    records = service.store.find(
        funder=caller.funder, name=name, since=since, until=until, limit=limit, offset=offset
    )
    return AssessmentList(items=[Assessment.of(r) for r in records], limit=limit, offset=offset)
