"""A forum's free texts — meeting summaries, cancellation reasons, area mappings' resources and
challenges, the dissolution reason — are personal data until shown otherwise: sealed at rest
under a key of each text's own, shown only with a purpose to roles that may see personal data,
erasable by the DPO, destroyed by retention, and refused outright when they hold a CPR number.

Texts stored in clear by earlier versions stay readable, and `forebyg migrate` seals them.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Mapper

from application.app import Forebyg
from application.base import today_in_denmark
from application.bootstrap import migrate
from application.demo import build_demo
from application.privacy.retention import RetentionPolicy
from domain.errors import InvalidValueError
from domain.forum import Forum
from domain.values import ERASED
from tests.conftest import TODAY
from tests.privacy.support import (
    COORDINATOR,
    DPO,
    EVALUATOR,
    MEMBER,
    PURPOSE,
    REPO,
    Store,
    bearer,
    body,
    forebyg_command,
    leaks_in,
    leaks_per_place,
    server_env,
    sign_in,
    web_client,
)

CHAIR = "aarhus-kommune"
AREA = "Gellerupparken"


def texts(app: Forebyg, forum_id: UUID) -> set[str]:
    """Every free text of the forum, as the system itself reads it with personal data."""
    view = app.get_forum(forum_id, include_personal=True)
    found = {m.get("summary", "") for m in view["meetings"]} | {
        m.get("cancel_reason", "") for m in view["meetings"]
    }
    for mapping in view["area_mappings"]:
        found |= {mapping["resources"], mapping["challenges"]}
    found.add(view.get("dissolution_reason") or "")
    return found - {"", ERASED}


def forum_with_texts(app: Forebyg, marker: str, on: date = TODAY) -> tuple[UUID, UUID, UUID]:
    """A forum with a held meeting, a cancelled one, an area mapping, then dissolved."""
    forum = app.establish_forum(
        name=f"Forum {marker[::-1]}",
        municipality="Aarhus",
        housing_areas=[AREA],
        chair_org=CHAIR,
        established_on=on - timedelta(days=30),
    ).id
    held = app.schedule_meeting(forum, on - timedelta(days=20)).meeting_id
    cancelled = app.schedule_meeting(forum, on - timedelta(days=10)).meeting_id
    assert held is not None and cancelled is not None
    app.hold_meeting(
        forum, held, held_on=on - timedelta(days=20), attendees=[CHAIR], summary=f"{marker}-summary"
    )
    app.cancel_meeting(forum, cancelled, f"{marker}-cancelled", cancelled_on=on - timedelta(days=2))
    app.record_area_mapping(
        forum,
        recorded_on=on - timedelta(days=5),
        housing_area=AREA,
        resources=f"{marker}-resources",
        challenges=f"{marker}-challenges",
    )
    return forum, held, cancelled


def test_no_forum_text_lies_in_clear_anywhere_in_the_store(store: Store) -> None:
    app = store.app()
    demo = build_demo(app, today=TODAY, cases=8)
    marker = f"M{uuid4().hex[:12]}"
    forum, _held, _cancelled = forum_with_texts(app, marker)
    other = app.establish_forum(
        name="Forum to dissolve",
        municipality="Aarhus",
        housing_areas=[AREA],
        chair_org=CHAIR,
        established_on=TODAY,
    ).id
    app.dissolve_forum(other, TODAY, f"{marker}-dissolved")
    for forum_id in (*demo.forums, forum, other):
        app.take_snapshot(forum_id)
    app.workflow.catch_up()

    written = texts(app, forum) | texts(app, other)
    assert written == {
        f"{marker}-{k}" for k in ("summary", "cancelled", "resources", "challenges", "dissolved")
    }
    demo_summaries = set().union(*(texts(app, f) for f in demo.forums))
    assert any("discussed" in s for s in demo_summaries), "the demo's summaries read with a purpose"
    dump = store.dump()
    assert leaks_per_place(dump, [f"Forum {marker[::-1]}"]), "the search sees the forum's (workflow) name"
    assert leaks_per_place(dump, written) == {}, "a forum's free text in clear in the store"
    if store.kind == "sqlite":
        assert leaks_per_place(store.files(), written) == {}, "a forum's free text in a database file"
    # Another process reads them too.
    assert texts(store.app(), forum) == texts(app, forum)


def test_forum_texts_are_shown_only_with_a_purpose_and_never_to_evaluators(store: Store) -> None:
    app = store.app()
    build_demo(app, today=TODAY, cases=4)
    client = web_client(app)
    tokens = {user: sign_in(client, user) for user in (COORDINATOR, MEMBER, EVALUATOR, DPO)}
    forums = body(client.get("/api/forums", headers=bearer(tokens[COORDINATOR])))["items"]
    forum_id = forums[0]["id"]
    marker = f"M{uuid4().hex[:12]}"
    meeting = body(
        client.post(
            f"/api/forums/{forum_id}/meetings",
            json={"planned_on": TODAY.isoformat()},
            headers=bearer(tokens[COORDINATOR]),
        ),
        201,
    )["meeting_id"]
    body(
        client.post(
            f"/api/forums/{forum_id}/meetings/{meeting}/held",
            json={"held_on": TODAY.isoformat(), "attendees": [CHAIR], "summary": f"{marker} talt om"},
            headers=bearer(tokens[COORDINATOR]),
        ),
    )

    def read(user: str, query: str = "") -> str:
        answer = client.get(f"/api/forums/{forum_id}{query}", headers=bearer(tokens[user]))
        return answer.get_data(as_text=True)

    for user in (COORDINATOR, MEMBER, EVALUATOR, DPO):
        assert marker not in read(user), f"{user} sees a meeting summary without a purpose"
    assert marker not in read(EVALUATOR, f"?purpose={PURPOSE}"), "an evaluator sees a meeting summary"
    assert marker not in read(DPO, f"?purpose={PURPOSE}"), "the DPO sees a meeting summary"
    for user in (COORDINATOR, MEMBER):
        assert marker in read(user, f"?purpose={PURPOSE}"), f"{user} cannot read the summary with a purpose"
    log = [e for e in app.access_log.for_forum(UUID(forum_id)) if e["kind"] == "read"]
    assert {e["username"] for e in log} == {COORDINATOR, MEMBER}
    assert {e["purpose"] for e in log} == {PURPOSE}


@pytest.mark.parametrize("cpr", ["010190-1234", "0101901234", "311299 0001"])
def test_a_cpr_number_in_a_meeting_summary_is_refused_with_a_422_naming_the_field(
    store: Store, cpr: str
) -> None:
    app = store.app()
    build_demo(app, today=TODAY, cases=2)
    client = web_client(app)
    token = sign_in(client, COORDINATOR)
    forum = body(client.get("/api/forums", headers=bearer(token)))["items"][0]
    before = body(client.get(f"/api/forums/{forum['id']}", headers=bearer(token)))
    meeting = body(
        client.post(
            f"/api/forums/{forum['id']}/meetings",
            json={"planned_on": TODAY.isoformat()},
            headers=bearer(token),
        ),
        201,
    )["meeting_id"]
    answer = client.post(
        f"/api/forums/{forum['id']}/meetings/{meeting}/held",
        json={"held_on": TODAY.isoformat(), "attendees": [CHAIR], "summary": f"Drøftede Ali ({cpr})"},
        headers=bearer(token),
    )
    problem = body(answer, 422)
    assert answer.content_type == "application/problem+json"
    assert "summary" in problem["errors"] and "CPR" in " ".join(problem["errors"]["summary"])
    after = body(client.get(f"/api/forums/{forum['id']}", headers=bearer(token)))
    assert after["version"] == before["version"] + 1, "only the meeting's scheduling was recorded"


@pytest.mark.parametrize(
    ("field", "command"),
    [
        ("reason", lambda app, f, m: app.cancel_meeting(f, m, "Afbud fra 120304-5678")),
        (
            "resources",
            lambda app, f, m: app.record_area_mapping(
                f, recorded_on=TODAY, housing_area=AREA, resources="Mentor 1203045678", challenges="c"
            ),
        ),
        (
            "challenges",
            lambda app, f, m: app.record_area_mapping(
                f, recorded_on=TODAY, housing_area=AREA, resources="r", challenges="Bror 120304-5678"
            ),
        ),
        ("reason", lambda app, f, m: app.dissolve_forum(f, TODAY, "Nedlagt pga. 120304-5678")),
        (
            "name",
            lambda app, f, m: app.establish_forum(
                name="Forum 120304-5678", municipality="Aarhus", housing_areas=[AREA], chair_org=CHAIR
            ),
        ),
    ],
)
def test_a_cpr_number_in_any_forum_text_is_refused_and_changes_nothing(
    app: Forebyg, field: str, command: object
) -> None:
    forum = app.establish_forum(
        name="Forum", municipality="Aarhus", housing_areas=[AREA], chair_org=CHAIR, established_on=TODAY
    ).id
    meeting = app.schedule_meeting(forum, TODAY).meeting_id
    version = app.get_forum(forum)["version"]
    with pytest.raises(InvalidValueError) as refused:
        command(app, forum, meeting)  # type: ignore[operator]
    assert refused.value.field == field and "CPR" in str(refused.value)
    assert app.get_forum(forum)["version"] == version


def test_numbers_that_are_not_cpr_numbers_are_accepted(app: Forebyg) -> None:
    forum = app.establish_forum(
        name="Forum", municipality="Aarhus", housing_areas=[AREA], chair_org=CHAIR, established_on=TODAY
    ).id
    meeting = app.schedule_meeting(forum, TODAY).meeting_id
    assert meeting is not None
    summary = "Tlf. 86 12 34 56, sag 2026-1234, 12 deltagere, 1234567890123"
    app.hold_meeting(forum, meeting, held_on=TODAY, attendees=[CHAIR], summary=summary)
    assert app.get_forum(forum, include_personal=True)["meetings"][0]["summary"] == summary


def test_the_dpo_erases_one_meeting_s_texts_and_every_process_reads_them_as_erased(store: Store) -> None:
    app = store.app()
    marker = f"M{uuid4().hex[:12]}"
    forum, held, cancelled = forum_with_texts(app, marker)
    app.take_snapshot(forum)
    reader = store.app()
    assert f"{marker}-summary" in texts(reader, forum)

    app.erase_forum_texts(forum, meeting_id=held, reason="art. 17 request of 2026-11-02")

    for process in (app, reader, store.app()):
        process.keystore.refresh()  # as every process does before it serves a request
        meetings = {m["meeting_id"]: m for m in process.get_forum(forum, include_personal=True)["meetings"]}
        assert meetings[str(held)]["summary"] == ERASED
        assert meetings[str(cancelled)]["cancel_reason"] == f"{marker}-cancelled"
        assert texts(process, forum) == {f"{marker}-{k}" for k in ("cancelled", "resources", "challenges")}
    erasures = [e for e in app.access_log.for_forum(forum) if e["kind"] == "erasure"]
    assert [e["purpose"] for e in erasures] == ["art. 17 request of 2026-11-02"]

    app.erase_forum_texts(forum, reason="art. 17 request of 2026-11-03")
    assert texts(store.app(), forum) == set()
    # The workflow stays: the meeting is still held, on its date, with its attendees.
    view = store.app().get_forum(forum)
    assert {m["status"] for m in view["meetings"]} == {"held", "cancelled"}
    assert view["area_mappings"][0]["housing_area"] == AREA


def test_the_erasure_of_forum_texts_is_the_dpo_s_and_needs_a_reason(store: Store) -> None:
    app = store.app()
    build_demo(app, today=TODAY, cases=2)
    client = web_client(app)
    forum = body(client.get("/api/forums", headers=bearer(sign_in(client, COORDINATOR))))["items"][0]["id"]
    url = f"/api/forums/{forum}/text-erasure"
    assert (
        client.post(url, json={"reason": "x"}, headers=bearer(sign_in(client, COORDINATOR))).status_code
        == 403
    )
    dpo = bearer(sign_in(client, DPO))
    assert "reason" in body(client.post(url, json={}, headers=dpo), 422)["errors"]
    version = app.get_forum(UUID(forum))["version"]
    erased = body(client.post(url, json={"reason": "art. 17 request"}, headers=dpo), 200)
    assert erased == {"id": forum, "version": version}
    summaries = {m.get("summary") for m in app.get_forum(UUID(forum), include_personal=True)["meetings"]}
    assert summaries <= {ERASED, None, ""}


def test_retention_destroys_forum_texts_their_period_after_they_were_written(store: Store) -> None:
    policy = RetentionPolicy.from_environ(
        {"FOREBYG_RETENTION_MEETING_TEXT_DAYS": "15", "FOREBYG_RETENTION_AREA_MAPPING_DAYS": "10"}
    )
    assert policy.text_days == {"meeting": 15, "area_mapping": 10, "dissolution": 365}
    app = store.app(retention=policy)
    marker = f"M{uuid4().hex[:12]}"
    forum, _held, _cancelled = forum_with_texts(app, marker)

    cancelled_on = TODAY - timedelta(days=2)  # the cancellation's own business date
    due = {(e["kind"], e["erase_on"]) for e in app.text_retention_schedule()}
    assert due == {
        ("meeting", (TODAY - timedelta(days=5)).isoformat()),  # held 20 days ago + 15
        ("area_mapping", (TODAY + timedelta(days=5)).isoformat()),  # recorded 5 days ago + 10
        ("meeting", (cancelled_on + timedelta(days=15)).isoformat()),
    }
    assert app.apply_text_retention() == 1
    assert texts(store.app(), forum) == {f"{marker}-{k}" for k in ("cancelled", "resources", "challenges")}
    assert app.apply_text_retention(TODAY + timedelta(days=5)) == 1
    assert texts(store.app(), forum) == {f"{marker}-cancelled"}
    assert app.apply_text_retention(cancelled_on + timedelta(days=15)) == 1
    assert texts(store.app(), forum) == set()
    assert app.text_retention_schedule() == []


def test_scheduler_once_applies_the_retention_of_forum_texts(store: Store) -> None:
    app = store.app(clock=today_in_denmark)  # the subprocess runs on the real calendar
    marker = f"M{uuid4().hex[:12]}"
    forum, _held, _cancelled = forum_with_texts(app, marker, on=today_in_denmark())
    env = {
        **store_env(store),
        "FOREBYG_RETENTION_MEETING_TEXT_DAYS": "0",
        "FOREBYG_RETENTION_AREA_MAPPING_DAYS": "0",
    }
    done = subprocess.run(
        [*forebyg_command(), "scheduler", "--once"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "and 3 forum text(s)" in done.stdout, done.stdout
    assert texts(store.app(), forum) == set()


def store_env(store: Store) -> dict[str, str]:
    """The environment of a `forebyg` command on this store."""
    env = server_env(store.settings)
    if store.kind == "sqlite":
        env["FOREBYG_DATA_DIR"] = str(store.settings.data_dir)
    return env


def test_texts_stored_in_clear_by_earlier_versions_read_and_migrate_seals_them(store: Store) -> None:
    app = store.app()
    marker = f"M{uuid4().hex[:12]}"
    forum = Forum.establish(
        name="Forum from before",
        municipality="Aarhus",
        housing_areas=[AREA],
        chair_org=CHAIR,
        established_on=TODAY - timedelta(days=30),
    )
    meeting = uuid4()
    forum.schedule_meeting(meeting, TODAY - timedelta(days=20))
    forum.hold_meeting(meeting, TODAY - timedelta(days=20), [CHAIR], [], f"{marker}-summary")
    forum.record_area_mapping(TODAY - timedelta(days=5), AREA, f"{marker}-resources", f"{marker}-challenges")
    # As earlier versions wrote them: the library's own mapping, nothing sealed; and their
    # stores had no record of this migration step.
    app.recorder.insert_events([Mapper.to_stored_event(app.mapper, e) for e in forum.collect_events()])
    forget_migration_steps(store)
    assert leaks_in(b"".join(store.dump().values()), [marker]) == [marker]
    assert texts(store.app(), forum.id) == {f"{marker}-{k}" for k in ("summary", "resources", "challenges")}

    done = subprocess.run(
        [*forebyg_command(), "migrate"],
        cwd=REPO,
        env=store_env(store),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "sealed the texts of 2 forum event(s)" in done.stdout, done.stdout
    assert leaks_per_place(store.dump(), [marker]) == {}, "migrate left a forum text in clear"
    reader = store.app()
    assert texts(reader, forum.id) == {f"{marker}-{k}" for k in ("summary", "resources", "challenges")}
    assert [m["status"] for m in reader.get_forum(forum.id)["meetings"]] == ["held"]
    reader.erase_forum_texts(forum.id, reason="retention")
    assert texts(store.app(), forum.id) == set()


def test_a_cancellation_is_kept_from_the_day_it_was_cancelled(store: Store) -> None:
    app = store.app()
    forum = app.establish_forum(
        name="Forum cancelling ahead",
        municipality="Aarhus",
        housing_areas=[AREA],
        chair_org=CHAIR,
        established_on=TODAY - timedelta(days=30),
    ).id
    meeting = app.schedule_meeting(forum, TODAY + timedelta(days=10)).meeting_id
    assert meeting is not None
    app.cancel_meeting(forum, meeting, "the chair is ill", cancelled_on=TODAY - timedelta(days=3))
    written = {k["kind"]: k["written_on"] for k in app.text_retention_schedule()}
    assert written == {"meeting": (TODAY - timedelta(days=3)).isoformat()}
    [view] = app.get_forum(forum)["meetings"]
    assert (view["status"], view["cancelled_on"]) == ("cancelled", (TODAY - timedelta(days=3)).isoformat())


def test_a_cancellation_recorded_before_it_was_dated_is_dated_the_day_it_was_recorded_in_denmark(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An earlier version recorded ``MeetingCancelled`` without ``cancelled_on`` (and in clear):
    it still loads, and it is dated the day it was recorded in Denmark — 23:30 UTC on
    2 December is 00:30 on 3 December in Copenhagen — by the forum view and by retention once
    `forebyg migrate` seals it."""
    app = store.app()
    forum = Forum.establish(
        name="Forum at midnight",
        municipality="Aarhus",
        housing_areas=[AREA],
        chair_org=CHAIR,
        established_on=date(2026, 11, 1),
    )
    meeting = uuid4()
    forum.schedule_meeting(meeting, date(2026, 12, 10))
    late_evening = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
    monkeypatch.setattr(Forum.Event, "create_timestamp", staticmethod(lambda: late_evening))
    forum.cancel_meeting(meeting, "the chair is ill", date(2026, 12, 2))
    monkeypatch.undo()
    events = forum.collect_events()
    del vars(events[-1])["cancelled_on"]  # as version 1 of the event was: no business date
    with monkeypatch.context() as old:
        old.setattr(Forum.MeetingCancelled, "class_version", 1)
        stored = [Mapper.to_stored_event(app.mapper, e) for e in events]
    assert b"cancelled_on" not in b"".join(s.state for s in stored if not app.mapper.cipher)
    app.recorder.insert_events(stored)

    [view] = store.app().get_forum(forum.id, include_personal=True)["meetings"]
    assert (view["status"], view["cancelled_on"], view["cancel_reason"]) == (
        "cancelled",
        "2026-12-03",
        "the chair is ill",
    )
    forget_migration_steps(store)  # a store of an earlier release
    migrate(store.settings)
    written = {k["kind"]: k["written_on"] for k in store.app().text_retention_schedule()}
    assert written == {"meeting": "2026-12-03"}


def forget_migration_steps(store: Store) -> None:
    with store.connection() as conn:
        conn.execute("DELETE FROM migration_steps")


def test_once_sealed_later_migrations_skip_the_scan_of_the_log(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from application.privacy import legacy

    scans: list[int] = []
    original = legacy.seal_clear_forum_texts

    def counted(*args: object) -> int:
        scans.append(1)
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr("application.bootstrap.seal_clear_forum_texts", counted)
    migrate(store.settings)
    assert scans == []  # the store's first migration (the fixture's) did it
    forget_migration_steps(store)
    migrate(store.settings)
    migrate(store.settings)
    assert scans == [1]


def test_migrate_runs_again_over_a_store_with_snapshots(store: Store) -> None:
    """Migrating looks through the snapshots for forum texts an earlier version kept in them: on
    PostgreSQL the library's rows are dicts, and reading them by position failed."""
    app = store.app()
    build_demo(app, today=TODAY, cases=2)
    forum, _held, _cancelled = forum_with_texts(app, f"M{uuid4().hex[:12]}")
    app.take_snapshot(forum)
    forget_migration_steps(store)  # as a store of an earlier release: the scan runs
    assert migrate(store.settings) == 0
    forget_migration_steps(store)
    assert migrate(store.settings) == 0
    assert {m["status"] for m in store.app().get_forum(forum)["meetings"]} == {"held", "cancelled"}
