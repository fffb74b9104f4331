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
    forum.cancel_meeting(meeting_id, "Too few could come")
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

    refused(forum, MeetingAlreadyHeldError, lambda: forum.cancel_meeting(meeting_id, "oops"))


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
    refused(forum, ForumDissolvedError, lambda: forum.cancel_meeting(meeting_id, ""))
    refused(forum, ForumDissolvedError, lambda: forum.record_area_mapping(day(21), "Toveshøj", "r", "c"))
    refused(forum, ForumDissolvedError, lambda: forum.dissolve(day(22), "again"))


# --- replay ------------------------------------------------------------------------


def test_a_forum_replays_from_its_events_to_the_same_state() -> None:
    forum = a_forum(POLICE, CLUB)
    held, cancelled = uuid4(), uuid4()
    forum.schedule_meeting(held, day(10))
    forum.schedule_meeting(cancelled, day(12))
    forum.hold_meeting(held, day(10), [CHAIR, CLUB], [uuid4()], "Summary")
    forum.cancel_meeting(cancelled, "Holiday")
    forum.leave(CLUB, day(11))
    forum.record_area_mapping(day(12), "Gellerupparken", "r", "c")
    forum.dissolve(day(13), "Merged")

    copy = replayed(forum)

    assert vars(copy) == vars(forum)
