"""The Case aggregate on its own: assessment, discussion, actions, reviews, closing, reopening."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from uuid import uuid4

import pytest

from domain.case import Case
from domain.errors import (
    ActionAlreadyCompletedError,
    ActionCancelledError,
    ActionNotFoundError,
    ActionsNotAllowedError,
    AssessmentNotAllowedError,
    CaseClosedError,
    CaseNotClosedError,
    DateOrderError,
    InvalidValueError,
    NoReviewDueError,
    OpenActionsError,
    WrongForumError,
)
from domain.values import (
    ActionKind,
    ActionStatus,
    CaseStatus,
    ClosureReason,
    Decision,
    LegalBasis,
    Subject,
    TargetGroup,
)
from tests.unit.support import (
    CHAIR,
    CLUB,
    RECEIVED,
    a_case,
    agree,
    an_active_case,
    assess,
    day,
    refused,
    replayed,
)


def close(case: Case, on: date | None = None, review_on: date | None = None) -> None:
    case.close(on or day(40), "resolved", "Back in school and at the club", review_on)


def agree_with(case: Case, **overrides: object) -> Callable[[], None]:
    """An agree-action command with some arguments replaced, to be refused."""
    arguments: dict[str, object] = {
        "action_id": uuid4(),
        "kind": "mentor",
        "description": "Weekly mentor meetings",
        "responsible_org": CLUB,
        "due_on": day(30),
        "agreed_on": day(2),
        "meeting_id": None,
    } | overrides
    return lambda: case.agree_action(**arguments)  # type: ignore[arg-type]


# --- referral ------------------------------------------------------------------------


def test_a_referred_case_awaits_assessment() -> None:
    forum_id = uuid4()
    case = a_case(forum_id)

    assert case.status is CaseStatus.AWAITING_ASSESSMENT
    assert case.forum_id == forum_id
    assert case.target_group is TargetGroup.CROSS_OVER
    assert case.legal_basis is LegalBasis.RETSPLEJELOVEN_115
    assert case.received_on == RECEIVED
    assert case.subject == Subject(name="Ali Testesen")
    assert case.actions == {}


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("target_group", {"target_group": "gang_member"}),
        ("legal_basis", {"legal_basis": "a hunch"}),
        ("referred_by", {"referred_by": ""}),
        ("received_on", {"received_on": "2026-03-02"}),
        ("concern", {"concern": "   "}),
    ],
)
def test_a_referral_names_the_field_it_refuses(field: str, overrides: dict[str, object]) -> None:
    arguments: dict[str, object] = {
        "forum_id": uuid4(),
        "target_group": "younger_sibling",
        "referred_by": CHAIR,
        "received_on": RECEIVED,
        "legal_basis": "consent",
        "concern": "Older brother convicted of terror offences.",
        "subject_id": uuid4(),
        "subject": Subject(name="Sara Fiktivsen"),
    } | overrides

    with pytest.raises(InvalidValueError) as caught:
        Case.refer(**arguments)  # type: ignore[arg-type]

    assert caught.value.field == field


# --- assessment -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "status"),
    [
        (Decision.ACCEPT, CaseStatus.ACTIVE),
        (Decision.REDIRECT, CaseStatus.REDIRECTED),
        (Decision.NO_FURTHER_ACTION, CaseStatus.NO_FURTHER_ACTION),
    ],
)
def test_an_assessment_decides_the_case_status(decision: Decision, status: CaseStatus) -> None:
    case = a_case()

    assess(case, decision.value, on=day(3))

    assert case.status is status
    assert case.decision is decision
    assert case.assessed_on == day(3)


def test_an_unknown_decision_names_the_decision_field() -> None:
    case = a_case()

    error = refused(case, InvalidValueError, lambda: assess(case, "wait and see"))

    assert error.field == "decision"


@pytest.mark.parametrize("field", ["risk_and_threat", "wellbeing_and_resilience", "judgement"])
def test_an_assessment_records_each_kind_of_judgement_separately(field: str) -> None:
    case = a_case()
    notes = {"risk_and_threat": "r", "wellbeing_and_resilience": "w", "judgement": "j"} | {field: ""}

    error = refused(case, InvalidValueError, lambda: case.assess(day(1), "accept", **notes))

    assert error.field == field


@pytest.mark.parametrize("decision", ["redirect", "no_further_action"])
def test_a_redirected_or_dropped_case_is_not_assessed_again_until_reopened(decision: str) -> None:
    case = a_case()
    assess(case, decision)

    refused(case, AssessmentNotAllowedError, lambda: assess(case, "accept", on=day(2)))


def test_an_active_case_is_not_redirected_while_actions_are_open() -> None:
    case = an_active_case()
    agree(case)

    refused(case, OpenActionsError, lambda: assess(case, "redirect", on=day(5)))


def test_an_active_case_can_be_reassessed_as_accepted_while_actions_are_open() -> None:
    case = an_active_case()
    agree(case)

    assess(case, "accept", on=day(5))

    assert case.status is CaseStatus.ACTIVE
    assert case.assessed_on == day(5)


def test_a_closed_case_is_not_assessed() -> None:
    case = a_case()
    close(case, on=day(1))

    refused(case, CaseClosedError, lambda: assess(case, "accept", on=day(2)))


# --- discussion --------------------------------------------------------------------------


def test_a_case_is_discussed_at_a_meeting_of_its_own_forum() -> None:
    forum_id, meeting_id = uuid4(), uuid4()
    case = a_case(forum_id)

    case.discuss(forum_id, meeting_id, day(4))

    assert case.discussed_at == [meeting_id]
    assert case.discussed_on == [day(4)]


def test_a_case_is_not_discussed_at_another_forums_meeting() -> None:
    case = a_case()

    refused(case, WrongForumError, lambda: case.discuss(uuid4(), uuid4(), day(4)))


def test_a_case_is_discussed_once_per_meeting() -> None:
    forum_id, meeting_id = uuid4(), uuid4()
    case = a_case(forum_id)
    case.discuss(forum_id, meeting_id, day(4))

    error = refused(case, InvalidValueError, lambda: case.discuss(forum_id, meeting_id, day(4)))

    assert error.field == "discussed_cases"


def test_a_closed_case_is_not_discussed() -> None:
    forum_id = uuid4()
    case = a_case(forum_id)
    close(case, on=day(1))

    refused(case, CaseClosedError, lambda: case.discuss(forum_id, uuid4(), day(4)))


# --- actions -----------------------------------------------------------------------------


def test_an_action_is_agreed_with_one_responsible_organisation_and_a_due_date() -> None:
    forum_id, meeting_id = uuid4(), uuid4()
    case = an_active_case(forum_id)
    case.discuss(forum_id, meeting_id, day(2))

    action_id = agree(case, on=day(2), due=day(20), meeting_id=meeting_id)

    action = case.action(action_id)
    assert action.kind is ActionKind.MENTOR
    assert action.responsible_org == CLUB
    assert action.due_on == day(20)
    assert action.agreed_on == day(2)
    assert action.meeting_id == meeting_id
    assert action.status is ActionStatus.OPEN
    assert case.open_actions == [action]


@pytest.mark.parametrize("owner", [None, ""])
def test_no_action_without_a_responsible_organisation(owner: object) -> None:
    case = an_active_case()

    error = refused(case, InvalidValueError, agree_with(case, responsible_org=owner))

    assert error.field == "responsible_org"


def test_no_action_without_a_due_date() -> None:
    case = an_active_case()

    error = refused(case, InvalidValueError, agree_with(case, due_on=None))

    assert error.field == "due_on"


def test_an_action_is_not_due_before_it_was_agreed() -> None:
    case = an_active_case()

    error = refused(case, DateOrderError, agree_with(case, agreed_on=day(10), due_on=day(9)))

    assert error.field == "due_on"


def test_an_unknown_action_kind_names_the_kind_field() -> None:
    case = an_active_case()

    error = refused(case, InvalidValueError, agree_with(case, kind="boot_camp"))

    assert error.field == "kind"


def test_an_action_is_not_agreed_at_a_meeting_where_the_case_was_not_discussed() -> None:
    case = an_active_case()

    refused(case, WrongForumError, agree_with(case, meeting_id=uuid4()))


def test_an_action_id_is_used_once_per_case() -> None:
    case = an_active_case()
    action_id = agree(case)

    error = refused(case, InvalidValueError, agree_with(case, action_id=action_id))

    assert error.field == "action_id"


def test_no_action_on_a_case_awaiting_assessment() -> None:
    case = a_case()

    refused(case, ActionsNotAllowedError, agree_with(case))


@pytest.mark.parametrize("decision", ["redirect", "no_further_action"])
def test_a_redirect_or_no_further_action_closes_the_path_to_actions(decision: str) -> None:
    case = a_case()
    assess(case, decision)

    refused(case, ActionsNotAllowedError, agree_with(case))


@pytest.mark.parametrize("decision", ["redirect", "no_further_action"])
def test_a_reopened_and_accepted_case_takes_actions_again(decision: str) -> None:
    case = a_case()
    assess(case, decision, on=day(1))
    case.reopen(day(5), "New information from the school")
    assess(case, "accept", on=day(6))

    action_id = agree(case, on=day(6))

    assert case.action(action_id).status is ActionStatus.OPEN


def test_no_action_on_a_closed_case() -> None:
    case = an_active_case()
    close(case)

    refused(case, CaseClosedError, agree_with(case, agreed_on=day(41), due_on=day(50)))


def test_an_action_is_completed_at_most_once() -> None:
    case = an_active_case()
    action_id = agree(case)
    case.complete_action(action_id, day(10), "Attends every week")
    completed = case.action(action_id)

    refused(case, ActionAlreadyCompletedError, lambda: case.complete_action(action_id, day(11), "Again"))

    assert case.action(action_id) == completed
    assert completed.status is ActionStatus.COMPLETED
    assert completed.completed_on == day(10)
    assert completed.outcome == "Attends every week"


def test_a_completed_action_is_neither_rescheduled_nor_cancelled() -> None:
    case = an_active_case()
    action_id = agree(case)
    case.complete_action(action_id, day(10), "Done")

    refused(
        case,
        ActionAlreadyCompletedError,
        lambda: case.reschedule_action(action_id, day(60), day(11), "More time"),
    )
    refused(case, ActionAlreadyCompletedError, lambda: case.cancel_action(action_id, day(11), "No"))


def test_a_cancelled_action_is_not_completed() -> None:
    case = an_active_case()
    action_id = agree(case)
    case.cancel_action(action_id, day(5), "Family declined")

    refused(case, ActionCancelledError, lambda: case.complete_action(action_id, day(10), "Done"))

    assert case.action(action_id).cancel_reason == "Family declined"


def test_an_unknown_action_is_not_completed() -> None:
    case = an_active_case()

    refused(case, ActionNotFoundError, lambda: case.complete_action(uuid4(), day(10), "Done"))


def test_an_action_is_not_completed_before_it_was_agreed() -> None:
    case = an_active_case()
    action_id = agree(case, on=day(5))

    error = refused(case, DateOrderError, lambda: case.complete_action(action_id, day(4), "Done"))

    assert error.field == "completed_on"


def test_a_rescheduled_action_is_due_on_its_new_date() -> None:
    case = an_active_case()
    action_id = agree(case, due=day(20))

    case.reschedule_action(action_id, day(45), day(15), "Mentor on leave")

    assert case.action(action_id).due_on == day(45)
    assert case.action(action_id).status is ActionStatus.OPEN


def test_a_rescheduled_action_still_has_a_due_date() -> None:
    case = an_active_case()
    action_id = agree(case)

    error = refused(
        case, InvalidValueError, lambda: case.reschedule_action(action_id, None, day(15), "No date")
    )

    assert error.field == "due_on"


def test_an_action_is_not_rescheduled_to_before_the_day_it_was_rescheduled() -> None:
    case = an_active_case()
    action_id = agree(case)

    error = refused(
        case, DateOrderError, lambda: case.reschedule_action(action_id, day(14), day(15), "Backdated")
    )

    assert error.field == "due_on"


# --- dates -------------------------------------------------------------------------------

BEFORE_REFERRAL = day(-1)


@pytest.mark.parametrize(
    ("field", "command"),
    [
        ("assessed_on", lambda case: case.assess(BEFORE_REFERRAL, "accept", "r", "w", "j")),
        ("held_on", lambda case: case.discuss(case.forum_id, uuid4(), BEFORE_REFERRAL)),
        ("closed_on", lambda case: case.close(BEFORE_REFERRAL, "unfounded", "s")),
        ("review_on", lambda case: case.schedule_review(BEFORE_REFERRAL, RECEIVED)),
        ("scheduled_on", lambda case: case.schedule_review(day(30), BEFORE_REFERRAL)),
    ],
)
def test_no_business_date_precedes_the_referral(field: str, command: Callable[[Case], None]) -> None:
    case = a_case()

    error = refused(case, DateOrderError, lambda: command(case))

    assert error.field == field


@pytest.mark.parametrize(
    ("field", "command"),
    [
        ("agreed_on", lambda case, _: agree(case, on=BEFORE_REFERRAL)),
        ("completed_on", lambda case, action_id: case.complete_action(action_id, BEFORE_REFERRAL, "o")),
        ("cancelled_on", lambda case, action_id: case.cancel_action(action_id, BEFORE_REFERRAL, "r")),
        (
            "rescheduled_on",
            lambda case, action_id: case.reschedule_action(action_id, day(60), BEFORE_REFERRAL, "r"),
        ),
    ],
)
def test_no_action_date_precedes_the_referral(field: str, command: Callable[[Case, object], None]) -> None:
    case = an_active_case()
    action_id = agree(case)

    error = refused(case, DateOrderError, lambda: command(case, action_id))

    assert error.field == field


def test_a_business_date_must_be_a_date() -> None:
    case = a_case()

    error = refused(case, InvalidValueError, lambda: assess(case, on="2026-03-03"))  # type: ignore[arg-type]

    assert error.field == "assessed_on"


# --- reviews --------------------------------------------------------------------------


def test_a_scheduled_review_is_recorded_once() -> None:
    case = an_active_case()
    case.schedule_review(day(30), day(2))

    case.record_review(day(30), "Going well")

    assert case.reviews == [day(30)]
    assert case.next_review_on is None
    refused(case, NoReviewDueError, lambda: case.record_review(day(31), "Again"))


def test_no_review_is_recorded_without_one_being_scheduled() -> None:
    case = an_active_case()

    refused(case, NoReviewDueError, lambda: case.record_review(day(5), "Unplanned"))


def test_a_review_is_not_due_before_it_was_scheduled() -> None:
    case = an_active_case()

    error = refused(case, DateOrderError, lambda: case.schedule_review(day(9), day(10)))

    assert error.field == "review_on"


def test_a_closed_case_gets_its_post_closure_review() -> None:
    case = an_active_case()
    close(case, on=day(40), review_on=day(220))

    case.record_review(day(220), "No new concerns")

    assert case.reviews == [day(220)]
    assert case.post_closure_review_on is None
    assert case.status is CaseStatus.CLOSED


def test_a_post_closure_review_is_not_dated_before_the_closure() -> None:
    case = an_active_case()
    close(case, on=day(40), review_on=day(220))

    error = refused(case, DateOrderError, lambda: case.record_review(day(39), "Early"))

    assert error.field == "reviewed_on"


def test_a_case_closed_without_a_post_closure_review_has_none_due() -> None:
    case = an_active_case()
    close(case)

    refused(case, NoReviewDueError, lambda: case.record_review(day(50), "Unplanned"))


def test_a_closed_case_gets_no_new_review_scheduled() -> None:
    case = an_active_case()
    close(case)

    refused(case, CaseClosedError, lambda: case.schedule_review(day(60), day(41)))


# --- closing ----------------------------------------------------------------------------


def test_a_case_closes_with_a_reason_and_a_post_closure_review_date() -> None:
    case = an_active_case()

    close(case, on=day(40), review_on=day(220))

    assert case.status is CaseStatus.CLOSED
    assert case.closed_on == day(40)
    assert case.closure_reason is ClosureReason.RESOLVED
    assert case.closure_summary == "Back in school and at the club"
    assert case.post_closure_review_on == day(220)


def test_a_case_is_not_closed_while_actions_are_open() -> None:
    case = an_active_case()
    agree(case)

    refused(case, OpenActionsError, lambda: close(case))


def test_a_case_closes_once_its_actions_are_completed_or_cancelled() -> None:
    case = an_active_case()
    completed, cancelled = agree(case), agree(case)
    case.complete_action(completed, day(20), "Done")
    case.cancel_action(cancelled, day(21), "Moved away")

    close(case, on=day(40))

    assert case.status is CaseStatus.CLOSED


def test_a_case_is_closed_once() -> None:
    case = an_active_case()
    close(case)

    refused(case, CaseClosedError, lambda: close(case, on=day(41)))


def test_an_unknown_closure_reason_names_the_reason_field() -> None:
    case = an_active_case()

    error = refused(case, InvalidValueError, lambda: case.close(day(40), "bored", "s"))

    assert error.field == "reason"


def test_a_post_closure_review_follows_the_closure() -> None:
    case = an_active_case()

    error = refused(case, InvalidValueError, lambda: close(case, on=day(40), review_on=day(40)))

    assert error.field == "post_closure_review_on"


def test_a_case_is_not_closed_before_its_assessment() -> None:
    case = a_case()
    assess(case, on=day(10))

    error = refused(case, DateOrderError, lambda: close(case, on=day(9)))

    assert error.field == "closed_on"


def test_a_case_is_not_closed_before_its_last_discussion() -> None:
    forum_id = uuid4()
    case = an_active_case(forum_id)
    case.discuss(forum_id, uuid4(), day(20))

    error = refused(case, DateOrderError, lambda: close(case, on=day(19)))

    assert error.field == "closed_on"


def test_a_case_is_not_closed_before_its_actions_were_completed() -> None:
    """Closing before the work it lists was done would make the case look closed while open."""
    case = an_active_case()
    action_id = agree(case, on=day(2), due=day(30))
    case.complete_action(action_id, day(25), "Done")

    error = refused(case, DateOrderError, lambda: close(case, on=day(10)))

    assert error.field == "closed_on"


def test_a_reopened_case_is_not_closed_again_before_its_reopening() -> None:
    case = an_active_case()
    close(case, on=day(10))
    case.reopen(day(30), "New concern from the club")

    error = refused(case, DateOrderError, lambda: close(case, on=day(20)))

    assert error.field == "closed_on"


# --- reopening --------------------------------------------------------------------------


def test_a_reopened_case_awaits_a_fresh_assessment() -> None:
    case = an_active_case()
    close(case, on=day(40), review_on=day(220))

    case.reopen(day(60), "New concern from the club")

    assert case.status is CaseStatus.AWAITING_ASSESSMENT
    assert case.decision is None
    assert case.closed_on is None
    assert case.closure_reason is None
    assert case.post_closure_review_on is None
    assert case.reopened_on == [day(60)]


@pytest.mark.parametrize("decision", [None, "accept"])
def test_only_a_closed_or_redirected_case_is_reopened(decision: str | None) -> None:
    case = a_case()
    if decision:
        assess(case, decision)

    refused(case, CaseNotClosedError, lambda: case.reopen(day(5), "Why not"))


def test_a_case_is_not_reopened_before_it_was_closed() -> None:
    case = an_active_case()
    close(case, on=day(40))

    error = refused(case, DateOrderError, lambda: case.reopen(day(39), "Backdated"))

    assert error.field == "reopened_on"


def test_a_reopened_case_is_not_reassessed_before_its_reopening() -> None:
    """A fresh assessment dated while the case was still closed contradicts its own history."""
    case = an_active_case()
    close(case, on=day(10))
    case.reopen(day(30), "New concern from the club")

    error = refused(case, DateOrderError, lambda: assess(case, on=day(20)))

    assert error.field == "assessed_on"


def test_a_reopened_case_can_be_closed_again() -> None:
    case = an_active_case()
    close(case, on=day(40))
    case.reopen(day(60), "New concern")

    case.close(day(70), "moved_away", "Family moved to another municipality")

    assert case.status is CaseStatus.CLOSED
    assert case.closure_reason is ClosureReason.MOVED_AWAY


# --- replay ------------------------------------------------------------------------------


def test_a_case_replays_from_its_events_to_the_same_state() -> None:
    forum_id, meeting_id = uuid4(), uuid4()
    case = a_case(forum_id)
    assess(case, on=day(1))
    case.discuss(forum_id, meeting_id, day(2))
    first = agree(case, on=day(2), meeting_id=meeting_id)
    second = agree(case, on=day(3))
    case.reschedule_action(first, day(50), day(10), "Mentor on leave")
    case.complete_action(first, day(30), "Done")
    case.cancel_action(second, day(31), "Declined")
    case.schedule_review(day(35), day(31))
    case.record_review(day(35), "Fine")
    close(case, on=day(40), review_on=day(200))
    case.reopen(day(60), "New concern")

    copy = replayed(case)

    assert vars(copy) == vars(case)
