"""`forebyg scheduler`: APScheduler ticks the reminder dispatcher; one instance is active.

The due reminders live in a read model and each delivery is an event, so APScheduler keeps no
state of its own: a tick that is missed or coalesced loses nothing, the next one delivers.
On PostgreSQL a session advisory lock elects the active scheduler; the others stand by and take
over when its connection goes. On the embedded store a file lock does the same on one machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import threading
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

from application.bootstrap import build_application
from application.operations import SchedulerStatus
from application.privacy.files import SCHEDULER_LOCK, open_private
from application.reminders.dispatch import Dispatcher
from application.settings import Settings
from interfaces.mail import mailer_for

log = logging.getLogger("forebyg.scheduler")


def lock_key(schema: str) -> int:
    """One active scheduler per store (database schema)."""
    return zlib.crc32(f"forebyg-scheduler:{schema}".encode())


class PostgresLeaderLock:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.conn: Any = None
        self.acquired = False  # set when the lock was (re)taken: pooled connections may be stale
        self.lost = False

    def hold(self) -> bool:
        """True while this process holds the lock (re-trying to take it when it does not).
        A lock lost with its connection (a restart, a fail-over) is re-taken in the same call
        when the database is back and no other instance took it meanwhile."""
        import psycopg

        if self.conn is not None:
            try:
                self.conn.execute("SELECT 1")  # still connected, so still holding the lock
                return True
            except psycopg.OperationalError as error:
                log.warning("scheduler: lost the database (%s); re-taking the lock", error)
                self.lost = True
                self.conn.close()
                self.conn = None
        try:
            return self._take()
        except psycopg.OperationalError as error:
            log.warning("scheduler: the database is unreachable (%s); standing by", error)
            self.lost = True
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            return False

    def _take(self) -> bool:
        import psycopg

        self.conn = psycopg.connect(
            dbname=self.env["POSTGRES_DBNAME"],
            host=self.env["POSTGRES_HOST"],
            port=self.env["POSTGRES_PORT"],
            user=self.env["POSTGRES_USER"],
            password=self.env["POSTGRES_PASSWORD"],
            autocommit=True,
            connect_timeout=5,
        )
        key = lock_key(self.env["POSTGRES_SCHEMA"])
        row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        if not row or not row[0]:
            self.conn.close()
            self.conn = None
            return False
        log.info("scheduler: active (advisory lock taken)")
        self.acquired = True
        return True

    def release(self) -> None:
        if self.conn is not None and not self.conn.closed:
            self.conn.close()


class FileLeaderLock:
    def __init__(self, path: str) -> None:
        self.path = path
        self.handle: Any = None
        self.acquired = False
        self.lost = False

    def hold(self) -> bool:
        if self.handle is not None:
            return True
        handle = open_private(Path(self.path))  # kept open while holding the lock
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self.handle = handle
        log.info("scheduler: active (file lock taken)")
        return True

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def run(settings: Settings, *, once: bool) -> int:
    app = build_application(settings)
    app.check_ready()
    dispatcher = Dispatcher(app, mailer_for(settings.smtp_url))
    if once:
        report = dispatcher.dispatch()
        erased = app.apply_retention()
        texts = app.apply_text_retention()
        print(
            f"delivered {len(report.delivered)} reminder(s), e-mailed {report.emailed}, "
            f"{len(report.already_sent)} already sent; retention erased {len(erased)} subject(s)"
            f" and {texts} forum text(s)"
        )
        app.close()
        return 0

    from apscheduler.schedulers.blocking import BlockingScheduler

    env = settings.persistence_env()
    lock = (
        PostgresLeaderLock(env)
        if settings.uses_postgres
        else FileLeaderLock(str(settings.data_dir / SCHEDULER_LOCK))
    )
    standing_by = threading.Event()
    status = SchedulerStatus()

    def beat(*, active: bool) -> None:
        try:
            status.beat(app, active=active)
        except Exception:  # the status is for watching: never a reason to stop dispatching
            log.warning("scheduler: could not record its status", exc_info=True)

    def tick() -> None:
        held = lock.hold()
        if lock.acquired or lock.lost:  # after an outage, drop dead pooled connections at once
            lock.acquired = lock.lost = False
            app.reset_connections()
        if not held:
            beat(active=False)
            if not standing_by.is_set():
                log.info("scheduler: another instance is active; standing by")
                standing_by.set()
            return
        standing_by.clear()
        try:
            app.keystore.refresh()
            report = dispatcher.dispatch()
            status.delivered += len(report.delivered)
            status.emailed += report.emailed
            if report.delivered:
                log.info("scheduler: delivered %d reminder(s)", len(report.delivered))
            erased = app.apply_retention()
            if erased:
                log.info("scheduler: retention erased %d subject(s)", len(erased))
            texts = app.apply_text_retention()
            if texts:
                log.info("scheduler: retention erased %d forum text(s)", texts)
        except Exception:  # a database outage: the next tick retries, nothing is lost
            status.failed += 1
            log.exception("scheduler: dispatch failed; retrying at the next tick")
            app.reset_connections()
        beat(active=True)

    scheduler = BlockingScheduler(timezone="Europe/Copenhagen")
    scheduler.add_job(
        tick,
        "interval",
        seconds=settings.scheduler_interval_seconds,
        next_run_time=datetime.now(),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
        id="dispatch",
    )

    def stop(*_: object) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    log.info("scheduler: ticking every %ss (pid %s)", settings.scheduler_interval_seconds, os.getpid())
    try:
        scheduler.start()
    finally:
        lock.release()
        with contextlib.suppress(Exception):
            status.stopped(app)
        app.close()
    return 0
