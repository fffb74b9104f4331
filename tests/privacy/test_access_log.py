"""The access log: every read of personal data, with a stated purpose, by a coordinator or a
member is recorded (who, which organisation, which role, when, why, under which legal basis);
reads without a purpose show no personal field and record nothing; only the DPO reads the log
and a subject's access report; the database itself refuses to change or remove a log row."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from flask.testing import FlaskClient

from application.app import Forebyg
from application.demo import build_demo
from tests.conftest import TODAY
from tests.privacy.support import (
    ACTION_PERSONAL_KEYS,
    ADMIN,
    CASE_PERSONAL_KEYS,
    COORDINATOR,
    DPO,
    EVALUATOR,
    MEMBER,
    MENTOR,
    Store,
    bearer,
    body,
    leaks_in,
    personal_values,
    sign_in,
    web_client,
)

FIELDS = {"id", "at", "username", "org", "role", "kind", "case_id", "subject_id", "purpose", "legal_basis"}


@dataclass
class Forum:
    app: Forebyg
    client: FlaskClient
    case: UUID
    other_case: UUID
    subject: UUID
    legal_basis: str
    values: set[str]
    tokens: dict[str, str]

    def auth(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            self.tokens[username] = sign_in(self.client, username)
        return bearer(self.tokens[username])

    def read(self, username: str, path: str, purpose: str | None = None) -> Any:
        query = {"purpose": purpose} if purpose else None
        return self.client.get(path, query_string=query, headers=self.auth(username))

    def access_log(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = body(self.read(DPO, f"/api/cases/{self.case}/access-log"))["items"]
        return items


def demo_forum(store: Store) -> Forum:
    app = store.app()
    demo = build_demo(app, today=TODAY, cases=10)
    case = demo.reopened[0]
    other = next(c for c in demo.cases if c != case)
    view = app.get_case(case)
    return Forum(
        app,
        web_client(app),
        case,
        other,
        UUID(view["subject_id"]),
        view["legal_basis"],
        personal_values(app, case),
        {},
    )


def personal_keys(case: dict[str, Any]) -> set[str]:
    keys = {k for k in CASE_PERSONAL_KEYS if k in case}
    return keys | {k for a in case["actions"] for k in ACTION_PERSONAL_KEYS if k in a}


def test_every_read_with_a_purpose_is_logged_with_who_org_role_when_why_and_legal_basis(store: Store) -> None:
    forum = demo_forum(store)
    case = forum.case
    started = datetime.now(UTC)
    reads = [
        (COORDINATOR, f"/api/cases/{case}", "forberedelse af møde i samarbejdsforum"),
        (MEMBER, f"/api/cases/{case}/history", "politiets bekymringssamtale"),
        (MENTOR, f"/api/cases/{case}", "mentorforløb: planlægning"),
    ]
    for username, path, purpose in reads:
        answer = forum.read(username, path, purpose)
        assert leaks_in(answer.get_data(), forum.values), f"{username} was not shown the personal data"
    body(forum.read(COORDINATOR, f"/api/cases/{forum.other_case}", "et andet forløb"))
    ended = datetime.now(UTC)

    log = forum.access_log()
    assert [set(entry) for entry in log] == [FIELDS] * 3
    expected = [
        (COORDINATOR, "aarhus-kommune", "coordinator", "forberedelse af møde i samarbejdsforum"),
        (MEMBER, "oestjyllands-politi", "member", "politiets bekymringssamtale"),
        (MENTOR, "foreningen-broen", "member", "mentorforløb: planlægning"),
    ]
    assert [(e["username"], e["org"], e["role"], e["purpose"]) for e in log] == expected
    for entry in log:
        assert entry["kind"] == "read"
        assert entry["case_id"] == str(case) and entry["subject_id"] == str(forum.subject)
        assert entry["legal_basis"] == forum.legal_basis
        assert started <= datetime.fromisoformat(entry["at"]) <= ended
        assert leaks_in(str(entry).encode(), forum.values) == []

    report = body(forum.read(DPO, f"/api/subjects/{forum.subject}/access-report"))
    assert report["subject_id"] == str(forum.subject) and report["erased_at"] is None
    assert report["case_ids"] == [str(case)]
    assert [e["id"] for e in report["accesses"]] == [e["id"] for e in log]
    assert leaks_in(str(report).encode(), forum.values) == []


def test_a_read_without_a_purpose_shows_no_personal_field_and_records_nothing(store: Store) -> None:
    forum = demo_forum(store)
    case = forum.case
    for username in (COORDINATOR, MEMBER, MENTOR):
        for path in (
            f"/api/cases/{case}",
            f"/api/cases/{case}/history",
            f"/api/cases/{case}/history?as_of=2099-01-01T00:00:00Z",
        ):
            answer = forum.read(username, path)
            assert answer.status_code == 200, (username, path, answer.status_code)
            assert leaks_in(answer.get_data(), forum.values) == [], (username, path)
        assert personal_keys(body(forum.read(username, f"/api/cases/{case}"))) == set(), username
    # Roles that never see personal data get none with a purpose either, and nothing is logged.
    for username in (EVALUATOR, DPO):
        for path in (f"/api/cases/{case}", f"/api/cases/{case}/history"):
            answer = forum.read(username, path, "evaluering af modellen")
            assert answer.status_code == 200, (username, path, answer.status_code)
            assert leaks_in(answer.get_data(), forum.values) == [], (username, path)
        assert personal_keys(body(forum.read(username, f"/api/cases/{case}", "evaluering"))) == set()
    assert forum.access_log() == []
    assert store.rows("access_log") == []


def test_the_access_log_and_the_access_report_are_for_the_dpo_only(store: Store) -> None:
    forum = demo_forum(store)
    body(forum.read(COORDINATOR, f"/api/cases/{forum.case}", "forberedelse af møde"))
    log_path = f"/api/cases/{forum.case}/access-log"
    report_path = f"/api/subjects/{forum.subject}/access-report"
    for username in (COORDINATOR, MEMBER, MENTOR, EVALUATOR, ADMIN):
        for path in (log_path, report_path, "/api/retention"):
            answer = forum.read(username, path)
            assert answer.status_code == 403, (username, path, answer.status_code)
            assert "forberedelse" not in answer.get_data(as_text=True)
    for path in (log_path, report_path, "/api/retention"):
        assert forum.client.get(path).status_code == 401
    assert forum.read(DPO, f"/api/cases/{uuid4()}/access-log").status_code == 404
    assert forum.read(DPO, f"/api/subjects/{uuid4()}/access-report").status_code == 404
    assert [e["purpose"] for e in forum.access_log()] == ["forberedelse af møde"]


def test_the_database_refuses_to_update_or_delete_access_log_rows(store: Store) -> None:
    forum = demo_forum(store)
    body(forum.read(COORDINATOR, f"/api/cases/{forum.case}", "forberedelse af møde"))
    body(forum.read(MEMBER, f"/api/cases/{forum.case}", "bekymringssamtale"))
    before = sorted(store.rows("access_log"))
    assert len(before) == 2
    statements = [
        "UPDATE access_log SET purpose = 'nothing to see here'",
        "UPDATE access_log SET username = 'someone-else' WHERE username = 'koordinator'",
        "DELETE FROM access_log",
        "DELETE FROM access_log WHERE username = 'politi'",
    ]
    if store.kind == "postgres":
        statements.append("TRUNCATE access_log")
    for statement in statements:
        with pytest.raises((sqlite3.DatabaseError, psycopg.DatabaseError), match="append-only"):
            store.execute(statement)
    assert sorted(store.rows("access_log")) == before
    assert [e["purpose"] for e in forum.access_log()] == ["forberedelse af møde", "bekymringssamtale"]


def test_an_export_with_a_purpose_logs_each_case_and_forum_once_with_who_why_and_legal_basis(
    store: Store,
) -> None:
    """An export's entries are written a page at a time (by COPY on PostgreSQL): one for each
    case and each forum whose personal data the file holds, as complete as a read's."""
    from application.exchange import export_lines

    app = store.app()
    demo = build_demo(app, today=TODAY, cases=30)
    lines = list(export_lines(app, purpose="flytning til PostgreSQL", operator="cli:drift"))
    assert len(lines) > 30
    columns = ("username", "org", "role", "kind", "case_id", "subject_id", "purpose", "legal_basis")
    exports = [dict(zip(columns, row[2:], strict=True)) for row in store.rows("access_log")]
    assert {e["kind"] for e in exports} == {"export"}
    assert {(e["username"], e["org"], e["role"], e["purpose"]) for e in exports} == {
        ("cli:drift", "-", "operator", "flytning til PostgreSQL")
    }
    cases = [e for e in exports if e["case_id"] is not None]
    assert sorted(e["case_id"] for e in cases) == sorted(str(c) for c in demo.cases)
    for entry in cases:
        view = app.get_case(UUID(entry["case_id"]))
        assert entry["subject_id"] == view["subject_id"]
        assert entry["legal_basis"] == view["legal_basis"]
    forums = [e for e in exports if e["case_id"] is None]
    assert len(forums) <= len(demo.forums) and forums  # the forums with a text of their own
