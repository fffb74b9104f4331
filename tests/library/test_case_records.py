"""The read side's case records (application/readmodels/records.py) hold exactly the facts of
the domain's ``Case`` that they keep: a record folded from a case's stored events equals the
record taken from the case the domain folds from the same events — for every case of the demo
municipality (every closure reason, a reopened case, an erased subject, reminders sent), and,
in tests/property/test_replay.py, after every step of random command sequences."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest

from application.app import Forebyg
from application.bootstrap import build_application, migrate
from application.demo import build_demo
from application.readmodels import records
from application.readmodels.records import HANDLERS, CaseRecord, Revived
from application.reminders.dispatch import Dispatcher
from application.settings import Settings
from domain.case import Case

TODAY = date(2026, 11, 2)


def record_from_log(app: Any, case_id: UUID) -> CaseRecord:
    """The case's record folded by the handlers from its stored events alone."""
    record = CaseRecord()
    record.id, record.born, record.touched, values = case_id, True, {}, Revived()
    for stored in app.recorder.select_events(case_id):
        state = stored.state
        if app.mapper.cipher:
            state = app.mapper.cipher.decrypt(state)
        HANDLERS[stored.topic](record, orjson.loads(state), values)
        record.version = stored.originator_version
    return record


@pytest.fixture
def demo(tmp_path: Path) -> Any:
    settings = Settings(data_dir=tmp_path / "var", store_key="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
    migrate(settings)
    app = build_application(settings, clock=lambda: TODAY)
    build_demo(app, today=TODAY)
    assert Dispatcher(app).dispatch().delivered
    case = next(c for c in map(app.repository.get, map(UUID, cases_of(app))) if c.open_actions)
    action = case.open_actions[0]
    app.reschedule_action(case.id, action.action_id, due_on=action.due_on + timedelta(days=7), reason="Later")
    app.erase_subject(UUID(str(app.get_case(first_case(app))["subject_id"])), reason="test")
    yield app
    app.close()


def cases_of(app: Forebyg) -> list[str]:
    return [row["id"] for row in app.list_cases(limit=1000)]


def first_case(app: Forebyg) -> UUID:
    return UUID(app.list_cases()[0]["id"])


def test_a_record_folded_from_the_log_equals_the_record_of_the_domains_case(demo: Forebyg) -> None:
    cases = [UUID(case_id) for case_id in cases_of(demo)]
    assert len(cases) >= 40
    kinds: set[str] = set()
    for case_id in cases:
        case = demo.repository.get(case_id)
        assert isinstance(case, Case)
        assert record_from_log(demo, case_id).facts() == CaseRecord.of(case).facts()
        kinds |= {stored.topic.rsplit(".", 1)[-1] for stored in demo.recorder.select_events(case_id)}
    assert kinds == {topic.rsplit(".", 1)[-1] for topic in HANDLERS}  # every kind of case event


def test_the_projectors_records_equal_the_domains_cases(demo: Forebyg) -> None:
    """The projector's own records (folded in its batches, or taken from the event store for
    a case it has not folded) hold the same facts."""
    projector = demo.workflow
    projector.batch_size = 7  # many batches: records carried over between them
    projector.rebuild()
    for case_id in map(UUID, cases_of(demo)):
        folded = projector._states[case_id]
        assert isinstance(folded, CaseRecord)
        assert folded.facts() == CaseRecord.of(demo.repository.get(case_id)).facts()


def test_a_case_event_without_a_handler_is_refused_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    topic = next(iter(HANDLERS))
    monkeypatch.delitem(HANDLERS, topic)
    with pytest.raises(RuntimeError, match="no handler"):
        records.check_handlers()
