"""The case board: forums and their cases with status and next due date, for lists and filters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from eventsourcing.domain import Aggregate

from application.readmodels.store import Cursor
from domain.case import Case
from domain.forum import Forum


class CaseBoard:
    name = "case_board"

    def create_tables(self, cursor: Cursor) -> None:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS board_forums ("
            " forum_id TEXT PRIMARY KEY, name TEXT NOT NULL, municipality TEXT NOT NULL,"
            " housing_areas TEXT NOT NULL, chair_org TEXT NOT NULL, members TEXT NOT NULL,"
            " established_on TEXT NOT NULL, dissolved_on TEXT, version INTEGER NOT NULL)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS board_cases ("
            " case_id TEXT PRIMARY KEY, forum_id TEXT NOT NULL, status TEXT NOT NULL,"
            " target_group TEXT NOT NULL, referred_by TEXT NOT NULL, received_on TEXT NOT NULL,"
            " open_actions INTEGER NOT NULL, next_due_on TEXT, next_review_on TEXT,"
            " closed_on TEXT, closure_reason TEXT, version INTEGER NOT NULL)"
        )
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS board_cases_forum ON board_cases (forum_id, status, received_on)"
        )

    def drop_tables(self, cursor: Cursor) -> None:
        cursor.execute("DROP TABLE IF EXISTS board_cases")
        cursor.execute("DROP TABLE IF EXISTS board_forums")

    def apply(self, cursor: Cursor, changed: Sequence[Aggregate], events: Sequence[Any]) -> None:
        forums = [self._forum_row(a) for a in changed if isinstance(a, Forum)]
        cases = [self._case_row(a) for a in changed if isinstance(a, Case)]
        if forums:
            cursor.executemany(
                "INSERT INTO board_forums VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (forum_id) DO UPDATE"
                " SET name = excluded.name, municipality = excluded.municipality,"
                " housing_areas = excluded.housing_areas, chair_org = excluded.chair_org,"
                " members = excluded.members, established_on = excluded.established_on,"
                " dissolved_on = excluded.dissolved_on, version = excluded.version",
                forums,
            )
        if cases:
            cursor.executemany(
                "INSERT INTO board_cases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (case_id) DO UPDATE SET forum_id = excluded.forum_id,"
                " status = excluded.status, target_group = excluded.target_group,"
                " referred_by = excluded.referred_by, received_on = excluded.received_on,"
                " open_actions = excluded.open_actions, next_due_on = excluded.next_due_on,"
                " next_review_on = excluded.next_review_on, closed_on = excluded.closed_on,"
                " closure_reason = excluded.closure_reason, version = excluded.version",
                cases,
            )

    @staticmethod
    def _forum_row(forum: Forum) -> tuple[Any, ...]:
        return (
            str(forum.id),
            forum.name,
            forum.municipality,
            json.dumps(list(forum.housing_areas)),
            forum.chair_org,
            json.dumps(list(forum.members)),
            forum.established_on.isoformat(),
            forum.dissolved_on.isoformat() if forum.dissolved_on else None,
            forum.version,
        )

    @staticmethod
    def _case_row(case: Case) -> tuple[Any, ...]:
        open_actions = case.open_actions
        next_due = min((a.due_on for a in open_actions), default=None)
        return (
            str(case.id),
            str(case.forum_id),
            case.status.value,
            case.target_group.value,
            case.referred_by,
            case.received_on.isoformat(),
            len(open_actions),
            next_due.isoformat() if next_due else None,
            case.next_review_on.isoformat() if case.next_review_on else None,
            case.closed_on.isoformat() if case.closed_on else None,
            case.closure_reason.value if case.closure_reason else None,
            case.version,
        )

    # --- queries ---------------------------------------------------------------------

    @staticmethod
    def forums(cursor: Cursor, org: str | None) -> list[dict[str, Any]]:
        cursor.execute("SELECT * FROM board_forums ORDER BY name, forum_id")
        names = (
            "id",
            "name",
            "municipality",
            "housing_areas",
            "chair_org",
            "members",
            "established_on",
            "dissolved_on",
            "version",
        )
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        for row in rows:
            row["housing_areas"] = json.loads(row["housing_areas"])
            row["members"] = json.loads(row["members"])
        return [row for row in rows if org is None or org in row["members"]]

    @staticmethod
    def cases(
        cursor: Cursor, forum_ids: Sequence[str], status: str | None, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        if not forum_ids:
            return []
        marks = ", ".join("?" for _ in forum_ids)
        sql = f"SELECT * FROM board_cases WHERE forum_id IN ({marks})"
        params: list[Any] = list(forum_ids)
        if status:
            sql += " AND status = ?"
            params.append(status)
        sql += " ORDER BY received_on DESC, case_id LIMIT ? OFFSET ?"
        params += [limit, offset]
        cursor.execute(sql, params)
        names = (
            "id",
            "forum_id",
            "status",
            "target_group",
            "referred_by",
            "received_on",
            "open_actions",
            "next_due_on",
            "next_review_on",
            "closed_on",
            "closure_reason",
            "version",
        )
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
