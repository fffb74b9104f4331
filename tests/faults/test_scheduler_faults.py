"""`forebyg scheduler` with a real SMTP server: down across due times, SIGKILLed mid-send, two
instances at once, and the active one losing its lock mid-send. Every due reminder is e-mailed once
per key (to its organisation's addresses, never naming the person), recorded once as ReminderSent,
and shown once in the inbox."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from application.settings import Settings
from tests.faults.support import (
    Processes,
    SmtpSink,
    World,
    assert_delivered_exactly_once,
    cli_env,
    terminate_lock_connection_of,
    wait_for_delivery,
    wait_until,
)

pytestmark = pytest.mark.postgres

TICKS_TO_WAIT_FOR_DUPLICATES = 2.5  # seconds: more than two ticks of FOREBYG_SCHEDULER_INTERVAL_SECONDS=1


def test_scheduler_down_across_due_times_delivers_each_reminder_once_when_started(
    world_factory: Callable[[int], World],
    procs: Processes,
    smtp_sink: SmtpSink,
    pg: psycopg.Connection[tuple[Any, ...]],
    postgres_settings: Settings,
) -> None:
    # A year and a half of work was recorded with no scheduler running: its reminders fell due
    # on many past dates.
    world = world_factory(20)
    due = world.due_reminders()
    assert len(due) >= 2
    env = cli_env(postgres_settings, smtp_url=smtp_sink.url)
    first = procs.start("scheduler-1", ["scheduler"], env)
    wait_for_delivery(world, pg, set(due), first)
    time.sleep(TICKS_TO_WAIT_FOR_DUPLICATES)
    procs.kill(first)
    assert_delivered_exactly_once(world, pg, smtp_sink, due)

    # Down again: a referral left unassessed 30 days ago (due 16 days ago) and an action due
    # yesterday (overdue from today) are recorded; started again, it delivers exactly those.
    world.refer_unassessed(days_ago=30)
    world.agree_overdue_action()
    due_now = world.due_reminders()
    assert len(set(due_now) - set(due)) >= 4
    second = procs.start("scheduler-2", ["scheduler"], env)
    wait_for_delivery(world, pg, set(due_now), second)
    time.sleep(TICKS_TO_WAIT_FOR_DUPLICATES)
    assert_delivered_exactly_once(world, pg, smtp_sink, due_now)
    assert second.alive(), second.output()


def test_scheduler_killed_mid_send_re_sends_that_reminder_at_most_once_and_loses_none(
    world_factory: Callable[[int], World],
    procs: Processes,
    smtp_sink: SmtpSink,
    pg: psycopg.Connection[tuple[Any, ...]],
    postgres_settings: Settings,
) -> None:
    world = world_factory(20)
    world.refer_unassessed(days_ago=30)
    world.agree_overdue_action()
    due = world.due_reminders()
    assert len(due) >= 5
    env = cli_env(postgres_settings, smtp_url=smtp_sink.url)

    # The third e-mail hangs in DATA: the scheduler is blocked sending it when it is killed.
    smtp_sink.hold(3)
    first = procs.start("scheduler-1", ["scheduler"], env)
    assert smtp_sink.holding.wait(30), first.output()
    held = smtp_sink.held
    assert held is not None and held.key in due
    procs.kill(first)
    smtp_sink.release()
    assert held.key not in world.reminders_recorded(), "recorded as sent although the send never finished"
    before_restart = len(smtp_sink.snapshot())
    assert before_restart == 3

    second = procs.start("scheduler-2", ["scheduler"], env)
    wait_for_delivery(world, pg, set(due), second)
    time.sleep(TICKS_TO_WAIT_FOR_DUPLICATES)

    mails = smtp_sink.snapshot()
    held_copies = [m for m in mails if m.key == held.key]
    assert len(held_copies) <= 2, "the reminder being sent when killed was e-mailed more than once more"
    assert [m.accepted for m in held_copies] == [False, True]
    assert_delivered_exactly_once(world, pg, smtp_sink, due)


def test_two_schedulers_deliver_each_reminder_once_and_the_stand_by_takes_over(
    world_factory: Callable[[int], World],
    procs: Processes,
    smtp_sink: SmtpSink,
    pg: psycopg.Connection[tuple[Any, ...]],
    postgres_settings: Settings,
) -> None:
    world = world_factory(20)
    world.refer_unassessed(days_ago=30)
    due = world.due_reminders()
    env = cli_env(postgres_settings, smtp_url=smtp_sink.url)
    one = procs.start("scheduler-a", ["scheduler"], env)
    two = procs.start("scheduler-b", ["scheduler"], env)
    wait_for_delivery(world, pg, set(due), one, two)
    wait_until(
        lambda: "standing by" in one.output() + two.output(),
        10,
        "one scheduler to stand by",
        explain=lambda: one.output() + two.output(),
    )
    time.sleep(TICKS_TO_WAIT_FOR_DUPLICATES)
    assert_delivered_exactly_once(world, pg, smtp_sink, due)

    actives = [p for p in (one, two) if "scheduler: active" in p.output()]
    assert len(actives) == 1, [p.output() for p in (one, two)]
    active = actives[0]
    standby = two if active is one else one
    procs.kill(active)

    # Created after the active one died: only the stand-by can deliver them.
    world.refer_unassessed(days_ago=25)
    world.agree_overdue_action()
    due_now = world.due_reminders()
    assert len(set(due_now) - set(due)) >= 4
    wait_for_delivery(world, pg, set(due_now), standby)
    assert "scheduler: active" in standby.output()
    time.sleep(TICKS_TO_WAIT_FOR_DUPLICATES)
    assert_delivered_exactly_once(world, pg, smtp_sink, due_now)


def test_active_scheduler_losing_its_lock_mid_send_and_the_stand_by_taking_over_deliver_each_once(
    world_factory: Callable[[int], World],
    procs: Processes,
    smtp_sink: SmtpSink,
    pg: psycopg.Connection[tuple[Any, ...]],
    postgres_settings: Settings,
) -> None:
    """Split brain: the active scheduler's lock connection is cut while it is blocked sending (its
    claimed rows stay locked on its other connection); the stand-by becomes active and delivers
    the rest at the same time; then the first send completes. Still one e-mail per key."""
    world = world_factory(10)
    for days_ago in range(30, 55):  # more due reminders than one dispatch batch (20) claims
        world.refer_unassessed(days_ago=days_ago)
    due = world.due_reminders()
    assert len(due) > 25
    env = cli_env(postgres_settings, smtp_url=smtp_sink.url)

    smtp_sink.hold(1, answer="250 OK")
    one = procs.start("scheduler-a", ["scheduler"], env)
    two = procs.start("scheduler-b", ["scheduler"], env)
    assert smtp_sink.holding.wait(30), one.output() + two.output()
    blocked_since = time.monotonic()
    wait_until(
        lambda: "standing by" in one.output() + two.output(),
        10,
        "one scheduler to stand by",
        explain=lambda: one.output() + two.output(),
    )
    first, second = (one, two) if "scheduler: active" in one.output() else (two, one)
    assert "scheduler: active" not in second.output()
    assert terminate_lock_connection_of(pg, first.pid) == 1
    wait_until(
        lambda: len(smtp_sink.snapshot()) > 1,
        6,
        "the stand-by to take over and deliver while the first is still blocked",
        explain=lambda: first.output() + second.output(),
    )
    assert "scheduler: active" in second.output()
    # Answer the blocked send before the mailer's 10 s socket timeout: it then completes.
    assert time.monotonic() - blocked_since < 9, "too slow: the blocked send would have timed out"
    smtp_sink.release()

    wait_for_delivery(world, pg, set(due), first, second)
    time.sleep(TICKS_TO_WAIT_FOR_DUPLICATES)
    assert_delivered_exactly_once(world, pg, smtp_sink, due)
    assert "lost the database" in first.output()
