"""What the benchmarks share: a fresh PostgreSQL schema of their own, dropped at the end."""

from __future__ import annotations

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
