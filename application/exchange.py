"""Moving a store's history out and in: the exchange file (docs/exchange.md).

One JSON object a line: a header, one line per fact in the order the facts were recorded, and
an end line counting them. Every line is checked against ``exchange.schema.json`` when written
and when read. Export streams the notification log page by page; import records every fact
through the application's own commands, so every rule of the model applies, and is checked in
full (through the same commands, into an in-memory application) before anything is recorded.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any, ClassVar
from uuid import UUID

import jsonschema_rs
import orjson
from eventsourcing.application import AggregateNotFoundError, ProcessingEvent, Repository
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import IntegrityError, Notification, Recording, StoredEvent
from eventsourcing.popo import POPOProcessRecorder
from eventsourcing.utils import get_topic
from jsonschema import Draft202012Validator

from application.accounts import Organisation
from application.app import Forebyg
from application.errors import ApplicationError, CaseNotFoundError, ForumNotFoundError
from application.presenters import ENVELOPE, plain
from application.privacy.accesslog import AccessLog
from application.privacy.sealing import Sealed
from application.transcodings import KnownUUID
from domain.case import PERSONAL_FIELDS as CASE_PERSONAL_FIELDS
from domain.case import Case
from domain.errors import DomainError, InvalidValueError
from domain.forum import PERSONAL_FIELDS as FORUM_PERSONAL_FIELDS
from domain.forum import Forum
from domain.values import Subject

FORMAT = "forebyg-exchange"
VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("exchange.schema.json")
PAGE = 2000  # notifications read at a time: export holds no more than one page

# The public word of each fact, by the aggregate and the event that records it.
CASE_FACTS = {
    "Referred": "case_referred",
    "Assessed": "case_assessed",
    "Discussed": "case_discussed",
    "ActionAgreed": "action_agreed",
    "ActionRescheduled": "action_rescheduled",
    "ActionCompleted": "action_completed",
    "ActionCancelled": "action_cancelled",
    "ReviewScheduled": "review_scheduled",
    "Reviewed": "review_held",
    "Closed": "case_closed",
    "Reopened": "case_reopened",
    "ReminderSent": "case_reminder_sent",
    "PersonalDataErased": "personal_data_erased",
}
FORUM_FACTS = {
    "Established": "forum_established",
    "MemberJoined": "member_joined",
    "MemberLeft": "member_left",
    "MeetingScheduled": "meeting_scheduled",
    "MeetingHeld": "meeting_held",
    "MeetingCancelled": "meeting_cancelled",
    "AreaMappingRecorded": "area_mapped",
    "Dissolved": "forum_dissolved",
    "ReminderSent": "forum_reminder_sent",
}
ORGANISATION_FACT = "organisation_registered"
CASE_TOPIC_PREFIX = get_topic(Case) + "."
FORUM_TOPIC_PREFIX = get_topic(Forum) + "."
ORGANISATION_TOPIC = get_topic(Organisation.Registered)  # type: ignore[attr-defined]
TOPICS = (
    [ORGANISATION_TOPIC]
    + [FORUM_TOPIC_PREFIX + name for name in FORUM_FACTS]
    + [CASE_TOPIC_PREFIX + name for name in CASE_FACTS]
)


# --- the schema ----------------------------------------------------------------------------


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def _inlined(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with every ``$ref`` to a definition replaced by the definition itself
    (a reference costs a lookup on every line validated)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inlined(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inlined(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inlined(value, defs) for value in node]
    return node


@cache
def _validators() -> dict[str, Draft202012Validator]:
    """One validator per line kind: its definition in the schema, references inlined."""
    defs = schema()["$defs"]
    return {
        name: Draft202012Validator(
            _inlined(definition, defs), format_checker=Draft202012Validator.FORMAT_CHECKER
        )
        for name, definition in defs.items()
    }


@cache
def _fast_validators() -> dict[str, Any]:
    """The same validators compiled by jsonschema-rs: about a hundred times faster, so every
    line of a long file is checked; the ``jsonschema`` ones name the fields of a line that fails."""
    defs = schema()["$defs"]
    return {
        name: jsonschema_rs.validator_for(_inlined(definition, defs), validate_formats=True)
        for name, definition in defs.items()
    }


NONE: frozenset[str] = frozenset()
FACT_WORDS = frozenset([*CASE_FACTS.values(), *FORUM_FACTS.values(), ORGANISATION_FACT, "end"])


@dataclass(frozen=True)
class Problem:
    """What is wrong with one line of an exchange file."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.message}"


def line_problems(line_no: int, obj: Any, *, header: bool = False) -> list[Problem]:
    """The schema's verdict on one parsed line: each problem with its field."""
    if not isinstance(obj, dict):
        return [Problem(line_no, "-", "a line is one JSON object")]
    if header:
        kind: Any = "header"
    else:
        kind = obj.get("fact")
        if kind not in FACT_WORDS:
            words = ", ".join(sorted(FACT_WORDS))
            return [Problem(line_no, "fact", f"{kind!r} is not one of: {words}")]
    if _fast_validators()[str(kind)].is_valid(obj):
        return []
    problems = []
    for error in sorted(_validators()[str(kind)].iter_errors(obj), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in error.path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            where = f"{where}.{missing}" if where else missing
        elif error.validator == "additionalProperties" and "'" in error.message:
            extra = error.message.split("'")[1]
            where = f"{where}.{extra}" if where else extra
            problems.append(Problem(line_no, where, "is not a field of this fact"))
            continue
        problems.append(Problem(line_no, where or "-", error.message))
    return problems


# --- export --------------------------------------------------------------------------------


@dataclass
class ExportSummary:
    forums: int = 0
    cases: int = 0
    facts: int = 0
    seconds: float = 0.0


class InvalidExportError(ApplicationError):
    """A line the export would write does not meet the file's schema (a bug: nothing written)."""


def _data(event: DomainEventProtocol[UUID], hidden: frozenset[str]) -> dict[str, Any]:
    """The event's own fields, as they are (orjson writes dates, ids, vocabulary words and
    the subject as the API does)."""
    return {
        k: str(v) if type(v) is KnownUUID else v  # (orjson writes no subclass of UUID itself)
        for k, v in vars(event).items()
        if k not in ENVELOPE and k not in hidden
    }


def _forum_orgs(app: Forebyg, forum_id: UUID) -> set[str]:
    """The organisations a forum's history names: its chair and every member it ever had
    (a case names only members of its forum)."""
    orgs = set()
    for event in app.events.get(forum_id):
        data = vars(event)
        for key in ("chair_org", "org"):
            if isinstance(data.get(key), str):
                orgs.add(data[key])
    return orgs


def export_lines(
    app: Forebyg,
    *,
    forum_id: UUID | None = None,
    purpose: str | None = None,
    operator: str = "system",
    summary: ExportSummary | None = None,
) -> Iterator[str]:
    """The exchange file, line by line (each ends with a newline), streamed from the log.

    Personal fields only with a ``purpose``: each case and each forum whose personal data is
    exported is then logged in the access log (kind ``export``), like any read of personal
    data. An erased subject's fields read as erased and are exported so."""
    started = time.perf_counter()
    summary = summary if summary is not None else ExportSummary()
    personal = bool(purpose)
    if forum_id is not None:
        app._forum(forum_id)  # not found: nothing written
    header = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": datetime.now(UTC).isoformat(),
        "forum_id": str(forum_id) if forum_id else None,
        "personal": personal,
    }
    yield _checked(0, header, header=True)
    orgs = _forum_orgs(app, forum_id) if forum_id is not None else None
    cases: set[UUID | str] = set()  # the cases of the exported forum (ids only)
    logged: set[UUID | str] = set()
    texts: dict[UUID | str, str] = {}  # each aggregate's id as text, made once
    last = app.recorder.max_notification_id() or 0
    mapper: Any = app.mapper
    for page in _pages(app, last):
        out: list[str] = []
        entries: list[dict[str, Any]] = []
        opened = _decode_personal(app, page) if personal else {}
        for notification in page:
            topic = notification.topic
            if topic == ORGANISATION_TOPIC:
                event = mapper.to_workflow_event(notification)
                if orgs is not None and event.slug not in orgs:
                    continue
                line = {"fact": ORGANISATION_FACT, **_data(event, frozenset())}
                line.pop("id", None)
                summary.facts += 1
                out.append(_checked(summary.facts, line))
                continue
            is_case = topic.startswith(CASE_TOPIC_PREFIX)
            name = topic.rsplit(".", 1)[1]
            originator = notification.originator_id
            if forum_id is not None:
                if is_case:
                    if name == "Referred":
                        event = mapper.to_workflow_event(notification)
                        if event.forum_id == forum_id:
                            cases.add(originator)
                    if originator not in cases:
                        continue
                elif originator != forum_id:
                    continue
            personal_fields = (CASE_PERSONAL_FIELDS if is_case else FORUM_PERSONAL_FIELDS).get(name, NONE)
            if personal and personal_fields:
                event = opened[notification.id]
                if originator not in logged:
                    logged.add(originator)
                    entries.append(_export_entry(event, is_case, purpose or "", operator))
                hidden: frozenset[str] = NONE
            else:
                event = mapper.to_workflow_event(notification)
                hidden = personal_fields
            text = texts.get(originator)
            if text is None:
                text = texts[originator] = str(originator)
            if is_case:
                line = {"fact": CASE_FACTS[name], "case_id": text}
                summary.cases += name == "Referred"
            else:
                line = {"fact": FORUM_FACTS[name], "forum_id": text}
                summary.forums += name == "Established"
            line["version"] = notification.originator_version
            line["recorded_at"] = event.timestamp
            line.update(_data(event, hidden))
            summary.facts += 1
            out.append(_checked(summary.facts, line))
        # The page's reads of personal data are logged before any of its lines is written.
        app.access_log.record_all(entries)
        yield from out
    summary.seconds = time.perf_counter() - started
    yield _checked(summary.facts + 1, {"fact": "end", "facts": summary.facts})


def _pages(app: Forebyg, last: int) -> Iterator[Sequence[Any]]:
    """The log's fact notifications up to ``last``, a page at a time; the next page is read
    (in a thread: the database's work and the wait for it) while this one is written."""
    recorder: Any = app.recorder

    def read(after: int) -> Sequence[Any]:
        return list(
            recorder.select_notifications(after, PAGE, stop=last, topics=TOPICS, inclusive_of_start=False)
        )

    if last <= 0:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-read") as reader:
        upcoming: Future[Sequence[Any]] | None = reader.submit(read, 0)
        try:
            while upcoming is not None:
                page = upcoming.result()
                upcoming = reader.submit(read, page[-1].id) if page and page[-1].id < last else None
                if page:
                    yield page
        finally:
            if upcoming is not None:
                upcoming.cancel()


def _decode_personal(app: Forebyg, page: Sequence[Any]) -> dict[int, Any]:
    """The page's events that hold personal data, decoded and opened, their keys fetched
    together (not one query a subject or a text)."""
    mapper: Any = app.mapper
    sealed: dict[int, tuple[Any, set[str]]] = {}
    subjects: set[str] = set()
    texts: set[str] = set()
    for notification in page:
        name = notification.topic.rsplit(".", 1)[1]
        if notification.topic.startswith(CASE_TOPIC_PREFIX):
            if name not in CASE_PERSONAL_FIELDS:
                continue
            ids = subjects
        elif notification.topic.startswith(FORUM_TOPIC_PREFIX):
            if name not in FORUM_PERSONAL_FIELDS:
                continue
            ids = texts
        else:
            continue
        event = mapper.to_workflow_event(notification)
        ids.update(v.subject_id for v in vars(event).values() if type(v) is Sealed)
        sealed[notification.id] = (event, ids)
    app.keystore.prefetch(subjects, texts)
    return {n: mapper.open_sealed(event, is_case=ids is subjects) for n, (event, ids) in sealed.items()}


def _export_entry(event: Any, is_case: bool, purpose: str, operator: str) -> dict[str, Any]:
    """The access log's entry for a case or forum whose personal data is exported. A case's
    first fact with personal data is its referral, which names its subject and legal basis."""
    entry: dict[str, Any] = {
        "username": operator,
        "org": "-",
        "role": "operator",
        "kind": "export",
        "purpose": purpose,
    }
    if is_case:
        entry.update(
            case_id=event.originator_id, subject_id=event.subject_id, legal_basis=event.legal_basis.value
        )
    else:
        entry["subject_id"] = AccessLog.forum_texts(event.originator_id)
    return entry


def _checked(n: int, line: dict[str, Any], *, header: bool = False) -> str:
    """The line as written, once it is checked as it will be read."""
    written = orjson.dumps(line, default=plain)  # plain: what orjson does not know (KnownUUID)
    problems = line_problems(n + 1, orjson.loads(written), header=header)
    if problems:
        raise InvalidExportError("; ".join(str(p) for p in problems))
    return written.decode() + "\n"


# --- import --------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    forums: int = 0
    cases: int = 0
    facts: int = 0
    recorded: int = 0  # facts recorded now (the others were already in the store)
    events: int = 0  # events recorded now
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)
    more_problems: int = 0


MAX_PROBLEMS = 100
BATCH = 100  # facts recorded in one transaction by an import
CONFLICT = "another change was recorded in the store meanwhile: the facts before are recorded; import again"
CACHED_AGGREGATES = 5000  # forums and cases kept in memory between commands while importing
CHECKED_AGGREGATES = 1000  # the check pass's aggregates kept as objects (the others pickled)
REPICKLED = 50  # an aggregate the check pass keeps is pickled again after so many events


def _uuid(value: Any) -> UUID | None:
    return UUID(value) if isinstance(value, str) else None


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


class Recorder:
    """Records facts through the application's commands; knows which are already recorded
    (an aggregate's version in the store at least the fact's), so a file recorded twice
    records nothing twice."""

    def __init__(self, app: Forebyg, *, batch: int = 0) -> None:
        self.app = app
        # Facts whose events are recorded in one transaction (0: each its own): only with an
        # aggregate cache, where the next command finds what the batch has not yet recorded.
        self.batch = batch if app.repository.cache is not None else 0
        self.batched = 0
        if self.batch:
            app.record_batch()  # starts the batch
        self.versions: dict[UUID, int] = {}
        self.instants: dict[tuple[UUID, int], datetime] = {}
        app.recorded_instants = self.instants

    def flush(self) -> None:
        """Record the batch's events now."""
        if self.batch:
            self.app.record_batch()
            self.batched = 0

    def forget(self, line: dict[str, Any]) -> None:
        """After a command failed: the aggregates it touched are read afresh from the store
        (the cache hands them out uncopied, and a failed command may have changed one)."""
        self.instants.clear()
        ids = [line[k] for k in ("case_id", "forum_id") if isinstance(line.get(k), str)]
        ids += [c for c in line.get("discussed_cases") or () if isinstance(c, str)]
        cache = self.app.repository.cache
        for value in ids:
            with contextlib.suppress(KeyError, ValueError):
                self.versions.pop(UUID(value), None)
                if cache is not None:
                    cache.get(UUID(value), evict=True)

    def instant(self, line: dict[str, Any], aggregate_id: UUID) -> None:
        """The instant the fact was first recorded: its event is recorded with it again."""
        self.instants[(aggregate_id, int(line["version"]))] = datetime.fromisoformat(line["recorded_at"])

    def version(self, aggregate_id: UUID) -> int:
        known = self.versions.get(aggregate_id)
        if known is None:
            events = list(self.app.recorder.select_events(aggregate_id, desc=True, limit=1))
            known = self.versions[aggregate_id] = events[0].originator_version if events else 0
        return known

    def present(self, line: dict[str, Any], aggregate_id: UUID, event_name: str, topic_prefix: str) -> bool:
        version = int(line["version"])
        current = self.version(aggregate_id)
        if current == 0 and version > 1:
            if topic_prefix == CASE_TOPIC_PREFIX:
                raise CaseNotFoundError(f"case {aggregate_id} has not been referred (no case_referred line)")
            raise ForumNotFoundError(
                f"forum {aggregate_id} has not been established (no forum_established line)"
            )
        if version > current + 1:
            raise InvalidValueError(
                "version", f"the store holds version {current} of it: version {current + 1} comes first"
            )
        if version <= current:
            self.flush()
            stored = list(self.app.recorder.select_events(aggregate_id, gt=version - 1, lte=version))
            if not stored or stored[0].topic != topic_prefix + event_name:
                raise InvalidValueError(
                    "version", f"version {version} of it in the store is another fact than this one"
                )
            return True
        return False

    def record(self, line: dict[str, Any]) -> bool:
        """Record one fact; False if it was already recorded."""
        kind = line["fact"]
        if kind == ORGANISATION_FACT:
            if self.app.get_organisation(line["slug"]) is not None:
                return False
            self.app.add_organisation(line["slug"], name=line["name"], kind=line["kind"], email=line["email"])
            return True
        if "case_id" in line:
            aggregate_id = UUID(line["case_id"])
            name = CASE_EVENT[kind]
            if self.present(line, aggregate_id, name, CASE_TOPIC_PREFIX):
                return False
            if kind == "case_discussed":
                raise InvalidValueError(
                    "meeting_id",
                    "a case is discussed only by the meeting_held line of its meeting, before it",
                )
            self.instant(line, aggregate_id)
            recorded = CASE_COMMANDS[kind](self, aggregate_id, line)
        else:
            aggregate_id = UUID(line["forum_id"])
            name = FORUM_EVENT[kind]
            if self.present(line, aggregate_id, name, FORUM_TOPIC_PREFIX):
                return False
            self.instant(line, aggregate_id)
            recorded = FORUM_COMMANDS[kind](self, aggregate_id, line)
        self.instants.clear()
        self.versions[aggregate_id] = recorded
        self.batched += 1
        if self.batched >= self.batch:
            self.flush()
        if recorded != line["version"]:
            raise InvalidValueError("version", f"recorded as version {recorded}, not {line['version']}")
        return True

    # forum facts

    def established(self, forum_id: UUID, d: dict[str, Any]) -> int:
        return self.app.establish_forum(
            name=d["name"],
            municipality=d["municipality"],
            housing_areas=d["housing_areas"],
            chair_org=d["chair_org"],
            established_on=_day(d["established_on"]),
            forum_id=forum_id,
        ).version

    def joined(self, forum_id: UUID, d: dict[str, Any]) -> int:
        return self.app.add_member(forum_id, d["org"], _day(d["joined_on"])).version

    def left(self, forum_id: UUID, d: dict[str, Any]) -> int:
        return self.app.remove_member(forum_id, d["org"], _day(d["left_on"])).version

    def scheduled(self, forum_id: UUID, d: dict[str, Any]) -> int:
        return self.app.schedule_meeting(
            forum_id, _day(d["planned_on"]), meeting_id=_uuid(d["meeting_id"])
        ).version

    def held(self, forum_id: UUID, d: dict[str, Any]) -> int:
        discussed = [UUID(c) for c in d["discussed_cases"]]
        for case_id in discussed:
            if case_id not in self.app.repository:
                raise InvalidValueError("discussed_cases", f"case {case_id} has not been referred")
        meeting_id = _uuid(d["meeting_id"])
        assert meeting_id is not None
        version = self.app.hold_meeting(
            forum_id,
            meeting_id,
            held_on=_day(d["held_on"]),
            attendees=d["attendees"],
            discussed_cases=discussed,
            summary=d.get("summary"),
        ).version
        for case_id in discussed:  # each case's Discussed was recorded with the meeting
            self.versions[case_id] = self.app.repository.get(case_id).version
        return version

    def cancelled(self, forum_id: UUID, d: dict[str, Any]) -> int:
        meeting_id = _uuid(d["meeting_id"])
        assert meeting_id is not None
        return self.app.cancel_meeting(
            forum_id, meeting_id, d.get("reason"), cancelled_on=_day(d["cancelled_on"])
        ).version

    def mapped(self, forum_id: UUID, d: dict[str, Any]) -> int:
        return self.app.record_area_mapping(
            forum_id,
            recorded_on=_day(d["recorded_on"]),
            housing_area=d["housing_area"],
            resources=d.get("resources"),
            challenges=d.get("challenges"),
        ).version

    def dissolved(self, forum_id: UUID, d: dict[str, Any]) -> int:
        return self.app.dissolve_forum(forum_id, _day(d["dissolved_on"]), d.get("reason")).version

    def reminder(self, aggregate_id: UUID, d: dict[str, Any]) -> int:
        """A reminder delivered: recorded as the scheduler records it, on its case or forum."""
        source: Any = self.app.repository.get(aggregate_id)
        sent_on, due_on = _day(d["sent_on"]), _day(d["due_on"])
        assert sent_on is not None and due_on is not None
        source.record_reminder(
            key=d["key"],
            rule=d["rule"],
            channel=d["channel"],
            recipient_org=d["recipient_org"],
            sent_on=sent_on,
            due_on=due_on,
            action_id=_uuid(d["action_id"]),
        )
        self.app.save(source)
        return int(source.version)

    # case facts

    def referred(self, case_id: UUID, d: dict[str, Any]) -> int:
        subject = d.get("subject")
        if not isinstance(subject, dict):
            raise InvalidValueError("subject", "is required (the file was exported without --purpose?)")
        forum_id = UUID(d["forum_id"])
        if forum_id not in self.app.repository:
            raise InvalidValueError("forum_id", f"forum {forum_id} has not been established")
        return self.app.refer_case(
            forum_id=forum_id,
            target_group=d["target_group"],
            referred_by=d["referred_by"],
            received_on=_day(d["received_on"]),
            legal_basis=d["legal_basis"],
            concern=d.get("concern"),
            subject=Subject.parse(subject.get("name"), subject.get("cpr"), subject.get("birth_year")),
            subject_id=_uuid(d["subject_id"]),
            case_id=case_id,
        ).version

    def assessed(self, case_id: UUID, d: dict[str, Any]) -> int:
        return self.app.assess_case(
            case_id,
            assessed_on=_day(d["assessed_on"]),
            decision=d["decision"],
            risk_and_threat=d.get("risk_and_threat"),
            wellbeing_and_resilience=d.get("wellbeing_and_resilience"),
            judgement=d.get("judgement"),
        ).version

    def agreed(self, case_id: UUID, d: dict[str, Any]) -> int:
        return self.app.agree_action(
            case_id,
            kind=d["kind"],
            description=d.get("description"),
            responsible_org=d["responsible_org"],
            due_on=_day(d["due_on"]),
            meeting_id=_uuid(d["meeting_id"]),
            agreed_on=_day(d["agreed_on"]),
            action_id=_uuid(d["action_id"]),
        ).version

    def rescheduled(self, case_id: UUID, d: dict[str, Any]) -> int:
        action_id = UUID(d["action_id"])
        return self.app.reschedule_action(
            case_id,
            action_id,
            due_on=_day(d["due_on"]),
            reason=d.get("reason"),
            rescheduled_on=_day(d["rescheduled_on"]),
        ).version

    def completed(self, case_id: UUID, d: dict[str, Any]) -> int:
        return self.app.complete_action(
            case_id, UUID(d["action_id"]), completed_on=_day(d["completed_on"]), outcome=d.get("outcome")
        ).version

    def action_cancelled(self, case_id: UUID, d: dict[str, Any]) -> int:
        return self.app.cancel_action(
            case_id, UUID(d["action_id"]), cancelled_on=_day(d["cancelled_on"]), reason=d.get("reason")
        ).version

    def review_scheduled(self, case_id: UUID, d: dict[str, Any]) -> int:
        return self.app.schedule_review(
            case_id, review_on=_day(d["review_on"]), scheduled_on=_day(d["scheduled_on"])
        ).version

    def reviewed(self, case_id: UUID, d: dict[str, Any]) -> int:
        return self.app.record_review(
            case_id, reviewed_on=_day(d["reviewed_on"]), notes=d.get("notes")
        ).version

    def closed(self, case_id: UUID, d: dict[str, Any]) -> int:
        return self.app.close_case(
            case_id,
            closed_on=_day(d["closed_on"]),
            reason=d["reason"],
            summary=d.get("summary"),
            post_closure_review_on=_day(d["post_closure_review_on"]),
        ).version

    def reopened(self, case_id: UUID, d: dict[str, Any]) -> int:
        return self.app.reopen_case(
            case_id, reopened_on=_day(d["reopened_on"]), reason=d.get("reason")
        ).version

    def erased(self, case_id: UUID, d: dict[str, Any]) -> int:
        """The subject erased: its key destroyed and each of its cases erased, as then."""
        case = self.app._case(case_id)
        self.flush()  # the subject's personal data is sealed with its key before the key goes
        self.app.erase_subject(
            case.subject_id, reason=d["reason"], on=_day(d["erased_on"]), operator="import"
        )
        for other in self.app.keystore.cases_of(case.subject_id):
            self.versions.pop(other, None)
        self.flush()
        return self.version(case_id)


Command = Callable[[Recorder, UUID, dict[str, Any]], int]
FORUM_COMMANDS: dict[str, Command] = {
    "forum_established": Recorder.established,
    "member_joined": Recorder.joined,
    "member_left": Recorder.left,
    "meeting_scheduled": Recorder.scheduled,
    "meeting_held": Recorder.held,
    "meeting_cancelled": Recorder.cancelled,
    "area_mapped": Recorder.mapped,
    "forum_dissolved": Recorder.dissolved,
    "forum_reminder_sent": Recorder.reminder,
}
CASE_COMMANDS: dict[str, Command] = {
    "case_referred": Recorder.referred,
    "case_assessed": Recorder.assessed,
    "action_agreed": Recorder.agreed,
    "action_rescheduled": Recorder.rescheduled,
    "action_completed": Recorder.completed,
    "action_cancelled": Recorder.action_cancelled,
    "review_scheduled": Recorder.review_scheduled,
    "review_held": Recorder.reviewed,
    "case_closed": Recorder.closed,
    "case_reopened": Recorder.reopened,
    "case_reminder_sent": Recorder.reminder,
    "personal_data_erased": Recorder.erased,
}
CASE_EVENT = {word: name for name, word in CASE_FACTS.items()}
FORUM_EVENT = {word: name for name, word in FORUM_FACTS.items()}
assert set(CASE_COMMANDS) | {"case_discussed"} == set(CASE_EVENT)
assert set(FORUM_COMMANDS) == set(FORUM_EVENT)


def _default_field(line: dict[str, Any], error: Exception) -> str:
    """The field a broken rule is about: the action or meeting it names, else its case or forum."""
    name = type(error).__name__
    keys: tuple[str, ...] = ("case_id", "forum_id", "slug")
    if name.startswith("Action") and "action_id" in line:
        keys = ("action_id",)
    elif name.startswith("Meeting") and "meeting_id" in line:
        keys = ("meeting_id",)
    elif name in ("NotAMemberError", "AlreadyAMemberError", "ChairCannotLeaveError"):
        keys = ("org", "attendees", "responsible_org", "referred_by", "forum_id")
    for key in keys:
        if key in line:
            return key
    return "fact"


def read_lines(lines: Iterable[bytes]) -> Iterator[tuple[int, Any, Problem | None]]:
    """Each line parsed: (line number, object, a problem if it is not a JSON object)."""
    for n, raw in enumerate(lines, start=1):
        try:
            yield n, orjson.loads(raw), None
        except orjson.JSONDecodeError as error:
            yield n, None, Problem(n, "-", f"not a JSON object: {error}")


class HistoryNotKeptError(RuntimeError):
    """Asked of the check pass for what it deliberately does not keep (the log, an earlier
    version): no command the import runs reads them, so this is a fault of the import's code,
    never of the file."""


class _VersionsOnly(POPOProcessRecorder):
    """The check pass's event store: it refuses an event whose version its aggregate already
    holds, as a store does, and then keeps only the event's topic (a byte), not the event."""

    def __init__(self) -> None:
        super().__init__()
        self._codes: dict[str, int] = {}  # topic -> its byte
        self._topics: list[str] = [""]  # byte -> its topic (0: none)
        self._kept: dict[Any, bytearray] = {}  # aggregate -> the topic of each version
        self._count = 0

    def _assert_uniqueness(self, stored_events: Sequence[StoredEvent], **_: Any) -> None:
        new = set()
        for s in stored_events:
            kept = self._kept.get(s.originator_id)
            if kept is not None and s.originator_version <= len(kept) and kept[s.originator_version - 1]:
                raise IntegrityError(f"version {s.originator_version} of {s.originator_id} is recorded")
            new.add((s.originator_id, s.originator_version))
        if len(new) < len(stored_events):
            raise IntegrityError("the events are not unique")

    def _update_table(self, stored_events: Sequence[StoredEvent], **_: Any) -> Sequence[int] | None:
        ids = []
        for s in stored_events:
            code = self._codes.get(s.topic)
            if code is None:
                code = self._codes[s.topic] = len(self._topics)
                self._topics.append(s.topic)
            kept = self._kept.setdefault(s.originator_id, bytearray())
            kept.extend(bytes(max(0, s.originator_version - len(kept))))
            kept[s.originator_version - 1] = code
            self._count += 1
            ids.append(self._count)
        return ids

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The events' versions and topics (their state is not kept: an aggregate is read from
        ``_StatesRepository``)."""
        aggregate_id = originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
        kept = self._kept.get(aggregate_id, bytearray())
        versions = [v for v in range(1, len(kept) + 1) if kept[v - 1]]
        versions = [v for v in versions if (gt is None or v > gt) and (lte is None or v <= lte)]
        if desc:
            versions.reverse()
        return [StoredEvent(aggregate_id, v, self._topics[kept[v - 1]], b"") for v in versions[:limit]]

    def select_notifications(self, *args: Any, **kwargs: Any) -> Sequence[Notification]:
        raise HistoryNotKeptError("the check pass keeps no events to read")

    def max_notification_id(self) -> int | None:
        return self._count or None


class _Live:
    """The check pass's repository seen as a cache: ``Recorder.forget`` (after a command
    failed) and an erasure evict an aggregate, which is then read again as it was saved."""

    def __init__(self, repository: _StatesRepository) -> None:
        self.repository = repository

    def get(self, aggregate_id: UUID, *, evict: bool = False) -> Aggregate:
        if evict:
            return self.repository.live.pop(aggregate_id)
        return self.repository.live[aggregate_id]

    def put(self, aggregate_id: UUID, aggregate: Aggregate | None) -> None:
        pass  # what a save leaves is kept by ``_StatesRepository.saved``


class _StatesRepository(Repository[UUID]):
    """The check pass's aggregates, without their history: the most recently used as objects;
    the others pickled (their state, a few KiB), each with the events saved since it was
    pickled (fewer than ``REPICKLED``). An aggregate is read back as it was last saved:
    unpickled, those events applied."""

    def __init__(self, event_store: Any) -> None:
        super().__init__(event_store=event_store, fastforward=False)
        self.cache: Any = _Live(self)
        self.live: OrderedDict[UUID, Aggregate] = OrderedDict()
        self.pickled: dict[UUID, bytes] = {}
        self.since: dict[UUID, list[Any]] = {}

    def get(self, aggregate_id: UUID, *, version: int | None = None, **_: Any) -> Any:
        if version is not None:
            raise HistoryNotKeptError("the check pass keeps no earlier versions")
        aggregate = self.live.get(aggregate_id)
        if aggregate is not None:
            self.live.move_to_end(aggregate_id)
            return aggregate
        state, events = self.pickled.get(aggregate_id), self.since.get(aggregate_id, [])
        if state is None and not events:
            raise AggregateNotFoundError(aggregate_id)
        restored = (
            pickle.loads(state) if state is not None else None
        )  # (pickled by this process, never read from a file)
        for event in events:
            restored = event.mutate(restored)
        self._hold(aggregate_id, restored)
        return restored

    def saved(self, processing_event: ProcessingEvent[UUID]) -> None:
        """A command's events are recorded: its aggregates are kept as it left them."""
        for event in processing_event.events:
            self.since.setdefault(event.originator_id, []).append(event)
        for aggregate_id, aggregate in processing_event.aggregates.items():
            if len(self.since.get(aggregate_id, ())) >= REPICKLED:
                self._pickle(aggregate_id, aggregate)
            self._hold(aggregate_id, aggregate)

    def _hold(self, aggregate_id: UUID, aggregate: Any) -> None:
        self.live[aggregate_id] = aggregate
        self.live.move_to_end(aggregate_id)
        while len(self.live) > CHECKED_AGGREGATES:
            old_id, old = self.live.popitem(last=False)
            if not old.pending_events:  # (one a command is changing: read again as saved)
                self._pickle(old_id, old)

    def _pickle(self, aggregate_id: UUID, aggregate: Any) -> None:
        self.pickled[aggregate_id] = pickle.dumps(aggregate, pickle.HIGHEST_PROTOCOL)
        self.since.pop(aggregate_id, None)


class _Checking(Forebyg):
    """The application the check pass runs the file's commands in: the same commands, rules
    and mapping (sealing included), but it keeps each aggregate's state and its versions, not
    its events, so its memory grows with the aggregates' state, not with the file's facts."""

    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {}  # its state is kept anyway

    def construct_recorder(self) -> Any:
        return _VersionsOnly()

    def construct_repository(self) -> Repository[UUID]:
        return _StatesRepository(event_store=self.events)

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        recordings = super()._record(processing_event)
        repository: Any = self.repository
        repository.saved(processing_event)
        return recordings


def run_import(
    app: Forebyg,
    open_file: Callable[[], Iterable[bytes]],
    *,
    dry_run: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> ImportSummary:
    """Check the whole file through the commands into an in-memory application; if it has
    no problem (and not ``dry_run``), record it into ``app`` through the same commands.
    ``open_file`` opens the file afresh for each pass (the file is streamed, never held)."""
    started = time.perf_counter()
    checking = _Checking(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=app.clock, policy=app.policy)
    try:
        summary = _pass(Recorder(checking), open_file(), progress, "checking", stop_at_first=False)
    finally:
        checking.close()
    if summary.problems or dry_run:
        summary.recorded = summary.events = 0
        summary.seconds = time.perf_counter() - started
        return summary
    before = app.recorder.max_notification_id() or 0
    recorder = Recorder(app, batch=BATCH)
    try:
        recorded = _pass(recorder, open_file(), progress, "recording", stop_at_first=True)
        try:
            recorder.flush()
        except IntegrityError:
            recorded.problems.append(Problem(recorded.facts + 2, "-", CONFLICT))
    finally:
        app.saving_batch = None
        app.recorded_instants = None
    recorded.events = (app.recorder.max_notification_id() or 0) - before
    recorded.seconds = time.perf_counter() - started
    return recorded


def _pass(
    recorder: Recorder,
    lines: Iterable[bytes],
    progress: Callable[[str, int], None] | None,
    stage: str,
    *,
    stop_at_first: bool,
) -> ImportSummary:
    summary = ImportSummary()
    failed: set[str] = set()  # aggregates with a problem: their later lines are not tried

    def problem(p: Problem) -> None:
        if len(summary.problems) < MAX_PROBLEMS:
            summary.problems.append(p)
        else:
            summary.more_problems += 1

    ended = False
    count = 0
    stream = read_lines(lines)
    last_line = 0
    ahead: list[tuple[int, Any, Problem | None]] = []
    while True:
        item = ahead.pop(0) if ahead else next(stream, None)
        if item is None:
            break
        n, obj, parse_problem = item
        last_line = n
        if progress is not None and n % 1000 == 0:
            progress(stage, n)
        if parse_problem is not None:
            problem(parse_problem)
            continue
        if n == 1:
            for p in line_problems(1, obj, header=True):
                problem(p)
            if not summary.problems and obj.get("personal") is False:
                problem(
                    Problem(
                        1,
                        "personal",
                        "the file holds no personal data (exported without --purpose):"
                        " only a file exported with --purpose can be imported",
                    )
                )
            if summary.problems:  # not a file one can record: its facts are not tried
                break
            continue
        if ended:
            problem(Problem(n, "fact", "nothing may follow the end line"))
            continue
        found = line_problems(n, obj)
        if found:
            for p in found:
                problem(p)
            if isinstance(obj, dict):
                count += obj.get("fact") != "end"
                failed.update(str(obj[k]) for k in ("case_id", "forum_id") if k in obj)
            continue
        if obj["fact"] == "end":
            ended = True
            if obj["facts"] != count:
                problem(Problem(n, "facts", f"the file holds {count} facts, not {obj['facts']}"))
            continue
        count += 1
        if obj["fact"] == "meeting_held" and not ahead:
            # The cases' case_discussed lines follow it: their instants are those of the
            # events the meeting records on them.
            for _ in obj["discussed_cases"]:
                following = next(stream, None)
                if following is None:
                    break
                ahead.append(following)
                line = following[1]
                if isinstance(line, dict) and line.get("fact") == "case_discussed":
                    with contextlib.suppress(KeyError, TypeError, ValueError):
                        recorder.instant(line, UUID(line["case_id"]))
        keys = [str(obj[k]) for k in ("case_id", "forum_id") if k in obj]
        if any(k in failed for k in keys):
            failed.update(keys)  # what builds on a fact with a problem is not tried either
            continue
        if stop_at_first and summary.problems:
            break
        try:
            if recorder.record(obj):
                summary.recorded += 1
                summary.forums += obj["fact"] == "forum_established"
                summary.cases += obj["fact"] == "case_referred"
        except IntegrityError:
            problem(Problem(n, "-", CONFLICT))
            break
        except InvalidValueError as error:
            failed.update(keys)
            recorder.forget(obj)
            problem(Problem(n, error.field, error.message))
        except (DomainError, ApplicationError) as error:
            failed.update(keys)
            recorder.forget(obj)
            if isinstance(error, CaseNotFoundError):
                where = "case_id"
            elif isinstance(error, ForumNotFoundError):
                where = "forum_id"
            else:
                where = _default_field(obj, error)
            problem(Problem(n, where, str(error)))
    summary.facts = count
    if not ended and not summary.problems:
        problem(Problem(count + 2, "fact", "the file ends without its end line (cut short?)"))
    if progress is not None:
        progress(stage, last_line)
        progress(stage, -1)  # the stage is done
    return summary
