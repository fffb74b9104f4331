"""The key store: one AES-256 key per data subject, kept apart from the events.

Destroying a subject's key is erasure ("crypto-shredding"): the events stay, their personal
fields can no longer be read by anyone. Keys may themselves be wrapped with the store key
(FOREBYG_STORE_KEY), so a copy of the database alone reveals nothing. Each process caches keys;
an erasure bumps a generation counter that every process checks before it serves a request or
a batch, so no cache anywhere outlives an erasure.

A forum's free texts (meeting summaries, cancellation reasons, area mappings, the dissolution
reason) have no data subject: each text event gets a key of its own (``text_keys``), recorded
with its forum, its meeting and the business date it was written, so the DPO can erase one
meeting's texts or a forum's, and retention can destroy each text its period after it was written.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from application.readmodels.store import Cursor, SqlStore
from domain.errors import PersonalDataErasedError


class KeyStore:
    def __init__(self, store: SqlStore, master_key: bytes | None = None) -> None:
        self.store = store
        self._master = AESGCM(master_key) if master_key else None
        self._lock = threading.Lock()
        self._keys: dict[str, bytes | None] = {}
        self._subjects: dict[str, str] = {}
        self._text_keys: dict[str, bytes | None] = {}
        self._generation: int | None = None

    @staticmethod
    def create_tables(cursor: Cursor) -> None:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS subject_keys (subject_id TEXT PRIMARY KEY, key TEXT,"
            " created_at TEXT NOT NULL, erased_at TEXT, erasure_reason TEXT)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS case_subjects (case_id TEXT PRIMARY KEY, subject_id TEXT NOT NULL)"
        )
        cursor.execute("CREATE INDEX IF NOT EXISTS case_subjects_subject ON case_subjects (subject_id)")
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS text_keys (key_id TEXT PRIMARY KEY, forum_id TEXT NOT NULL,"
            " meeting_id TEXT, kind TEXT NOT NULL, written_on TEXT NOT NULL, key TEXT,"
            " created_at TEXT NOT NULL, erased_at TEXT, erasure_reason TEXT)"
        )
        cursor.execute("CREATE INDEX IF NOT EXISTS text_keys_forum ON text_keys (forum_id)")
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS keystore_generation (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)"
        )
        cursor.execute("INSERT INTO keystore_generation (id, n) VALUES (1, 0) ON CONFLICT (id) DO NOTHING")

    # --- keys ---------------------------------------------------------------------

    def _wrap(self, key: bytes) -> str:
        if self._master is None:
            return base64.b64encode(key).decode()
        nonce = os.urandom(12)
        return "w:" + base64.b64encode(nonce + self._master.encrypt(nonce, key, b"subject-key")).decode()

    def _unwrap(self, stored: str) -> bytes:
        if not stored.startswith("w:"):
            return base64.b64decode(stored)
        if self._master is None:
            raise RuntimeError("subject keys are wrapped: FOREBYG_STORE_KEY is required")
        raw = base64.b64decode(stored[2:])
        key: bytes = self._master.decrypt(raw[:12], raw[12:], b"subject-key")
        return key

    def register(self, case_id: UUID, subject_id: UUID) -> None:
        """Give a new subject a key and tie the case to it; refused for an erased subject."""
        with self.store.transaction() as cursor:
            cursor.execute("SELECT key, erased_at FROM subject_keys WHERE subject_id = ?", (str(subject_id),))
            row = cursor.fetchone()
            if row is not None and row[1] is not None:
                raise PersonalDataErasedError(f"subject {subject_id} was erased; no new personal data")
            if row is None:
                cursor.execute(
                    "INSERT INTO subject_keys (subject_id, key, created_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (subject_id) DO NOTHING",
                    (str(subject_id), self._wrap(AESGCM.generate_key(256)), _now()),
                )
            cursor.execute(
                "INSERT INTO case_subjects (case_id, subject_id) VALUES (?, ?)"
                " ON CONFLICT (case_id) DO NOTHING",
                (str(case_id), str(subject_id)),
            )
        with self._lock:
            self._subjects[str(case_id)] = str(subject_id)

    def subject_of(self, case_id: UUID) -> str | None:
        found = self._subjects.get(str(case_id))
        if found is None:
            with self.store.transaction() as cursor:
                cursor.execute("SELECT subject_id FROM case_subjects WHERE case_id = ?", (str(case_id),))
                row = cursor.fetchone()
            if row is None:
                return None
            found = str(row[0])
            with self._lock:
                self._subjects[str(case_id)] = found
        return found

    def key(self, subject_id: str) -> bytes | None:
        """The subject's key, or None once erased."""
        with self._lock:
            if subject_id in self._keys:
                return self._keys[subject_id]
        with self.store.transaction() as cursor:
            cursor.execute("SELECT key FROM subject_keys WHERE subject_id = ?", (subject_id,))
            row = cursor.fetchone()
        key = self._unwrap(row[0]) if row is not None and row[0] is not None else None
        with self._lock:
            self._keys[subject_id] = key
        return key

    def refresh(self) -> None:
        """Forget cached keys if any process erased a subject since we last looked."""
        self.observe_generation(self.generation())

    def generation(self) -> int:
        """How many erasures the store has seen (any process's)."""
        with self.store.transaction() as cursor:
            cursor.execute("SELECT n FROM keystore_generation WHERE id = 1")
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    def observe_generation(self, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                self._keys.clear()
                self._text_keys.clear()
                self._generation = generation

    # --- a forum's texts ------------------------------------------------------------

    def new_text_key(
        self, key_id: str, *, forum_id: UUID, kind: str, written_on: str, meeting_id: UUID | None = None
    ) -> bytes | None:
        """The key of a text about to be written (made once; None if already destroyed)."""
        with self.store.transaction() as cursor:
            cursor.execute(
                "INSERT INTO text_keys (key_id, forum_id, meeting_id, kind, written_on, key, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key_id) DO NOTHING",
                (
                    key_id,
                    str(forum_id),
                    str(meeting_id) if meeting_id else None,
                    kind,
                    written_on,
                    self._wrap(AESGCM.generate_key(256)),
                    _now(),
                ),
            )
        with self._lock:
            self._text_keys.pop(key_id, None)
        return self.text_key(key_id)

    def prefetch(self, subject_ids: Collection[str], text_key_ids: Collection[str] = ()) -> None:
        """Cache the keys of these subjects and texts with a query for many at a time (an
        export opens a page's sealed fields at once)."""
        for table, column, ids, cache in (
            ("subject_keys", "subject_id", subject_ids, self._keys),
            ("text_keys", "key_id", text_key_ids, self._text_keys),
        ):
            with self._lock:
                wanted = sorted({i for i in ids if i not in cache})
            for start in range(0, len(wanted), 500):
                part = wanted[start : start + 500]
                marks = ", ".join("?" * len(part))
                with self.store.transaction() as cursor:
                    cursor.execute(f"SELECT {column}, key FROM {table} WHERE {column} IN ({marks})", part)
                    rows = cursor.fetchall()
                found = {str(r[0]): self._unwrap(r[1]) if r[1] is not None else None for r in rows}
                with self._lock:
                    for key_id in part:
                        cache[key_id] = found.get(key_id)

    def text_key(self, key_id: str) -> bytes | None:
        """A text's key, or None once destroyed."""
        with self._lock:
            if key_id in self._text_keys:
                return self._text_keys[key_id]
        with self.store.transaction() as cursor:
            cursor.execute("SELECT key FROM text_keys WHERE key_id = ?", (key_id,))
            row = cursor.fetchone()
        key = self._unwrap(row[0]) if row is not None and row[0] is not None else None
        with self._lock:
            self._text_keys[key_id] = key
        return key

    def text_keys(self, cursor: Cursor) -> list[dict[str, Any]]:
        """Every text key not yet destroyed, with what retention needs to know of it."""
        cursor.execute(
            "SELECT key_id, forum_id, meeting_id, kind, written_on FROM text_keys"
            " WHERE erased_at IS NULL ORDER BY written_on, key_id"
        )
        names = ("key_id", "forum_id", "meeting_id", "kind", "written_on")
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def destroy_texts(
        self, reason: str, *, forum_id: UUID, meeting_id: UUID | None = None, key_ids: list[str] | None = None
    ) -> int:
        """Destroy the keys of a forum's texts (of one meeting, or these keys only): how many."""
        where, params = "forum_id = ? AND erased_at IS NULL", [str(forum_id)]
        if meeting_id is not None:
            where, params = where + " AND meeting_id = ?", [*params, str(meeting_id)]
        with self.store.transaction() as cursor:
            destroyed = 0
            for key_id in key_ids if key_ids is not None else [None]:
                extra = "" if key_id is None else " AND key_id = ?"
                cursor.execute(
                    "UPDATE text_keys SET key = NULL, erased_at = ?, erasure_reason = ?"
                    f" WHERE {where}{extra}",
                    (_now(), reason, *params, *([] if key_id is None else [key_id])),
                )
                destroyed += int(cursor.rowcount)
            cursor.execute("UPDATE keystore_generation SET n = n + 1 WHERE id = 1")
        with self._lock:
            self._text_keys.clear()
        return destroyed

    # --- erasure -------------------------------------------------------------------

    def cases_of(self, subject_id: UUID) -> list[UUID]:
        with self.store.transaction() as cursor:
            cursor.execute(
                "SELECT case_id FROM case_subjects WHERE subject_id = ? ORDER BY case_id", (str(subject_id),)
            )
            return [UUID(row[0]) for row in cursor.fetchall()]

    def destroy(self, subject_id: UUID, reason: str) -> bool:
        """Destroy the subject's key; True if this call destroyed it, False if already gone."""
        with self.store.transaction() as cursor:
            cursor.execute(
                "UPDATE subject_keys SET key = NULL, erased_at = ?, erasure_reason = ?"
                " WHERE subject_id = ? AND erased_at IS NULL",
                (_now(), reason, str(subject_id)),
            )
            destroyed = bool(cursor.rowcount == 1)
            cursor.execute("UPDATE keystore_generation SET n = n + 1 WHERE id = 1")
        with self._lock:
            self._keys[str(subject_id)] = None
        return destroyed

    def scrub(self) -> None:
        """Wipe destroyed keys from the store's files (see SqlStore.scrub)."""
        self.store.scrub("subject_keys")

    def status(self, subject_id: UUID) -> dict[str, Any] | None:
        with self.store.transaction() as cursor:
            cursor.execute(
                "SELECT created_at, erased_at, erasure_reason FROM subject_keys WHERE subject_id = ?",
                (str(subject_id),),
            )
            row = cursor.fetchone()
        if row is None:
            return None
        return {
            "subject_id": str(subject_id),
            "created_at": row[0],
            "erased_at": row[1],
            "erasure_reason": row[2],
        }


def _now() -> str:
    return datetime.now(UTC).isoformat()
