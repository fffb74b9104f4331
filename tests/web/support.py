"""The world the HTTP tests run against, and the checks every test shares: that a refused
request changed nothing, that an answer is a problem document, that no personal data leaked.

The world is two forums seen from organisation A (``kommune-a``), where every role has one
login: the ``own`` forum, of which A is a member, and the ``other`` forum, of which it is not.
Every personal text in the world carries the mark ``FORTROLIGT``, so a leak is found by
looking for the mark (and the subjects' names and CPR numbers) anywhere in an answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from application.app import Forebyg
from application.settings import Settings
from domain.case import PERSONAL_FIELDS
from domain.values import Subject
from interfaces.web import create_app
from interfaces.web.api import REGISTRY, Operation
from tests.conftest import TODAY

PASSWORD = "rigtig-hest-batteri-klips"
SECRET_KEY = "t" * 32
PROBLEM = "application/problem+json"
JSON = "application/json"
CONFIDENTIAL = "FORTROLIGT"

ESTABLISHED = date(2026, 1, 5)
RECEIVED = date(2026, 3, 2)
MET = date(2026, 3, 9)
DUE = date(2026, 8, 3)
TOMORROW = date(2026, 7, 1)

ORGS = {
    "kommune-a": ("Aarhus Kommune, SSP", "municipality"),
    "kommune-b": ("Skanderborg Kommune, SSP", "municipality"),
    "boligsocial": ("Helhedsplan Bispehaven", "housing_social"),
    "politi": ("Østjyllands Politi, forebyggelse", "police"),
    "foreningen": ("Foreningen Broen", "civil_society"),
    "evaluering": ("Evalueringsteamet", "other"),
}
ORG_A = "kommune-a"
ROLES = ("coordinator", "member", "evaluator", "dpo", "admin")
USERS = {role: f"{role}-a" for role in ROLES}
COORDINATOR = USERS["coordinator"]
CASE_PERSONAL_KEYS = ("subject", "concern", "assessment", "closure_summary")
ACTION_PERSONAL_KEYS = ("description", "outcome", "cancel_reason")


@dataclass(frozen=True)
class Side:
    """One forum and its cases, in every state a command needs."""

    which: str
    forum: UUID
    forum_name: str
    chair: str
    partner: str
    third: str
    outsider: str
    area: str
    meeting: UUID
    held_meeting: UUID
    new_case: UUID
    active_case: UUID
    chair_action: UUID
    partner_action: UUID
    third_action: UUID
    closed_case: UUID
    closed_case_actions: tuple[UUID, ...]
    subject_names: tuple[str, ...]
    subject_cprs: tuple[str, ...]
    subject_ids: tuple[UUID, ...]

    @property
    def secrets(self) -> tuple[str, ...]:
        """Strings that only a reader of personal data may ever see."""
        return (CONFIDENTIAL, *self.subject_names, *self.subject_cprs)


@dataclass(frozen=True)
class Call:
    """One HTTP request: method, path, JSON body and query string."""

    method: str
    path: str
    body: dict[str, Any] | None = None
    query: dict[str, str] | None = None

    def with_body(self, body: dict[str, Any]) -> Call:
        return Call(self.method, self.path, body, self.query)


@dataclass
class World:
    app: Forebyg
    client: FlaskClient
    own: Side
    other: Side
    tokens: dict[str, str] = field(default_factory=dict)

    def side(self, which: str) -> Side:
        return self.own if which == "own" else self.other

    def sign_in(self, username: str) -> str:
        """A new bearer token for this login, through POST /api/tokens."""
        answer = self.client.post("/api/tokens", json={"username": username, "password": PASSWORD})
        assert answer.status_code == 201, answer.get_json()
        token: str = answer.get_json()["token"]
        return token

    def token(self, username: str) -> str:
        """The login's bearer token, signed in once per world."""
        if username not in self.tokens:
            self.tokens[username] = self.sign_in(username)
        return self.tokens[username]

    def send(
        self, call: Call, username: str | None = COORDINATOR, headers: dict[str, str] | None = None
    ) -> TestResponse:
        sent = dict(headers or {})
        if username is not None:
            sent.setdefault("Authorization", f"Bearer {self.token(username)}")
        if call.body is None:
            return self.client.open(call.path, method=call.method, headers=sent, query_string=call.query)
        return self.client.open(
            call.path, method=call.method, headers=sent, query_string=call.query, json=call.body
        )

    def send_raw(
        self,
        method: str,
        path: str,
        data: bytes | str,
        content_type: str | None,
        username: str | None = COORDINATOR,
    ) -> TestResponse:
        """A request whose body is sent as given, not encoded as JSON by the client."""
        headers = {"Authorization": f"Bearer {self.token(username)}"} if username else {}
        return self.client.open(path, method=method, headers=headers, data=data, content_type=content_type)

    def position(self) -> int:
        """How many notifications the event store holds: a refused request adds none."""
        return int(self.app.recorder.max_notification_id() or 0)

    def case_version(self, case_id: UUID) -> int:
        return int(self.app.get_case(case_id)["version"])

    def forum_version(self, forum_id: UUID) -> int:
        return int(self.app.get_forum(forum_id)["version"])

    def history_length(self, case_id: UUID) -> int:
        return len(self.app.get_case_history(case_id))

    @contextmanager
    def records_nothing(self) -> Iterator[None]:
        """The request inside records no event at all (the store's position does not move)."""
        before = self.position()
        yield
        assert self.position() == before, "a refused request recorded something"


# --- building the world ------------------------------------------------------------------


def _refer(app: Forebyg, forum: UUID, by: str, name: str, cpr: str) -> tuple[UUID, UUID]:
    recorded = app.refer_case(
        forum_id=forum,
        target_group="cross_over",
        referred_by=by,
        received_on=RECEIVED,
        legal_basis="retsplejeloven_115",
        concern=f"{CONFIDENTIAL}: {name} deler ekstremistisk materiale i en lukket chatgruppe.",
        subject=Subject.parse(name=name, cpr=cpr, birth_year=2009),
    )
    assert recorded.subject_id is not None
    return recorded.id, recorded.subject_id


def _assess(app: Forebyg, case: UUID) -> None:
    app.assess_case(
        case,
        assessed_on=MET,
        decision="accept",
        risk_and_threat=f"{CONFIDENTIAL}: risiko",
        wellbeing_and_resilience=f"{CONFIDENTIAL}: trivsel",
        judgement=f"{CONFIDENTIAL}: vurdering",
    )


def _agree(app: Forebyg, case: UUID, owner: str, kind: str, meeting: UUID | None = None) -> UUID:
    recorded = app.agree_action(
        case,
        kind=kind,
        description=f"{CONFIDENTIAL}: {kind} for the young person",
        responsible_org=owner,
        due_on=DUE if meeting else TOMORROW,
        meeting_id=meeting,
    )
    assert recorded.action_id is not None
    return recorded.action_id


def _close_after_a_full_history(app: Forebyg, closed: UUID, partner: str, third: str) -> tuple[UUID, ...]:
    """Every kind of case event, each personal field marked, ending closed."""
    _assess(app, closed)
    done = _agree(app, closed, partner, "leisure_or_job")
    app.reschedule_action(closed, done, due_on=date(2026, 7, 10), reason=f"{CONFIDENTIAL}: sick")
    app.complete_action(closed, done, completed_on=TODAY, outcome=f"{CONFIDENTIAL}: has a job")
    dropped = _agree(app, closed, third, "exit_programme")
    app.cancel_action(closed, dropped, cancelled_on=TODAY, reason=f"{CONFIDENTIAL}: declined")
    app.schedule_review(closed, review_on=TODAY)
    app.record_review(closed, reviewed_on=TODAY, notes=f"{CONFIDENTIAL}: doing well")
    app.close_case(
        closed,
        closed_on=TODAY,
        reason="resolved",
        summary=f"{CONFIDENTIAL}: resolved",
        post_closure_review_on=date(2026, 12, 1),
    )
    app.reopen_case(closed, reopened_on=TODAY, reason=f"{CONFIDENTIAL}: new concern")
    app.close_case(closed, closed_on=TODAY, reason="moved_away", summary=f"{CONFIDENTIAL}: moved to Odense")
    return done, dropped


def build_side(
    app: Forebyg,
    which: str,
    *,
    chair: str,
    partner: str,
    third: str,
    outsider: str,
    forum_name: str,
    area: str,
    subjects: tuple[tuple[str, str], tuple[str, str], tuple[str, str]],
    rich: bool,
) -> Side:
    """The forum and its cases; a ``rich`` side's closed case has every kind of event."""
    forum = app.establish_forum(
        name=forum_name,
        municipality="Aarhus",
        housing_areas=[area, f"{area} Syd"],
        chair_org=chair,
        members=[chair, partner, third],
        established_on=ESTABLISHED,
    ).id
    held = app.schedule_meeting(forum, MET).meeting_id
    meeting = app.schedule_meeting(forum, TODAY).meeting_id
    assert held is not None and meeting is not None
    new_case, new_subject = _refer(app, forum, partner, *subjects[0])
    active, active_subject = _refer(app, forum, chair, *subjects[1])
    app.hold_meeting(
        forum, held, held_on=MET, attendees=[chair, partner], discussed_cases=[active], summary="One case."
    )
    _assess(app, active)
    chair_action = _agree(app, active, chair, "family_dialogue", held)
    partner_action = _agree(app, active, partner, "concern_conversation", held)
    third_action = _agree(app, active, third, "mentor", held)
    app.schedule_review(active, review_on=date(2026, 7, 15))

    closed, closed_subject = _refer(app, forum, chair, *subjects[2])
    closed_actions: tuple[UUID, ...] = ()
    if rich:
        closed_actions = _close_after_a_full_history(app, closed, partner, third)
    else:
        app.close_case(closed, closed_on=TODAY, reason="unfounded", summary=f"{CONFIDENTIAL}: unfounded")
    return Side(
        which=which,
        forum=forum,
        forum_name=forum_name,
        chair=chair,
        partner=partner,
        third=third,
        outsider=outsider,
        area=area,
        meeting=meeting,
        held_meeting=held,
        new_case=new_case,
        active_case=active,
        chair_action=chair_action,
        partner_action=partner_action,
        third_action=third_action,
        closed_case=closed,
        closed_case_actions=closed_actions,
        subject_names=tuple(name for name, _ in subjects),
        subject_cprs=tuple(cpr for _, cpr in subjects),
        subject_ids=(new_subject, active_subject, closed_subject),
    )


def build_world(app: Forebyg, client: FlaskClient) -> World:
    for slug, (name, kind) in ORGS.items():
        app.add_organisation(slug, name=name, kind=kind)
    for role, username in USERS.items():
        app.add_user(username, org=ORG_A, role=role, password=PASSWORD)
    own = build_side(
        app,
        "own",
        chair="kommune-a",
        partner="politi",
        third="foreningen",
        outsider="boligsocial",
        forum_name="Samarbejdsforum Gellerup",
        area="Gellerupparken",
        subjects=(
            ("Ali Testesen", "010109-1111"),
            ("Sara Fiktivsen", "020209-2222"),
            ("Omar Demoud", "030309-3333"),
        ),
        rich=True,
    )
    other = build_side(
        app,
        "other",
        chair="kommune-b",
        partner="politi",
        third="boligsocial",
        outsider="foreningen",
        forum_name="Samarbejdsforum Stilling",
        area="Stillingparken",
        subjects=(
            ("Yusuf Eksempel", "040409-4444"),
            ("Leila Modelsen", "050509-5555"),
            ("Emil Opdigtet", "060609-6666"),
        ),
        rich=False,
    )
    world = World(app=app, client=client, own=own, other=other)
    for username in USERS.values():
        world.token(username)
    return world


# --- checks ------------------------------------------------------------------------------


def problem(answer: TestResponse, status: int) -> dict[str, Any]:
    """The answer's problem document, after checking its status and media type."""
    assert answer.status_code == status, (answer.status_code, answer.get_data(as_text=True)[:500])
    assert answer.mimetype == PROBLEM, answer.mimetype
    body: dict[str, Any] = json.loads(answer.get_data(as_text=True))
    assert body["status"] == status and body["title"]
    return body


def field_errors(answer: TestResponse) -> dict[str, list[str]]:
    """The per-field messages of a 422 answer."""
    body = problem(answer, 422)
    errors: dict[str, list[str]] = body["errors"]
    assert errors and all(isinstance(m, list) and m for m in errors.values()), errors
    return errors


def ok(answer: TestResponse, status: int = 200) -> dict[str, Any]:
    """The answer's JSON body, after checking its status and media type."""
    assert answer.status_code == status, (answer.status_code, answer.get_data(as_text=True)[:500])
    assert answer.mimetype == JSON, answer.mimetype
    body: dict[str, Any] = answer.get_json()
    return body


def leaks(answer: TestResponse, *sides: Side) -> list[str]:
    """The personal strings of these sides that appear anywhere in the answer."""
    text = answer.get_data(as_text=True)
    decoded = json.dumps(json.loads(text), ensure_ascii=False) if text.strip() else ""
    return sorted(
        {secret for side in sides for secret in side.secrets if secret in text or secret in decoded}
    )


def personal_keys_in_case(view: dict[str, Any]) -> list[str]:
    """The personal fields present in a case view (the case itself and its actions)."""
    found = [key for key in CASE_PERSONAL_KEYS if key in view]
    for action in view.get("actions", []):
        found += [f"actions.{key}" for key in ACTION_PERSONAL_KEYS if key in action]
    return found


def personal_keys_in_history(events: list[dict[str, Any]]) -> list[str]:
    return [
        f"{event['type']}.{key}"
        for event in events
        for key in PERSONAL_FIELDS.get(event["type"], frozenset())
        if key in event["data"]
    ]


def registered_operations() -> list[Operation]:
    """Every operation the API declares, as the registry holds it once the app is built."""
    app = Forebyg(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: TODAY)
    try:
        create_app(Settings(secret_key=SECRET_KEY), application=app, testing=True)
    finally:
        app.close()
    unique = {(op.method, op.path): op for op in REGISTRY.operations}
    return list(unique.values())
