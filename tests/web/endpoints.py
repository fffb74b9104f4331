"""Every command endpoint of the JSON API, described once: a request that succeeds for the
own forum's coordinator, what it changes, the bad inputs it refuses with 422, the broken rule
it refuses with 409, and the unknown ids it answers with 404."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from tests.conftest import TODAY
from tests.web.support import CONFIDENTIAL, USERS, Call, Side, World

DROP = object()
FUTURE = "2026-07-01"
NOT_A_DATE = "2026-02-30"
TOO_LONG = "x" * 10_001


@dataclass(frozen=True)
class Bad:
    """Bad input: changes to the valid body (DROP removes a field), or another path; the
    field the 422 answer must name."""

    label: str
    field_name: str
    change: dict[str, Any] = field(default_factory=dict)
    path: Callable[[Side], str] | None = None

    def apply(self, call: Call, side: Side) -> Call:
        body = dict(call.body or {})
        for key, value in self.change.items():
            if value is DROP:
                body.pop(key, None)
            else:
                body[key] = value
        path = self.path(side) if self.path else call.path
        return Call(call.method, path, body if call.body is not None else None, call.query)


@dataclass(frozen=True)
class Conflict:
    """A request refused by the collaboration model (409), after an optional arrangement."""

    rule: str
    call: Callable[[Side], Call]
    arrange: Callable[[World, Side], None] | None = None


@dataclass(frozen=True)
class Command:
    name: str
    method: str
    rule: str
    status: int
    valid: Callable[[Side], Call]
    target: Callable[[Side], tuple[str, UUID]] | None
    creates: str | None
    variant: dict[str, Any] | Callable[[Side], Call]
    bad: tuple[Bad, ...]
    conflicts: tuple[Conflict, ...]
    unknown: tuple[tuple[str, Callable[[Side], Call]], ...]

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.rule

    def different(self, side: Side) -> Call:
        """A valid request to the same endpoint that differs from ``valid``."""
        if callable(self.variant):
            return self.variant(side)
        call = self.valid(side)
        return call.with_body({**(call.body or {}), **self.variant})


def _forum(side: Side) -> tuple[str, UUID]:
    return "forum", side.forum


def _new(side: Side) -> tuple[str, UUID]:
    return "case", side.new_case


def _active(side: Side) -> tuple[str, UUID]:
    return "case", side.active_case


def _closed(side: Side) -> tuple[str, UUID]:
    return "case", side.closed_case


def _dissolve(world: World, side: Side) -> None:
    world.app.dissolve_forum(side.forum, TODAY, "merged with another forum")


F = "/api/forums"
C = "/api/cases"


def establish(side: Side) -> Call:
    return Call(
        "POST",
        F,
        {
            "name": "Samarbejdsforum Hasle",
            "municipality": "Aarhus",
            "housing_areas": ["Hasle"],
            "members": [side.partner],
        },
    )


def join(side: Side) -> Call:
    return Call("POST", f"{F}/{side.forum}/members", {"org": side.outsider})


def leave(side: Side) -> Call:
    return Call("DELETE", f"{F}/{side.forum}/members/{side.third}")


def schedule(side: Side) -> Call:
    return Call("POST", f"{F}/{side.forum}/meetings", {"planned_on": "2026-07-14"})


def hold(side: Side) -> Call:
    return Call(
        "POST",
        f"{F}/{side.forum}/meetings/{side.meeting}/held",
        {
            "held_on": TODAY.isoformat(),
            "attendees": [side.chair, side.partner],
            "discussed_cases": [str(side.new_case)],
            "summary": "Drøftede én ny sag.",
        },
    )


def cancel_meeting(side: Side) -> Call:
    return Call("POST", f"{F}/{side.forum}/meetings/{side.meeting}/cancellation", {"reason": "Sygdom"})


def map_area(side: Side) -> Call:
    return Call(
        "POST",
        f"{F}/{side.forum}/area-mappings",
        {
            "recorded_on": TODAY.isoformat(),
            "housing_area": side.area,
            "resources": "Klub, lektiecafé, boligsocial indsats",
            "challenges": "Utryghed omkring centret om aftenen",
        },
    )


def refer(side: Side) -> Call:
    return Call(
        "POST",
        C,
        {
            "forum_id": str(side.forum),
            "target_group": "younger_sibling",
            "referred_by": side.partner,
            "received_on": TODAY.isoformat(),
            "legal_basis": "consent",
            "concern": f"{CONFIDENTIAL}: storebror dømt; drengen idoliserer ham",
            "subject": {"name": "Noor Syntetisk", "cpr": "070709-7777", "birth_year": 2009},
        },
    )


def assess(side: Side, case: UUID | None = None) -> Call:
    return Call(
        "POST",
        f"{C}/{case or side.new_case}/assessment",
        {
            "assessed_on": TODAY.isoformat(),
            "decision": "accept",
            "risk_and_threat": f"{CONFIDENTIAL}: moderate",
            "wellbeing_and_resilience": f"{CONFIDENTIAL}: supportive family",
            "judgement": f"{CONFIDENTIAL}: a mentor and a family dialogue",
        },
    )


def agree(side: Side, case: UUID | None = None) -> Call:
    return Call(
        "POST",
        f"{C}/{case or side.active_case}/actions",
        {
            "kind": "leisure_or_job",
            "description": f"{CONFIDENTIAL}: fritidsjob i klubben",
            "responsible_org": side.third,
            "due_on": "2026-09-01",
        },
    )


def reschedule(side: Side, case: UUID | None = None, action: UUID | None = None) -> Call:
    return Call(
        "POST",
        f"{C}/{case or side.active_case}/actions/{action or side.chair_action}/rescheduling",
        {"due_on": "2026-09-01", "reason": f"{CONFIDENTIAL}: familien er på ferie"},
    )


def complete(side: Side, case: UUID | None = None, action: UUID | None = None) -> Call:
    return Call(
        "POST",
        f"{C}/{case or side.active_case}/actions/{action or side.chair_action}/completion",
        {"completed_on": TODAY.isoformat(), "outcome": f"{CONFIDENTIAL}: god samtale"},
    )


def cancel_action(side: Side, case: UUID | None = None, action: UUID | None = None) -> Call:
    return Call(
        "POST",
        f"{C}/{case or side.active_case}/actions/{action or side.chair_action}/cancellation",
        {"cancelled_on": TODAY.isoformat(), "reason": f"{CONFIDENTIAL}: familien takkede nej"},
    )


def schedule_review(side: Side, case: UUID | None = None) -> Call:
    return Call("POST", f"{C}/{case or side.active_case}/review-schedule", {"review_on": "2026-08-01"})


def review(side: Side, case: UUID | None = None) -> Call:
    return Call(
        "POST",
        f"{C}/{case or side.active_case}/reviews",
        {"reviewed_on": TODAY.isoformat(), "notes": f"{CONFIDENTIAL}: går bedre"},
    )


def close(side: Side, case: UUID | None = None) -> Call:
    return Call(
        "POST",
        f"{C}/{case or side.new_case}/closure",
        {
            "closed_on": TODAY.isoformat(),
            "reason": "unfounded",
            "summary": f"{CONFIDENTIAL}: bekymringen var ubegrundet",
            "post_closure_review_on": "2026-12-01",
        },
    )


def reopen(side: Side, case: UUID | None = None) -> Call:
    return Call(
        "POST",
        f"{C}/{case or side.closed_case}/reopening",
        {"reopened_on": TODAY.isoformat(), "reason": f"{CONFIDENTIAL}: ny henvendelse fra skolen"},
    )


def _elsewhere(call: Callable[[Side], Call], old: Callable[[Side], str]) -> Callable[[Side], Call]:
    """The same request with one id in its path replaced by an id nobody knows."""

    def unknown(side: Side) -> Call:
        made, new = call(side), str(uuid4())
        body = json.loads(json.dumps(made.body).replace(old(side), new)) if made.body else made.body
        return Call(made.method, made.path.replace(old(side), new), body, made.query)

    return unknown


def _forum_id(side: Side) -> str:
    return str(side.forum)


def _meeting_id(side: Side) -> str:
    return str(side.meeting)


def _active_id(side: Side) -> str:
    return str(side.active_case)


def _new_id(side: Side) -> str:
    return str(side.new_case)


def _closed_id(side: Side) -> str:
    return str(side.closed_case)


def _chair_action_id(side: Side) -> str:
    return str(side.chair_action)


def _unknown_forum_in_body(side: Side) -> Call:
    call = refer(side)
    return call.with_body({**(call.body or {}), "forum_id": str(uuid4())})


UNKNOWN_FORUM = "unknown forum"
UNKNOWN_CASE = "unknown case"
UNKNOWN_ACTION = "unknown action"
UNKNOWN_MEETING = "unknown meeting"

COMMANDS = (
    Command(
        name="establish_forum",
        method="POST",
        rule=F,
        status=201,
        valid=establish,
        target=None,
        creates=None,
        variant={"name": "Samarbejdsforum Trige"},
        bad=(
            Bad("empty name", "name", {"name": ""}),
            Bad("blank name", "name", {"name": "   "}),
            Bad("name too long", "name", {"name": "x" * 201}),
            Bad("name not text", "name", {"name": 42}),
            Bad("no municipality", "municipality", {"municipality": DROP}),
            Bad("no housing area", "housing_areas", {"housing_areas": []}),
            Bad("housing areas not a list", "housing_areas", {"housing_areas": "Hasle"}),
            Bad("same housing area twice", "housing_areas", {"housing_areas": ["Hasle", "Hasle"]}),
            Bad("member not a slug", "members.0", {"members": ["Ikke En Slug"]}),
            Bad("member not registered", "members", {"members": ["ukendt-forening"]}),
            Bad("choosing the chair", "chair_org", {"chair_org": "kommune-b"}),
            Bad("established tomorrow", "established_on", {"established_on": FUTURE}),
            Bad("no such day", "established_on", {"established_on": NOT_A_DATE}),
            Bad("before the calendar's range", "established_on", {"established_on": "1899-12-31"}),
            Bad("date not text", "established_on", {"established_on": 20260101}),
        ),
        conflicts=(),
        unknown=(),
    ),
    Command(
        name="add_member",
        method="POST",
        rule=f"{F}/<uuid:forum_id>/members",
        status=200,
        valid=join,
        target=_forum,
        creates=None,
        variant=lambda side: Call("POST", f"{F}/{side.forum}/members", {"org": "evaluering"}),
        bad=(
            Bad("no org", "org", {"org": DROP}),
            Bad("org not a slug", "org", {"org": "Ikke_En_Slug"}),
            Bad("org not text", "org", {"org": 7}),
            Bad("org not registered", "org", {"org": "ukendt-forening"}),
            Bad("joined tomorrow", "joined_on", {"joined_on": FUTURE}),
            Bad("joined before the forum", "joined_on", {"joined_on": "2026-01-04"}),
            Bad("Danish date order", "joined_on", {"joined_on": "01-02-2026"}),
        ),
        conflicts=(
            Conflict(
                "AlreadyAMemberError",
                lambda side: Call("POST", f"{F}/{side.forum}/members", {"org": side.partner}),
            ),
        ),
        unknown=((UNKNOWN_FORUM, _elsewhere(join, _forum_id)),),
    ),
    Command(
        name="remove_member",
        method="DELETE",
        rule=f"{F}/<uuid:forum_id>/members/<string:org>",
        status=200,
        valid=leave,
        target=_forum,
        creates=None,
        variant=lambda side: Call("DELETE", f"{F}/{side.forum}/members/{side.partner}"),
        bad=(
            Bad(
                "org not a slug",
                "organisation",
                path=lambda side: f"{F}/{side.forum}/members/Ikke-En-Slug",
            ),
            Bad(
                "left tomorrow",
                "left_on",
                path=lambda side: f"{F}/{side.forum}/members/{side.third}?left_on={FUTURE}",
            ),
            Bad(
                "left before it joined",
                "left_on",
                path=lambda side: f"{F}/{side.forum}/members/{side.third}?left_on=2026-01-04",
            ),
            Bad(
                "no such day",
                "left_on",
                path=lambda side: f"{F}/{side.forum}/members/{side.third}?left_on={NOT_A_DATE}",
            ),
            Bad(
                "unknown parameter",
                "left",
                path=lambda side: f"{F}/{side.forum}/members/{side.third}?left=2026-06-01",
            ),
        ),
        conflicts=(
            Conflict(
                "ChairCannotLeaveError",
                lambda side: Call("DELETE", f"{F}/{side.forum}/members/{side.chair}"),
            ),
            Conflict(
                "NotAMemberError",
                lambda side: Call("DELETE", f"{F}/{side.forum}/members/{side.outsider}"),
            ),
        ),
        unknown=((UNKNOWN_FORUM, _elsewhere(leave, _forum_id)),),
    ),
    Command(
        name="schedule_meeting",
        method="POST",
        rule=f"{F}/<uuid:forum_id>/meetings",
        status=201,
        valid=schedule,
        target=_forum,
        creates="meeting_id",
        variant={"planned_on": "2026-08-11"},
        bad=(
            Bad("no date", "planned_on", {"planned_on": DROP}),
            Bad("no such day", "planned_on", {"planned_on": NOT_A_DATE}),
            Bad("date not text", "planned_on", {"planned_on": 20260714}),
            Bad("Danish date order", "planned_on", {"planned_on": "14-07-2026"}),
            Bad("before the forum", "planned_on", {"planned_on": "2025-12-31"}),
            Bad("choosing the id", "meeting_id", {"meeting_id": str(UUID(int=1))}),
        ),
        conflicts=(Conflict("ForumDissolvedError", schedule, arrange=_dissolve),),
        unknown=((UNKNOWN_FORUM, _elsewhere(schedule, _forum_id)),),
    ),
    Command(
        name="hold_meeting",
        method="POST",
        rule=f"{F}/<uuid:forum_id>/meetings/<uuid:meeting_id>/held",
        status=200,
        valid=hold,
        target=_forum,
        creates="meeting_id",
        variant={"summary": "Drøftede én ny sag og planlagde næste møde."},
        bad=(
            Bad("held tomorrow", "held_on", {"held_on": FUTURE}),
            Bad("no such day", "held_on", {"held_on": NOT_A_DATE}),
            Bad("no attendees", "attendees", {"attendees": []}),
            Bad("attendees not a list", "attendees", {"attendees": "politi"}),
            Bad("attendee not a slug", "attendees.0", {"attendees": ["Politiet!"]}),
            Bad("same attendee twice", "attendees", {"attendees": ["politi", "politi"]}),
            Bad("case id not a uuid", "discussed_cases.0", {"discussed_cases": ["sag-1"]}),
            Bad("summary too long", "summary", {"summary": "x" * 2001}),
        ),
        conflicts=(
            Conflict(
                "MeetingAlreadyHeldError",
                lambda side: Call(
                    "POST",
                    f"{F}/{side.forum}/meetings/{side.held_meeting}/held",
                    hold(side).body,
                ),
            ),
            Conflict(
                "NotAMemberError",
                lambda side: hold(side).with_body(
                    {**(hold(side).body or {}), "attendees": [side.chair, side.outsider]}
                ),
            ),
            Conflict(
                "CaseClosedError",
                lambda side: hold(side).with_body(
                    {
                        **(hold(side).body or {}),
                        "discussed_cases": [str(side.new_case), str(side.closed_case)],
                    }
                ),
            ),
        ),
        unknown=(
            (UNKNOWN_FORUM, _elsewhere(hold, _forum_id)),
            (UNKNOWN_MEETING, _elsewhere(hold, _meeting_id)),
            (UNKNOWN_CASE, _elsewhere(hold, _new_id)),
        ),
    ),
    Command(
        name="cancel_meeting",
        method="POST",
        rule=f"{F}/<uuid:forum_id>/meetings/<uuid:meeting_id>/cancellation",
        status=200,
        valid=cancel_meeting,
        target=_forum,
        creates="meeting_id",
        variant={"reason": "Formanden er syg"},
        bad=(
            Bad("reason too long", "reason", {"reason": "x" * 501}),
            Bad("reason not text", "reason", {"reason": 5}),
            Bad("cancelled tomorrow", "cancelled_on", {"cancelled_on": FUTURE}),
            Bad("cancelled before the forum", "cancelled_on", {"cancelled_on": "2026-01-04"}),
            Bad("no such day", "cancelled_on", {"cancelled_on": NOT_A_DATE}),
        ),
        conflicts=(
            Conflict(
                "MeetingAlreadyHeldError",
                lambda side: Call(
                    "POST", f"{F}/{side.forum}/meetings/{side.held_meeting}/cancellation", {"reason": "x"}
                ),
            ),
        ),
        unknown=(
            (UNKNOWN_FORUM, _elsewhere(cancel_meeting, _forum_id)),
            (UNKNOWN_MEETING, _elsewhere(cancel_meeting, _meeting_id)),
        ),
    ),
    Command(
        name="record_area_mapping",
        method="POST",
        rule=f"{F}/<uuid:forum_id>/area-mappings",
        status=200,
        valid=map_area,
        target=_forum,
        creates=None,
        variant={"challenges": "Hærværk i kælderen"},
        bad=(
            Bad("recorded tomorrow", "recorded_on", {"recorded_on": FUTURE}),
            Bad("no such month", "recorded_on", {"recorded_on": "2026-13-01"}),
            Bad("not the forum's area", "housing_area", {"housing_area": "Andetsteds"}),
            Bad("no resources", "resources", {"resources": ""}),
            Bad("challenges too long", "challenges", {"challenges": "x" * 4001}),
        ),
        conflicts=(Conflict("ForumDissolvedError", map_area, arrange=_dissolve),),
        unknown=((UNKNOWN_FORUM, _elsewhere(map_area, _forum_id)),),
    ),
    Command(
        name="refer_case",
        method="POST",
        rule=C,
        status=201,
        valid=refer,
        target=None,
        creates="subject_id",
        variant={"target_group": "cross_over"},
        bad=(
            Bad("unknown target group", "target_group", {"target_group": "adult"}),
            Bad("unknown legal basis", "legal_basis", {"legal_basis": "gut_feeling"}),
            Bad("received tomorrow", "received_on", {"received_on": FUTURE}),
            Bad("no such day", "received_on", {"received_on": NOT_A_DATE}),
            Bad("before the forum", "received_on", {"received_on": "2025-12-01"}),
            Bad("concern too long", "concern", {"concern": TOO_LONG}),
            Bad("blank concern", "concern", {"concern": "  "}),
            Bad("no subject", "subject", {"subject": DROP}),
            Bad("subject without a name", "subject.name", {"subject": {"name": ""}}),
            Bad("not a CPR number", "subject.cpr", {"subject": {"name": "Noor", "cpr": "12345"}}),
            Bad("birth year as text", "subject.birth_year", {"subject": {"name": "N", "birth_year": "2009"}}),
            Bad("referrer not a slug", "referred_by", {"referred_by": "Politiet"}),
            Bad("forum id not a uuid", "forum_id", {"forum_id": "forum-1"}),
            Bad("choosing the subject id", "subject_id", {"subject_id": str(UUID(int=1))}),
        ),
        conflicts=(
            Conflict(
                "NotAMemberError",
                lambda side: refer(side).with_body(
                    {**(refer(side).body or {}), "referred_by": side.outsider}
                ),
            ),
            Conflict("ForumDissolvedError", refer, arrange=_dissolve),
        ),
        unknown=((UNKNOWN_FORUM, _unknown_forum_in_body),),
    ),
    Command(
        name="assess_case",
        method="POST",
        rule=f"{C}/<uuid:case_id>/assessment",
        status=200,
        valid=assess,
        target=_new,
        creates=None,
        variant={"decision": "redirect"},
        bad=(
            Bad("unknown decision", "decision", {"decision": "maybe"}),
            Bad("assessed tomorrow", "assessed_on", {"assessed_on": FUTURE}),
            Bad("before the referral", "assessed_on", {"assessed_on": "2026-03-01"}),
            Bad("empty judgement", "judgement", {"judgement": ""}),
            Bad("risk too long", "risk_and_threat", {"risk_and_threat": TOO_LONG}),
            Bad("no decision", "decision", {"decision": DROP}),
        ),
        conflicts=(Conflict("CaseClosedError", lambda side: assess(side, side.closed_case)),),
        unknown=((UNKNOWN_CASE, _elsewhere(assess, _new_id)),),
    ),
    Command(
        name="agree_action",
        method="POST",
        rule=f"{C}/<uuid:case_id>/actions",
        status=201,
        valid=agree,
        target=_active,
        creates="action_id",
        variant={"kind": "mentor"},
        bad=(
            Bad("unknown kind", "kind", {"kind": "hug"}),
            Bad("no such day", "due_on", {"due_on": "2026-09-31"}),
            Bad("due before it is agreed", "due_on", {"due_on": "2026-06-01"}),
            Bad("no due date", "due_on", {"due_on": DROP}),
            Bad("owner not a slug", "responsible_org", {"responsible_org": "Ikke En Slug"}),
            Bad("description too long", "description", {"description": "x" * 4001}),
            Bad("meeting id not a uuid", "meeting_id", {"meeting_id": "møde-1"}),
            Bad("agreed tomorrow", "agreed_on", {"agreed_on": FUTURE}),
            Bad("agreed before the referral", "agreed_on", {"agreed_on": "2026-03-01"}),
            Bad(
                "due before the day it was agreed",
                "due_on",
                {"agreed_on": "2026-06-10", "due_on": "2026-06-09"},
            ),
            Bad("no such day", "agreed_on", {"agreed_on": NOT_A_DATE}),
        ),
        conflicts=(
            Conflict("ActionsNotAllowedError", lambda side: agree(side, side.new_case)),
            Conflict(
                "NotAMemberError",
                lambda side: agree(side).with_body(
                    {**(agree(side).body or {}), "responsible_org": side.outsider}
                ),
            ),
        ),
        unknown=((UNKNOWN_CASE, _elsewhere(agree, _active_id)),),
    ),
    Command(
        name="reschedule_action",
        method="POST",
        rule=f"{C}/<uuid:case_id>/actions/<uuid:action_id>/rescheduling",
        status=200,
        valid=reschedule,
        target=_active,
        creates="action_id",
        variant={"due_on": "2026-09-15"},
        bad=(
            Bad("no such day", "due_on", {"due_on": "2026-09-31"}),
            Bad("due before today", "due_on", {"due_on": "2026-06-29"}),
            Bad("rescheduled tomorrow", "rescheduled_on", {"rescheduled_on": FUTURE}),
            Bad("rescheduled before it was agreed", "rescheduled_on", {"rescheduled_on": "2026-03-08"}),
            Bad(
                "due before the day it was rescheduled",
                "due_on",
                {"rescheduled_on": "2026-06-01", "due_on": "2026-05-31"},
            ),
            Bad("empty reason", "reason", {"reason": ""}),
            Bad("reason too long", "reason", {"reason": "x" * 2001}),
        ),
        conflicts=(
            Conflict(
                "CaseClosedError",
                lambda side: reschedule(side, side.closed_case, side.closed_case_actions[0]),
            ),
        ),
        unknown=(
            (UNKNOWN_CASE, _elsewhere(reschedule, _active_id)),
            (UNKNOWN_ACTION, _elsewhere(reschedule, _chair_action_id)),
        ),
    ),
    Command(
        name="complete_action",
        method="POST",
        rule=f"{C}/<uuid:case_id>/actions/<uuid:action_id>/completion",
        status=200,
        valid=complete,
        target=_active,
        creates="action_id",
        variant={"outcome": f"{CONFIDENTIAL}: en anden samtale"},
        bad=(
            Bad("completed tomorrow", "completed_on", {"completed_on": FUTURE}),
            Bad("before it was agreed", "completed_on", {"completed_on": "2026-03-08"}),
            Bad("empty outcome", "outcome", {"outcome": ""}),
            Bad("outcome too long", "outcome", {"outcome": "x" * 4001}),
        ),
        conflicts=(
            Conflict(
                "CaseClosedError",
                lambda side: complete(side, side.closed_case, side.closed_case_actions[0]),
            ),
        ),
        unknown=(
            (UNKNOWN_CASE, _elsewhere(complete, _active_id)),
            (UNKNOWN_ACTION, _elsewhere(complete, _chair_action_id)),
        ),
    ),
    Command(
        name="cancel_action",
        method="POST",
        rule=f"{C}/<uuid:case_id>/actions/<uuid:action_id>/cancellation",
        status=200,
        valid=cancel_action,
        target=_active,
        creates="action_id",
        variant={"reason": f"{CONFIDENTIAL}: flyttet"},
        bad=(
            Bad("cancelled tomorrow", "cancelled_on", {"cancelled_on": FUTURE}),
            Bad("no such day", "cancelled_on", {"cancelled_on": "2026-06-31"}),
            Bad("empty reason", "reason", {"reason": ""}),
        ),
        conflicts=(
            Conflict(
                "CaseClosedError",
                lambda side: cancel_action(side, side.closed_case, side.closed_case_actions[1]),
            ),
        ),
        unknown=(
            (UNKNOWN_CASE, _elsewhere(cancel_action, _active_id)),
            (UNKNOWN_ACTION, _elsewhere(cancel_action, _chair_action_id)),
        ),
    ),
    Command(
        name="schedule_review",
        method="POST",
        rule=f"{C}/<uuid:case_id>/review-schedule",
        status=200,
        valid=schedule_review,
        target=_active,
        creates=None,
        variant={"review_on": "2026-08-15"},
        bad=(
            Bad("before it is scheduled", "review_on", {"review_on": "2026-06-29"}),
            Bad("no such day", "review_on", {"review_on": "2026-08-32"}),
            Bad("no date", "review_on", {"review_on": DROP}),
            Bad("scheduled tomorrow", "scheduled_on", {"scheduled_on": FUTURE}),
            Bad("scheduled before the referral", "scheduled_on", {"scheduled_on": "2026-03-01"}),
            Bad(
                "review before it was scheduled",
                "review_on",
                {"scheduled_on": "2026-06-20", "review_on": "2026-06-19"},
            ),
        ),
        conflicts=(Conflict("CaseClosedError", lambda side: schedule_review(side, side.closed_case)),),
        unknown=((UNKNOWN_CASE, _elsewhere(schedule_review, _active_id)),),
    ),
    Command(
        name="record_review",
        method="POST",
        rule=f"{C}/<uuid:case_id>/reviews",
        status=200,
        valid=review,
        target=_active,
        creates=None,
        variant={"notes": f"{CONFIDENTIAL}: stabil"},
        bad=(
            Bad("reviewed tomorrow", "reviewed_on", {"reviewed_on": FUTURE}),
            Bad("empty notes", "notes", {"notes": ""}),
            Bad("notes too long", "notes", {"notes": "x" * 4001}),
        ),
        conflicts=(Conflict("NoReviewDueError", lambda side: review(side, side.new_case)),),
        unknown=((UNKNOWN_CASE, _elsewhere(review, _active_id)),),
    ),
    Command(
        name="close_case",
        method="POST",
        rule=f"{C}/<uuid:case_id>/closure",
        status=200,
        valid=close,
        target=_new,
        creates=None,
        variant={"reason": "transferred"},
        bad=(
            Bad("unknown reason", "reason", {"reason": "bored"}),
            Bad("closed tomorrow", "closed_on", {"closed_on": FUTURE}),
            Bad("before the referral", "closed_on", {"closed_on": "2026-03-01"}),
            Bad(
                "review not after closing", "post_closure_review_on", {"post_closure_review_on": "2026-06-30"}
            ),
            Bad("empty summary", "summary", {"summary": ""}),
        ),
        conflicts=(Conflict("OpenActionsError", lambda side: close(side, side.active_case)),),
        unknown=((UNKNOWN_CASE, _elsewhere(close, _new_id)),),
    ),
    Command(
        name="reopen_case",
        method="POST",
        rule=f"{C}/<uuid:case_id>/reopening",
        status=200,
        valid=reopen,
        target=_closed,
        creates=None,
        variant={"reason": f"{CONFIDENTIAL}: politiet henvender sig igen"},
        bad=(
            Bad("reopened tomorrow", "reopened_on", {"reopened_on": FUTURE}),
            Bad("empty reason", "reason", {"reason": ""}),
            Bad("before the latest work", "reopened_on", {"reopened_on": "2026-06-29"}),
        ),
        conflicts=(Conflict("CaseNotClosedError", lambda side: reopen(side, side.active_case)),),
        unknown=((UNKNOWN_CASE, _elsewhere(reopen, _closed_id)),),
    ),
)

BY_NAME = {command.name: command for command in COMMANDS}
BY_KEY = {command.key: command for command in COMMANDS}


def erase(side: Side) -> Call:
    """The DPO erases the personal data of the active case's subject."""
    return Call(
        "POST",
        f"/api/subjects/{side.subject_ids[1]}/erasure",
        {"reason": "Retsgrundlaget er bortfaldet (databeskyttelsesforordningen art. 17)"},
    )


def account(side: Side) -> str:
    """The account an administrator's request is about: one per side, so both may succeed."""
    return USERS["member"] if side.which == "own" else USERS["evaluator"]


def reset_password(side: Side) -> Call:
    return Call("POST", f"/api/users/{account(side)}/password-reset", {"password": "ny-hest-batteri-klips"})


def erase_forum_texts(side: Side) -> Call:
    """The DPO erases the free texts of the side's forum."""
    return Call(
        "POST", f"/api/forums/{side.forum}/text-erasure", {"reason": "Databeskyttelsesforordningen art. 17"}
    )


OTHER_REQUESTS: dict[tuple[str, str], Callable[[Side], Call]] = {
    ("POST", "/api/subjects/<uuid:subject_id>/erasure"): erase,
    ("POST", "/api/users/<string:username>/password-reset"): reset_password,
    ("POST", "/api/forums/<uuid:forum_id>/text-erasure"): erase_forum_texts,
}


def sample(method: str, rule: str, side: Side) -> Call:
    """A request to any registered operation: the described one when there is one, otherwise
    its path filled with the side's ids (and an empty body for a command)."""
    command = BY_KEY.get((method, rule))
    if command is not None:
        return command.valid(side)
    if (method, rule) in OTHER_REQUESTS:
        return OTHER_REQUESTS[method, rule](side)
    path = (
        rule.replace("<uuid:forum_id>", str(side.forum))
        .replace("<uuid:case_id>", str(side.active_case))
        .replace("<uuid:action_id>", str(side.chair_action))
        .replace("<uuid:meeting_id>", str(side.meeting))
        .replace("<uuid:subject_id>", str(side.subject_ids[1]))
        .replace("<string:org>", side.third)
        .replace("<string:username>", account(side))
    )
    return Call(method, path, {} if method in ("POST", "PUT", "PATCH") else None)
