"""Personal data at rest: the demo municipality's 40 cases, written to a real SQLite file and to
a real PostgreSQL schema, leave no personal value in clear in the event table nor in the snapshot
table (nor anywhere else in the store). With FOREBYG_STORE_KEY the workflow data is not in clear
either, and the application still reads everything.

The personal values are taken from the application itself (the system's own read, personal
fields included), so the search covers exactly what the application shows a reader with a purpose.
"""

from __future__ import annotations

import base64
import os
from uuid import UUID

from application.demo import build_demo
from domain.values import ERASED
from tests.conftest import TODAY
from tests.privacy.support import Store, as_bytes, leaks_in, leaks_per_place, personal_values

CASES = 40


def test_no_personal_value_of_the_demo_lies_in_clear_in_the_event_or_snapshot_table(store: Store) -> None:
    app = store.app()
    demo = build_demo(app, today=TODAY, cases=CASES)
    snapshotted = [*demo.cases[::5], *demo.reopened]
    for case_id in snapshotted:
        app.take_snapshot(case_id)
    app.workflow.catch_up()

    subjects = [app.get_case(case_id, include_personal=True)["subject"] for case_id in demo.cases]
    values = set().union(*(personal_values(app, case_id) for case_id in demo.cases))
    assert {s["name"] for s in subjects} | {s["cpr"] for s in subjects} <= values
    assert len(demo.cases) == CASES and len(values) > 2 * CASES

    events, snapshots = store.raw(store.event_table), store.raw(store.snapshot_table)
    assert len(store.rows(store.snapshot_table)) == len(set(snapshotted))
    # The search can see: workflow data lies in clear, non-ASCII included.
    assert leaks_in(events, ["aarhus-kommune", "Helhedsplan Gellerup-Toveshøj", "retsplejeloven_115"])
    assert leaks_in(snapshots, ["bispehaven-boligsocial", "cross_over"]) or leaks_in(
        snapshots, ["aarhus-boligsocial", "younger_sibling"]
    )

    assert leaks_in(events, values) == [], f"personal data in clear in {store.event_table}"
    assert leaks_in(snapshots, values) == [], f"personal data in clear in {store.snapshot_table}"
    assert leaks_per_place(store.dump(), values) == {}, "personal data in clear in a table of the store"
    if store.kind == "sqlite":
        assert leaks_per_place(store.files(), values) == {}, "personal data in clear in the database files"


def test_with_a_store_key_not_even_workflow_data_lies_in_clear_yet_everything_reads(store: Store) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    app = store.app(store_key=key)
    demo = build_demo(app, today=TODAY, cases=12)
    for case_id in {*demo.cases[:4], *demo.reopened}:
        app.take_snapshot(case_id)
    values = set().union(*(personal_values(app, case_id) for case_id in demo.cases))

    workflow = [
        "aarhus-kommune",
        "oestjyllands-politi",
        "Samarbejdsforum Gellerup-Toveshøj",
        "Gellerupparken",
        "retsplejeloven_115",
        "cross_over",
        "younger_sibling",
        "family_dialogue",
        TODAY.isoformat()[:7],
    ]
    for table in (store.event_table, store.snapshot_table):
        stored = store.column(table, "state")
        assert stored, f"{table} is empty"
        blob = b"\x00".join(as_bytes(state) for state in stored)
        assert leaks_in(blob, workflow) == [], f"workflow data in clear in {table} despite the store key"
        assert leaks_in(blob, values) == [], f"personal data in clear in {table}"
        assert leaks_in(blob, ["originator_topic", "_type_"]) == [], f"{table} states are not encrypted"
    keys = store.column("subject_keys", "key")
    assert keys and all(str(k).startswith("w:") for k in keys), (
        "subject keys are not wrapped by the store key"
    )

    # Another process with the same key reads everything, personal data included.
    reader = store.app(store_key=key)
    for case_id in demo.cases:
        assert reader.get_case(case_id, include_personal=True) == app.get_case(case_id, include_personal=True)
        assert personal_values(reader, case_id) == personal_values(app, case_id)
    case = reader.get_case(demo.reopened[0], include_personal=True)
    assert case["subject"]["name"] not in ("", ERASED) and case["reopened_on"]
    assert UUID(case["subject_id"]) in {UUID(s) for s in _subjects(store)}
    assert {f["name"] for f in reader.list_forums()} == {
        "Samarbejdsforum Gellerup-Toveshøj",
        "Samarbejdsforum Bispehaven",
    }
    assert len(reader.list_cases(limit=100)) == len(demo.cases)


def _subjects(store: Store) -> list[str]:
    return [str(subject) for subject in store.column("subject_keys", "subject_id")]
