"""`forebyg backup` and `forebyg restore`: a consistent copy of the whole store, and back.

A backup file is a tar archive of two members: ``manifest.json`` first, then the store itself —
``store.sqlite3`` made with SQLite's online-backup API on the embedded store, ``store.dump``
made by ``pg_dump --format=custom`` of the store's schema on PostgreSQL, inside one exported
snapshot, so the manifest's counts are those of the copy. The manifest names the format and its
version, the Forebyg version, the kind of store and its schema, the number of events and the last
notification id, and the SHA-256 of the copy.

Restore checks all of it before it changes anything: a file that is not a Forebyg backup, of
another format version, of the other kind of store, or whose copy does not match its checksum,
is refused; so is a store that already holds events, unless told to replace it. After the copy
is in place it ends every session (tokens of the restored past must not sign anyone in), runs
the migration (a backup of an older release gains the tables it lacks), and re-applies every
erasure of the erasure ledger that the backup predates before it answers.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from application.bootstrap import build_application, migrate
from application.errors import ApplicationError
from application.privacy.files import private_dir
from application.settings import Settings

FORMAT = "forebyg-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class BackupRefusedError(ApplicationError):
    """A backup file that cannot be restored here, or a store it may not replace."""


class BackupToolError(ApplicationError):
    """pg_dump or pg_restore failed or is missing."""


@dataclass(frozen=True)
class Manifest:
    format: str
    format_version: int
    forebyg_version: str
    store: str  # "sqlite" or "postgres"
    schema: str | None  # the PostgreSQL schema the copy was taken of
    created_at: str
    events: int
    last_notification_id: int
    payload: str  # the archive member holding the copy
    size: int
    sha256: str


@dataclass(frozen=True)
class RestoreReport:
    manifest: Manifest
    erasures_reapplied: int
    sessions_ended: int


def _version() -> str:
    try:
        return metadata.version("forebyg")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a plain checkout
        return "unknown"


def _kind(settings: Settings) -> str:
    return "postgres" if settings.uses_postgres else "sqlite"


# --- backup ---------------------------------------------------------------------------------


def backup(settings: Settings, out: Path) -> Manifest:
    """Write a backup of the whole store to ``out`` (replaced atomically, mode 0600)."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with _private_tempdir(out.parent) as work:
        if settings.uses_postgres:
            payload, events, last = work / "store.dump", *_pg_dump(settings, work / "store.dump")
        else:
            payload, events, last = work / "store.sqlite3", *_sqlite_copy(settings, work / "store.sqlite3")
        manifest = Manifest(
            format=FORMAT,
            format_version=FORMAT_VERSION,
            forebyg_version=_version(),
            store=_kind(settings),
            schema=settings.persistence_env().get("POSTGRES_SCHEMA") if settings.uses_postgres else None,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            events=events,
            last_notification_id=last,
            payload=payload.name,
            size=payload.stat().st_size,
            sha256=_sha256(payload),
        )
        archive = work / "backup.tar"
        fd = os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle, tarfile.open(fileobj=handle, mode="w") as tar:
            data = json.dumps(asdict(manifest), indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(data), 0o600
            tar.addfile(info, io.BytesIO(data))
            tar.add(payload, arcname=payload.name)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(archive, out)
    return manifest


def _sqlite_copy(settings: Settings, target: Path) -> tuple[int, int]:
    if not settings.sqlite_path.exists():
        raise BackupRefusedError(f"there is no store at {settings.sqlite_path} to back up")
    source = sqlite3.connect(settings.sqlite_path)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # the online-backup API: a consistent copy while others write
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        events, last = copy.execute("SELECT COUNT(*), COALESCE(MAX(rowid), 0) FROM stored_events").fetchone()
    finally:
        copy.close()
        source.close()
    return int(events), int(last)


def pg_environment(settings: Settings) -> dict[str, str]:
    """The process environment with libpq's PG* variables for the store (pg_dump, pg_restore)."""
    env = settings.persistence_env()
    return {
        **os.environ,
        "PGHOST": env["POSTGRES_HOST"],
        "PGPORT": env["POSTGRES_PORT"],
        "PGUSER": env["POSTGRES_USER"],
        "PGPASSWORD": env["POSTGRES_PASSWORD"],
        "PGDATABASE": env["POSTGRES_DBNAME"],
        "PGCONNECT_TIMEOUT": env["POSTGRES_CONNECT_TIMEOUT"],
    }


def _run(command: list[str], settings: Settings) -> None:
    tool = shutil.which(command[0])
    if tool is None:
        raise BackupToolError(f"{command[0]} is not installed (PostgreSQL's client tools are needed)")
    done = subprocess.run(
        [tool, *command[1:]], env=pg_environment(settings), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BackupToolError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")


def _pg_dump(settings: Settings, target: Path) -> tuple[int, int]:
    from psycopg import sql

    schema = settings.persistence_env()["POSTGRES_SCHEMA"]
    with _pg_connect(settings, autocommit=True) as conn:  # the transaction is ours to begin
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        snapshot = row[0]
        table = sql.Identifier(schema, "forebyg_events")
        counts = conn.execute(
            sql.SQL("SELECT COUNT(*), COALESCE(MAX(notification_id), 0) FROM {}").format(table)
        ).fetchone()
        assert counts is not None
        # pg_dump reads the very snapshot the counts were taken in (while it stays open).
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--schema={schema}",
                f"--file={target}",
            ],
            settings,
        )
        conn.execute("ROLLBACK")
    os.chmod(target, 0o600)
    return int(counts[0]), int(counts[1])


# --- restore --------------------------------------------------------------------------------


def read_manifest(file: Path) -> Manifest:
    """The manifest of a backup file, checked: format, version, fields."""
    try:
        with tarfile.open(file, mode="r:") as tar:
            first = tar.next()
            if first is None or first.name != MANIFEST:
                raise BackupRefusedError(f"{file} is not a Forebyg backup (no manifest)")
            handle = tar.extractfile(first)
            assert handle is not None
            fields: dict[str, Any] = json.loads(handle.read(1_000_000))
    except (tarfile.TarError, OSError, ValueError) as error:
        raise BackupRefusedError(f"{file} is not a Forebyg backup ({error})") from None
    if not isinstance(fields, dict) or fields.get("format") != FORMAT:
        raise BackupRefusedError(f"{file} is not a Forebyg backup (format {fields.get('format')!r})")
    if fields.get("format_version") != FORMAT_VERSION:
        raise BackupRefusedError(
            f"{file} is of backup format version {fields.get('format_version')!r};"
            f" this release restores version {FORMAT_VERSION}"
        )
    try:
        return Manifest(**fields)
    except TypeError as error:
        raise BackupRefusedError(f"{file}: its manifest is not valid ({error})") from None


def restore(settings: Settings, file: Path, *, replace: bool = False) -> RestoreReport:
    """Restore a backup into this store (empty, or ``replace``), then re-apply the ledger's
    erasures. Nothing is changed unless every check passes."""
    manifest = read_manifest(file)
    if manifest.store != _kind(settings):
        raise BackupRefusedError(
            f"{file} is a backup of a {manifest.store} store and this is a {_kind(settings)} store;"
            " move between them with `forebyg export` and `forebyg import`"
        )
    if settings.uses_postgres and manifest.schema != settings.persistence_env()["POSTGRES_SCHEMA"]:
        raise BackupRefusedError(
            f"{file} is a backup of schema {manifest.schema!r}; restore it into that schema"
            " (?schema= in FOREBYG_DATABASE_URL)"
        )
    held = _events_held(settings)
    if held and not replace:
        raise BackupRefusedError(
            f"the store already holds {held} event(s); restoring would replace them"
            " (say --replace if that is meant)"
        )
    directory = private_dir(settings.data_dir) if not settings.uses_postgres else Path(tempfile.gettempdir())
    with _private_tempdir(directory) as work:
        payload = work / manifest.payload
        with tarfile.open(file, mode="r:") as tar:
            member = tar.getmember(manifest.payload)
            source = tar.extractfile(member)
            if source is None:
                raise BackupRefusedError(f"{file}: {manifest.payload} is not a file")
            fd = os.open(payload, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as target:
                _copy(source, target)
        if payload.stat().st_size != manifest.size or _sha256(payload) != manifest.sha256:
            raise BackupRefusedError(f"{file}: the copy does not match its checksum; the file is damaged")
        if settings.uses_postgres:
            _pg_restore(settings, payload, manifest)
        else:
            _sqlite_restore(settings, payload)
    migrate(settings)
    app = build_application(settings)
    try:
        last = int(app.recorder.max_notification_id() or 0)  # type: ignore[attr-defined]
        if last != manifest.last_notification_id:
            raise BackupRefusedError(
                f"restored {last} as the last event, the manifest says {manifest.last_notification_id}"
            )
        ended = app.sessions.end_every_session()
        reapplied = app.reapply_erasures()
        app.workflow.catch_up()
    finally:
        app.close()
    return RestoreReport(manifest, erasures_reapplied=len(reapplied), sessions_ended=ended)


def _events_held(settings: Settings) -> int:
    if not settings.uses_postgres:
        if not settings.sqlite_path.exists():
            return 0
        conn = sqlite3.connect(settings.sqlite_path)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0])
        except sqlite3.OperationalError:  # no table yet
            return 0
        finally:
            conn.close()
    from psycopg import sql

    schema = settings.persistence_env()["POSTGRES_SCHEMA"]
    with _pg_connect(settings) as pgconn:
        exists = pgconn.execute("SELECT to_regclass(%s)", (f'"{schema}".forebyg_events',)).fetchone()
        if exists is None or exists[0] is None:
            return 0
        row = pgconn.execute(
            sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(schema, "forebyg_events"))
        ).fetchone()
        return int(row[0]) if row else 0


def _sqlite_restore(settings: Settings, payload: Path) -> None:
    check = sqlite3.connect(payload)
    try:
        if check.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupRefusedError("the copy in the backup is not a sound SQLite database")
    finally:
        check.close()
    target = settings.sqlite_path
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(payload, target)


def _pg_restore(settings: Settings, payload: Path, manifest: Manifest) -> None:
    from psycopg import sql

    pg = pg_environment(settings)
    _run(["pg_restore", "--list", str(payload)], settings)  # a readable archive, before dropping
    schema = manifest.schema or ""
    aside = f"{schema}_before_restore"[:63]
    with _pg_connect(settings, autocommit=True) as conn:
        # The store's schema is set aside, not dropped, until the copy is in: a restore that
        # fails leaves the store as it was. (The dump creates the schema again, public too.)
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(aside)))
        row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if row is not None:
            conn.execute(
                sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(schema), sql.Identifier(aside))
            )
        try:
            _run(
                [
                    "pg_restore",
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    f"--dbname={pg['PGDATABASE']}",
                    str(payload),
                ],
                settings,
            )
        except BaseException:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            if row is not None:
                conn.execute(
                    sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                        sql.Identifier(aside), sql.Identifier(schema)
                    )
                )
            raise
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(aside)))


def _rename(conn: Any, schema: str, to: str) -> None:
    from psycopg import sql

    conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(schema), sql.Identifier(to)))


def _pg_connect(settings: Settings, *, autocommit: bool = False) -> Any:
    import psycopg

    pg = pg_environment(settings)
    return psycopg.connect(
        host=pg["PGHOST"],
        port=pg["PGPORT"],
        user=pg["PGUSER"],
        password=pg["PGPASSWORD"],
        dbname=pg["PGDATABASE"],
        autocommit=autocommit,
    )


# --- helpers --------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy(source: IO[bytes], target: IO[bytes]) -> None:
    """The backup's copy, unpacked for the restore (a work file: no fsync, it is read at once)."""
    for block in iter(lambda: source.read(1 << 20), b""):
        target.write(block)
    target.flush()


@contextmanager
def _private_tempdir(parent: Path) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=".forebyg-backup-", dir=parent))  # 0700
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
