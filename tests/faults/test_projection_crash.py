"""The projection runner SIGKILLed mid-batch, three times, then finished: its read models equal a
rebuild from the log, row for row, and its tracking position is the log's last notification."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import psycopg
import pytest

from application.reminders.dispatch import Dispatcher
from application.settings import Settings
from tests.faults.support import (
    READ_MODEL_TABLES,
    Proc,
    Processes,
    World,
    backends_of,
    cli_env,
    client_ports,
    in_read_model_transaction,
    read_model_differences,
    rebuild_into,
    table_rows,
    tracking_position,
    wait_until,
)

pytestmark = pytest.mark.postgres

# `forebyg projections` (its follow loop) with the batch sizes given, each of whose transactions
# stays open a little longer (a read model that writes nothing and dawdles): much of the catch-up
# is then spent inside uncommitted read-model transactions, where a SIGKILL is the most damaging.
# Arguments: batch size, bulk batch size (used when far behind), seconds to dawdle per batch.
RUNNER = """
import os, signal, sys, threading, time
from application.bootstrap import build_application
from application.readmodels.follow import follow
from application.settings import Settings

class Dawdle:
    name = "dawdle"
    def create_tables(self, cursor): pass
    def drop_tables(self, cursor): pass
    def apply(self, cursor, changed, events): time.sleep(float(sys.argv[3]))

app = build_application(Settings.from_environ(os.environ))
app.check_ready()
app.workflow.batch_size = int(sys.argv[1])
app.workflow.bulk_batch_size = int(sys.argv[2])
app.workflow.models.append(Dawdle())
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
follow(app, stop)
"""
# The first run catches up as production does from scratch, in one bulk batch (killed inside it);
# the next two in batches of 25, killed at random positions.
ROUNDS = (("25", "50000", "0.5"), ("25", "25", "0.03"), ("25", "25", "0.03"))


def position_reached(pg: psycopg.Connection[tuple[Any, ...]], schema: str, target: int) -> bool:
    return tracking_position(pg, schema) >= target


def describe_runner(pg: psycopg.Connection[tuple[Any, ...]], schema: str, runner: Proc) -> str:
    """The runner's state, for a failure message."""
    activity = pg.execute(
        "SELECT pid, state, xact_start IS NOT NULL, left(query, 80) FROM pg_stat_activity"
        " WHERE pid = ANY(%s)",
        (backends_of(pg, runner.pid),),
    ).fetchall()
    return (
        f"alive={runner.alive()} position={tracking_position(pg, schema)} ports={client_ports(runner.pid)}"
        f" backends={activity}\n{runner.output()}"
    )


def empty_read_models(world: World) -> None:
    """Drop every read model and its tracking position, so the runner starts from scratch."""
    projector = world.app.workflow
    with world.app.read_store.transaction() as cursor:
        for model in projector.models:
            model.drop_tables(cursor)
        cursor.execute("DELETE FROM readmodel_tracking WHERE name = ?", (projector.name,))
    projector.create_tables()


def test_runner_killed_mid_batch_three_times_then_finished_equals_a_rebuild(
    world_factory: Callable[[int], World],
    postgres_settings: Settings,
    procs: Processes,
    pg: psycopg.Connection[tuple[Any, ...]],
    scratch_schema: str,
) -> None:
    seed = int(os.environ.get("FOREBYG_FAULT_SEED", str(time.time_ns() % 2**32)))
    print(f"FOREBYG_FAULT_SEED={seed}")
    rng = random.Random(seed)
    world = world_factory(150)
    # ReminderSent events too, so that the inbox has rows to lose or duplicate.
    assert Dispatcher(world.app).dispatch().delivered
    empty_read_models(world)
    schema, env = world.schema, cli_env(postgres_settings)
    assert tracking_position(pg, schema) == 0

    kills = []
    for round_, (batch, bulk, dawdle) in enumerate(ROUNDS):
        last = world.app.recorder.max_notification_id() or 0
        start = tracking_position(pg, schema)
        runner = procs.start(f"runner-{round_}", [batch, bulk, dawdle], env, code=RUNNER)
        if batch == bulk:
            target = start + int((last - start) * rng.uniform(0.1, 0.4))
            wait_until(
                partial(position_reached, pg, schema, target),
                60,
                f"the runner to pass position {target}",
                interval=0.01,
                explain=runner.output,
            )
            time.sleep(rng.uniform(0, 0.1))
        wait_until(
            partial(in_read_model_transaction, pg, runner.pid),
            20,
            "the runner to be inside an uncommitted read-model transaction",
            interval=0.002,
            explain=partial(describe_runner, pg, schema, runner),
        )
        procs.kill(runner)
        killed_at = tracking_position(pg, schema)
        if batch == bulk:
            assert start < killed_at < last, (
                f"round {round_}: the kill did not land mid-catch-up ({start} < {killed_at} < {last})"
            )
        else:
            assert killed_at == start, f"round {round_}: the bulk batch was not rolled back as a whole"
        kills.append(killed_at)
        # The log grows while the runner is down: a referral, and a new organisation.
        world.refer_unassessed(days_ago=20 + round_)
        world.app.add_organisation(
            f"fault-org-{round_}", name=f"Fault org {round_}", kind="other", email=f"f{round_}@x.example"
        )
    print(f"killed at positions {kills} of {world.app.recorder.max_notification_id()}")

    code, output = procs.run("projections-once", ["projections", "--once"], env)
    assert code == 0, output
    assert "rebuilt" not in output  # the read models were caught up, not rebuilt
    last = world.app.recorder.max_notification_id() or 0
    assert tracking_position(pg, schema) == last, output
    assert f"position {last}" in output

    actual = table_rows(pg, schema)
    assert rebuild_into(world.app, postgres_settings, scratch_schema) == last
    rebuilt = table_rows(pg, scratch_schema)
    assert read_model_differences(actual, rebuilt) == []
    assert all(actual[table] for table in READ_MODEL_TABLES), "a read model is empty: nothing compared"
    assert sum(actual["board_cases"].values()) > 150
