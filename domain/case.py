"""The Case aggregate: one concern about one person, owned by one forum."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import (
    ActionAlreadyCompletedError,
    ActionCancelledError,
    ActionNotFoundError,
    ActionsNotAllowedError,
    AssessmentNotAllowedError,
    CaseClosedError,
    CaseNotClosedError,
    InvalidValueError,
    NoReviewDueError,
    OpenActionsError,
    PersonalDataErasedError,
    WrongForumError,
)
from domain.reminded import Reminded
from domain.values import (
    ERASED,
    Action,
    ActionKind,
    ActionStatus,
    CaseStatus,
    ClosureReason,
    Decision,
    LegalBasis,
    Subject,
    TargetGroup,
    business_date,
    non_personal_text,
    not_before,
    org_slug,
    text,
)

# Event fields holding personal data (GDPR art. 9/10). Everything else in a case's
# history — dates, categories, organisations, ids — is workflow data that evaluation
# may read. Per-subject encryption and erasure key off this declaration.
PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    "Referred": frozenset({"subject", "concern"}),
    "Assessed": frozenset({"risk_and_threat", "wellbeing_and_resilience", "judgement"}),
    "ActionAgreed": frozenset({"description"}),
    "ActionRescheduled": frozenset({"reason"}),
    "ActionCompleted": frozenset({"outcome"}),
    "ActionCancelled": frozenset({"reason"}),
    "Reviewed": frozenset({"notes"}),
    "Closed": frozenset({"summary"}),
    "Reopened": frozenset({"reason"}),
}

OPEN_STATUSES = (CaseStatus.AWAITING_ASSESSMENT, CaseStatus.ACTIVE)
# What an assessment's decision makes of the case.
STATUS_AFTER_ASSESSMENT = {
    Decision.ACCEPT: CaseStatus.ACTIVE,
    Decision.REDIRECT: CaseStatus.REDIRECTED,
    Decision.NO_FURTHER_ACTION: CaseStatus.NO_FURTHER_ACTION,
}


class Case(Reminded, Aggregate):
    """A concern (bekymringshenvendelse) about one person, handled by one forum.

    Invariants: no action without a responsible organisation and a due date; no action on
    a closed case, nor on one assessed as redirect or no-further-action until it is
    reopened; an action is completed or cancelled at most once; a case is discussed only
    at a meeting of its own forum; no business date precedes the referral; a case closes
    only when no action is left open.
    """

    @classmethod
    def refer(
        cls,
        *,
        forum_id: UUID,
        target_group: object,
        referred_by: object,
        received_on: object,
        legal_basis: object,
        concern: object,
        subject_id: UUID,
        subject: Subject,
        case_id: UUID | None = None,
    ) -> Case:
        return cls._create(
            cls.Referred,  # type: ignore[attr-defined]
            id=case_id,
            forum_id=forum_id,
            target_group=TargetGroup.parse(target_group),
            referred_by=org_slug(referred_by, "referred_by"),
            received_on=business_date(received_on, "received_on"),
            legal_basis=LegalBasis.parse(legal_basis),
            concern=text(concern, "concern"),
            subject_id=subject_id,
            subject=subject,
        )

    @event("Referred")
    def __init__(
        self,
        forum_id: UUID,
        target_group: TargetGroup,
        referred_by: str,
        received_on: date,
        legal_basis: LegalBasis,
        concern: str,
        subject_id: UUID,
        subject: Subject,
    ) -> None:
        self.forum_id = forum_id
        self.target_group = target_group
        self.referred_by = referred_by
        self.received_on = received_on
        self.legal_basis = legal_basis
        self.concern = concern
        self.subject_id = subject_id
        self.subject = subject
        self.status = CaseStatus.AWAITING_ASSESSMENT
        self.decision: Decision | None = None
        self.assessed_on: date | None = None
        self.assessment: dict[str, str] = {}
        self.discussed_at: list[UUID] = []
        self.discussed_on: list[date] = []
        self.actions: dict[str, Action] = {}
        self.next_review_on: date | None = None
        self.review_scheduled_on: date | None = None
        self.reviews: list[date] = []
        self.closed_on: date | None = None
        self.closure_reason: ClosureReason | None = None
        self.closure_summary = ""
        self.post_closure_review_on: date | None = None
        self.reopened_on: list[date] = []
        self.last_event_on = received_on
        self.reminders_sent: list[str] = []
        self.erased_on: date | None = None

    # --- guards -------------------------------------------------------------------

    def check_not_closed(self) -> None:
        if self.status is CaseStatus.CLOSED:
            raise CaseClosedError(f"case {self.id} was closed on {self.closed_on}; reopen it first")

    def check_not_erased(self) -> None:
        if self.erased_on is not None:
            raise PersonalDataErasedError(
                f"the personal data of case {self.id} was erased on {self.erased_on}; "
                "nothing more that would hold personal data can be recorded on it"
            )

    def check_date(self, on: object, field: str) -> date:
        checked = business_date(on, field)
        not_before(checked, self.received_on, field, "the referral")
        return checked

    def check_own_forum(self, forum_id: UUID) -> None:
        if forum_id != self.forum_id:
            raise WrongForumError(f"case {self.id} belongs to another forum")

    def action(self, action_id: UUID) -> Action:
        try:
            return self.actions[str(action_id)]
        except KeyError:
            raise ActionNotFoundError(f"action {action_id} is not an action of case {self.id}") from None

    def check_action_open(self, action_id: UUID) -> Action:
        found = self.action(action_id)
        if found.status is ActionStatus.COMPLETED:
            raise ActionAlreadyCompletedError(f"action {action_id} was completed on {found.completed_on}")
        if found.status is ActionStatus.CANCELLED:
            raise ActionCancelledError(f"action {action_id} was cancelled on {found.cancelled_on}")
        return found

    @property
    def open_actions(self) -> list[Action]:
        return [a for a in self.actions.values() if a.status is ActionStatus.OPEN]

    # --- assessment and discussion ------------------------------------------------------

    def assess(
        self,
        assessed_on: object,
        decision: object,
        risk_and_threat: object,
        wellbeing_and_resilience: object,
        judgement: object,
    ) -> None:
        self.check_not_erased()
        self.check_not_closed()
        if self.status not in OPEN_STATUSES:
            raise AssessmentNotAllowedError(
                f"case {self.id} is {self.status.value}; reopen it before assessing again"
            )
        assessed_on = self.check_date(assessed_on, "assessed_on")
        if self.assessed_on is not None:
            not_before(assessed_on, self.assessed_on, "assessed_on", "the previous assessment")
        if self.reopened_on:
            not_before(assessed_on, self.reopened_on[-1], "assessed_on", "the reopening")
        chosen = Decision.parse(decision)
        if chosen is not Decision.ACCEPT and self.open_actions:
            raise OpenActionsError(
                f"case {self.id} has {len(self.open_actions)} open action(s); "
                "complete or cancel them before redirecting"
            )
        self._assessed(
            assessed_on=assessed_on,
            decision=chosen,
            risk_and_threat=text(risk_and_threat, "risk_and_threat"),
            wellbeing_and_resilience=text(wellbeing_and_resilience, "wellbeing_and_resilience"),
            judgement=text(judgement, "judgement"),
        )

    @event("Assessed")
    def _assessed(
        self,
        assessed_on: date,
        decision: Decision,
        risk_and_threat: str,
        wellbeing_and_resilience: str,
        judgement: str,
    ) -> None:
        self.assessed_on = assessed_on
        self.decision = decision
        self.assessment = {
            "risk_and_threat": risk_and_threat,
            "wellbeing_and_resilience": wellbeing_and_resilience,
            "judgement": judgement,
        }
        self.status = STATUS_AFTER_ASSESSMENT[decision]
        self.last_event_on = max(self.last_event_on, assessed_on)

    def discuss(self, forum_id: UUID, meeting_id: UUID, discussed_on: object) -> None:
        self.check_own_forum(forum_id)
        self.check_not_closed()
        discussed_on = self.check_date(discussed_on, "held_on")
        if meeting_id in self.discussed_at:
            raise InvalidValueError(
                "discussed_cases", f"case {self.id} was already discussed at this meeting"
            )
        self._discussed(meeting_id=meeting_id, discussed_on=discussed_on)

    @event("Discussed")
    def _discussed(self, meeting_id: UUID, discussed_on: date) -> None:
        self.discussed_at.append(meeting_id)
        self.discussed_on.append(discussed_on)
        self.last_event_on = max(self.last_event_on, discussed_on)

    # --- actions -------------------------------------------------------------------

    def agree_action(
        self,
        *,
        action_id: UUID,
        kind: object,
        description: object,
        responsible_org: object,
        due_on: object,
        agreed_on: object,
        meeting_id: UUID | None = None,
    ) -> None:
        self.check_not_erased()
        self.check_not_closed()
        if self.status is not CaseStatus.ACTIVE:
            raise ActionsNotAllowedError(
                f"case {self.id} is {self.status.value}: actions are agreed only on an accepted case"
            )
        if responsible_org is None or responsible_org == "":
            raise InvalidValueError("responsible_org", "every action needs one responsible organisation")
        owner = org_slug(responsible_org, "responsible_org")
        if due_on is None:
            raise InvalidValueError("due_on", "every action needs a due date")
        agreed_on = self.check_date(agreed_on, "agreed_on")
        due_on = self.check_date(due_on, "due_on")
        not_before(due_on, agreed_on, "due_on", "the day the action was agreed")
        if meeting_id is not None:
            if meeting_id not in self.discussed_at:
                raise WrongForumError(f"case {self.id} was not discussed at meeting {meeting_id}")
            discussed = self.discussed_on[self.discussed_at.index(meeting_id)]
            not_before(agreed_on, discussed, "agreed_on", "the meeting that agreed it")
        if str(action_id) in self.actions:
            raise InvalidValueError("action_id", "an action with this id already exists")
        self._action_agreed(
            action_id=action_id,
            kind=ActionKind.parse(kind, "kind"),
            description=text(description, "description", limit=4000),
            responsible_org=owner,
            due_on=due_on,
            agreed_on=agreed_on,
            meeting_id=meeting_id,
        )

    @event("ActionAgreed")
    def _action_agreed(
        self,
        action_id: UUID,
        kind: ActionKind,
        description: str,
        responsible_org: str,
        due_on: date,
        agreed_on: date,
        meeting_id: UUID | None,
    ) -> None:
        self.actions[str(action_id)] = Action(
            action_id=action_id,
            kind=kind,
            description=description,
            responsible_org=responsible_org,
            due_on=due_on,
            agreed_on=agreed_on,
            meeting_id=meeting_id,
            last_event_on=agreed_on,
        )
        self.last_event_on = max(self.last_event_on, agreed_on)

    def reschedule_action(
        self, action_id: UUID, due_on: object, rescheduled_on: object, reason: object
    ) -> None:
        self.check_not_erased()
        self.check_not_closed()
        found = self.check_action_open(action_id)
        rescheduled_on = self.check_date(rescheduled_on, "rescheduled_on")
        not_before(rescheduled_on, found.agreed_on, "rescheduled_on", "the day the action was agreed")
        if due_on is None:
            raise InvalidValueError("due_on", "every action needs a due date")
        due_on = self.check_date(due_on, "due_on")
        not_before(due_on, rescheduled_on, "due_on", "the day it was rescheduled")
        self._action_rescheduled(
            action_id=action_id,
            due_on=due_on,
            rescheduled_on=rescheduled_on,
            reason=text(reason, "reason", limit=2000),
        )

    @event("ActionRescheduled")
    def _action_rescheduled(self, action_id: UUID, due_on: date, rescheduled_on: date, reason: str) -> None:
        key = str(action_id)
        self.actions[key] = replace(self.actions[key], due_on=due_on, last_event_on=rescheduled_on)
        self.last_event_on = max(self.last_event_on, rescheduled_on)

    def complete_action(self, action_id: UUID, completed_on: object, outcome: object) -> None:
        self.check_not_erased()
        self.check_not_closed()
        found = self.check_action_open(action_id)
        completed_on = self.check_date(completed_on, "completed_on")
        not_before(completed_on, found.agreed_on, "completed_on", "the day the action was agreed")
        self._action_completed(
            action_id=action_id,
            completed_on=completed_on,
            outcome=text(outcome, "outcome", limit=4000),
        )

    @event("ActionCompleted")
    def _action_completed(self, action_id: UUID, completed_on: date, outcome: str) -> None:
        key = str(action_id)
        self.actions[key] = replace(
            self.actions[key],
            status=ActionStatus.COMPLETED,
            completed_on=completed_on,
            outcome=outcome,
            last_event_on=completed_on,
        )
        self.last_event_on = max(self.last_event_on, completed_on)

    def cancel_action(self, action_id: UUID, cancelled_on: object, reason: object) -> None:
        self.check_not_erased()
        self.check_not_closed()
        found = self.check_action_open(action_id)
        cancelled_on = self.check_date(cancelled_on, "cancelled_on")
        not_before(cancelled_on, found.agreed_on, "cancelled_on", "the day the action was agreed")
        self._action_cancelled(
            action_id=action_id,
            cancelled_on=cancelled_on,
            reason=text(reason, "reason", limit=2000),
        )

    @event("ActionCancelled")
    def _action_cancelled(self, action_id: UUID, cancelled_on: date, reason: str) -> None:
        key = str(action_id)
        self.actions[key] = replace(
            self.actions[key],
            status=ActionStatus.CANCELLED,
            cancelled_on=cancelled_on,
            cancel_reason=reason,
            last_event_on=cancelled_on,
        )
        self.last_event_on = max(self.last_event_on, cancelled_on)

    # --- reviews -------------------------------------------------------------------

    def schedule_review(self, review_on: object, scheduled_on: object) -> None:
        self.check_not_closed()
        scheduled_on = self.check_date(scheduled_on, "scheduled_on")
        review_on = self.check_date(review_on, "review_on")
        not_before(review_on, scheduled_on, "review_on", "the day it was scheduled")
        self._review_scheduled(review_on=review_on, scheduled_on=scheduled_on)

    @event("ReviewScheduled")
    def _review_scheduled(self, review_on: date, scheduled_on: date) -> None:
        self.next_review_on = review_on
        self.review_scheduled_on = scheduled_on
        self.last_event_on = max(self.last_event_on, scheduled_on)

    def record_review(self, reviewed_on: object, notes: object) -> None:
        """Record a scheduled review, or the post-closure review of a closed case."""
        self.check_not_erased()
        reviewed_on = self.check_date(reviewed_on, "reviewed_on")
        if self.status is CaseStatus.CLOSED:
            if self.post_closure_review_on is None:
                raise NoReviewDueError(f"case {self.id} is closed with no post-closure review")
            assert self.closed_on is not None
            not_before(reviewed_on, self.closed_on, "reviewed_on", "the closure")
        elif self.next_review_on is None:
            raise NoReviewDueError(f"no review is scheduled for case {self.id}")
        elif self.review_scheduled_on is not None:
            not_before(reviewed_on, self.review_scheduled_on, "reviewed_on", "the day it was scheduled")
        self._reviewed(reviewed_on=reviewed_on, notes=text(notes, "notes", limit=4000))

    @event("Reviewed")
    def _reviewed(self, reviewed_on: date, notes: str) -> None:
        self.reviews.append(reviewed_on)
        if self.status is CaseStatus.CLOSED:
            self.post_closure_review_on = None
        else:
            self.next_review_on = None
        self.last_event_on = max(self.last_event_on, reviewed_on)

    # --- closing and reopening --------------------------------------------------------

    def close(
        self,
        closed_on: object,
        reason: object,
        summary: object,
        post_closure_review_on: object = None,
    ) -> None:
        self.check_not_erased()
        self.check_not_closed()
        closed_on = self.check_date(closed_on, "closed_on")
        not_before(closed_on, self.last_event_on, "closed_on", "the case's latest recorded work")
        if self.open_actions:
            raise OpenActionsError(
                f"case {self.id} has {len(self.open_actions)} open action(s); "
                "complete or cancel them before closing"
            )
        review_on: date | None = None
        if post_closure_review_on is not None:
            review_on = business_date(post_closure_review_on, "post_closure_review_on")
            if review_on <= closed_on:
                raise InvalidValueError("post_closure_review_on", "must be after the closure date")
        self._closed(
            closed_on=closed_on,
            reason=ClosureReason.parse(reason, "reason"),
            summary=text(summary, "summary", limit=4000),
            post_closure_review_on=review_on,
        )

    @event("Closed")
    def _closed(
        self,
        closed_on: date,
        reason: ClosureReason,
        summary: str,
        post_closure_review_on: date | None,
    ) -> None:
        self.status = CaseStatus.CLOSED
        self.closed_on = closed_on
        self.closure_reason = reason
        self.closure_summary = summary
        self.post_closure_review_on = post_closure_review_on
        self.next_review_on = None
        self.last_event_on = max(self.last_event_on, closed_on)

    def reopen(self, reopened_on: object, reason: object) -> None:
        self.check_not_erased()
        if self.status in OPEN_STATUSES:
            raise CaseNotClosedError(f"case {self.id} is {self.status.value}, not closed")
        reopened_on = self.check_date(reopened_on, "reopened_on")
        not_before(reopened_on, self.last_event_on, "reopened_on", "the case's latest recorded work")
        self._reopened(reopened_on=reopened_on, reason=text(reason, "reason", limit=2000))

    @event("Reopened")
    def _reopened(self, reopened_on: date, reason: str) -> None:
        # A reopened case is assessed afresh: professional judgement is made again.
        self.status = CaseStatus.AWAITING_ASSESSMENT
        self.decision = None
        self.closed_on = None
        self.closure_reason = None
        self.post_closure_review_on = None
        self.reopened_on.append(reopened_on)
        self.last_event_on = max(self.last_event_on, reopened_on)

    # --- follow-up -------------------------------------------------------------------

    @event("ReminderSent")
    def _reminder_sent(
        self,
        key: str,
        rule: str,
        channel: str,
        recipient_org: str,
        sent_on: date,
        due_on: date,
        action_id: UUID | None,
    ) -> None:
        self.reminders_sent.append(key)

    # --- erasure -------------------------------------------------------------------

    def erase_personal_data(self, erased_on: object, reason: object) -> None:
        """Record that the subject's personal data was erased (its key destroyed). From now
        on the case replays with personal fields reading as erased, and refuses anything
        that would hold personal data; its workflow facts stay for evaluation."""
        if self.erased_on is not None:
            return
        erased_on = business_date(erased_on, "erased_on")
        self._personal_data_erased(erased_on=erased_on, reason=non_personal_text(reason, "reason", limit=500))

    @event("PersonalDataErased")
    def _personal_data_erased(self, erased_on: date, reason: str) -> None:
        self.erased_on = erased_on
        self.subject = Subject(name=ERASED)
        self.concern = ERASED
        self.assessment = dict.fromkeys(self.assessment, ERASED)
        self.closure_summary = ERASED if self.closure_summary else ""
        self.actions = {
            key: replace(
                action,
                description=ERASED,
                outcome=ERASED if action.outcome else "",
                cancel_reason=ERASED if action.cancel_reason else "",
            )
            for key, action in self.actions.items()
        }
