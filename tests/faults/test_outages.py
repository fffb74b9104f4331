"""Database trouble seen by long-running workers, without restarting the shared server: every
connection a worker holds is terminated (pg_terminate_backend), once — as a server restart or a
fail-over does — or again and again for a few seconds (an outage), while the rest of the system
keeps recording. The worker must recover on its own, promptly, and lose or repeat nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import UUID

import psycopg
import pytest

from application.settings import Settings
from tests.faults.support import (
    Proc,
    Processes,
    SmtpSink,
    World,
    assert_delivered_exactly_once,
    backends_of,
    cli_env,
    outage,
    read_model_differences,
    rebuild_into,
    table_rows,
    terminate_backends_of,
    tracking_position,
    wait_for_delivery,
    wait_until,
)

pytestmark = pytest.mark.postgres

OUTAGE_SECONDS = 2.5
# After a restart (all connections cut once), a worker should work again within a few seconds:
# the follower retries after 0.5 s and is woken by LISTEN; the scheduler ticks every second.
FOLLOWER_RECOVERY_SECONDS = 3.0
SCHEDULER_RECOVERY_SECONDS = 4.0
GIVE_UP_SECONDS = 45.0  # only a bound for waiting; latency is asserted separately


def start_follower(world: World, procs: Processes, pg: psycopg.Connection[tuple[Any, ...]]) -> Proc:
    follower = procs.start("projections", ["projections"], cli_env(world.settings))
    wait_until(lambda: follower_caught_up(world, pg, []), 30, "the first catch-up", explain=follower.output)
    return follower


def follower_caught_up(world: World, pg: psycopg.Connection[tuple[Any, ...]], cases: list[UUID]) -> bool:
    if tracking_position(pg, world.schema) != world.app.recorder.max_notification_id():
        return False
    on_board = pg.execute(
        f'SELECT count(*) FROM "{world.schema}".board_cases WHERE case_id = ANY(%s)',
        ([str(c) for c in cases],),
    ).fetchone()
    return bool(on_board and on_board[0] == len(cases))


def test_follower_catches_up_within_seconds_after_its_connections_are_cut(
    world_factory: Callable[[int], World], procs: Processes, pg: psycopg.Connection[tuple[Any, ...]]
) -> None:
    world = world_factory(10)
    follower = start_follower(world, procs, pg)
    took = []
    for round_ in range(2):
        wait_until(lambda: len(backends_of(pg, follower.pid)) >= 3, 10, "the follower's connections")
        assert terminate_backends_of(pg, follower.pid) >= 3
        case_id = world.refer_unassessed(days_ago=10 + round_)
        took.append(
            wait_until(
                partial(follower_caught_up, world, pg, [case_id]),
                GIVE_UP_SECONDS,
                f"the follower to catch up after cut {round_ + 1}",
                explain=follower.output,
            )
        )
        assert follower.alive(), follower.output()
    print(f"caught up {', '.join(f'{t:.1f}s' for t in took)} after each cut")
    assert max(took) <= FOLLOWER_RECOVERY_SECONDS, (
        f"the follower needed {', '.join(f'{t:.1f}s' for t in took)} to catch up after its connections"
        f" were cut (at most {FOLLOWER_RECOVERY_SECONDS}s expected):\n{follower.output()}"
    )


def test_follower_survives_an_outage_and_its_read_models_equal_a_rebuild(
    world_factory: Callable[[int], World],
    procs: Processes,
    pg: psycopg.Connection[tuple[Any, ...]],
    postgres_settings: Settings,
    scratch_schema: str,
) -> None:
    world = world_factory(10)
    follower = start_follower(world, procs, pg)
    cut = outage(pg, follower.pid, OUTAGE_SECONDS / 2)
    # Meanwhile the application keeps recording (its own connections are untouched).
    new_cases = [world.refer_unassessed(days_ago=12), world.agree_overdue_action()]
    cut += outage(pg, follower.pid, OUTAGE_SECONDS / 2)
    assert cut >= 3, "the outage cut no connection of the follower"
    took = wait_until(
        lambda: follower_caught_up(world, pg, new_cases),
        GIVE_UP_SECONDS,
        "the follower to catch up after the outage",
        explain=follower.output,
    )
    print(f"{cut} connections cut in {OUTAGE_SECONDS}s; caught up {took:.1f}s after the outage")
    assert follower.alive() and "retrying" in follower.output(), follower.output()

    rebuild_into(world.app, postgres_settings, scratch_schema)
    assert read_model_differences(table_rows(pg, world.schema), table_rows(pg, scratch_schema)) == []


def start_scheduler_and_deliver(
    world: World, procs: Processes, smtp_sink: SmtpSink, pg: psycopg.Connection[tuple[Any, ...]]
) -> tuple[Proc, dict[str, str]]:
    """A scheduler running, with what was due at its start delivered."""
    due = world.due_reminders()
    scheduler = procs.start("scheduler", ["scheduler"], cli_env(world.settings, smtp_url=smtp_sink.url))
    wait_for_delivery(world, pg, set(due), scheduler)
    return scheduler, due


def test_scheduler_re_takes_its_lock_and_delivers_within_seconds_after_its_connections_are_cut(
    world_factory: Callable[[int], World],
    procs: Processes,
    smtp_sink: SmtpSink,
    pg: psycopg.Connection[tuple[Any, ...]],
) -> None:
    world = world_factory(10)
    scheduler, due = start_scheduler_and_deliver(world, procs, smtp_sink, pg)
    took = []
    for round_ in range(2):
        assert terminate_backends_of(pg, scheduler.pid) >= 2  # the lock's connection and the pools'
        world.refer_unassessed(days_ago=30 + round_)
        due = world.due_reminders()
        took.append(wait_for_delivery(world, pg, set(due), scheduler, timeout=GIVE_UP_SECONDS))
    time.sleep(2.5)  # two more ticks: nothing is delivered twice
    print(f"delivered {', '.join(f'{t:.1f}s' for t in took)} after each cut")

    log = scheduler.output()
    assert scheduler.alive(), log
    assert log.count("active (advisory lock taken)") == 3, log
    assert_delivered_exactly_once(world, pg, smtp_sink, due)
    assert max(took) <= SCHEDULER_RECOVERY_SECONDS, (
        f"the scheduler needed {', '.join(f'{t:.1f}s' for t in took)} to deliver again after its"
        f" connections were cut (at most {SCHEDULER_RECOVERY_SECONDS}s expected):\n{log}"
    )


def test_scheduler_survives_an_outage_and_keeps_delivering(
    world_factory: Callable[[int], World],
    procs: Processes,
    smtp_sink: SmtpSink,
    pg: psycopg.Connection[tuple[Any, ...]],
) -> None:
    world = world_factory(10)
    scheduler, due = start_scheduler_and_deliver(world, procs, smtp_sink, pg)

    cut = outage(pg, scheduler.pid, OUTAGE_SECONDS / 2)
    world.refer_unassessed(days_ago=30)
    world.agree_overdue_action()
    cut += outage(pg, scheduler.pid, OUTAGE_SECONDS / 2)
    assert cut >= 2, "the outage cut no connection of the scheduler"
    due_now = world.due_reminders()
    assert len(set(due_now) - set(due)) >= 4
    took = wait_for_delivery(world, pg, set(due_now), scheduler, timeout=GIVE_UP_SECONDS)
    print(f"{cut} connections cut in {OUTAGE_SECONDS}s; delivered {took:.1f}s after the outage")
    time.sleep(2.5)  # two more ticks: nothing is delivered twice

    log = scheduler.output()
    assert scheduler.alive(), log
    assert "lost the database" in log and log.count("active (advisory lock taken)") >= 2, log
    assert_delivered_exactly_once(world, pg, smtp_sink, due_now)
