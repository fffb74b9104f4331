"""The read models' fast decoder (orjson, one walk, recurring values reused) makes exactly the
events the library's mapper makes, field for field and type for type, personal fields still
sealed; and the projector's own read of the PostgreSQL log equals the library's."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import Mapper, StoredEvent

from application import transcodings
from application.bootstrap import build_application, migrate
from application.demo import build_demo
from application.privacy.sealing import Sealed, SealingMapper
from application.settings import Settings
from application.transcodings import KnownUUID

TODAY = date(2026, 11, 2)


def stored_log(app: Any) -> list[StoredEvent]:
    notifications = app.recorder.select_notifications(start=1, limit=1_000_000)
    return [
        StoredEvent(
            originator_id=n.originator_id,
            originator_version=n.originator_version,
            topic=n.topic,
            state=n.state,
        )
        for n in notifications
    ]


def same_type(got: Any, expected: Any) -> bool:
    """The same type, except that the fast decoder's ids are ``KnownUUID``s (which keep their
    text): equal, hashing and reading the same as the library's ``UUID``s."""
    if type(expected) is UUID and type(got) is KnownUUID:
        return str(got) == str(expected) and hash(got) == hash(expected) and got == expected == got
    return type(got) is type(expected)


def assert_same_events(mapper: SealingMapper, log: list[StoredEvent]) -> None:
    assert log
    sealed = 0
    for stored in log:
        expected = Mapper.to_domain_event(mapper, stored)  # the library's own decoding
        for originator_id in (stored.originator_id, str(stored.originator_id)):
            got = mapper.decode_workflow(originator_id, stored.originator_version, stored.topic, stored.state)
            assert type(got) is type(expected)
            assert vars(got) == vars(expected), stored.topic
            for name, value in vars(expected).items():
                assert same_type(vars(got)[name], value), (stored.topic, name)
            assert same_type(got.originator_id, stored.originator_id)
        sealed += sum(isinstance(v, Sealed) for v in vars(expected).values())
    assert sealed > 0, "the demo's personal fields are sealed in its events"


@pytest.mark.parametrize("store_key", [False, True], ids=["plain", "encrypted at rest"])
def test_the_fast_decoder_makes_the_librarys_events_on_the_embedded_store(
    tmp_path: Path, store_key: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" if store_key else ""
    settings = Settings(data_dir=tmp_path / "var", store_key=key)
    migrate(settings)
    app = build_application(settings, clock=lambda: TODAY)
    try:
        build_demo(app, today=TODAY, cases=12)
        mapper = app.mapper
        assert isinstance(mapper, SealingMapper)
        log = stored_log(app)
        assert_same_events(mapper, log)
        # With caches so small they are cleared over and over, still the same events.
        monkeypatch.setattr(transcodings, "MAX_REUSED", 3)
        mapper._reviver = None
        assert_same_events(mapper, log)
    finally:
        app.close()


@pytest.mark.postgres
def test_the_projectors_read_of_the_postgres_log_equals_the_librarys(postgres_settings: Settings) -> None:
    app = build_application(postgres_settings, clock=lambda: TODAY)
    try:
        build_demo(app, today=TODAY, cases=6)
        last = app.recorder.max_notification_id()
        notifications = app.recorder.select_notifications(
            start=4, limit=50, stop=last - 3, inclusive_of_start=False
        )
        expected = [
            (n.id, str(n.originator_id), n.originator_version, n.topic, n.state) for n in notifications
        ]
        got = app.workflow._page(4, 50, last - 3)
        assert [(r[0], str(r[1]), r[2], r[3], bytes(r[4])) for r in got] == expected
        assert len(got) == 50
        tail = app.workflow._page(last - 10, 1000, last)
        assert [r[0] for r in tail] == list(range(last - 9, last + 1))
        mapper = app.mapper
        assert isinstance(mapper, SealingMapper)
        assert_same_events(mapper, stored_log(app))
    finally:
        app.close()


def test_a_known_uuid_is_a_uuid_that_keeps_its_text_through_copies() -> None:
    import copy
    import pickle

    plain = UUID("69e6f00b-a5dd-438e-8be0-e332f298329e")
    known = KnownUUID(plain.hex)
    assert known == plain and plain == known and hash(known) == hash(plain)
    assert str(known) == str(plain) and known.hex == plain.hex and {plain: 1}[known] == 1
    for again in (copy.copy(known), copy.deepcopy(known), pickle.loads(pickle.dumps(known))):
        assert type(again) is KnownUUID and again == plain and str(again) == str(plain)
