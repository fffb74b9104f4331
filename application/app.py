"""The Forebyg application: the model's commands and queries over one event store."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder

from application import presenters
from application.errors import (
    CaseNotFoundError,
    ConflictError,
    ForumNotFoundError,
    NotFoundError,
    StaleVersionError,
    StoreNotReadyError,
)
from application.transcodings import register_domain_transcodings
from domain.case import Case
from domain.errors import InvalidValueError
from domain.forum import Forum
from domain.values import Subject, business_date

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
A = TypeVar("A", bound=Aggregate)


def today_in_denmark() -> date:
    return datetime.now(COPENHAGEN).date()


class Forebyg(Application[UUID]):
    """Collaboration forums and their cases, event-sourced.

    Every command is get → call → save; rules live in the aggregates. Holding a meeting
    saves the forum's ``MeetingHeld`` and every discussed case's ``Discussed`` in one
    transaction. Business dates of things that happened cannot lie in the future.
    """

    name = "Forebyg"
    snapshotting_intervals = {Forum: 50, Case: 50}

    def __init__(
        self, env: dict[str, str] | None = None, clock: Callable[[], date] = today_in_denmark
    ) -> None:
        super().__init__(env)
        self.clock = clock

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)

    def check_ready(self) -> None:
        try:
            self.recorder.max_notification_id()
        except Exception as error:  # the library raises driver-specific errors
            raise StoreNotReadyError(
                f"the event store is not ready ({error}); run `forebyg migrate`"
            ) from error

    # --- helpers ------------------------------------------------------------------

    def _get(self, kind: type[A], aggregate_id: UUID, error: type[NotFoundError]) -> A:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise error(f"{kind.__name__.lower()} {aggregate_id} not found") from None
        if not isinstance(aggregate, kind):
            raise error(f"{kind.__name__.lower()} {aggregate_id} not found")
        return aggregate

    def _case(self, case_id: UUID, expected_version: int | None = None) -> Case:
        case = self._get(Case, case_id, CaseNotFoundError)
        self._check_version(case, expected_version)
        return case

    def _forum(self, forum_id: UUID, expected_version: int | None = None) -> Forum:
        forum = self._get(Forum, forum_id, ForumNotFoundError)
        self._check_version(forum, expected_version)
        return forum

    @staticmethod
    def _check_version(aggregate: Aggregate, expected_version: int | None) -> None:
        if expected_version is not None and aggregate.version != expected_version:
            raise StaleVersionError(aggregate.id, expected_version, aggregate.version)

    def _past(self, value: object, field: str) -> date:
        """A business date of something that has happened: not in the future."""
        checked = business_date(value, field)
        today = self.clock()
        if checked > today:
            raise InvalidValueError(
                field, f"{checked.isoformat()} is in the future (today is {today.isoformat()})"
            )
        return checked

    def _save(self, *aggregates: Aggregate) -> int:
        try:
            self.save(*aggregates)
        except IntegrityError as error:
            raise ConflictError("another change was recorded first; re-read and retry") from error
        return aggregates[0].version

    # --- forum commands ---------------------------------------------------------------

    def establish_forum(
        self,
        *,
        name: object,
        municipality: object,
        housing_areas: object,
        chair_org: object,
        members: Sequence[object] = (),
        established_on: object | None = None,
        forum_id: UUID | None = None,
    ) -> UUID:
        on = self._past(established_on if established_on is not None else self.clock(), "established_on")
        forum = Forum.establish(
            name=name,
            municipality=municipality,
            housing_areas=housing_areas,
            chair_org=chair_org,
            established_on=on,
            forum_id=forum_id,
        )
        for member in members:
            if member != forum.chair_org:
                forum.join(member, on)
        self._save(forum)
        return forum.id

    def add_member(
        self, forum_id: UUID, org: object, joined_on: object = None, expected_version: int | None = None
    ) -> int:
        forum = self._forum(forum_id, expected_version)
        forum.join(org, self._past(joined_on or self.clock(), "joined_on"))
        return self._save(forum)

    def remove_member(
        self, forum_id: UUID, org: object, left_on: object = None, expected_version: int | None = None
    ) -> int:
        forum = self._forum(forum_id, expected_version)
        forum.leave(org, self._past(left_on or self.clock(), "left_on"))
        return self._save(forum)

    def schedule_meeting(
        self,
        forum_id: UUID,
        planned_on: object,
        meeting_id: UUID | None = None,
        expected_version: int | None = None,
    ) -> UUID:
        forum = self._forum(forum_id, expected_version)
        new_id = meeting_id or uuid4()
        forum.schedule_meeting(new_id, planned_on)
        self._save(forum)
        return new_id

    def hold_meeting(
        self,
        forum_id: UUID,
        meeting_id: UUID,
        *,
        held_on: object,
        attendees: object,
        discussed_cases: Sequence[UUID] = (),
        summary: object = "",
        expected_version: int | None = None,
    ) -> int:
        forum = self._forum(forum_id, expected_version)
        on = self._past(held_on, "held_on")
        cases = [self._case(case_id) for case_id in discussed_cases]
        forum.hold_meeting(meeting_id, on, attendees, list(discussed_cases), summary)
        for case in cases:
            case.discuss(forum.id, meeting_id, on)
        return self._save(forum, *cases)

    def cancel_meeting(
        self, forum_id: UUID, meeting_id: UUID, reason: object = "", expected_version: int | None = None
    ) -> int:
        forum = self._forum(forum_id, expected_version)
        forum.cancel_meeting(meeting_id, reason)
        return self._save(forum)

    def record_area_mapping(
        self,
        forum_id: UUID,
        *,
        recorded_on: object,
        housing_area: object,
        resources: object,
        challenges: object,
        expected_version: int | None = None,
    ) -> int:
        forum = self._forum(forum_id, expected_version)
        forum.record_area_mapping(self._past(recorded_on, "recorded_on"), housing_area, resources, challenges)
        return self._save(forum)

    def dissolve_forum(
        self, forum_id: UUID, dissolved_on: object, reason: object, expected_version: int | None = None
    ) -> int:
        forum = self._forum(forum_id, expected_version)
        forum.dissolve(self._past(dissolved_on, "dissolved_on"), reason)
        return self._save(forum)

    # --- case commands ----------------------------------------------------------------

    def refer_case(
        self,
        *,
        forum_id: UUID,
        target_group: object,
        referred_by: object,
        received_on: object,
        legal_basis: object,
        concern: object,
        subject: Subject,
        subject_id: UUID | None = None,
        case_id: UUID | None = None,
    ) -> tuple[UUID, UUID]:
        """Register a concern; answers the new case id and the data subject's id."""
        forum = self._forum(forum_id)
        forum.check_active()
        forum.check_is_member(str(referred_by), "referred_by")
        on = self._past(received_on, "received_on")
        forum.check_date(on, "received_on")
        case = Case.refer(
            forum_id=forum.id,
            target_group=target_group,
            referred_by=referred_by,
            received_on=on,
            legal_basis=legal_basis,
            concern=concern,
            subject_id=subject_id or uuid4(),
            subject=subject,
            case_id=case_id,
        )
        self._save(case)
        return case.id, case.subject_id

    def assess_case(
        self,
        case_id: UUID,
        *,
        assessed_on: object,
        decision: object,
        risk_and_threat: object,
        wellbeing_and_resilience: object,
        judgement: object,
        expected_version: int | None = None,
    ) -> int:
        case = self._case(case_id, expected_version)
        case.assess(
            self._past(assessed_on, "assessed_on"),
            decision,
            risk_and_threat,
            wellbeing_and_resilience,
            judgement,
        )
        return self._save(case)

    def agree_action(
        self,
        case_id: UUID,
        *,
        kind: object,
        description: object,
        responsible_org: object,
        due_on: object,
        meeting_id: UUID | None = None,
        agreed_on: object = None,
        action_id: UUID | None = None,
        expected_version: int | None = None,
    ) -> UUID:
        case = self._case(case_id, expected_version)
        forum = self._forum(case.forum_id)
        if isinstance(responsible_org, str) and responsible_org:
            forum.check_is_member(responsible_org, "responsible_org")
        if meeting_id is not None:
            meeting = forum.check_meeting_held(meeting_id)
            agreed_on = agreed_on or meeting.held_on
        new_id = action_id or uuid4()
        case.agree_action(
            action_id=new_id,
            kind=kind,
            description=description,
            responsible_org=responsible_org,
            due_on=due_on,
            agreed_on=self._past(agreed_on or self.clock(), "agreed_on"),
            meeting_id=meeting_id,
        )
        self._save(case)
        return new_id

    def reschedule_action(
        self,
        case_id: UUID,
        action_id: UUID,
        *,
        due_on: object,
        reason: object,
        rescheduled_on: object = None,
        expected_version: int | None = None,
    ) -> int:
        case = self._case(case_id, expected_version)
        case.reschedule_action(
            action_id, due_on, self._past(rescheduled_on or self.clock(), "rescheduled_on"), reason
        )
        return self._save(case)

    def complete_action(
        self,
        case_id: UUID,
        action_id: UUID,
        *,
        completed_on: object,
        outcome: object,
        expected_version: int | None = None,
    ) -> int:
        case = self._case(case_id, expected_version)
        case.complete_action(action_id, self._past(completed_on, "completed_on"), outcome)
        return self._save(case)

    def cancel_action(
        self,
        case_id: UUID,
        action_id: UUID,
        *,
        cancelled_on: object,
        reason: object,
        expected_version: int | None = None,
    ) -> int:
        case = self._case(case_id, expected_version)
        case.cancel_action(action_id, self._past(cancelled_on, "cancelled_on"), reason)
        return self._save(case)

    def schedule_review(
        self,
        case_id: UUID,
        *,
        review_on: object,
        scheduled_on: object = None,
        expected_version: int | None = None,
    ) -> int:
        case = self._case(case_id, expected_version)
        case.schedule_review(review_on, self._past(scheduled_on or self.clock(), "scheduled_on"))
        return self._save(case)

    def record_review(
        self, case_id: UUID, *, reviewed_on: object, notes: object, expected_version: int | None = None
    ) -> int:
        case = self._case(case_id, expected_version)
        case.record_review(self._past(reviewed_on, "reviewed_on"), notes)
        return self._save(case)

    def close_case(
        self,
        case_id: UUID,
        *,
        closed_on: object,
        reason: object,
        summary: object,
        post_closure_review_on: object = None,
        expected_version: int | None = None,
    ) -> int:
        case = self._case(case_id, expected_version)
        case.close(self._past(closed_on, "closed_on"), reason, summary, post_closure_review_on)
        return self._save(case)

    def reopen_case(
        self, case_id: UUID, *, reopened_on: object, reason: object, expected_version: int | None = None
    ) -> int:
        case = self._case(case_id, expected_version)
        case.reopen(self._past(reopened_on, "reopened_on"), reason)
        return self._save(case)

    # --- queries --------------------------------------------------------------------

    def get_case(self, case_id: UUID, *, include_personal: bool = False) -> dict[str, Any]:
        return presenters.case_view(self._case(case_id), include_personal=include_personal)

    def get_forum(self, forum_id: UUID) -> dict[str, Any]:
        return presenters.forum_view(self._forum(forum_id))

    def get_case_history(
        self,
        case_id: UUID,
        *,
        as_of: datetime | None = None,
        include_personal: bool = False,
    ) -> list[dict[str, Any]]:
        """The case's events in order, with business dates and recorded instants;
        with ``as_of``, only what had been recorded by that instant."""
        self._case(case_id)
        entries = []
        for event in self.events.get(case_id):
            if as_of is not None and event.timestamp > as_of:  # type: ignore[attr-defined]
                break
            entries.append(presenters.history_entry(event, include_personal=include_personal))
        return entries

    def get_case_as_of(
        self, case_id: UUID, as_of: datetime, *, include_personal: bool = False
    ) -> dict[str, Any] | None:
        """The case as the forum knew it at an instant; None if not yet referred then."""
        self._case(case_id)
        case: Case | None = None
        for event in self.events.get(case_id):
            if event.timestamp > as_of:  # type: ignore[attr-defined]
                break
            case = event.mutate(case)  # type: ignore[attr-defined]
        if case is None:
            return None
        return presenters.case_view(case, include_personal=include_personal)
