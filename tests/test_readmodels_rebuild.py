"""However the log is cut into batches — a few events at a time as a follower sees it, bulk
batches when far behind, the rebuild's large ones, rows written one statement each or by COPY —
the read models come out the same."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from application.app import Forebyg
from application.bootstrap import build_application
from application.demo import build_demo
from application.readmodels import store
from application.readmodels.projector import Projector
from application.reminders.dispatch import Dispatcher
from application.settings import Settings
from tests.conftest import TODAY
from tests.faults.support import READ_MODEL_TABLES


def read_models(app: Forebyg) -> dict[str, list[tuple[Any, ...]]]:
    rows = {}
    with app.read_store.transaction() as cursor:
        for table in READ_MODEL_TABLES:
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")
            rows[table] = [tuple(row) for row in cursor.fetchall()]
    return rows


def rebuild_in_batches(app: Forebyg, batch: int, bulk: int, rebuild: int) -> dict[str, list[tuple[Any, ...]]]:
    projector = app.workflow
    projector.batch_size, projector.bulk_batch_size, projector.rebuild_batch_size = batch, bulk, rebuild
    projector.rebuild()
    return read_models(app)


def test_read_models_are_the_same_however_the_log_is_batched(
    app: Forebyg, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_demo(app, today=TODAY, cases=40)
    assert Dispatcher(app).dispatch().delivered  # reminders delivered: the inbox has rows
    assert app.recorder.max_notification_id() > 300  # type: ignore[attr-defined]
    followed = rebuild_in_batches(app, 3, 3, 3)  # as a follower sees the log, a few events at a time
    assert followed["board_cases"] and followed["board_actions"] and followed["inbox"]
    assert followed["reminders_due"]

    assert rebuild_in_batches(app, 7, 40, 150) == followed
    monkeypatch.setattr(store, "BULK_ROWS", 5)  # rows by COPY on PostgreSQL
    assert rebuild_in_batches(app, 7, 40, 150) == followed
    assert rebuild_in_batches(app, 2000, 50_000, 200_000) == followed  # one batch


def tracking_rows(app: Forebyg) -> list[tuple[Any, ...]]:
    with app.read_store.transaction() as cursor:
        cursor.execute("SELECT name, position FROM readmodel_tracking ORDER BY name")
        return [tuple(row) for row in cursor.fetchall()]


@pytest.fixture
def pg_demo(postgres_settings: Settings) -> Iterator[Forebyg]:
    """A demo municipality on PostgreSQL with reminders delivered, read models built."""
    app = build_application(postgres_settings, clock=lambda: TODAY)
    build_demo(app, today=TODAY, cases=40)
    assert Dispatcher(app).dispatch().delivered
    yield app
    app.close()


@pytest.mark.postgres
def test_a_rebuild_in_parts_by_several_processes_equals_one_in_this_process(pg_demo: Forebyg) -> None:
    app, projector = pg_demo, pg_demo.workflow
    projector.partitions = 1
    whole_applied = projector.rebuild()
    whole = read_models(app)
    last = app.recorder.max_notification_id()  # type: ignore[attr-defined]
    assert whole["board_cases"] and whole["inbox"] and whole["reminders_due"]

    projector.partitions, projector.partition_from = 3, 0  # three parts, however short the log
    assert projector.rebuild() == whole_applied
    assert read_models(app) == whole
    assert tracking_rows(app) == [("workflow", last)]  # the parts' positions are gone


@pytest.mark.postgres
def test_a_rebuild_in_parts_that_stops_midway_is_resumed_and_nothing_is_applied_meanwhile(
    pg_demo: Forebyg, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, projector = pg_demo, pg_demo.workflow
    projector.partitions = 1
    projector.rebuild()
    whole = read_models(app)

    projector.partitions, projector.partition_from = 2, 0
    projector.batch_size, projector.bulk_batch_size, projector.rebuild_batch_size = 10, 30, 30
    applied_batches = 0
    apply_batch = Projector._apply_batch

    def crash_after_two(self: Projector, *args: Any) -> None:
        nonlocal applied_batches
        if args[3] == "workflow#0":  # (position, new position, rows, tracking): part 0's batches
            if applied_batches == 2:
                raise RuntimeError("killed")
            applied_batches += 1
        apply_batch(self, *args)

    monkeypatch.setattr(Projector, "_apply_batch", crash_after_two)  # in this process only
    with pytest.raises(RuntimeError, match="killed"):
        projector.rebuild()
    monkeypatch.undo()
    parts = dict(tracking_rows(app))
    assert "workflow" not in parts  # the group's position appears only at the end
    assert 0 < parts["workflow#0"] < parts["workflow#target"]  # stopped midway, its batches kept

    assert projector.catch_up() == 0  # a web worker's catch-up applies nothing meanwhile
    assert dict(tracking_rows(app)) == parts

    with app.read_store.exclusive("rebuild workflow", wait=False) as alone:  # type: ignore[attr-defined]
        assert alone  # as if another process were finishing the rebuild:
        assert projector.catch_up(resume=True) == 0  # this one leaves it be
    assert dict(tracking_rows(app)) == parts

    projector.catch_up(resume=True)  # as `forebyg projections` does
    assert read_models(app) == whole
    assert tracking_rows(app) == [("workflow", app.recorder.max_notification_id())]  # type: ignore[attr-defined]


def test_a_part_process_exits_when_the_process_that_started_it_is_gone() -> None:
    """A part's worker must not linger once its rebuilding process was killed (its committed
    batches are kept; the next `forebyg projections` finishes the rebuild)."""
    import subprocess
    import sys
    import time

    began = time.monotonic()
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time; from application.readmodels.projector import _exit_with_parent;"
            " _exit_with_parent(-1); time.sleep(30)",  # its parent is not process -1: gone at once
        ],
        timeout=20,
        check=False,
    )
    assert child.returncode == 1
    assert time.monotonic() - began < 15
