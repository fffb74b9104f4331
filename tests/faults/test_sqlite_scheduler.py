"""Reminder delivery on the embedded SQLite store with real processes: a running `forebyg
scheduler` and, beside it, `forebyg scheduler --once` runs (which take no leader lock) deliver
each due reminder exactly once — one e-mail accepted by a real SMTP server, one ReminderSent,
one inbox row — as PostgreSQL's row locks make it there."""

from __future__ import annotations

import os
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from application import accounts
from application.bootstrap import migrate
from application.settings import Settings
from tests.faults.support import Processes, SmtpSink, World, demo_world, mail_problems, wait_until

ONCE_RUNS = 3


@pytest.fixture
def sqlite_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    settings = Settings(data_dir=tmp_path / "var")
    migrate(settings)
    world = demo_world(settings, 40)
    for _ in range(15):
        world.agree_overdue_action()
        world.refer_unassessed(days_ago=30)
    yield world
    world.app.close()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.kill_all()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def sqlite_env(settings: Settings, smtp_url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FOREBYG_")}
    env.update(
        FOREBYG_DATA_DIR=str(settings.data_dir),
        FOREBYG_SMTP_URL=smtp_url,
        FOREBYG_SCHEDULER_INTERVAL_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def inbox_keys(settings: Settings) -> Counter[str]:
    with sqlite3.connect(settings.sqlite_path, timeout=30) as conn:
        return Counter(str(row[0]) for row in conn.execute("SELECT key FROM inbox").fetchall())


def test_a_running_scheduler_and_scheduler_once_beside_it_deliver_each_reminder_once_on_sqlite(
    sqlite_world: World, processes: Processes, sink: SmtpSink
) -> None:
    world = sqlite_world
    due = world.due_reminders()
    assert len(due) >= 60, len(due)
    env = sqlite_env(world.settings, sink.url)

    running = processes.start("scheduler", ["scheduler"], env)
    onces = [processes.start(f"once-{n}", ["scheduler", "--once"], env) for n in range(ONCE_RUNS)]
    for once in onces:
        assert once.popen.wait(120) == 0, once.output()
    wait_until(
        lambda: set(due) <= set(inbox_keys(world.settings)),
        60,
        f"{len(due)} reminders in the inbox",
        explain=lambda: "\n".join(p.output()[-2000:] for p in (running, *onces)),
    )
    time.sleep(3)  # a few more ticks of the running scheduler, which must send nothing again
    assert running.alive(), running.output()

    assert mail_problems(sink.snapshot(), due, world.subjects) == []
    recorded = world.reminders_recorded()
    assert {key: n for key, n in recorded.items() if n != 1} == {}
    assert set(recorded) == set(due)
    inbox = inbox_keys(world.settings)
    assert set(inbox) == set(due) and max(inbox.values()) == 1
