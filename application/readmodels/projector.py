"""Catching read models up with the event log, in batches, exactly once.

Each batch of notifications is folded into the aggregates it touches (starting from their
state just before the batch), then the read model writes its rows and moves its tracking
position in one transaction. Moving the position is a compare-and-set, so two processes
catching up at once cannot both apply the same batch: the loser rolls back and re-reads.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol, TypeVar
from uuid import UUID

import orjson
from eventsourcing.domain import Aggregate, OriginatorVersionError
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from application.accounts import Organisation, UserAccount
from application.readmodels.records import HANDLERS as CASE_HANDLERS
from application.readmodels.records import CaseRecord, Revived
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
REMINDER_SENT = get_topic(Case.ReminderSent)  # type: ignore[attr-defined]


class ReadModel(Protocol):
    name: str

    def create_tables(self, cursor: Cursor) -> None: ...

    def drop_tables(self, cursor: Cursor) -> None: ...

    def apply(self, cursor: Cursor, changed: Sequence[Aggregate], events: Sequence[Any]) -> None: ...


# A row of the notification log: (notification id, originator id, version, topic, state).
LogRow = tuple[int, Any, int, str, bytes]
T = TypeVar("T")


def _postgres_log_query(recorder: Any, where: str = "") -> Any:
    """On PostgreSQL the projector reads the log itself, as plain tuples with the originator id
    as text: twice the rate of the library's ``select_notifications`` (which makes a
    ``Notification`` object and a ``UUID`` per row); the decoder reuses the ids' ``UUID``s.
    ``where`` narrows it to a part of the log (parameters after the position range)."""
    datastore = getattr(recorder, "datastore", None)
    table = getattr(recorder, "events_table_name", None)
    if type(recorder).__module__ != "eventsourcing.postgres" or datastore is None or table is None:
        return None
    from psycopg import sql

    return sql.SQL(
        "SELECT notification_id, originator_id::text, originator_version, topic, state FROM {}.{}"
        " WHERE notification_id > %s AND notification_id <= %s" + where + " ORDER BY notification_id LIMIT %s"
    ).format(sql.Identifier(datastore.schema), sql.Identifier(table))


# A partitioned rebuild: the events of the shared aggregates (forums, organisations, users: few)
# first, then the partitioned ones (cases) split by originator id over several processes. A
# part's events are those of its aggregates, in log order, so each part folds them as a
# catch-up of the whole log would.
SHARED_PART = " AND NOT (topic = ANY(%s))"
PARTITION = " AND topic = ANY(%s) AND get_byte(uuid_send(originator_id), 15) %% %s = %s"


class PositionMovedError(Exception):
    """Another process moved the tracking position first."""


class Projector:
    """Keeps a group of read models up to date with an application's notification log; they
    share one tracking position, moved in the same transaction as all their rows.

    A rebuild of a long log on PostgreSQL is partitioned when the projector is given
    ``partitioned_topics`` and a picklable ``app_factory``: the other (shared) aggregates'
    events are folded first, then the partitioned aggregates' events in ``partitions`` parts by
    originator id, one process each. Each part keeps a tracking position of its own
    (``<name>#<part>``, moved with its rows), so a rebuild that is killed resumes where each
    part stopped; the group's own position appears only when every part has reached the end
    of the rebuild, and until then catch-ups apply nothing.
    """

    def __init__(
        self,
        app: Any,
        store: SqlStore,
        models: Sequence[ReadModel],
        name: str = "workflow",
        batch_size: int = 2000,
        bulk_batch_size: int = 50_000,
        rebuild_batch_size: int = 200_000,
        *,
        partitioned_topics: Collection[str] = (),
        app_factory: Callable[[], Any] | None = None,
        partitions: int | None = None,
        partition_from: int = 100_000,
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
        self._values = Revived()
        self.partitioned_topics = sorted(partitioned_topics)
        self.app_factory = app_factory
        # One part per core (at most 256: parts are told apart by one byte of the id); a
        # rebuild of fewer than ``partition_from`` events is not worth starting processes.
        self.partitions = min(256, partitions or os.cpu_count() or 1)
        self.partition_from = partition_from

    # --- tracking --------------------------------------------------------------------

    def create_tables(self) -> None:
        with self.store.transaction() as cursor:
            self._create_tables(cursor)
            # Not while a partitioned rebuild is unfinished: its end sets the position.
            cursor.execute(
                "INSERT INTO readmodel_tracking (name, position) SELECT ?, 0 WHERE NOT EXISTS"
                " (SELECT 1 FROM readmodel_tracking WHERE name LIKE ?) ON CONFLICT (name) DO NOTHING",
                (self.name, self._part_name("%")),
            )

    def _create_tables(self, cursor: Cursor) -> None:
        cursor.execute(TRACKING_DDL)
        for model in self.models:
            model.create_tables(cursor)

    def _part_name(self, part: int | str) -> str:
        return f"{self.name}#{part}"

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
        with self._exclusive(wait=True):  # one rebuild at a time
            return self._rebuild()

    def _exclusive(self, *, wait: bool) -> AbstractContextManager[bool]:
        exclusive = getattr(self.store, "exclusive", None)
        return exclusive(f"rebuild {self.name}", wait=wait) if exclusive else nullcontext(True)

    def _rebuild(self) -> int:
        last = self.app.recorder.max_notification_id() or 0
        parts = self.partitions if self._can_partition() and last >= self.partition_from else 1
        with self.store.transaction() as cursor:
            cursor.execute(TRACKING_DDL)
            for model in self.models:
                model.drop_tables(cursor)
            cursor.execute(
                "DELETE FROM readmodel_tracking WHERE name = ? OR name LIKE ?",
                (self.name, self._part_name("%")),
            )
            if parts > 1:
                # The plan of a partitioned rebuild, kept with the positions of its parts.
                for model in self.models:
                    model.create_tables(cursor)
                plan = [("target", last), ("parts", parts), ("shared", 0)] + [
                    (str(k), 0) for k in range(parts)
                ]
                cursor.executemany(
                    "INSERT INTO readmodel_tracking (name, position) VALUES (?, ?)",
                    [(self._part_name(part), position) for part, position in plan],
                )
        self._states.clear()
        if parts > 1:
            return self._fold_parts()
        self.create_tables()
        return self.catch_up(bulk=self.rebuild_batch_size)

    def position(self, name: str | None = None) -> int:
        found = self._position(name or self.name)
        return found or 0

    def _position(self, name: str) -> int | None:
        with self.store.transaction() as cursor:
            cursor.execute("SELECT position FROM readmodel_tracking WHERE name = ?", (name,))
            row = cursor.fetchone()
        return int(row[0]) if row else None

    # --- catching up -----------------------------------------------------------------

    def catch_up(self, *, bulk: int | None = None, resume: bool = False) -> int:
        """Apply everything recorded so far; answers how many events were applied. While a
        partitioned rebuild is unfinished nothing is applied, unless ``resume`` is given (the
        projections process): then the rebuild is finished first."""
        applied = self._with_gc_paused(lambda: self._catch_up(bulk or self.bulk_batch_size))
        if applied is None:  # no position: a partitioned rebuild is unfinished
            return self.finish_rebuild() if resume else 0
        return applied

    def _with_gc_paused(self, work: Callable[[], T]) -> T:
        # Decoding, folding and building rows allocate millions of short-lived objects and no
        # cycles: the cyclic garbage collector would spend most of the time re-scanning the
        # state cache. It runs again when the catch-up is done.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return work()
        finally:
            # Between catch-ups keep only the recently changed states (a web worker that once
            # caught up a whole log must not hold it in memory for good).
            while len(self._states) > self._kept_states:
                self._states.popitem(last=False)
            if collecting:
                gc.enable()

    def _catch_up(
        self, bulk: int, tracking: str | None = None, stop: int | None = None, part: tuple[Any, ...] = ()
    ) -> int | None:
        """Catch the ``tracking`` position (the group's own by default) up to ``stop`` (the end
        of the log by default), reading only ``part`` of the log if given (a query and its
        parameters)."""
        tracking = tracking or self.name
        applied = 0
        self.app.keystore.refresh()  # never fold with a key another process has destroyed
        position = self._position(tracking)
        if position is None:
            return None  # a partitioned rebuild is unfinished (or the tables are not made yet)
        last = (self.app.recorder.max_notification_id() or 0) if stop is None else stop
        # Far behind (a rebuild, a long outage), big batches write each row far fewer times,
        # and the next page is read while this one is folded.
        limit = bulk if last - position > 4 * self.batch_size else self.batch_size
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as reader:
            upcoming = reader.submit(self._page, position, limit, last, part)
            while position < last:
                page = upcoming.result()
                new_position = page[-1][0] if len(page) == limit else last
                if new_position < last:
                    upcoming = reader.submit(self._page, new_position, limit, last, part)
                # Filtering topics here is cheaper than in SQL; command receipts are skipped.
                notifications = [row for row in page if row[3] in WORKFLOW_TOPICS]
                try:
                    self._apply_batch(position, new_position, notifications, tracking)
                except PositionMovedError:
                    self._states.clear()
                    position = self.position(tracking)
                    upcoming.cancel()
                    upcoming = reader.submit(self._page, position, limit, last, part)
                    continue
                except BaseException:
                    self._states.clear()  # folded states may be ahead of what was committed
                    raise
                applied += len(notifications)
                position = new_position
        return applied

    def _page(self, position: int, limit: int, last: int, part: tuple[Any, ...] = ()) -> Sequence[LogRow]:
        """The log after ``position`` up to ``last``, at most ``limit`` rows, in order."""
        if part:
            query, *params = part
            with self.app.recorder.datastore.get_connection() as conn:
                from psycopg.rows import tuple_row

                cursor = conn.cursor(row_factory=tuple_row)
                rows: list[LogRow] = cursor.execute(query, (position, last, *params, limit)).fetchall()
                return rows
        if self._log_query is not None:
            return self._page(position, limit, last, (self._log_query,))
        notifications = self.app.recorder.select_notifications(
            start=position, limit=limit, stop=last, inclusive_of_start=False
        )
        return [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in notifications]

    def _decode_stored(self, originator_id: Any, originator_version: int, topic: str, state: bytes) -> Any:
        stored = StoredEvent(
            originator_id=originator_id, originator_version=originator_version, topic=topic, state=state
        )
        return self.app.mapper.to_domain_event(stored)

    def _apply_batch(
        self, position: int, new_position: int, notifications: Sequence[LogRow], tracking: str | None = None
    ) -> None:
        """Fold the batch into the states it changes — a case into its ``CaseRecord``, straight
        from the stored JSON; forums, organisations and users through their aggregates — then
        write the models' rows and move the position in one transaction. The models are
        given, besides the changed states, the decoded events of the other aggregates and
        every ``ReminderSent`` (the inbox's rows)."""
        changed: OrderedDict[UUID, Any] = OrderedDict()
        events: list[Any] = []
        decode, values, loads = self._decode, self._values, orjson.loads
        plain, uuid = self._plain_state, self._uuid
        for _, originator_id, version, topic, state in notifications:
            handler = CASE_HANDLERS.get(topic)
            if handler is None:
                event = decode(originator_id, version, topic, state)
                events.append(event)
                current = changed.get(event.originator_id) or self._state_before(event)
                changed[event.originator_id] = event.mutate(current)
                continue
            case_id = uuid(originator_id)
            record = changed.get(case_id)
            if record is None:
                record = changed[case_id] = self._record_before(case_id, version)
            elif record.version + 1 != version:
                raise OriginatorVersionError(version, record.version + 1)
            handler(record, loads(plain(state)), values)
            record.version = version
            if topic == REMINDER_SENT:
                events.append(decode(originator_id, version, topic, state))
        with self.store.transaction() as cursor:
            cursor.execute(
                "UPDATE readmodel_tracking SET position = ? WHERE name = ? AND position = ?",
                (new_position, tracking or self.name, position),
            )
            if cursor.rowcount != 1:
                raise PositionMovedError(self.name)
            states = list(changed.values())
            for model in self.models:
                model.apply(cursor, states, events)
        for state_id, folded in changed.items():
            self._states[state_id] = folded
            self._states.move_to_end(state_id)
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

    def _record_before(self, case_id: UUID, version: int) -> CaseRecord:
        """The case's record as of just before ``version``, what earlier batches did to it
        forgotten."""
        if version == 1:
            record = CaseRecord()
            record.id = case_id
        else:
            known = self._states.get(case_id)
            if isinstance(known, CaseRecord) and known.version == version - 1:
                record = known
            else:  # not folded here (yet): from the event store, with its snapshots
                record = CaseRecord.of(self.app.repository.get(case_id, version=version - 1))
        record.born, record.touched = version == 1, {}
        return record

    def _uuid(self, originator_id: Any) -> UUID:
        if isinstance(originator_id, UUID):
            return originator_id
        reviver = getattr(self.app.mapper, "reviver", None)
        return reviver().uuid(str(originator_id)) if reviver else UUID(str(originator_id))

    def _plain_state(self, stored: bytes) -> bytes:
        """The stored state as JSON text (decrypted and decompressed where the store is)."""
        mapper = self.app.mapper
        if mapper.cipher:
            stored = mapper.cipher.decrypt(stored)
        if mapper.compressor:
            stored = mapper.compressor.decompress(stored)
        return stored

    # --- a partitioned rebuild -------------------------------------------------------

    def _can_partition(self) -> bool:
        return (
            self._log_query is not None
            and bool(self.partitioned_topics)
            and self.app_factory is not None
            and self.partitions > 1
        )

    def _rebuild_plan(self) -> dict[str, int] | None:
        """The unfinished partitioned rebuild's target, number of parts and positions."""
        with self.store.transaction() as cursor:
            cursor.execute(
                "SELECT name, position FROM readmodel_tracking WHERE name LIKE ?", (self._part_name("%"),)
            )
            plan = {str(name).split("#", 1)[1]: int(position) for name, position in cursor.fetchall()}
        return plan or None

    def _part_query(self, part: str, parts: int) -> tuple[Any, ...]:
        if part == "shared":
            return (_postgres_log_query(self.app.recorder, SHARED_PART), self.partitioned_topics)
        return (_postgres_log_query(self.app.recorder, PARTITION), self.partitioned_topics, parts, int(part))

    def fold_part(self, part: str) -> int:
        """Catch one part of an unfinished partitioned rebuild up to its target (a worker
        process runs this for its part)."""
        plan = self._rebuild_plan()
        if plan is None:
            return 0
        query = self._part_query(part, plan["parts"])
        tracking, target = self._part_name(part), plan["target"]
        bulk = self.rebuild_batch_size
        applied = self._with_gc_paused(lambda: self._catch_up(bulk, tracking, target, query))
        return applied or 0

    def finish_rebuild(self) -> int:
        """Finish an unfinished partitioned rebuild (one that was stopped), unless another
        process is at it; answers how many events it applied."""
        if self._rebuild_plan() is None:
            return 0
        with self._exclusive(wait=False) as alone:
            return self._fold_parts() if alone else 0

    def _fold_parts(self) -> int:
        plan = self._rebuild_plan()
        if plan is None:
            return 0
        if self.app_factory is None or self._log_query is None:
            raise RuntimeError(
                f"read models {self.name}: a partitioned rebuild needs PostgreSQL and an app factory"
            )
        # The shared aggregates first: the parts read them (a case's forum's chair).
        applied = self.fold_part("shared")
        parts = [str(k) for k in range(plan["parts"])]
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Fresh processes (spawned, not forked: no inherited connections or threads), each
        # building its own application; this process folds the first part itself.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=len(parts) - 1,
            mp_context=context,
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        ) as workers:
            others = [workers.submit(_fold_part, self.app_factory, self.name, part) for part in parts[1:]]
            applied += self.fold_part(parts[0])
            applied += sum(future.result() for future in others)
        with self.store.transaction() as cursor:
            cursor.execute(
                "SELECT name, position FROM readmodel_tracking WHERE name LIKE ? FOR UPDATE",
                (self._part_name("%"),),
            )
            positions = {str(name).split("#", 1)[1]: int(position) for name, position in cursor.fetchall()}
            if positions:  # (else another process finished it)
                behind = [p for p in ["shared", *parts] if positions.get(p) != plan["target"]]
                if behind:
                    raise RuntimeError(
                        f"read models {self.name}: parts {behind} did not reach the rebuild's end"
                    )
                cursor.execute("DELETE FROM readmodel_tracking WHERE name LIKE ?", (self._part_name("%"),))
                cursor.execute(
                    "INSERT INTO readmodel_tracking (name, position) VALUES (?, ?)"
                    " ON CONFLICT (name) DO NOTHING",
                    (self.name, plan["target"]),
                )
        self._states.clear()  # this process folded one part only
        return applied + self.catch_up()


def _exit_with_parent(parent: int) -> None:
    """In a worker process: exit as soon as the process that started it is gone (killed, say),
    rather than linger (its part's progress is committed batch by batch, and kept)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _fold_part(app_factory: Callable[[], Any], name: str, part: str) -> int:
    """In a worker process: build the application and fold one part of its projector's
    partitioned rebuild."""
    app = app_factory()
    try:
        projector = next(p for p in vars(app).values() if isinstance(p, Projector) and p.name == name)
        return projector.fold_part(part)
    finally:
        app.close()
