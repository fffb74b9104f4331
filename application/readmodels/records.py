"""Case records: the read side's own fold of a case's events, straight from the stored JSON.

The read models need a handful of a case's facts — its status, dates, actions and the reminders
sent — and none of its personal data. Folding each event through the domain aggregate meant
decoding every field of it into typed objects (the sealed personal fields included), then
dispatching it through the library's generic machinery: ~9 µs an event, which bounded a
rebuild of the read models at a tenth of the rate the log can be read. A ``CaseRecord`` is
folded from the parsed JSON by one small function per event (~2 µs): the fields it keeps are
revived from caches (a date, a vocabulary word or an id is made once), the rest — personal
fields above all — are never even looked at, so the read side holds no personal data, sealed
or not, even in memory.

Each handler states what the domain aggregate's ``@event`` method of the same name does to
the facts kept here, and nothing else: ``CaseRecord.of(case)`` takes the same facts from a
domain ``Case``, and tests/library/test_case_records.py checks, for the demo municipality and
for random command sequences, that folding the stored events gives exactly that record, fact
for fact. A new Case event, or a new version of one, fails at import (``check_handlers``)
until it has its handler here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import Enum
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.utils import get_topic

from application.transcodings import MAX_REUSED, KnownUUID
from domain.case import STATUS_AFTER_ASSESSMENT, Case
from domain.values import ActionKind, ActionStatus, CaseStatus, ClosureReason, Decision, TargetGroup

E = TypeVar("E", bound=Enum)
OPEN = ActionStatus.OPEN


ACTION_FACTS = (
    "action_id",
    "kind",
    "responsible_org",
    "agreed_on",
    "due_on",
    "status",
    "completed_on",
    "last_event_on",
)
CASE_FACTS = (
    "id",
    "version",
    "forum_id",
    "status",
    "target_group",
    "referred_by",
    "received_on",
    "assessed_on",
    "discussed_on",
    "actions",
    "next_review_on",
    "closed_on",
    "closure_reason",
    "post_closure_review_on",
    "reopened_on",
    "reminders_sent",
)


class ActionRecord:
    """What the read models keep of an agreed action (the domain's ``Action`` without its
    personal fields); changed in place as its events are folded."""

    __slots__ = ACTION_FACTS
    action_id: UUID
    kind: ActionKind
    responsible_org: str
    agreed_on: date
    due_on: date
    status: ActionStatus
    completed_on: date | None
    last_event_on: date | None

    def facts(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in ACTION_FACTS)


class CaseRecord:
    """What the read models keep of a case: the attributes of the domain ``Case`` that they
    read, of the same names and types, so that the board's rows and the reminder rules read
    either. Besides, what the projector's current batch did to it: ``born`` (the case was
    referred in it) and ``touched`` (the keys of the actions it changed, each with whether it
    was agreed in it): rows of what was born in a batch cannot exist before it."""

    __slots__ = (*CASE_FACTS, "born", "touched")

    id: UUID
    version: int
    forum_id: UUID
    status: CaseStatus
    target_group: TargetGroup
    referred_by: str
    received_on: date
    assessed_on: date | None
    discussed_on: list[date]
    actions: dict[str, ActionRecord]
    next_review_on: date | None
    closed_on: date | None
    closure_reason: ClosureReason | None
    post_closure_review_on: date | None
    reopened_on: list[date]
    reminders_sent: list[str]
    born: bool
    touched: dict[str, bool]

    @property
    def open_actions(self) -> list[ActionRecord]:
        return [a for a in self.actions.values() if a.status is OPEN]

    @classmethod
    def of(cls, case: Case) -> CaseRecord:
        """The record of a domain ``Case`` (one the projector has not folded itself, read
        from the event store with its snapshots)."""
        record = cls()
        for name in CASE_FACTS:
            if name != "actions":
                value = getattr(case, name)
                setattr(record, name, list(value) if isinstance(value, list) else value)
        record.actions = {}
        for key, action in case.actions.items():
            kept = record.actions[key] = ActionRecord()
            for name in ACTION_FACTS:
                setattr(kept, name, getattr(action, name))
        record.born, record.touched = False, {}
        return record

    def facts(self) -> dict[str, Any]:
        """Everything kept, as plain values (for comparing records)."""
        facts = {name: getattr(self, name) for name in CASE_FACTS}
        facts["actions"] = {key: action.facts() for key, action in self.actions.items()}
        return facts


class Revived:
    """Typed values from their stored JSON (``{"_type_": …, "_data_": text}``), each distinct
    text decoded once (at most MAX_REUSED of them, then the caches start again)."""

    def __init__(self) -> None:
        self.days: dict[str, date] = {}
        self.ids: dict[str, UUID] = {}
        self.words: dict[type[Enum], dict[str, Enum]] = {}

    def day(self, value: Any) -> date | None:
        if value is None:
            return None
        text = value["_data_"]
        known = self.days.get(text)
        if known is None:
            self._make_room(self.days)
            known = self.days[text] = date.fromisoformat(text)
        return known

    def ident(self, value: Any) -> UUID | None:
        if value is None:
            return None
        text = value["_data_"]
        known = self.ids.get(text)
        if known is None:
            self._make_room(self.ids)
            known = self.ids[text] = KnownUUID(text)
        return known

    def word(self, vocabulary: type[E], value: Any) -> E:
        words = self.words.setdefault(vocabulary, {})
        text = value["_data_"]
        known = words.get(text)
        if known is None:
            known = words[text] = vocabulary(text)
        return known  # type: ignore[return-value]

    @staticmethod
    def _make_room(cache: dict[str, Any]) -> None:
        if len(cache) >= MAX_REUSED:
            cache.clear()


# --- one handler per Case event: (record, parsed state, revived values) ----------------------
Handler = Callable[[CaseRecord, dict[str, Any], Revived], None]


def _referred(record: CaseRecord, state: dict[str, Any], values: Revived) -> None:
    record.forum_id = values.ident(state["forum_id"])  # type: ignore[assignment]
    record.status = CaseStatus.AWAITING_ASSESSMENT
    record.target_group = values.word(TargetGroup, state["target_group"])
    record.referred_by = state["referred_by"]
    record.received_on = values.day(state["received_on"])  # type: ignore[assignment]
    record.assessed_on = None
    record.discussed_on = []
    record.actions = {}
    record.next_review_on = None
    record.closed_on = None
    record.closure_reason = None
    record.post_closure_review_on = None
    record.reopened_on = []
    record.reminders_sent = []


def _assessed(record: CaseRecord, state: dict[str, Any], values: Revived) -> None:
    record.assessed_on = values.day(state["assessed_on"])
    record.status = STATUS_AFTER_ASSESSMENT[values.word(Decision, state["decision"])]


def _discussed(record: CaseRecord, state: dict[str, Any], values: Revived) -> None:
    record.discussed_on.append(values.day(state["discussed_on"]))  # type: ignore[arg-type]


def _action_agreed(record: CaseRecord, state: dict[str, Any], values: Revived) -> None:
    action = ActionRecord()
    action.action_id = values.ident(state["action_id"])  # type: ignore[assignment]
    action.kind = values.word(ActionKind, state["kind"])
    action.responsible_org = state["responsible_org"]
    action.due_on = values.day(state["due_on"])  # type: ignore[assignment]
    action.agreed_on = action.last_event_on = values.day(state["agreed_on"])  # type: ignore[assignment]
    action.status = OPEN
    action.completed_on = None
    key = str(action.action_id)
    record.actions[key] = action
    record.touched[key] = True


def _action(record: CaseRecord, state: dict[str, Any], values: Revived) -> ActionRecord:
    key = str(values.ident(state["action_id"]))  # (the domain's key: the id's text)
    record.touched.setdefault(key, False)
    return record.actions[key]


def _action_rescheduled(record: CaseRecord, state: dict[str, Any], values: Revived) -> None:
    action = _action(record, state, values)
    action.due_on = values.day(state["due_on"])  # type: ignore[assignment]
    action.last_event_on = values.day(state["rescheduled_on"])


def _action_completed(record: CaseRecord, state: dict[str, Any], values: Revived) -> None:
    action = _action(record, state, values)
    action.status = ActionStatus.COMPLETED
    action.completed_on = action.last_event_on = values.day(state["completed_on"])


def _action_cancelled(record: CaseRecord, state: dict[str, Any], values: Revived) -> None:
    action = _action(record, state, values)
    action.status = ActionStatus.CANCELLED
    action.last_event_on = values.day(state["cancelled_on"])


def _review_scheduled(record: CaseRecord, state: dict[str, Any], values: Revived) -> None:
    record.next_review_on = values.day(state["review_on"])


def _reviewed(record: CaseRecord, state: dict[str, Any], values: Revived) -> None:
    if record.status is CaseStatus.CLOSED:
        record.post_closure_review_on = None
    else:
        record.next_review_on = None


def _closed(record: CaseRecord, state: dict[str, Any], values: Revived) -> None:
    record.status = CaseStatus.CLOSED
    record.closed_on = values.day(state["closed_on"])
    record.closure_reason = values.word(ClosureReason, state["reason"])
    record.post_closure_review_on = values.day(state.get("post_closure_review_on"))
    record.next_review_on = None


def _reopened(record: CaseRecord, state: dict[str, Any], values: Revived) -> None:
    record.status = CaseStatus.AWAITING_ASSESSMENT
    record.closed_on = None
    record.closure_reason = None
    record.post_closure_review_on = None
    record.reopened_on.append(values.day(state["reopened_on"]))  # type: ignore[arg-type]


def _reminder_sent(record: CaseRecord, state: dict[str, Any], values: Revived) -> None:
    record.reminders_sent.append(state["key"])


def _nothing_kept(record: CaseRecord, state: dict[str, Any], values: Revived) -> None:
    """An event that changes none of the facts kept here (erasure touches personal data
    only)."""


HANDLERS: dict[str, Handler] = {
    get_topic(getattr(Case, name)): handler
    for name, handler in {
        "Referred": _referred,
        "Assessed": _assessed,
        "Discussed": _discussed,
        "ActionAgreed": _action_agreed,
        "ActionRescheduled": _action_rescheduled,
        "ActionCompleted": _action_completed,
        "ActionCancelled": _action_cancelled,
        "ReviewScheduled": _review_scheduled,
        "Reviewed": _reviewed,
        "Closed": _closed,
        "Reopened": _reopened,
        "ReminderSent": _reminder_sent,
        "PersonalDataErased": _nothing_kept,
    }.items()
}


def check_handlers() -> None:
    """Every event of the domain ``Case`` has its handler, for the version it is stored in."""
    events = [
        value
        for name, value in vars(Case).items()
        if isinstance(value, type) and issubclass(value, Case.Event) and name not in ("Event", "Created")
    ]
    missing = sorted(get_topic(cls) for cls in events if get_topic(cls) not in HANDLERS)
    if missing:
        raise RuntimeError(f"case records: no handler for {missing} (see application/readmodels/records.py)")
    later = sorted(get_topic(cls) for cls in events if getattr(cls, "class_version", 1) != 1)
    if later:
        raise RuntimeError(f"case records: events stored in a later version {later}: teach their handlers")


check_handlers()
