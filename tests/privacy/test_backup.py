"""`forebyg backup` / `forebyg restore`, and the erasure ledger that keeps a restore from
bringing an erased person back — on the embedded SQLite store and on PostgreSQL."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import psycopg
import pytest

from application.app import Forebyg
from application.backup import MANIFEST
from application.demo import build_demo
from application.errors import StoreNotReadyError
from domain.values import ERASED
from interfaces.cli import main
from tests.conftest import POSTGRES_URL, TODAY
from tests.privacy.support import SECRET_KEY, Store, personal_values, web_client


@dataclass
class Scene:
    store: Store
    ledger: Path
    backup: Path
    case: UUID
    subject: UUID
    values: set[str]
    name: str = ""
    cpr: str = ""

    def app(self, *, ledger: bool = True) -> Forebyg:
        return self.store.app(erasure_ledger=self.ledger if ledger else None)

    def cli(self, monkeypatch: pytest.MonkeyPatch, *args: str, ledger: bool = True) -> tuple[int, str]:
        """`forebyg ARGS` against this store: exit code, and what it printed."""
        settings = self.store.settings
        with monkeypatch.context() as env:
            for name in ("FOREBYG_DATABASE_URL", "FOREBYG_DATA_DIR", "FOREBYG_ERASURE_LEDGER"):
                env.delenv(name, raising=False)
            if settings.uses_postgres:
                env.setenv("FOREBYG_DATABASE_URL", settings.database_url)
            else:
                env.setenv("FOREBYG_DATA_DIR", str(settings.data_dir))
            if ledger:
                env.setenv("FOREBYG_ERASURE_LEDGER", str(self.ledger))
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(list(args))
        return code, out.getvalue() + err.getvalue()

    def events(self) -> int:
        return int(self.app().recorder.max_notification_id())  # type: ignore[attr-defined]

    def name_read(self) -> str:
        name: str = self.app().get_case(self.case, include_personal=True)["subject"]["name"]
        return name


@pytest.fixture
def scene(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scene]:
    """A demo municipality, backed up; then one of its subjects erased."""
    ledger = tmp_path / "ledger"
    app = store.app(erasure_ledger=ledger)
    demo = build_demo(app, today=TODAY, cases=6)
    case = demo.cases[0]
    subject = UUID(app.get_case(case)["subject_id"])
    found = Scene(
        store, ledger, tmp_path / "backups" / "forebyg.backup", case, subject, personal_values(app, case)
    )
    person = app.get_case(case, include_personal=True)["subject"]
    found.name, found.cpr = person["name"], person["cpr"]
    code, said = found.cli(monkeypatch, "backup", "--out", str(found.backup))
    assert code == 0, said
    assert (found.backup.stat().st_mode & 0o777) == 0o600
    app.erase_subject(subject, reason="art. 17 request of 2026-06-30")
    assert found.name_read() == ERASED
    yield found


def manifest_of(path: Path) -> dict[str, object]:
    with tarfile.open(path) as tar:
        member = tar.next()
        assert member is not None and member.name == MANIFEST
        handle = tar.extractfile(member)
        assert handle is not None
        loaded: dict[str, object] = json.load(handle)
        return loaded


def test_a_backup_s_manifest_describes_the_copy(scene: Scene) -> None:
    manifest = manifest_of(scene.backup)
    assert manifest["format"] == "forebyg-backup" and manifest["format_version"] == 1
    assert manifest["store"] == scene.store.kind
    # the backup was taken before the erasure, which recorded one event per case of the subject
    assert manifest["last_notification_id"] == scene.events() - 1
    assert manifest["events"] == manifest["last_notification_id"]
    assert len(str(manifest["sha256"])) == 64
    ledger = [json.loads(line) for line in (scene.ledger / "erasures.jsonl").read_text().splitlines()]
    assert [(e["kind"], e["subject_id"]) for e in ledger] == [("subject", str(scene.subject))]
    assert set(ledger[0]) == {"kind", "subject_id", "at"}  # ids and an instant: no personal data


def test_restoring_a_backup_older_than_an_erasure_keeps_the_person_erased(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, said = scene.cli(monkeypatch, "restore", str(scene.backup))
    assert code == 1 and "--replace" in said, said  # the store holds events
    assert scene.name_read() == ERASED

    code, said = scene.cli(monkeypatch, "restore", str(scene.backup), "--replace")
    assert code == 0, said
    assert "re-applied 1 erasure(s)" in said, said
    app = scene.app()
    app.check_ready()
    assert scene.name_read() == ERASED
    history = app.get_case_history(scene.case, include_personal=True)
    assert history[-1]["type"] == "PersonalDataErased"
    assert web_client(app).get("/readyz").status_code == 200
    case_list = app.list_cases()
    assert [v for v in scene.values if v in json.dumps(case_list, ensure_ascii=False)] == []
    exported = scene.backup.parent / "after-restore.jsonl"
    code, said = scene.cli(monkeypatch, "export", "--out", str(exported), "--purpose", "checking a restore")
    assert code == 0, said
    text = exported.read_text(encoding="utf-8")
    person = {v for v in scene.values if v in (scene.name, scene.cpr)}
    assert len(person) == 2 and [v for v in person if v in text] == []  # exported as erased
    assert ERASED in text


def test_a_store_restored_without_the_ledger_is_not_ready_until_its_erasures_are_reapplied(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, said = scene.cli(monkeypatch, "restore", str(scene.backup), "--replace", ledger=False)
    assert code == 0, said
    assert scene.app(ledger=False).get_case(scene.case, include_personal=True)["subject"]["name"] != ERASED
    app = scene.app()
    with pytest.raises(StoreNotReadyError, match="reapply-erasures"):
        app.check_ready()
    from application.settings import Settings

    client = web_client(app, Settings(secret_key=SECRET_KEY))
    assert client.get("/readyz").status_code == 503
    code, said = scene.cli(monkeypatch, "serve")
    assert code != 0 and "reapply-erasures" in said, said  # nothing serves it as it is

    code, said = scene.cli(monkeypatch, "reapply-erasures")
    assert code == 0 and "re-applied 1 erasure(s)" in said, said
    scene.app().check_ready()
    assert client.get("/readyz").status_code == 200
    assert scene.name_read() == ERASED


def test_a_damaged_or_foreign_file_is_refused_and_changes_nothing(
    scene: Scene, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    events = scene.events()
    damaged = tmp_path / "damaged.backup"
    data = bytearray(scene.backup.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the copy, past the manifest
    damaged.write_bytes(bytes(data))
    foreign = tmp_path / "foreign.backup"
    foreign.write_bytes(b"SQLite format 3\x00" + bytes(4096))
    no_manifest = tmp_path / "no-manifest.backup"
    with tarfile.open(no_manifest, "w") as tar:
        tar.add(scene.backup, arcname="store.sqlite3")
    other_version = tmp_path / "v99.backup"
    with tarfile.open(scene.backup) as source, tarfile.open(other_version, "w") as tar:
        manifest = {**manifest_of(scene.backup), "format_version": 99}
        body = json.dumps(manifest).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
        for member in source.getmembers()[1:]:
            tar.addfile(member, source.extractfile(member))

    for path, reason in (
        (damaged, "checksum"),
        (foreign, "not a Forebyg backup"),
        (no_manifest, "not a Forebyg backup"),
        (other_version, "version 99"),
    ):
        code, said = scene.cli(monkeypatch, "restore", str(path), "--replace")
        assert code == 1 and reason in said, (path.name, said)
        assert scene.events() == events
        assert scene.name_read() == ERASED


def test_a_backup_restores_into_an_empty_store(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = scene.store.settings
    scene.store.close()
    if settings.uses_postgres:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{scene.store.schema}" CASCADE')
    else:
        shutil.rmtree(settings.data_dir)
    code, said = scene.cli(monkeypatch, "restore", str(scene.backup))
    assert code == 0, said
    assert scene.name_read() == ERASED
    assert scene.app().list_cases()
