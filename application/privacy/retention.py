"""Retention: a closed case's personal data is erased a set time after closure, by reason."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from application.readmodels.store import Cursor
from domain.values import ClosureReason, days_after

DEFAULT_DAYS = {
    ClosureReason.UNFOUNDED: 180,
    ClosureReason.TRANSFERRED: 365,
    ClosureReason.MOVED_AWAY: 365,
    ClosureReason.OTHER: 365,
    ClosureReason.RESOLVED: 730,
    ClosureReason.POLICE_MATTER: 730,
}


@dataclass(frozen=True)
class RetentionPolicy:
    """Days after closure, per closure reason (FOREBYG_RETENTION_<REASON>_DAYS)."""

    days: Mapping[ClosureReason, int] = field(default_factory=lambda: dict(DEFAULT_DAYS))

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RetentionPolicy:
        days = dict(DEFAULT_DAYS)
        for reason in ClosureReason:
            raw = environ.get(f"FOREBYG_RETENTION_{reason.value.upper()}_DAYS")
            if raw is not None:
                if not raw.isdigit() or int(raw) > 36500:
                    raise ValueError(
                        f"FOREBYG_RETENTION_{reason.value.upper()}_DAYS: {raw!r} is not a number of days"
                    )
                days[reason] = int(raw)
        return cls(days=days)


def schedule(cursor: Cursor, policy: RetentionPolicy) -> list[dict[str, Any]]:
    """Every subject not yet erased whose cases are all closed, with the day its personal
    data falls due for erasure: the latest of each case's closure plus its reason's period."""
    cursor.execute(
        "SELECT s.subject_id, c.case_id, c.status, c.closed_on, c.closure_reason"
        " FROM case_subjects s JOIN subject_keys k ON k.subject_id = s.subject_id"
        " JOIN board_cases c ON c.case_id = s.case_id WHERE k.erased_at IS NULL"
        " ORDER BY s.subject_id, c.case_id"
    )
    subjects: dict[str, dict[str, Any]] = {}
    for subject_id, case_id, status, closed_on, reason in cursor.fetchall():
        entry = subjects.setdefault(
            subject_id, {"subject_id": subject_id, "case_ids": [], "erase_on": None, "open": False}
        )
        entry["case_ids"].append(case_id)
        if status != "closed" or closed_on is None:
            entry["open"] = True
            continue
        erase_on = days_after(date.fromisoformat(closed_on), policy.days[ClosureReason(reason)])
        if entry["erase_on"] is None or erase_on > entry["erase_on"]:
            entry["erase_on"] = erase_on
    due = []
    for entry in subjects.values():
        if not entry.pop("open") and entry["erase_on"] is not None:
            entry["erase_on"] = entry["erase_on"].isoformat()
            due.append(entry)
    return sorted(due, key=lambda e: (e["erase_on"], e["subject_id"]))
