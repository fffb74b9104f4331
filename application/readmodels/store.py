"""A small SQL port for read models, over SQLite (embedded, and in-memory for tests) or PostgreSQL.

Statements are written once with ``?`` placeholders; the PostgreSQL store translates them.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from application.privacy.files import private_umask


class Cursor(Protocol):
    rowcount: int

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchone(self) -> Any: ...


class SqlStore(Protocol):
    dialect: str

    def transaction(self) -> Any: ...

    def wait_for_change(self, channel: str, timeout: float) -> None: ...

    def scrub(self, table: str) -> None: ...

    def close(self) -> None: ...


class NotScrubbedError(Exception):
    """What was deleted could not yet be wiped from the store's files."""


class SQLiteStore:
    """One connection per thread to a SQLite file, or one shared, locked in-memory database."""

    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._memory = path == ":memory:"
        self._lock = threading.RLock()
        self._local = threading.local()
        self._shared: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._memory:
            if self._shared is None:
                self._shared = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            return self._shared
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with private_umask():  # whatever SQLite creates in opening the file: the owner's
                conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            # Deleted or overwritten content is zeroed in its page (and in freed pages), so an
            # old value (a destroyed key) is not left behind in the file's free space.
            conn.execute("PRAGMA secure_delete=ON")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._lock if self._memory else _nolock():
            conn = self._connection()
            cursor = conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor  # type: ignore[misc]
            except BaseException:
                conn.rollback()
                raise
            else:
                conn.commit()
            finally:
                cursor.close()

    def wait_for_change(self, channel: str, timeout: float) -> None:
        """SQLite has no notifications: poll."""
        time.sleep(min(timeout, 0.2))

    def scrub(self, table: str, timeout: float = 30.0) -> None:
        """Wipe what was deleted from every file of the store: the pages written since the last
        checkpoint go into the database file (whose freed content secure_delete zeroed), and
        the write-ahead log, which still holds the old pages, is truncated to nothing. A reader
        in another process can hold the checkpoint back: retried until ``timeout``, then
        NotScrubbedError."""
        if self._memory:
            return
        conn = self._connection()
        deadline = time.monotonic() + timeout
        while True:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return
            if time.monotonic() > deadline:
                raise NotScrubbedError(
                    f"{self.path}: the write-ahead log could not be checkpointed within {timeout:.0f}s"
                    " (a long-running reader holds it)"
                )
            time.sleep(0.05)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        if self._shared is not None:
            self._shared.close()
            self._shared = None


@contextmanager
def _nolock() -> Iterator[None]:
    yield


BULK_ROWS = 1000  # from this many rows on, PostgreSQL gets them by COPY


def insert_rows(
    cursor: Cursor,
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    key: str | None = None,
    update: Sequence[str] = (),
    new: bool = False,
    bulk_from: int = BULK_ROWS,
) -> None:
    """Insert ``rows`` into ``table``; a row whose ``key`` exists already updates the ``update``
    columns (or, with none, leaves the stored row as it is). Of several rows with the same key,
    the last wins. Many rows on PostgreSQL go by COPY into a staging table and one
    ``INSERT … SELECT`` (an order of magnitude less work per row than one statement each).
    ``new``: the caller knows no row with these keys exists (the table's key refuses one that
    does), so many rows go by COPY straight into the table. ``bulk_from``: how many rows are
    many."""
    if not rows:
        return
    if key is not None:
        at = list(columns).index(key)
        rows = list({row[at]: row for row in rows}.values())
    conflict = ""
    if key is not None and not new:
        action = ", ".join(f"{c} = excluded.{c}" for c in update)
        conflict = f" ON CONFLICT ({key}) DO " + (f"UPDATE SET {action}" if update else "NOTHING")
    names = ", ".join(columns)
    if isinstance(cursor, _PgCursor) and len(rows) >= bulk_from and new:
        cursor.copy_into(table, columns, rows)
        return
    if isinstance(cursor, _PgCursor) and len(rows) >= bulk_from:
        staging = cursor.copy_into_staging(table, columns, rows)
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging}{conflict}")
        return
    marks = ", ".join("?" for _ in columns)
    cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}){conflict}", rows)


class _PgCursor:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._staged = 0

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        return self._cursor.executemany(sql.replace("?", "%s"), rows)

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def copy_into_staging(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
        """COPY the rows into a temporary table shaped like ``table`` (dropped at commit)."""
        self._staged += 1
        staging = f"staging_{table}_{self._staged}"
        self._cursor.execute(f"CREATE TEMP TABLE {staging} (LIKE {table}) ON COMMIT DROP")
        self.copy_into(staging, columns, rows)
        return staging

    def copy_into(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        with self._cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def connect_privately(pool: Any) -> None:
    """Open every connection of the library's SQLite ``pool`` under a private umask, as
    SQLiteStore opens its own: what SQLite creates in opening the file is the owner's alone."""
    create = pool._create_connection

    def create_privately() -> Any:
        with private_umask():
            return create()

    pool._create_connection = create_privately  # the pool's factory method, called on demand


def check_all_when_one_is_broken(pool: Any) -> None:
    """Check each connection handed out by ``pool``; the first broken one found makes the pool
    check all its idle connections at once.

    psycopg_pool's own check finds dead connections one at a time and backs off between them
    (1 s, 2 s, 4 s, …), so after a server restart a caller of a pool holding n dead connections
    would stall 2**n - 1 seconds. With this, it waits one back-off (about a second) at most."""
    from psycopg_pool import ConnectionPool

    def check(conn: Any) -> None:
        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            pool.check()  # discards the other dead ones now and starts replacing them
            raise

    pool._check = check  # the pool's check hook (a constructor argument, kept in ``_check``)


class PostgresStore:
    """A small psycopg pool whose connections work in the configured schema."""

    dialect = "postgres"

    def __init__(self, conninfo: dict[str, str], schema: str, max_size: int = 4) -> None:
        from psycopg_pool import ConnectionPool

        kwargs: dict[str, Any] = {
            "dbname": conninfo["POSTGRES_DBNAME"],
            "host": conninfo["POSTGRES_HOST"],
            "port": conninfo["POSTGRES_PORT"],
            "user": conninfo["POSTGRES_USER"],
            "password": conninfo["POSTGRES_PASSWORD"],
            "connect_timeout": int(conninfo.get("POSTGRES_CONNECT_TIMEOUT", "5")),
            "options": f"-c search_path={schema}",
        }
        self.kwargs: dict[str, Any] = kwargs
        self.schema = schema
        self.pool = ConnectionPool(kwargs=kwargs, min_size=0, max_size=max_size, open=True)
        check_all_when_one_is_broken(self.pool)
        self._listener: Any = None

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            yield _PgCursor(cursor)  # type: ignore[misc]

    @contextmanager
    def exclusive(self, name: str, *, wait: bool) -> Iterator[bool]:
        """Whether this process alone does ``name`` in this schema, for the block: a session
        advisory lock on a connection of its own (released when it closes, also when the
        process dies). With ``wait``, waits for another holder to finish. Keyed by the
        configured schema's name, so it can be taken before the schema exists (migrate)."""
        import psycopg

        key = "hashtext(%s)"
        take = f"SELECT pg_advisory_lock({key}), true" if wait else f"SELECT pg_try_advisory_lock({key})"
        with psycopg.connect(**self.kwargs, autocommit=True) as conn:
            row = conn.execute(take, (f"{self.schema}:{name}",)).fetchone()
            yield bool(row and row[-1])

    def scrub(self, table: str, lock_timeout: float = 10.0) -> None:
        """Remove the old row versions of ``table`` from its data files. An UPDATE or DELETE
        leaves the old version in the page; VACUUM (even FULL) keeps it while any snapshot
        older than the change is open, and a plain VACUUM leaves its bytes in the page's free
        space anyway. So the table is rewritten: its live rows copied aside, the table
        truncated (its old files emptied at commit) and the rows put back, under an exclusive
        lock taken within ``lock_timeout`` (else NotScrubbedError). Then a CHECKPOINT puts the
        new pages on disk, where the role may (superuser or pg_checkpoint). The write-ahead
        log keeps the old rows until its segments are recycled, and so do WAL archives and
        backups (docs/privacy.md)."""
        import psycopg
        from psycopg import sql

        name = sql.Identifier(table)
        with psycopg.connect(**self.kwargs, autocommit=True) as conn:
            try:
                with conn.transaction():
                    conn.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout * 1000)}ms'")
                    conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(name))
                    aside = "CREATE TEMP TABLE scrub_rows ON COMMIT DROP AS SELECT * FROM {}"
                    conn.execute(sql.SQL(aside).format(name))
                    conn.execute(sql.SQL("TRUNCATE {}").format(name))
                    conn.execute(sql.SQL("INSERT INTO {} SELECT * FROM scrub_rows").format(name))
            except psycopg.errors.LockNotAvailable as error:
                raise NotScrubbedError(f"{table}: not rewritten, busy for {lock_timeout:.0f}s") from error
            # Without the privilege, the server's next checkpoint (checkpoint_timeout) writes them.
            with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
                conn.execute("CHECKPOINT")

    def wait_for_change(self, channel: str, timeout: float) -> None:
        """Block until the event store NOTIFYs a commit on ``channel``, or ``timeout`` passes.
        A broken connection is dropped and re-made on the next call (the caller catches up
        anyway, so a notification missed during a restart loses nothing)."""
        import psycopg
        from psycopg import sql

        if self._listener is None or self._listener.closed:
            self._listener = psycopg.connect(**self.kwargs, autocommit=True)
            self._listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        try:
            for _ in self._listener.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.OperationalError:
            self._listener.close()
            self._listener = None
            raise

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        self.pool.close()
