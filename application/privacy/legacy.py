"""Sealing the forum texts that versions before the sealing of forum texts stored in clear.

`forebyg migrate` runs it once per store (marked done in `migration_steps`; a store restored
from an older release's backup has no mark and is scanned again; a sealed text is left as it is): each
such event's state is written again in place with its texts sealed under a new text key (the
business date it was written is the event's own, so retention treats it like any other). The
event stays the same fact at the same position of the log; only the bytes of its texts change.
Forum snapshots taken by those versions held the texts in their meetings and area mappings and
are deleted (a snapshot is a cache of state).
"""

from __future__ import annotations

from typing import Any

import orjson
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from application.privacy.sealing import FORUM_TEXTS, Sealed, SealingMapper
from domain.forum import PERSONAL_FIELDS, Forum

BATCH = 500


def seal_clear_forum_texts(mapper: SealingMapper, recorder: Any, snapshots: Any) -> int:
    """Seal every forum text lying in clear in the event store; how many events were sealed."""
    table = getattr(recorder, "events_table_name", None)
    if table is None:  # in memory: nothing outlives the process, nothing from before
        return 0
    topics = [get_topic(getattr(Forum, name)) for name in FORUM_TEXTS]
    sealed, start = 0, 1
    while True:
        notifications = recorder.select_notifications(start=start, limit=BATCH, topics=topics)
        if not notifications:
            break
        start = notifications[-1].id + 1
        for notification in notifications:
            event = Mapper.to_domain_event(mapper, notification)  # texts as stored: sealed or not
            name = notification.topic.rsplit(".", 1)[-1]
            state = vars(event)
            if all(isinstance(state.get(f), Sealed) for f in PERSONAL_FIELDS[name] if f in state):
                continue
            stored = mapper.to_stored_event(event)
            _rewrite(recorder, table, stored)
            sealed += 1
    if snapshots is not None:
        _forget_forum_snapshots(mapper, snapshots.recorder)
    return sealed


def _rewrite(recorder: Any, table: str, stored: StoredEvent) -> None:
    if type(recorder).__module__.endswith("postgres"):
        from psycopg import sql

        with recorder.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                sql.SQL(
                    "UPDATE {}.{} SET state = %s WHERE originator_id = %s AND originator_version = %s"
                ).format(sql.Identifier(recorder.datastore.schema), sql.Identifier(table)),
                (stored.state, stored.originator_id, stored.originator_version),
            )
    else:
        with recorder.datastore.transaction(commit=True) as cursor:  # SQLite keeps ids as text or hex
            originator = stored.originator_id
            cursor.execute(
                f"UPDATE {table} SET state = ? WHERE originator_id IN (?, ?) AND originator_version = ?",
                (
                    stored.state,
                    str(originator),
                    getattr(originator, "hex", str(originator)),
                    stored.originator_version,
                ),
            )


def _forget_forum_snapshots(mapper: SealingMapper, recorder: Any) -> None:
    """Delete the forum snapshots whose meetings or area mappings still carry texts."""
    table = recorder.events_table_name
    select: Any
    delete: Any
    if type(recorder).__module__.endswith("postgres"):
        from psycopg import sql

        select = sql.SQL("SELECT originator_id, originator_version, state FROM {}.{}").format(
            sql.Identifier(recorder.datastore.schema), sql.Identifier(table)
        )
        delete = sql.SQL("DELETE FROM {}.{} WHERE originator_id = %s AND originator_version = %s").format(
            sql.Identifier(recorder.datastore.schema), sql.Identifier(table)
        )
    else:
        select = f"SELECT originator_id, originator_version, state FROM {table}"
        delete = f"DELETE FROM {table} WHERE originator_id = ? AND originator_version = ?"
    with recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute(select)
        rows = [_fields(row, "originator_id", "originator_version", "state") for row in cursor.fetchall()]
        stale = [(oid, version) for oid, version, state in rows if _holds_forum_texts(mapper, bytes(state))]
        for oid, version in stale:
            cursor.execute(delete, (oid, version))


def _fields(row: Any, *names: str) -> tuple[Any, ...]:
    """A row's columns by name (psycopg's rows of the library's pool are dicts) or position."""
    if isinstance(row, dict):
        return tuple(row[name] for name in names)
    return tuple(row[index] for index in range(len(names)))


def _holds_forum_texts(mapper: SealingMapper, stored_state: bytes) -> bool:
    plain = stored_state
    if mapper.cipher:
        plain = mapper.cipher.decrypt(plain)
    if mapper.compressor:
        plain = mapper.compressor.decompress(plain)
    state = orjson.loads(plain)
    if state.get("topic") != get_topic(Forum):
        return False
    inner = state.get("state", {})
    meetings = inner.get("meetings", {})
    meetings = meetings.get("_data_", meetings) if isinstance(meetings, dict) else {}
    for meeting in meetings.values():
        data = meeting.get("_data_", meeting) if isinstance(meeting, dict) else {}
        if "summary" in data or "cancel_reason" in data:
            return True
    mappings = inner.get("area_mappings", [])
    mappings = mappings.get("_data_", mappings) if isinstance(mappings, dict) else mappings
    return any(
        isinstance(m, dict) and ("resources" in m or ("_data_" in m and "resources" in m["_data_"]))
        for m in mappings
    )
