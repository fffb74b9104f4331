"""A running server: `forebyg serve --workers 2` (gunicorn, two worker processes) on PostgreSQL.

Where processes matter, the test addresses each worker in turn: a request is sent over one
connection per worker at once, each accepted by a different worker (checked in /proc), so every
worker's caches and every worker's view of the shared tables are exercised.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode
from uuid import UUID

import pytest

from application.demo import DEMO_PASSWORD, build_demo, register_accounts
from application.settings import Settings
from domain.values import ERASED
from tests.conftest import TODAY
from tests.privacy.support import (
    COORDINATOR,
    DPO,
    MEMBER,
    MENTOR,
    PURPOSE,
    Reply,
    Server,
    Store,
    bearer,
    leaks_in,
    personal_values,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def served(postgres_settings: Settings, tmp_path: Path) -> Iterator[tuple[Store, Settings, Path]]:
    store = Store("postgres", postgres_settings)
    yield store, postgres_settings, tmp_path
    store.close()


def token(server: Server, username: str) -> str:
    reply = server.request("POST", "/api/tokens", data={"username": username, "password": DEMO_PASSWORD})
    assert reply.status == 201, reply
    value: str = reply.json()["token"]
    return value


def test_a_running_server_never_shows_an_erased_subject_again_on_any_worker(
    served: tuple[Store, Settings, Path],
) -> None:
    store, settings, tmp_path = served
    app = store.app()
    demo = build_demo(app, today=TODAY, cases=12)
    case = demo.reopened[0]
    view = app.get_case(case, include_personal=True)
    subject, forum, name = UUID(view["subject_id"]), view["forum_id"], view["subject"]["name"]
    values = personal_values(app, case)

    server = Server(settings, tmp_path / "serve.log")
    try:
        coordinator, mentor, dpo = (bearer(token(server, u)) for u in (COORDINATOR, MENTOR, DPO))
        purpose = urlencode({"purpose": PURPOSE})
        with_purpose = [f"/api/cases/{case}?{purpose}", f"/api/cases/{case}/history?{purpose}"]
        for _round in range(3):  # every worker caches the case, its key and its history
            for path in with_purpose:
                for reply in server.on_each_worker("GET", path, coordinator):
                    assert reply.status == 200 and name in reply.text, (reply.worker, path, reply.status)

        erasure = server.request("POST", f"/api/subjects/{subject}/erasure", dpo, {"reason": "art. 17"})
        assert erasure.status == 200, erasure

        after: list[tuple[str, Reply]] = []
        paths = [
            *with_purpose,
            f"/api/cases/{case}",
            f"/api/cases/{case}/history",
            f"/api/cases?forum={forum}",
            f"/api/forums/{forum}/agenda",
            "/api/reminders",
            "/api/inbox",
        ]
        for _round in range(4):
            for path in paths:
                after += [(path, reply) for reply in server.on_each_worker("GET", path, coordinator)]
            after += [(p, r) for p in with_purpose for r in server.on_each_worker("GET", p, mentor)]
        member = bearer(token(server, MEMBER))
        after += [(p, r) for p in with_purpose for r in server.on_each_worker("GET", p, member)]
        log = server.output()
    finally:
        server.stop()

    leaked = sorted({(reply.worker, path) for path, reply in after if leaks_in(reply.text.encode(), values)})
    assert leaked == [], f"a worker still shows the erased subject: {leaked}"
    assert leaks_in(log.encode(), values) == [], "the server's log holds the erased subject's data"
    failing = sorted(
        {(reply.worker == erasure.worker, path, reply.status) for path, reply in after if reply.status != 200}
    )
    assert failing == [], (
        f"reads after the erasure failed — (served by the worker that erased?, path, status): {failing}"
    )
    for path, reply in after:
        if path == with_purpose[0]:
            assert reply.json()["subject"]["name"] == ERASED, reply.worker
        if path == with_purpose[1]:
            assert reply.json()["events"][-1]["type"] == "PersonalDataErased", reply.worker


def test_a_deactivated_or_signed_out_users_tokens_answer_401_at_once_on_every_worker(
    served: tuple[Store, Settings, Path],
) -> None:
    store, settings, tmp_path = served
    register_accounts(store.app())
    server = Server(settings, tmp_path / "serve.log")
    try:
        admin, mentor, member = (bearer(token(server, u)) for u in ("admin", MENTOR, MEMBER))
        for _round in range(2):  # every worker has the accounts and their sessions in hand
            for who in (mentor, member):
                assert [r.status for r in server.on_each_worker("GET", "/api/forums", who)] == [200, 200]
        deactivated = server.request("POST", f"/api/users/{MENTOR}/deactivation", admin)
        signed_out = server.request("POST", f"/api/users/{MEMBER}/sign-out", admin)
        after = [server.on_each_worker("GET", "/api/forums", who) for who in (mentor, member)]
        again = [
            server.request("POST", "/api/tokens", data={"username": u, "password": DEMO_PASSWORD})
            for u in (MENTOR, MEMBER)
        ]
    finally:
        server.stop()

    assert (deactivated.status, signed_out.status) == (200, 200), (deactivated.text, signed_out.text)
    for replies in after:
        assert [(r.status, r.headers["content-type"]) for r in replies] == [
            (401, "application/problem+json")
        ] * 2
    assert [r.status for r in again] == [401, 201], (
        "a deactivated user signed in, or a signed-out one could not"
    )


def test_login_throttling_slows_across_two_worker_processes_without_locking_out(
    served: tuple[Store, Settings, Path],
) -> None:
    store, settings, tmp_path = served
    register_accounts(store.app())
    wrong = {"username": MENTOR, "password": "not-the-right-password"}
    right = {"username": MENTOR, "password": DEMO_PASSWORD}
    server = Server(settings, tmp_path / "serve.log")
    try:
        first = server.on_each_worker("POST", "/api/tokens", data=wrong)  # attempts 1 and 2
        second = server.on_each_worker("POST", "/api/tokens", data=wrong)  # attempts 3 and 4
        fifth = server.request("POST", "/api/tokens", data=wrong)
        assert [r.status for r in (*first, *second, fifth)] == [401] * 5
        sixth = server.on_each_worker("POST", "/api/tokens", data=wrong)  # inside the delay, on each worker
        then_right = server.on_each_worker("POST", "/api/tokens", data=right)
        other_user = server.on_each_worker(
            "POST", "/api/tokens", data={"username": COORDINATOR, "password": DEMO_PASSWORD}
        )
        time.sleep(int(then_right[-1].headers.get("retry-after", "1")))
        after_the_delay = server.request("POST", "/api/tokens", data=right)
    finally:
        server.stop()

    for reply in (*sixth, *then_right):
        assert reply.status == 429, (reply.worker, reply.status, reply.text)
        assert reply.headers["content-type"].startswith("application/problem+json")
        retry_after = reply.headers.get("retry-after", "")
        assert retry_after.isdigit() and 1 <= int(retry_after) <= 2, retry_after
        assert "token" not in reply.json()
    assert [r.status for r in other_user] == [201, 201], "a different user is throttled too"
    assert after_the_delay.status == 201, "the rightful user is locked out after the delay"
    assert f"user:{MENTOR}" not in store.column("login_throttle", "subject"), "the count was not cleared"


def test_a_burst_of_30_concurrent_wrong_guesses_on_two_workers_gets_at_most_5_checked(
    served: tuple[Store, Settings, Path],
) -> None:
    store, settings, tmp_path = served
    register_accounts(store.app())
    guess = json.dumps({"username": MENTOR, "password": "not-the-right-password"})
    server = Server(settings, tmp_path / "serve.log", workers=2)
    start = threading.Barrier(30)

    def send() -> int:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            conn.connect()
            start.wait()
            conn.request("POST", "/api/tokens", body=guess, headers={"Content-Type": "application/json"})
            return conn.getresponse().status
        finally:
            conn.close()

    try:
        with ThreadPoolExecutor(30) as pool:
            statuses = sorted(pool.map(lambda _: send(), range(30)))
    finally:
        server.stop()
    checked = statuses.count(401)
    assert statuses.count(429) == 30 - checked, statuses
    assert 1 <= checked <= 5, f"{checked} of 30 concurrent guesses had their password checked"
    counted = {row[0]: row[1] for row in store.rows("login_throttle")}
    assert counted[f"user:{MENTOR}"] == checked, "a checked guess went uncounted"
