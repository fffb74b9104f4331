"""Connection pools after a restart: every idle connection is dead at once. The first dead one a
caller meets makes the pool drop all of them, so the caller waits one back-off (about a second),
not psycopg_pool's growing back-off per dead connection (1 + 2 + 4 + … seconds). This is what
kept the scheduler from delivering for seconds when its connections were cut mid-tick."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import psycopg
import pytest

from application.bootstrap import build_application
from application.settings import Settings

pytestmark = pytest.mark.postgres

DEAD = 4
# psycopg_pool alone: 1 + 2 + 4 s of back-off (±10 %) before the fourth dead connection is found.
UNCHECKED_STALL_SECONDS = 6.3


def fill_and_kill(pool: Any, pg: psycopg.Connection[tuple[Any, ...]], count: int) -> None:
    """Make the pool hold ``count`` idle connections, then terminate them all server-side."""
    backends = []
    with ExitStack() as stack:
        for _ in range(count):
            conn = stack.enter_context(pool.connection())
            row = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()
            backends.append(row["pid"] if isinstance(row, dict) else row[0])  # the library's rows are dicts
    assert pool.get_stats()["pool_available"] >= count
    killed = pg.execute(
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid = ANY(%s)",
        (backends,),
    ).fetchone()
    assert killed == (count,)
    time.sleep(0.2)  # the terminations reach the clients' sockets


@pytest.fixture
def pools(postgres_settings: Settings) -> Iterator[dict[str, Any]]:
    app = build_application(postgres_settings)
    try:
        yield {"event store": app.recorder.datastore.pool, "read models": app.read_store.pool}  # type: ignore[attr-defined]
    finally:
        app.close()


@pytest.mark.parametrize("which", ["event store", "read models"])
def test_a_pool_of_dead_connections_is_cleared_by_the_first_caller(
    pools: dict[str, Any], pg: psycopg.Connection[tuple[Any, ...]], which: str
) -> None:
    pool = pools[which]
    fill_and_kill(pool, pg, DEAD)

    started = time.monotonic()
    with pool.connection() as conn:
        assert conn.execute("SELECT 1").fetchone()
    took = time.monotonic() - started

    assert pool.get_stats().get("connections_lost", 0) == DEAD, pool.get_stats()
    assert took < UNCHECKED_STALL_SECONDS / 2, f"the first caller after the restart waited {took:.1f}s"
    started = time.monotonic()
    with pool.connection() as conn:  # the pool is healthy again: no back-off at all
        assert conn.execute("SELECT 1").fetchone()
    assert time.monotonic() - started < 0.5
