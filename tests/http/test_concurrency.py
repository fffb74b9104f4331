"""Concurrent clients against a real `forebyg serve --workers 4` on PostgreSQL.

Optimistic concurrency: of many commands sent at the same version of a case (`If-Match`),
exactly one is recorded and the others are refused (409/412); the stored history has no gap
and holds every command that was acknowledged, as it was acknowledged.

Idempotency: a command whose answer never reached the client, retried with the same
`Idempotency-Key`, is recorded once and the retry gets the first answer; so do 16 copies of
one request sent at once.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any
from uuid import uuid4

import pytest

from tests.http.conftest import Answer, Client, Server, concurrently, gunicorn_problems, today

pytestmark = pytest.mark.postgres

WORKERS = 4
CLIENTS = 16
ROUNDS = 8
REFUSED = {409, 412}


@dataclass(frozen=True)
class Sent:
    """A command one client sends."""

    path: str
    body: dict[str, Any]

    def to(self, client: Client, headers: dict[str, str]) -> Answer:
        return client.post(self.path, self.body, headers=headers)


def open_case(client: Client) -> tuple[str, str]:
    """A forum chaired by the coordinator's organisation and an accepted (active) case in it."""
    on = today().isoformat()
    forum = client.post(
        "/api/forums",
        {
            "name": f"Samarbejdsforum {uuid4().hex[:6]}",
            "municipality": "Aarhus",
            "housing_areas": ["Gellerupparken"],
            "members": ["aarhus-kommune", "oestjyllands-politi", "foreningen-broen"],
        },
    )
    assert forum.status == 201, forum
    forum_id = forum.body["id"]
    case = client.post("/api/cases", referral(forum_id))
    assert case.status == 201, case
    case_id = case.body["id"]
    assessed = client.post(
        f"/api/cases/{case_id}/assessment",
        {
            "assessed_on": on,
            "decision": "accept",
            "risk_and_threat": "Contact with a recruiter",
            "wellbeing_and_resilience": "School attendance falling",
            "judgement": "Accept; mentor and family dialogue",
        },
    )
    assert assessed.status == 200, assessed
    return forum_id, case_id


def referral(forum_id: str) -> dict[str, Any]:
    return {
        "forum_id": forum_id,
        "target_group": "cross_over",
        "referred_by": "oestjyllands-politi",
        "received_on": today().isoformat(),
        "legal_basis": "retsplejeloven_115",
        "concern": "Seen with a known recruiter",
        "subject": {"name": "Synthetic Person", "birth_year": 2009},
    }


def action(due_in_days: int) -> dict[str, Any]:
    """An action whose due date marks it (so it can be found in the history)."""
    return {
        "kind": "mentor",
        "description": "Weekly mentor meetings",
        "responsible_org": "foreningen-broen",
        "due_on": (today() + timedelta(days=due_in_days)).isoformat(),
    }


def history(client: Client, case_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/api/cases/{case_id}/history")
    assert answer.status == 200, answer
    events: list[dict[str, Any]] = answer.body["events"]
    assert answer.etag == f'"{len(events)}"', answer.headers
    return events


def agreed_with_due(events: list[dict[str, Any]], due_on: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "ActionAgreed" and e["data"]["due_on"] == due_on]


def send_and_drop(port: int, path: str, body: bytes, headers: dict[str, str]) -> None:
    """Send a request and hang up without reading the answer (a client that timed out)."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += [f"Content-Length: {len(body)}", "", ""]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall("\r\n".join(lines).encode() + body)


def test_one_command_per_version_wins_and_every_acknowledged_command_is_stored(serve: Any) -> None:
    server: Server = serve(WORKERS)
    client = Client(server.port).sign_in()
    _, case_id = open_case(client)
    acknowledged: list[tuple[Sent, Answer]] = []

    for round_ in range(ROUNDS):
        current = client.get(f"/api/cases/{case_id}")
        assert current.status == 200, current
        version = current.body["version"]
        assert current.etag == f'"{version}"'
        sent: list[Sent] = []
        for i in range(CLIENTS):
            days = 1 + round_ * CLIENTS + i
            if i % 2:
                sent.append(Sent(f"/api/cases/{case_id}/actions", action(days)))
            else:
                review_on = (today() + timedelta(days=days)).isoformat()
                sent.append(Sent(f"/api/cases/{case_id}/review-schedule", {"review_on": review_on}))
        answers = concurrently([partial(s.to, client, {"If-Match": f'"{version}"'}) for s in sent])

        statuses = sorted(a.status for a in answers)
        winners = [(s, a) for s, a in zip(sent, answers, strict=True) if 200 <= a.status < 300]
        assert len(winners) == 1, f"round {round_} at version {version}: {statuses}"
        assert set(statuses) - {200, 201} <= REFUSED, f"round {round_}: {statuses}"
        for answer in answers:
            if answer.status in REFUSED:
                assert answer.headers["content-type"].startswith("application/problem+json"), answer
        winner, answer = winners[0]
        assert answer.body["id"] == case_id
        assert answer.body["version"] == version + 1, answer
        assert answer.etag == f'"{version + 1}"'
        acknowledged.append((winner, answer))

    events = history(client, case_id)
    versions = [e["version"] for e in events]
    assert versions == list(range(1, len(events) + 1)), versions
    assert [e["type"] for e in events[:2]] == ["Referred", "Assessed"]
    assert len(events) == 2 + ROUNDS
    for command, answer in acknowledged:
        event = events[answer.body["version"] - 1]
        if command.path.endswith("/actions"):
            assert event["type"] == "ActionAgreed", event
            assert event["data"]["action_id"] == answer.body["action_id"]
            assert event["data"]["due_on"] == command.body["due_on"]
        else:
            assert event["type"] == "ReviewScheduled", event
            assert event["data"]["review_on"] == command.body["review_on"]
    assert client.get(f"/api/cases/{case_id}").body["version"] == len(events)
    assert gunicorn_problems(server.stderr()) == [], server.output()


def test_a_retried_command_whose_answer_was_lost_is_recorded_once(serve: Any) -> None:
    server: Server = serve(WORKERS)
    client = Client(server.port).sign_in()
    _, case_id = open_case(client)
    path = f"/api/cases/{case_id}/actions"

    for due_in, retry in ((40, "after the first was recorded"), (41, "at once, racing the first")):
        body, key = action(due_in), f"lost-answer-{uuid4()}"
        headers = {
            "Authorization": f"Bearer {client.token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": key,
        }
        send_and_drop(server.port, path, json.dumps(body).encode(), headers)
        if retry == "after the first was recorded":
            deadline = time.monotonic() + 15
            while not agreed_with_due(history(client, case_id), body["due_on"]):
                assert time.monotonic() < deadline, "the dropped command was never recorded"
                time.sleep(0.05)
        again = client.post(path, body, headers={"Idempotency-Key": key})

        assert again.status == 201, (retry, again)
        stored = agreed_with_due(history(client, case_id), body["due_on"])
        assert len(stored) == 1, (retry, stored)
        first = {"id": case_id, "version": stored[0]["version"], "action_id": stored[0]["data"]["action_id"]}
        assert again.body == first, retry
        assert again.etag == f'"{first["version"]}"', retry
        if retry == "after the first was recorded":
            assert again.headers.get("idempotent-replayed") == "true", again.headers

    events = history(client, case_id)
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events] == ["Referred", "Assessed", "ActionAgreed", "ActionAgreed"]
    assert gunicorn_problems(server.stderr()) == [], server.output()


def test_sixteen_copies_of_one_idempotent_command_are_recorded_once(serve: Any) -> None:
    server: Server = serve(WORKERS)
    client = Client(server.port).sign_in()
    forum_id, case_id = open_case(client)

    # An action agreed on an existing case.
    body, path = action(50), f"/api/cases/{case_id}/actions"
    copy = partial(Sent(path, body).to, client, {"Idempotency-Key": f"copies-{uuid4()}"})
    answers = concurrently([copy] * CLIENTS)

    events = history(client, case_id)
    stored = agreed_with_due(events, body["due_on"])
    assert len(stored) == 1, stored
    assert [e["type"] for e in events] == ["Referred", "Assessed", "ActionAgreed"]
    first = {"id": case_id, "version": stored[0]["version"], "action_id": stored[0]["data"]["action_id"]}
    statuses = sorted(a.status for a in answers)
    assert statuses == [201] * CLIENTS, (statuses, [a.body for a in answers if a.status != 201])
    assert all(a.body == first for a in answers), [a.body for a in answers]

    # A referral: the case the copies create is one case.
    copy = partial(Sent("/api/cases", referral(forum_id)).to, client, {"Idempotency-Key": f"ref-{uuid4()}"})
    answers = concurrently([copy] * CLIENTS)

    statuses = sorted(a.status for a in answers)
    assert statuses == [201] * CLIENTS, (statuses, [a.body for a in answers if a.status != 201])
    created = {(a.body["id"], a.body["subject_id"], a.body["version"]) for a in answers}
    assert len(created) == 1, created
    new_case, _, version = created.pop()
    assert version == 1
    cases = client.get(f"/api/cases?forum={forum_id}")
    assert cases.status == 200, cases
    assert sorted(item["id"] for item in cases.body["items"]) == sorted([case_id, new_case])
    assert [e["type"] for e in history(client, new_case)] == ["Referred"]
    assert gunicorn_problems(server.stderr()) == [], server.output()
