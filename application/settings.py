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
    keystore_url: str = ""  # subject and text keys in a database of their own (PostgreSQL)
    erasure_ledger: Path | None = None  # a directory outside the store and its backups
    metrics_token: str = ""  # /metrics answers only with this bearer token; unset: no /metrics
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
            keystore_url=_keystore_url(environ, url),
            erasure_ledger=Path(environ["FOREBYG_ERASURE_LEDGER"])
            if environ.get("FOREBYG_ERASURE_LEDGER")
            else None,
            metrics_token=_metrics_token(environ.get("FOREBYG_METRICS_TOKEN", "")),
            request_timeout_seconds=_positive(environ, "FOREBYG_REQUEST_TIMEOUT_SECONDS", 10),
        )

    @property
    def uses_postgres(self) -> bool:
        return bool(self.database_url)

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "forebyg.sqlite3"

    @property
    def store_name(self) -> str:
        """Where the data is, for messages: the SQLite file, or the PostgreSQL database and
        schema (never the URL, which may hold a password)."""
        if not self.uses_postgres:
            return str(self.sqlite_path)
        env = self.persistence_env()
        return (
            f'PostgreSQL database "{env["POSTGRES_DBNAME"]}" on {env["POSTGRES_HOST"]}:'
            f'{env["POSTGRES_PORT"]}, schema "{env["POSTGRES_SCHEMA"]}"'
        )

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
        env.update(
            PERSISTENCE_MODULE="eventsourcing.postgres",
            **_conninfo(self.database_url, "FOREBYG_DATABASE_URL"),
        )
        if self.keystore_url:
            keys = _conninfo(self.keystore_url, "FOREBYG_KEYSTORE_URL")
            env.update({f"KEYSTORE_{name}": value for name, value in keys.items()})
        return env


def _conninfo(url: str, name: str) -> dict[str, str]:
    """The library's POSTGRES_* settings for a postgresql:// URL."""
    parts = urlparse(url)
    query = parse_qs(parts.query)
    if not parts.path.strip("/"):
        raise ConfigurationError(f"{name}: a database name is required")
    return dict(
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


def _keystore_url(environ: Mapping[str, str], database_url: str) -> str:
    url = environ.get("FOREBYG_KEYSTORE_URL", "").strip()
    if not url:
        return ""
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigurationError("FOREBYG_KEYSTORE_URL: only postgresql:// URLs are supported")
    if not database_url:
        raise ConfigurationError(
            "FOREBYG_KEYSTORE_URL: keys apart need FOREBYG_DATABASE_URL (PostgreSQL) too"
        )
    return url


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


def _metrics_token(raw: str) -> str:
    token = raw.strip()
    if token and len(token) < 32:
        raise ConfigurationError("FOREBYG_METRICS_TOKEN: at least 32 characters are required")
    return token
