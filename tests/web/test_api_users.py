"""Ending an account's access through the API (administrators only): deactivation, a password
reset and signing a user out everywhere each end the user's sessions at once; a deactivated
user cannot sign in; every refusal records nothing."""

from __future__ import annotations

from tests.web.support import PASSWORD, USERS, Call, World, field_errors, ok, problem

ADMIN = USERS["admin"]
MEMBER = USERS["member"]
NEW_PASSWORD = "ny-hest-batteri-klips-2026"


def _sign_in(world: World, username: str, password: str = PASSWORD) -> int:
    return world.client.post("/api/tokens", json={"username": username, "password": password}).status_code


def _forums(world: World, token: str) -> int:
    return world.client.get("/api/forums", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_deactivated_users_tokens_answer_401_at_once_and_they_cannot_sign_in(world: World) -> None:
    tokens = [world.token(MEMBER), world.sign_in(MEMBER)]
    assert [_forums(world, t) for t in tokens] == [200, 200]
    before = ok(world.send(Call("GET", f"/api/users/{MEMBER}"), ADMIN))
    assert before["active"] is True and before["deactivated_by"] is None
    answer = world.send(Call("POST", f"/api/users/{MEMBER}/deactivation"), ADMIN)
    recorded = ok(answer)
    assert answer.headers["ETag"] == f'"{recorded["version"]}"'
    assert [_forums(world, t) for t in tokens] == [401, 401]
    assert _sign_in(world, MEMBER) == 401
    after = ok(world.send(Call("GET", f"/api/users/{MEMBER}"), ADMIN))
    assert after["active"] is False and after["deactivated_by"] == ADMIN
    assert after["deactivated_at"] and after["version"] == recorded["version"] > before["version"]
    with world.records_nothing():
        assert problem(world.send(Call("POST", f"/api/users/{MEMBER}/deactivation"), ADMIN), 409)
        problem(world.send(Call("POST", f"/api/users/{MEMBER}/sign-out"), ADMIN), 409)
    assert _forums(world, world.token(ADMIN)) == 200


def test_a_password_reset_ends_the_users_sessions_and_only_the_new_password_signs_in(world: World) -> None:
    old = world.token(MEMBER)
    ok(world.send(Call("POST", f"/api/users/{MEMBER}/password-reset", {"password": NEW_PASSWORD}), ADMIN))
    assert _forums(world, old) == 401
    assert _sign_in(world, MEMBER) == 401
    assert _sign_in(world, MEMBER, NEW_PASSWORD) == 201


def test_signing_a_user_out_ends_every_session_of_theirs_only(world: World) -> None:
    tokens = [world.token(MEMBER), world.sign_in(MEMBER)]
    coordinator = world.token(USERS["coordinator"])
    ok(world.send(Call("POST", f"/api/users/{MEMBER}/sign-out"), ADMIN))
    assert [_forums(world, t) for t in tokens] == [401, 401]
    assert _forums(world, coordinator) == 200
    assert _forums(world, world.sign_in(MEMBER)) == 200, "the user may sign in again"


def test_only_an_administrator_ends_an_accounts_access(world: World) -> None:
    for role in ("coordinator", "member", "evaluator", "dpo"):
        for call in (
            Call("POST", f"/api/users/{MEMBER}/deactivation"),
            Call("POST", f"/api/users/{MEMBER}/sign-out"),
            Call("POST", f"/api/users/{MEMBER}/password-reset", {"password": NEW_PASSWORD}),
            Call("GET", f"/api/users/{MEMBER}"),
        ):
            with world.records_nothing():
                problem(world.send(call, USERS[role]), 403)
    assert _forums(world, world.token(MEMBER)) == 200


def test_bad_input_unknown_users_and_stale_versions_change_nothing(world: World) -> None:
    path = f"/api/users/{MEMBER}"
    version = ok(world.send(Call("GET", path), ADMIN))["version"]
    with world.records_nothing():
        short = Call("POST", f"{path}/password-reset", {"password": "kort"})
        assert "password" in field_errors(world.send(short, ADMIN))
        assert "password" in field_errors(world.send(Call("POST", f"{path}/password-reset", {}), ADMIN))
        for unknown in ("nobody", "Not%20A%20Name"):
            problem(world.send(Call("POST", f"/api/users/{unknown}/deactivation"), ADMIN), 404)
        stale = world.send(Call("POST", f"{path}/deactivation"), ADMIN, {"If-Match": f'"{version + 1}"'})
        assert problem(stale, 412)["current_version"] == version
    assert _forums(world, world.token(MEMBER)) == 200
    ok(world.send(Call("POST", f"{path}/sign-out"), ADMIN, {"If-Match": f'"{version}"'}))


def test_a_retried_deactivation_with_its_idempotency_key_answers_the_first_answer(world: World) -> None:
    call, key = Call("POST", f"/api/users/{MEMBER}/deactivation"), {"Idempotency-Key": "deactivate-1"}
    first = world.send(call, ADMIN, key)
    with world.records_nothing():
        retry = world.send(call, ADMIN, key)
    assert ok(retry) == ok(first) and retry.headers["Idempotent-Replayed"] == "true"
