"""However the log is cut into batches — a few events at a time as a follower sees it, bulk
batches when far behind, the rebuild's large ones, rows written one statement each or by COPY —
the read models come out the same."""

from __future__ import annotations

from typing import Any

import pytest

from application.app import Forebyg
from application.demo import build_demo
from application.readmodels import store
from application.reminders.dispatch import Dispatcher
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
