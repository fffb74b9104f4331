"""The embedded store's files are the operating-system account's alone: the data directory is
0700 and every file in it 0600 (the SQLite database with its ``-wal``, ``-shm`` and
``-journal``, the lock files, the generated secret key). The database holds the events and the
per-subject keys, unwrapped unless ``FOREBYG_STORE_KEY`` is set: a file readable by another
account on the host would let it read every case.

Every file Forebyg makes in the data directory is made here, whatever the process's umask; one
found more open than that (an older version's, or a restored copy's) is tightened, with a
warning that says what was changed.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from application.errors import ConfigurationError, StoreNotReadyError

log = logging.getLogger("forebyg")

DIR_MODE = 0o700
FILE_MODE = 0o600
OTHERS = 0o077  # the group's and everyone else's bits
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")  # SQLite's files beside the database
# The other files Forebyg keeps beside the database (bootstrap, scheduler, web).
MIGRATE_LOCK = "migrate.lock"
SCHEDULER_LOCK = "scheduler.lock"
SECRET_KEY = "secret_key"

_FLAGS = {
    "r": os.O_RDONLY,
    "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
    "x": os.O_WRONLY | os.O_CREAT | os.O_EXCL,
}
_umask_lock = threading.RLock()


def private_dir(path: Path) -> Path:
    """The directory ``path``, made 0700 if missing (its missing parents as the umask says), or
    tightened to the owner alone if found open to others."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, os.stat(path).st_mode, lambda mode: os.chmod(path, mode))
    return path


def open_private(path: Path, mode: str = "a") -> IO[Any]:
    """Open a file of the data directory: ``"a"`` (appending, created 0600 if missing), ``"x"``
    (created 0600, FileExistsError if it exists) or ``"r"``; a ``"b"`` suffix for bytes.
    Found open to others, it is tightened first."""
    fd = os.open(path, _FLAGS[mode.replace("b", "")] | os.O_CLOEXEC, FILE_MODE)
    try:
        _tighten(path, os.fstat(fd).st_mode, lambda new: os.fchmod(fd, new))
        return os.fdopen(fd, mode)
    except BaseException:
        os.close(fd)
        raise


def private_sqlite_store(path: Path, *, create: bool) -> None:
    """Ready the SQLite database file ``path`` before SQLite opens it: in a private directory,
    0600, and so are its ``-wal``, ``-shm`` and ``-journal`` (SQLite creates those with the
    database file's mode) and the lock files and secret key beside it. ``create``: made empty
    if missing (SQLite takes an empty file as a new database); otherwise a missing store is
    refused, and nothing is created."""
    if not create and not path.is_file():
        raise StoreNotReadyError(f"no store at {path}; run `forebyg migrate` first")
    private_dir(path.parent)
    open_private(path, "ab").close()
    others = (MIGRATE_LOCK, SCHEDULER_LOCK, SECRET_KEY)
    for name in (*(path.name + suffix for suffix in SQLITE_COMPANIONS), *others):
        beside = path.with_name(name)
        if beside.is_file():
            open_private(beside, "rb").close()


@contextmanager
def private_umask() -> Iterator[None]:
    """Files created in the block (by SQLite, which makes its database file at 0644 less the
    umask) are the owner's alone: the process's umask is 077 meanwhile. The umask belongs to
    the whole process: a lock keeps concurrent blocks from restoring one another's."""
    with _umask_lock:
        previous = os.umask(OTHERS)
        try:
            yield
        finally:
            os.umask(previous)


def _tighten(path: Path, st_mode: int, chmod: Any) -> None:
    mode = stat.S_IMODE(st_mode)
    if not mode & OTHERS:
        return
    tightened = mode & ~OTHERS
    try:
        chmod(tightened)
    except OSError as error:
        raise ConfigurationError(
            f"{path} is open to other users (mode {mode:04o}) and could not be made private: {error}"
        ) from error
    log.warning(
        "%s was open to other users (mode %04o); changed to %04o (the owner's alone)",
        path,
        mode,
        tightened,
    )
