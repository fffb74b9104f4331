"""Server-side sessions (bearer tokens now, the web UI's cookie later) and login throttling.

A session dies 30 minutes after its last use, 12 hours after sign-in, and at once on sign-out.
Only a hash of the token is stored. Failed sign-ins are counted in the shared database, so the
limit holds across every worker process.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from application.errors import ApplicationError
from application.readmodels.store import Cursor, SqlStore


class SessionExpiredError(ApplicationError):
    """The session is unknown, ended, or timed out: sign in again."""


class TooManyAttemptsError(ApplicationError):
    """Too many failed sign-ins: wait before trying again."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class SessionPolicy:
    idle_seconds: int = 30 * 60
    absolute_seconds: int = 12 * 60 * 60
    max_failures_per_user: int = 5
    max_failures_per_address: int = 20
    failure_window_seconds: int = 15 * 60
    touch_every_seconds: int = 30


@dataclass(frozen=True)
class Session:
    user_id: UUID
    created_at: float
    expires_at: float  # the absolute end
    erasure_generation: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(
        self, store: SqlStore, policy: SessionPolicy, clock: Callable[[], float] = time.time
    ) -> None:
        self.store, self.policy, self.clock = store, policy, clock

    @staticmethod
    def create_tables(cursor: Cursor) -> None:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS sessions (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL,"
            " created_at DOUBLE PRECISION NOT NULL, last_seen_at DOUBLE PRECISION NOT NULL,"
            " ended_at DOUBLE PRECISION)"
        )
        cursor.execute("CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id)")
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS login_failures (subject TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)"
        )
        cursor.execute("CREATE INDEX IF NOT EXISTS login_failures_subject ON login_failures (subject, at)")

    def open(self, user_id: UUID) -> tuple[str, float]:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.store.transaction() as cursor:
            cursor.execute(
                "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES (?, ?, ?, ?)",
                (_digest(token), str(user_id), now, now),
            )
            # Housekeeping: sessions past their absolute end are gone for good.
            cursor.execute(
                "DELETE FROM sessions WHERE created_at < ?", (now - 2 * self.policy.absolute_seconds,)
            )
        return token, now + self.policy.absolute_seconds

    def resolve(self, token: str) -> Session:
        now = self.clock()
        with self.store.transaction() as cursor:
            cursor.execute(
                "SELECT user_id, created_at, last_seen_at, ended_at,"
                " (SELECT n FROM keystore_generation WHERE id = 1) FROM sessions WHERE token_hash = ?",
                (_digest(token),),
            )
            row = cursor.fetchone()
            if row is None or row[3] is not None:
                raise SessionExpiredError("the session has ended; sign in again")
            user_id, created_at, last_seen_at = row[0], float(row[1]), float(row[2])
            if now - last_seen_at > self.policy.idle_seconds:
                raise SessionExpiredError("the session timed out after inactivity; sign in again")
            if now - created_at > self.policy.absolute_seconds:
                raise SessionExpiredError("the session reached its maximum length; sign in again")
            if now - last_seen_at > min(self.policy.touch_every_seconds, self.policy.idle_seconds / 4):
                cursor.execute(
                    "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?", (now, _digest(token))
                )
        return Session(UUID(user_id), created_at, created_at + self.policy.absolute_seconds, int(row[4] or 0))

    def end(self, token: str) -> None:
        with self.store.transaction() as cursor:
            cursor.execute(
                "UPDATE sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL",
                (self.clock(), _digest(token)),
            )

    def end_all(self, user_id: UUID) -> None:
        with self.store.transaction() as cursor:
            cursor.execute(
                "UPDATE sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL",
                (self.clock(), str(user_id)),
            )

    # --- throttling ------------------------------------------------------------------

    def check_throttle(self, username: str, address: str) -> None:
        now = self.clock()
        since = now - self.policy.failure_window_seconds
        with self.store.transaction() as cursor:
            for subject, limit in (
                (f"user:{username}", self.policy.max_failures_per_user),
                (f"addr:{address}", self.policy.max_failures_per_address),
            ):
                cursor.execute(
                    "SELECT COUNT(*), MIN(at) FROM login_failures WHERE subject = ? AND at > ?",
                    (subject, since),
                )
                count, oldest = cursor.fetchone()
                if count >= limit:
                    retry = int(float(oldest) + self.policy.failure_window_seconds - now) + 1
                    raise TooManyAttemptsError(max(retry, 1))

    def record_failure(self, username: str, address: str) -> None:
        now = self.clock()
        with self.store.transaction() as cursor:
            cursor.executemany(
                "INSERT INTO login_failures (subject, at) VALUES (?, ?)",
                [(f"user:{username}", now), (f"addr:{address}", now)],
            )
            cursor.execute(
                "DELETE FROM login_failures WHERE at < ?", (now - self.policy.failure_window_seconds,)
            )

    def clear_failures(self, username: str) -> None:
        with self.store.transaction() as cursor:
            cursor.execute("DELETE FROM login_failures WHERE subject = ?", (f"user:{username}",))
