"""`forebyg users deactivate | reset-password | sign-out`: an operator ends an account's access
on the store the server uses (SQLite here); bad input is a clear message, a non-zero exit, and
changes nothing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from application import accounts
from application.accounts import UserAccount, user_id
from application.app import Forebyg
from application.bootstrap import build_application
from application.errors import AuthenticationError
from application.sessions import SessionExpiredError
from application.settings import Settings
from interfaces.cli import main

PASSWORD = "rigtig-hest-batteri-klips"
NEW_PASSWORD = "ny-hest-batteri-klips-2026"


@pytest.fixture(autouse=True)
def light_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def run(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(list(argv))


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Forebyg]:
    """A migrated SQLite store with one member login, and an application over it (a worker)."""
    data_dir = tmp_path / "var"
    monkeypatch.setenv("FOREBYG_DATA_DIR", str(data_dir))
    monkeypatch.delenv("FOREBYG_DATABASE_URL", raising=False)
    assert run(monkeypatch, "migrate") == 0
    assert run(monkeypatch, "orgs", "add", "politi", "--name", "Politiet", "--kind", "police") == 0
    add = ("users", "add", "mette", "--org", "politi", "--role", "member", "--password-stdin")
    assert run(monkeypatch, *add, stdin=f"{PASSWORD}\n") == 0
    app = build_application(Settings(data_dir=data_dir))
    yield app
    app.close()


def live(app: Forebyg, token: str) -> bool:
    try:
        app.caller_for_session(token)
    except SessionExpiredError:
        return False
    return True


def account(app: Forebyg) -> UserAccount:
    user = app.repository.get(user_id("mette"))
    assert isinstance(user, UserAccount)
    return user


def test_deactivate_ends_the_sessions_at_once_and_refuses_sign_in(
    store: Forebyg, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token, _, _ = store.sign_in("mette", PASSWORD, "10.0.0.1")
    assert live(store, token)
    assert run(monkeypatch, "users", "deactivate", "mette") == 0
    assert "deactivated" in capsys.readouterr().out
    assert not live(store, token)
    with pytest.raises(AuthenticationError):
        store.sign_in("mette", PASSWORD, "10.0.0.1")
    user = account(store)
    assert not user.active and user.deactivated_by and user.deactivated_by.startswith("cli:")
    assert user.deactivated_at is not None
    assert run(monkeypatch, "users", "deactivate", "mette") == 1
    assert "is deactivated" in capsys.readouterr().err


def test_reset_password_ends_the_sessions_and_only_the_new_password_signs_in(
    store: Forebyg, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, _, _ = store.sign_in("mette", PASSWORD, "10.0.0.1")
    assert run(monkeypatch, "users", "reset-password", "mette", "--password-stdin", stdin=NEW_PASSWORD) == 0
    assert not live(store, token)
    with pytest.raises(AuthenticationError):
        store.sign_in("mette", PASSWORD, "10.0.0.2")
    store.sign_in("mette", NEW_PASSWORD, "10.0.0.3")


def test_sign_out_ends_every_session_and_the_user_may_sign_in_again(
    store: Forebyg, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = [store.sign_in("mette", PASSWORD, "10.0.0.1")[0] for _ in range(2)]
    assert run(monkeypatch, "users", "sign-out", "mette") == 0
    assert [live(store, t) for t in tokens] == [False, False]
    assert live(store, store.sign_in("mette", PASSWORD, "10.0.0.1")[0])


def test_bad_input_is_a_clear_error_and_changes_nothing(
    store: Forebyg, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token, _, _ = store.sign_in("mette", PASSWORD, "10.0.0.1")
    version = account(store).version
    assert run(monkeypatch, "users", "reset-password", "mette", stdin=NEW_PASSWORD) == 2
    assert "--password-stdin" in capsys.readouterr().err
    assert run(monkeypatch, "users", "reset-password", "mette", "--password-stdin", stdin="kort") == 1
    assert "password" in capsys.readouterr().err
    for action in ("deactivate", "sign-out"):
        assert run(monkeypatch, "users", action, "nobody") == 3
        assert "'nobody' not found" in capsys.readouterr().err
    assert account(store).version == version
    assert live(store, token)
    store.sign_in("mette", PASSWORD, "10.0.0.2")


@pytest.mark.parametrize("hidden", ["\u202e", "\u200b", "\u0085", "\n"], ids=ascii)
def test_an_organisation_name_with_a_hidden_character_or_line_break_is_refused_naming_the_field(
    store: Forebyg, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], hidden: str
) -> None:
    position = store.recorder.max_notification_id()
    add = ("orgs", "add", "klub", "--name", f"Klub{hidden}Gellerup", "--kind", "civil_society")
    assert run(monkeypatch, *add) == 1
    assert "name:" in capsys.readouterr().err
    assert store.recorder.max_notification_id() == position
