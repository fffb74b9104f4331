"""Building the one application of a process, and the explicit migrate step."""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from application.app import Forebyg, today_in_denmark
from application.privacy.files import MIGRATE_LOCK, open_private, private_dir, private_sqlite_store
from application.privacy.legacy import seal_clear_forum_texts
from application.readmodels.store import PostgresStore
from application.settings import Settings


def build_application(
    settings: Settings, clock: Callable[[], date] = today_in_denmark, *, cached_aggregates: int = 0
) -> Forebyg:
    """The application for this configuration. Creates no tables: see `migrate`. With
    ``cached_aggregates``, that many aggregates are kept in memory between commands, and
    handed out without a copy and not brought up to date from the store: only for a single
    process that records a long series of commands, evicts an aggregate whenever a command
    on it fails, and stops at a conflict with another writer (`forebyg import`).

    On SQLite the store's file must exist (StoreNotReadyError, and nothing created,
    otherwise), and it and its directory are made private (`application.privacy.files`)."""
    if not settings.uses_postgres:
        private_sqlite_store(settings.sqlite_path, create=False)
    env = settings.persistence_env(create_tables=False)
    if cached_aggregates:
        env = {
            **env,
            "AGGREGATE_CACHE_MAXSIZE": str(cached_aggregates),
            "AGGREGATE_CACHE_FASTFORWARD": "n",  # what it saves is what it reads next
            "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
        }
    return Forebyg(
        env=env,
        clock=clock,
        policy=settings.reminders,
        retention_policy=settings.retention,
        session_policy=settings.sessions,
        erasure_ledger=settings.erasure_ledger,
    )


def migrate(settings: Settings) -> int:
    """Create every table Forebyg needs, once, idempotently, and seal the forum texts that
    earlier versions stored in clear (how many: `application.privacy.legacy`). Several
    replicas may run it at once: one migrates at a time, the others wait and then find
    everything made."""
    env = settings.persistence_env(create_tables=True)
    with _migrating(settings, env):
        if settings.uses_postgres:
            _create_schema(env)
        else:
            private_sqlite_store(settings.sqlite_path, create=True)
        if settings.keystore_url:  # the keys' database of their own
            _create_schema(
                {k.removeprefix("KEYSTORE_"): v for k, v in env.items() if k.startswith("KEYSTORE_")}
            )
        app = Forebyg(env=env, policy=settings.reminders, retention_policy=settings.retention)
        try:
            if app.snapshots is not None:
                app.snapshots.recorder.create_table()  # type: ignore[attr-defined]
            app.create_read_models()
            app.workflow.rebuild_if_redefined()
            app.workflow.finish_rebuild()  # one that was stopped midway
            mapper: Any = app.mapper  # a SealingMapper (ForebygBase.construct_mapper)
            return _once(
                app, "forum-texts-sealed", lambda: seal_clear_forum_texts(mapper, app.recorder, app.snapshots)
            )
        finally:
            app.close()


def _once(app: Forebyg, step: str, run: Callable[[], int]) -> int:
    """A data migration that need run only once per store: marked done in the store itself
    (`migration_steps`), so a restored backup of an older release runs it again, and every
    later `migrate` — each replica runs one at start — skips its scan of the whole log."""
    with app.read_store.transaction() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS migration_steps (name TEXT PRIMARY KEY, done_at TEXT NOT NULL)"
        )
        cursor.execute("SELECT 1 FROM migration_steps WHERE name = ?", (step,))
        if cursor.fetchone() is not None:
            return 0
    done = run()
    with app.read_store.transaction() as cursor:
        cursor.execute(
            "INSERT INTO migration_steps (name, done_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
            (step, datetime.now(UTC).isoformat()),
        )
    return done


@contextmanager
def _migrating(settings: Settings, env: dict[str, str]) -> Iterator[None]:
    """The store's migration lock, waited for: on PostgreSQL the schema's advisory lock
    (PostgresStore.exclusive), on SQLite a file lock beside the database file."""
    if settings.uses_postgres:
        conninfo = {key: value for key, value in env.items() if key.startswith("POSTGRES_")}
        store = PostgresStore(conninfo, env["POSTGRES_SCHEMA"])
        try:
            with store.exclusive("migrate", wait=True):
                yield
        finally:
            store.close()
        return
    private_dir(settings.data_dir)
    with open_private(settings.data_dir / MIGRATE_LOCK) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        yield


def _create_schema(env: dict[str, str]) -> None:
    import psycopg
    from psycopg import sql

    schema = env["POSTGRES_SCHEMA"]
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]),
        autocommit=True,
    ) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
