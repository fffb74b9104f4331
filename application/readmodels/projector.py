"""Catching read models up with the event log, in batches, exactly once.

Each batch of notifications is folded into the aggregates it touches (starting from their
state just before the batch), then the read model writes its rows and moves its tracking
position in one transaction. Moving the position is a compare-and-set, so two processes
catching up at once cannot both apply the same batch: the loser rolls back and re-reads.
"""

from __future__ import annotations

import gc
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from application.accounts import Organisation, UserAccount
from application.readmodels.store import Cursor, SqlStore
from domain.case import Case
from domain.forum import Forum

TRACKING_DDL = (
    "CREATE TABLE IF NOT EXISTS readmodel_tracking (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
)


def event_topics(*aggregate_classes: type[Aggregate]) -> list[str]:
    topics = []
    for cls in aggregate_classes:
        for value in vars(cls).values():
            if isinstance(value, type) and issubclass(value, Aggregate.Event):
                topics.append(get_topic(value))
    return topics


WORKFLOW_TOPICS = frozenset(event_topics(Case, Forum, Organisation, UserAccount))


class ReadModel(Protocol):
    name: str

    def create_tables(self, cursor: Cursor) -> None: ...

    def drop_tables(self, cursor: Cursor) -> None: ...

    def apply(self, cursor: Cursor, changed: Sequence[Aggregate], events: Sequence[Any]) -> None: ...


# A row of the notification log: (notification id, originator id, version, topic, state).
LogRow = tuple[int, Any, int, str, bytes]


def _postgres_log_query(recorder: Any) -> Any:
    """On PostgreSQL the projector reads the log itself, as plain tuples with the originator id
    as text: twice the rate of the library's ``select_notifications`` (which makes a
    ``Notification`` object and a ``UUID`` per row); the decoder reuses the ids' ``UUID``s."""
    datastore = getattr(recorder, "datastore", None)
    table = getattr(recorder, "events_table_name", None)
    if type(recorder).__module__ != "eventsourcing.postgres" or datastore is None or table is None:
        return None
    from psycopg import sql

    return sql.SQL(
        "SELECT notification_id, originator_id::text, originator_version, topic, state FROM {}.{}"
        " WHERE notification_id > %s AND notification_id <= %s ORDER BY notification_id LIMIT %s"
    ).format(sql.Identifier(datastore.schema), sql.Identifier(table))


class PositionMovedError(Exception):
    """Another process moved the tracking position first."""


class Projector:
    """Keeps a group of read models up to date with an application's notification log; they
    share one tracking position, moved in the same transaction as all their rows."""

    def __init__(
        self,
        app: Any,
        store: SqlStore,
        models: Sequence[ReadModel],
        name: str = "workflow",
        batch_size: int = 2000,
        bulk_batch_size: int = 50_000,
        rebuild_batch_size: int = 200_000,
    ) -> None:
        self.app, self.store, self.models, self.batch_size = app, store, list(models), batch_size
        self.bulk_batch_size = max(bulk_batch_size, batch_size)
        # A rebuild writes each case's rows about once per batch it appears in: bigger batches
        # write fewer rows (1M events: 50k → 200k per batch is +20 % events/s, ~1 GB peak memory
        # instead of ~0.6 GB), so only a rebuild — run by `forebyg migrate` or `forebyg
        # projections --rebuild`, never by a web worker — takes them.
        self.rebuild_batch_size = max(rebuild_batch_size, self.bulk_batch_size)
        self.name = name
        self._states: OrderedDict[UUID, Aggregate] = OrderedDict()
        self._max_states = 100_000  # during a catch-up
        self._kept_states = 2_000  # between catch-ups
        # Read models need no personal data: events are folded with their fields still sealed.
        self._decode = getattr(app.mapper, "decode_workflow", None) or self._decode_stored
        self._log_query = _postgres_log_query(app.recorder)

    def create_tables(self) -> None:
        with self.store.transaction() as cursor:
            cursor.execute(TRACKING_DDL)
            for model in self.models:
                model.create_tables(cursor)
            cursor.execute(
                "INSERT INTO readmodel_tracking (name, position) VALUES (?, 0) ON CONFLICT (name) DO NOTHING",
                (self.name,),
            )

    def definition(self) -> str:
        """What the models compute from the log depends on this (e.g. reminder horizons)."""
        return "|".join(f"{model.name}={getattr(model, 'definition', '1')}" for model in self.models)

    def rebuild_if_redefined(self) -> bool:
        """Rebuild when the models' definition changed since they were built (run by
        `forebyg migrate` and at the start of `forebyg projections`, never by web workers)."""
        with self.store.transaction() as cursor:
            cursor.execute(
                "CREATE TABLE IF NOT EXISTS readmodel_definitions"
                " (name TEXT PRIMARY KEY, definition TEXT NOT NULL)"
            )
            cursor.execute("SELECT definition FROM readmodel_definitions WHERE name = ?", (self.name,))
            row = cursor.fetchone()
        if row is not None and row[0] == self.definition():
            return False
        if row is not None:
            self.rebuild()
        with self.store.transaction() as cursor:
            cursor.execute(
                "INSERT INTO readmodel_definitions (name, definition) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET definition = excluded.definition",
                (self.name, self.definition()),
            )
        return row is not None

    def rebuild(self) -> int:
        with self.store.transaction() as cursor:
            for model in self.models:
                model.drop_tables(cursor)
            cursor.execute("DELETE FROM readmodel_tracking WHERE name = ?", (self.name,))
        self._states.clear()
        self.create_tables()
        return self.catch_up(bulk=self.rebuild_batch_size)

    def position(self) -> int:
        with self.store.transaction() as cursor:
            cursor.execute("SELECT position FROM readmodel_tracking WHERE name = ?", (self.name,))
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    def catch_up(self, *, bulk: int | None = None) -> int:
        """Apply everything recorded so far; answers how many events were applied."""
        # Decoding, folding and building rows allocate millions of short-lived objects and no
        # cycles: the cyclic garbage collector would spend most of the time re-scanning the
        # state cache. It runs again when the catch-up is done.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._catch_up(bulk or self.bulk_batch_size)
        finally:
            # Between catch-ups keep only the recently changed states (a web worker that once
            # caught up a whole log must not hold it in memory for good).
            while len(self._states) > self._kept_states:
                self._states.popitem(last=False)
            if collecting:
                gc.enable()

    def _catch_up(self, bulk: int) -> int:
        applied = 0
        self.app.keystore.refresh()  # never fold with a key another process has destroyed
        position = self.position()
        last = self.app.recorder.max_notification_id() or 0
        # Far behind (a rebuild, a long outage), big batches write each row far fewer times,
        # and the next page is read while this one is folded.
        limit = bulk if last - position > 4 * self.batch_size else self.batch_size
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as reader:
            upcoming = reader.submit(self._page, position, limit, last)
            while position < last:
                page = upcoming.result()
                new_position = page[-1][0] if len(page) == limit else last
                if new_position < last:
                    upcoming = reader.submit(self._page, new_position, limit, last)
                # Filtering topics here is cheaper than in SQL; command receipts are skipped.
                notifications = [row for row in page if row[3] in WORKFLOW_TOPICS]
                try:
                    self._apply_batch(position, new_position, notifications)
                except PositionMovedError:
                    self._states.clear()
                    position = self.position()
                    upcoming.cancel()
                    upcoming = reader.submit(self._page, position, limit, last)
                    continue
                except BaseException:
                    self._states.clear()  # folded states may be ahead of what was committed
                    raise
                applied += len(notifications)
                position = new_position
        return applied

    def _page(self, position: int, limit: int, last: int) -> Sequence[LogRow]:
        """The log after ``position`` up to ``last``, at most ``limit`` rows, in order."""
        if self._log_query is not None:
            from psycopg.rows import tuple_row

            with self.app.recorder.datastore.get_connection() as conn:
                cursor = conn.cursor(row_factory=tuple_row)
                rows: list[LogRow] = cursor.execute(self._log_query, (position, last, limit)).fetchall()
                return rows
        notifications = self.app.recorder.select_notifications(
            start=position, limit=limit, stop=last, inclusive_of_start=False
        )
        return [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in notifications]

    def _decode_stored(self, originator_id: Any, originator_version: int, topic: str, state: bytes) -> Any:
        stored = StoredEvent(
            originator_id=originator_id, originator_version=originator_version, topic=topic, state=state
        )
        return self.app.mapper.to_domain_event(stored)

    def _apply_batch(self, position: int, new_position: int, notifications: Sequence[LogRow]) -> None:
        changed: OrderedDict[UUID, Aggregate] = OrderedDict()
        decode = self._decode
        events = [decode(row[1], row[2], row[3], row[4]) for row in notifications]
        for event in events:
            current = changed.get(event.originator_id) or self._state_before(event)
            changed[event.originator_id] = event.mutate(current)
        with self.store.transaction() as cursor:
            cursor.execute(
                "UPDATE readmodel_tracking SET position = ? WHERE name = ? AND position = ?",
                (new_position, self.name, position),
            )
            if cursor.rowcount != 1:
                raise PositionMovedError(self.name)
            aggregates = list(changed.values())
            for model in self.models:
                model.apply(cursor, aggregates, events)
        for aggregate_id, aggregate in changed.items():
            self._states[aggregate_id] = aggregate
            self._states.move_to_end(aggregate_id)
        while len(self._states) > self._max_states:
            self._states.popitem(last=False)

    def _state_before(self, event: Any) -> Aggregate | None:
        if event.originator_version == 1:
            return None
        known = self._states.get(event.originator_id)
        if known is not None and known.version == event.originator_version - 1:
            return known
        previous: Aggregate = self.app.repository.get(
            event.originator_id, version=event.originator_version - 1
        )
        return previous
