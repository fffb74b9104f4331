"""The read models' SQL port: ``insert_rows`` means the same on SQLite and PostgreSQL, whether the
rows go one statement each or (many rows, PostgreSQL) by COPY through a staging table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from application.readmodels.store import BULK_ROWS, PostgresStore, SQLiteStore, SqlStore, insert_rows
from application.settings import Settings

COLUMNS = ("key", "label", "count", "note")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    made: SqlStore
    if request.param == "sqlite":
        made = SQLiteStore(str(tmp_path / "store.db"))
    else:
        settings: Settings = request.getfixturevalue("postgres_settings")
        env = settings.persistence_env()
        made = PostgresStore(env, env["POSTGRES_SCHEMA"])
    with made.transaction() as cursor:
        cursor.execute(
            "CREATE TABLE things"
            " (key TEXT PRIMARY KEY, label TEXT NOT NULL, count INTEGER NOT NULL, note TEXT)"
        )
    try:
        yield made
    finally:
        made.close()


def rows_of(store: SqlStore) -> list[tuple[Any, ...]]:
    with store.transaction() as cursor:
        cursor.execute("SELECT key, label, count, note FROM things ORDER BY key")
        return [tuple(row) for row in cursor.fetchall()]


@pytest.mark.parametrize("size", [3, BULK_ROWS + 7], ids=["few rows", "bulk"])
def test_insert_rows_upserts_and_the_last_row_of_a_key_wins(store: SqlStore, size: int) -> None:
    first = [(f"k{i:05}", f"first {i}", i, None) for i in range(size)]
    with store.transaction() as cursor:
        insert_rows(cursor, "things", COLUMNS, first, key="key", update=("label", "count", "note"))
    assert rows_of(store) == first

    # Half the keys again (each twice in the same call: the later row wins), and new keys.
    again = [(f"k{i:05}", f"early {i}", -1, "x") for i in range(0, size, 2)]
    again += [(f"k{i:05}", f"second {i}", i * 10, "it's \t a \\ note\n") for i in range(0, size, 2)]
    again += [(f"n{i:05}", f"new {i}", i, None) for i in range(size)]
    with store.transaction() as cursor:
        insert_rows(cursor, "things", COLUMNS, again, key="key", update=("label", "count", "note"))

    expected = {row[0]: row for row in first}
    expected.update({row[0]: row for row in again})
    assert rows_of(store) == sorted(expected.values())


@pytest.mark.parametrize("size", [3, BULK_ROWS + 7], ids=["few rows", "bulk"])
def test_insert_rows_without_update_keeps_what_is_stored(store: SqlStore, size: int) -> None:
    first = [(f"k{i:05}", "kept", i, None) for i in range(size)]
    with store.transaction() as cursor:
        insert_rows(cursor, "things", COLUMNS, first, key="key")
        insert_rows(cursor, "things", COLUMNS, [(k, "ignored", 0, "no") for k, *_ in first], key="key")
    assert rows_of(store) == first


def test_a_failed_transaction_leaves_nothing_staged_or_inserted(store: SqlStore) -> None:
    rows = [(f"k{i:05}", "x", i, None) for i in range(BULK_ROWS + 1)]
    with pytest.raises(RuntimeError), store.transaction() as cursor:
        insert_rows(cursor, "things", COLUMNS, rows, key="key", update=("label",))
        raise RuntimeError("the batch's position moved")
    assert rows_of(store) == []
    with store.transaction() as cursor:  # two bulk inserts into one table in one transaction
        insert_rows(cursor, "things", COLUMNS, rows[:-1], key="key", update=("label",))
        insert_rows(cursor, "things", COLUMNS, rows, key="key", update=("label",))
    assert len(rows_of(store)) == len(rows)


def test_plain_inserts_refuse_a_duplicate_key(store: SqlStore) -> None:
    rows = [(f"k{i:05}", "x", i, None) for i in range(BULK_ROWS + 1)]
    with store.transaction() as cursor:
        insert_rows(cursor, "things", COLUMNS, rows)
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), store.transaction() as cursor:
        insert_rows(cursor, "things", COLUMNS, rows[-BULK_ROWS:])
    assert len(rows_of(store)) == len(rows)


@pytest.mark.parametrize("size", [3, BULK_ROWS + 7], ids=["few rows", "bulk"])
def test_new_rows_are_inserted_as_they_are_and_a_key_that_exists_is_refused(
    store: SqlStore, size: int
) -> None:
    first = [(f"k{i:05}", f"first {i}", i, "it's \t a \\ note\n") for i in range(size)]
    with store.transaction() as cursor:  # the last row of a key wins, as ever
        insert_rows(
            cursor, "things", COLUMNS, [(k, "early", 0, None) for k, *_ in first] + first, key="key", new=True
        )
    assert rows_of(store) == first
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"), store.transaction() as cursor:
        insert_rows(cursor, "things", COLUMNS, [*first[-1:], ("z", "new", 0, None)], key="key", new=True)
    assert rows_of(store) == first  # (nothing of the refused call)
