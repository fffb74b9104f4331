"""Every command that records a fact takes the day it happened: optional, today (in Denmark,
the application's clock) when left out, never in the future, never before what it must follow
(422 naming the field, nothing recorded). The event keeps the business date and the instant it
was recorded; read models and reminders go by the business date."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from flask.testing import FlaskClient

from tests.conftest import TODAY
from tests.web import endpoints
from tests.web.support import ESTABLISHED, MET, RECEIVED, Call, World, field_errors, ok

LAST_TUESDAY = TODAY - timedelta(days=7)  # TODAY is a Tuesday
LAST_WEEK = TODAY - timedelta(days=7)


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def forum_events(world: World, forum: UUID | str) -> list[Any]:
    return list(world.app.events.get(UUID(str(forum))))


def last_case_event(world: World, case: UUID) -> dict[str, Any]:
    events = ok(world.send(Call("GET", f"/api/cases/{case}/history")))["events"]
    entry: dict[str, Any] = events[-1]
    return entry


def refused(
    world: World, call: Call, field: str, forum: UUID | None = None, case: UUID | None = None
) -> None:
    """The call is refused naming ``field``, and nothing is recorded: the store's position,
    and the forum's or case's version, are unchanged."""
    before = (
        world.forum_version(forum) if forum else None,
        world.case_version(case) if case else None,
    )
    with world.records_nothing():
        errors = field_errors(world.send(call))
    assert field in errors, errors
    assert before == (
        world.forum_version(forum) if forum else None,
        world.case_version(case) if case else None,
    )


# --- establishing a forum --------------------------------------------------------------


def test_a_forum_registered_today_records_the_concern_that_reached_it_last_week(world: World) -> None:
    call = endpoints.establish(world.own)
    late = ok(world.send(call.with_body({**(call.body or {}), "established_on": day(-14)})), 201)
    view = ok(world.send(Call("GET", f"/api/forums/{late['id']}")))
    assert view["established_on"] == day(-14)
    joined = [e for e in forum_events(world, late["id"]) if type(e).__name__ == "MemberJoined"]
    assert [e.joined_on.isoformat() for e in joined] == [day(-14)]  # the members joined with it
    assert all(e.timestamp.date() >= TODAY - timedelta(days=1) for e in joined)  # recorded now

    refer = endpoints.refer(world.own)
    concern = {**(refer.body or {}), "forum_id": late["id"], "received_on": LAST_WEEK.isoformat()}
    ok(world.send(refer.with_body(concern)), 201)


def test_a_forum_established_without_a_date_is_established_today_and_refuses_last_weeks_concern(
    world: World,
) -> None:
    today = ok(world.send(endpoints.establish(world.own)), 201)
    assert ok(world.send(Call("GET", f"/api/forums/{today['id']}")))["established_on"] == TODAY.isoformat()
    refer = endpoints.refer(world.own)
    concern = {**(refer.body or {}), "forum_id": today["id"], "received_on": LAST_WEEK.isoformat()}
    refused(world, refer.with_body(concern), "received_on", forum=UUID(today["id"]))


def test_a_forum_is_not_established_tomorrow(world: World) -> None:
    call = endpoints.establish(world.own)
    with world.records_nothing():
        errors = field_errors(world.send(call.with_body({**(call.body or {}), "established_on": day(1)})))
    assert "established_on" in errors


# --- membership ------------------------------------------------------------------------


def join(world: World, org: str, joined_on: str | None = None) -> Call:
    body = {"org": org} if joined_on is None else {"org": org, "joined_on": joined_on}
    return Call("POST", f"/api/forums/{world.own.forum}/members", body)


def leave(world: World, org: str, left_on: str | None = None) -> Call:
    query = None if left_on is None else {"left_on": left_on}
    return Call("DELETE", f"/api/forums/{world.own.forum}/members/{org}", None, query)


def test_an_organisation_joins_and_leaves_on_the_days_it_did(world: World) -> None:
    forum, org = world.own.forum, world.own.outsider
    ok(world.send(join(world, org, day(-10))))
    assert forum_events(world, forum)[-1].joined_on.isoformat() == day(-10)
    ok(world.send(leave(world, org, day(-3))))
    left = forum_events(world, forum)[-1]
    assert (type(left).__name__, left.left_on.isoformat()) == ("MemberLeft", day(-3))
    assert org not in ok(world.send(Call("GET", f"/api/forums/{forum}")))["members"]


def test_joining_and_leaving_without_a_date_are_dated_today(world: World) -> None:
    forum, org = world.own.forum, world.own.outsider
    ok(world.send(join(world, org)))
    assert forum_events(world, forum)[-1].joined_on == TODAY
    ok(world.send(leave(world, org)))
    assert forum_events(world, forum)[-1].left_on == TODAY


def test_an_organisation_leaves_no_earlier_than_it_joined_and_joins_again_no_earlier_than_it_left(
    world: World,
) -> None:
    forum, org = world.own.forum, world.own.outsider
    refused(world, join(world, org, day(1)), "joined_on", forum=forum)
    refused(world, join(world, org, (ESTABLISHED - timedelta(days=1)).isoformat()), "joined_on", forum=forum)
    ok(world.send(join(world, org, day(-10))))
    refused(world, leave(world, org, day(-11)), "left_on", forum=forum)
    refused(world, leave(world, org, day(1)), "left_on", forum=forum)
    ok(world.send(leave(world, org, day(-5))))
    refused(world, join(world, org, day(-6)), "joined_on", forum=forum)
    ok(world.send(join(world, org, day(-5))))


def test_a_leaving_sent_again_with_another_date_under_the_same_key_is_refused(world: World) -> None:
    key = {"Idempotency-Key": "leave-once"}
    first = ok(world.send(leave(world, world.own.third, day(-2)), headers=key))
    again = world.send(leave(world, world.own.third, day(-2)), headers=key)
    assert ok(again) == first and again.headers["Idempotent-Replayed"] == "true"
    with world.records_nothing():
        other = world.send(leave(world, world.own.third, day(-1)), headers=key)
    assert "Idempotency-Key" in field_errors(other)  # not taken for a retry of the first


# --- meetings --------------------------------------------------------------------------


def cancel(world: World, cancelled_on: str | None = None) -> Call:
    call = endpoints.cancel_meeting(world.own)
    if cancelled_on is None:
        return call
    return call.with_body({**(call.body or {}), "cancelled_on": cancelled_on})


def meeting_view(world: World) -> dict[str, Any]:
    forum = ok(world.send(Call("GET", f"/api/forums/{world.own.forum}")))
    [meeting] = [m for m in forum["meetings"] if m["meeting_id"] == str(world.own.meeting)]
    return meeting


def test_a_meeting_is_cancelled_on_the_day_it_was(world: World) -> None:
    refused(world, cancel(world, day(1)), "cancelled_on", forum=world.own.forum)
    refused(
        world,
        cancel(world, (ESTABLISHED - timedelta(days=1)).isoformat()),
        "cancelled_on",
        forum=world.own.forum,
    )
    ok(world.send(cancel(world, day(-4))))
    assert (meeting_view(world)["status"], meeting_view(world)["cancelled_on"]) == ("cancelled", day(-4))


def test_a_meeting_cancelled_without_a_date_is_cancelled_today(world: World) -> None:
    ok(world.send(cancel(world)))
    assert meeting_view(world)["cancelled_on"] == TODAY.isoformat()


# --- actions ---------------------------------------------------------------------------


def agree(world: World, **dates: str) -> Call:
    call = endpoints.agree(world.own)
    return call.with_body({**(call.body or {}), **dates})


def action_view(world: World, action: str) -> dict[str, Any]:
    case = ok(world.send(Call("GET", f"/api/cases/{world.own.active_case}")))
    [found] = [a for a in case["actions"] if a["action_id"] == action]
    return found


def test_an_action_agreed_by_phone_last_tuesday_is_overdue_from_its_due_date(world: World) -> None:
    agreed = ok(world.send(agree(world, agreed_on=LAST_TUESDAY.isoformat(), due_on=day(-2))), 201)
    action = agreed["action_id"]
    view = action_view(world, action)
    assert (view["agreed_on"], view["due_on"], view["status"]) == (LAST_TUESDAY.isoformat(), day(-2), "open")
    entry = last_case_event(world, world.own.active_case)
    assert entry["type"] == "ActionAgreed" and entry["data"]["agreed_on"] == LAST_TUESDAY.isoformat()
    assert entry["recorded_at"][:10] >= (TODAY - timedelta(days=1)).isoformat()  # recorded now
    reminders = ok(world.send(Call("GET", "/api/reminders")))["items"]
    overdue = {r["rule"] for r in reminders if r["action_id"] == action and r["fire_on"] <= TODAY.isoformat()}
    assert "action_overdue" in overdue, reminders
    agenda = ok(world.send(Call("GET", f"/api/forums/{world.own.forum}/agenda")))
    assert action in {a["action_id"] for a in agenda["overdue_actions"]}, agenda


def test_an_action_agreed_without_a_date_is_agreed_today_or_on_its_meetings_day(world: World) -> None:
    today = ok(world.send(agree(world)), 201)["action_id"]
    assert action_view(world, today)["agreed_on"] == TODAY.isoformat()
    at_meeting = ok(world.send(agree(world, meeting_id=str(world.own.held_meeting))), 201)["action_id"]
    assert action_view(world, at_meeting)["agreed_on"] == MET.isoformat()


def test_an_action_is_not_agreed_tomorrow_nor_before_the_referral_nor_before_its_meeting(
    world: World,
) -> None:
    case = world.own.active_case
    refused(world, agree(world, agreed_on=day(1)), "agreed_on", case=case)
    refused(world, agree(world, agreed_on=(RECEIVED - timedelta(days=1)).isoformat()), "agreed_on", case=case)
    before_meeting = agree(
        world, agreed_on=(MET - timedelta(days=1)).isoformat(), meeting_id=str(world.own.held_meeting)
    )
    refused(world, before_meeting, "agreed_on", case=case)
    refused(world, agree(world, agreed_on=day(-5), due_on=day(-6)), "due_on", case=case)


def reschedule(world: World, **dates: str) -> Call:
    call = endpoints.reschedule(world.own)
    return call.with_body({**(call.body or {}), **dates})


def test_an_action_is_rescheduled_on_the_day_it_was_and_today_without_a_date(world: World) -> None:
    case = world.own.active_case
    refused(world, reschedule(world, rescheduled_on=day(1)), "rescheduled_on", case=case)
    refused(
        world,
        reschedule(world, rescheduled_on=(MET - timedelta(days=1)).isoformat()),
        "rescheduled_on",
        case=case,
    )
    ok(world.send(reschedule(world, rescheduled_on=day(-3), due_on=day(-1))))
    assert last_case_event(world, case)["data"]["rescheduled_on"] == day(-3)
    assert action_view(world, str(world.own.chair_action))["due_on"] == day(-1)
    ok(world.send(reschedule(world)))
    assert last_case_event(world, case)["data"]["rescheduled_on"] == TODAY.isoformat()


def test_a_review_is_scheduled_on_the_day_it_was_and_today_without_a_date(world: World) -> None:
    case = world.own.active_case
    call = endpoints.schedule_review(world.own)
    body = call.body or {}
    refused(world, call.with_body({**body, "scheduled_on": day(1)}), "scheduled_on", case=case)
    refused(
        world,
        call.with_body({**body, "scheduled_on": (RECEIVED - timedelta(days=1)).isoformat()}),
        "scheduled_on",
        case=case,
    )
    ok(world.send(call.with_body({**body, "scheduled_on": day(-20), "review_on": day(-1)})))
    assert last_case_event(world, case)["data"]["scheduled_on"] == day(-20)
    reminders = ok(world.send(Call("GET", "/api/reminders")))["items"]
    assert any(
        r["rule"] == "review_due" and r["case_id"] == str(case) and r["due_on"] == day(-1) for r in reminders
    )
    ok(world.send(call))
    assert last_case_event(world, case)["data"]["scheduled_on"] == TODAY.isoformat()


# --- the contract ----------------------------------------------------------------------


def test_the_openapi_document_offers_every_business_date_as_an_optional_strict_date(
    client: FlaskClient,
) -> None:
    document = ok(client.get("/api/openapi.json"))
    schemas = document["components"]["schemas"]
    for schema, field in (
        ("EstablishForum", "established_on"),
        ("Member", "joined_on"),
        ("CancelMeeting", "cancelled_on"),
        ("AgreeAction", "agreed_on"),
        ("RescheduleAction", "rescheduled_on"),
        ("ScheduleReview", "scheduled_on"),
    ):
        found = schemas[schema]["properties"][field]
        assert found["format"] == "date" and found["pattern"] == r"^\d{4}-\d{2}-\d{2}$", (schema, found)
        assert "default today" in found["description"], (schema, found)
        assert field not in schemas[schema].get("required", []), schema
    leave = document["paths"]["/api/forums/{forum_id}/members/{org}"]["delete"]
    [left_on] = [p for p in leave["parameters"] if p["name"] == "left_on"]
    assert left_on["in"] == "query" and not left_on.get("required", False)
    assert left_on["schema"]["format"] == "date"
