"""Configuration, read once from an environment mapping (DESIGN §5)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from application.errors import ConfigurationError
from application.privacy.retention import RetentionPolicy
from application.reminders.rules import ReminderPolicy
from application.sessions import SessionPolicy


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""
    secret_key: str = ""
    smtp_url: str = ""
    store_key: str = ""
    port: int = 8000
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)
    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    behind_tls_proxy: bool = False
    scheduler_interval_seconds: int = 60
    request_timeout_seconds: int = 10

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        port = environ.get("FOREBYG_PORT", "8000")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigurationError(f"FOREBYG_PORT: {port!r} is not a TCP port")
        url = environ.get("FOREBYG_DATABASE_URL", "").strip()
        if url and not url.startswith(("postgresql://", "postgres://")):
            raise ConfigurationError(
                "FOREBYG_DATABASE_URL: only postgresql:// URLs are supported "
                "(leave it unset for the embedded SQLite store)"
            )
        return cls(
            data_dir=Path(environ.get("FOREBYG_DATA_DIR", "") or "var"),
            database_url=url,
            secret_key=environ.get("FOREBYG_SECRET_KEY", ""),
            smtp_url=environ.get("FOREBYG_SMTP_URL", ""),
            store_key=_store_key(environ.get("FOREBYG_STORE_KEY", "")),
            port=int(port),
            reminders=_policy(environ),
            retention=_retention(environ),
            sessions=SessionPolicy(
                idle_seconds=_positive(environ, "FOREBYG_SESSION_IDLE_SECONDS", 30 * 60),
                absolute_seconds=_positive(environ, "FOREBYG_SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60),
                free_failures_per_user=_positive(environ, "FOREBYG_LOGIN_MAX_FAILURES", 5),
            ),
            behind_tls_proxy=environ.get("FOREBYG_BEHIND_TLS_PROXY", "") in ("1", "true", "yes"),
            scheduler_interval_seconds=_positive(environ, "FOREBYG_SCHEDULER_INTERVAL_SECONDS", 60),
            request_timeout_seconds=_positive(environ, "FOREBYG_REQUEST_TIMEOUT_SECONDS", 10),
        )

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url)

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "forebyg.sqlite3"

    def persistence_env(self, *, create_tables: bool = False) -> dict[str, str]:
        """The `eventsourcing` library's environment for this configuration."""
        # Cached aggregates are fast-forwarded from the store on every read, so several
        # workers never serve stale state.
        env = {"CREATE_TABLE": "y" if create_tables else "n", "AGGREGATE_CACHE_MAXSIZE": "5000"}
        if self.store_key:  # the whole event store encrypted at rest, subject keys wrapped
            env.update(CIPHER_TOPIC="eventsourcing.cryptography:AESCipher", CIPHER_KEY=self.store_key)
        if not self.uses_postgres:
            env.update(
                PERSISTENCE_MODULE="eventsourcing.sqlite",
                SQLITE_DBNAME=str(self.sqlite_path),
                SQLITE_LOCK_TIMEOUT="10",
            )
            return env
        parts = urlparse(self.database_url)
        query = parse_qs(parts.query)
        if not parts.path.strip("/"):
            raise ConfigurationError("FOREBYG_DATABASE_URL: a database name is required")
        env.update(
            PERSISTENCE_MODULE="eventsourcing.postgres",
            POSTGRES_DBNAME=unquote(parts.path.strip("/")),
            POSTGRES_HOST=parts.hostname or "127.0.0.1",
            POSTGRES_PORT=str(parts.port or 5432),
            POSTGRES_USER=unquote(parts.username or "postgres"),
            POSTGRES_PASSWORD=unquote(parts.password or ""),
            POSTGRES_SCHEMA=query.get("schema", ["public"])[0],
            # A worker's threads (4) serve a request each: one pooled connection kept open,
            # a few more on demand, so many workers stay well inside max_connections.
            POSTGRES_POOL_SIZE=query.get("pool_size", ["1"])[0],
            POSTGRES_MAX_OVERFLOW=query.get("max_overflow", ["4"])[0],
            POSTGRES_CONNECT_TIMEOUT=query.get("connect_timeout", ["5"])[0],
            POSTGRES_PRE_PING="y",
        )
        return env


def _policy(environ: Mapping[str, str]) -> ReminderPolicy:
    try:
        return ReminderPolicy.from_environ(environ)
    except ValueError as error:
        raise ConfigurationError(str(error)) from None


def _positive(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, str(default))
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(f"{name}: {raw!r} is not a positive whole number")
    return int(raw)


def _store_key(raw: str) -> str:
    if not raw:
        return ""
    try:
        size = len(base64.b64decode(raw, validate=True))
    except ValueError:
        size = 0
    if size not in (16, 24, 32):
        raise ConfigurationError("FOREBYG_STORE_KEY: base64 of a 16, 24 or 32-byte AES key is required")
    return raw


def _retention(environ: Mapping[str, str]) -> RetentionPolicy:
    try:
        return RetentionPolicy.from_environ(environ)
    except ValueError as error:
        raise ConfigurationError(str(error)) from None
