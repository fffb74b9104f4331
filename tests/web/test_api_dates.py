"""Business dates: a documented range, enforced where each date is decided, and read models that
project whatever date the history holds."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from domain.values import EARLIEST_DATE, LATEST_DATE, ActionKind
from tests.web.support import TOMORROW, Call, World, field_errors, ok

READS = ("/api/cases", "/api/cases?status=active", "/api/reminders", "/api/inbox")


def agree(world: World, due_on: str) -> TestResponse:
    side = world.own
    body = {"kind": "mentor", "description": "Mentorforløb", "responsible_org": side.chair, "due_on": due_on}
    return world.send(Call("POST", f"/api/cases/{side.active_case}/actions", body))


def every_read_answers(world: World) -> None:
    for path in (*READS, f"/api/forums/{world.own.forum}/agenda"):
        ok(world.send(Call("GET", path)))


def test_a_due_date_past_the_documented_range_is_refused_naming_the_field(world: World) -> None:
    for far in ("9999-12-20", "2101-01-01"):
        with world.records_nothing():
            answer = agree(world, far)
            assert answer.status_code == 422, answer.get_json()
            assert "due_on" in field_errors(answer)
    assert agree(world, LATEST_DATE.isoformat()).status_code == 201
    every_read_answers(world)


def test_a_date_before_the_documented_range_is_refused(world: World) -> None:
    side = world.own
    with world.records_nothing():
        answer = world.send(Call("POST", f"/api/forums/{side.forum}/meetings", {"planned_on": "1899-12-31"}))
        assert answer.status_code == 422, answer.get_json()
        assert "planned_on" in field_errors(answer)
    assert date(1900, 1, 1) == EARLIEST_DATE


def test_a_date_at_the_calendars_end_already_in_the_history_still_projects(world: World) -> None:
    """An event recorded before the range was enforced (due 9999-12-20, as an earlier version
    accepted) must not stop a catch-up nor a rebuild: the projections' date arithmetic is total."""
    case = world.app.repository.get(world.own.active_case)
    case._action_agreed(  # the event as it was once recorded, past today's guard
        action_id=uuid4(),
        kind=ActionKind.MENTOR,
        description="Mentorforløb",
        responsible_org=world.own.chair,
        due_on=date(9999, 12, 20),
        agreed_on=TOMORROW,
        meeting_id=None,
    )
    world.app.save(case)
    every_read_answers(world)
    world.app.workflow.rebuild()
    every_read_answers(world)
    view = ok(world.send(Call("GET", f"/api/cases/{world.own.active_case}")))
    assert any(action["due_on"] == "9999-12-20" for action in view["actions"])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(due=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_whatever_due_date_the_api_accepts_the_read_models_project(world: World, due: date) -> None:
    answer = agree(world, due.isoformat())
    assert answer.status_code in (201, 422), answer.get_json()
    if answer.status_code == 201:
        assert EARLIEST_DATE <= due <= LATEST_DATE
    every_read_answers(world)


def test_a_date_is_written_only_as_yyyy_mm_dd(world: World) -> None:
    for written in ("20270101", "2027-W01-1", "2027-001", "2027-1-1", " 2027-01-01", "2027-01-01T00:00"):
        with world.records_nothing():
            answer = agree(world, written)
            assert answer.status_code == 422, (written, answer.get_json())
            assert "due_on" in field_errors(answer)
    assert agree(world, "2027-01-01").status_code == 201
