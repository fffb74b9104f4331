"""Forums through the API: establishing, membership, meetings and area mapping, and reading
a forum back with its version as ETag."""

from __future__ import annotations

from uuid import uuid4

import pytest

from application.errors import PermissionDeniedError
from tests.conftest import TODAY
from tests.web import endpoints
from tests.web.support import COORDINATOR, ORG_A, PASSWORD, Call, World, leaks, ok, problem


def test_establishing_a_forum_makes_the_callers_organisation_its_chair(world: World) -> None:
    created = ok(world.send(endpoints.establish(world.own)), 201)
    forum = ok(world.send(Call("GET", f"/api/forums/{created['id']}")))
    assert forum["chair_org"] == ORG_A
    assert forum["members"] == [ORG_A, world.own.partner]
    assert forum["established_on"] == TODAY.isoformat()
    assert forum["housing_areas"] == ["Hasle"]
    assert forum["version"] == created["version"]
    listed = ok(world.send(Call("GET", "/api/forums")))["items"]
    assert {item["id"] for item in listed} == {str(world.own.forum), created["id"]}


def test_the_forum_read_shows_every_forum_command_and_answers_304_while_unchanged(world: World) -> None:
    side = world.own
    path = f"/api/forums/{side.forum}"
    first = world.send(Call("GET", path))
    etag = first.headers["ETag"]
    assert etag == f'"{ok(first)["version"]}"'
    unchanged = world.send(Call("GET", path), headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.headers["ETag"] == etag
    assert unchanged.get_data() == b""

    ok(world.send(endpoints.join(side)))
    ok(world.send(endpoints.leave(side)))
    ok(world.send(endpoints.hold(side)))
    planned = ok(world.send(endpoints.schedule(side)), 201)["meeting_id"]
    ok(world.send(Call("POST", f"{path}/meetings/{planned}/cancellation", {"reason": "Sygdom"})))
    ok(world.send(endpoints.map_area(side)))

    changed = world.send(Call("GET", path), headers={"If-None-Match": etag})
    forum = ok(changed)
    assert changed.headers["ETag"] == f'"{forum["version"]}"' != etag
    assert forum["members"] == [side.chair, side.partner, side.outsider]
    meetings = {m["meeting_id"]: m for m in forum["meetings"]}
    held = meetings[str(side.meeting)]
    assert held["status"] == "held"
    assert held["held_on"] == TODAY.isoformat()
    assert held["attendees"] == [side.chair, side.partner]
    assert held["discussed_cases"] == [str(side.new_case)]
    assert meetings[planned]["status"] == "cancelled"
    assert "cancel_reason" not in meetings[planned], "a forum's free text without a purpose"
    assert forum["area_mappings"][-1]["housing_area"] == side.area
    with_purpose = ok(world.send(Call("GET", f"{path}?purpose=forberedelse+af+m%C3%B8de")))
    assert {m["meeting_id"]: m for m in with_purpose["meetings"]}[planned]["cancel_reason"] == "Sygdom"
    assert with_purpose["area_mappings"][-1]["challenges"] == "Utryghed omkring centret om aftenen"
    case = ok(world.send(Call("GET", f"/api/cases/{side.new_case}")))
    assert case["discussed_at"] == [str(side.meeting)]
    assert case["discussed_on"] == [TODAY.isoformat()]


def test_a_case_of_another_forum_discussed_at_a_meeting_is_answered_as_an_unknown_case(world: World) -> None:
    side = world.own
    hold = endpoints.hold(side)
    answers = {}
    for label, case in (("other forum's", world.other.new_case), ("unknown", uuid4())):
        with world.records_nothing():
            answer = world.send(hold.with_body({**(hold.body or {}), "discussed_cases": [str(case)]}))
        answers[label] = problem(answer, 404)["detail"].replace(str(case), "<case>")
        assert leaks(answer, world.other) == []
        assert world.other.forum_name not in answer.get_data(as_text=True)
    assert answers["other forum's"] == answers["unknown"]
    assert world.send(Call("GET", f"/api/forums/{side.forum}"), COORDINATOR).status_code == 200


def _coordinator_of(world: World, org: str) -> str:
    username = f"coordinator-{org}"
    world.app.add_user(username, org=org, role="coordinator", password=PASSWORD)
    return username


def test_only_a_coordinator_of_the_chair_changes_membership_through_the_api(world: World) -> None:
    side = world.own
    partner = _coordinator_of(world, side.partner)
    path = f"/api/forums/{side.forum}"
    before = ok(world.send(Call("GET", path)))
    for call in (endpoints.join(side), endpoints.leave(side)):
        with world.records_nothing():
            refused = problem(world.send(call, partner), 403)
        assert side.chair in refused["detail"] and "membership" in refused["detail"]
    assert ok(world.send(Call("GET", path)))["members"] == before["members"]
    # the partner's coordinator still runs the workflow of the forum it is a member of
    ok(world.send(endpoints.schedule(side), partner), 201)
    ok(world.send(endpoints.join(side)))
    ok(world.send(endpoints.leave(side)))


def test_only_a_coordinator_of_the_chair_changes_membership_through_the_application(world: World) -> None:
    side, app = world.own, world.app
    partner = app.get_caller_by_username(_coordinator_of(world, side.partner))
    chair = app.get_caller_by_username(COORDINATOR)
    assert partner is not None and chair is not None
    with world.records_nothing():
        with pytest.raises(PermissionDeniedError):
            app.add_member(side.forum, side.outsider, caller=partner)
        with pytest.raises(PermissionDeniedError):
            app.remove_member(side.forum, side.third, caller=partner)
    app.add_member(side.forum, side.outsider, caller=chair)
    app.remove_member(side.forum, side.third, caller=chair)
    assert app.get_forum(side.forum)["members"] == [side.chair, side.partner, side.outsider]


def test_only_a_coordinator_of_the_chair_dissolves_the_forum(world: World) -> None:
    side, app = world.own, world.app
    partner = app.get_caller_by_username(_coordinator_of(world, side.partner))
    assert partner is not None
    with world.records_nothing(), pytest.raises(PermissionDeniedError):
        app.dissolve_forum(side.forum, TODAY, "merged with another forum", caller=partner)
