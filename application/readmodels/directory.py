"""Who is who: organisations and user accounts, for delivering reminders by e-mail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.domain import Aggregate

from application.accounts import Organisation, UserAccount
from application.readmodels.store import Cursor, insert_rows

ORG_COLUMNS = ("slug", "name", "kind", "email")
USER_COLUMNS = ("username", "org", "role", "email", "active")


class Directory:
    name = "directory"

    def create_tables(self, cursor: Cursor) -> None:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS directory_orgs ("
            " slug TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, email TEXT)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS directory_users ("
            " username TEXT PRIMARY KEY, org TEXT NOT NULL, role TEXT NOT NULL, email TEXT,"
            " active INTEGER NOT NULL)"
        )

    def drop_tables(self, cursor: Cursor) -> None:
        cursor.execute("DROP TABLE IF EXISTS directory_users")
        cursor.execute("DROP TABLE IF EXISTS directory_orgs")

    def apply(self, cursor: Cursor, changed: Sequence[Aggregate], events: Sequence[Any]) -> None:
        orgs = [(a.slug, a.name, a.kind.value, a.email) for a in changed if isinstance(a, Organisation)]
        users = [
            (a.username, a.org, a.role.value, a.email, int(a.active))
            for a in changed
            if isinstance(a, UserAccount)
        ]
        insert_rows(cursor, "directory_orgs", ORG_COLUMNS, orgs, key="slug", update=ORG_COLUMNS[1:])
        insert_rows(cursor, "directory_users", USER_COLUMNS, users, key="username", update=USER_COLUMNS[1:])

    @staticmethod
    def addresses(cursor: Cursor, org: str) -> list[str]:
        """The organisation's own address and those of its active users, without duplicates."""
        cursor.execute("SELECT email FROM directory_orgs WHERE slug = ? AND email IS NOT NULL", (org,))
        found = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT email FROM directory_users WHERE org = ? AND active = 1 AND email IS NOT NULL"
            " ORDER BY username",
            (org,),
        )
        found += [row[0] for row in cursor.fetchall()]
        return list(dict.fromkeys(found))
