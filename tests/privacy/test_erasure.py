"""Erasure (crypto-shredding), on a real SQLite file and a real PostgreSQL schema.

The subject erased is the demo's reopened case's (18 events), given on top an open action due in
three days, a completed action and a review due today whose reminders were delivered, so it has
a board row, reminders and inbox items. Each test runs two application instances on the same
store, as two worker processes would: ``a`` (whose web client serves the DPO's erasure) and ``b``
(another worker, which read the case with a purpose before the erasure, so its caches held the
subject's key and the decrypted case). The broad sweep reads through ``b``; what the erasing
process itself answers afterwards, and what becomes of a snapshot of the case, are tested apart,
so that each defect fails one test that names it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from flask.testing import FlaskClient

from application.app import Forebyg
from application.demo import build_demo
from application.reminders.dispatch import Dispatcher
from domain.case import PERSONAL_FIELDS
from domain.errors import PersonalDataErasedError
from domain.values import ERASED, Subject
from interfaces.cli import main as cli
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
    PURPOSE,
    Store,
    bearer,
    body,
    leaks_in,
    leaks_per_place,
    personal_values,
    sign_in,
    web_client,
)

REASON = "Anmodning om sletning efter databeskyttelsesforordningen art. 17"
VOLATILE = ("version", "modified_at")  # what an erasure may change in a case's workflow view


@dataclass
class Scene:
    store: Store
    a: Forebyg
    b: Forebyg
    client_a: FlaskClient
    client_b: FlaskClient
    case: UUID
    forum: UUID
    subject: UUID
    open_action: UUID
    values: set[str]
    tokens: dict[str, str]

    def auth(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            self.tokens[username] = sign_in(self.client_a, username)
        return bearer(self.tokens[username])

    def erase(self, client: FlaskClient, username: str = DPO, subject: UUID | None = None) -> Any:
        return client.post(
            f"/api/subjects/{subject or self.subject}/erasure",
            json={"reason": REASON},
            headers=self.auth(username),
        )


def build_scene(store: Store, *, snapshot_the_case: bool = False) -> Scene:
    a = store.app()
    demo = build_demo(a, today=TODAY, cases=12)
    case = demo.reopened[0]
    forum = UUID(a.get_case(case)["forum_id"])
    mark = f"FORTROLIGT-{uuid4().hex[:10]}"
    open_action = a.agree_action(
        case,
        kind="mentor",
        description=f"{mark}: mentor every Tuesday at Foreningen Broen",
        responsible_org="foreningen-broen",
        due_on=TODAY + timedelta(days=3),
    ).action_id
    done = a.agree_action(
        case,
        kind="family_dialogue",
        description=f"{mark}: dialogue with the mother about the brother",
        responsible_org="aarhus-kommune",
        due_on=TODAY,
    ).action_id
    assert open_action is not None and done is not None
    a.complete_action(case, done, completed_on=TODAY, outcome=f"{mark}: mother took part, father did not")
    a.schedule_review(case, review_on=TODAY)
    Dispatcher(a).dispatch()
    for other in demo.cases[:3]:
        if other != case:
            a.take_snapshot(other)
    if snapshot_the_case:
        a.take_snapshot(case)
    values = personal_values(a, case)
    assert any(mark in v for v in values)
    subject = UUID(a.get_case(case)["subject_id"])
    b = store.app()
    scene = Scene(store, a, b, web_client(a), web_client(b), case, forum, subject, open_action, values, {})
    for client in (scene.client_a, scene.client_b):
        seen = body(
            client.get(
                f"/api/cases/{case}", query_string={"purpose": PURPOSE}, headers=scene.auth(COORDINATOR)
            )
        )
        assert seen["subject"]["name"] in values  # the search below would see a leak
    return scene


def reads(scene: Scene) -> dict[str, tuple[str, str, dict[str, str] | None]]:
    """Every read that could show the case or anything about it: name → (user, path, query)."""
    case, forum = scene.case, scene.forum
    purpose = {"purpose": PURPOSE}
    return {
        "case, coordinator, with purpose": (COORDINATOR, f"/api/cases/{case}", purpose),
        "case, member, with purpose": (MEMBER, f"/api/cases/{case}", purpose),
        "case, coordinator": (COORDINATOR, f"/api/cases/{case}", None),
        "history, coordinator, with purpose": (COORDINATOR, f"/api/cases/{case}/history", purpose),
        "history, member, with purpose": (MENTOR, f"/api/cases/{case}/history", purpose),
        "history, evaluator": (EVALUATOR, f"/api/cases/{case}/history", purpose),
        "list": (COORDINATOR, "/api/cases", {"forum": str(forum)}),
        "agenda": (COORDINATOR, f"/api/forums/{forum}/agenda", None),
        "reminders": (COORDINATOR, "/api/reminders", None),
        "inbox, coordinator": (COORDINATOR, "/api/inbox", None),
        "inbox, member": (MENTOR, "/api/inbox", None),
        "access log": (DPO, f"/api/cases/{case}/access-log", None),
        "access report": (DPO, f"/api/subjects/{scene.subject}/access-report", None),
        "retention": (DPO, "/api/retention", None),
    }


def read_all(scene: Scene, client: FlaskClient) -> dict[str, tuple[int, str]]:
    answers = {}
    for name, (user, path, query) in reads(scene).items():
        answer = client.get(path, query_string=query, headers=scene.auth(user))
        answers[name] = (answer.status_code, answer.get_data(as_text=True))
    return answers


def facts(view: dict[str, Any]) -> dict[str, Any]:
    """A case view's workflow facts: everything but personal fields and what erasure moves."""
    kept = {k: v for k, v in view.items() if k not in (*CASE_PERSONAL_KEYS, *VOLATILE)}
    kept["actions"] = [{k: v for k, v in a.items() if k not in ACTION_PERSONAL_KEYS} for a in view["actions"]]
    return kept


def workflow_entry(entry: dict[str, Any]) -> dict[str, Any]:
    hidden = PERSONAL_FIELDS.get(entry["type"], frozenset())
    return {**entry, "data": {k: v for k, v in entry["data"].items() if k not in hidden}}


def of_case(items: list[dict[str, Any]], case: UUID) -> list[dict[str, Any]]:
    return [item for item in items if item.get("case_id", item.get("id")) == str(case)]


def test_after_erasure_the_subject_appears_nowhere_and_the_workflow_is_intact(store: Store) -> None:
    scene = build_scene(store)
    case, coordinator = scene.case, scene.auth(COORDINATOR)
    client = scene.client_b  # another worker than the one that erases
    before_view = body(client.get(f"/api/cases/{case}", headers=coordinator))
    before_history = body(client.get(f"/api/cases/{case}/history", headers=coordinator))["events"]
    before_row = of_case(
        body(client.get("/api/cases", query_string={"forum": str(scene.forum)}, headers=coordinator))[
            "items"
        ],
        case,
    )
    before_reminders = of_case(body(client.get("/api/reminders", headers=coordinator))["items"], case)
    before_inbox = {
        user: of_case(body(client.get("/api/inbox", headers=scene.auth(user)))["items"], case)
        for user in (COORDINATOR, MENTOR)
    }
    assert len(before_history) >= 20 and before_row and before_reminders
    assert before_inbox[COORDINATOR] and before_inbox[MENTOR]
    body(
        client.get(
            f"/api/cases/{case}/history", query_string={"purpose": PURPOSE}, headers=scene.auth(MENTOR)
        )
    )

    erased = body(scene.erase(scene.client_a))
    assert erased == {"id": str(scene.subject), "version": 1}

    # 1. No personal value anywhere: answers, tables, database files.
    answers = read_all(scene, client)
    leaked = {name: leaks_in(text.encode(), scene.values) for name, (_, text) in answers.items()}
    assert {name: hits for name, hits in leaked.items() if hits} == {}, "the erased subject shows in answers"
    assert leaks_per_place(scene.store.dump(), scene.values) == {}, "the erased subject lies in a table"
    if scene.store.kind == "sqlite":
        assert leaks_per_place(scene.store.files(), scene.values) == {}
    failed = {name: status for name, (status, _) in answers.items() if status != 200}
    assert failed == {}, f"reads after the erasure failed: {failed}"

    # 2. The case reads as erased, with every workflow fact as it was.
    view = json.loads(answers["case, coordinator, with purpose"][1])
    assert view["subject"] == {"name": ERASED, "cpr": None, "birth_year": None}
    assert view["concern"] == ERASED and set(view["assessment"].values()) == {ERASED}
    assert view["closure_summary"] in ("", ERASED)
    assert {a["description"] for a in view["actions"]} == {ERASED}
    assert {a["outcome"] for a in view["actions"] if a["status"] == "completed"} == {ERASED}
    assert facts(view) == facts(before_view)
    assert view["version"] == before_view["version"] + 1

    # 3. The history replays: the same events, then PersonalDataErased; personal fields erased.
    history = json.loads(answers["history, coordinator, with purpose"][1])["events"]
    assert len(history) == len(before_history) + 1
    assert history[-1]["type"] == "PersonalDataErased"
    assert history[-1]["data"]["reason"] == REASON
    assert [workflow_entry(e) for e in history[:-1]] == [workflow_entry(e) for e in before_history]
    for entry in history[:-1]:
        for name in PERSONAL_FIELDS.get(entry["type"], ()):
            value = entry["data"][name]
            assert value in (ERASED, {"name": ERASED, "cpr": None, "birth_year": None}), (entry["type"], name)

    # 4. The board row, reminders and inbox still work and are unchanged.
    row = of_case(json.loads(answers["list"][1])["items"], case)
    assert [{**r, "version": 0} for r in row] == [{**r, "version": 0} for r in before_row]
    assert of_case(json.loads(answers["reminders"][1])["items"], case) == before_reminders
    assert of_case(json.loads(answers["inbox, coordinator"][1])["items"], case) == before_inbox[COORDINATOR]
    assert of_case(json.loads(answers["inbox, member"][1])["items"], case) == before_inbox[MENTOR]

    # 5. The access log keeps who read, when and why; the report shows the erasure.
    log = json.loads(answers["access log"][1])["items"]
    assert {(e["username"], e["kind"]) for e in log} >= {(COORDINATOR, "read"), (MENTOR, "read")}
    report = json.loads(answers["access report"][1])
    assert report["erased_at"] and report["erasure_reason"] == REASON
    assert (DPO, "erasure") in {(e["username"], e["kind"]) for e in report["accesses"]}
    assert str(scene.subject) not in answers["retention"][1]

    # 6. Decrypted, every stored event of the case reads as erased; no key is left.
    for stored in scene.b.recorder.select_events(case):
        event = scene.b.mapper.to_domain_event(stored)
        for name in PERSONAL_FIELDS.get(type(event).__name__, ()):
            assert getattr(event, name) in (ERASED, Subject(name=ERASED)), (type(event).__name__, name)
    keys = {str(row[0]): row[1] for row in scene.store.rows("subject_keys")}
    assert keys[str(scene.subject)] is None, "the erased subject's key is still in the key store"


def test_after_erasure_commands_that_would_write_personal_data_are_refused_and_record_nothing(
    store: Store,
) -> None:
    scene = build_scene(store)
    body(scene.erase(scene.client_a))
    client, case, headers = scene.client_b, scene.case, scene.auth(COORDINATOR)
    position = scene.store.position()
    refused = {
        "assess": client.post(
            f"/api/cases/{case}/assessment",
            json={
                "assessed_on": TODAY.isoformat(),
                "decision": "accept",
                "risk_and_threat": "new risk notes about the erased person",
                "wellbeing_and_resilience": "new notes",
                "judgement": "new judgement",
            },
            headers=headers,
        ),
        "agree action": client.post(
            f"/api/cases/{case}/actions",
            json={
                "kind": "mentor",
                "description": "a new mentor for the erased person",
                "responsible_org": "foreningen-broen",
                "due_on": (TODAY + timedelta(days=10)).isoformat(),
            },
            headers=headers,
        ),
        "complete action": client.post(
            f"/api/cases/{case}/actions/{scene.open_action}/completion",
            json={"completed_on": TODAY.isoformat(), "outcome": "an outcome about the erased person"},
            headers=headers,
        ),
        "close": client.post(
            f"/api/cases/{case}/closure",
            json={
                "closed_on": TODAY.isoformat(),
                "reason": "resolved",
                "summary": "summary of the erased person",
            },
            headers=headers,
        ),
    }
    answers = {name: (a.status_code, (a.get_json() or {}).get("rule")) for name, a in refused.items()}
    assert answers == dict.fromkeys(refused, (409, "PersonalDataErasedError"))
    assert scene.store.position() == position, "a refused command recorded something"

    # No new case for the erased subject either (the API mints subject ids; the application is asked).
    cases_before = scene.store.column("case_subjects", "subject_id").count(str(scene.subject))
    with pytest.raises(PersonalDataErasedError):
        scene.b.refer_case(
            forum_id=scene.forum,
            target_group="cross_over",
            referred_by="aarhus-kommune",
            received_on=TODAY,
            legal_basis="consent",
            concern="a new concern about the erased person",
            subject=Subject.parse(name="Navn Efter Sletning", cpr="010110-1234"),
            subject_id=scene.subject,
        )
    assert scene.store.position() == position
    assert scene.store.column("case_subjects", "subject_id").count(str(scene.subject)) == cases_before

    # Erasing twice is harmless: 200, nothing more recorded, the erasure stands as it was.
    report = body(client.get(f"/api/subjects/{scene.subject}/access-report", headers=scene.auth(DPO)))
    again = scene.erase(client)
    assert again.status_code == 200, again.get_data(as_text=True)
    assert scene.store.position() == position
    history = store.app().get_case_history(case)
    assert [e["type"] for e in history].count("PersonalDataErased") == 1
    later = store.app().get_access_report(scene.subject)
    assert (later["erased_at"], later["erasure_reason"]) == (report["erased_at"], report["erasure_reason"])


def test_an_erased_case_takes_workflow_follow_up_at_any_version_even_where_a_snapshot_falls_due(
    store: Store,
) -> None:
    """Scheduling a review holds no personal data, so an erased case takes it; the case is
    snapshotted automatically every 50 events. No answer may be a refusal that recorded the
    event anyway, nor fail: each request records exactly one event and answers 200."""
    scene = build_scene(store)
    body(scene.erase(scene.client_a))
    client, headers = scene.client_b, scene.auth(COORDINATOR)
    version = body(client.get(f"/api/cases/{scene.case}", headers=headers))["version"]
    assert version < 50
    problems = []
    for day in range(1, 56 - version):
        position = scene.store.position()
        answer = client.post(
            f"/api/cases/{scene.case}/review-schedule",
            json={"review_on": (TODAY + timedelta(days=day)).isoformat()},
            headers=headers,
        )
        recorded = scene.store.position() - position
        if answer.status_code != 200 or recorded != 1:
            problems.append(
                (version + day, answer.status_code, (answer.get_json() or {}).get("rule"), recorded)
            )
    assert problems == [], (
        "(case version, status, rule, events recorded) of the requests that did not simply succeed: "
        f"{problems}"
    )


def test_the_process_that_erased_goes_on_reading_and_erasing_like_any_other(store: Store) -> None:
    """The worker that served the erasure must answer for the erased case afterwards exactly as
    another worker does: 200 with the personal fields erased, and a second erasure is harmless."""
    scene = build_scene(store)
    body(scene.erase(scene.client_a))
    answers = read_all(scene, scene.client_a)
    leaked = {name: leaks_in(text.encode(), scene.values) for name, (_, text) in answers.items()}
    assert {name: hits for name, hits in leaked.items() if hits} == {}
    again = scene.erase(scene.client_a)
    statuses = {name: status for name, (status, _) in answers.items()}
    statuses["erasure again"] = again.status_code
    failing = {name: s for name, s in statuses.items() if s != 200}
    assert not failing, f"the worker that erased the subject fails on its case afterwards: {failing}"
    view = json.loads(answers["case, coordinator, with purpose"][1])
    assert view["subject"]["name"] == ERASED


def test_erasure_forgets_the_snapshots_of_the_subjects_cases(store: Store) -> None:
    """A snapshot is a cache of state, sealed with the subject's key: erasure deletes it, so the
    case is read again from its events (which open as erased) by every process."""
    scene = build_scene(store, snapshot_the_case=True)
    snapshots = scene.store.column(scene.store.snapshot_table, "originator_id")
    assert len(snapshots) == 3  # two other cases and the subject's
    body(scene.erase(scene.client_a))
    left = scene.store.column(scene.store.snapshot_table, "originator_id")
    assert len(left) == 2, (
        f"a snapshot of the erased subject's case survived the erasure in {scene.store.snapshot_table}"
    )
    fresh = web_client(scene.store.app())
    answer = fresh.get(
        f"/api/cases/{scene.case}", query_string={"purpose": PURPOSE}, headers=scene.auth(COORDINATOR)
    )
    assert body(answer)["subject"]["name"] == ERASED


def test_only_the_dpo_may_erase_and_an_unknown_subject_is_404(store: Store) -> None:
    scene = build_scene(store)
    position = scene.store.position()
    for username in (COORDINATOR, MEMBER, EVALUATOR, ADMIN):
        answer = scene.erase(scene.client_b, username)
        assert answer.status_code == 403, (username, answer.status_code)
        assert leaks_in(answer.get_data(), scene.values) == []
    anonymous = scene.client_b.post(f"/api/subjects/{scene.subject}/erasure", json={"reason": REASON})
    assert anonymous.status_code == 401
    assert scene.erase(scene.client_b, DPO, subject=uuid4()).status_code == 404
    assert scene.store.position() == position, "a refused erasure recorded something"
    assert scene.store.app().get_access_report(scene.subject)["erased_at"] is None
    assert scene.store.app().get_case(scene.case, include_personal=True)["subject"]["name"] in scene.values
    assert "erasure" not in scene.store.column("access_log", "kind")


def test_forebyg_erase_on_the_command_line_is_idempotent(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = sqlite_store.app()
    demo = build_demo(app, today=TODAY, cases=8)
    case = demo.reopened[0]
    subject, values = app.get_case(case)["subject_id"], personal_values(app, case)
    for name in [k for k in os.environ if k.startswith("FOREBYG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("FOREBYG_DATA_DIR", str(sqlite_store.settings.data_dir))
    assert cli(["erase", subject, "--reason", REASON]) == 0
    assert cli(["erase", subject, "--reason", REASON]) == 0
    assert cli(["erase", str(uuid4())]) == 3
    out = capsys.readouterr()
    assert out.out.count(f"Subject {subject} erased") == 2 and "not found" in out.err
    reader = sqlite_store.app()
    assert reader.get_case(case, include_personal=True)["subject"]["name"] == ERASED
    assert [e["type"] for e in reader.get_case_history(case)].count("PersonalDataErased") == 1
    assert leaks_per_place(sqlite_store.files(), values) == {}
