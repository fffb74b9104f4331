"""The access log: who read a case's personal data (or exported data), which organisation,
when and why. Append-only: the database itself refuses to update or delete its rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from application.readmodels.store import Cursor, SqlStore, insert_rows

COPIED_ENTRIES = 20  # from this many entries on, PostgreSQL gets them by COPY
COLUMNS = ("id", "at", "username", "org", "role", "kind", "case_id", "subject_id", "purpose", "legal_basis")

SQLITE_GUARDS = (
    "CREATE TRIGGER IF NOT EXISTS access_log_no_update BEFORE UPDATE ON access_log"
    " BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS access_log_no_delete BEFORE DELETE ON access_log"
    " BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END",
)
POSTGRES_GUARDS = (
    "CREATE OR REPLACE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN RAISE EXCEPTION 'the access log is append-only'; END $$",
    "CREATE OR REPLACE TRIGGER access_log_no_change BEFORE UPDATE OR DELETE ON access_log"
    " FOR EACH ROW EXECUTE FUNCTION access_log_append_only()",
    "CREATE OR REPLACE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log"
    " FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only()",
)


class AccessLog:
    def __init__(self, store: SqlStore) -> None:
        self.store = store

    def create_tables(self, cursor: Cursor) -> None:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS access_log (id TEXT PRIMARY KEY, at TEXT NOT NULL,"
            " username TEXT NOT NULL, org TEXT NOT NULL, role TEXT NOT NULL, kind TEXT NOT NULL,"
            " case_id TEXT, subject_id TEXT, purpose TEXT NOT NULL, legal_basis TEXT)"
        )
        cursor.execute("CREATE INDEX IF NOT EXISTS access_log_case ON access_log (case_id, at)")
        cursor.execute("CREATE INDEX IF NOT EXISTS access_log_subject ON access_log (subject_id, at)")
        for statement in POSTGRES_GUARDS if self.store.dialect == "postgres" else SQLITE_GUARDS:
            cursor.execute(statement)

    def record(
        self,
        *,
        username: str,
        org: str,
        role: str,
        kind: str,
        purpose: str,
        case_id: UUID | None = None,
        subject_id: UUID | str | None = None,
        legal_basis: str | None = None,
    ) -> None:
        self.record_all(
            [
                {
                    "username": username,
                    "org": org,
                    "role": role,
                    "kind": kind,
                    "purpose": purpose,
                    "case_id": case_id,
                    "subject_id": subject_id,
                    "legal_basis": legal_basis,
                }
            ]
        )

    def record_all(self, entries: list[dict[str, Any]]) -> None:
        """Entries recorded in one transaction (an export's: one for each case and forum whose
        personal data it wrote, a page at a time); each has the keywords of ``record``."""
        if not entries:
            return
        now = datetime.now(UTC).isoformat()
        rows = []
        for entry in entries:
            case_id, subject_id = entry.get("case_id"), entry.get("subject_id")
            rows.append(
                (
                    str(uuid4()),
                    now,
                    entry["username"],
                    entry["org"],
                    entry["role"],
                    entry["kind"],
                    str(case_id) if case_id else None,
                    str(subject_id) if subject_id else None,
                    entry["purpose"],
                    entry.get("legal_basis"),
                )
            )
        # An export's entries (hundreds a page) go to PostgreSQL by COPY: one statement
        # each was most of the cost of an export's entries.
        with self.store.transaction() as cursor:
            insert_rows(cursor, "access_log", COLUMNS, rows, new=True, bulk_from=COPIED_ENTRIES)

    def for_case(self, case_id: UUID) -> list[dict[str, Any]]:
        return self._select("case_id = ?", str(case_id))

    def for_subject(self, subject_id: UUID) -> list[dict[str, Any]]:
        return self._select("subject_id = ?", str(subject_id))

    @staticmethod
    def forum_texts(forum_id: UUID) -> str:
        """Whose data a read or erasure of a forum's free texts concerns: they have no subject,
        so the entry names the forum in the subject column (``forum/<id>``)."""
        return f"forum/{forum_id}"

    def for_forum(self, forum_id: UUID) -> list[dict[str, Any]]:
        """Reads and erasures of the forum's free texts."""
        return self._select("subject_id = ?", self.forum_texts(forum_id))

    def _select(self, where: str, value: str) -> list[dict[str, Any]]:
        with self.store.transaction() as cursor:
            cursor.execute(
                f"SELECT {', '.join(COLUMNS)} FROM access_log WHERE {where} ORDER BY at, id", (value,)
            )
            return [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
