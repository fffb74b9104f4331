"""Read models of follow-up: the reminders that will fall due, and each organisation's inbox.

``reminders_due`` holds every reminder whose condition holds in the present state, with whether
it was sent; it is recomputed for each aggregate that changes, so it can always be rebuilt from
the log. ``inbox`` holds every delivered reminder, from the ``ReminderSent`` events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.domain import Aggregate

from application.readmodels.records import CaseRecord
from application.readmodels.store import Cursor, insert_rows
from application.reminders.rules import ReminderPolicy, case_reminders, forum_reminders
from domain.forum import Forum

REMINDER_COLUMNS = (
    "key",
    "rule",
    "fire_on",
    "due_on",
    "forum_id",
    "case_id",
    "action_id",
    "recipient_org",
    "source_id",
    "sent",
)


class RemindersDue:
    name = "reminders_due"

    def __init__(self, policy: ReminderPolicy) -> None:
        self.policy = policy
        self.definition = repr(policy)
        self._chairs: dict[str, str] = {}  # a forum's chair never changes

    def create_tables(self, cursor: Cursor) -> None:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS reminders_due ("
            " key TEXT PRIMARY KEY, rule TEXT NOT NULL, fire_on TEXT NOT NULL, due_on TEXT NOT NULL,"
            " forum_id TEXT NOT NULL, case_id TEXT, action_id TEXT, recipient_org TEXT NOT NULL,"
            " source_id TEXT NOT NULL, sent INTEGER NOT NULL)"
        )
        cursor.execute("CREATE INDEX IF NOT EXISTS reminders_due_fire ON reminders_due (sent, fire_on)")
        cursor.execute("CREATE INDEX IF NOT EXISTS reminders_due_source ON reminders_due (source_id)")
        cursor.execute("CREATE INDEX IF NOT EXISTS reminders_due_forum ON reminders_due (forum_id, fire_on)")

    def drop_tables(self, cursor: Cursor) -> None:
        cursor.execute("DROP TABLE IF EXISTS reminders_due")

    def apply(self, cursor: Cursor, changed: Sequence[Aggregate], events: Sequence[Any]) -> None:
        for aggregate in changed:
            if isinstance(aggregate, Forum):
                self._chairs[str(aggregate.id)] = aggregate.chair_org
        missing = {str(a.forum_id) for a in changed if isinstance(a, CaseRecord)} - self._chairs.keys()
        if missing:
            marks = ", ".join("?" for _ in missing)
            cursor.execute(
                f"SELECT forum_id, chair_org FROM board_forums WHERE forum_id IN ({marks})", tuple(missing)
            )
            self._chairs.update({str(row[0]): str(row[1]) for row in cursor.fetchall()})
        rows: list[tuple[Any, ...]] = []
        sources: list[tuple[str]] = []
        for aggregate in changed:
            if isinstance(aggregate, Forum):
                reminders = list(forum_reminders(aggregate, self.policy))
            elif isinstance(aggregate, CaseRecord):
                chair = self._chairs.get(str(aggregate.forum_id), "")
                reminders = list(case_reminders(aggregate, chair, self.policy))
            else:
                continue
            sent = set(aggregate.reminders_sent)
            sources.append((str(aggregate.id),))
            rows += [
                (
                    r.key,
                    r.rule.value,
                    r.fire_on.isoformat(),
                    r.due_on.isoformat(),
                    str(r.forum_id),
                    str(r.case_id) if r.case_id else None,
                    str(r.action_id) if r.action_id else None,
                    r.recipient_org,
                    str(aggregate.id),
                    int(r.key in sent),
                )
                for r in reminders
            ]
        for start in range(0, len(sources), 500):
            chunk = [source for (source,) in sources[start : start + 500]]
            marks = ", ".join("?" for _ in chunk)
            cursor.execute(f"DELETE FROM reminders_due WHERE source_id IN ({marks})", tuple(chunk))
        insert_rows(cursor, "reminders_due", REMINDER_COLUMNS, rows)

    @staticmethod
    def fallen_due(cursor: Cursor, forum_ids: Sequence[str], on: str) -> list[dict[str, Any]]:
        if not forum_ids:
            return []
        marks = ", ".join("?" for _ in forum_ids)
        cursor.execute(
            f"SELECT {', '.join(REMINDER_COLUMNS)} FROM reminders_due WHERE forum_id IN ({marks})"
            " AND fire_on <= ? ORDER BY fire_on, key",
            (*forum_ids, on),
        )
        return [dict(zip(REMINDER_COLUMNS, row, strict=True)) for row in cursor.fetchall()]


INBOX_COLUMNS = (
    "key",
    "rule",
    "forum_id",
    "case_id",
    "action_id",
    "due_on",
    "recipient_org",
    "channel",
    "sent_on",
    "recorded_at",
)


class Inbox:
    name = "inbox"

    def create_tables(self, cursor: Cursor) -> None:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS inbox ("
            " key TEXT NOT NULL, rule TEXT NOT NULL, forum_id TEXT NOT NULL, case_id TEXT, action_id TEXT,"
            " due_on TEXT NOT NULL, recipient_org TEXT NOT NULL, channel TEXT NOT NULL,"
            " sent_on TEXT NOT NULL, recorded_at TEXT NOT NULL, PRIMARY KEY (key))"
        )
        cursor.execute("CREATE INDEX IF NOT EXISTS inbox_org ON inbox (recipient_org, sent_on)")

    def drop_tables(self, cursor: Cursor) -> None:
        cursor.execute("DROP TABLE IF EXISTS inbox")

    def apply(self, cursor: Cursor, changed: Sequence[Aggregate], events: Sequence[Any]) -> None:
        by_id = {a.id: a for a in changed}
        rows = []
        for event in events:
            if type(event).__name__ != "ReminderSent":
                continue
            source = by_id[event.originator_id]
            case = source if isinstance(source, CaseRecord) else None
            forum_id = case.forum_id if case else source.id
            rows.append(
                (
                    event.key,
                    event.rule,
                    str(forum_id),
                    str(case.id) if case else None,
                    str(event.action_id) if event.action_id else None,
                    event.due_on.isoformat(),
                    event.recipient_org,
                    event.channel,
                    event.sent_on.isoformat(),
                    event.timestamp.isoformat(),
                )
            )
        insert_rows(cursor, "inbox", INBOX_COLUMNS, rows, key="key")

    @staticmethod
    def items(cursor: Cursor, org: str, limit: int, offset: int) -> list[dict[str, Any]]:
        cursor.execute(
            f"SELECT {', '.join(INBOX_COLUMNS)} FROM inbox WHERE recipient_org = ?"
            " ORDER BY sent_on DESC, key LIMIT ? OFFSET ?",
            (org, limit, offset),
        )
        return [dict(zip(INBOX_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
