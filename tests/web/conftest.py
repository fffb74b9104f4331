"""Fixtures for the HTTP tests: the Flask client over the `app` fixture (in-memory and
PostgreSQL), and a world of organisations, logins, forums and cases to send requests at."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient

from application import accounts
from application.app import Forebyg
from application.settings import Settings
from interfaces.web import create_app
from tests.web.support import SECRET_KEY, World, build_world


@pytest.fixture(autouse=True, scope="module")
def light_password_hashing() -> Iterator[None]:
    """Hash and verify passwords with argon2id at its lightest settings: at production strength
    each of the many sign-ins and new logins per test would cost about 200 ms."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        yield


@pytest.fixture(autouse=True, scope="module")
def asynchronous_commits() -> Iterator[None]:
    """PostgreSQL connections of these tests commit without waiting for the disk: each test's
    schema is thrown away, and waiting would triple its setup time."""
    options = f"{os.environ.get('PGOPTIONS', '')} -c synchronous_commit=off".strip()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PGOPTIONS", options)
        yield


@pytest.fixture
def client(app: Forebyg) -> FlaskClient:
    return create_app(Settings(secret_key=SECRET_KEY), application=app, testing=True).test_client()


@pytest.fixture
def world(app: Forebyg, client: FlaskClient) -> World:
    return build_world(app, client)
