"""Shared fixtures: one application fixture, run on in-memory persistence and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import uuid4

import pytest

from application.app import Forebyg
from application.bootstrap import build_application, migrate
from application.settings import Settings

TODAY = date(2026, 6, 30)
POSTGRES_URL = os.environ.get("FOREBYG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("FOREBYG_REQUIRE_POSTGRES", "") not in ("", "0", "no")

_postgres_problem: str | None = None
_postgres_checked = False


def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used for tests here, or None if it can."""
    global _postgres_checked, _postgres_problem
    if not _postgres_checked:
        _postgres_checked = True
        try:
            import psycopg

            with psycopg.connect(POSTGRES_URL, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
        except Exception as error:
            _postgres_problem = f"PostgreSQL not reachable at {POSTGRES_URL}: {error}".strip()
    return _postgres_problem


def require_postgres() -> None:
    problem = postgres_problem()
    if problem:
        if REQUIRE_POSTGRES:
            pytest.fail(f"{problem} (FOREBYG_REQUIRE_POSTGRES is set: PostgreSQL tests must run)")
        pytest.skip(problem)


@pytest.fixture
def postgres_settings() -> Iterator[Settings]:
    """Settings for a fresh, migrated PostgreSQL schema of its own, dropped afterwards."""
    require_postgres()
    import psycopg

    schema = f"t_{uuid4().hex[:12]}"
    settings = Settings(database_url=f"{POSTGRES_URL}?schema={schema}&pool_size=1&max_overflow=6")
    migrate(settings)
    yield settings
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "var")
    migrate(settings)
    return settings


@pytest.fixture(params=["memory", pytest.param("postgres", marks=pytest.mark.postgres)])
def persistence(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def app(persistence: str, request: pytest.FixtureRequest) -> Iterator[Forebyg]:
    """The application on in-memory persistence, and again on PostgreSQL."""
    if persistence == "memory":
        application = Forebyg(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: TODAY)
    else:
        settings = request.getfixturevalue("postgres_settings")
        application = build_application(settings, clock=lambda: TODAY)
    yield application
    application.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    problem = postgres_problem() if _postgres_checked else None
    if problem:
        terminalreporter.write_sep("=", "PostgreSQL tests were SKIPPED", yellow=True)
        terminalreporter.write_line(problem)
        terminalreporter.write_line("Start PostgreSQL (see README) to run them; CI requires them.")
