"""Delivering reminders that have fallen due: each exactly once to the in-app inbox, and by
e-mail when a mailer is configured.

Due reminders are rows of the ``reminders_due`` read model. The dispatcher claims a few at a
time (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on SQLite a lease in ``reminder_claims``, taken
under the file's write lock), sends the e-mail, then records ``ReminderSent``
on the case or forum under the reminder's key — the aggregate refuses a key twice, so the inbox
never shows a reminder twice. Killed between e-mail and record, a reminder is e-mailed at most
once more, under the same key; it is never lost, because the row stays unsent until recorded
(on SQLite, a killed dispatcher's lease runs out after ``CLAIM_SECONDS``, then another takes it).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.readmodels.directory import Directory
from application.reminders.model import REMINDER_COLUMNS
from application.reminders.rules import Rule
from domain.errors import ReminderAlreadySentError

log = logging.getLogger("forebyg.reminders")

# How long a SQLite dispatcher's claim on a batch lasts: well beyond sending one batch, each
# e-mail bounded by the mailer's timeout (20 x 10 s).
CLAIM_SECONDS = 300


def create_tables(cursor: Any) -> None:
    """The claims of SQLite dispatchers on due reminders: key, owner and lease."""
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS reminder_claims"
        " (key TEXT PRIMARY KEY, owner TEXT NOT NULL, until DOUBLE PRECISION NOT NULL)"
    )


DESCRIPTIONS = {
    Rule.ACTION_DUE_SOON: "An action your organisation owns is due soon",
    Rule.ACTION_OVERDUE: "An action your organisation owns is overdue",
    Rule.ACTION_OVERDUE_ESCALATED: "Escalation: an action is still overdue",
    Rule.REFERRAL_NOT_ASSESSED: "A referral has not been assessed",
    Rule.ACCEPTED_NOT_DISCUSSED: "An accepted case has not been discussed at a meeting",
    Rule.REVIEW_DUE: "A case review is due",
    Rule.POST_CLOSURE_REVIEW_DUE: "A post-closure review is due",
    Rule.FORUM_WITHOUT_MEETING: "The forum has not met for a long time",
    Rule.INTERVENTION_STALLED: "An open action has had no follow-up",
}


class Mailer(Protocol):
    def send(self, to: list[str], subject: str, body: str) -> None: ...


@dataclass
class DispatchReport:
    delivered: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    emailed: int = 0


def message(row: dict[str, Any], forum_name: str) -> tuple[str, str]:
    """Subject and body of a reminder e-mail: the case by reference, never the person."""
    rule = Rule(row["rule"])
    reference = f"case {row['case_id'][:8]}" if row["case_id"] else f"forum {forum_name}"
    subject = f"[Forebyg] {DESCRIPTIONS[rule]} ({reference})"
    lines = [
        f"{DESCRIPTIONS[rule]}.",
        "",
        f"Forum: {forum_name}",
        f"Case reference: {row['case_id'] or '-'}",
        f"Action reference: {row['action_id'] or '-'}",
        f"Date concerned: {row['due_on']}",
        "",
        "Open Forebyg to follow up. This message names no person by design.",
        f"Reminder key: {row['key']}",
    ]
    return subject, "\n".join(lines)


class Dispatcher:
    def __init__(self, app: Any, mailer: Mailer | None = None, batch_size: int = 20) -> None:
        self.app, self.mailer, self.batch_size = app, mailer, batch_size
        self.owner = uuid.uuid4().hex

    def dispatch(self, today: date | None = None) -> DispatchReport:
        """Deliver everything due by ``today`` (the application's clock by default)."""
        on = (today or self.app.clock()).isoformat()
        self.app.workflow.catch_up()
        report = DispatchReport()
        while self._dispatch_batch(on, report):
            pass
        return report

    def _dispatch_batch(self, on: str, report: DispatchReport) -> bool:
        store = self.app.read_store
        if store.dialect != "postgres":
            # SQLite has no row locks, and a second dispatcher may run beside the scheduler
            # (`scheduler --once`): claim a batch, then deliver and mark each row in short
            # transactions (SQLite allows one writer; the e-mails are sent outside it).
            with store.transaction() as cursor:  # BEGIN IMMEDIATE: one claimer at a time
                rows = self._claim(cursor, on)
                addresses = {row["key"]: self._addresses(cursor, row) for row in rows}
            try:
                for row in rows:
                    self._deliver(row, addresses[row["key"]], date.fromisoformat(on), report)
                    with store.transaction() as cursor:
                        cursor.execute("UPDATE reminders_due SET sent = 1 WHERE key = ?", (row["key"],))
                        claim = (row["key"], self.owner)
                        cursor.execute("DELETE FROM reminder_claims WHERE key = ? AND owner = ?", claim)
            finally:  # what is left unsent (an outage, a stop) is free for the next dispatch
                with store.transaction() as cursor:
                    cursor.execute("DELETE FROM reminder_claims WHERE owner = ?", (self.owner,))
            return len(rows) == self.batch_size
        # PostgreSQL: rows stay claimed (locked) until delivered and marked, so a second
        # dispatcher, should one ever run, skips them instead of sending them again.
        with store.transaction() as cursor:
            rows = self._due(cursor, on, lock=" FOR UPDATE SKIP LOCKED")
            for row in rows:
                self._deliver(row, self._addresses(cursor, row), date.fromisoformat(on), report)
                cursor.execute("UPDATE reminders_due SET sent = 1 WHERE key = ?", (row["key"],))
        return len(rows) == self.batch_size

    def _claim(self, cursor: Any, on: str) -> list[dict[str, Any]]:
        now = time.time()
        cursor.execute(
            f"SELECT {', '.join(REMINDER_COLUMNS)} FROM reminders_due WHERE sent = 0 AND fire_on <= ?"
            " AND key NOT IN (SELECT key FROM reminder_claims WHERE until > ?)"
            " ORDER BY fire_on, key LIMIT ?",
            (on, now, self.batch_size),
        )
        rows = [dict(zip(REMINDER_COLUMNS, row, strict=True)) for row in cursor.fetchall()]
        cursor.executemany(
            "INSERT INTO reminder_claims (key, owner, until) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, until = excluded.until",
            [(row["key"], self.owner, now + CLAIM_SECONDS) for row in rows],
        )
        return rows

    def _due(self, cursor: Any, on: str, lock: str) -> list[dict[str, Any]]:
        cursor.execute(
            f"SELECT {', '.join(REMINDER_COLUMNS)} FROM reminders_due WHERE sent = 0 AND fire_on <= ?"
            f" ORDER BY fire_on, key LIMIT ?{lock}",
            (on, self.batch_size),
        )
        return [dict(zip(REMINDER_COLUMNS, row, strict=True)) for row in cursor.fetchall()]

    def _addresses(self, cursor: Any, row: dict[str, Any]) -> list[str]:
        return Directory.addresses(cursor, row["recipient_org"]) if self.mailer else []

    def _deliver(self, row: dict[str, Any], addresses: list[str], on: date, report: DispatchReport) -> None:
        source_id = UUID(row["source_id"])
        source: Aggregate = self.app.repository.get(source_id)
        if row["key"] in source.reminders_sent:  # type: ignore[attr-defined]
            report.already_sent.append(row["key"])
            return
        channel = "inbox"
        if self.mailer is not None and addresses:
            forum = self.app.repository.get(UUID(row["forum_id"]))
            subject, body = message(row, forum.name)
            self.mailer.send(addresses, subject, body)
            channel = "inbox+email"
            report.emailed += 1
        for attempt in range(5):
            try:
                source.record_reminder(  # type: ignore[attr-defined]
                    key=row["key"],
                    rule=row["rule"],
                    channel=channel,
                    recipient_org=row["recipient_org"],
                    sent_on=on,
                    due_on=date.fromisoformat(row["due_on"]),
                    action_id=UUID(row["action_id"]) if row["action_id"] else None,
                )
                self.app.save(source)
            except ReminderAlreadySentError:
                report.already_sent.append(row["key"])
                return
            except IntegrityError:  # the case changed meanwhile: re-read and record again
                if attempt == 4:
                    raise
                source = self.app.repository.get(source_id)
                continue
            report.delivered.append(row["key"])
            log.info("reminder delivered: %s via %s", row["key"], channel)
            return
