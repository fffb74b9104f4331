"""What an operator watches: figures read from the store at the moment they are asked for, so
every process (web workers, projections, scheduler) is counted, whichever one is asked.

Nothing here names a case, a subject, a user or an organisation: only counts, positions and ages.
The scheduler reports each tick in ``scheduler_status`` (one row per scheduler process: its
role, the time of its last tick and its running totals), which is how a web worker can tell
whether some scheduler is active and how long ago it last ran.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from application.app import Forebyg

STALE_STATUS_SECONDS = 30 * 24 * 3600  # a scheduler that has not ticked for a month is forgotten


def create_tables(cursor: Any) -> None:
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS scheduler_status (instance TEXT PRIMARY KEY,"
        " active INTEGER NOT NULL, beat_at DOUBLE PRECISION NOT NULL, delivered BIGINT NOT NULL,"
        " emailed BIGINT NOT NULL, failed BIGINT NOT NULL)"
    )


@dataclass
class SchedulerStatus:
    """One scheduler process's running totals, written to the store at each tick."""

    instance: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    delivered: int = 0
    emailed: int = 0
    failed: int = 0

    def beat(self, app: Forebyg, *, active: bool) -> None:
        now = time.time()
        with app.read_store.transaction() as cursor:
            cursor.execute(
                "INSERT INTO scheduler_status (instance, active, beat_at, delivered, emailed, failed)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (instance) DO UPDATE SET"
                " active = excluded.active, beat_at = excluded.beat_at,"
                " delivered = excluded.delivered, emailed = excluded.emailed, failed = excluded.failed",
                (self.instance, int(active), now, self.delivered, self.emailed, self.failed),
            )
            cursor.execute("DELETE FROM scheduler_status WHERE beat_at < ?", (now - STALE_STATUS_SECONDS,))

    def stopped(self, app: Forebyg) -> None:
        with app.read_store.transaction() as cursor:
            cursor.execute("DELETE FROM scheduler_status WHERE instance = ?", (self.instance,))


@dataclass(frozen=True)
class Figures:
    events: int  # the last notification id of the event log
    projection_position: int  # the last event the read models have applied
    reminders_due: int  # due today or earlier, not yet sent
    reminders_sent: int
    subjects_erased: int
    texts_erased: int
    schedulers_active: int  # schedulers that ticked within three intervals and hold the lead
    schedulers_standing_by: int
    seconds_since_active_tick: float | None  # None: no scheduler has ever been active
    reminders_delivered: int  # the schedulers' running totals (a counter: resets on restart)
    reminders_emailed: int
    dispatch_failures: int

    @property
    def projection_lag(self) -> int:
        return max(self.events - self.projection_position, 0)


def figures(app: Forebyg, *, scheduler_interval_seconds: int) -> Figures:
    """The figures as the store holds them now."""
    events = int(app.recorder.max_notification_id() or 0)  # type: ignore[attr-defined]
    now = time.time()
    live_after = now - 3 * scheduler_interval_seconds
    today = app.clock().isoformat()
    with app.read_store.transaction() as cursor:

        def count(sql: str, *params: object) -> int:
            cursor.execute(sql, params)
            return int(cursor.fetchone()[0] or 0)

        cursor.execute("SELECT position FROM readmodel_tracking WHERE name = ?", (app.workflow.name,))
        row = cursor.fetchone()
        position = int(row[0]) if row else 0
        due = count("SELECT COUNT(*) FROM reminders_due WHERE sent = 0 AND fire_on <= ?", today)
        sent = count("SELECT COUNT(*) FROM reminders_due WHERE sent = 1")
        active = count("SELECT COUNT(*) FROM scheduler_status WHERE active = 1 AND beat_at >= ?", live_after)
        standing_by = count(
            "SELECT COUNT(*) FROM scheduler_status WHERE active = 0 AND beat_at >= ?", live_after
        )
        cursor.execute("SELECT MAX(beat_at) FROM scheduler_status WHERE active = 1")
        last = cursor.fetchone()[0]
        cursor.execute(
            "SELECT COALESCE(SUM(delivered), 0), COALESCE(SUM(emailed), 0), COALESCE(SUM(failed), 0)"
            " FROM scheduler_status"
        )
        delivered, emailed, failed = (int(n) for n in cursor.fetchone())
    with app.keystore.store.transaction() as cursor:  # perhaps a database of its own
        cursor.execute("SELECT COUNT(*) FROM subject_keys WHERE erased_at IS NOT NULL")
        subjects = int(cursor.fetchone()[0] or 0)
        cursor.execute("SELECT COUNT(*) FROM text_keys WHERE erased_at IS NOT NULL")
        texts = int(cursor.fetchone()[0] or 0)
    return Figures(
        events=events,
        projection_position=position,
        reminders_due=due,
        reminders_sent=sent,
        subjects_erased=subjects,
        texts_erased=texts,
        schedulers_active=active,
        schedulers_standing_by=standing_by,
        seconds_since_active_tick=None if last is None else max(now - float(last), 0.0),
        reminders_delivered=delivered,
        reminders_emailed=emailed,
        dispatch_failures=failed,
    )
