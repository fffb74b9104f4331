"""Privacy commands and queries: erasure (crypto-shredding), retention, the access log."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application import access
from application.accounts import Caller
from application.base import ForebygBase
from application.errors import ConflictError, ErasureNotDurableError, NotFoundError
from application.privacy import retention
from application.privacy.accesslog import AccessLog
from application.privacy.ledger import Erasure, ErasureLedger, LedgerError
from application.readmodels.store import NotScrubbedError
from application.receipts import Recorded
from domain.errors import InvalidValueError
from domain.values import Role, non_personal_text


def _record_texts(forum_id: UUID, key_ids: list[str], ledger: ErasureLedger) -> None:
    ledger.record_forum_texts(forum_id, key_ids=key_ids)


class SubjectNotFoundError(NotFoundError):
    pass


def _legal_ground(reason: object) -> str:
    """An erasure's reason, kept in clear as the legal record: required, never naming a person."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidValueError("reason", "the legal reason for the erasure is required")
    return non_personal_text(reason, "reason", limit=500)


class PrivacyCommands(ForebygBase):
    access_log: AccessLog
    retention_policy: retention.RetentionPolicy
    erasure_ledger: ErasureLedger | None = None

    def erase_subject(
        self,
        subject_id: UUID,
        *,
        reason: object,
        on: date | None = None,
        caller: Caller | None = None,
        operator: str = "system",
        in_ledger: bool = True,
    ) -> Recorded:
        """Destroy the subject's key and record ``PersonalDataErased`` on each of its cases.
        Answers only once the key is gone from the store's files too (not merely from its
        tables): until then ErasureNotDurableError. Idempotent: erasing again completes
        whatever an interrupted erasure left."""
        access.check_role(caller, Role.DPO)
        ground = _legal_ground(reason)
        case_ids = self.keystore.cases_of(subject_id)
        if not case_ids:
            raise SubjectNotFoundError(f"subject {subject_id} not found")
        self.forget_snapshots(case_ids)
        self.keystore.destroy(subject_id, ground)
        erased_on = on or self.clock()
        for _attempt in range(5):
            cases = [self._case(case_id) for case_id in case_ids]
            for case in cases:
                case.erase_personal_data(erased_on, ground)
            try:
                self.save(*cases)
                break
            except IntegrityError:
                continue
        else:
            raise ConflictError("the subject's cases kept changing; retry the erasure")
        self.forget_snapshots(case_ids)
        if self.repository.cache is not None:
            for case_id in case_ids:
                with contextlib.suppress(KeyError):
                    self.repository.cache.get(case_id, evict=True)
        username = caller.username if caller else operator
        self.access_log.record(
            username=username,
            org=caller.org if caller else "-",
            role=caller.role.value if caller else "operator",
            kind="erasure",
            purpose=ground,
            subject_id=subject_id,
        )
        try:
            self.keystore.scrub()
        except NotScrubbedError as error:
            raise ErasureNotDurableError(
                f"subject {subject_id}: the key is destroyed but not yet wiped from the store's files"
                f" ({error}); repeat the erasure"
            ) from error
        if in_ledger:
            self._to_ledger(lambda ledger: ledger.record_subject(subject_id), f"subject {subject_id}")
        return Recorded(id=subject_id, version=len(case_ids))

    def _to_ledger(self, write: Callable[[ErasureLedger], None], what: str) -> None:
        """The erasure, also in the ledger outside the store (if one is configured), before
        it is acknowledged: a restored backup must not bring it back."""
        if self.erasure_ledger is None:
            return
        try:
            write(self.erasure_ledger)
        except LedgerError as error:
            raise ErasureNotDurableError(
                f"{what}: erased in the store but not written to the erasure ledger ({error});"
                " repeat the erasure"
            ) from error

    def pending_erasures(self) -> list[Erasure]:
        """The ledger's erasures that this store has not applied: after a restore of a backup
        older than they are (the store is not ready until `reapply_erasures`)."""
        if self.erasure_ledger is None:
            return []
        entries = self.erasure_ledger.entries()
        if not entries:
            return []
        with self.keystore.store.transaction() as cursor:  # two reads, however long the ledger
            cursor.execute("SELECT subject_id, created_at FROM subject_keys WHERE erased_at IS NULL")
            subjects = {row[0]: row[1] for row in cursor.fetchall()}
            cursor.execute(
                "SELECT key_id, forum_id, meeting_id, created_at FROM text_keys WHERE erased_at IS NULL"
            )
            texts = cursor.fetchall()
        pending = []
        for erasure in entries:
            if erasure.kind == "subject":
                created = subjects.get(erasure.subject_id or "")
                live = created is not None and created < erasure.at
            elif erasure.key_ids:
                live = any(key_id in erasure.key_ids for key_id, *_ in texts)
            else:
                live = any(
                    forum == erasure.forum_id
                    and (erasure.meeting_id is None or meeting == erasure.meeting_id)
                    and created < erasure.at
                    for _, forum, meeting, created in texts
                )
            if live:
                pending.append(erasure)
        return pending

    def reapply_erasures(self) -> list[Erasure]:
        """Apply again every erasure of the ledger that this store has not applied (keys,
        events, snapshots, caches — as the first time): what was re-applied."""
        pending = self.pending_erasures()
        for erasure in pending:
            ground = f"re-applied from the erasure ledger: erased at {erasure.at}"
            if erasure.kind == "subject":
                assert erasure.subject_id is not None
                self.erase_subject(
                    UUID(erasure.subject_id), reason=ground, operator="ledger", in_ledger=False
                )
            else:
                assert erasure.forum_id is not None
                self.keystore.destroy_texts(
                    ground,
                    forum_id=UUID(erasure.forum_id),
                    meeting_id=UUID(erasure.meeting_id) if erasure.meeting_id else None,
                    key_ids=erasure.key_ids,
                )
        return pending

    def erase_forum_texts(
        self,
        forum_id: UUID,
        *,
        reason: object,
        meeting_id: UUID | None = None,
        caller: Caller | None = None,
        operator: str = "system",
    ) -> Recorded:
        """Destroy the keys of the forum's free texts (of one meeting's only, with
        ``meeting_id``): they read as erased from now on, in every process. The forum's
        state and snapshots hold none of them, so nothing else need change; the forum's
        version stays as it was."""
        access.check_role(caller, Role.DPO)
        ground = _legal_ground(reason)
        forum = self._forum(forum_id)
        if meeting_id is not None:
            forum.meeting(meeting_id)
        self.keystore.destroy_texts(ground, forum_id=forum_id, meeting_id=meeting_id)
        self._to_ledger(
            lambda ledger: ledger.record_forum_texts(forum_id, meeting_id=meeting_id),
            f"forum {forum_id}'s texts",
        )
        self.access_log.record(
            username=caller.username if caller else operator,
            org=caller.org if caller else "-",
            role=caller.role.value if caller else "operator",
            kind="erasure",
            purpose=ground,
            subject_id=AccessLog.forum_texts(forum_id),
        )
        return Recorded(id=forum_id, version=forum.version)

    def text_retention_schedule(self, *, caller: Caller | None = None) -> list[dict[str, Any]]:
        """Every forum text not yet destroyed, and the day retention destroys it."""
        access.check_role(caller, Role.DPO)
        with self.keystore.store.transaction() as cursor:
            keys = self.keystore.text_keys(cursor)
        return retention.text_schedule(keys, self.retention_policy)

    def apply_text_retention(self, on: date | None = None) -> int:
        """Destroy every forum text whose retention period has run out (the scheduler's job):
        how many."""
        day = (on or self.clock()).isoformat()
        per_forum: dict[str, list[str]] = {}
        for entry in self.text_retention_schedule():
            if entry["erase_on"] <= day:
                per_forum.setdefault(entry["forum_id"], []).append(entry["key_id"])
        erased = 0
        for forum_id, key_ids in per_forum.items():
            ground = f"retention period of forum texts ran out by {day}"
            erased += self.keystore.destroy_texts(ground, forum_id=UUID(forum_id), key_ids=key_ids)
            self._to_ledger(partial(_record_texts, UUID(forum_id), key_ids), f"forum {forum_id}'s texts")
            self.access_log.record(
                username="retention",
                org="-",
                role="operator",
                kind="erasure",
                purpose=ground,
                subject_id=AccessLog.forum_texts(UUID(forum_id)),
            )
        return erased

    def forget_snapshots(self, case_ids: Sequence[UUID]) -> None:
        """Snapshots are a cache of state: those of an erased subject's cases are deleted."""
        if self.snapshots is None:
            return
        recorder: Any = self.snapshots.recorder
        ids = [str(case_id) for case_id in case_ids]
        if hasattr(recorder, "_stored_events_index"):  # in-memory
            for case_id in ids:
                recorder._stored_events_index[case_id] = {}
            return
        table = recorder.events_table_name
        if type(recorder).__module__.endswith("postgres"):
            from psycopg import sql

            with recorder.datastore.transaction(commit=True) as cursor:
                cursor.execute(
                    sql.SQL("DELETE FROM {}.{} WHERE originator_id = ANY(%s::uuid[])").format(
                        sql.Identifier(recorder.datastore.schema), sql.Identifier(table)
                    ),
                    (ids,),
                )
        else:
            with recorder.datastore.transaction(commit=True) as cursor:  # SQLite keeps ids as hex
                cursor.execute("PRAGMA secure_delete=ON")  # the deleted rows zeroed in the file
                cursor.executemany(
                    f"DELETE FROM {table} WHERE originator_id IN (?, ?)",
                    [(str(case_id), case_id.hex) for case_id in case_ids],
                )

    def get_access_log(self, case_id: UUID, *, caller: Caller | None = None) -> list[dict[str, Any]]:
        """Who read the case's personal data, when and why (the DPO's view)."""
        access.check_role(caller, Role.DPO)
        self._case(case_id)
        return self.access_log.for_case(case_id)

    def get_access_report(self, subject_id: UUID, *, caller: Caller | None = None) -> dict[str, Any]:
        """A subject's access report: every case about them and who looked at it, and why."""
        access.check_role(caller, Role.DPO)
        status = self.keystore.status(subject_id)
        if status is None:
            raise SubjectNotFoundError(f"subject {subject_id} not found")
        return {
            **status,
            "case_ids": [str(c) for c in self.keystore.cases_of(subject_id)],
            "accesses": self.access_log.for_subject(subject_id),
        }

    def retention_schedule(self, *, caller: Caller | None = None) -> list[dict[str, Any]]:
        """Subjects whose cases are all closed, and when their personal data will be erased."""
        access.check_role(caller, Role.DPO)
        self.workflow.catch_up()  # type: ignore[attr-defined]
        if self.keystore.store is self.read_store:  # one database: one transaction
            with self.read_store.transaction() as cursor:
                return retention.schedule(cursor, cursor, self.retention_policy)
        with self.keystore.store.transaction() as keys, self.read_store.transaction() as cases:
            return retention.schedule(keys, cases, self.retention_policy)

    def apply_retention(self, on: date | None = None) -> list[str]:
        """Erase every subject whose retention period has run out (the scheduler's job)."""
        day = on or self.clock()
        erased = []
        for entry in self.retention_schedule():
            if entry["erase_on"] <= day.isoformat():
                self.erase_subject(
                    UUID(entry["subject_id"]),
                    on=day,
                    operator="retention",
                    reason=f"retention period ran out on {entry['erase_on']}",
                )
                erased.append(entry["subject_id"])
        return erased
