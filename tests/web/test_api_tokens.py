"""POST /api/tokens: signing in with username and password for a bearer token."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from tests.web.support import COORDINATOR, PASSWORD, USERS, Call, World, field_errors, ok, problem


def test_signing_in_answers_a_bearer_token_that_opens_the_api_for_twelve_hours(world: World) -> None:
    answer = world.client.post("/api/tokens", json={"username": COORDINATOR, "password": PASSWORD})
    body = ok(answer, 201)
    assert set(body) == {"token", "expires_at"}
    assert PASSWORD not in answer.get_data(as_text=True)
    left = datetime.fromisoformat(body["expires_at"]) - datetime.now(UTC)
    assert timedelta(hours=11, minutes=55) < left <= timedelta(hours=12)
    assert body["token"] != world.token(COORDINATOR)
    forums = world.send(Call("GET", "/api/forums"), None, {"Authorization": f"Bearer {body['token']}"})
    assert [f["id"] for f in ok(forums)["items"]] == [str(world.own.forum)]


def test_a_wrong_password_and_an_unknown_user_are_refused_alike(world: World) -> None:
    wrong = world.client.post("/api/tokens", json={"username": COORDINATOR, "password": "not-the-password"})
    unknown = world.client.post("/api/tokens", json={"username": "nobody-here", "password": PASSWORD})
    assert problem(wrong, 401) == problem(unknown, 401)
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert "not-the-password" not in wrong.get_data(as_text=True)


def test_bad_sign_in_input_is_422_naming_the_field_and_never_echoes_the_password(
    world: World, subtests: pytest.Subtests
) -> None:
    for label, body, field in (
        ("no password", {"username": COORDINATOR}, "password"),
        ("no username", {"password": PASSWORD}, "username"),
        ("empty username", {"username": "", "password": PASSWORD}, "username"),
        ("username too long", {"username": "u" * 65, "password": PASSWORD}, "username"),
        ("password too long", {"username": COORDINATOR, "password": "p" * 257}, "password"),
        ("password not text", {"username": COORDINATOR, "password": 1234567890123}, "password"),
        ("asking for a role", {"username": COORDINATOR, "password": PASSWORD, "role": "admin"}, "role"),
    ):
        with subtests.test(msg=label):
            answer = world.client.post("/api/tokens", json=body)
            assert field in field_errors(answer)
            assert PASSWORD not in answer.get_data(as_text=True)


def test_a_token_no_session_has_is_401(world: World) -> None:
    forged = secrets.token_urlsafe(32)
    answer = world.send(Call("GET", "/api/forums"), None, {"Authorization": f"Bearer {forged}"})
    problem(answer, 401)


def test_signing_out_ends_the_token_at_once_and_only_that_one(world: World) -> None:
    token = world.sign_in(USERS["member"])
    bearer = {"Authorization": f"Bearer {token}"}
    assert world.client.delete("/api/tokens/current", headers=bearer).status_code == 204
    problem(world.send(Call("GET", "/api/forums"), None, bearer), 401)
    assert world.send(Call("GET", "/api/forums"), USERS["member"]).status_code == 200
