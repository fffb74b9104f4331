"""Step definitions for the features in `features/`, in the domain's language.

Every step calls the Forebyg application's commands or queries. State passes between steps
only through `target_fixture`s: `forum`, `other_forum`, `case`, `second_case`, `other_case`,
`meeting`, `other_meeting`, `action`, and `attempt` for a refused command.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest
from pytest_bdd import given, parsers, then, when

import application.errors
import domain.errors
from application.app import Forebyg
from application.errors import ApplicationError
from application.receipts import Recorded
from domain.errors import DomainError, InvalidValueError
from domain.values import Subject

# --- the step language's value types ------------------------------------------------------------

CASE_FIXTURES = {"case": "case", "second case": "second_case", "other forum's case": "other_case"}
CASE_PHRASE = "(?:case|second case|other forum's case)"
SLUG = r"[a-z0-9][a-z0-9-]*"


def typed(pattern: str, convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """A step-text type for `parse`: what it matches, and what it becomes."""

    def converter(text: str) -> Any:
        return convert(text)

    converter.pattern = pattern  # type: ignore[attr-defined]
    return converter


def listed(text: str) -> list[str]:
    """'a, b and c' → ['a', 'b', 'c']."""
    return [item.strip() for item in re.split(r",\s*|\s+and\s+", text) if item.strip()]


def error_class(name: str) -> type[Exception]:
    for module in (domain.errors, application.errors):
        found = getattr(module, name, None)
        if isinstance(found, type) and issubclass(found, Exception):
            return found
    raise LookupError(f"{name} is neither a domain nor an application error")


TYPES: dict[str, Callable[[str], Any]] = {
    "Date": typed(r"\d{4}-\d{2}-\d{2}", date.fromisoformat),
    "Word": typed(r"[a-z][a-z0-9_]*", str),
    "Slug": typed(SLUG, str),
    "Orgs": typed(rf"{SLUG}(?:(?:, | and ){SLUG})*", listed),
    "Text": typed(r'[^"]*', str),
    "Kind": typed(r"an? [a-z_]+", lambda text: text.split(" ", 1)[1]),
    "Error": typed(r"[A-Z][A-Za-z]*Error", error_class),
    "CaseRef": typed(CASE_PHRASE, CASE_FIXTURES.__getitem__),
    "CaseRefs": typed(
        rf"the {CASE_PHRASE}(?:(?:, | and )the {CASE_PHRASE})*",
        lambda text: [CASE_FIXTURES[phrase.removeprefix("the ")] for phrase in listed(text)],
    ),
    "Names": typed(r"[^,]+(?:(?:, | and )[^,]+)*", listed),
    "Count": typed(r"\d+", int),
}


def step(text: str) -> parsers.parse:
    return parsers.parse(text, extra_types=TYPES)


# --- refused commands -------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """A command that was tried, with what the store held just before it."""

    error: Exception | None
    events_before: int
    forum_versions: dict[UUID, int]
    case_versions: dict[UUID, tuple[int, int]]


def recorded_events(app: Forebyg) -> int:
    return app.recorder.max_notification_id() or 0


def try_command(
    app: Forebyg,
    command: Callable[[], object],
    *,
    forums: Iterable[UUID] = (),
    cases: Iterable[UUID] = (),
) -> Attempt:
    """Run a command that may be refused; domain and application errors are the refusals,
    anything else is a crash and fails the scenario."""
    before = Attempt(
        error=None,
        events_before=recorded_events(app),
        forum_versions={f: app.get_forum(f)["version"] for f in forums},
        case_versions={c: (app.get_case(c)["version"], len(app.get_case_history(c))) for c in cases},
    )
    try:
        command()
    except (DomainError, ApplicationError) as error:
        return replace(before, error=error)
    return before


# --- reading the application's views ---------------------------------------------------------------


def meeting_view(app: Forebyg, forum: UUID, meeting: UUID) -> dict[str, Any]:
    meetings: list[dict[str, Any]] = [
        m for m in app.get_forum(forum)["meetings"] if m["meeting_id"] == str(meeting)
    ]
    assert len(meetings) == 1, f"meeting {meeting} is not a meeting of forum {forum}"
    return meetings[0]


def action_view(app: Forebyg, case: UUID, action: UUID) -> dict[str, Any]:
    actions: list[dict[str, Any]] = [
        a for a in app.get_case(case)["actions"] if a["action_id"] == str(action)
    ]
    assert len(actions) == 1, f"action {action} is not an action of case {case}"
    return actions[0]


def history_types(app: Forebyg, case: UUID) -> list[str]:
    return [entry["type"] for entry in app.get_case_history(case)]


# --- forums -------------------------------------------------------------------------------------


@given(step("the registered organisations:"))
def registered_organisations(app: Forebyg, datatable: list[list[str]]) -> None:
    header, *rows = datatable
    assert header == ["organisation", "name", "kind"]
    for slug, name, kind in rows:
        app.add_organisation(slug, name=name, kind=kind)


@when(
    step(
        '{chair:Slug} establishes the forum "{name:Text}" in {municipality} on {on:Date} '
        "for {areas:Names} with the members {members:Orgs}"
    ),
    target_fixture="forum",
)
def establish_forum_with_members(
    app: Forebyg, chair: str, name: str, municipality: str, on: date, areas: list[str], members: list[str]
) -> UUID:
    return app.establish_forum(
        name=name,
        municipality=municipality,
        housing_areas=areas,
        chair_org=chair,
        members=members,
        established_on=on,
    ).id


def establish(app: Forebyg, name: str, on: date, areas: list[str], chair: str, members: list[str]) -> UUID:
    return app.establish_forum(
        name=name,
        municipality="Aarhus",
        housing_areas=areas,
        chair_org=chair,
        members=members,
        established_on=on,
    ).id


@given(
    step(
        'the forum "{name:Text}" was established on {on:Date} for {areas:Names}, '
        "chaired by {chair:Slug} with the members {members:Orgs}"
    ),
    target_fixture="forum",
)
def the_forum(app: Forebyg, name: str, on: date, areas: list[str], chair: str, members: list[str]) -> UUID:
    return establish(app, name, on, areas, chair, members)


@given(
    step(
        'another forum "{name:Text}" was established on {on:Date} for {areas:Names}, '
        "chaired by {chair:Slug} with the members {members:Orgs}"
    ),
    target_fixture="other_forum",
)
def another_forum(
    app: Forebyg, name: str, on: date, areas: list[str], chair: str, members: list[str]
) -> UUID:
    return establish(app, name, on, areas, chair, members)


@when(step("{org:Slug} joins the forum on {on:Date}"))
def joins(app: Forebyg, forum: UUID, org: str, on: date) -> None:
    app.add_member(forum, org, on)


@when(step("{org:Slug} tries to join the forum on {on:Date}"), target_fixture="attempt")
def tries_to_join(app: Forebyg, forum: UUID, org: str, on: date) -> Attempt:
    return try_command(app, lambda: app.add_member(forum, org, on), forums=[forum])


@when(step("{org:Slug} leaves the forum on {on:Date}"))
def leaves(app: Forebyg, forum: UUID, org: str, on: date) -> None:
    app.remove_member(forum, org, on)


@when(step("{org:Slug} tries to leave the forum on {on:Date}"), target_fixture="attempt")
def tries_to_leave(app: Forebyg, forum: UUID, org: str, on: date) -> Attempt:
    return try_command(app, lambda: app.remove_member(forum, org, on), forums=[forum])


AREA_MAPPING = (
    "records an area mapping of {area} on {on:Date} "
    'with resources "{resources:Text}" and challenges "{challenges:Text}"'
)


@when(step(f"the coordinator {AREA_MAPPING}"))
def records_area_mapping(
    app: Forebyg, forum: UUID, area: str, on: date, resources: str, challenges: str
) -> None:
    app.record_area_mapping(
        forum, recorded_on=on, housing_area=area, resources=resources, challenges=challenges
    )


@when(
    step(f"the coordinator tries to {AREA_MAPPING.replace('records', 'record', 1)}"), target_fixture="attempt"
)
def tries_to_record_area_mapping(
    app: Forebyg, forum: UUID, area: str, on: date, resources: str, challenges: str
) -> Attempt:
    return try_command(
        app,
        lambda: app.record_area_mapping(
            forum, recorded_on=on, housing_area=area, resources=resources, challenges=challenges
        ),
        forums=[forum],
    )


@then(step("the forum is chaired by {chair:Slug}"))
def chaired_by(app: Forebyg, forum: UUID, chair: str) -> None:
    assert app.get_forum(forum)["chair_org"] == chair


@then(step("the forum's members are {members:Orgs}"))
def members_are(app: Forebyg, forum: UUID, members: list[str]) -> None:
    assert app.get_forum(forum)["members"] == members


@then(step("the forum's members span the organisation kinds {kinds:Names}"))
def members_span_kinds(app: Forebyg, forum: UUID, kinds: list[str]) -> None:
    spanned = set()
    for member in app.get_forum(forum)["members"]:
        organisation = app.get_organisation(member)
        assert organisation is not None, f"{member} is not a registered organisation"
        spanned.add(organisation["kind"])
    assert spanned == set(kinds)


@then(step("the forum covers the housing areas {areas:Names}"))
def covers_areas(app: Forebyg, forum: UUID, areas: list[str]) -> None:
    assert app.get_forum(forum)["housing_areas"] == areas


@then(step("the forum holds an area mapping of {area} recorded on {on:Date}"))
def holds_area_mapping(app: Forebyg, forum: UUID, area: str, on: date) -> None:
    mappings = app.get_forum(forum)["area_mappings"]
    assert [(m["housing_area"], m["recorded_on"]) for m in mappings] == [(area, on.isoformat())]


# --- meetings -----------------------------------------------------------------------------------


def scheduled(app: Forebyg, forum: UUID, on: date) -> UUID:
    meeting = app.schedule_meeting(forum, on).meeting_id
    assert meeting is not None
    return meeting


@given(step("a meeting of the forum is scheduled for {on:Date}"), target_fixture="meeting")
@when(step("the coordinator schedules a meeting of the forum for {on:Date}"), target_fixture="meeting")
def schedule_meeting(app: Forebyg, forum: UUID, on: date) -> UUID:
    return scheduled(app, forum, on)


@given(step("a meeting of the other forum is scheduled for {on:Date}"), target_fixture="other_meeting")
def schedule_other_meeting(app: Forebyg, other_forum: UUID, on: date) -> UUID:
    return scheduled(app, other_forum, on)


def cases_named(request: pytest.FixtureRequest, fixtures: list[str]) -> list[UUID]:
    return [request.getfixturevalue(name) for name in fixtures]


HOLD = "the meeting on {on:Date} with {attendees:Orgs} attending"
DISCUSSING = ", discussing {cases:CaseRefs}"


@given(step(f"the forum held {HOLD}{DISCUSSING}"))
@when(step(f"the forum holds {HOLD}{DISCUSSING}"))
def hold_meeting_discussing(
    app: Forebyg,
    request: pytest.FixtureRequest,
    forum: UUID,
    meeting: UUID,
    on: date,
    attendees: list[str],
    cases: list[str],
) -> None:
    app.hold_meeting(
        forum, meeting, held_on=on, attendees=attendees, discussed_cases=cases_named(request, cases)
    )


@given(step(f"the forum held {HOLD}"))
@when(step(f"the forum holds {HOLD}"))
def hold_meeting(app: Forebyg, forum: UUID, meeting: UUID, on: date, attendees: list[str]) -> None:
    app.hold_meeting(forum, meeting, held_on=on, attendees=attendees)


@given(step("the other forum held its meeting on {on:Date} with {attendees:Orgs} attending"))
def other_forum_holds_meeting(
    app: Forebyg, other_forum: UUID, other_meeting: UUID, on: date, attendees: list[str]
) -> None:
    app.hold_meeting(other_forum, other_meeting, held_on=on, attendees=attendees)


def try_to_hold(
    app: Forebyg,
    forums: list[UUID],
    meeting: UUID,
    on: date,
    attendees: list[str],
    cases: list[UUID],
) -> Attempt:
    """Hold the meeting of the first forum; every forum listed is watched for changes."""
    return try_command(
        app,
        lambda: app.hold_meeting(forums[0], meeting, held_on=on, attendees=attendees, discussed_cases=cases),
        forums=forums,
        cases=cases,
    )


@when(step(f"the forum tries to hold {HOLD}{DISCUSSING}"), target_fixture="attempt")
def tries_to_hold_meeting_discussing(
    app: Forebyg,
    request: pytest.FixtureRequest,
    forum: UUID,
    meeting: UUID,
    on: date,
    attendees: list[str],
    cases: list[str],
) -> Attempt:
    return try_to_hold(app, [forum], meeting, on, attendees, cases_named(request, cases))


@when(step(f"the forum tries to hold {HOLD}"), target_fixture="attempt")
def tries_to_hold_meeting(
    app: Forebyg, forum: UUID, meeting: UUID, on: date, attendees: list[str]
) -> Attempt:
    return try_to_hold(app, [forum], meeting, on, attendees, [])


@when(
    step(f"the other forum tries to hold its {HOLD.removeprefix('the ')}{DISCUSSING}"),
    target_fixture="attempt",
)
def other_forum_tries_to_hold_meeting(
    app: Forebyg,
    request: pytest.FixtureRequest,
    forum: UUID,
    other_forum: UUID,
    other_meeting: UUID,
    on: date,
    attendees: list[str],
    cases: list[str],
) -> Attempt:
    # the cases' own forum is watched too: nothing may be recorded there either
    return try_to_hold(app, [other_forum, forum], other_meeting, on, attendees, cases_named(request, cases))


@given(step('the coordinator cancelled the meeting because "{reason:Text}"'))
@when(step('the coordinator cancels the meeting because "{reason:Text}"'))
def cancel_meeting(app: Forebyg, forum: UUID, meeting: UUID, reason: str) -> None:
    app.cancel_meeting(forum, meeting, reason)


@then(step("the meeting is scheduled for {on:Date}"))
def meeting_scheduled_for(app: Forebyg, forum: UUID, meeting: UUID, on: date) -> None:
    found = meeting_view(app, forum, meeting)
    assert (found["status"], found["planned_on"]) == ("scheduled", on.isoformat())


@then(step("the forum has {count:Count} meetings"))
def forum_has_meetings(app: Forebyg, forum: UUID, count: int) -> None:
    assert len(app.get_forum(forum)["meetings"]) == count


@then(step("the meeting was held on {on:Date} with {attendees:Orgs} attending"))
def meeting_was_held(app: Forebyg, forum: UUID, meeting: UUID, on: date, attendees: list[str]) -> None:
    found = meeting_view(app, forum, meeting)
    assert (found["status"], found["held_on"], found["attendees"]) == ("held", on.isoformat(), attendees)


@then(step("the meeting records {cases:CaseRefs} as discussed"))
def meeting_records_discussed(
    app: Forebyg, request: pytest.FixtureRequest, forum: UUID, meeting: UUID, cases: list[str]
) -> None:
    expected = [str(case) for case in cases_named(request, cases)]
    assert meeting_view(app, forum, meeting)["discussed_cases"] == expected


@then(step("the meeting is still scheduled"))
def meeting_still_scheduled(app: Forebyg, forum: UUID, meeting: UUID) -> None:
    found = meeting_view(app, forum, meeting)
    assert (found["status"], found["held_on"], found["attendees"]) == ("scheduled", None, [])


@then(step("the other forum's meeting is still scheduled"))
def other_meeting_still_scheduled(app: Forebyg, other_forum: UUID, other_meeting: UUID) -> None:
    assert meeting_view(app, other_forum, other_meeting)["status"] == "scheduled"


@then(step("the meeting is cancelled"))
def meeting_cancelled(app: Forebyg, forum: UUID, meeting: UUID) -> None:
    assert meeting_view(app, forum, meeting)["status"] == "cancelled"


# --- referral and assessment -------------------------------------------------------------------

REFERRAL = '{group:Word} concern about "{name:Text}" {how} {org:Slug} on {on:Date} under {basis:Word}'


def refer(app: Forebyg, forum: UUID, group: str, name: str, org: str, on: date, basis: str) -> UUID:
    return app.refer_case(
        forum_id=forum,
        target_group=group,
        referred_by=org,
        received_on=on,
        legal_basis=basis,
        concern=f"Bekymring for {name} meldt af {org}",
        subject=Subject.parse(name),
    ).id


@when(
    step("the coordinator registers a " + REFERRAL.replace("{how}", "referred by")),
    target_fixture="case",
)
def registers_concern(
    app: Forebyg, forum: UUID, group: str, name: str, org: str, on: date, basis: str
) -> UUID:
    return refer(app, forum, group, name, org, on, basis)


@given(step("a " + REFERRAL.replace("{how}", "was referred by")), target_fixture="case")
def a_concern_was_referred(
    app: Forebyg, forum: UUID, group: str, name: str, org: str, on: date, basis: str
) -> UUID:
    return refer(app, forum, group, name, org, on, basis)


@given(step("a second " + REFERRAL.replace("{how}", "was referred by")), target_fixture="second_case")
def a_second_concern(
    app: Forebyg, forum: UUID, group: str, name: str, org: str, on: date, basis: str
) -> UUID:
    return refer(app, forum, group, name, org, on, basis)


@given(
    step("a " + REFERRAL.replace("{how}", "was referred to the other forum by")),
    target_fixture="other_case",
)
def a_concern_to_the_other_forum(
    app: Forebyg, other_forum: UUID, group: str, name: str, org: str, on: date, basis: str
) -> UUID:
    return refer(app, other_forum, group, name, org, on, basis)


@when(
    step("the coordinator tries to register a " + REFERRAL.replace("{how}", "referred by")),
    target_fixture="attempt",
)
def tries_to_refer(
    app: Forebyg, forum: UUID, group: str, name: str, org: str, on: date, basis: str
) -> Attempt:
    return try_command(app, lambda: refer(app, forum, group, name, org, on, basis), forums=[forum])


def assess(app: Forebyg, case: UUID, decision: str, on: date) -> None:
    app.assess_case(
        case,
        assessed_on=on,
        decision=decision,
        risk_and_threat="Færdes i kriminelt miljø; ingen kendt ideologisk tilknytning",
        wellbeing_and_resilience="Tæt relation til mor og træner; skolefravær",
        judgement="Forummet vurderer, at en tidlig indsats er relevant",
    )


@given(step("the {which:CaseRef} was assessed as {decision:Word} on {on:Date}"))
@when(step("the coordinator assesses the {which:CaseRef} as {decision:Word} on {on:Date}"))
def assessed(app: Forebyg, request: pytest.FixtureRequest, which: str, decision: str, on: date) -> None:
    assess(app, request.getfixturevalue(which), decision, on)


@when(
    step("the coordinator tries to assess the case as {decision:Word} on {on:Date}"),
    target_fixture="attempt",
)
def tries_to_assess(app: Forebyg, case: UUID, decision: str, on: date) -> Attempt:
    return try_command(app, lambda: assess(app, case, decision, on), cases=[case])


@when(
    step("the coordinator tries to assess an unknown case as {decision:Word} on {on:Date}"),
    target_fixture="attempt",
)
def tries_to_assess_unknown(app: Forebyg, decision: str, on: date) -> Attempt:
    return try_command(app, lambda: assess(app, uuid4(), decision, on))


@then(step("the {which:CaseRef}'s status is {status:Word}"))
def case_status(app: Forebyg, request: pytest.FixtureRequest, which: str, status: str) -> None:
    assert app.get_case(request.getfixturevalue(which))["status"] == status


@then(
    step(
        "the case is in the {group:Word} target group, referred by {org:Slug} on {on:Date} under {basis:Word}"
    )
)
def case_referral(app: Forebyg, forum: UUID, case: UUID, group: str, org: str, on: date, basis: str) -> None:
    view = app.get_case(case)
    assert (view["forum_id"], view["target_group"], view["referred_by"]) == (str(forum), group, org)
    assert (view["received_on"], view["legal_basis"]) == (on.isoformat(), basis)


@then(step("the case was assessed as {decision:Word} on {on:Date}"))
def case_assessed(app: Forebyg, case: UUID, decision: str, on: date) -> None:
    view = app.get_case(case)
    assert (view["decision"], view["assessed_on"]) == (decision, on.isoformat())


@then(step("the assessment keeps risk and threat apart from well-being and resilience"))
def assessment_kept_apart(app: Forebyg, case: UUID) -> None:
    assessment = app.get_case(case, include_personal=True)["assessment"]
    assert assessment["risk_and_threat"].startswith("Færdes i kriminelt miljø")
    assert assessment["wellbeing_and_resilience"].startswith("Tæt relation til mor")
    assert "assessment" not in app.get_case(case), "personal notes shown without a purpose"


# --- discussion ---------------------------------------------------------------------------------


@then(step("the {which:CaseRef} was discussed at the meeting on {on:Date}"))
def case_discussed(app: Forebyg, request: pytest.FixtureRequest, meeting: UUID, which: str, on: date) -> None:
    case = request.getfixturevalue(which)
    view = app.get_case(case)
    assert (view["discussed_at"], view["discussed_on"]) == ([str(meeting)], [on.isoformat()])
    last = app.get_case_history(case)[-1]
    assert last["type"] == "Discussed"
    assert last["data"]["meeting_id"] == str(meeting)


@then(step("the {which:CaseRef} was never discussed"))
def case_never_discussed(app: Forebyg, request: pytest.FixtureRequest, which: str) -> None:
    case = request.getfixturevalue(which)
    assert app.get_case(case)["discussed_at"] == []
    assert "Discussed" not in history_types(app, case)


# --- actions ------------------------------------------------------------------------------------

ACTION = '{kind:Kind} action "{description:Text}"'
AGREE = ACTION + " owned by {owner:Slug} on {on:Date}, due {due:Date}"


def agreed(recorded: Recorded) -> UUID:
    assert recorded.action_id is not None
    return recorded.action_id


def agree(
    app: Forebyg, case: UUID, kind: str, description: str, owner: str | None, on: date, due: date | None
) -> UUID:
    return agreed(
        app.agree_action(
            case, kind=kind, description=description, responsible_org=owner, due_on=due, agreed_on=on
        )
    )


@when(step("the coordinator agrees " + AGREE), target_fixture="action")
def agrees_action(
    app: Forebyg, case: UUID, kind: str, description: str, owner: str, on: date, due: date
) -> UUID:
    return agree(app, case, kind, description, owner, on, due)


@given(
    step(ACTION + " owned by {owner:Slug} was agreed on {on:Date}, due {due:Date}"),
    target_fixture="action",
)
def an_action_was_agreed(
    app: Forebyg, case: UUID, kind: str, description: str, owner: str, on: date, due: date
) -> UUID:
    return agree(app, case, kind, description, owner, on, due)


@when(
    step("the forum agrees at the meeting " + ACTION + " owned by {owner:Slug}, due {due:Date}"),
    target_fixture="action",
)
def agrees_action_at_meeting(
    app: Forebyg, case: UUID, meeting: UUID, kind: str, description: str, owner: str, due: date
) -> UUID:
    return agreed(
        app.agree_action(
            case, kind=kind, description=description, responsible_org=owner, due_on=due, meeting_id=meeting
        )
    )


@when(step("the coordinator tries to agree " + AGREE), target_fixture="attempt")
def tries_to_agree_action(
    app: Forebyg, case: UUID, kind: str, description: str, owner: str, on: date, due: date
) -> Attempt:
    return try_command(app, lambda: agree(app, case, kind, description, owner, on, due), cases=[case])


@when(
    step("the coordinator tries to agree " + ACTION + " with no owner on {on:Date}, due {due:Date}"),
    target_fixture="attempt",
)
def tries_to_agree_action_without_owner(
    app: Forebyg, case: UUID, kind: str, description: str, on: date, due: date
) -> Attempt:
    return try_command(app, lambda: agree(app, case, kind, description, None, on, due), cases=[case])


@when(
    step("the coordinator tries to agree " + ACTION + " owned by {owner:Slug} on {on:Date} with no due date"),
    target_fixture="attempt",
)
def tries_to_agree_action_without_due_date(
    app: Forebyg, case: UUID, kind: str, description: str, owner: str, on: date
) -> Attempt:
    return try_command(app, lambda: agree(app, case, kind, description, owner, on, None), cases=[case])


@when(
    step(
        "the coordinator tries to agree at the other forum's meeting "
        + ACTION
        + " owned by {owner:Slug}, due {due:Date}"
    ),
    target_fixture="attempt",
)
def tries_to_agree_action_at_other_forums_meeting(
    app: Forebyg, case: UUID, other_meeting: UUID, kind: str, description: str, owner: str, due: date
) -> Attempt:
    return try_command(
        app,
        lambda: app.agree_action(
            case,
            kind=kind,
            description=description,
            responsible_org=owner,
            due_on=due,
            meeting_id=other_meeting,
        ),
        cases=[case],
    )


@when(step('the coordinator reschedules the action to {due:Date} on {on:Date} because "{reason:Text}"'))
def reschedules_action(app: Forebyg, case: UUID, action: UUID, due: date, on: date, reason: str) -> None:
    app.reschedule_action(case, action, due_on=due, rescheduled_on=on, reason=reason)


@given(step("the action was completed on {on:Date}"))
def the_action_was_completed(app: Forebyg, case: UUID, action: UUID, on: date) -> None:
    app.complete_action(case, action, completed_on=on, outcome="Gennemført som aftalt")


@when(step('the action is completed on {on:Date} with outcome "{outcome:Text}"'))
def action_is_completed(app: Forebyg, case: UUID, action: UUID, on: date, outcome: str) -> None:
    app.complete_action(case, action, completed_on=on, outcome=outcome)


@when(
    step('the coordinator tries to complete the action on {on:Date} with outcome "{outcome:Text}"'),
    target_fixture="attempt",
)
def tries_to_complete_action(app: Forebyg, case: UUID, action: UUID, on: date, outcome: str) -> Attempt:
    return try_command(
        app, lambda: app.complete_action(case, action, completed_on=on, outcome=outcome), cases=[case]
    )


@given(step("the action was cancelled on {on:Date}"))
def the_action_was_cancelled(app: Forebyg, case: UUID, action: UUID, on: date) -> None:
    app.cancel_action(case, action, cancelled_on=on, reason="Ikke længere relevant")


@when(step('the coordinator cancels the action on {on:Date} because "{reason:Text}"'))
def cancels_action(app: Forebyg, case: UUID, action: UUID, on: date, reason: str) -> None:
    app.cancel_action(case, action, cancelled_on=on, reason=reason)


@then(step("the action is open, owned by {owner:Slug} and due {due:Date}"))
def action_open(app: Forebyg, case: UUID, action: UUID, owner: str, due: date) -> None:
    view = action_view(app, case, action)
    assert (view["status"], view["responsible_org"], view["due_on"]) == ("open", owner, due.isoformat())


@then(step("the action was agreed at the meeting on {on:Date}"))
def action_agreed_at_meeting(app: Forebyg, case: UUID, action: UUID, meeting: UUID, on: date) -> None:
    view = action_view(app, case, action)
    assert (view["meeting_id"], view["agreed_on"]) == (str(meeting), on.isoformat())


@then(step("the action was agreed on {on:Date}, outside any meeting"))
def action_agreed_outside_a_meeting(app: Forebyg, case: UUID, action: UUID, on: date) -> None:
    view = action_view(app, case, action)
    assert (view["meeting_id"], view["agreed_on"]) == (None, on.isoformat())


@then(step("the action is completed on {on:Date}"))
def action_completed(app: Forebyg, case: UUID, action: UUID, on: date) -> None:
    view = action_view(app, case, action)
    assert (view["status"], view["completed_on"]) == ("completed", on.isoformat())


@then(step("the action is cancelled on {on:Date}"))
def action_cancelled(app: Forebyg, case: UUID, action: UUID, on: date) -> None:
    view = action_view(app, case, action)
    assert (view["status"], view["cancelled_on"]) == ("cancelled", on.isoformat())


@then(step("the case has {count:Count} open action"))
@then(step("the case has {count:Count} open actions"))
def open_actions(app: Forebyg, case: UUID, count: int) -> None:
    assert sum(1 for a in app.get_case(case)["actions"] if a["status"] == "open") == count


@then(step("the case's next due date is {due:Date}"))
def next_due(app: Forebyg, case: UUID, due: date) -> None:
    assert app.get_case(case)["next_due_on"] == due.isoformat()


@then(step("the case has no next due date"))
def no_next_due(app: Forebyg, case: UUID) -> None:
    assert app.get_case(case)["next_due_on"] is None


# --- reviews ------------------------------------------------------------------------------------


@when(step("the coordinator schedules a review of the case for {review:Date} on {on:Date}"))
def schedules_review(app: Forebyg, case: UUID, review: date, on: date) -> None:
    app.schedule_review(case, review_on=review, scheduled_on=on)


@when(
    step("the coordinator tries to schedule a review of the case for {review:Date} on {on:Date}"),
    target_fixture="attempt",
)
def tries_to_schedule_review(app: Forebyg, case: UUID, review: date, on: date) -> Attempt:
    return try_command(
        app, lambda: app.schedule_review(case, review_on=review, scheduled_on=on), cases=[case]
    )


@when(step('the coordinator records the review on {on:Date} with notes "{notes:Text}"'))
def records_review(app: Forebyg, case: UUID, on: date, notes: str) -> None:
    app.record_review(case, reviewed_on=on, notes=notes)


@when(
    step('the coordinator tries to record the review on {on:Date} with notes "{notes:Text}"'),
    target_fixture="attempt",
)
def tries_to_record_review(app: Forebyg, case: UUID, on: date, notes: str) -> Attempt:
    return try_command(app, lambda: app.record_review(case, reviewed_on=on, notes=notes), cases=[case])


@then(step("the case's next review is on {review:Date}"))
def next_review(app: Forebyg, case: UUID, review: date) -> None:
    assert app.get_case(case)["next_review_on"] == review.isoformat()


@then(step("the case was reviewed on {on:Date}"))
def was_reviewed(app: Forebyg, case: UUID, on: date) -> None:
    assert app.get_case(case)["reviews"] == [on.isoformat()]


@then(step("no review of the case is due"))
def no_review_due(app: Forebyg, case: UUID) -> None:
    assert app.get_case(case)["next_review_on"] is None


# --- closure and reopening ----------------------------------------------------------------------


def close(app: Forebyg, case: UUID, on: date, reason: str, review: date | None) -> None:
    app.close_case(
        case,
        closed_on=on,
        reason=reason,
        summary="Forummet afslutter sagen",
        post_closure_review_on=review,
    )


@given(step("the {which:CaseRef} was closed on {on:Date} as {reason:Word}"))
@when(step("the coordinator closes the {which:CaseRef} on {on:Date} as {reason:Word}"))
def closed(app: Forebyg, request: pytest.FixtureRequest, which: str, on: date, reason: str) -> None:
    close(app, request.getfixturevalue(which), on, reason, None)


@given(step("the case was closed on {on:Date} as {reason:Word} with a post-closure review on {review:Date}"))
@when(
    step(
        "the coordinator closes the case on {on:Date} as {reason:Word} "
        "with a post-closure review on {review:Date}"
    )
)
def closed_with_review(app: Forebyg, case: UUID, on: date, reason: str, review: date) -> None:
    close(app, case, on, reason, review)


@when(step("the coordinator tries to close the case on {on:Date} as {reason:Word}"), target_fixture="attempt")
def tries_to_close(app: Forebyg, case: UUID, on: date, reason: str) -> Attempt:
    return try_command(app, lambda: close(app, case, on, reason, None), cases=[case])


@when(
    step(
        "the coordinator tries to close the case on {on:Date} as {reason:Word} "
        "with a post-closure review on {review:Date}"
    ),
    target_fixture="attempt",
)
def tries_to_close_with_review(app: Forebyg, case: UUID, on: date, reason: str, review: date) -> Attempt:
    return try_command(app, lambda: close(app, case, on, reason, review), cases=[case])


@given(step('the coordinator reopened the case on {on:Date} because "{reason:Text}"'))
@when(step('the coordinator reopens the case on {on:Date} because "{reason:Text}"'))
def reopens(app: Forebyg, case: UUID, on: date, reason: str) -> None:
    app.reopen_case(case, reopened_on=on, reason=reason)


@when(
    step('the coordinator tries to reopen the case on {on:Date} because "{reason:Text}"'),
    target_fixture="attempt",
)
def tries_to_reopen(app: Forebyg, case: UUID, on: date, reason: str) -> Attempt:
    return try_command(app, lambda: app.reopen_case(case, reopened_on=on, reason=reason), cases=[case])


@then(step("the case is closed as {reason:Word} on {on:Date}"))
def case_closed(app: Forebyg, case: UUID, reason: str, on: date) -> None:
    view = app.get_case(case)
    assert (view["status"], view["closure_reason"], view["closed_on"]) == ("closed", reason, on.isoformat())


@then(step("a post-closure review of the case is due on {review:Date}"))
def post_closure_review_due(app: Forebyg, case: UUID, review: date) -> None:
    assert app.get_case(case)["post_closure_review_on"] == review.isoformat()


@then(step("no post-closure review of the case is due"))
def no_post_closure_review_due(app: Forebyg, case: UUID) -> None:
    assert app.get_case(case)["post_closure_review_on"] is None


@then(step("the case was reopened on {on:Date}"))
def case_reopened(app: Forebyg, case: UUID, on: date) -> None:
    view = app.get_case(case)
    assert (view["reopened_on"], view["decision"], view["closed_on"]) == ([on.isoformat()], None, None)


# --- history and refusals ---------------------------------------------------------------------------


@then(step("the {which:CaseRef}'s history reads {types:Names}"))
def history_reads(app: Forebyg, request: pytest.FixtureRequest, which: str, types: list[str]) -> None:
    case = request.getfixturevalue(which)
    assert history_types(app, case) == types
    assert app.get_case(case)["version"] == len(types)


@then(step("it is refused with {error:Error}"))
def refused(attempt: Attempt, error: type[Exception]) -> None:
    assert attempt.error is not None, f"the command was accepted; expected {error.__name__}"
    assert type(attempt.error) is error, f"refused with {type(attempt.error).__name__}: {attempt.error}"


@then(step('it is refused with {error:Error} on "{field}"'))
def refused_on_field(attempt: Attempt, error: type[Exception], field: str) -> None:
    refused(attempt, error)
    assert isinstance(attempt.error, InvalidValueError)
    assert attempt.error.field == field, f"refused on {attempt.error.field!r}: {attempt.error}"


@then(step("nothing was recorded"))
def nothing_recorded(app: Forebyg, attempt: Attempt) -> None:
    assert recorded_events(app) == attempt.events_before, "an event was recorded"
    for forum, version in attempt.forum_versions.items():
        assert app.get_forum(forum)["version"] == version, f"forum {forum} changed"
    for case, (version, length) in attempt.case_versions.items():
        assert app.get_case(case)["version"] == version, f"case {case} changed"
        assert len(app.get_case_history(case)) == length, f"case {case} has new history"


@then(step("nothing was recorded on the forum nor on any of the cases"))
def nothing_recorded_on_forum_nor_cases(app: Forebyg, attempt: Attempt) -> None:
    assert attempt.forum_versions, "no forum was watched"
    assert attempt.case_versions, "no case was watched"
    nothing_recorded(app, attempt)
