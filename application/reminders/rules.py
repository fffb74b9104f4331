"""The reminder rules (DESIGN §4): from a case's or a forum's state, which reminders will fall
due, when, and for whom. Each reminder has a deterministic key (rule + case/forum + action +
the date it concerns), so the same reminder is recognised across restarts and never sent twice.
A reminder exists only while its condition holds: completing the action, assessing the case or
holding the meeting removes it before it falls due.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import date
from enum import Enum
from uuid import UUID

from application.readmodels.records import CaseRecord
from domain.case import Case
from domain.forum import Forum
from domain.values import ActionStatus, CaseStatus, days_after


class Rule(Enum):
    ACTION_DUE_SOON = "action_due_soon"
    ACTION_OVERDUE = "action_overdue"
    ACTION_OVERDUE_ESCALATED = "action_overdue_escalated"
    REFERRAL_NOT_ASSESSED = "referral_not_assessed"
    ACCEPTED_NOT_DISCUSSED = "accepted_not_discussed"
    REVIEW_DUE = "review_due"
    POST_CLOSURE_REVIEW_DUE = "post_closure_review_due"
    FORUM_WITHOUT_MEETING = "forum_without_meeting"
    INTERVENTION_STALLED = "intervention_stalled"


@dataclass(frozen=True)
class ReminderPolicy:
    """Horizons in days; each can be set by FOREBYG_REMINDER_<NAME> (e.g. ..._DUE_SOON_DAYS=5)."""

    due_soon_days: int = 3
    escalate_after_days: int = 14
    assess_within_days: int = 14
    discuss_within_days: int = 21
    forum_meeting_weeks: int = 8
    stalled_after_days: int = 30

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ReminderPolicy:
        values = {}
        for field in fields(cls):
            raw = environ.get(f"FOREBYG_REMINDER_{field.name.upper()}")
            if raw is not None:
                if not raw.isdigit() or not 0 < int(raw) <= 3650:
                    raise ValueError(
                        f"FOREBYG_REMINDER_{field.name.upper()}: {raw!r} is not a number of days"
                    )
                values[field.name] = int(raw)
        return cls(**values)


@dataclass(frozen=True)
class Reminder:
    key: str
    rule: Rule
    fire_on: date  # the business date from which it is due
    due_on: date  # the date it concerns (an action's due date, a review date, ...)
    forum_id: UUID
    case_id: UUID | None
    action_id: UUID | None
    recipient_org: str


def _key(rule: Rule, source: UUID, action: UUID | None, on: date) -> str:
    return ":".join((rule.value, str(source), str(action) if action else "-", on.isoformat()))


def case_reminders(case: Case | CaseRecord, chair_org: str, policy: ReminderPolicy) -> Iterator[Reminder]:
    """Every reminder the case's present state will give rise to, sent or not (of a domain
    ``Case`` or of the read side's record of one: the same facts)."""

    def remind(rule: Rule, fire_on: date, due_on: date, to: str, action: UUID | None = None) -> Reminder:
        return Reminder(
            _key(rule, case.id, action, due_on), rule, fire_on, due_on, case.forum_id, case.id, action, to
        )

    if case.status is CaseStatus.CLOSED:
        if case.post_closure_review_on is not None:
            review = case.post_closure_review_on
            yield remind(Rule.POST_CLOSURE_REVIEW_DUE, review, review, chair_org)
        return
    if case.status is CaseStatus.AWAITING_ASSESSMENT:
        since = case.reopened_on[-1] if case.reopened_on else case.received_on
        yield remind(
            Rule.REFERRAL_NOT_ASSESSED, days_after(since, policy.assess_within_days), since, chair_org
        )
    assessed = case.assessed_on
    if (
        case.status is CaseStatus.ACTIVE
        and assessed is not None
        and not any(on >= assessed for on in case.discussed_on)
    ):
        yield remind(
            Rule.ACCEPTED_NOT_DISCUSSED,
            days_after(assessed, policy.discuss_within_days),
            assessed,
            chair_org,
        )
    if case.next_review_on is not None:
        yield remind(Rule.REVIEW_DUE, case.next_review_on, case.next_review_on, chair_org)
    for action in case.actions.values():
        if action.status is not ActionStatus.OPEN:
            continue
        due, owner, aid = action.due_on, action.responsible_org, action.action_id
        yield remind(Rule.ACTION_DUE_SOON, days_after(due, -policy.due_soon_days), due, owner, aid)
        yield remind(Rule.ACTION_OVERDUE, days_after(due, 1), due, owner, aid)
        yield remind(
            Rule.ACTION_OVERDUE_ESCALATED,
            days_after(due, 1 + policy.escalate_after_days),
            due,
            chair_org,
            aid,
        )
        quiet_since = action.last_event_on or action.agreed_on
        yield remind(
            Rule.INTERVENTION_STALLED,
            days_after(quiet_since, policy.stalled_after_days),
            quiet_since,
            owner,
            aid,
        )


def forum_reminders(forum: Forum, policy: ReminderPolicy) -> Iterator[Reminder]:
    if forum.dissolved_on is not None:
        return
    since = forum.last_meeting_held_on or forum.established_on
    yield Reminder(
        _key(Rule.FORUM_WITHOUT_MEETING, forum.id, None, since),
        Rule.FORUM_WITHOUT_MEETING,
        days_after(since, 7 * policy.forum_meeting_weeks),
        since,
        forum.id,
        None,
        None,
        forum.chair_org,
    )
