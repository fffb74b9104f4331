"""The embedded store is the operating-system account's alone: `forebyg migrate`, `demo` and
`serve`, run as an operator runs them (the real command, in a process of its own, under the
common permissive umask 022), leave the data directory 0700 and every file in it 0600 — the
database with its -wal and -shm while a server writes, the lock files, the generated secret
key. A store found more open is tightened, with a warning. A command that needs the tables,
run before `forebyg migrate`, refuses and creates nothing; and on PostgreSQL the messages name
the database and schema, never a SQLite file."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest

from application.app import Forebyg
from application.demo import DEMO_PASSWORD
from application.errors import StoreNotReadyError
from application.readmodels.store import SQLiteStore
from application.settings import Settings
from interfaces.scheduler import FileLeaderLock
from tests.conftest import POSTGRES_URL, TODAY, require_postgres
from tests.http.conftest import Client, free_port

REPO = Path(__file__).resolve().parents[2]
CLI = "import sys; from interfaces.cli import main; sys.exit(main())"
PERMISSIVE = 0o022
DEMO = ("demo", "--today", TODAY.isoformat(), "--cases", "2", "--show", "0")


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FOREBYG_")}
    return {**env, "FOREBYG_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", **extra}


def forebyg(data_dir: Path, *args: str, **extra: str) -> Run:
    """`forebyg ARGS` in a process of its own, under umask 022."""
    done = subprocess.run(
        [sys.executable, "-c", CLI, *args],
        check=False,
        cwd=REPO,
        env=environment(data_dir, **extra),
        capture_output=True,
        text=True,
        timeout=120,
        umask=PERMISSIVE,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def modes(data_dir: Path) -> dict[str, str]:
    """The permission bits of the data directory (as "."), and of every file and directory
    below it (a directory's name ends in "/")."""
    found = {".": oct(stat.S_IMODE(data_dir.stat().st_mode))}
    for path in sorted(data_dir.rglob("*")):
        name = str(path.relative_to(data_dir)) + ("/" if path.is_dir() else "")
        found[name] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


def private(names: set[str]) -> dict[str, str]:
    """Directories the owner's alone (0700), files too (0600)."""
    return {".": oct(0o700), **{name: oct(0o700 if name.endswith("/") else 0o600) for name in names}}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


# --- a fresh store is private -------------------------------------------------------------


def test_migrate_makes_the_data_directory_0700_and_its_files_0600(data_dir: Path) -> None:
    run = forebyg(data_dir, "migrate")

    assert run.code == 0, run.err
    assert modes(data_dir) == private({"forebyg.sqlite3", "migrate.lock"})
    assert "open to other users" not in run.err  # nothing was found to tighten


def test_the_demo_leaves_only_private_files(data_dir: Path) -> None:
    run = forebyg(data_dir, *DEMO)

    assert run.code == 0, run.err
    assert "forebyg.sqlite3" in modes(data_dir)
    assert set(modes(data_dir).values()) <= {oct(0o700), oct(0o600)}, modes(data_dir)
    assert modes(data_dir)["."] == oct(0o700)


@dataclass
class Serving:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> str:
        """Stop the server (its whole process group); its output."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        return self.log.read_text(errors="replace")


@pytest.fixture
def serving(data_dir: Path, tmp_path: Path) -> Iterator[Serving]:
    """`forebyg serve` (gunicorn, one worker) on a demo store, under umask 022, with no
    FOREBYG_SECRET_KEY (the key is generated into the data directory)."""
    assert forebyg(data_dir, *DEMO).code == 0
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-c", CLI, "serve", "--workers", "1"],
            cwd=REPO,
            env=environment(data_dir, FOREBYG_PORT=str(port)),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            umask=PERMISSIVE,
            start_new_session=True,
        )
    server = Serving(process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if Client(port, timeout=2).get("/readyz").status == 200:
                break
        except OSError:
            time.sleep(0.1)
    else:
        pytest.fail(f"forebyg serve did not start:\n{server.stop()}")
    yield server
    server.stop()


def test_a_serving_store_keeps_its_write_ahead_log_and_every_other_file_0600(
    serving: Serving, data_dir: Path
) -> None:
    client = Client(serving.port).sign_in("koordinator", DEMO_PASSWORD)  # a session is written
    assert client.get("/api/cases").status == 200

    found = modes(data_dir)
    output = serving.stop()

    assert {"forebyg.sqlite3-wal", "forebyg.sqlite3-shm", "secret_key"} <= set(found), found
    assert found == private(set(found) - {"."}), found
    assert f"Its store: {data_dir / 'forebyg.sqlite3'}" in output


def test_the_schedulers_lock_file_is_0600(data_dir: Path) -> None:
    data_dir.mkdir(mode=0o700)
    lock = FileLeaderLock(str(data_dir / "scheduler.lock"))
    previous = os.umask(PERMISSIVE)
    try:
        assert lock.hold()
    finally:
        os.umask(previous)
        lock.release()

    assert modes(data_dir) == private({"scheduler.lock"})


def test_a_database_file_that_sqlite_creates_itself_is_the_owners_alone(tmp_path: Path) -> None:
    """Were the file gone when a connection opens (the event store's, making its tables or
    not, or the read models' own), SQLite would make it at 0644 less the umask: every
    connection is opened under umask 077."""

    def events(name: str, create_tables: str) -> Forebyg:
        path = str(tmp_path / name)
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path}
        return Forebyg(env={**env, "CREATE_TABLE": create_tables})

    previous = os.umask(PERMISSIVE)
    try:
        made = events("made.sqlite3", "y")  # the tables made as the application is built
        opened = events("opened.sqlite3", "n")  # the file made by the first connection
        reads = SQLiteStore(str(tmp_path / "reads.sqlite3"))
        try:
            with pytest.raises(StoreNotReadyError):
                opened.check_ready()
            with reads.transaction() as cursor:
                cursor.execute("CREATE TABLE t (x)")
            found = modes(tmp_path)
        finally:
            made.close()
            opened.close()
            reads.close()
    finally:
        os.umask(previous)

    assert {"made.sqlite3", "opened.sqlite3", "reads.sqlite3", "reads.sqlite3-wal"} <= set(found)
    assert found == {".": found["."], **{name: oct(0o600) for name in found if name != "."}}, found


# --- a store found open is tightened ---------------------------------------------------------


def test_a_store_left_readable_by_others_is_tightened_with_a_warning_naming_each_change(
    data_dir: Path,
) -> None:
    assert forebyg(data_dir, *DEMO).code == 0
    (data_dir / "forebyg.sqlite3-wal").touch()  # as a crashed writer may leave it
    for path in [data_dir, *data_dir.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)

    run = forebyg(data_dir, "replay", str(uuid4()))

    assert run.code == 3, run.err  # the command ran as usual: the case is not found
    found = modes(data_dir)  # (SQLite removed the empty -wal on closing)
    assert {"forebyg.sqlite3", "migrate.lock"} <= set(found)
    assert found == private(set(found) - {"."}), found
    assert f"{data_dir} was open to other users (mode 0755); changed to 0700" in run.err
    for name in ("forebyg.sqlite3", "forebyg.sqlite3-wal"):
        assert f"{data_dir / name} was open to other users (mode 0644); changed to 0600" in run.err


def test_migrate_tightens_an_existing_open_data_directory(data_dir: Path) -> None:
    data_dir.mkdir(mode=0o777)
    data_dir.chmod(0o777)

    run = forebyg(data_dir, "migrate")

    assert run.code == 0, run.err
    assert modes(data_dir)["."] == oct(0o700)
    assert f"{data_dir} was open to other users (mode 0777); changed to 0700" in run.err


# --- nothing is created before `forebyg migrate` ---------------------------------------------


@pytest.mark.parametrize(
    "command",
    [("serve",), ("scheduler", "--once"), ("projections", "--once"), ("erase", str(uuid4()))],
    ids=lambda command: command[0],
)
def test_a_command_needing_the_tables_before_migrate_refuses_and_creates_nothing(
    data_dir: Path, command: tuple[str, ...]
) -> None:
    run = forebyg(data_dir, *command)

    assert run.code == 1, run.err
    assert f"no store at {data_dir / 'forebyg.sqlite3'}; run `forebyg migrate` first" in run.err
    assert "Traceback" not in run.err
    assert not data_dir.exists()


# --- PostgreSQL: the messages name the database and schema -----------------------------------


@pytest.fixture
def schema() -> Iterator[str]:
    require_postgres()
    name = f"t_{uuid4().hex[:12]}"
    yield name
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.mark.postgres
def test_migrate_and_demo_on_postgresql_name_the_database_and_schema_not_a_sqlite_file(
    schema: str, data_dir: Path
) -> None:
    url = f"{POSTGRES_URL}?schema={schema}"
    where = Settings(database_url=url).store_name
    assert f'schema "{schema}"' in where and "@" not in where

    migrated = forebyg(data_dir, "migrate", FOREBYG_DATABASE_URL=url)
    built = forebyg(data_dir, *DEMO, FOREBYG_DATABASE_URL=url)
    refused = forebyg(data_dir, *DEMO, FOREBYG_DATABASE_URL=url)
    quiet = forebyg(data_dir, *DEMO, "--if-empty", FOREBYG_DATABASE_URL=url)

    assert (migrated.code, built.code, refused.code, quiet.code) == (0, 0, 1, 0), refused.err
    assert f"Forebyg tables are ready in {where}" in migrated.out
    assert f"Demo municipality built into {where}" in built.out
    assert f"The store ({where}) already holds data" in refused.err
    assert "?schema= in FOREBYG_DATABASE_URL" in refused.err
    assert f"The store ({where}) already holds data; serving it as it is." in quiet.out
    for run in (migrated, built, refused, quiet):
        assert "sqlite" not in (run.out + run.err).lower(), run
    assert not data_dir.exists()


@pytest.mark.postgres
def test_serve_on_a_postgresql_schema_never_migrated_refuses_without_naming_a_sqlite_file(
    schema: str, data_dir: Path
) -> None:
    url = f"{POSTGRES_URL}?schema={schema}"

    run = forebyg(data_dir, "serve", FOREBYG_DATABASE_URL=url, FOREBYG_SECRET_KEY="k" * 48)

    assert run.code == 1, run.err
    assert "run `forebyg migrate`" in run.err
    assert "sqlite" not in run.err.lower()
    assert not data_dir.exists()
