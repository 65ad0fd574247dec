"""What the service assesses with: one engine per choice of rulesets (built once, then shared by
the process's threads), the policies of its folder or sent inline, and profiles read from
request bodies as the CLI reads files (safe YAML or JSON; the same field-level messages)."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from scaleready.assessment.build import choose_rulesets, create_engine
from scaleready.assessment.engine import Engine, data_sha256
from scaleready.assessment.policy import Policy, read_policy
from scaleready.assessment.scorecard import ScorecardData
from scaleready.documents import (
    MAX_DOCUMENT_MIB_VARIABLE,
    SUFFIXES,
    Document,
    Location,
    max_document_bytes,
    parse_document,
)
from scaleready.errors import PolicyError, ProfileError
from scaleready.plugins import Registry, load_registry
from scaleready.problems import did_you_mean
from scaleready.profile import profile_from_data
from scaleready.service.problem_details import Problem

BODY = Path("request body")  # how messages name a profile sent in a request
INLINE_POLICY = "request body (policy)"
_JSON_TYPES = ("application/json",)
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")
_POLICY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class AssessmentRequest(NamedTuple):
    """An assessment asked for: the profile's data, and the policy, by name or inline; the
    body's document and where the profile is in it, to find the line of a field."""

    profile: Any
    policy: str | Mapping[str, Any] | None
    document: Document | None = None
    at: tuple[str, ...] = ()

    def line_of(self, location: Location) -> int | None:
        """The line of a field of the profile in the body."""
        return None if self.document is None else self.document.line_of((*self.at, *location))


class Assessed(NamedTuple):
    """A profile assessed: its scorecard, its data and hash, and the policy applied."""

    card: ScorecardData
    profile: dict[str, Any]
    profile_sha256: str
    policy: Policy | None
    document: dict[str, Any] | None  # the policy's, as the history keeps it


def read_request(raw: bytes, content_type: str, policy_name: str | None) -> AssessmentRequest:
    """The profile (and the policy) a POST /assessments body carries.

    The body is a profile, in JSON or YAML, or (JSON or YAML) ``{"profile": ..., "policy":
    NAME or {...}}``; a policy named in the query (``?policy=NAME``) applies to a bare profile.
    """
    suffix = _suffix(content_type)
    if len(raw) > (limit := max_document_bytes()):  # as the CLI bounds a profile file
        raise Problem(
            413,
            "too-large",
            "Request too large",
            f"a profile is at most {limit // 2**20} MiB, as scaleready reads profiles "
            f"(the service's {MAX_DOCUMENT_MIB_VARIABLE} raises it); check it is a profile",
        )
    document = parse_document(raw, BODY, ProfileError, suffix)
    data = document.data
    if "profile" not in data or not set(data) <= {"profile", "policy"}:
        return AssessmentRequest(data, policy_name, document)
    if policy_name is not None and data.get("policy") is not None:
        raise Problem(
            422,
            "invalid-request",
            "The request is not valid",
            "the policy is given twice, in the query and in the body: give it once",
        )
    return AssessmentRequest(
        data["profile"], data.get("policy") or policy_name, document, ("profile",)
    )


def _suffix(content_type: str) -> str:
    media_type = content_type.split(";")[0].strip().lower()
    if media_type in _JSON_TYPES or media_type.endswith("+json"):
        return ".json"
    if media_type in _YAML_TYPES:
        return ".yaml"
    raise Problem(
        415,
        "unsupported-media-type",
        "Unsupported media type",
        f"a profile is sent as application/json or application/yaml, not {media_type or 'nothing'}",
    )


class Assessing:
    """The engines and policies of one service process."""

    def __init__(self, policies: Path | None, registry: Registry | None = None) -> None:
        self.registry = registry or load_registry()
        self.policies = policies
        self._engines: dict[tuple[str, ...], Engine] = {}
        self._building = threading.Lock()

    def assess(self, request: AssessmentRequest) -> Assessed:
        """Assess the request's profile under its policy; the same as `scaleready assess`."""
        policy = self.policy(request.policy)
        engine = self.engine(policy)
        profile = profile_from_data(request.profile, str(BODY), engine.profile_model)
        digest = data_sha256(request.profile)
        card = engine.assess_raw(profile, policy=policy, source=None, profile_sha256=digest)
        document = policy_document(policy, request.policy)
        return Assessed(card, request.profile, digest, policy, document)

    def engine(self, policy: Policy | None) -> Engine:
        """The engine over the rulesets that count with this policy (see choosing-rulesets)."""
        ids = choose_rulesets(self.registry, policy=policy).ids
        with self._building:  # built once per process, whichever thread asks first
            if ids not in self._engines:
                self._engines[ids] = create_engine(list(ids))[0]
        engine = self._engines[ids]
        if policy is not None:
            policy.check_against(engine.rulesets)
        return engine

    def policy(self, given: str | Mapping[str, Any] | None) -> Policy | None:
        if given is None:
            return None
        if isinstance(given, str):
            return read_policy(self.policy_file(given))
        if isinstance(given, Mapping):
            return Policy.from_dict(given, INLINE_POLICY)  # hashed as canonical JSON
        raise PolicyError(
            "the policy is a name (of the service's policies) or a policy document",
            source=INLINE_POLICY,
        )

    def policy_names(self) -> list[str]:
        """The policies of the folder, by name (file name less its suffix)."""
        if self.policies is None or not self.policies.is_dir():
            return []
        found = (p for p in self.policies.iterdir() if p.suffix.lower() in SUFFIXES)
        return sorted(p.stem for p in found if p.is_file())

    def policy_file(self, name: str) -> Path:
        """The file of a named policy; PolicyError naming those there are, if none is."""
        names = self.policy_names()
        if _POLICY_NAME.match(name) and name in names:
            assert self.policies is not None  # names are those of the folder
            return next(
                self.policies / f"{name}{suffix}"
                for suffix in SUFFIXES
                if (self.policies / f"{name}{suffix}").is_file()
            )
        there = f"policies: {', '.join(names)}" if names else "this service has no policies"
        hint = did_you_mean(name, names, otherwise=there)
        raise PolicyError(f"no policy {name!r}; {hint}", source="policy")


def policy_document(
    policy: Policy | None, given: str | Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The policy's document as the history keeps it (what reassess re-applies): as sent, or
    as its file was read (its hash checked)."""
    if policy is None:
        return None
    if isinstance(given, Mapping):
        return dict(given)
    from scaleready.history.recording import policy_document as file_document

    return file_document(policy)
