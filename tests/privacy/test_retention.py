"""Retention: a subject whose cases are all closed is erased once the retention period of each
closure (by reason, FOREBYG_RETENTION_<REASON>_DAYS) has run out — by `apply_retention`, which
the scheduler runs, and by `forebyg scheduler --once`. A subject with an open case never is.

Reads after a retention run go through another application instance on the same store (a web
worker), as in production, where the scheduler process erases and web workers read.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID, uuid4

from application.app import Forebyg
from application.base import today_in_denmark
from application.demo import register_accounts
from application.privacy.retention import RetentionPolicy
from domain.values import ERASED, ClosureReason, Subject
from tests.conftest import TODAY
from tests.privacy.support import (
    COORDINATOR,
    DPO,
    PURPOSE,
    REPO,
    Store,
    bearer,
    body,
    forebyg_command,
    leaks_in,
    personal_values,
    sign_in,
    web_client,
)

ONE_DAY_FOR_UNFOUNDED = RetentionPolicy.from_environ({"FOREBYG_RETENTION_UNFOUNDED_DAYS": "1"})


@dataclass
class Subjects:
    unfounded: UUID  # one case, closed as unfounded two days ago
    resolved: UUID  # one case, closed as resolved two days ago (730 days' retention)
    open: UUID  # one case, still awaiting assessment
    mixed: UUID  # a case closed as unfounded two days ago and another still open
    cases: dict[UUID, list[UUID]]


def refer(app: Forebyg, forum: UUID, subject: UUID, name: str, on: date) -> UUID:
    return app.refer_case(
        forum_id=forum,
        target_group="younger_sibling",
        referred_by="aarhus-kommune",
        received_on=on,
        legal_basis="databeskyttelsesloven_8",
        concern=f"FORTROLIGT: {name} idoliserer sin storebror på sociale medier",
        subject=Subject.parse(name=name, cpr=f"0101{on.year % 100:02d}-{uuid4().int % 10000:04d}"),
        subject_id=subject,
    ).id


def close(app: Forebyg, case: UUID, today: date, reason: str) -> None:
    decision = "no_further_action" if reason == "unfounded" else "accept"
    app.assess_case(
        case,
        assessed_on=today - timedelta(days=3),
        decision=decision,
        risk_and_threat="FORTROLIGT: ingen konkret trussel",
        wellbeing_and_resilience="FORTROLIGT: god skolegang",
        judgement="FORTROLIGT: ingen grund til bekymring",
    )
    app.close_case(case, closed_on=today - timedelta(days=2), reason=reason, summary=f"FORTROLIGT: {reason}")


def build(app: Forebyg, today: date) -> Subjects:
    register_accounts(app)
    forum = app.establish_forum(
        name="Samarbejdsforum Retention",
        municipality="Aarhus",
        housing_areas=["Gellerupparken"],
        chair_org="aarhus-kommune",
        members=["aarhus-kommune", "oestjyllands-politi"],
        established_on=today - timedelta(days=60),
    ).id
    received = today - timedelta(days=10)
    subjects = Subjects(uuid4(), uuid4(), uuid4(), uuid4(), {})
    for subject, name in (
        (subjects.unfounded, "Ugrundet Testesen"),
        (subjects.resolved, "Løst Fiktivsen"),
        (subjects.open, "Åben Demoud"),
        (subjects.mixed, "Blandet Eksempel"),
    ):
        subjects.cases[subject] = [refer(app, forum, subject, name, received)]
    subjects.cases[subjects.mixed].append(refer(app, forum, subjects.mixed, "Blandet Eksempel", received))
    close(app, subjects.cases[subjects.unfounded][0], today, "unfounded")
    close(app, subjects.cases[subjects.resolved][0], today, "resolved")
    close(app, subjects.cases[subjects.mixed][0], today, "unfounded")
    return subjects


def erased_at(app: Forebyg, subject: UUID) -> str | None:
    value: str | None = app.get_access_report(subject)["erased_at"]
    return value


def test_retention_erases_a_subject_whose_cases_closed_longer_ago_than_their_period(store: Store) -> None:
    scheduler = store.app(retention=ONE_DAY_FOR_UNFOUNDED)
    subjects = build(scheduler, TODAY)
    case = subjects.cases[subjects.unfounded][0]
    values = personal_values(scheduler, case)
    web = web_client(store.app(retention=ONE_DAY_FOR_UNFOUNDED))
    dpo, coordinator = bearer(sign_in(web, DPO)), bearer(sign_in(web, COORDINATOR))
    assert body(web.get(f"/api/cases/{case}", query_string={"purpose": PURPOSE}, headers=coordinator))

    schedule = {item["subject_id"]: item for item in body(web.get("/api/retention", headers=dpo))["items"]}
    assert set(schedule) == {str(subjects.unfounded), str(subjects.resolved)}
    assert schedule[str(subjects.unfounded)] == {
        "subject_id": str(subjects.unfounded),
        "case_ids": [str(case)],
        "erase_on": (TODAY - timedelta(days=1)).isoformat(),
    }
    assert schedule[str(subjects.resolved)]["erase_on"] == (TODAY + timedelta(days=728)).isoformat()

    assert scheduler.apply_retention() == [str(subjects.unfounded)]

    report = body(web.get(f"/api/subjects/{subjects.unfounded}/access-report", headers=dpo))
    assert report["erased_at"] and "retention" in report["erasure_reason"]
    assert ("retention", "erasure") in {(e["username"], e["kind"]) for e in report["accesses"]}
    answer = web.get(f"/api/cases/{case}", query_string={"purpose": PURPOSE}, headers=coordinator)
    assert body(answer)["subject"]["name"] == ERASED
    assert body(answer)["closure_reason"] == "unfounded"
    history = web.get(f"/api/cases/{case}/history", query_string={"purpose": PURPOSE}, headers=coordinator)
    assert body(history)["events"][-1]["type"] == "PersonalDataErased"
    assert leaks_in(answer.get_data() + history.get_data(), values) == []
    for kept in (subjects.resolved, subjects.open, subjects.mixed):
        kept_report = body(web.get(f"/api/subjects/{kept}/access-report", headers=dpo))
        assert kept_report["erased_at"] is None, kept
    after = [item["subject_id"] for item in body(web.get("/api/retention", headers=dpo))["items"]]
    assert after == [str(subjects.resolved)]
    assert store.app(retention=ONE_DAY_FOR_UNFOUNDED).apply_retention() == []


def test_a_subject_with_an_open_case_is_never_erased_by_retention(store: Store) -> None:
    nothing_kept = RetentionPolicy(days=dict.fromkeys(ClosureReason, 0))
    scheduler = store.app(retention=nothing_kept)
    subjects = build(scheduler, TODAY)
    later = TODAY + timedelta(days=3650)
    erased = scheduler.apply_retention(on=later)
    assert sorted(erased) == sorted([str(subjects.unfounded), str(subjects.resolved)])
    reader = store.app(retention=nothing_kept)
    assert reader.apply_retention(on=later) == []
    for kept in (subjects.open, subjects.mixed):
        assert erased_at(reader, kept) is None
        for case in subjects.cases[kept]:
            assert reader.get_case(case, include_personal=True)["subject"]["name"] != ERASED


def test_forebyg_scheduler_once_applies_retention(sqlite_store: Store) -> None:
    today: Callable[[], date] = today_in_denmark  # the subprocess runs on the real calendar
    app = sqlite_store.app(clock=today)
    subjects = build(app, today())
    env = {key: value for key, value in os.environ.items() if not key.startswith("FOREBYG_")}
    env.update(
        FOREBYG_DATA_DIR=str(sqlite_store.settings.data_dir),
        FOREBYG_RETENTION_UNFOUNDED_DAYS="1",
        PYTHONUNBUFFERED="1",
    )
    run = subprocess.run(
        [*forebyg_command(), "scheduler", "--once"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    reader = sqlite_store.app(clock=today)
    assert erased_at(reader, subjects.unfounded) is not None, (
        "`forebyg scheduler --once` did not apply retention:\n" + run.stdout + run.stderr
    )
    for kept in (subjects.resolved, subjects.open, subjects.mixed):
        assert erased_at(reader, kept) is None
