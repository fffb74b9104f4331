"""The Forum aggregate on its own: membership, meetings, area mapping, dissolution."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.errors import (
    AlreadyAMemberError,
    ChairCannotLeaveError,
    DateOrderError,
    ForumDissolvedError,
    InvalidValueError,
    MeetingAlreadyHeldError,
    MeetingCancelledError,
    MeetingNotFoundError,
    NotAMemberError,
)
from domain.forum import Forum
from domain.values import MeetingStatus
from tests.unit.support import CHAIR, CLUB, ESTABLISHED, POLICE, a_forum, day, refused, replayed

# --- establishing ------------------------------------------------------------------


def test_the_chair_is_the_first_member_of_a_new_forum() -> None:
    forum = a_forum()

    assert forum.members == [CHAIR]
    assert forum.chair_org == CHAIR
    assert forum.established_on == ESTABLISHED
    assert [type(e).__name__ for e in forum.collect_events()] == ["Established"]


@pytest.mark.parametrize("areas", [[], "Gellerupparken", None])
def test_a_forum_needs_at_least_one_housing_area(areas: object) -> None:
    with pytest.raises(InvalidValueError) as caught:
        Forum.establish(
            name="F", municipality="Aarhus", housing_areas=areas, chair_org=CHAIR, established_on=ESTABLISHED
        )
    assert caught.value.field == "housing_areas"


def test_the_housing_areas_of_a_forum_are_distinct() -> None:
    with pytest.raises(InvalidValueError) as caught:
        Forum.establish(
            name="F",
            municipality="Aarhus",
            housing_areas=["Bispehaven", "Bispehaven"],
            chair_org=CHAIR,
            established_on=ESTABLISHED,
        )
    assert caught.value.field == "housing_areas"


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("name", {"name": "  "}),
        ("municipality", {"municipality": None}),
        ("chair_org", {"chair_org": "Aarhus Kommune"}),
        ("established_on", {"established_on": "2026-01-05"}),
    ],
)
def test_establishing_a_forum_names_the_field_it_refuses(field: str, overrides: dict[str, object]) -> None:
    arguments: dict[str, object] = {
        "name": "Samarbejdsforum",
        "municipality": "Aarhus",
        "housing_areas": ["Bispehaven"],
        "chair_org": CHAIR,
        "established_on": ESTABLISHED,
    } | overrides
    with pytest.raises(InvalidValueError) as caught:
        Forum.establish(**arguments)  # type: ignore[arg-type]
    assert caught.value.field == field


# --- membership --------------------------------------------------------------------


def test_an_organisation_joins_a_forum() -> None:
    forum = a_forum()

    forum.join(POLICE, day(0))

    assert forum.members == [CHAIR, POLICE]


def test_an_organisation_is_a_member_of_a_forum_once() -> None:
    forum = a_forum(POLICE)

    refused(forum, AlreadyAMemberError, lambda: forum.join(POLICE, day(0)))


def test_nobody_joins_before_the_forum_was_established() -> None:
    forum = a_forum()

    error = refused(forum, DateOrderError, lambda: forum.join(POLICE, ESTABLISHED - timedelta(days=1)))

    assert error.field == "joined_on"


def test_a_member_leaves_a_forum() -> None:
    forum = a_forum(POLICE)

    forum.leave(POLICE, day(0))

    assert forum.members == [CHAIR]


def test_the_chair_cannot_leave_its_forum() -> None:
    forum = a_forum(POLICE)

    refused(forum, ChairCannotLeaveError, lambda: forum.leave(CHAIR, day(0)))

    assert CHAIR in forum.members


def test_a_non_member_cannot_leave_a_forum() -> None:
    forum = a_forum()

    refused(forum, NotAMemberError, lambda: forum.leave(POLICE, day(0)))


def test_an_organisation_is_named_by_its_slug() -> None:
    forum = a_forum()

    error = refused(forum, InvalidValueError, lambda: forum.join("Østjyllands Politi", day(0)))

    assert error.field == "organisation"


# --- meetings ----------------------------------------------------------------------


def test_a_scheduled_meeting_awaits_being_held() -> None:
    forum = a_forum()
    meeting_id = uuid4()
    forum.schedule_meeting(meeting_id, day(10))

    meeting = forum.meeting(meeting_id)

    assert meeting.status is MeetingStatus.SCHEDULED
    assert meeting.planned_on == day(10)


def test_a_meeting_id_is_scheduled_once() -> None:
    forum = a_forum()
    meeting_id = uuid4()
    forum.schedule_meeting(meeting_id, day(10))

    error = refused(forum, InvalidValueError, lambda: forum.schedule_meeting(meeting_id, day(20)))

    assert error.field == "meeting_id"


def test_a_meeting_is_not_planned_before_the_forum_was_established() -> None:
    forum = a_forum()

    error = refused(
        forum, DateOrderError, lambda: forum.schedule_meeting(uuid4(), ESTABLISHED - timedelta(days=1))
    )

    assert error.field == "planned_on"


def test_a_held_meeting_records_who_attended_and_which_cases_were_discussed() -> None:
    forum = a_forum(POLICE, CLUB)
    meeting_id = uuid4()
    forum.schedule_meeting(meeting_id, day(10))
    discussed = [uuid4(), uuid4()]

    forum.hold_meeting(meeting_id, day(11), [CHAIR, POLICE], discussed, "Two cases discussed.")

    meeting = forum.meeting(meeting_id)
    assert meeting.status is MeetingStatus.HELD
    assert meeting.held_on == day(11)
    assert meeting.attendees == (CHAIR, POLICE)
    assert meeting.discussed_cases == tuple(discussed)
    assert forum.check_meeting_held(meeting_id) == meeting


def test_a_meeting_is_held_once() -> None:
    forum = a_forum(POLICE)
    meeting_id = uuid4()
    forum.schedule_meeting(meeting_id, day(10))
    forum.hold_meeting(meeting_id, day(10), [CHAIR], [], "")

    refused(forum, MeetingAlreadyHeldError, lambda: forum.hold_meeting(meeting_id, day(11), [POLICE], [], ""))


def test_a_non_member_cannot_attend_a_meeting() -> None:
    forum = a_forum(POLICE)
    meeting_id = uuid4()
    forum.schedule_meeting(meeting_id, day(10))

    refused(forum, NotAMemberError, lambda: forum.hold_meeting(meeting_id, day(10), [CHAIR, CLUB], [], ""))

    assert forum.meeting(meeting_id).status is MeetingStatus.SCHEDULED


def test_an_organisation_that_left_cannot_attend_a_meeting() -> None:
    forum = a_forum(POLICE)
    forum.leave(POLICE, day(5))
    meeting_id = uuid4()
    forum.schedule_meeting(meeting_id, day(10))

    refused(forum, NotAMemberError, lambda: forum.hold_meeting(meeting_id, day(10), [POLICE], [], ""))


def test_a_meeting_is_attended_by_at_least_one_organisation() -> None:
    forum = a_forum()
    meeting_id = uuid4()
    forum.schedule_meeting(meeting_id, day(10))

    error = refused(forum, InvalidValueError, lambda: forum.hold_meeting(meeting_id, day(10), [], [], ""))

    assert error.field == "attendees"


def test_an_organisation_attends_a_meeting_once() -> None:
    forum = a_forum()
    meeting_id = uuid4()
    forum.schedule_meeting(meeting_id, day(10))

    error = refused(
        forum, InvalidValueError, lambda: forum.hold_meeting(meeting_id, day(10), [CHAIR, CHAIR], [], "")
    )

    assert error.field == "attendees"


def test_a_case_is_listed_once_on_a_held_meeting() -> None:
    forum = a_forum()
    meeting_id = uuid4()
    forum.schedule_meeting(meeting_id, day(10))
    case_id = uuid4()

    error = refused(
        forum,
        InvalidValueError,
        lambda: forum.hold_meeting(meeting_id, day(10), [CHAIR], [case_id, case_id], ""),
    )

    assert error.field == "discussed_cases"


def test_a_meeting_is_not_held_before_the_forum_was_established() -> None:
    forum = a_forum()
    meeting_id = uuid4()
    forum.schedule_meeting(meeting_id, day(10))

    error = refused(
        forum,
        DateOrderError,
        lambda: forum.hold_meeting(meeting_id, ESTABLISHED - timedelta(days=1), [CHAIR], [], ""),
    )

    assert error.field == "held_on"


def test_an_unknown_meeting_cannot_be_held() -> None:
    forum = a_forum()

    refused(forum, MeetingNotFoundError, lambda: forum.hold_meeting(uuid4(), day(10), [CHAIR], [], ""))


def test_a_cancelled_meeting_cannot_be_held() -> None:
    forum = a_forum()
    meeting_id = uuid4()
    forum.schedule_meeting(meeting_id, day(10))
    forum.cancel_meeting(meeting_id, "Too few could come", day(8))
    cancelled = forum.collect_events()[-1]

    refused(forum, MeetingCancelledError, lambda: forum.hold_meeting(meeting_id, day(10), [CHAIR], [], ""))

    # The reason is a fact of the event only: a forum's free texts never enter its state.
    assert forum.meeting(meeting_id).status is MeetingStatus.CANCELLED
    assert cancelled.reason == "Too few could come"  # type: ignore[attr-defined]


def test_a_held_meeting_cannot_be_cancelled() -> None:
    forum = a_forum()
    meeting_id = uuid4()
    forum.schedule_meeting(meeting_id, day(10))
    forum.hold_meeting(meeting_id, day(10), [CHAIR], [], "")

    refused(forum, MeetingAlreadyHeldError, lambda: forum.cancel_meeting(meeting_id, "oops", day(10)))


def test_actions_can_refer_only_to_a_meeting_that_was_held() -> None:
    forum = a_forum()
    meeting_id = uuid4()
    forum.schedule_meeting(meeting_id, day(10))

    with pytest.raises(MeetingNotFoundError):
        forum.check_meeting_held(meeting_id)
    with pytest.raises(MeetingNotFoundError):
        forum.check_meeting_held(uuid4())


# --- area mapping and dissolution -----------------------------------------------------


def test_an_area_mapping_is_recorded_for_one_of_the_forums_own_areas() -> None:
    forum = a_forum()

    forum.record_area_mapping(day(0), "Toveshøj", "Active club, strong tenants' board", "Gang conflict")

    assert forum.area_mappings == [{"recorded_on": day(0), "housing_area": "Toveshøj"}]
    recorded = forum.collect_events()[-1]
    assert (recorded.resources, recorded.challenges) == (  # type: ignore[attr-defined]
        "Active club, strong tenants' board",
        "Gang conflict",
    )


def test_an_area_mapping_is_refused_for_another_area() -> None:
    forum = a_forum()

    error = refused(
        forum, InvalidValueError, lambda: forum.record_area_mapping(day(0), "Bispehaven", "r", "c")
    )

    assert error.field == "housing_area"


def test_a_dissolved_forum_takes_no_more_work() -> None:
    forum = a_forum(POLICE)
    meeting_id = uuid4()
    forum.schedule_meeting(meeting_id, day(10))
    forum.dissolve(day(20), "Merged with the neighbouring forum")

    assert forum.dissolved_on == day(20)
    refused(forum, ForumDissolvedError, lambda: forum.join(CLUB, day(21)))
    refused(forum, ForumDissolvedError, lambda: forum.leave(POLICE, day(21)))
    refused(forum, ForumDissolvedError, lambda: forum.schedule_meeting(uuid4(), day(21)))
    refused(forum, ForumDissolvedError, lambda: forum.hold_meeting(meeting_id, day(21), [CHAIR], [], ""))
    refused(forum, ForumDissolvedError, lambda: forum.cancel_meeting(meeting_id, "", day(21)))
    refused(forum, ForumDissolvedError, lambda: forum.record_area_mapping(day(21), "Toveshøj", "r", "c"))
    refused(forum, ForumDissolvedError, lambda: forum.dissolve(day(22), "again"))


# --- replay ------------------------------------------------------------------------


def test_a_forum_replays_from_its_events_to_the_same_state() -> None:
    forum = a_forum(POLICE, CLUB)
    held, cancelled = uuid4(), uuid4()
    forum.schedule_meeting(held, day(10))
    forum.schedule_meeting(cancelled, day(12))
    forum.hold_meeting(held, day(10), [CHAIR, CLUB], [uuid4()], "Summary")
    forum.cancel_meeting(cancelled, "Holiday", day(11))
    forum.leave(CLUB, day(11))
    forum.record_area_mapping(day(12), "Gellerupparken", "r", "c")
    forum.dissolve(day(13), "Merged")

    copy = replayed(forum)

    assert vars(copy) == vars(forum)


# --- business dates of membership, cancellation and dissolution ----------------------------


def test_a_cancellation_is_dated_and_not_before_the_forums_establishment() -> None:
    forum = a_forum()
    meeting_id = uuid4()
    forum.schedule_meeting(meeting_id, day(10))

    error = refused(
        forum,
        DateOrderError,
        lambda: forum.cancel_meeting(meeting_id, "", ESTABLISHED - timedelta(days=1)),
    )
    assert error.field == "cancelled_on"
    bad = refused(forum, InvalidValueError, lambda: forum.cancel_meeting(meeting_id, "", "2026-03-01"))
    assert bad.field == "cancelled_on"

    forum.cancel_meeting(meeting_id, "Holiday", day(3))  # cancelled a week before it was planned
    assert forum.meeting(meeting_id).cancelled_on == day(3)
    assert forum.collect_events()[-1].cancelled_on == day(3)  # type: ignore[attr-defined]


def test_an_organisation_leaves_no_earlier_than_it_joined() -> None:
    forum = a_forum()
    forum.join(CLUB, day(5))

    error = refused(forum, DateOrderError, lambda: forum.leave(CLUB, day(4)))

    assert error.field == "left_on"
    forum.leave(CLUB, day(5))
    assert CLUB not in forum.members


def test_an_organisation_joins_again_no_earlier_than_it_left() -> None:
    forum = a_forum(CLUB)
    forum.leave(CLUB, day(8))

    error = refused(forum, DateOrderError, lambda: forum.join(CLUB, day(7)))

    assert error.field == "joined_on"
    forum.join(CLUB, day(9))
    assert CLUB in forum.members


def test_a_forum_is_dissolved_no_earlier_than_its_latest_recorded_work() -> None:
    forum = a_forum(POLICE)
    held, cancelled = uuid4(), uuid4()
    forum.schedule_meeting(held, day(10))
    forum.schedule_meeting(cancelled, day(40))  # a plan, not work done
    forum.hold_meeting(held, day(10), [CHAIR], [], "")
    forum.cancel_meeting(cancelled, "", day(12))
    forum.record_area_mapping(day(14), "Toveshøj", "r", "c")
    forum.leave(POLICE, day(16))

    for before in (day(15), day(13), day(11)):
        error = refused(forum, DateOrderError, lambda on=before: forum.dissolve(on, "Merged"))  # type: ignore[misc]
        assert error.field == "dissolved_on"
    forum.dissolve(day(16), "Merged")
    assert forum.dissolved_on == day(16)


def test_a_cancellation_recorded_before_it_was_dated_is_dated_the_day_it_was_recorded_in_denmark() -> None:
    """Version 1 of ``MeetingCancelled`` had no ``cancelled_on``: its upcast dates it the day it
    was recorded in Denmark (23:30 UTC on 2 December is 3 December in Copenhagen)."""
    from datetime import UTC, date, datetime

    state: dict[str, object] = {
        "meeting_id": uuid4(),
        "reason": "Holiday",
        "timestamp": datetime(2026, 12, 2, 23, 30, tzinfo=UTC),
    }
    Forum.MeetingCancelled.upcast_v1_v2(state)
    assert state["cancelled_on"] == date(2026, 12, 3)


def test_a_forum_snapshot_taken_before_membership_was_dated_dates_its_members_from_the_establishment() -> (
    None
):
    forum = a_forum(POLICE)
    state = {k: v for k, v in vars(forum).items() if k != "membership_changed_on"}

    Forum.upcast_v1_v2(state)

    assert state["membership_changed_on"] == {CHAIR: ESTABLISHED, POLICE: ESTABLISHED}
