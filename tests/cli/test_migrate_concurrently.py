"""`forebyg migrate` run by several replicas at once on a fresh store (as each replica may run it
at start): every run exits 0 without a traceback, and the store is made exactly once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest

from tests.conftest import POSTGRES_URL, require_postgres

REPO = Path(__file__).resolve().parents[2]
PROCESSES = 4
CLI = "import sys; from interfaces.cli import main; sys.exit(main())"


def migrate_at_once(env: dict[str, str]) -> list[tuple[int, str]]:
    """``PROCESSES`` `forebyg migrate` started together; their exit codes and outputs."""
    base = {key: value for key, value in os.environ.items() if not key.startswith("FOREBYG_")}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", CLI, "migrate"],
            cwd=REPO,
            env={**base, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    return [(run.wait(120), run.communicate()[0]) for run in runs]


def assert_all_succeeded(results: list[tuple[int, str]]) -> None:
    failed = [output for code, output in results if code != 0 or "Traceback" in output]
    assert failed == [], f"{len(failed)} of {len(results)} runs failed:\n" + "\n---\n".join(failed)
    assert all("Forebyg tables are ready" in output for _, output in results)


@pytest.fixture
def fresh_schemas() -> Iterator[list[str]]:
    require_postgres()
    made: list[str] = []
    yield made
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        for schema in made:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.postgres
def test_four_migrates_at_once_on_a_fresh_postgresql_schema_all_succeed_and_make_it_once(
    fresh_schemas: list[str],
) -> None:
    for _round in range(4):
        schema = f"m_{uuid4().hex[:12]}"
        fresh_schemas.append(schema)
        assert_all_succeeded(migrate_at_once({"FOREBYG_DATABASE_URL": f"{POSTGRES_URL}?schema={schema}"}))
        with psycopg.connect(POSTGRES_URL) as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
                ).fetchall()
            ]
            generation = conn.execute(f'SELECT count(*) FROM "{schema}".keystore_generation').fetchone()
        assert len(tables) == len(set(tables)) and {"forebyg_events", "subject_keys", "inbox"} <= set(tables)
        assert generation == (1,)


def test_four_migrates_at_once_on_a_fresh_sqlite_store_all_succeed_and_make_it_once(tmp_path: Path) -> None:
    for n in range(3):
        data_dir = tmp_path / f"round-{n}" / "var"
        assert_all_succeeded(migrate_at_once({"FOREBYG_DATA_DIR": str(data_dir)}))
        with sqlite3.connect(data_dir / "forebyg.sqlite3") as conn:
            tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            generation = conn.execute("SELECT count(*) FROM keystore_generation").fetchone()
        assert len(tables) == len(set(tables)) and {"stored_events", "subject_keys", "inbox"} <= set(tables)
        assert generation == (1,)
