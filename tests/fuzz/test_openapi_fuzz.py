"""Schemathesis against the served OpenAPI document (/api/openapi.json), inside the suite.

Every operation the document describes is fuzzed through the WSGI app (no server, no network)
on in-memory persistence holding the demo municipality, signed in as its coordinator, with
every Schemathesis check: no 5xx, only documented status codes, documented content types and
headers, bodies matching the documented schemas, schema-valid input accepted, schema-invalid
input refused, missing required headers refused, unsupported methods refused (405 + Allow),
authentication enforced, and so on. One worker, derandomized Hypothesis, a fixed seed.

Random UUIDs alone would only ever meet 404, so schema-valid requests are steered (only where
Schemathesis generated *valid* data, and deterministically) towards the demo's real forums,
cases, actions, meetings, areas and organisations, with recent business dates: commands then
also succeed, change state, and their answers are checked.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation

from application.app import Forebyg
from application.demo import ORGS, build_demo, register_accounts
from application.settings import Settings
from interfaces.web import create_app

TODAY = date(2026, 6, 30)
MAX_EXAMPLES = 40
OPEN = ("awaiting_assessment", "active")
PLANS = {"due_on", "review_on", "planned_on", "post_closure_review_on"}  # the others have happened
FUZZER, FUZZER_PASSWORD = "fuzz-coordinator", "fuzz-password-" + "p" * 20
PROTOCOL_FIELDS = {"Content-Type", "If-Match", "Idempotency-Key", "Authorization", "_body", "_schema"}
# The refusals of schema-valid input that docs/api.md documents and no JSON schema can state:
# rules about dates (in the future, before an earlier fact), about what exists (a registered
# organisation, one of the forum's housing areas), about repetition, and a CPR number in a
# text that must not identify people. Any other 422 of a schema-valid request (a text the
# patterns allow but the domain refuses, an empty text, a parameter) is a constraint the
# document fails to state.
BUSINESS_RULES = re.compile(
    "|".join(
        (
            r"is in the future \(today is ",
            r" precedes ",
            r"^must be after the closure date",
            r"is not a registered organisation$",
            r"is not one of this forum's areas$",
            r"^housing areas must be distinct$",
            r"^each (case is listed|organisation attends) once$",
            r"was already discussed at this meeting$",
            r"^must not hold a CPR number",
        )
    )
)

# The operations to parametrize come from the document the app serves, so the app (in-memory,
# test-only) exists when this module is collected; the demo data is built by a fixture.
FOREBYG = Forebyg(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: TODAY)
APP = create_app(Settings(secret_key="fuzz-secret-" + "k" * 40), application=FOREBYG, testing=True)

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260630,
        "checks": {
            # Schemathesis' defaults (5xx are `not_a_server_error`'s to judge), plus two
            # documented refusals of schema-valid input: 412 for a stale If-Match, and 422
            # naming a body field for a business rule no JSON schema can state (a date in the
            # future or before the referral, an organisation that is not registered).
            # `documented_refusal_only` keeps any other 422 of a schema-valid request a failure:
            # only the BUSINESS_RULES below may refuse one.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429", "5xx"]
            },
        },
    }
)
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", APP, config=CONFIG)


@schema.auth()
class CoordinatorToken:
    """A coordinator's bearer token, from signing in (POST /api/tokens) as a user of the test's
    own, from an address of its own: the fuzzed sign-ins fail often enough to be throttled."""

    def get(self, case: Any, ctx: schemathesis.AuthContext) -> str:
        # Schemathesis may ask while collecting, before the demo is built.
        register_accounts(FOREBYG)
        if FOREBYG.get_caller_by_username(FUZZER) is None:
            FOREBYG.add_user(FUZZER, org="aarhus-kommune", role="coordinator", password=FUZZER_PASSWORD)
        response = APP.test_client().post(
            "/api/tokens",
            json={"username": FUZZER, "password": FUZZER_PASSWORD},
            environ_base={"REMOTE_ADDR": "192.0.2.10"},
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        return str(response.get_json()["token"])

    def set(self, case: Any, data: str, ctx: schemathesis.AuthContext) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.check
def documented_refusal_only(ctx: schemathesis.CheckContext, response: Any, case: Any) -> bool | None:
    """A schema-valid request may be refused (422) only for a documented business rule about a
    body field (BUSINESS_RULES), never for a header, a parameter, or a body the document allows
    otherwise: then the document misses a constraint."""
    if response.status_code != 422 or case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    try:
        errors = (response.json() or {}).get("errors") or {}
    except ValueError:
        return None  # not a problem document: content_type_conformance reports that
    protocol = sorted(PROTOCOL_FIELDS & set(errors))
    if protocol:
        raise AssertionError(
            f"a schema-valid request was refused for {protocol}: {errors}; the OpenAPI document "
            "does not state the constraint the server enforces"
        )
    undocumented = {
        name: messages
        for name, messages in errors.items()
        if not all(isinstance(m, str) and BUSINESS_RULES.search(m) for m in messages)
    }
    if undocumented or not errors:
        raise AssertionError(
            f"a schema-valid request was refused (422) for {undocumented or response.text[:300]}: "
            "no documented business rule; the OpenAPI document does not state the constraint"
        )
    return None


@dataclass
class Targets:
    """What exists in the demo (its ids derive from a fixed seed, so choices are repeatable)."""

    forums: list[str] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)
    open_cases: list[str] = field(default_factory=list)
    actions: list[tuple[str, str]] = field(default_factory=list)
    open_actions: list[tuple[str, str]] = field(default_factory=list)
    meetings: list[tuple[str, str]] = field(default_factory=list)
    planned_meetings: list[tuple[str, str]] = field(default_factory=list)
    members: dict[str, list[str]] = field(default_factory=dict)
    outsiders: dict[str, list[str]] = field(default_factory=dict)
    areas: dict[str, list[str]] = field(default_factory=dict)
    forum_of: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, app: Forebyg) -> Targets:
        targets = cls()
        for forum in sorted(app.list_forums(), key=lambda f: str(f["id"])):
            forum_id = str(forum["id"])
            view = app.get_forum(UUID(forum_id))
            targets.forums.append(forum_id)
            targets.members[forum_id] = sorted(view["members"])
            targets.outsiders[forum_id] = sorted({o.slug for o in ORGS} - set(view["members"]))
            targets.areas[forum_id] = sorted(view["housing_areas"])
            for meeting in sorted(view["meetings"], key=lambda m: str(m["meeting_id"])):
                pair = (forum_id, str(meeting["meeting_id"]))
                targets.meetings.append(pair)
                if meeting["status"] == "scheduled":
                    targets.planned_meetings.append(pair)
        for item in sorted(app.list_cases(limit=500), key=lambda c: str(c["id"])):
            case_id = str(item["id"])
            targets.cases.append(case_id)
            targets.forum_of[case_id] = str(item["forum_id"])
            if item["status"] in OPEN:
                targets.open_cases.append(case_id)
            for action in sorted(app.get_case(UUID(case_id))["actions"], key=lambda a: str(a["action_id"])):
                pair = (case_id, str(action["action_id"]))
                targets.actions.append(pair)
                if item["status"] in OPEN and action["status"] == "open":
                    targets.open_actions.append(pair)
        return targets


def _draw(*parts: Any) -> int:
    """A 'random' number determined by the generated data (so a failing case replays alike)."""
    blob = json.dumps(parts, default=str, sort_keys=True).encode()
    return int(hashlib.sha256(blob).hexdigest(), 16)


def _one(preferred: list[Any], others: list[Any], draw: int) -> Any:
    pool = preferred if preferred and draw % 3 else others
    return pool[(draw // 3) % len(pool)]


def _valid(case: Any, location: ParameterLocation) -> bool:
    return case.meta is None or not case.meta.is_negative_at(location)


def steer(case: Any, targets: Targets) -> None:
    """Point a schema-valid case at things that exist (a quarter of the cases keep their
    generated ids, so unknown ids keep meeting their 404)."""
    params = case.path_parameters
    forum_id: str | None = None
    case_id: str | None = None
    seed = [case.operation.label, params, case.query, case.body]
    draw = _draw(seed, "path")
    if params and _valid(case, ParameterLocation.PATH) and draw % 4:
        draw //= 4
        names = set(params)
        if {"case_id", "action_id"} <= names and targets.actions:
            case_id, params["action_id"] = _one(targets.open_actions, targets.actions, draw)
            params["case_id"] = case_id
        elif "case_id" in names and targets.cases:
            case_id = params["case_id"] = _one(targets.open_cases, targets.cases, draw)
        elif {"forum_id", "meeting_id"} <= names and targets.meetings:
            forum_id, params["meeting_id"] = _one(targets.planned_meetings, targets.meetings, draw)
            params["forum_id"] = forum_id
        elif "forum_id" in names and targets.forums:
            forum_id = params["forum_id"] = targets.forums[draw % len(targets.forums)]
        if "org" in names and forum_id:
            params["org"] = _one(targets.members[forum_id], targets.members[forum_id], draw)
    if case_id:
        forum_id = targets.forum_of[case_id]
    _steer_headers(case, case_id, forum_id, _draw(seed, "headers"))
    body = case.body
    if isinstance(body, dict) and _valid(case, ParameterLocation.BODY) and _draw(seed, "body?") % 3:
        _steer_body(body, forum_id, targets, _draw(seed, "body"))


def _steer_headers(case: Any, case_id: str | None, forum_id: str | None, draw: int) -> None:
    headers = case.headers
    if not headers or not _valid(case, ParameterLocation.HEADER):
        return
    key = headers.get("Idempotency-Key")
    if key is not None:
        # One key per distinct request: Schemathesis reuses short keys ("0") for different
        # requests, which the API rightly refuses (422, key reused). The same request with the
        # same key still replays the first answer.
        digest = hashlib.sha256(
            json.dumps([case.method, case.formatted_path, case.body], default=str).encode()
        ).hexdigest()[:16]
        headers["Idempotency-Key"] = f"{key[:183]}-{digest}"
    if "If-Match" in headers and draw % 2:
        version = None
        if case_id:
            version = FOREBYG.get_case(UUID(case_id))["version"]
        elif forum_id and "/api/forums/" in case.formatted_path:
            version = FOREBYG.get_forum(UUID(forum_id))["version"]
        if version is not None:
            headers["If-Match"] = f'"{version}"'


def _steer_body(body: dict[str, Any], forum_id: str | None, targets: Targets, draw: int) -> None:
    if "forum_id" in body and targets.forums:
        forum_id = body["forum_id"] = targets.forums[draw % len(targets.forums)]
    forum_id = forum_id or targets.forums[0]
    members, outsiders = targets.members[forum_id], targets.outsiders[forum_id]
    for name in ("referred_by", "responsible_org"):
        if isinstance(body.get(name), str):
            body[name] = members[draw % len(members)]
    if isinstance(body.get("org"), str):  # joining: an organisation that is not yet a member
        body["org"] = _one(outsiders, members, draw)
    for name in ("attendees", "members"):
        if isinstance(body.get(name), list) and body[name]:
            body[name] = members[: 1 + draw % len(members)]
    if isinstance(body.get("housing_area"), str):
        body["housing_area"] = targets.areas[forum_id][draw % len(targets.areas[forum_id])]
    if isinstance(body.get("discussed_cases"), list):
        body["discussed_cases"] = [c for c, f in targets.forum_of.items() if f == forum_id][: draw % 3]
    if isinstance(body.get("meeting_id"), str):
        body["meeting_id"] = None
    for name, value in list(body.items()):
        if name.endswith("_on") and isinstance(value, str):
            days = draw % 60 + 1 if name in PLANS else -(draw % 60)
            body[name] = (TODAY + timedelta(days=days)).isoformat()


@pytest.fixture(scope="module")
def targets() -> Iterator[Targets]:
    """The demo municipality in the module's app; what the steering aims at."""
    build_demo(FOREBYG, today=TODAY, cases=10)
    yield Targets.of(FOREBYG)
    FOREBYG.close()


def test_the_fuzzed_document_is_the_one_served() -> None:
    served = APP.test_client().get("/api/openapi.json")
    assert served.status_code == 200
    assert served.get_json() == schema.raw_schema
    assert len(list(schema.get_all_operations())) >= 20


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_openapi_document(case: Any, targets: Targets) -> None:
    steer(case, targets)
    case.call_and_validate()
