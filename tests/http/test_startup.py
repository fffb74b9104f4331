"""Starting the web service: many workers at once on a migrated database start cleanly, and
`forebyg serve` on a database that was never migrated refuses to start (creating nothing)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from application.settings import Settings
from tests.conftest import POSTGRES_URL, require_postgres
from tests.http.conftest import Answer, Client, Server, concurrently, gunicorn_problems

pytestmark = pytest.mark.postgres

WORKERS = 8
HAMMER = 48  # requests of each kind


def test_eight_workers_started_at_once_serve_without_a_single_error(
    serve: Any, postgres_settings: Settings
) -> None:
    migrated = tables_in(postgres_settings)
    # Hammer as soon as the first worker answers, while the others may still be booting.
    server: Server = serve(WORKERS)
    client = Client(server.port).sign_in()
    calls: list[Callable[[], Answer]] = []
    for _ in range(HAMMER):
        calls.append(lambda: Client(server.port).get("/readyz"))
        calls.append(lambda: client.get("/api/forums"))
        calls.append(lambda: client.get("/api/cases"))

    answers = concurrently(calls)
    answers += [client.get("/healthz"), client.get("/api/openapi.json")]
    server.stop()
    stderr = server.stderr()

    assert sorted({a.status for a in answers}) == [200], [
        (a.status, a.body) for a in answers if a.status != 200
    ]
    booted = set(re.findall(r"Booting worker with pid: (\d+)", stderr))
    assert len(booted) == WORKERS, server.output()
    assert gunicorn_problems(stderr) == [], server.output()
    assert "Forebyg serves on http://127.0.0.1:" in server.stdout_path.read_text()
    assert tables_in(postgres_settings) == migrated  # workers create no table of their own


@pytest.fixture
def unmigrated_settings() -> Iterator[Settings]:
    """A PostgreSQL schema that exists but holds no table: `forebyg migrate` never ran."""
    require_postgres()
    import psycopg

    schema = f"t_{uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield Settings(database_url=f"{POSTGRES_URL}?schema={schema}&pool_size=2")
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def tables_in(settings: Settings) -> list[str]:
    import psycopg

    schema = settings.persistence_env()["POSTGRES_SCHEMA"]
    with psycopg.connect(POSTGRES_URL) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    return sorted(str(row[0]) for row in rows)


def test_serve_before_migrate_exits_telling_to_migrate_and_creates_nothing(
    unmigrated_settings: Settings, tmp_path: Path
) -> None:
    server = Server(unmigrated_settings, WORKERS, tmp_path).start()
    assert server.process is not None
    try:
        returncode = server.process.wait(timeout=60)
    finally:
        server.stop()  # the whole group, should serve wrongly have started gunicorn
    stdout, stderr = server.stdout_path.read_text(), server.stderr()

    assert returncode != 0, server.output()
    assert "forebyg migrate" in stderr, server.output()
    assert "Traceback" not in stderr, server.output()
    assert "Booting worker" not in stdout + stderr
    assert tables_in(unmigrated_settings) == []
    with pytest.raises(OSError):
        Client(server.port, timeout=1).get("/readyz")
