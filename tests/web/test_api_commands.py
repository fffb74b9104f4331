"""Every command endpoint, as the contract says: every refusal — unknown id (404), stale
If-Match (412), bad input (422 with field messages), broken rule (409) — answers a problem
document and records nothing; an accepted command answers the resource's id and new version
(also as ETag), honours If-Match, and is recorded once however often it is retried with the
same Idempotency-Key."""

from __future__ import annotations

from uuid import UUID

import pytest

from tests.web.endpoints import COMMANDS, Command, Conflict
from tests.web.support import Call, World, field_errors, ok, problem


def _name(command: Command) -> str:
    return command.name


def _version(world: World, kind: str, ident: UUID) -> int:
    return world.case_version(ident) if kind == "case" else world.forum_version(ident)


def _refused_by_rule(world: World, command: Command, conflict: Conflict) -> None:
    side = world.own
    if conflict.arrange is not None:
        conflict.arrange(world, side)
    with world.records_nothing():
        body = problem(world.send(conflict.call(side)), 409)
    assert body["rule"] == conflict.rule


def _accepted_once(world: World, command: Command) -> None:
    side = world.own
    call = command.valid(side)
    headers = {"Idempotency-Key": f"retry-of-{command.name}"}
    before = 0
    if command.target is not None:
        kind, ident = command.target(side)
        before = _version(world, kind, ident)
        headers["If-Match"] = f'"{before}"'
    position = world.position()

    first = world.send(call, headers=headers)
    body = ok(first, command.status)
    assert set(body) == {"id", "version", *([command.creates] if command.creates else [])}
    assert first.headers["ETag"] == f'"{body["version"]}"'
    assert "Idempotent-Replayed" not in first.headers
    if command.target is None:
        kind = "forum" if command.rule.startswith("/api/forums") else "case"
        ident = UUID(body["id"])
    else:
        assert body["id"] == str(ident)
        assert body["version"] > before
    assert body["version"] == _version(world, kind, ident)
    assert world.send(Call("GET", f"/api/{kind}s/{ident}")).headers["ETag"] == first.headers["ETag"]
    recorded = world.position()
    assert recorded > position

    again = world.send(call, headers=headers)  # its If-Match is stale now: a retry is answered anyway
    assert ok(again, command.status) == body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == first.headers["ETag"]
    assert world.position() == recorded, "the retry recorded the command again"
    if kind == "case":
        assert world.history_length(ident) == body["version"]

    with world.records_nothing():
        reused = world.send(command.different(side), headers={"Idempotency-Key": headers["Idempotency-Key"]})
    assert "Idempotency-Key" in field_errors(reused)


@pytest.mark.parametrize("command", COMMANDS, ids=_name)
def test_a_command_records_once_what_it_accepts_and_nothing_it_refuses(
    world: World, command: Command, subtests: pytest.Subtests
) -> None:
    side = world.own
    target = command.target(side) if command.target else None
    before = _version(world, *target) if target else 0

    for label, make in command.unknown:
        with subtests.test(msg=label, expected=404), world.records_nothing():
            problem(world.send(make(side)), 404)
    if target is not None:
        with subtests.test(msg="stale If-Match", expected=412):
            with world.records_nothing():
                answer = world.send(command.valid(side), headers={"If-Match": f'"{before - 1}"'})
            assert problem(answer, 412)["current_version"] == before
    for bad in command.bad:
        with subtests.test(msg=bad.label, expected=422, field=bad.field_name):
            with world.records_nothing():
                errors = field_errors(world.send(bad.apply(command.valid(side), side)))
            assert bad.field_name in errors, errors
    for conflict in command.conflicts:
        if conflict.arrange is None:
            with subtests.test(msg=conflict.rule, expected=409):
                _refused_by_rule(world, command, conflict)
    if target is not None:
        assert _version(world, *target) == before

    with subtests.test(msg="accepted, and recorded once however often retried"):
        _accepted_once(world, command)

    for conflict in command.conflicts:
        if conflict.arrange is not None:  # arranging changes the world: last
            with subtests.test(msg=conflict.rule, expected=409):
                _refused_by_rule(world, command, conflict)
