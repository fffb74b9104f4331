"""What every endpoint shares: the bearer token (401), JSON bodies (415, 413, 422), methods
(405), the If-Match and Idempotency-Key headers, health, and the OpenAPI document."""

from __future__ import annotations

import io
import json
import re
from typing import Any
from uuid import uuid4

import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from application.accounts import user_id
from application.bootstrap import build_application
from application.settings import Settings
from interfaces.web import create_app
from tests.conftest import POSTGRES_URL, require_postgres
from tests.web.endpoints import BY_NAME, complete, sample, schedule
from tests.web.support import (
    COORDINATOR,
    JSON,
    SECRET_KEY,
    USERS,
    Call,
    World,
    field_errors,
    ok,
    problem,
    registered_operations,
)

OPERATIONS = registered_operations()
PROTECTED = [op for op in OPERATIONS if not op.public]
WITH_BODY = [op for op in OPERATIONS if op.request is not None]
MAX_BODY = 256 * 1024


def _name(method: str, path: str) -> str:
    return f"{method} {path}"


# --- authentication ----------------------------------------------------------------------


def test_every_protected_endpoint_answers_401_without_a_valid_token(
    world: World, subtests: pytest.Subtests
) -> None:
    foreign = URLSafeTimedSerializer("k" * 32, salt="forebyg-api-token").dumps(
        {"u": user_id(COORDINATOR).hex}
    )
    attempts = {
        "no Authorization header": {},
        "a bearer token that is no token": {"Authorization": "Bearer nonsense"},
        "an empty bearer token": {"Authorization": "Bearer "},
        "basic credentials": {"Authorization": "Basic Y29vcmRpbmF0b3ItYTpwYXNzd29yZA=="},
        "a token signed with another key": {"Authorization": f"Bearer {foreign}"},
    }
    for op in PROTECTED:
        call = sample(op.method, op.path, world.own)
        for label, headers in attempts.items():
            with subtests.test(msg=f"{_name(op.method, op.path)}: {label}"):
                with world.records_nothing():
                    answer = world.send(call, username=None, headers=headers)
                problem(answer, 401)
                assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unauthenticated_request_is_401_whatever_its_body_or_query(
    world: World, subtests: pytest.Subtests
) -> None:
    for op in PROTECTED:
        call = sample(op.method, op.path, world.own)
        if op.request is not None:
            call = call.with_body({"unexpected": True})
        elif op.query is not None:
            call = Call(call.method, call.path, call.body, {"limit": "-1", "status": "bogus", "as_of": "x"})
        else:
            continue
        with subtests.test(msg=_name(op.method, op.path)), world.records_nothing():
            problem(world.send(call, username=None), 401)


# --- bodies -------------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_415(world: World, subtests: pytest.Subtests) -> None:
    for op in WITH_BODY:
        call = sample(op.method, op.path, world.own)
        text = json.dumps(call.body)
        for label, data, content_type in (
            ("text/plain", text, "text/plain"),
            ("a form", "org=politi", "application/x-www-form-urlencoded"),
            ("no content type", text, None),
            ("another JSON type", text, "application/merge-patch+json"),
        ):
            with subtests.test(msg=f"{_name(op.method, op.path)}: {label}"):
                with world.records_nothing():
                    answer = world.send_raw(op.method, call.path, data, content_type)
                assert "Content-Type" in problem(answer, 415)["errors"]


def test_a_body_over_256_kib_is_413(world: World, subtests: pytest.Subtests) -> None:
    oversize = json.dumps({"padding": "x" * MAX_BODY})
    for op in WITH_BODY:
        call = sample(op.method, op.path, world.own)
        with subtests.test(msg=_name(op.method, op.path)), world.records_nothing():
            problem(world.send_raw(op.method, call.path, oversize, JSON), 413)


def _send_chunked(world: World, method: str, path: str, data: bytes) -> Any:
    """A body whose length is not announced: as gunicorn hands a chunked one to the app, the
    server marking its end (wsgi.input_terminated), and Transfer-Encoding: chunked."""
    return world.client.open(
        path,
        method=method,
        headers={
            "Authorization": f"Bearer {world.token(COORDINATOR)}",
            "Content-Type": JSON,
            "Transfer-Encoding": "chunked",
        },
        input_stream=io.BytesIO(data),
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_a_chunked_body_over_256_kib_is_413_not_a_truncated_body(
    world: World, subtests: pytest.Subtests
) -> None:
    oversize = json.dumps({"padding": "x" * MAX_BODY}).encode()
    for op in WITH_BODY:
        call = sample(op.method, op.path, world.own)
        with subtests.test(msg=_name(op.method, op.path)), world.records_nothing():
            answer = _send_chunked(world, op.method, call.path, oversize)
            assert answer.request.content_length is None
            problem(answer, 413)


def test_a_chunked_body_of_exactly_256_kib_is_read_whole(world: World) -> None:
    at_limit = json.dumps({"padding": "x" * (MAX_BODY - len('{"padding": ""}'))}).encode()
    assert len(at_limit) == MAX_BODY
    call = BY_NAME["refer_case"].valid(world.own)
    with world.records_nothing():
        answer = _send_chunked(world, "POST", call.path, at_limit)
    assert "padding" in problem(answer, 422)["errors"]  # read and judged, not refused unread


def test_a_body_that_is_not_a_json_object_is_422(world: World, subtests: pytest.Subtests) -> None:
    path = BY_NAME["refer_case"].valid(world.own).path
    for label, data in (
        ("broken JSON", b'{"forum_id": '),
        ("an array", b"[]"),
        ("null", b"null"),
        ("a string", b'"refer"'),
        ("no body at all", b""),
        ("bytes that are not UTF-8", b'{"concern": "\xff\xfe"}'),
    ):
        with subtests.test(msg=label), world.records_nothing():
            assert "_body" in field_errors(world.send_raw("POST", path, data, JSON))


def test_a_json_key_given_twice_is_422_naming_it(world: World) -> None:
    path = f"/api/forums/{world.own.forum}/meetings"
    with world.records_nothing():
        body = b'{"planned_on": "2026-07-01", "planned_on": "2026-07-08"}'
        answer = world.send_raw("POST", path, body, JSON)
        assert field_errors(answer) == {"planned_on": ["is given twice in the JSON body"]}


def test_two_idempotency_keys_are_refused_not_merged(world: World) -> None:
    call = schedule(world.own)
    headers = [("Idempotency-Key", "first"), ("Idempotency-Key", "second")]
    with world.records_nothing():
        answer = world.client.open(
            call.path,
            method=call.method,
            json=call.body,
            headers=[*headers, ("Authorization", f"Bearer {world.token(COORDINATOR)}")],
        )
        assert "Idempotency-Key" in field_errors(answer)
    with world.records_nothing():
        merged = world.send(call, headers={"Idempotency-Key": "first, second"})
        assert "Idempotency-Key" in field_errors(merged)


def test_deeply_nested_json_is_422_not_a_server_error(world: World) -> None:
    call = BY_NAME["establish_forum"].valid(world.own)
    nested = '{"name": ' + "[" * 50_000 + "]" * 50_000 + "}"
    assert len(nested) < MAX_BODY
    with world.records_nothing():
        field_errors(world.send_raw("POST", call.path, nested, JSON))


def test_text_that_is_not_unicode_is_422_not_a_server_error(world: World) -> None:
    call = BY_NAME["establish_forum"].valid(world.own)
    body = json.dumps({**(call.body or {}), "name": "Forum \ud800 Nord"})  # a lone surrogate
    with world.records_nothing():
        assert "name" in field_errors(world.send_raw("POST", call.path, body, JSON))


def test_a_nul_character_in_text_never_breaks_the_forum_and_case_lists(world: World) -> None:
    call = BY_NAME["establish_forum"].valid(world.own)
    answer = world.send(call.with_body({**(call.body or {}), "name": "Forum\u0000Nord"}))
    assert answer.status_code in (201, 422), answer.get_data(as_text=True)
    assert world.send(Call("GET", "/api/forums")).status_code == 200
    assert world.send(Call("GET", "/api/cases")).status_code == 200


def test_an_unknown_or_repeated_query_parameter_is_422_naming_it(
    world: World, subtests: pytest.Subtests
) -> None:
    """A misspelt filter (``?stauts=open``) must not quietly answer with everything."""
    for op in PROTECTED:
        call = sample(op.method, op.path, world.own)
        with subtests.test(msg=_name(op.method, op.path)), world.records_nothing():
            query = {**(call.query or {}), "stauts": "open"}
            assert field_errors(world.send(Call(call.method, call.path, call.body, query))) == {
                "stauts": ["Unknown field."]
            }
    listing = "/api/cases?status=active&status=closed"
    assert field_errors(world.send(Call("GET", listing))) == {"status": ["Given more than once."]}
    assert world.send(Call("GET", "/api/cases", query={"status": "active"})).status_code == 200


# --- methods and paths --------------------------------------------------------------------


def test_a_method_an_endpoint_does_not_take_is_405_with_allow(
    world: World, subtests: pytest.Subtests
) -> None:
    allowed: dict[str, set[str]] = {}
    for op in OPERATIONS:
        allowed.setdefault(op.path, set()).add(op.method)
    for rule, methods in allowed.items():
        path = sample(sorted(methods)[0], rule, world.own).path
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - methods):
            with subtests.test(msg=f"{method} {rule}"), world.records_nothing():
                answer = world.send(Call(method, path), headers={"Content-Type": JSON})
                problem(answer, 405)
                assert methods <= {m.strip() for m in answer.headers["Allow"].split(",")}


def test_an_unknown_path_is_a_404_problem(world: World, subtests: pytest.Subtests) -> None:
    for path in ("/api/nowhere", "/api/cases/not-a-uuid", f"/api/forums/{uuid4()}/nowhere"):
        with subtests.test(msg=path):
            problem(world.send(Call("GET", path)), 404)


# --- If-Match and Idempotency-Key ---------------------------------------------------------


def test_if_match_must_name_a_version_and_may_be_weak(world: World) -> None:
    call = schedule(world.own)
    with world.records_nothing():
        assert "If-Match" in field_errors(world.send(call, headers={"If-Match": "version three"}))
    current = world.forum_version(world.own.forum)
    body = ok(world.send(call, headers={"If-Match": f'W/"{current}"'}), 201)
    assert body["version"] == current + 1


def test_an_idempotency_key_is_1_to_200_printable_characters(world: World, subtests: pytest.Subtests) -> None:
    call = schedule(world.own)
    for label, key in (("empty", ""), ("201 characters", "k" * 201)):
        with subtests.test(msg=label), world.records_nothing():
            assert "Idempotency-Key" in field_errors(world.send(call, headers={"Idempotency-Key": key}))
    ok(world.send(call, headers={"Idempotency-Key": "k" * 200}), 201)


def test_an_idempotency_key_belongs_to_the_caller_who_used_it(world: World) -> None:
    key = {"Idempotency-Key": "shared-key"}
    ok(world.send(schedule(world.own), headers=key), 201)
    member = world.send(complete(world.own), USERS["member"], headers=key)
    assert ok(member)["action_id"] == str(world.own.chair_action)
    assert "Idempotent-Replayed" not in member.headers


def test_a_command_the_caller_may_not_run_is_403_even_with_a_key_it_used_before(world: World) -> None:
    key = {"Idempotency-Key": "used-once"}
    ok(world.send(schedule(world.own), headers=key), 201)
    with world.records_nothing():
        refused = world.send(Call("POST", f"/api/users/{USERS['member']}/sign-out"), headers=key)
    problem(refused, 403)


# --- health and the OpenAPI document ------------------------------------------------------


def test_health_and_readiness_answer_without_a_token(client: FlaskClient) -> None:
    for path, status in (("/healthz", "ok"), ("/readyz", "ready")):
        answer = client.get(path)
        assert ok(answer) == {"status": status}
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_readiness_is_a_503_problem_when_the_store_was_never_migrated() -> None:
    require_postgres()
    settings = Settings(database_url=f"{POSTGRES_URL}?schema=t_never_{uuid4().hex[:10]}")
    application = build_application(settings)
    try:
        client = create_app(Settings(secret_key=SECRET_KEY), application=application, testing=True)
        assert "migrate" in problem(client.test_client().get("/readyz"), 503)["detail"]
        assert client.test_client().get("/healthz").status_code == 200
    finally:
        application.close()


def test_the_openapi_document_describes_every_operation(client: FlaskClient) -> None:
    document = ok(client.get("/api/openapi.json"))
    assert document["openapi"].startswith("3.")
    assert "Problem" in document["components"]["schemas"]
    for op in OPERATIONS:
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", op.path)
        described = document["paths"][path][op.method.lower()]
        assert str(op.status) in described["responses"]
        assert described["security"] == ([] if op.public else [{"bearerAuth": []}])
        if not op.public:
            assert {"401", "403", "404", "422"} <= set(described["responses"])
        if op.command:
            headers = {p["name"] for p in described["parameters"] if p["in"] == "header"}
            assert headers == {"If-Match", "Idempotency-Key"}
            assert "412" in described["responses"]
        if op.request is not None:
            assert {"413", "415"} <= set(described["responses"])
