"""Erasure is on disk before it is acknowledged: a forensic look at the store's files.

The key of the subject is taken from the key store before the erasure; the erasure goes through
the real thing (the API of a running `forebyg serve` on SQLite, `forebyg erase` on PostgreSQL);
right after the answer, the store's files are copied and searched for the key's bytes — raw, in
base64 (as the key store keeps them) and in hex — and every key-shaped value found in the copy
is tried on the person's sealed fields. On SQLite the copy is the ``.sqlite3`` file alone (what a
plain ``cp`` takes) and again with its ``-wal`` and ``-shm``; the copy is also opened by Forebyg
itself, which must read the person as erased. On PostgreSQL the key table's relation file is
read from the server's data directory after a CHECKPOINT.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import psycopg
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import sql

from application.bootstrap import build_application
from application.demo import DEMO_PASSWORD, build_demo
from application.settings import Settings
from domain.values import ERASED
from tests.conftest import POSTGRES_URL, TODAY
from tests.privacy.support import DPO, PURPOSE, REPO, Server, Store, forebyg_command, server_env

REASON = "Anmodning om sletning efter databeskyttelsesforordningen art. 17"
BASE64_KEY = re.compile(rb"[A-Za-z0-9+/]{43}=|[A-Za-z0-9_-]{43}=")
HEX_KEY = re.compile(rb"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")


def key_forms(key: bytes) -> dict[str, bytes]:
    return {
        "raw": key,
        "base64": base64.b64encode(key),
        "urlsafe base64": base64.urlsafe_b64encode(key),
        "hex": key.hex().encode(),
        "HEX": key.hex().upper().encode(),
    }


def found_forms(blob: bytes, key: bytes) -> list[str]:
    return sorted(name for name, form in key_forms(key).items() if form in blob)


def candidate_keys(blob: bytes) -> set[bytes]:
    """Every value in ``blob`` that could be an AES-256 key kept as text (base64 or hex)."""
    found = set()
    for match in BASE64_KEY.findall(blob):
        try:
            found.add(base64.b64decode(match.replace(b"-", b"+").replace(b"_", b"/")))
        except binascii.Error:
            continue
    found.update(bytes.fromhex(match.decode()) for match in HEX_KEY.findall(blob))
    return {key for key in found if len(key) == 32}


def sealed_fields(state: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, blob) of every sealed value in a stored event's state."""
    for name, value in state.items():
        if isinstance(value, dict) and value.get("_type_") == "forebyg.sealed":
            yield name, value["_data_"]["b"]


def opened_with(candidates: set[bytes], case: UUID, sealed: list[tuple[str, str]]) -> list[str]:
    """The sealed fields of the case that any candidate key opens."""
    opened = []
    for field, blob in sealed:
        raw = base64.b64decode(blob)
        for key in candidates:
            try:
                AESGCM(key).decrypt(raw[:12], raw[12:], f"{case}:{field}".encode())
            except InvalidTag:
                continue
            opened.append(field)
    return opened


def person(app_settings: Settings, case: UUID) -> dict[str, Any]:
    app = build_application(app_settings, clock=lambda: TODAY)
    try:
        subject: dict[str, Any] = app.get_case(case, include_personal=True)["subject"]
        return subject
    finally:
        app.close()


# --- SQLite: a running server erases through its API ------------------------------------------


def copy_store(data_dir: Path, into: Path, *, with_wal: bool) -> Path:
    into.mkdir()
    for path in data_dir.iterdir():
        if path.name == "forebyg.sqlite3" or (with_wal and path.name.startswith("forebyg.sqlite3-")):
            shutil.copyfile(path, into / path.name)
    return into


def sqlite_sealed(db: Path, case: UUID) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT state FROM stored_events WHERE originator_id IN (?, ?)", (str(case), case.hex)
        ).fetchall()
    return [field for (state,) in rows for field in sealed_fields(json.loads(state))]


def test_right_after_an_acknowledged_erasure_no_copy_of_the_sqlite_files_holds_the_key(
    sqlite_store: Store, tmp_path: Path
) -> None:
    settings = sqlite_store.settings
    app = sqlite_store.app()
    demo = build_demo(app, today=TODAY, cases=8)
    case = demo.reopened[0]
    view = app.get_case(case, include_personal=True)
    subject, name = UUID(view["subject_id"]), view["subject"]["name"]
    key = app.keystore.key(str(subject))
    assert key is not None and len(key) == 32
    sealed = sqlite_sealed(settings.sqlite_path, case)
    assert {"subject", "concern"} <= {field for field, _ in sealed}
    assert opened_with({key}, case, sealed), "the search below could not open a sealed field"
    sqlite_store.close()
    with sqlite3.connect(settings.sqlite_path) as conn:  # the log folded into the file, as in time
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0

    server = Server(settings, tmp_path / "serve.log", workers=1, FOREBYG_DATA_DIR=str(settings.data_dir))
    try:
        login = {"username": DPO, "password": DEMO_PASSWORD}
        token = server.request("POST", "/api/tokens", data=login).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        read = server.request("GET", f"/api/cases/{case}?{urlencode({'purpose': PURPOSE})}", auth)
        assert read.status in (200, 404), read  # the server had the key in hand before
        erased = server.request("POST", f"/api/subjects/{subject}/erasure", auth, {"reason": REASON})
        assert erased.status == 200, erased
        alone = copy_store(settings.data_dir, tmp_path / "alone", with_wal=False)
        whole = copy_store(settings.data_dir, tmp_path / "whole", with_wal=True)
    finally:
        server.stop()

    for copy in (alone, whole):
        files = {path.name: path.read_bytes() for path in copy.iterdir()}
        hits = {name: found_forms(blob, key) for name, blob in files.items()}
        assert {n: h for n, h in hits.items() if h} == {}, f"the destroyed key lies in the copy {copy.name}"
        candidates = set().union(*(candidate_keys(blob) for blob in files.values()))
        opened = opened_with(candidates, case, sqlite_sealed(copy / "forebyg.sqlite3", case))
        assert opened == [], f"a key found in the copy {copy.name} opens the person's {opened}"
        read_back = person(Settings(data_dir=copy), case)
        assert read_back["name"] == ERASED != name, f"the copy {copy.name} reads the person back"


# --- PostgreSQL: `forebyg erase`, then the key table's file on the server ---------------------


def relation_file(pg: psycopg.Connection[tuple[Any, ...]], schema: str, table: str) -> bytes:
    pg.execute("CHECKPOINT")
    qualified = sql.Identifier(schema, table).as_string(pg)
    row = pg.execute("SELECT pg_read_binary_file(pg_relation_filepath(%s))", (qualified,)).fetchone()
    assert row is not None
    return bytes(row[0])


@pytest.mark.postgres
def test_right_after_forebyg_erase_the_key_tables_file_on_postgresql_holds_no_copy_of_the_key(
    postgres_store: Store,
) -> None:
    settings, schema = postgres_store.settings, postgres_store.schema
    app = postgres_store.app()
    demo = build_demo(app, today=TODAY, cases=8)
    case = demo.reopened[0]
    subject = UUID(app.get_case(case)["subject_id"])
    key = app.keystore.key(str(subject))
    assert key is not None
    with psycopg.connect(POSTGRES_URL, autocommit=True) as pg:
        before = relation_file(pg, schema, "subject_keys")
        # (a key whose base64 has no "+" or "/" is its urlsafe form too)
        assert "base64" in found_forms(before, key), "the search cannot see the key where it lies"
        states = pg.execute(
            sql.SQL("SELECT state FROM {}.forebyg_events WHERE originator_id = %s").format(
                sql.Identifier(schema)
            ),
            (case,),
        ).fetchall()
        sealed = [field for (state,) in states for field in sealed_fields(json.loads(bytes(state)))]
        assert opened_with({key}, case, sealed)

        # A long report elsewhere holds a snapshot older than the erasure (as pg_dump or an
        # evaluator's export would): the old row version must go all the same.
        report = psycopg.connect(POSTGRES_URL)
        report.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        report.execute(sql.SQL("SELECT count(*) FROM {}.forebyg_events").format(sql.Identifier(schema)))
        done = subprocess.run(
            [*forebyg_command(), "erase", str(subject), "--reason", REASON],
            cwd=REPO,
            env=server_env(settings),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        after = relation_file(pg, schema, "subject_keys")
        report.close()
    assert found_forms(after, key) == [], "the destroyed key lies in the key table's file"
    assert opened_with(candidate_keys(after), case, sealed) == []
    assert person(settings, case)["name"] == ERASED
