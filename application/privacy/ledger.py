"""The erasure ledger: every erasure, also written outside the backed-up store.

A backup taken before an erasure still holds the erased person's key; restoring it would bring
the person back. So each erasure is appended to a file in a directory of its own
(``FOREBYG_ERASURE_LEDGER``, on other storage than the store and its backups), holding only
what was erased and when — subject ids, forum ids and meeting ids, instants; no personal data —
and a store is not ready (`/readyz`) while the ledger names an erasure the store has not applied:
`forebyg restore` re-applies them before it answers, `forebyg reapply-erasures` does so for a
store restored by other means.

One JSON object per line, appended with O_APPEND and fsync'd (the file and, when it is created,
its directory) before the erasure is acknowledged. The directory is 0700 and the file 0600.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

FILE = "erasures.jsonl"


@dataclass(frozen=True)
class Erasure:
    kind: str  # "subject" or "forum_texts"
    at: str  # the instant it was applied (UTC, ISO 8601)
    subject_id: str | None = None
    forum_id: str | None = None
    meeting_id: str | None = None  # forum texts of one meeting only
    key_ids: list[str] | None = None  # these texts only (retention)

    def as_line(self) -> str:
        fields = {k: v for k, v in self.__dict__.items() if v is not None}
        return json.dumps(fields, sort_keys=True) + "\n"


class LedgerError(Exception):
    """The ledger cannot be written or read."""


class ErasureLedger:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / FILE
        self._seen: tuple[int, int] | None = None
        self._entries: list[Erasure] = []

    def record_subject(self, subject_id: UUID) -> None:
        self._append(Erasure("subject", _now(), subject_id=str(subject_id)))

    def record_forum_texts(
        self, forum_id: UUID, *, meeting_id: UUID | None = None, key_ids: list[str] | None = None
    ) -> None:
        meeting = str(meeting_id) if meeting_id is not None else None
        erasure = Erasure("forum_texts", _now(), forum_id=str(forum_id), meeting_id=meeting, key_ids=key_ids)
        self._append(erasure)

    def entries(self) -> list[Erasure]:
        """Every erasure recorded (read again only when the file has changed)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return []
        seen = (stat.st_size, stat.st_mtime_ns)
        if seen != self._seen:
            self._entries = list(self._read())
            self._seen = seen
        return list(self._entries)

    def _read(self) -> Iterator[Erasure]:
        with self.path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.endswith("\n"):
                    return  # a line being appended right now: read at the next look
                try:
                    fields: dict[str, Any] = json.loads(line)
                    yield Erasure(**fields)
                except (ValueError, TypeError) as error:
                    raise LedgerError(f"{self.path}: line {number} is not an erasure ({error})") from None

    def _append(self, erasure: Erasure) -> None:
        try:
            created = not self.directory.exists()
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, erasure.as_line().encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                directory = os.open(self.directory, os.O_RDONLY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)
        except OSError as error:
            raise LedgerError(f"the erasure ledger {self.directory} cannot be written: {error}") from error


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
