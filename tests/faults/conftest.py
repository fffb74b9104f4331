"""Fixtures of the fault tests: worker processes (SIGKILLed at teardown), an inspecting PostgreSQL
connection, a scratch schema, an SMTP server on loopback, and demo worlds with reminders due."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from argon2 import PasswordHasher
from psycopg import sql

from application import accounts
from application.settings import Settings
from tests.conftest import POSTGRES_URL, require_postgres
from tests.faults.support import Processes, SmtpSink, World, demo_world


@pytest.fixture
def procs(tmp_path: Path, postgres_settings: Settings) -> Iterator[Processes]:
    """Worker subprocesses, SIGKILLed at teardown — before the test's schema is dropped."""
    processes = Processes(tmp_path)
    try:
        yield processes
    finally:
        processes.kill_all()


@pytest.fixture
def pg() -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """An autocommit connection of the test's own, for inspecting and for terminating backends."""
    require_postgres()
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        yield conn


@pytest.fixture
def scratch_schema(pg: psycopg.Connection[tuple[Any, ...]]) -> Iterator[str]:
    """A second, empty schema (for rebuilding read models from the log), dropped afterwards."""
    schema = f"r_{uuid4().hex[:12]}"
    pg.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield schema
    finally:
        pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def world_factory(
    postgres_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[int], World]]:
    """Demo worlds in the test's schema (cheap password hashing: these tests never log in)."""
    monkeypatch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    made: list[World] = []

    def make(cases: int) -> World:
        world = demo_world(postgres_settings, cases)
        made.append(world)
        return world

    try:
        yield make
    finally:
        for world in made:
            world.app.close()
