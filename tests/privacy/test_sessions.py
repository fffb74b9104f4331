"""Sessions and the HTTP surface: a bearer token dies on sign-out, after the idle timeout and at
the absolute timeout (in every worker: sessions live in the shared store); every answer carries
the security headers, Strict-Transport-Security only over HTTPS; the session cookie is locked
down. (Login throttling across two worker processes: test_served.py.)"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import Headers

from application.demo import register_accounts
from application.settings import Settings
from interfaces.web import create_app
from tests.privacy.support import COORDINATOR, MEMBER, SECRET_KEY, Store, bearer, sign_in, web_client


@pytest.fixture
def flask_apps(sqlite_store: Store) -> Iterator[list[Flask]]:
    """Web apps built as `forebyg serve` builds them: from an environment, each with its own
    application (closed at teardown)."""
    register_accounts(sqlite_store.app())
    built: list[Flask] = []
    yield built
    for flask_app in built:
        flask_app.extensions["forebyg"].close()


def configured(store: Store, built: list[Flask], **environ: str) -> FlaskClient:
    env: Mapping[str, str] = {
        "FOREBYG_DATA_DIR": str(store.settings.data_dir),
        "FOREBYG_SECRET_KEY": SECRET_KEY,
        **environ,
    }
    flask_app = create_app(Settings.from_environ(env))
    built.append(flask_app)
    return flask_app.test_client()


def status(client: FlaskClient, token: str) -> int:
    return client.get("/api/forums", headers=bearer(token)).status_code


def test_a_token_is_dead_at_once_after_signing_out_in_every_worker(sqlite_store: Store) -> None:
    register_accounts(sqlite_store.app())
    one, other = web_client(sqlite_store.app()), web_client(sqlite_store.app())
    token, kept = sign_in(one, COORDINATOR), sign_in(one, COORDINATOR)
    assert status(one, token) == 200 and status(other, token) == 200
    assert one.delete("/api/tokens/current", headers=bearer(token)).status_code == 204
    for client in (one, other):
        answer = client.get("/api/forums", headers=bearer(token))
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert other.delete("/api/tokens/current", headers=bearer(token)).status_code == 401
    assert status(other, kept) == 200, "signing out ended another session of the same user"


def test_a_token_is_dead_after_the_idle_timeout(sqlite_store: Store, flask_apps: list[Flask]) -> None:
    client = configured(sqlite_store, flask_apps, FOREBYG_SESSION_IDLE_SECONDS="2")
    token = sign_in(client, MEMBER)
    assert status(client, token) == 200
    time.sleep(3)
    assert status(client, token) == 401
    assert status(client, sign_in(client, MEMBER)) == 200


def test_a_token_in_use_is_not_idle(sqlite_store: Store, flask_apps: list[Flask]) -> None:
    """The idle timeout counts from the last use: a token used every second outlives it."""
    client = configured(sqlite_store, flask_apps, FOREBYG_SESSION_IDLE_SECONDS="2")
    token = sign_in(client, MEMBER)
    answers = []
    for _ in range(4):
        time.sleep(1)
        answers.append(status(client, token))
    assert answers == [200] * 4, f"a session used every second died of inactivity: {answers}"


def test_a_token_is_dead_at_the_absolute_timeout_even_in_use(
    sqlite_store: Store, flask_apps: list[Flask]
) -> None:
    client = configured(sqlite_store, flask_apps, FOREBYG_SESSION_ABSOLUTE_SECONDS="2")
    signed_in = datetime.now(UTC)
    answer = client.post("/api/tokens", json={"username": COORDINATOR, "password": "demo-password-2020"})
    assert answer.status_code == 201
    token, expires_at = answer.get_json()["token"], datetime.fromisoformat(answer.get_json()["expires_at"])
    assert 1 <= (expires_at - signed_in).total_seconds() <= 3
    assert status(client, token) == 200
    time.sleep(1)
    assert status(client, token) == 200
    time.sleep(2)
    assert status(client, token) == 401


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def check_security_headers(headers: Headers, where: str) -> None:
    assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), where
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, (where, name, headers.get(name))
    assert headers.get("Referrer-Policy") in ("no-referrer", "same-origin", "strict-origin"), where


def test_every_answer_carries_the_security_headers_and_hsts_only_over_https(
    sqlite_store: Store, flask_apps: list[Flask]
) -> None:
    app = sqlite_store.app()
    client = web_client(app)
    token = sign_in(client, COORDINATOR)
    answers = {
        "health": client.get("/healthz"),
        "read": client.get("/api/forums", headers=bearer(token)),
        "401": client.get("/api/forums"),
        "404": client.get("/api/nothing-here", headers=bearer(token)),
        "422": client.post("/api/tokens", json={"username": ""}),
        "401 sign-in": client.post("/api/tokens", json={"username": MEMBER, "password": "wrong-password-1"}),
    }
    for where, answer in answers.items():
        check_security_headers(answer.headers, where)
        assert "Strict-Transport-Security" not in answer.headers, f"HSTS over plain HTTP ({where})"

    secure = web_client(app).get("/healthz", base_url="https://localhost")
    check_security_headers(secure.headers, "https")
    assert "max-age=" in secure.headers.get("Strict-Transport-Security", ""), "no HSTS over HTTPS"

    spoofed = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers, "X-Forwarded-Proto trusted without a proxy"

    proxied = configured(sqlite_store, flask_apps, FOREBYG_BEHIND_TLS_PROXY="1")
    behind = proxied.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    check_security_headers(behind.headers, "behind a TLS proxy")
    assert "max-age=" in behind.headers.get("Strict-Transport-Security", ""), "no HSTS behind the TLS proxy"
    plain = proxied.get("/healthz", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers


def test_the_session_cookie_is_secure_http_only_and_same_site(
    sqlite_store: Store, flask_apps: list[Flask]
) -> None:
    configured(sqlite_store, flask_apps)
    config = flask_apps[0].config
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] in ("Strict", "Lax")
    assert config["SECRET_KEY"] == SECRET_KEY
