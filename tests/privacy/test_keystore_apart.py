"""Subject and text keys in a PostgreSQL database of their own (FOREBYG_KEYSTORE_URL): the event
store, its read models and its backups hold no key; everything that reads or destroys keys works
across the two databases."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
import pytest

from application.backup import backup
from application.bootstrap import migrate
from application.demo import build_demo
from application.errors import ConfigurationError
from application.settings import Settings
from domain.values import ERASED
from tests.conftest import POSTGRES_URL, TODAY
from tests.privacy.support import (
    COORDINATOR,
    DPO,
    PURPOSE,
    SECRET_KEY,
    Store,
    bearer,
    body,
    sign_in,
    web_client,
)

pytestmark = pytest.mark.postgres

KEYS_DATABASE = "postgres"  # another database of the same server than the tests' "test"


def keys_url(schema: str) -> str:
    return f"{POSTGRES_URL.rsplit('/', 1)[0]}/{KEYS_DATABASE}?schema={schema}"


@pytest.fixture
def apart() -> Iterator[tuple[Store, str]]:
    """A fresh event store (schema of the tests' database) whose keys are in another database."""
    events, schema = f"t_{uuid4().hex[:12]}", f"k_{uuid4().hex[:12]}"
    settings = Settings(
        database_url=f"{POSTGRES_URL}?schema={events}&pool_size=1&max_overflow=6",
        keystore_url=keys_url(schema),
        secret_key=SECRET_KEY,
    )
    migrate(settings)
    store = Store("postgres", settings)
    yield store, schema
    store.close()
    for url, name in ((POSTGRES_URL, events), (keys_url(schema).split("?")[0], schema)):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def tables(url: str, schema: str) -> set[str]:
    with psycopg.connect(url.split("?", maxsplit=1)[0], autocommit=True) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
    return {row[0] for row in rows}


def test_keys_live_only_in_their_own_database_and_every_key_operation_works(
    apart: tuple[Store, str], tmp_path: Path
) -> None:
    store, keys_schema = apart
    app = store.app()
    demo = build_demo(app, today=TODAY, cases=5)
    key_tables = {"subject_keys", "case_subjects", "text_keys", "keystore_generation"}
    assert tables(POSTGRES_URL, store.schema).isdisjoint(key_tables)
    assert tables(keys_url(keys_schema), keys_schema) >= key_tables
    with psycopg.connect(keys_url(keys_schema).split("?")[0]) as conn:
        held = conn.execute(f'SELECT COUNT(*) FROM "{keys_schema}".subject_keys').fetchone()
    assert held is not None and held[0] == len(demo.cases)

    # Sealed and opened across the two databases, over HTTP with sessions too.
    client = web_client(app, store.settings)
    coordinator = bearer(sign_in(client, COORDINATOR))
    case = demo.cases[0]
    view = body(client.get(f"/api/cases/{case}", query_string={"purpose": PURPOSE}, headers=coordinator))
    name = view["subject"]["name"]
    assert name and name != ERASED

    # Retention reads keys and the case board from two databases.
    assert isinstance(app.retention_schedule(), list)
    assert isinstance(app.text_retention_schedule(), list)

    # Erasure destroys the key in the keys' database; every process and session sees it.
    subject = UUID(app.get_case(case)["subject_id"])
    dpo = bearer(sign_in(client, DPO))
    body(client.post(f"/api/subjects/{subject}/erasure", json={"reason": "art. 17"}, headers=dpo))
    again = body(client.get(f"/api/cases/{case}", query_string={"purpose": PURPOSE}, headers=coordinator))
    assert again["subject"]["name"] == ERASED
    assert store.app().get_case(case, include_personal=True)["subject"]["name"] == ERASED

    # A backup of the event store holds no key: its manifest and copy never name the key tables.
    file = backup(store.settings, tmp_path / "events.backup")
    with tarfile.open(tmp_path / "events.backup") as tar:
        names = tar.getnames()
        copy = tar.extractfile(names[1])
        assert copy is not None
        dumped = copy.read()
    assert file.events > 0 and b"subject_keys" not in dumped and b"text_keys" not in dumped
    assert json.loads(json.dumps(file.__dict__))["store"] == "postgres"


def test_keys_apart_need_postgresql() -> None:
    with pytest.raises(ConfigurationError, match="FOREBYG_KEYSTORE_URL"):
        Settings.from_environ({"FOREBYG_KEYSTORE_URL": keys_url("k")})
    with pytest.raises(ConfigurationError, match="FOREBYG_KEYSTORE_URL"):
        Settings.from_environ({"FOREBYG_DATABASE_URL": POSTGRES_URL, "FOREBYG_KEYSTORE_URL": "sqlite:///x"})
