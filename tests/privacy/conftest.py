"""Fixtures of the privacy and security tests: a real store (a SQLite file, and a PostgreSQL
schema of the test's own), with raw access to its tables; light password hashing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from application import accounts
from application.settings import Settings
from tests.privacy.support import Store


@pytest.fixture(autouse=True, scope="module")
def light_password_hashing() -> Iterator[None]:
    """argon2id at its lightest settings for the logins the tests create (a server verifies a
    password with the parameters stored in its hash, so gunicorn workers are fast too)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        yield


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """A migrated store: the embedded SQLite file, and again a PostgreSQL schema."""
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    found = Store(str(request.param), settings)
    yield found
    found.close()


@pytest.fixture
def sqlite_store(sqlite_settings: Settings) -> Iterator[Store]:
    found = Store("sqlite", sqlite_settings)
    yield found
    found.close()


@pytest.fixture
def postgres_store(postgres_settings: Settings) -> Iterator[Store]:
    found = Store("postgres", postgres_settings)
    yield found
    found.close()
