"""POST /rounds, GET /rounds/{id} and its results: a grant round assessed in the background,
with the same summary and scorecards as `scaleready batch`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse

from scaleready.history import Job
from scaleready.service.assessing import policy_document
from scaleready.service.auth import CallerDep
from scaleready.service.models import RoundStatus, problem_responses
from scaleready.service.problem_details import Problem
from scaleready.service.round_job import SCORECARDS, SUMMARY
from scaleready.service.state import Service, current

router = APIRouter(tags=["rounds"])
ServiceDep = Annotated[Service, Depends(current)]

# A round's formats, by file suffix and by the media type of a bare body.
FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".jsonl": "jsonl"}
MEDIA_TYPES = {
    "text/csv": ".csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/jsonl": ".jsonl",
    "application/x-ndjson": ".jsonl",
    "application/jsonlines": ".jsonl",
}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")

_ROUND_BODY: dict[str, Any] = {
    "description": "The round: a CSV, XLSX or JSONL file, as the body (its media type says "
    "which) or as the part `file` of a multipart/form-data upload.",
    "required": True,
    "content": {
        **{
            media_type: {"schema": {"type": "string", "format": "binary"}}
            for media_type in MEDIA_TYPES
        },
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
    },
}


class Upload:
    """A round's file as it came: its name (a safe one) and bytes."""

    def __init__(self, filename: str, content: bytes) -> None:
        self.filename, self.content = filename, content


async def _upload(request: Request, filename: str | None) -> Upload:
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        form = await request.form()
        part = form.get("file")
        if part is None or isinstance(part, str):
            raise _bad_round("a multipart upload carries the round as its part named 'file'")
        return Upload(_round_name(part.filename or filename, None), await part.read())
    if media_type not in MEDIA_TYPES:
        known = ", ".join(MEDIA_TYPES)
        raise Problem(
            415,
            "unsupported-media-type",
            "Unsupported media type",
            f"a round is sent as one of {known} or multipart/form-data, "
            f"not {media_type or 'nothing'}",
        )
    return Upload(_round_name(filename, MEDIA_TYPES[media_type]), await request.body())


def _round_name(given: str | None, suffix: str | None) -> str:
    """A file name safe to keep (its last part, plain characters) with a round's suffix."""
    name = _SAFE_NAME.sub("_", Path(given or "").name).lstrip(".") or "round"
    if suffix is not None and Path(name).suffix.lower() != suffix:
        name += suffix
    if Path(name).suffix.lower() not in FORMATS:
        raise _bad_round(f"{name}: a round is a .csv, .xlsx or .jsonl file")
    return name


def _bad_round(detail: str) -> Problem:
    return Problem(422, "invalid-round", "The round cannot be read", detail)


async def _round_upload(
    request: Request,
    filename: Annotated[
        str | None, Query(description="The round's file name (a bare body has none).")
    ] = None,
) -> Upload:
    return await _upload(request, filename)


@router.post(
    "/rounds",
    status_code=202,
    response_model=RoundStatus,
    openapi_extra={"requestBody": _ROUND_BODY},
    responses=problem_responses(401, 413, 415, 422),
)
def create_round(
    service: ServiceDep,
    caller: CallerDep,
    upload: Annotated[Upload, Depends(_round_upload)],
    policy: Annotated[
        str | None, Query(description="A policy of the service's folder, by name.")
    ] = None,
) -> JSONResponse:
    """Submit a round; poll the Location it answers with until the round is done."""
    chosen = service.assessing.policy(policy)
    if chosen is not None:
        service.assessing.engine(chosen)  # a policy that does not fit is named now, not later
    job = service.store.create_job(
        caller.funder,
        filename=upload.filename,
        fmt=FORMATS[Path(upload.filename).suffix.lower()],
        policy=policy_document(chosen, policy),
        caller=caller.name,
    )
    folder = service.runner.folder(job.id)
    folder.mkdir(parents=True)
    (folder / upload.filename).write_bytes(upload.content)
    if chosen is not None:  # the file itself, so that the gate names the same policy hash
        source = Path(chosen.source)
        shutil.copyfile(source, folder / f"policy{source.suffix}")
    service.runner.submit(job.id)
    body = RoundStatus.of(job).model_dump(mode="json")
    return JSONResponse(body, 202, {"Location": f"/rounds/{job.id}"})


def _job(service: Service, caller_funder: str, round_id: str) -> Job:
    job = service.store.get_job(round_id, funder=caller_funder)
    if job is None:
        raise Problem(404, "not-found", "Not Found", f"no round {round_id!r}")
    return job


@router.get("/rounds/{round_id}", response_model=RoundStatus, responses=problem_responses(401, 404))
def get_round(service: ServiceDep, caller: CallerDep, round_id: str) -> RoundStatus:
    """Where a round is: queued, running (with its progress), done or failed (with why)."""
    return RoundStatus.of(_job(service, caller.funder, round_id))


@router.get(
    "/rounds/{round_id}/summary",
    response_class=FileResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "One row per item, as batch writes."},
        **problem_responses(401, 404, 409),
    },
)
def get_round_summary(service: ServiceDep, caller: CallerDep, round_id: str) -> FileResponse:
    """The round's summary, CSV, as `scaleready batch --summary round.csv` writes it."""
    return _result(service, caller.funder, round_id, SUMMARY, "text/csv")


@router.get(
    "/rounds/{round_id}/scorecards",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/jsonl": {}}, "description": "A scorecard per line."},
        **problem_responses(401, 404, 409),
    },
)
def get_round_scorecards(service: ServiceDep, caller: CallerDep, round_id: str) -> FileResponse:
    """Every scorecard of the round, one JSON object per line (`batch --scorecards`)."""
    return _result(service, caller.funder, round_id, SCORECARDS, "application/jsonl")


def _result(
    service: Service, funder: str, round_id: str, name: Path, media_type: str
) -> FileResponse:
    job = _job(service, funder, round_id)
    if job.status != "done":
        progress = f"{job.done or 0} of {job.total if job.total is not None else '?'} items"
        raise Problem(
            409,
            "round-not-done",
            "The round is not done",
            f"round {round_id} is {job.status} ({progress}); poll /rounds/{round_id}"
            + (f": {job.error}" if job.status == "failed" and job.error else ""),
        )
    path = service.runner.folder(job.id) / name
    return FileResponse(path, media_type=media_type, filename=f"{Path(job.filename).stem}-{name}")
