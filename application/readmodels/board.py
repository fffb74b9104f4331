"""The case board: forums and their cases with status and next due date, for lists and filters."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from eventsourcing.domain import Aggregate

from application.readmodels.records import ACTION_FACTS, ActionRecord, CaseRecord
from application.readmodels.store import Cursor, insert_rows
from domain.forum import Forum

FORUM_COLUMNS = (
    "forum_id",
    "name",
    "municipality",
    "housing_areas",
    "chair_org",
    "members",
    "established_on",
    "dissolved_on",
    "version",
)
CASE_COLUMNS = (
    "case_id",
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
    "assessed_on",
    "last_discussed_on",
    "post_closure_review_on",
)
# An action's row: its facts as the case record keeps them, with its case and forum.
ACTION_COLUMNS = ("action_id", "case_id", "forum_id", *ACTION_FACTS[1:])


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
            " closed_on TEXT, closure_reason TEXT, version INTEGER NOT NULL,"
            " assessed_on TEXT, last_discussed_on TEXT, post_closure_review_on TEXT)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS board_actions ("
            " action_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, forum_id TEXT NOT NULL,"
            " kind TEXT NOT NULL, responsible_org TEXT NOT NULL, agreed_on TEXT NOT NULL,"
            " due_on TEXT NOT NULL, status TEXT NOT NULL, completed_on TEXT, last_event_on TEXT)"
        )
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS board_actions_forum ON board_actions (forum_id, status, due_on)"
        )
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS board_cases_forum ON board_cases (forum_id, status, received_on)"
        )

    def drop_tables(self, cursor: Cursor) -> None:
        cursor.execute("DROP TABLE IF EXISTS board_actions")
        cursor.execute("DROP TABLE IF EXISTS board_cases")
        cursor.execute("DROP TABLE IF EXISTS board_forums")

    def apply(self, cursor: Cursor, changed: Sequence[Aggregate], events: Sequence[Any]) -> None:
        forums = [self._forum_row(a) for a in changed if isinstance(a, Forum)]
        insert_rows(cursor, "board_forums", FORUM_COLUMNS, forums, key="forum_id", update=FORUM_COLUMNS[1:])
        # Rows of a case referred, or an action agreed, in this batch cannot exist yet: they
        # are inserted as new (by COPY straight into the table, when many).
        cases = [a for a in changed if isinstance(a, CaseRecord)]
        for new in (True, False):
            rows = [self._case_row(case) for case in cases if case.born is new]
            update = CASE_COLUMNS[1:]
            insert_rows(cursor, "board_cases", CASE_COLUMNS, rows, key="case_id", update=update, new=new)
            actions = [
                self._action_row(case, case.actions[key])
                for case in cases
                for key, agreed in case.touched.items()
                if agreed is new
            ]
            insert_rows(
                cursor,
                "board_actions",
                ACTION_COLUMNS,
                actions,
                key="action_id",
                update=("due_on", "status", "completed_on", "last_event_on", "responsible_org"),
                new=new,
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
    def _case_row(case: CaseRecord) -> tuple[Any, ...]:
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
            case.assessed_on.isoformat() if case.assessed_on else None,
            max(case.discussed_on).isoformat() if case.discussed_on else None,
            case.post_closure_review_on.isoformat() if case.post_closure_review_on else None,
        )

    @staticmethod
    def _action_row(case: CaseRecord, action: ActionRecord) -> tuple[Any, ...]:
        return (
            str(action.action_id),
            str(case.id),
            str(case.forum_id),
            action.kind.value,
            action.responsible_org,
            action.agreed_on.isoformat(),
            action.due_on.isoformat(),
            action.status.value,
            action.completed_on.isoformat() if action.completed_on else None,
            action.last_event_on.isoformat() if action.last_event_on else None,
        )

    # --- queries ---------------------------------------------------------------------

    @staticmethod
    def forums(cursor: Cursor, org: str | None) -> list[dict[str, Any]]:
        cursor.execute(f"SELECT {', '.join(FORUM_COLUMNS)} FROM board_forums ORDER BY name, forum_id")
        names = ("id", *FORUM_COLUMNS[1:])  # a forum is "id" in answers
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
        sql = f"SELECT {', '.join(CASE_COLUMNS[:12])} FROM board_cases WHERE forum_id IN ({marks})"
        params: list[Any] = list(forum_ids)
        if status:
            sql += " AND status = ?"
            params.append(status)
        sql += " ORDER BY received_on DESC, case_id LIMIT ? OFFSET ?"
        params += [limit, offset]
        cursor.execute(sql, params)
        names = ("id", *CASE_COLUMNS[1:12])  # a case is "id" in answers
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    @staticmethod
    def agenda(cursor: Cursor, forum_id: str, on: str) -> dict[str, list[dict[str, Any]]]:
        """What the forum's next meeting should take up, as of a business date."""

        def rows(sql: str, params: Sequence[Any], names: Sequence[str]) -> list[dict[str, Any]]:
            cursor.execute(sql, params)
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        case_names = (
            "id",
            "status",
            "target_group",
            "received_on",
            "assessed_on",
            "last_discussed_on",
            "next_due_on",
            "next_review_on",
        )
        case_sql = (
            "SELECT case_id, status, target_group, received_on, assessed_on, last_discussed_on,"
            " next_due_on, next_review_on FROM board_cases WHERE forum_id = ?"
        )
        return {
            "new_referrals": rows(
                case_sql + " AND status = 'awaiting_assessment' ORDER BY received_on", (forum_id,), case_names
            ),
            "overdue_actions": rows(
                "SELECT action_id, case_id, kind, responsible_org, due_on, agreed_on FROM board_actions"
                " WHERE forum_id = ? AND status = 'open' AND due_on < ? ORDER BY due_on",
                (forum_id, on),
                ("action_id", "case_id", "kind", "responsible_org", "due_on", "agreed_on"),
            ),
            "reviews_due": rows(
                case_sql + " AND ((next_review_on IS NOT NULL AND next_review_on <= ?)"
                " OR (status = 'closed' AND post_closure_review_on IS NOT NULL"
                " AND post_closure_review_on <= ?))"
                " ORDER BY received_on",
                (forum_id, on, on),
                case_names,
            ),
            "cases_to_discuss": rows(
                case_sql
                + " AND status = 'active' AND (last_discussed_on IS NULL OR last_discussed_on < assessed_on"
                " OR (next_due_on IS NOT NULL AND next_due_on <= ?)) ORDER BY received_on",
                (forum_id, on),
                case_names,
            ),
        }
