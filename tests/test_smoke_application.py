from __future__ import annotations

from datetime import date

from application.app import Forebyg
from application.demo import build_demo
from tests.conftest import TODAY


def test_the_demo_municipality_builds_and_replays(app: Forebyg) -> None:
    summary = build_demo(app, today=TODAY, cases=40)
    assert len(summary.cases) == 40
    assert set(summary.closures) == {
        "resolved",
        "unfounded",
        "transferred",
        "police_matter",
        "moved_away",
        "other",
    }
    assert summary.reopened
    case = app.get_case(summary.reopened[0])
    types = [e["type"] for e in app.get_case_history(summary.reopened[0])]
    assert "Reopened" in types and case["version"] == len(types)
    assert date.fromisoformat(case["received_on"]) >= date(2024, 12, 1)
