"""`forebyg export` and `forebyg import`: a store's history moved out and in (docs/exchange.md)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from jsonschema import Draft202012Validator

from application.app import Forebyg
from application.bootstrap import build_application
from application.exchange import CASE_FACTS, FORUM_FACTS, SCHEMA_PATH, schema
from application.settings import Settings
from domain.case import PERSONAL_FIELDS as CASE_PERSONAL
from domain.forum import PERSONAL_FIELDS as FORUM_PERSONAL
from domain.values import ActionKind, ClosureReason, Decision, LegalBasis, OrgKind, TargetGroup
from interfaces.cli import main

TODAY = date(2026, 6, 30)
PURPOSE = "moving the municipality to PostgreSQL"


@dataclass(frozen=True)
class Exported:
    settings: Settings
    plain: Path  # exported without a purpose
    personal: Path  # exported with PURPOSE

    def lines(self, which: Path) -> list[dict[str, Any]]:
        return [json.loads(line) for line in which.read_text(encoding="utf-8").splitlines()]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    """The demo municipality on SQLite, exported once without and once with a purpose."""
    root = tmp_path_factory.mktemp("exchange")
    settings = Settings(data_dir=root / "var")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("FOREBYG_DATA_DIR", str(settings.data_dir))
        env.delenv("FOREBYG_DATABASE_URL", raising=False)
        assert main(["demo", "--today", TODAY.isoformat(), "--show", "0"]) == 0
        assert main(["export", "--out", str(root / "plain.jsonl")]) == 0
        assert main(["export", "--out", str(root / "personal.jsonl"), "--purpose", PURPOSE]) == 0
    yield Exported(settings, root / "plain.jsonl", root / "personal.jsonl")


@pytest.fixture
def empty_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """An empty migrated SQLite store that the CLI runs against."""
    settings = Settings(data_dir=tmp_path / "target")
    monkeypatch.setenv("FOREBYG_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("FOREBYG_DATABASE_URL", raising=False)
    assert main(["migrate"]) == 0
    return settings


def events_in(settings: Settings) -> int:
    app = build_application(settings)
    try:
        return app.recorder.max_notification_id() or 0
    finally:
        app.close()


# --- the file -----------------------------------------------------------------------------


def test_every_exported_line_validates_against_the_json_schema(exported: Exported) -> None:
    validator = Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    for which in (exported.plain, exported.personal):
        lines = exported.lines(which)
        assert lines[0]["format"] == "forebyg-exchange" and lines[0]["version"] == 1
        assert lines[-1] == {"fact": "end", "facts": len(lines) - 2}
        for number, line in enumerate(lines, start=1):
            errors = list(validator.iter_errors(line))
            assert not errors, f"line {number}: {errors[0].message}"
        facts = {line.get("fact") for line in lines[1:]}
        assert {
            "forum_established",
            "case_referred",
            "case_closed",
            "case_reopened",
            "meeting_held",
            "meeting_cancelled",
        } <= facts


def test_the_schema_s_vocabularies_are_the_model_s() -> None:
    defs = schema()["$defs"]
    assert defs["case_referred"]["properties"]["target_group"]["enum"] == TargetGroup.words()
    assert defs["case_referred"]["properties"]["legal_basis"]["enum"] == LegalBasis.words()
    assert defs["case_assessed"]["properties"]["decision"]["enum"] == Decision.words()
    assert defs["action_agreed"]["properties"]["kind"]["enum"] == ActionKind.words()
    assert defs["case_closed"]["properties"]["reason"]["enum"] == ClosureReason.words()
    assert defs["organisation_registered"]["properties"]["kind"]["enum"] == OrgKind.words()


def personal_values(lines: list[dict[str, Any]]) -> set[str]:
    """Every personal value a file with personal data holds (texts of four characters or more)."""
    found: set[str] = set()
    case_events = {word: name for name, word in CASE_FACTS.items()}
    forum_events = {word: name for name, word in FORUM_FACTS.items()}
    for line in lines[1:-1]:
        if "case_id" in line:
            fields = CASE_PERSONAL.get(case_events[line["fact"]], frozenset())
        elif "forum_id" in line:
            fields = FORUM_PERSONAL.get(forum_events[line["fact"]], frozenset())
        else:
            continue
        for key in fields:
            value = line.get(key)
            if isinstance(value, dict):
                found.update(str(v) for v in value.values() if v is not None)
            elif isinstance(value, str):
                found.add(value)
    return {value for value in found if len(value) >= 4}


def test_an_export_without_a_purpose_holds_no_personal_value(exported: Exported) -> None:
    values = personal_values(exported.lines(exported.personal))
    assert len(values) > 40  # names, CPR numbers, birth years, concerns, assessments, outcomes ...
    lines = exported.lines(exported.plain)
    assert lines[0]["personal"] is False
    in_plain: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif value is not None:
            in_plain.add(str(value))

    walk(lines)
    text = exported.plain.read_text(encoding="utf-8")
    assert sorted(values & in_plain) == []
    assert [v for v in values if len(v) > 12 and v in text] == []  # nor inside another value


def test_an_export_with_a_purpose_is_in_the_access_log(exported: Exported) -> None:
    app = build_application(exported.settings, clock=lambda: TODAY)
    try:
        case_id = UUID(
            next(line for line in exported.lines(exported.personal) if "case_id" in line)["case_id"]
        )
        entries = app.get_access_log(case_id)
        exports = [e for e in entries if e["kind"] == "export"]
        assert exports and exports[0]["purpose"] == PURPOSE
        plain_exports = sum(1 for e in entries if e["kind"] == "export")
        assert plain_exports == 1  # the export without a purpose read nothing personal
    finally:
        app.close()


# --- import -------------------------------------------------------------------------------


def test_a_second_import_of_the_same_file_records_nothing(
    exported: Exported, empty_sqlite: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "import", str(exported.personal))
    assert code == 0, err
    first = events_in(empty_sqlite)
    assert f"{first} events recorded" in out and "2 forums, 40 cases" in out
    code, out, err = run(capsys, "import", str(exported.personal))
    assert code == 0, err
    assert "0 events recorded" in out
    assert events_in(empty_sqlite) == first


def test_a_dry_run_records_nothing(
    exported: Exported, empty_sqlite: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "import", str(exported.personal), "--dry-run")
    assert code == 0, err
    assert "nothing was recorded" in out
    assert events_in(empty_sqlite) == 0


def test_a_file_exported_without_personal_data_is_refused(
    exported: Exported, empty_sqlite: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "import", str(exported.plain))
    assert code == 1
    assert "line 1, personal:" in err
    assert events_in(empty_sqlite) == 0


def _edited(exported: Exported, tmp_path: Path, edit: Any) -> tuple[Path, int]:
    """The personal file with one line changed (or added) by ``edit``: the file and that line's number."""
    lines = exported.personal.read_text(encoding="utf-8").splitlines()
    number = edit(lines)
    path = tmp_path / "edited.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, number


def _malformed(lines: list[str]) -> int:
    lines[30] = lines[30][:-5]
    return 31


def _unknown_word(lines: list[str]) -> int:
    n = next(i for i, line in enumerate(lines) if '"fact":"case_assessed"' in line)
    line = json.loads(lines[n])
    line["decision"] = "maybe_later"
    lines[n] = json.dumps(line)
    return n + 1


def _action_on_a_closed_case(lines: list[str]) -> int:
    facts = [json.loads(line) for line in lines]
    last: dict[str, dict[str, Any]] = {}
    for fact in facts[1:-1]:
        if "case_id" in fact:
            last[fact["case_id"]] = fact
    closed = next(f for f in last.values() if f["fact"] == "case_closed")  # and never reopened
    later = [closed]
    agreed = {
        "fact": "action_agreed",
        "case_id": closed["case_id"],
        "version": later[-1]["version"] + 1,
        "recorded_at": "2026-06-30T10:00:00+00:00",
        "action_id": str(uuid4()),
        "kind": "mentor",
        "description": "Mentor after closure",
        "responsible_org": "aarhus-kommune",
        "due_on": "2026-07-30",
        "agreed_on": "2026-06-30",
        "meeting_id": None,
    }
    lines.insert(len(lines) - 1, json.dumps(agreed))
    lines[-1] = json.dumps({"fact": "end", "facts": len(lines) - 2})
    return len(lines) - 1


def _unknown_case(lines: list[str]) -> int:
    n = next(i for i, line in enumerate(lines) if '"fact":"case_assessed"' in line)
    line = json.loads(lines[n])
    line["case_id"] = str(uuid4())
    lines[n] = json.dumps(line)
    return n + 1


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (_malformed, "-", "not a JSON object"),
        (_unknown_word, "decision", "maybe_later"),
        (_action_on_a_closed_case, "case_id", "was closed"),
        (_unknown_case, "case_id", "has not been referred"),
    ],
    ids=["malformed line", "unknown vocabulary word", "action on a closed case", "unknown case"],
)
def test_a_file_with_a_problem_is_refused_by_line_and_field_and_records_nothing(
    exported: Exported,
    empty_sqlite: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: Any,
    field: str,
    words: str,
) -> None:
    path, number = _edited(exported, tmp_path, edit)
    code, out, err = run(capsys, "import", str(path))
    assert code == 1, out
    assert f"line {number}, {field}: " in err
    assert words in err.split(f"line {number}, {field}: ")[1].splitlines()[0]
    assert "nothing was recorded" in err
    assert events_in(empty_sqlite) == 0


# --- the round trip -----------------------------------------------------------------------


def reads(app: Forebyg) -> dict[str, Any]:
    """Every read a user makes of the store, as of TODAY (recording instants included)."""
    cases = app.list_cases(limit=10_000)
    forums = app.list_forums()
    found: dict[str, Any] = {"cases": cases, "forums": forums, "reminders": app.list_reminders(on=TODAY)}
    for forum in forums:
        forum_id = UUID(forum["id"])
        found[f"forum {forum_id}"] = app.get_forum(forum_id, include_personal=True)
        found[f"agenda {forum_id}"] = app.get_agenda(forum_id, on=TODAY)
    for case in cases:
        case_id = UUID(case["id"])
        found[f"case {case_id}"] = app.get_case(case_id, include_personal=True)
        found[f"history {case_id}"] = app.get_case_history(case_id, include_personal=True)
    return found


@pytest.mark.postgres
@pytest.mark.slow
def test_the_round_trip_from_sqlite_to_postgresql_reads_the_same(
    exported: Exported,
    postgres_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FOREBYG_DATABASE_URL", postgres_settings.database_url)
    code, _, err = run(capsys, "import", str(exported.personal))
    assert code == 0, err
    source = build_application(exported.settings, clock=lambda: TODAY)
    target = build_application(postgres_settings, clock=lambda: TODAY)
    try:
        before, after = reads(source), reads(target)
        assert len(before["cases"]) == 40
        assert before.keys() == after.keys()
        for key in before:
            assert after[key] == before[key], key
    finally:
        source.close()
        target.close()


def test_one_forum_is_exported_with_its_own_cases_and_organisations_only(
    exported: Exported, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = exported.lines(exported.personal)
    forum_id = next(line["forum_id"] for line in whole if line.get("fact") == "forum_established")
    own_cases = {
        line["case_id"]
        for line in whole
        if line.get("fact") == "case_referred" and line["forum_id"] == forum_id
    }
    monkeypatch.setenv("FOREBYG_DATA_DIR", str(exported.settings.data_dir))
    out = tmp_path / "one.jsonl"
    code, _, err = run(capsys, "export", "--forum", forum_id, "--out", str(out), "--purpose", PURPOSE)
    assert code == 0, err
    lines = exported.lines(out)
    assert lines[0]["forum_id"] == forum_id
    facts = lines[1:-1]
    assert {f["forum_id"] for f in facts if "forum_id" in f and "case_id" not in f} == {forum_id}
    assert {f["case_id"] for f in facts if "case_id" in f} == own_cases
    members = {f["org"] for f in facts if f["fact"] == "member_joined"} | {
        f["chair_org"] for f in facts if f["fact"] == "forum_established"
    }
    assert {f["slug"] for f in facts if f["fact"] == "organisation_registered"} == members
    assert "bispehaven-boligsocial" not in members  # a member of the other forum only

    code, _, err = run(capsys, "export", "--forum", str(uuid4()), "--out", str(tmp_path / "none.jsonl"))
    assert code == 3 and "not found" in err
    assert not (tmp_path / "none.jsonl").exists()


class Terminal(io.StringIO):
    """Standard error as a terminal shows it."""

    def isatty(self) -> bool:
        return True


def test_a_progress_bar_is_drawn_on_a_terminal_only(
    exported: Exported,
    empty_sqlite: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "import", str(exported.personal), "--dry-run")
    assert code == 0 and "[#" not in err  # not a terminal: no bar
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["import", str(exported.personal), "--dry-run"]) == 0
    lines = len(exported.personal.read_text(encoding="utf-8").splitlines())
    drawn = terminal.getvalue()
    assert f"checking  [{'#' * 30}] {lines}/{lines} lines" in drawn


def test_an_erased_subject_is_exported_as_erased_and_stays_erased_after_import(tmp_path: Path) -> None:
    from application.demo import build_demo
    from application.exchange import export_lines, run_import

    source = Forebyg(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: TODAY)
    summary = build_demo(source, today=TODAY, cases=12)
    case_id = summary.cases[3]
    subject_id = UUID(source.get_case(case_id)["subject_id"])
    name = source.get_case(case_id, include_personal=True)["subject"]["name"]
    source.erase_subject(subject_id, reason="the subject asked (art. 17)")
    path = tmp_path / "erased.jsonl"
    path.write_text("".join(export_lines(source, purpose=PURPOSE)), encoding="utf-8")
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    own = [line for line in lines if line.get("case_id") == str(case_id)]
    assert own[0]["subject"] == {"name": "[erased]", "cpr": None, "birth_year": None}
    assert own[0]["concern"] == "[erased]" and own[-1]["fact"] == "personal_data_erased"
    assert name not in path.read_text(encoding="utf-8")

    target = Forebyg(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: TODAY)
    result = run_import(target, lambda: path.open("rb"))
    assert result.problems == []
    case = target.get_case(case_id, include_personal=True)
    assert case["subject"]["name"] == "[erased]"
    assert target.keystore.key(str(subject_id)) is None  # its key is destroyed in the new store too
    assert [e["version"] for e in target.get_case_history(case_id)] == [line["version"] for line in own]


def _rescheduled_many_times(tmp_path: Path, times: int) -> Path:
    """A file whose facts are mostly one action rescheduled ``times`` times, each with a
    reason of its own (kept by the fact, not by the case's state)."""
    import secrets
    from datetime import timedelta

    from application.demo import build_demo
    from application.exchange import export_lines
    from domain.values import Subject

    source = Forebyg(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: TODAY)
    summary = build_demo(source, today=TODAY, cases=2)
    forum = source.get_forum(summary.forums[0])
    member = forum["members"][0]
    case_id = source.refer_case(
        forum_id=summary.forums[0],
        target_group="cross_over",
        referred_by=member,
        received_on=TODAY,
        legal_basis="consent",
        concern="a concern",
        subject=Subject.parse("Ada Testesen"),
    ).id
    source.assess_case(
        case_id,
        assessed_on=TODAY,
        decision="accept",
        risk_and_threat="some",
        wellbeing_and_resilience="some",
        judgement="accept",
    )
    action_id = source.agree_action(
        case_id, kind="mentor", description="a mentor", responsible_org=member, due_on=TODAY
    ).action_id
    assert action_id is not None
    for n in range(times):
        reason = secrets.token_hex(900)  # 1,800 characters that no two facts share
        source.reschedule_action(case_id, action_id, due_on=TODAY + timedelta(days=n + 1), reason=reason)
    path = tmp_path / f"rescheduled-{times}.jsonl"
    path.write_text("".join(export_lines(source, purpose=PURPOSE)), encoding="utf-8")
    return path


def test_the_check_pass_keeps_the_aggregates_state_not_the_file_s_facts(tmp_path: Path) -> None:
    """The check pass's memory grows with the aggregates' state, not with the facts: a
    reason that only a fact holds is not kept once the fact is checked (a million-fact file
    is checked in bounded memory)."""
    import tracemalloc

    from application.exchange import run_import

    peaks = {}
    for times in (50, 250):
        path = _rescheduled_many_times(tmp_path, times)
        target = Forebyg(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: TODAY)
        tracemalloc.start()
        try:
            result = run_import(target, lambda path=path: path.open("rb"), dry_run=True)
            peaks[times] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            target.close()
        assert result.problems == [] and result.facts > times
    per_fact = (peaks[250] - peaks[50]) / 200
    assert per_fact < 450, f"the check pass kept {per_fact:.0f} bytes a fact (each reason: 1,800)"


@pytest.mark.parametrize("edit", [None, _unknown_word, _action_on_a_closed_case, _unknown_case])
def test_the_check_pass_finds_the_same_with_every_aggregate_pickled_and_read_back(
    exported: Exported, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: Any
) -> None:
    """The check pass keeps few aggregates as objects and pickles the others (each with the
    events since): with room for two only, and a pickle every three events, each aggregate is
    read back from its pickle again and again, and the verdict on a file is the same."""
    from application import exchange

    path = exported.personal if edit is None else _edited(exported, tmp_path, edit)[0]

    def checked() -> tuple[int, int, int, list[str]]:
        target = Forebyg(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: TODAY)
        try:
            result = exchange.run_import(target, lambda: path.open("rb"), dry_run=True)
        finally:
            target.close()
        return result.facts, result.forums, result.cases, [str(p) for p in result.problems]

    roomy = checked()
    monkeypatch.setattr(exchange, "CHECKED_AGGREGATES", 2)
    monkeypatch.setattr(exchange, "REPICKLED", 3)
    assert checked() == roomy
    assert (roomy[3] == []) is (edit is None)
