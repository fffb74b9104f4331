"""The `forebyg` command line, as an operator or evaluator uses it (DESIGN §5)."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import pytest

from application.settings import Settings
from interfaces.cli import main

TODAY = "2026-06-30"
UUID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@dataclass(frozen=True)
class DemoStore:
    data_dir: Path
    output: str

    @property
    def replay_hint(self) -> str:
        """The case id of the demo's `Try: forebyg replay <id>` line (a reopened case)."""
        found = re.search(rf"Try: forebyg replay ({UUID_PATTERN})", self.output)
        assert found, self.output
        return found.group(1)

    @property
    def forum_id(self) -> str:
        found = re.search(rf"^Forum .* ({UUID_PATTERN})$", self.output, re.MULTILINE)
        assert found, self.output
        return found.group(1)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStore]:
    """One demo municipality on SQLite, built once by `forebyg demo` and only read by the tests."""
    data_dir = tmp_path_factory.mktemp("demo") / "var"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FOREBYG_DATA_DIR", str(data_dir))
        env.delenv("FOREBYG_DATABASE_URL", raising=False)
        capture = Capture()
        with capture:
            code = main(["demo", "--today", TODAY])
        assert code == 0, capture.err
    yield DemoStore(data_dir=data_dir, output=capture.out)


class Capture:
    """stdout/stderr of a `main()` run outside a test function (capsys is function-scoped)."""

    def __enter__(self) -> Capture:
        self._out, self._err = io.StringIO(), io.StringIO()
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(contextlib.redirect_stdout(self._out))
        self._stack.enter_context(contextlib.redirect_stderr(self._err))
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        self.out, self.err = self._out.getvalue(), self._err.getvalue()


@pytest.fixture
def use_demo(demo_store: DemoStore, monkeypatch: pytest.MonkeyPatch) -> DemoStore:
    monkeypatch.setenv("FOREBYG_DATA_DIR", str(demo_store.data_dir))
    monkeypatch.delenv("FOREBYG_DATABASE_URL", raising=False)
    return demo_store


@pytest.fixture
def empty_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path / "var"
    monkeypatch.setenv("FOREBYG_DATA_DIR", str(data_dir))
    monkeypatch.delenv("FOREBYG_DATABASE_URL", raising=False)
    return data_dir


# --- demo ------------------------------------------------------------------------------


def test_demo_builds_forty_cases_on_sqlite_and_suggests_a_replay(demo_store: DemoStore) -> None:
    assert "40 cases" in demo_store.output
    assert (demo_store.data_dir / "forebyg.sqlite3").is_file()
    assert demo_store.replay_hint


def test_demo_lists_the_cases_it_built(demo_store: DemoStore) -> None:
    listed = re.findall(rf"^({UUID_PATTERN})  ", demo_store.output, re.MULTILINE)

    assert len(listed) == 40
    assert len(set(listed)) == 40


def test_demo_refuses_a_store_that_already_holds_data(
    use_demo: DemoStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", "--today", TODAY])

    captured = capsys.readouterr()
    assert code != 0
    assert "already holds data" in captured.err
    assert "Demo municipality built" not in captured.out


def test_demo_if_empty_succeeds_quietly_on_a_store_with_data(
    use_demo: DemoStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", "--today", TODAY, "--if-empty"])

    assert code == 0
    assert "Demo municipality built" not in capsys.readouterr().out


def test_demo_refuses_a_today_that_is_not_a_date(
    empty_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", "--today", "30-06-2026"])

    assert code == 2
    assert "--today" in capsys.readouterr().err


@pytest.mark.parametrize("written", ["20260630", "2026-W27-2", "2026-181"])
def test_demo_takes_a_today_only_as_yyyy_mm_dd(
    empty_data_dir: Path, capsys: pytest.CaptureFixture[str], written: str
) -> None:
    assert main(["demo", "--today", written]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


# --- replay ----------------------------------------------------------------------------


def test_replay_prints_the_timeline_of_a_reopened_case(
    use_demo: DemoStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["replay", use_demo.replay_hint])

    out = capsys.readouterr().out
    assert code == 0
    assert f"Case {use_demo.replay_hint}" in out
    assert "Concern received" in out
    assert "Closed:" in out
    assert "Reopened" in out
    assert out.index("Concern received") < out.index("Closed:") < out.index("Reopened")


def test_replay_leaves_out_personal_data_without_a_purpose(
    use_demo: DemoStore, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["replay", use_demo.replay_hint])

    out = capsys.readouterr().out
    assert "subject:" not in out
    assert "Personal data is not shown" in out


@pytest.mark.parametrize("hidden", ["\u202e", "\u200b", "\t"], ids=ascii)
def test_replay_refuses_a_purpose_with_a_hidden_character_naming_it(
    use_demo: DemoStore, capsys: pytest.CaptureFixture[str], hidden: str
) -> None:
    code = main(["replay", use_demo.replay_hint, "--purpose", f"opfølgning{hidden}på sag"])

    captured = capsys.readouterr()
    assert code == 1
    assert "purpose:" in captured.err
    assert "subject:" not in captured.out


def test_replay_as_of_an_instant_before_everything_shows_the_case_not_yet_referred(
    use_demo: DemoStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["replay", use_demo.replay_hint, "--as-of", "2000-01-01T00:00:00+00:00"])

    out = capsys.readouterr().out
    assert code == 0
    assert "had not been referred" in out
    assert "Concern received" not in out


def test_replay_as_of_a_bare_date_is_read_as_the_end_of_that_day(
    use_demo: DemoStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["replay", use_demo.replay_hint, "--as-of", "2000-01-01"])

    assert code == 0
    assert "had not been referred by 2000-01-01T23:59:59" in capsys.readouterr().out


def test_replay_refuses_a_case_id_that_is_not_a_uuid(
    use_demo: DemoStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["replay", "not-a-uuid"])

    captured = capsys.readouterr()
    assert code == 2
    assert "CASE_ID" in captured.err
    assert "not-a-uuid" in captured.err
    assert captured.out == ""


def test_replay_of_an_unknown_case_says_not_found(
    use_demo: DemoStore, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = uuid4()

    code = main(["replay", str(unknown)])

    err = capsys.readouterr().err
    assert code == 3
    assert "not found" in err
    assert str(unknown) in err


def test_replay_of_a_forum_id_says_no_such_case(
    use_demo: DemoStore, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["replay", use_demo.forum_id])

    assert code == 3
    assert "not found" in capsys.readouterr().err


@pytest.mark.parametrize("as_of", ["yesterday", "2026-13-01", "30/06/2026"])
def test_replay_refuses_an_as_of_that_is_not_an_iso_instant(
    use_demo: DemoStore, capsys: pytest.CaptureFixture[str], as_of: str
) -> None:
    code = main(["replay", use_demo.replay_hint, "--as-of", as_of])

    captured = capsys.readouterr()
    assert code == 2
    assert "--as-of" in captured.err
    assert captured.out == ""


def test_replay_before_migrate_tells_the_operator_to_migrate(
    empty_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["replay", str(uuid4())])

    err = capsys.readouterr().err
    assert code != 0
    assert "forebyg migrate" in err


def test_a_command_without_its_arguments_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["replay"])

    assert exited.value.code == 2
    assert "CASE_ID" in capsys.readouterr().err


# --- configuration and migrate -------------------------------------------------------------


def test_a_database_url_that_is_not_postgresql_is_refused_clearly(
    empty_data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FOREBYG_DATABASE_URL", "mysql://x")

    code = main(["migrate"])

    err = capsys.readouterr().err
    assert code != 0
    assert "FOREBYG_DATABASE_URL" in err
    assert "postgresql://" in err
    assert not empty_data_dir.exists()


@pytest.mark.parametrize("value", ["0", "ten", "-5"])
def test_serve_refuses_a_request_timeout_that_is_not_a_positive_number_of_seconds(
    value: str, empty_data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FOREBYG_REQUEST_TIMEOUT_SECONDS", value)

    code = main(["serve"])

    err = capsys.readouterr().err
    assert code != 0
    assert f"FOREBYG_REQUEST_TIMEOUT_SECONDS: {value!r} is not a positive whole number" in err
    assert not empty_data_dir.exists()


def test_migrate_creates_the_store_and_running_it_twice_is_harmless(
    empty_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0

    out = capsys.readouterr().out
    assert out.count("Forebyg tables are ready") == 2
    assert (empty_data_dir / "forebyg.sqlite3").is_file()


def test_a_migrated_store_is_empty_and_takes_the_demo(
    empty_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["migrate"])
    main(["migrate"])

    code = main(["demo", "--today", TODAY, "--cases", "4", "--show", "0"])

    assert code == 0
    assert "4 cases" in capsys.readouterr().out


def test_replay_on_a_migrated_empty_store_says_not_found(
    empty_data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["migrate"])

    code = main(["replay", str(uuid4())])

    assert code == 3
    assert "not found" in capsys.readouterr().err


# --- PostgreSQL ----------------------------------------------------------------------------


@pytest.mark.postgres
def test_demo_builds_and_replays_on_postgresql(
    postgres_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FOREBYG_DATABASE_URL", postgres_settings.database_url)
    monkeypatch.setenv("FOREBYG_DATA_DIR", str(tmp_path / "unused"))

    code = main(["demo", "--today", TODAY])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "40 cases" in out
    assert not (tmp_path / "unused" / "forebyg.sqlite3").exists()
    hint = DemoStore(data_dir=tmp_path, output=out).replay_hint

    assert main(["replay", hint]) == 0
    timeline = capsys.readouterr().out
    assert "Concern received" in timeline
    assert "Reopened" in timeline

    assert main(["demo", "--today", TODAY]) != 0
    assert "already holds data" in capsys.readouterr().err
