"""Retention: a closed case's personal data is erased a set time after closure, by reason; a
forum's free texts a set time after they were written, by kind."""

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


# A forum's free texts, by kind (application.privacy.sealing.FORUM_TEXTS): days after the
# business date they were written (FOREBYG_RETENTION_<KIND>_DAYS).
DEFAULT_TEXT_DAYS = {"meeting": 365, "area_mapping": 1095, "dissolution": 365}
TEXT_VARIABLES = {
    "meeting": "FOREBYG_RETENTION_MEETING_TEXT_DAYS",
    "area_mapping": "FOREBYG_RETENTION_AREA_MAPPING_DAYS",
    "dissolution": "FOREBYG_RETENTION_DISSOLUTION_REASON_DAYS",
}


@dataclass(frozen=True)
class RetentionPolicy:
    """Days after closure, per closure reason (FOREBYG_RETENTION_<REASON>_DAYS); days after
    writing, per kind of forum text (``TEXT_VARIABLES``)."""

    days: Mapping[ClosureReason, int] = field(default_factory=lambda: dict(DEFAULT_DAYS))
    text_days: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_TEXT_DAYS))

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RetentionPolicy:
        days = dict(DEFAULT_DAYS)
        for reason in ClosureReason:
            raw = environ.get(f"FOREBYG_RETENTION_{reason.value.upper()}_DAYS")
            if raw is not None:
                days[reason] = _days(f"FOREBYG_RETENTION_{reason.value.upper()}_DAYS", raw)
        text_days = dict(DEFAULT_TEXT_DAYS)
        for kind, variable in TEXT_VARIABLES.items():
            raw = environ.get(variable)
            if raw is not None:
                text_days[kind] = _days(variable, raw)
        return cls(days=days, text_days=text_days)


def _days(variable: str, raw: str) -> int:
    if not raw.isdigit() or int(raw) > 36500:
        raise ValueError(f"{variable}: {raw!r} is not a number of days")
    return int(raw)


def text_schedule(keys: list[dict[str, Any]], policy: RetentionPolicy) -> list[dict[str, Any]]:
    """Every forum text not yet destroyed (the key store's ``text_keys``), with the day its
    key falls due for destruction: the day it was written plus its kind's period."""
    due = [
        {
            **key,
            "erase_on": days_after(
                date.fromisoformat(key["written_on"]), policy.text_days[key["kind"]]
            ).isoformat(),
        }
        for key in keys
    ]
    return sorted(due, key=lambda e: (e["erase_on"], e["key_id"]))


def schedule(keys: Cursor, cases: Cursor, policy: RetentionPolicy) -> list[dict[str, Any]]:
    """Every subject not yet erased whose cases are all closed, with the day its personal
    data falls due for erasure: the latest of each case's closure plus its reason's period.
    ``keys`` reads the key store, ``cases`` the case board (they may be two databases)."""
    keys.execute(
        "SELECT s.subject_id, s.case_id FROM case_subjects s"
        " JOIN subject_keys k ON k.subject_id = s.subject_id WHERE k.erased_at IS NULL"
    )
    live = keys.fetchall()
    cases.execute("SELECT case_id, status, closed_on, closure_reason FROM board_cases")
    board = {row[0]: tuple(row[1:]) for row in cases.fetchall()}
    rows = sorted((s, c, *board[c]) for s, c in live if c in board)
    subjects: dict[str, dict[str, Any]] = {}
    for subject_id, case_id, status, closed_on, reason in rows:
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
