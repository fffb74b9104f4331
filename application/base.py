"""What every part of the Forebyg application shares: loading, versions, dates, saving."""

from __future__ import annotations

import base64
import contextlib
import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper, Recorder

from application.errors import (
    CaseNotFoundError,
    ConflictError,
    ForumNotFoundError,
    IdempotencyKeyReusedError,
    NotFoundError,
    StaleVersionError,
    StoreNotReadyError,
)
from application.privacy.files import private_umask
from application.privacy.keystore import KeyStore
from application.privacy.sealing import SealedAsDict, SealingMapper
from application.readmodels.store import (
    PostgresStore,
    SQLiteStore,
    SqlStore,
    check_all_when_one_is_broken,
    connect_privately,
)
from application.receipts import CommandReceipt, Idempotency, Recorded
from application.transcodings import register_domain_transcodings
from domain.case import Case
from domain.errors import InvalidValueError
from domain.forum import Forum
from domain.values import DENMARK, business_date

log = logging.getLogger("forebyg")
A = TypeVar("A", bound=Aggregate)


def today_in_denmark() -> date:
    return datetime.now(DENMARK).date()


def _restamp(aggregate: Aggregate, instants: dict[tuple[UUID, int], datetime]) -> None:
    """Give the aggregate's pending events the instants they were first recorded at (and the
    aggregate the creation and modification instants that follow from them)."""
    for pending in aggregate.pending_events:
        instant = instants.get((pending.originator_id, pending.originator_version))
        if instant is None:
            continue
        object.__setattr__(pending, "timestamp", instant)
        if pending.originator_version == 1:
            aggregate._created_on = instant
        if pending.originator_version == aggregate.version:
            aggregate._modified_on = instant


class ForebygBase(Application[UUID]):
    def __init__(
        self, env: dict[str, str] | None = None, clock: Callable[[], date] = today_in_denmark
    ) -> None:
        super().__init__(env)
        self.clock = clock

    def construct_mapper(self) -> Mapper[UUID]:
        # The read-model store and the subject key store come first: the mapper seals and
        # opens personal fields with per-subject keys.
        self.read_store = self._construct_read_store()
        self.key_store_db = self._construct_key_store_db()
        cipher_key = self.env.get("CIPHER_KEY")
        self.keystore = KeyStore(self.key_store_db, base64.b64decode(cipher_key) if cipher_key else None)
        mapper = self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=SealingMapper)
        assert isinstance(mapper, SealingMapper)
        mapper.keystore = self.keystore
        return mapper

    def _construct_read_store(self) -> SqlStore:
        module = self.env.get("PERSISTENCE_MODULE", "eventsourcing.popo")
        if module == "eventsourcing.sqlite":
            return SQLiteStore(self.env.get("SQLITE_DBNAME") or ":memory:")
        if module == "eventsourcing.postgres":
            return self._postgres_store("")
        return SQLiteStore(":memory:")

    def _construct_key_store_db(self) -> SqlStore:
        """Where the keys live: the read-model store, or a PostgreSQL database of their own
        (FOREBYG_KEYSTORE_URL), backed up apart and kept for a shorter time."""
        if self.env.get("KEYSTORE_POSTGRES_DBNAME"):
            return self._postgres_store("KEYSTORE_")
        return self.read_store

    @property
    def keys_apart(self) -> bool:
        return self.key_store_db is not self.read_store

    def _postgres_store(self, prefix: str) -> PostgresStore:
        keys = (
            "POSTGRES_DBNAME",
            "POSTGRES_HOST",
            "POSTGRES_PORT",
            "POSTGRES_USER",
            "POSTGRES_PASSWORD",
            "POSTGRES_CONNECT_TIMEOUT",
        )
        env = {key: self.env.get(prefix + key) or "" for key in keys}
        return PostgresStore(env, self.env.get(prefix + "POSTGRES_SCHEMA") or "public")

    def construct_recorder(self) -> Recorder:  # type: ignore[override]
        # A process recorder stores tracking records in the events' transaction (read models).
        sqlite = self.env.get("PERSISTENCE_MODULE") == "eventsourcing.sqlite"
        with private_umask() if sqlite else contextlib.nullcontext():  # it may create tables
            recorder = self.factory.process_recorder()
        pool = getattr(getattr(recorder, "datastore", None), "pool", None)
        if pool is not None and getattr(pool, "_check", None) is not None:  # PostgreSQL, pre-ping on
            check_all_when_one_is_broken(pool)
        if pool is not None and sqlite:
            connect_privately(pool)
        return recorder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_domain_transcodings(transcoder)
        transcoder.register(SealedAsDict())

    # While a history is imported (application/exchange.py): the instant each fact was first
    # recorded, by aggregate and version; its event is recorded with that instant again.
    recorded_instants: dict[tuple[UUID, int], datetime] | None = None

    # While a history is imported: the events of the commands run since the last
    # ``record_batch``, recorded together in one transaction then (None: each command's own).
    saving_batch: ProcessingEvent[UUID] | None = None

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        if self.recorded_instants:
            for obj in objs:
                if isinstance(obj, Aggregate):
                    _restamp(obj, self.recorded_instants)
        if self.saving_batch is not None:
            self.saving_batch.collect_events(*objs, **kwargs)
            cache = self.repository.cache
            if cache is not None:  # the next command on it finds it as this one left it
                for obj in objs:
                    if isinstance(obj, Aggregate):
                        cache.put(obj.id, obj)
            return []
        return super().save(*objs, **kwargs)

    def record_batch(self) -> int:
        """Record the batch's events in one transaction (see ``saving_batch``): how many."""
        batch, self.saving_batch = self.saving_batch, ProcessingEvent()
        if batch is None or not batch.events:
            return 0
        self._record(batch)
        self._take_snapshots(batch)
        return len(batch.events)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        # A snapshot is a cache, taken after the command committed: it must never turn an
        # acknowledged command into an error. (An erased case has no key to seal one with.)
        try:
            super()._take_snapshots(processing_event)
        except Exception:
            log.warning("snapshot not taken", exc_info=True)

    def reset_connections(self) -> None:
        """After a database outage: drop every dead pooled connection now, rather than let
        each be discovered (with growing back-off) by the next calls."""
        pools = (
            getattr(getattr(self.recorder, "datastore", None), "pool", None),
            getattr(self.read_store, "pool", None),
        )
        for pool in pools:
            check = getattr(pool, "check", None)
            if check is not None:
                with contextlib.suppress(Exception):
                    check()

    def check_ready(self) -> None:
        try:
            self.recorder.max_notification_id()  # type: ignore[attr-defined]
        except Exception as error:  # the library raises driver-specific errors
            raise StoreNotReadyError(
                f"the event store is not ready ({error}); run `forebyg migrate`"
            ) from error

    def _get(self, kind: type[A], aggregate_id: UUID, error: type[NotFoundError]) -> A:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise error(f"{kind.__name__.lower()} {aggregate_id} not found") from None
        if not isinstance(aggregate, kind):
            raise error(f"{kind.__name__.lower()} {aggregate_id} not found")
        return aggregate

    def _case(self, case_id: UUID, expected_version: int | None = None) -> Case:
        case = self._get(Case, case_id, CaseNotFoundError)
        self._check_version(case, expected_version)
        return case

    def _forum(self, forum_id: UUID, expected_version: int | None = None) -> Forum:
        forum = self._get(Forum, forum_id, ForumNotFoundError)
        self._check_version(forum, expected_version)
        return forum

    @staticmethod
    def _check_version(aggregate: Aggregate, expected_version: int | None) -> None:
        if expected_version is not None and aggregate.version != expected_version:
            raise StaleVersionError(aggregate.id, expected_version, aggregate.version)

    def _past(self, value: object, field: str) -> date:
        """A business date of something that has happened: not in the future."""
        checked = business_date(value, field)
        today = self.clock()
        if checked > today:
            raise InvalidValueError(
                field, f"{checked.isoformat()} is in the future (today is {today.isoformat()})"
            )
        return checked

    def _happened_on(self, value: object, field: str) -> date:
        """The business date a command's fact happened: the one given, or today (the
        application's clock) when none is; never in the future."""
        return self._past(self.clock() if value is None else value, field)

    def recorded_answer(self, idempotency: Idempotency) -> Recorded | None:
        """The first answer to a command sent with this key, if it was recorded."""
        try:
            receipt: Aggregate = self.repository.get(idempotency.receipt_id)
        except AggregateNotFoundError:
            return None
        assert isinstance(receipt, CommandReceipt)
        if receipt.fingerprint != idempotency.fingerprint:
            raise IdempotencyKeyReusedError(
                "this Idempotency-Key was first used with a different request; use a new key"
            )
        return receipt.answer

    def _save(
        self,
        *aggregates: Aggregate,
        idempotency: Idempotency | None = None,
        meeting_id: UUID | None = None,
        action_id: UUID | None = None,
        subject_id: UUID | None = None,
    ) -> Recorded:
        answer = Recorded(
            id=aggregates[0].id,
            version=aggregates[0].version,
            meeting_id=meeting_id,
            action_id=action_id,
            subject_id=subject_id,
        )
        receipt = None
        if idempotency is not None:
            receipt = CommandReceipt._create(
                CommandReceipt.Issued,  # type: ignore[attr-defined]
                id=idempotency.receipt_id,
                fingerprint=idempotency.fingerprint,
                resource_id=answer.id,
                resource_version=answer.version,
                meeting_id=meeting_id,
                action_id=action_id,
                subject_id=subject_id,
            )
        try:
            self.save(*aggregates, receipt)
        except IntegrityError as error:
            if idempotency is not None:
                first = self.recorded_answer(idempotency)
                if first is not None:  # a racing copy of this very command won
                    return first
            raise ConflictError("another change was recorded first; re-read and retry") from error
        return answer
