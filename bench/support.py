"""What the benchmarks share: a fresh PostgreSQL schema of their own, dropped at the end, and
the revision of the product code they measured."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"


def with_schema(base_url: str, schema: str, pool_size: int = 5) -> str:
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}schema={schema}&pool_size={pool_size}"


def drop_schema(base_url: str, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(base_url.split("?", maxsplit=1)[0], autocommit=True, connect_timeout=5) as conn:
        conn.execute("SET lock_timeout = '30s'")
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def drop_schema_and_report(base_url: str, schema: str) -> None:
    """Drop the benchmark's schema, saying so (or why not): for a benchmark's ``finally``."""
    try:
        drop_schema(base_url, schema)
        print(f"(schema {schema} dropped)", flush=True)
    except Exception as error:
        print(f"could not drop schema {schema}: {error}", file=sys.stderr)


def revision(repo: Path, paths: Sequence[str] = ()) -> str:
    """The commit at ``repo`` (and whether the tracked files, or those under ``paths``, differ
    from it); without git, a ``REVISION`` file's first 12 characters."""
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no", "--", *paths],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        marker = repo / "REVISION"
        return marker.read_text().strip()[:12] if marker.exists() else "unknown revision"
    return f"{head}{' + uncommitted changes' if dirty else ''}"
