"""The shapes of the service's answers, as the OpenAPI document describes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from scaleready.history import Job, Record


class Assessment(BaseModel):
    """An assessment as the history keeps it: the scorecard, and what it was made from."""

    id: str
    recorded_at: datetime
    funder: str | None
    caller: str
    profile_sha256: str
    policy_sha256: str | None
    idempotency_key: str | None
    rulesets: list[dict[str, Any]] = Field(description="Each ruleset's id, version and sha256.")
    backend: str
    scorecard: dict[str, Any] = Field(description="The scorecard: GET /schemas/scorecard.")

    @classmethod
    def of(cls, record: Record) -> Assessment:
        return cls(
            id=record.id,
            recorded_at=record.recorded_at,
            funder=record.funder,
            caller=record.caller,
            profile_sha256=record.profile_sha256,
            policy_sha256=record.policy_sha256,
            idempotency_key=record.idempotency_key,
            rulesets=record.rulesets,
            backend=record.backend,
            scorecard=record.scorecard,
        )


class AssessmentList(BaseModel):
    """A page of the funder's assessments, newest first."""

    items: list[Assessment]
    limit: int
    offset: int


class RoundStatus(BaseModel):
    """A round: where it is, how far it got, and where its results are once done."""

    id: str
    status: Literal["queued", "running", "done", "failed"]
    filename: str
    format: str
    done: int = Field(description="Items assessed so far.")
    total: int | None = Field(description="Items in the round, once all have been read.")
    created_at: datetime
    updated_at: datetime
    error: str | None = Field(description="Why the round failed (status failed only).")
    note: str | None = Field(description="What happened on the way: its worker stopped, say.")
    summary: dict[str, Any] | None = Field(
        description="What became of the items (status done): items, assessed, errors, "
        "internal_errors, gate_failed, warnings."
    )
    links: dict[str, str] = Field(description="The results, once done: summary, scorecards.")

    @classmethod
    def of(cls, job: Job) -> RoundStatus:
        failed = job.status == "failed"
        links = {"self": f"/rounds/{job.id}"}
        if job.status == "done":
            links |= {"summary": f"/rounds/{job.id}/summary"}
            links |= {"scorecards": f"/rounds/{job.id}/scorecards"}
        return cls(
            id=job.id,
            status=job.status,  # type: ignore[arg-type]  # the store keeps these four
            filename=job.filename,
            format=job.fmt,
            done=job.done or 0,
            total=job.total,
            created_at=job.created_at,
            updated_at=job.updated_at,
            error=job.error if failed else None,
            note=None if failed else job.error,
            summary=job.summary,
            links=links,
        )


class RulesetInfo(BaseModel):
    id: str
    version: str
    title: str
    rules: int
    sha256: str
    counts: bool = Field(description="Counted by default (without a policy choosing).")


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    worker: str


class FieldProblem(BaseModel):
    field: str | None = Field(
        description="The field's path as the CLI writes it (list items from 1), or null."
    )
    pointer: str = Field(description="A JSON Pointer to the field in the profile.")
    line: int | None = Field(description="Its line in the body, where there is one.")
    detail: str


class ProblemDetails(BaseModel):
    """An error, as RFC 9457 problem details."""

    type: str = Field(description="urn:scaleready:problem:KIND (docs/service.md lists them).")
    title: str
    status: int
    detail: str | None = Field(None, description="The message the CLI gives for the same input.")
    instance: str | None = None
    errors: list[FieldProblem] | None = Field(None, description="Each problem, by field.")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI description of the problems a route may answer with."""
    return {
        status: {"model": ProblemDetails, "content": {"application/problem+json": {}}}
        for status in statuses
    }
