"""Queries: plain data for callers, filtered by need-to-know."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from application import access, presenters
from application.accounts import Caller
from application.base import ForebygBase
from application.privacy.accesslog import AccessLog
from application.readmodels.board import CaseBoard
from application.readmodels.projector import Projector
from application.readmodels.store import SqlStore
from application.reminders.model import Inbox, RemindersDue
from domain.case import Case
from domain.values import CaseStatus, MeetingStatus, Role, line

MAX_PURPOSE = 500


def stated_purpose(purpose: object) -> str | None:
    """Why a person reads personal data, as the access log keeps it: one line of visible text
    (no control, bidi-override or zero-width character could then disguise it), or None."""
    if purpose is None:
        return None
    return line(purpose, "purpose", limit=MAX_PURPOSE)


def _pseudonymous(caller: Caller | None, view: dict[str, Any]) -> dict[str, Any]:
    if caller is not None and caller.role is Role.EVALUATOR:
        view.pop("subject_id", None)
    return view


class Queries(ForebygBase):
    read_store: SqlStore
    workflow: Projector
    access_log: AccessLog

    def log_personal_read(
        self, case: Case, purpose: str, caller: Caller | None, operator: str = "system", kind: str = "read"
    ) -> None:
        if caller is None:
            username, org, role = operator, "-", "operator"
        else:
            username, org, role = caller.username, caller.org, caller.role.value
        self.access_log.record(
            username=username,
            org=org,
            role=role,
            kind=kind,
            purpose=purpose,
            case_id=case.id,
            subject_id=case.subject_id,
            legal_basis=case.legal_basis.value,
        )

    def _personal(
        self, case: Case, caller: Caller | None, include_personal: bool, purpose: str | None, operator: str
    ) -> bool:
        """Personal data only with a stated purpose (or, for the system itself, on request),
        only for roles allowed to see it; every such read by a person is logged."""
        purpose = stated_purpose(purpose)
        if caller is None:
            wanted = include_personal or bool(purpose)
        else:
            wanted = bool(purpose) and access.may_read_personal(caller)
        if wanted and (caller is not None or purpose):
            self.log_personal_read(case, purpose or "(not stated)", caller, operator)
        return wanted

    def get_case(
        self,
        case_id: UUID,
        *,
        include_personal: bool = False,
        purpose: str | None = None,
        caller: Caller | None = None,
        operator: str = "system",
    ) -> dict[str, Any]:
        case = self._case(case_id)
        access.check_case(caller, case, self._forum(case.forum_id))
        personal = self._personal(case, caller, include_personal, purpose, operator)
        return _pseudonymous(caller, presenters.case_view(case, include_personal=personal))

    def get_forum(
        self,
        forum_id: UUID,
        *,
        include_personal: bool = False,
        purpose: str | None = None,
        caller: Caller | None = None,
        operator: str = "system",
    ) -> dict[str, Any]:
        """The forum; its free texts (meeting summaries, cancellation reasons, area mappings'
        resources and challenges, the dissolution reason) as for a case's personal data: with
        a purpose, for roles allowed to see personal data, logged. They are read from the
        forum's events, the only place that holds them."""
        purpose = stated_purpose(purpose)
        forum = self._forum(forum_id)
        access.check_forum(caller, forum)
        if caller is None:
            wanted = include_personal or bool(purpose)
        else:
            wanted = bool(purpose) and access.may_read_personal(caller)
        if not wanted:
            return presenters.forum_view(forum)
        if caller is not None or purpose:
            self.access_log.record(
                username=caller.username if caller else operator,
                org=caller.org if caller else "-",
                role=caller.role.value if caller else "operator",
                kind="read",
                purpose=purpose or "(not stated)",
                subject_id=AccessLog.forum_texts(forum.id),
            )
        return presenters.forum_view(forum, presenters.forum_texts(self.events.get(forum_id)))

    def get_case_history(
        self,
        case_id: UUID,
        *,
        as_of: datetime | None = None,
        include_personal: bool = False,
        purpose: str | None = None,
        caller: Caller | None = None,
        operator: str = "system",
    ) -> list[dict[str, Any]]:
        """The case's events in order, with business dates and recorded instants;
        with ``as_of``, only what had been recorded by that instant."""
        case = self._case(case_id)
        access.check_case(caller, case, self._forum(case.forum_id))
        personal = self._personal(case, caller, include_personal, purpose, operator)
        entries = []
        for event in self.events.get(case_id):
            if as_of is not None and event.timestamp > as_of:  # type: ignore[attr-defined]
                break
            entry = presenters.history_entry(event, include_personal=personal)
            _pseudonymous(caller, entry["data"])
            entries.append(entry)
        return entries

    def get_case_as_of(
        self,
        case_id: UUID,
        as_of: datetime,
        *,
        include_personal: bool = False,
        purpose: str | None = None,
        caller: Caller | None = None,
        operator: str = "system",
    ) -> dict[str, Any] | None:
        """The case as the forum knew it at an instant; None if not yet referred then.
        Personal data as for `get_case`: with a purpose, for roles allowed it, logged."""
        current = self._case(case_id)
        access.check_case(caller, current, self._forum(current.forum_id))
        case: Case | None = None
        for event in self.events.get(case_id):
            if event.timestamp > as_of:  # type: ignore[attr-defined]
                break
            case = event.mutate(case)  # type: ignore[attr-defined]
        if case is None:
            return None
        personal = self._personal(current, caller, include_personal, purpose, operator)
        return _pseudonymous(caller, presenters.case_view(case, include_personal=personal))

    def list_forums(self, *, caller: Caller | None = None) -> list[dict[str, Any]]:
        self.workflow.catch_up()
        org = None if caller is None or caller.role in access.READS_ACROSS_FORUMS else caller.org
        if caller is not None and caller.role is Role.ADMIN:
            return []
        with self.read_store.transaction() as cursor:
            return CaseBoard.forums(cursor, org)

    def list_cases(
        self,
        *,
        forum_id: UUID | None = None,
        status: object = None,
        limit: int = 100,
        offset: int = 0,
        caller: Caller | None = None,
    ) -> list[dict[str, Any]]:
        """Cases of the forums the caller may see, newest referral first."""
        word = CaseStatus.parse(status, "status").value if status else None
        forums = [f["id"] for f in self.list_forums(caller=caller)]
        if forum_id is not None:
            forums = [f for f in forums if f == str(forum_id)]
        with self.read_store.transaction() as cursor:
            return CaseBoard.cases(cursor, forums, word, limit, offset)

    def get_agenda(
        self, forum_id: UUID, *, on: date | None = None, caller: Caller | None = None
    ) -> dict[str, Any]:
        """What the forum's next meeting should take up: new referrals, overdue actions,
        reviews due and cases to discuss (no personal data)."""
        forum = self._forum(forum_id)
        access.check_forum(caller, forum)
        day = (on or self.clock()).isoformat()
        self.workflow.catch_up()
        with self.read_store.transaction() as cursor:
            agenda = CaseBoard.agenda(cursor, str(forum_id), day)
        next_meeting = min(
            (m.planned_on for m in forum.meetings.values() if m.status is MeetingStatus.SCHEDULED),
            default=None,
        )
        return {
            "forum_id": str(forum_id),
            "as_of": day,
            "next_meeting_on": next_meeting.isoformat() if next_meeting else None,
            **agenda,
        }

    def list_reminders(self, *, on: date | None = None, caller: Caller | None = None) -> list[dict[str, Any]]:
        """Reminders fallen due (sent or not) in the forums a coordinator may see."""
        access.check_role(caller, Role.COORDINATOR)
        forums = [f["id"] for f in self.list_forums(caller=caller)]
        with self.read_store.transaction() as cursor:
            rows = RemindersDue.fallen_due(cursor, forums, (on or self.clock()).isoformat())
        for row in rows:
            row["sent"] = bool(row["sent"])
            row.pop("source_id")
        return rows

    def list_inbox(
        self, *, org: str | None = None, limit: int = 100, offset: int = 0, caller: Caller | None = None
    ) -> list[dict[str, Any]]:
        """Reminders delivered to the caller's organisation, newest first."""
        access.check_role(caller, Role.COORDINATOR, Role.MEMBER)
        recipient = caller.org if caller is not None else org
        if recipient is None:
            return []
        self.workflow.catch_up()
        with self.read_store.transaction() as cursor:
            return Inbox.items(cursor, recipient, limit, offset)
