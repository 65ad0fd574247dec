"""The service's FastAPI app: ``create_app(settings)``, and ``app_from_environment`` for
uvicorn's worker processes (``scaleready serve`` passes the settings in the environment)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI
from fastapi.concurrency import run_in_threadpool

from scaleready import __version__
from scaleready.service import assessments, problem_details, rounds
from scaleready.service.auth import CallerDep
from scaleready.service.limits import RequestSizeLimit
from scaleready.service.models import Health, RulesetInfo, problem_responses
from scaleready.service.problem_details import PROBLEM_JSON, Problem
from scaleready.service.runner import worker_name
from scaleready.service.settings import Settings
from scaleready.service.state import Service, current

ServiceDep = Annotated[Service, Depends(current)]
catalogue = APIRouter(tags=["catalogue"])

DESCRIPTION = """Scale-readiness scorecards for grant systems: assess a profile, submit a round,
read back a funder's assessments. Every request but /health carries a funder's bearer token
(`scaleready token issue FUNDER`); errors are RFC 9457 problem details. See docs/service.md."""


def create_app(settings: Settings) -> FastAPI:
    """The service over these settings; the store is opened and the engine built as it starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.service = await run_in_threadpool(Service.start, settings)
        yield
        app.state.service.runner.stop()

    app = FastAPI(
        title="scaleready",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=problem_responses(500),
    )
    problem_details.install(app)
    app.add_middleware(RequestSizeLimit, limit=settings.max_request_bytes)
    for router in (assessments.router, rounds.router, catalogue):
        app.include_router(router)
    app.openapi = lambda: _problems_as_problem_json(FastAPI.openapi(app))  # type: ignore[method-assign]
    return app


def _problems_as_problem_json(document: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with each problem response described as application/problem+json
    alone (FastAPI describes a response model as application/json)."""
    for operation in (op for path in document["paths"].values() for op in path.values()):
        for response in operation.get("responses", {}).values():
            content = response.get("content", {})
            if PROBLEM_JSON in content and "application/json" in content:
                content[PROBLEM_JSON] = content.pop("application/json")
    return document


def app_from_environment() -> FastAPI:
    """The app of a uvicorn worker process, with the settings `scaleready serve` was given."""
    return create_app(Settings.from_environment())


@catalogue.get("/health", response_model=Health)
def health(service: ServiceDep) -> Health:
    """The service is up and its store answers (no token needed)."""
    service.store.get_job("health-check")  # a read that finds nothing: the store answers
    return Health(status="ok", version=__version__, worker=worker_name())


@catalogue.get("/rulesets", response_model=list[RulesetInfo], responses=problem_responses(401))
def list_rulesets(service: ServiceDep, caller: CallerDep) -> list[RulesetInfo]:
    """The installed rulesets, and whether each counts by default."""
    registry = service.assessing.registry
    counted = {ruleset.id for ruleset in service.assessing.engine(None).rulesets}
    return [
        RulesetInfo(
            id=rs.id,
            version=rs.version,
            title=rs.spec.title,
            rules=len(rs.rules),
            sha256=rs.sha256,
            counts=rs.id in counted,
        )
        for rs in sorted(registry.rulesets.values(), key=lambda r: r.id)
    ]


@catalogue.get("/rulesets/{ruleset_id}", responses=problem_responses(401, 404))
def get_ruleset(service: ServiceDep, caller: CallerDep, ruleset_id: str) -> dict[str, Any]:
    """A ruleset as written: its levels and rules, each with its condition; and its sha256."""
    from scaleready.problems import did_you_mean

    registry = service.assessing.registry
    ruleset = registry.rulesets.get(ruleset_id)
    if ruleset is None:
        installed = f"installed: {', '.join(sorted(registry.rulesets))}"
        hint = did_you_mean(ruleset_id, registry.rulesets, otherwise=installed)
        raise Problem(404, "not-found", "Not Found", f"no ruleset {ruleset_id!r}; {hint}")
    written = ruleset.spec.model_dump(mode="json", exclude_none=True)
    return {**written, "sha256": ruleset.sha256}


@catalogue.get("/schemas/{kind}", responses=problem_responses(401))
def get_schema(
    service: ServiceDep, caller: CallerDep, kind: Literal["profile", "scorecard", "policy"]
) -> dict[str, Any]:
    """The JSON Schema of a profile (with the installed plugins' sections), a scorecard or a
    policy."""
    if kind == "profile":
        from scaleready.profile import profile_json_schema

        return profile_json_schema(service.assessing.registry.profile_model())
    if kind == "scorecard":
        from scaleready.assessment.scorecard import scorecard_json_schema

        return scorecard_json_schema()
    from scaleready.assessment.policy import PolicySpec

    return PolicySpec.model_json_schema()
