"""Replay equals live state, for any sequence of commands the model accepts or refuses.

Hypothesis drives the application (in-memory persistence) with random commands on a few
forums and cases, dates drawn near each case's own history so that most commands are
accepted and some are refused. After every step each aggregate rebuilt from its stored
events — directly, through the repository (snapshot plus later events), and from a fresh
snapshot — equals the aggregate as the command left it, and no rule of the model is broken.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
)

from application.app import Forebyg
from application.readmodels.records import CaseRecord
from domain.case import Case
from domain.errors import DomainError
from domain.forum import Forum
from domain.values import (
    SLUG,
    Action,
    ActionKind,
    ActionStatus,
    CaseStatus,
    ClosureReason,
    Decision,
    LegalBasis,
    Meeting,
    MeetingStatus,
    Subject,
    TargetGroup,
)
from tests.conftest import TODAY
from tests.library.test_case_records import record_from_log

T = TypeVar("T")

ESTABLISHED = TODAY - timedelta(days=180)
CHAIR = "aarhus-kommune"
ORGS = [CHAIR, "oestjyllands-politi", "aarhus-boligsocial", "klub-gellerup"]

# Status changes the model allows; staying put is always allowed.
LEGAL_TRANSITIONS = {
    (CaseStatus.AWAITING_ASSESSMENT, CaseStatus.ACTIVE),
    (CaseStatus.AWAITING_ASSESSMENT, CaseStatus.REDIRECTED),
    (CaseStatus.AWAITING_ASSESSMENT, CaseStatus.NO_FURTHER_ACTION),
    (CaseStatus.AWAITING_ASSESSMENT, CaseStatus.CLOSED),
    (CaseStatus.ACTIVE, CaseStatus.REDIRECTED),
    (CaseStatus.ACTIVE, CaseStatus.NO_FURTHER_ACTION),
    (CaseStatus.ACTIVE, CaseStatus.CLOSED),
    (CaseStatus.REDIRECTED, CaseStatus.AWAITING_ASSESSMENT),
    (CaseStatus.REDIRECTED, CaseStatus.CLOSED),
    (CaseStatus.NO_FURTHER_ACTION, CaseStatus.AWAITING_ASSESSMENT),
    (CaseStatus.NO_FURTHER_ACTION, CaseStatus.CLOSED),
    (CaseStatus.CLOSED, CaseStatus.AWAITING_ASSESSMENT),
}

deltas = st.integers(min_value=-3, max_value=25)
orgs = st.sampled_from(ORGS)


class RecordingForebyg(Forebyg):
    """Forebyg that also keeps a copy of each aggregate as a command saved it: the live state."""

    def __init__(self) -> None:
        super().__init__(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: TODAY)
        self.live: dict[UUID, Aggregate] = {}

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        recordings = super().save(*objs, **kwargs)
        for obj in objs:
            if isinstance(obj, Aggregate):
                self.live[obj.id] = copy.deepcopy(obj)
        return recordings


def replay(app: Forebyg, aggregate_id: UUID) -> Aggregate:
    rebuilt: Aggregate | None = None
    for event in app.events.get(aggregate_id):
        rebuilt = event.mutate(rebuilt)  # type: ignore[attr-defined]
    assert rebuilt is not None
    return rebuilt


def business_dates(case: Case) -> list[date]:
    dates = [
        case.received_on,
        case.last_event_on,
        *case.discussed_on,
        *case.reviews,
        *case.reopened_on,
        *(
            d
            for d in (case.assessed_on, case.next_review_on, case.closed_on, case.post_closure_review_on)
            if d
        ),
    ]
    for action in case.actions.values():
        dates += [action.agreed_on, action.due_on]
        dates += [d for d in (action.completed_on, action.cancelled_on, action.last_event_on) if d]
    return dates


class ForebygMachine(RuleBasedStateMachine):
    forums = Bundle("forums")
    meetings = Bundle("meetings")
    cases = Bundle("cases")
    actions = Bundle("actions")

    def __init__(self) -> None:
        super().__init__()
        self.app = RecordingForebyg()
        self.statuses: dict[UUID, CaseStatus] = {}
        self.finished_actions: dict[UUID, Action] = {}
        self.finished_meetings: dict[UUID, Meeting] = {}
        self.snapshotted: dict[UUID, int] = {}

    def teardown(self) -> None:
        self.app.close()

    # --- helpers --------------------------------------------------------------------

    def attempt(self, command: Callable[[], T]) -> T | None:
        """Run a command; a refused one (domain error) must have recorded nothing."""
        before = self.app.recorder.max_notification_id()
        live_before = dict(self.app.live)
        try:
            return command()
        except DomainError:
            assert self.app.recorder.max_notification_id() == before, "a refused command recorded events"
            assert self.app.live == live_before, "a refused command saved an aggregate"
            return None

    def case(self, case_id: UUID) -> Case:
        case = self.app.live[case_id]
        assert isinstance(case, Case)
        return case

    def forum(self, forum_id: UUID) -> Forum:
        forum = self.app.live[forum_id]
        assert isinstance(forum, Forum)
        return forum

    def active_cases(self) -> list[Case]:
        return [c for c in self.app.live.values() if isinstance(c, Case) and c.status is CaseStatus.ACTIVE]

    def scheduled_meetings(self) -> list[tuple[Forum, Meeting]]:
        return [
            (forum, meeting)
            for forum in self.app.live.values()
            if isinstance(forum, Forum)
            for meeting in forum.meetings.values()
            if meeting.status is MeetingStatus.SCHEDULED
        ]

    def near_case(self, case_id: UUID, delta: int) -> date:
        """A date near the case's latest business date (never in the future: refer_case tries those)."""
        return min(self.case(case_id).last_event_on + timedelta(days=delta), TODAY)

    # --- forums ---------------------------------------------------------------------

    @precondition(lambda self: len([a for a in self.app.live.values() if isinstance(a, Forum)]) < 3)
    @rule(target=forums, members=st.lists(orgs, unique=True, min_size=2, max_size=4))
    def establish_forum(self, members: list[str]) -> UUID:
        return self.app.establish_forum(
            name="Samarbejdsforum",
            municipality="Aarhus",
            housing_areas=["Gellerupparken"],
            chair_org=CHAIR,
            members=members,
            established_on=ESTABLISHED,
        ).id

    @rule(forum_id=forums, org=orgs, delta=st.integers(-1, 180))
    def add_member(self, forum_id: UUID, org: str, delta: int) -> None:
        self.attempt(lambda: self.app.add_member(forum_id, org, ESTABLISHED + timedelta(days=delta)))

    @rule(forum_id=forums, org=orgs, delta=st.integers(-1, 180))
    def remove_member(self, forum_id: UUID, org: str, delta: int) -> None:
        self.attempt(lambda: self.app.remove_member(forum_id, org, ESTABLISHED + timedelta(days=delta)))

    @rule(target=meetings, forum_id=forums, delta=st.integers(-1, 200))
    def schedule_meeting(self, forum_id: UUID, delta: int) -> tuple[UUID, UUID] | MultipleResults[Any]:
        planned_on = ESTABLISHED + timedelta(days=delta)
        scheduled = self.attempt(lambda: self.app.schedule_meeting(forum_id, planned_on))
        return (
            multiple()
            if scheduled is None or scheduled.meeting_id is None
            else (forum_id, scheduled.meeting_id)
        )

    @rule(
        meeting=meetings,
        delta=st.integers(-1, 182),
        attendees=st.lists(orgs, min_size=1, max_size=3),
        discussed=st.lists(cases, max_size=3, unique=True),
    )
    def hold_meeting(
        self, meeting: tuple[UUID, UUID], delta: int, attendees: list[str], discussed: list[UUID]
    ) -> None:
        forum_id, meeting_id = meeting
        held_on = ESTABLISHED + timedelta(days=delta)
        self.attempt(
            lambda: self.app.hold_meeting(
                forum_id,
                meeting_id,
                held_on=held_on,
                attendees=attendees,
                discussed_cases=discussed,
                summary="Cases reviewed",
            )
        )

    @precondition(lambda self: self.scheduled_meetings())
    @rule(
        pick=st.integers(0, 1000),
        delta=st.integers(-1, 182),
        others=st.lists(orgs, max_size=2, unique=True),
        discuss=st.lists(st.integers(0, 1000), max_size=3, unique=True),
    )
    def hold_a_scheduled_meeting(self, pick: int, delta: int, others: list[str], discuss: list[int]) -> None:
        """Mostly accepted: the chair attends, and the forum's own open cases are discussed."""
        scheduled = self.scheduled_meetings()
        forum, meeting = scheduled[pick % len(scheduled)]
        own = [c.id for c in self.app.live.values() if isinstance(c, Case) and c.forum_id == forum.id]
        discussed = list(dict.fromkeys(own[i % len(own)] for i in discuss)) if own else []
        attendees = [CHAIR, *(org for org in others if org != CHAIR)]
        self.attempt(
            lambda: self.app.hold_meeting(
                forum.id,
                meeting.meeting_id,
                held_on=ESTABLISHED + timedelta(days=delta),
                attendees=attendees,
                discussed_cases=discussed,
                summary="",
            )
        )

    @rule(meeting=meetings)
    def cancel_meeting(self, meeting: tuple[UUID, UUID]) -> None:
        self.attempt(lambda: self.app.cancel_meeting(*meeting, reason="Too few could come"))

    # --- cases ----------------------------------------------------------------------

    @rule(
        target=cases,
        forum_id=forums,
        referred_by=orgs,
        delta=st.integers(-2, 101).map(lambda d: 181 if d == 101 else d),  # now and then the future
        target_group=st.sampled_from(TargetGroup.words()),
        legal_basis=st.sampled_from([*LegalBasis.words(), "a hunch"]),
    )
    def refer_case(
        self, forum_id: UUID, referred_by: str, delta: int, target_group: str, legal_basis: str
    ) -> UUID | MultipleResults[Any]:
        referred = self.attempt(
            lambda: self.app.refer_case(
                forum_id=forum_id,
                target_group=target_group,
                referred_by=referred_by,
                received_on=ESTABLISHED + timedelta(days=delta),
                legal_basis=legal_basis,
                concern="Talks of 'real fighters'; stopped coming to training.",
                subject=Subject(name="Ali Testesen", birth_year=2009),
            )
        )
        return multiple() if referred is None else referred.id

    @rule(
        case_id=cases,
        delta=deltas,
        decision=st.sampled_from([*Decision.words(), "accept", "accept", "maybe"]),
    )
    def assess_case(self, case_id: UUID, delta: int, decision: str) -> None:
        on = self.near_case(case_id, delta)
        self.attempt(
            lambda: self.app.assess_case(
                case_id,
                assessed_on=on,
                decision=decision,
                risk_and_threat="Moderate",
                wellbeing_and_resilience="Supportive mother",
                judgement="Offer a mentor",
            )
        )

    @rule(
        target=actions,
        case_id=cases,
        kind=st.sampled_from(ActionKind.words()),
        owner=st.sampled_from([*ORGS, "", None]),
        delta=deltas,
        due_in=st.none() | st.integers(-2, 60),
        meeting=st.none() | meetings,
    )
    def agree_action(
        self,
        case_id: UUID,
        kind: str,
        owner: str | None,
        delta: int,
        due_in: int | None,
        meeting: tuple[UUID, UUID] | None,
    ) -> tuple[UUID, UUID] | MultipleResults[Any]:
        agreed_on = self.near_case(case_id, delta)
        due_on = None if due_in is None else agreed_on + timedelta(days=due_in)
        agreed = self.attempt(
            lambda: self.app.agree_action(
                case_id,
                kind=kind,
                description="Weekly mentor meetings",
                responsible_org=owner,
                due_on=due_on,
                meeting_id=None if meeting is None else meeting[1],
                agreed_on=None if meeting is not None and delta % 2 else agreed_on,
            )
        )
        return multiple() if agreed is None or agreed.action_id is None else (case_id, agreed.action_id)

    @precondition(lambda self: self.active_cases())
    @rule(
        target=actions,
        pick=st.integers(0, 1000),
        kind=st.sampled_from(ActionKind.words()),
        owner=orgs,
        delta=deltas,
        due_in=st.integers(0, 60),
        at_meeting=st.booleans(),
    )
    def agree_action_on_an_active_case(
        self, pick: int, kind: str, owner: str, delta: int, due_in: int, at_meeting: bool
    ) -> tuple[UUID, UUID] | MultipleResults[Any]:
        """Mostly accepted: an active case, a member as owner, the meeting where it was discussed."""
        active = self.active_cases()
        case = active[pick % len(active)]
        meeting_id = case.discussed_at[-1] if at_meeting and case.discussed_at else None
        agreed_on = self.near_case(case.id, delta)
        agreed = self.attempt(
            lambda: self.app.agree_action(
                case.id,
                kind=kind,
                description="Family dialogue meeting with parents",
                responsible_org=owner,
                due_on=agreed_on + timedelta(days=due_in),
                meeting_id=meeting_id,
                agreed_on=agreed_on,
            )
        )
        return multiple() if agreed is None or agreed.action_id is None else (case.id, agreed.action_id)

    @rule(action=actions, delta=deltas, due_in=st.integers(-2, 60))
    def reschedule_action(self, action: tuple[UUID, UUID], delta: int, due_in: int) -> None:
        case_id, action_id = action
        on = self.near_case(case_id, delta)
        self.attempt(
            lambda: self.app.reschedule_action(
                case_id,
                action_id,
                due_on=on + timedelta(days=due_in),
                reason="Mentor on leave",
                rescheduled_on=on,
            )
        )

    @rule(action=actions, delta=deltas)
    def complete_action(self, action: tuple[UUID, UUID], delta: int) -> None:
        case_id, action_id = action
        on = self.near_case(case_id, delta)
        self.attempt(lambda: self.app.complete_action(case_id, action_id, completed_on=on, outcome="Done"))

    @rule(action=actions, delta=deltas)
    def cancel_action(self, action: tuple[UUID, UUID], delta: int) -> None:
        case_id, action_id = action
        on = self.near_case(case_id, delta)
        self.attempt(lambda: self.app.cancel_action(case_id, action_id, cancelled_on=on, reason="Declined"))

    @rule(case_id=cases, delta=deltas, review_in=st.integers(-2, 90))
    def schedule_review(self, case_id: UUID, delta: int, review_in: int) -> None:
        on = self.near_case(case_id, delta)
        self.attempt(
            lambda: self.app.schedule_review(
                case_id, review_on=on + timedelta(days=review_in), scheduled_on=on
            )
        )

    @rule(case_id=cases, delta=deltas)
    def record_review(self, case_id: UUID, delta: int) -> None:
        on = self.near_case(case_id, delta)
        self.attempt(lambda: self.app.record_review(case_id, reviewed_on=on, notes="Going well"))

    @rule(
        case_id=cases,
        delta=deltas,
        reason=st.sampled_from(ClosureReason.words()),
        review_in=st.none() | st.integers(-1, 200),
    )
    def close_case(self, case_id: UUID, delta: int, reason: str, review_in: int | None) -> None:
        on = self.near_case(case_id, delta)
        review_on = None if review_in is None else on + timedelta(days=review_in)
        self.attempt(
            lambda: self.app.close_case(
                case_id,
                closed_on=on,
                reason=reason,
                summary="Back at school",
                post_closure_review_on=review_on,
            )
        )

    @rule(case_id=cases, delta=deltas)
    def reopen_case(self, case_id: UUID, delta: int) -> None:
        on = self.near_case(case_id, delta)
        self.attempt(lambda: self.app.reopen_case(case_id, reopened_on=on, reason="New concern"))

    # --- snapshots --------------------------------------------------------------------

    @rule(aggregate_id=cases | forums)
    def take_snapshot(self, aggregate_id: UUID) -> None:
        live = self.app.live[aggregate_id]
        if self.snapshotted.get(aggregate_id) != live.version:  # one snapshot per version
            self.app.take_snapshot(aggregate_id)
        assert self.app.snapshots is not None
        snapshot = next(iter(self.app.snapshots.get(aggregate_id, desc=True, limit=1)))
        from_snapshot = snapshot.mutate(None)  # type: ignore[attr-defined]
        assert vars(from_snapshot) == vars(live)
        self.snapshotted[aggregate_id] = live.version

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def replay_equals_live_state(self) -> None:
        for aggregate_id, live in self.app.live.items():
            assert vars(replay(self.app, aggregate_id)) == vars(live)
            assert vars(self.app.repository.get(aggregate_id)) == vars(live)

    @invariant()
    def the_read_sides_record_of_a_case_holds_the_live_cases_facts(self) -> None:
        for aggregate_id, live in self.app.live.items():
            if isinstance(live, Case):
                assert record_from_log(self.app, aggregate_id).facts() == CaseRecord.of(live).facts()

    @invariant()
    def every_action_has_an_owner_and_a_due_date(self) -> None:
        for case in self.app.live.values():
            if isinstance(case, Case):
                for action in case.actions.values():
                    assert SLUG.match(action.responsible_org)
                    assert isinstance(action.due_on, date)
                    assert action.due_on >= action.agreed_on

    @invariant()
    def completed_and_cancelled_actions_never_change(self) -> None:
        for case in self.app.live.values():
            if isinstance(case, Case):
                for action in case.actions.values():
                    if action.status is ActionStatus.OPEN:
                        continue
                    first = self.finished_actions.setdefault(action.action_id, action)
                    assert action == first

    @invariant()
    def case_status_changes_only_as_the_model_allows(self) -> None:
        for case in self.app.live.values():
            if isinstance(case, Case):
                before = self.statuses.get(case.id, CaseStatus.AWAITING_ASSESSMENT)
                assert before == case.status or (before, case.status) in LEGAL_TRANSITIONS
                self.statuses[case.id] = case.status

    @invariant()
    def only_an_active_case_has_open_actions(self) -> None:
        for case in self.app.live.values():
            if isinstance(case, Case) and case.open_actions:
                assert case.status is CaseStatus.ACTIVE

    @invariant()
    def no_business_date_precedes_the_referral(self) -> None:
        for case in self.app.live.values():
            if isinstance(case, Case):
                assert min(business_dates(case)) == case.received_on

    @invariant()
    def a_case_is_discussed_only_at_held_meetings_of_its_own_forum(self) -> None:
        for case in self.app.live.values():
            if isinstance(case, Case):
                forum = self.forum(case.forum_id)
                for meeting_id in case.discussed_at:
                    meeting = forum.meeting(meeting_id)
                    assert meeting.status is MeetingStatus.HELD
                    assert case.id in meeting.discussed_cases

    @invariant()
    def a_forum_keeps_its_chair_and_holds_each_meeting_once(self) -> None:
        for forum in self.app.live.values():
            if isinstance(forum, Forum):
                assert forum.chair_org in forum.members
                assert len(set(forum.members)) == len(forum.members)
                for meeting in forum.meetings.values():
                    if meeting.status is not MeetingStatus.SCHEDULED:
                        first = self.finished_meetings.setdefault(meeting.meeting_id, meeting)
                        assert meeting == first


ForebygMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestReplayEqualsLiveState = ForebygMachine.TestCase
