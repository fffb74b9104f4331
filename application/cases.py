"""Case commands: referral, assessment, actions, reviews, closure and reopening."""

from __future__ import annotations

from uuid import UUID, uuid4

from application import access
from application.accounts import Caller
from application.base import ForebygBase
from application.errors import PermissionDeniedError
from application.receipts import Idempotency, Recorded
from domain.case import Case
from domain.forum import Forum
from domain.values import Role, Subject

COORDINATOR = Role.COORDINATOR


class CaseCommands(ForebygBase):
    def _case_in_forum(
        self, case_id: UUID, expected_version: int | None, caller: Caller | None, *roles: Role
    ) -> tuple[Case, Forum]:
        case = self._case(case_id)
        forum = self._forum(case.forum_id)
        access.check_case(caller, case, forum, *roles)
        forum.check_active()  # a dissolved forum takes no more work
        self._check_version(case, expected_version)
        return case, forum

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
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        """Register a concern about one person with the forum; answers the new case and the
        data subject's id."""
        forum = self._forum(forum_id)
        access.check_forum(caller, forum, COORDINATOR)
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
        self.keystore.register(case.id, case.subject_id)
        return self._save(case, idempotency=idempotency, subject_id=case.subject_id)

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
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        case, _ = self._case_in_forum(case_id, expected_version, caller, COORDINATOR)
        case.assess(
            self._past(assessed_on, "assessed_on"),
            decision,
            risk_and_threat,
            wellbeing_and_resilience,
            judgement,
        )
        return self._save(case, idempotency=idempotency)

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
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        """Agree an action with one responsible member organisation and a due date; agreed at a
        meeting it dates from that meeting, otherwise from today."""
        case, forum = self._case_in_forum(case_id, expected_version, caller, COORDINATOR)
        if isinstance(responsible_org, str) and responsible_org:
            forum.check_is_member(responsible_org, "responsible_org")
        if meeting_id is not None:
            meeting = forum.check_meeting_held(meeting_id)
            agreed_on = meeting.held_on if agreed_on is None else agreed_on
        new_id = action_id or uuid4()
        case.agree_action(
            action_id=new_id,
            kind=kind,
            description=description,
            responsible_org=responsible_org,
            due_on=due_on,
            agreed_on=self._happened_on(agreed_on, "agreed_on"),
            meeting_id=meeting_id,
        )
        return self._save(case, idempotency=idempotency, action_id=new_id)

    def reschedule_action(
        self,
        case_id: UUID,
        action_id: UUID,
        *,
        due_on: object,
        reason: object,
        rescheduled_on: object = None,
        expected_version: int | None = None,
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        case, _ = self._case_in_forum(case_id, expected_version, caller, COORDINATOR)
        case.reschedule_action(action_id, due_on, self._happened_on(rescheduled_on, "rescheduled_on"), reason)
        return self._save(case, idempotency=idempotency, action_id=action_id)

    def complete_action(
        self,
        case_id: UUID,
        action_id: UUID,
        *,
        completed_on: object,
        outcome: object,
        expected_version: int | None = None,
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        """Complete an action: a coordinator any, a member only its own organisation's."""
        case, _ = self._case_in_forum(case_id, expected_version, caller, COORDINATOR, Role.MEMBER)
        if (
            caller is not None
            and caller.role is Role.MEMBER
            and case.action(action_id).responsible_org != caller.org
        ):
            raise PermissionDeniedError("a member completes only actions its organisation owns")
        case.complete_action(action_id, self._past(completed_on, "completed_on"), outcome)
        return self._save(case, idempotency=idempotency, action_id=action_id)

    def cancel_action(
        self,
        case_id: UUID,
        action_id: UUID,
        *,
        cancelled_on: object,
        reason: object,
        expected_version: int | None = None,
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        case, _ = self._case_in_forum(case_id, expected_version, caller, COORDINATOR)
        case.cancel_action(action_id, self._past(cancelled_on, "cancelled_on"), reason)
        return self._save(case, idempotency=idempotency, action_id=action_id)

    def schedule_review(
        self,
        case_id: UUID,
        *,
        review_on: object,
        scheduled_on: object = None,
        expected_version: int | None = None,
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        case, _ = self._case_in_forum(case_id, expected_version, caller, COORDINATOR)
        case.schedule_review(review_on, self._happened_on(scheduled_on, "scheduled_on"))
        return self._save(case, idempotency=idempotency)

    def record_review(
        self,
        case_id: UUID,
        *,
        reviewed_on: object,
        notes: object,
        expected_version: int | None = None,
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        case, _ = self._case_in_forum(case_id, expected_version, caller, COORDINATOR)
        case.record_review(self._past(reviewed_on, "reviewed_on"), notes)
        return self._save(case, idempotency=idempotency)

    def close_case(
        self,
        case_id: UUID,
        *,
        closed_on: object,
        reason: object,
        summary: object,
        post_closure_review_on: object = None,
        expected_version: int | None = None,
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        case, _ = self._case_in_forum(case_id, expected_version, caller, COORDINATOR)
        case.close(self._past(closed_on, "closed_on"), reason, summary, post_closure_review_on)
        return self._save(case, idempotency=idempotency)

    def reopen_case(
        self,
        case_id: UUID,
        *,
        reopened_on: object,
        reason: object,
        expected_version: int | None = None,
        caller: Caller | None = None,
        idempotency: Idempotency | None = None,
    ) -> Recorded:
        case, _ = self._case_in_forum(case_id, expected_version, caller, COORDINATOR)
        case.reopen(self._past(reopened_on, "reopened_on"), reason)
        return self._save(case, idempotency=idempotency)
