"""Cases through the API: referral, the case list, one case and its history — and who sees
personal data: nobody without a stated purpose, and with one only coordinators and members."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from domain.case import PERSONAL_FIELDS
from tests.conftest import TODAY
from tests.web import endpoints
from tests.web.support import (
    DUE,
    MET,
    RECEIVED,
    USERS,
    Call,
    World,
    field_errors,
    leaks,
    ok,
    personal_keys_in_case,
    personal_keys_in_history,
)

PURPOSE = {"purpose": "forberedelse af møde i samarbejdsforum"}
SUMMARY_KEYS = {
    "id",
    "forum_id",
    "status",
    "target_group",
    "referred_by",
    "received_on",
    "open_actions",
    "next_due_on",
    "next_review_on",
    "closed_on",
    "closure_reason",
    "version",
}
FULL_HISTORY = [
    "Referred",
    "Assessed",
    "ActionAgreed",
    "ActionRescheduled",
    "ActionCompleted",
    "ActionAgreed",
    "ActionCancelled",
    "ReviewScheduled",
    "Reviewed",
    "Closed",
    "Reopened",
    "Closed",
]


def test_a_referral_answers_the_case_and_its_subject_and_awaits_assessment(world: World) -> None:
    referral = endpoints.refer(world.own)
    created = ok(world.send(referral), 201)
    assert created["version"] == 1
    case = ok(world.send(Call("GET", f"/api/cases/{created['id']}", query=PURPOSE)))
    assert case["status"] == "awaiting_assessment"
    assert case["forum_id"] == str(world.own.forum)
    assert case["subject_id"] == created["subject_id"]
    assert case["received_on"] == TODAY.isoformat()
    assert (case["target_group"], case["legal_basis"]) == ("younger_sibling", "consent")
    assert case["subject"] == (referral.body or {})["subject"]
    assert case["concern"] == (referral.body or {})["concern"]
    newest = ok(world.send(Call("GET", "/api/cases")))["items"][0]
    assert (newest["id"], newest["open_actions"], newest["version"]) == (created["id"], 0, 1)


def test_the_case_list_filters_by_forum_and_status_and_pages(world: World) -> None:
    side = world.own

    def listed(**query: str) -> list[str]:
        items = ok(world.send(Call("GET", "/api/cases", query=query)))["items"]
        assert all(set(item) == SUMMARY_KEYS for item in items)
        return [item["id"] for item in items]

    everything = ok(world.send(Call("GET", "/api/cases")))
    assert {item["id"] for item in everything["items"]} == {
        str(side.new_case),
        str(side.active_case),
        str(side.closed_case),
    }
    assert listed(forum=str(side.forum)) == [item["id"] for item in everything["items"]]
    assert listed(forum=str(world.other.forum)) == []
    assert listed(status="closed") == [str(side.closed_case)]
    assert listed(status="awaiting_assessment") == [str(side.new_case)]
    assert len(listed(limit="1", offset="1")) == 1
    active = ok(world.send(Call("GET", "/api/cases", query={"status": "active"})))["items"]
    assert [(a["id"], a["open_actions"], a["next_due_on"]) for a in active] == [
        (str(side.active_case), 3, DUE.isoformat())
    ]


def test_bad_case_queries_are_422_naming_the_parameter(world: World, subtests: pytest.Subtests) -> None:
    case = f"/api/cases/{world.own.closed_case}"
    for path, query, field in (
        ("/api/cases", {"status": "pending"}, "status"),
        ("/api/cases", {"forum": "forum-1"}, "forum"),
        ("/api/cases", {"limit": "0"}, "limit"),
        ("/api/cases", {"limit": "501"}, "limit"),
        ("/api/cases", {"limit": "ten"}, "limit"),
        ("/api/cases", {"offset": "-1"}, "offset"),
        (case, {"purpose": "x"}, "purpose"),
        (case, {"purpose": "x" * 501}, "purpose"),
        (f"{case}/history", {"as_of": "yesterday"}, "as_of"),
        (f"{case}/history", {"as_of": "2026-06-30T12:00:00"}, "as_of"),
        (f"{case}/history", {"purpose": "x"}, "purpose"),
    ):
        with subtests.test(msg=f"{path} {query}"):
            assert field in field_errors(world.send(Call("GET", path, query=query)))


def test_without_a_purpose_no_reader_sees_personal_data(world: World, subtests: pytest.Subtests) -> None:
    side = world.own
    for role in ("coordinator", "member", "evaluator", "dpo"):
        with subtests.test(msg=role):
            case = world.send(Call("GET", f"/api/cases/{side.closed_case}"), USERS[role])
            assert personal_keys_in_case(ok(case)) == []
            assert case.headers["Cache-Control"] == "no-store"
            history = world.send(Call("GET", f"/api/cases/{side.closed_case}/history"), USERS[role])
            assert personal_keys_in_history(ok(history)["events"]) == []
            assert leaks(case, side) == leaks(history, side) == []


def test_with_a_purpose_coordinators_and_members_see_personal_data_and_evaluators_and_the_dpo_never(
    world: World, subtests: pytest.Subtests
) -> None:
    side = world.own
    for role in ("coordinator", "member"):
        with subtests.test(msg=role):
            view = ok(world.send(Call("GET", f"/api/cases/{side.closed_case}", query=PURPOSE), USERS[role]))
            assert view["subject"] == {
                "name": side.subject_names[2],
                "cpr": side.subject_cprs[2],
                "birth_year": 2009,
            }
            assert view["concern"].startswith("FORTROLIGT")
            assert set(view["assessment"]) == {"risk_and_threat", "wellbeing_and_resilience", "judgement"}
            assert view["closure_summary"] == "FORTROLIGT: moved to Odense"
            done, dropped = (
                {a["action_id"]: a for a in view["actions"]}[str(i)] for i in side.closed_case_actions
            )
            assert done["outcome"] == "FORTROLIGT: has a job"
            assert dropped["cancel_reason"] == "FORTROLIGT: declined"
            past = ok(
                world.send(Call("GET", f"/api/cases/{side.closed_case}/history", query=PURPOSE), USERS[role])
            )["events"]
            assert set(personal_keys_in_history(past)) == {
                f"{e['type']}.{key}" for e in past for key in PERSONAL_FIELDS.get(e["type"], ())
            }
            assert past[0]["data"]["subject"]["name"] == side.subject_names[2]
            assert past[0]["data"]["concern"] == view["concern"]
    for role in ("evaluator", "dpo"):
        with subtests.test(msg=role):
            answer = world.send(Call("GET", f"/api/cases/{side.closed_case}", query=PURPOSE), USERS[role])
            assert personal_keys_in_case(ok(answer)) == []
            history = world.send(
                Call("GET", f"/api/cases/{side.closed_case}/history", query=PURPOSE), USERS[role]
            )
            assert personal_keys_in_history(ok(history)["events"]) == []
            assert leaks(answer, side) == leaks(history, side) == []
            if role == "evaluator":
                assert str(side.subject_ids[2]) not in answer.get_data(as_text=True)
                assert str(side.subject_ids[2]) not in history.get_data(as_text=True)


def test_a_case_and_its_history_carry_the_version_as_etag_and_answer_304_while_unchanged(
    world: World, subtests: pytest.Subtests
) -> None:
    side = world.own
    for path in (f"/api/cases/{side.active_case}", f"/api/cases/{side.active_case}/history"):
        with subtests.test(msg=path):
            first = world.send(Call("GET", path))
            etag = first.headers["ETag"]
            assert etag == f'"{world.case_version(side.active_case)}"'
            unchanged = world.send(Call("GET", path), headers={"If-None-Match": etag})
            assert (unchanged.status_code, unchanged.headers["ETag"], unchanged.get_data()) == (
                304,
                etag,
                b"",
            )
    ok(world.send(endpoints.schedule_review(side)))
    for path in (f"/api/cases/{side.active_case}", f"/api/cases/{side.active_case}/history"):
        with subtests.test(msg=f"{path} after a change"):
            answer = world.send(Call("GET", path), headers={"If-None-Match": etag})
            assert answer.status_code == 200
            assert answer.headers["ETag"] == f'"{world.case_version(side.active_case)}"' != etag


def test_history_lists_every_event_with_its_version_business_dates_and_recorded_instant(world: World) -> None:
    path = f"/api/cases/{world.own.closed_case}/history"
    history = ok(world.send(Call("GET", path)))
    events = history["events"]
    assert [e["type"] for e in events] == FULL_HISTORY
    assert [e["version"] for e in events] == list(range(1, len(events) + 1)) and history["version"] == len(
        events
    )
    instants = [datetime.fromisoformat(e["recorded_at"]) for e in events]
    assert all(i.tzinfo is not None for i in instants) and instants == sorted(instants)
    assert events[0]["data"]["received_on"] == RECEIVED.isoformat()
    assert events[1]["data"]["assessed_on"] == MET.isoformat()
    assert (events[-1]["data"]["closed_on"], events[-1]["data"]["reason"]) == (
        TODAY.isoformat(),
        "moved_away",
    )

    fifth = events[4]["recorded_at"]
    then = world.send(Call("GET", path, query={"as_of": fifth}))
    assert [e["version"] for e in ok(then)["events"]] == [
        e["version"] for e in events if datetime.fromisoformat(e["recorded_at"]) <= instants[4]
    ]
    assert then.headers["ETag"] == f'"{ok(then)["events"][-1]["version"]}"'
    before = ok(world.send(Call("GET", path, query={"as_of": "2020-01-01T00:00:00+00:00"})))
    assert before["events"] == []


def test_each_workflow_command_shows_in_the_case_read(world: World) -> None:
    side = world.own
    case_id = side.new_case

    def case() -> dict[str, Any]:
        return ok(world.send(Call("GET", f"/api/cases/{case_id}")))

    ok(world.send(endpoints.assess(side)))
    assert (case()["status"], case()["decision"], case()["assessed_on"]) == (
        "active",
        "accept",
        TODAY.isoformat(),
    )
    action = ok(world.send(endpoints.agree(side, case_id)), 201)["action_id"]
    ok(world.send(endpoints.reschedule(side, case_id, action)))
    (agreed,) = case()["actions"]
    assert (agreed["responsible_org"], agreed["due_on"], agreed["status"]) == (
        side.third,
        "2026-09-01",
        "open",
    )
    ok(world.send(endpoints.complete(side, case_id, action)))
    (completed,) = case()["actions"]
    assert (completed["status"], completed["completed_on"]) == ("completed", TODAY.isoformat())
    ok(world.send(endpoints.schedule_review(side, case_id)))
    assert case()["next_review_on"] == "2026-08-01"
    ok(world.send(endpoints.review(side, case_id)))
    assert (case()["reviews"], case()["next_review_on"]) == ([TODAY.isoformat()], None)
    ok(world.send(endpoints.close(side, case_id)))
    closed = case()
    assert (closed["status"], closed["closed_on"], closed["closure_reason"]) == (
        "closed",
        TODAY.isoformat(),
        "unfounded",
    )
    assert closed["post_closure_review_on"] == "2026-12-01"
    ok(world.send(endpoints.reopen(side, case_id)))
    reopened = case()
    assert (reopened["status"], reopened["reopened_on"], reopened["closed_on"]) == (
        "awaiting_assessment",
        [TODAY.isoformat()],
        None,
    )
