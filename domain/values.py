"""Value objects and the vocabularies of the public contract (DESIGN §5)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from typing import TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.errors import DateOrderError, InvalidValueError

E = TypeVar("E", bound="Vocabulary")


class Vocabulary(Enum):
    """An enumeration whose JSON value is its public word; parsing it validates itself."""

    @classmethod
    def parse(cls: type[E], value: object, field: str | None = None) -> E:
        if isinstance(value, cls):
            return value
        for member in cls:
            if member.value == value:
                return member
        words = ", ".join(m.value for m in cls)
        raise InvalidValueError(field or cls.field_name(), f"{value!r} is not one of: {words}")

    @classmethod
    def field_name(cls) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()

    @classmethod
    def words(cls) -> list[str]:
        return [m.value for m in cls]


class OrgKind(Vocabulary):
    MUNICIPALITY = "municipality"
    HOUSING_SOCIAL = "housing_social"
    POLICE = "police"
    CIVIL_SOCIETY = "civil_society"
    OTHER = "other"


class Role(Vocabulary):
    COORDINATOR = "coordinator"
    MEMBER = "member"
    EVALUATOR = "evaluator"
    DPO = "dpo"
    ADMIN = "admin"


class TargetGroup(Vocabulary):
    CROSS_OVER = "cross_over"
    YOUNGER_SIBLING = "younger_sibling"


class LegalBasis(Vocabulary):
    RETSPLEJELOVEN_115 = "retsplejeloven_115"
    DATABESKYTTELSESLOVEN_8 = "databeskyttelsesloven_8"
    CONSENT = "consent"
    DUTY_TO_NOTIFY = "duty_to_notify"


class Decision(Vocabulary):
    ACCEPT = "accept"
    REDIRECT = "redirect"
    NO_FURTHER_ACTION = "no_further_action"


class ActionKind(Vocabulary):
    MENTOR = "mentor"
    FAMILY_DIALOGUE = "family_dialogue"
    LEISURE_OR_JOB = "leisure_or_job"
    EXIT_PROGRAMME = "exit_programme"
    CONCERN_CONVERSATION = "concern_conversation"
    STATUTORY_MEASURE = "statutory_measure"
    OTHER = "other"


class ClosureReason(Vocabulary):
    RESOLVED = "resolved"
    UNFOUNDED = "unfounded"
    TRANSFERRED = "transferred"
    POLICE_MATTER = "police_matter"
    MOVED_AWAY = "moved_away"
    OTHER = "other"


class CaseStatus(Vocabulary):
    AWAITING_ASSESSMENT = "awaiting_assessment"
    ACTIVE = "active"
    REDIRECTED = "redirected"
    NO_FURTHER_ACTION = "no_further_action"
    CLOSED = "closed"


class ActionStatus(Vocabulary):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class MeetingStatus(Vocabulary):
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
# ASCII digits only: Python's \d also matches Arabic-Indic, Devanagari, fullwidth... digits.
CPR = re.compile(r"^[0-9]{6}-?[0-9]{4}$")
MAX_TEXT = 10_000
ERASED = "[erased]"  # what a personal field reads as once its subject's key is destroyed


def org_slug(value: object, field: str) -> str:
    if not isinstance(value, str) or not SLUG.fullmatch(value):
        raise InvalidValueError(field, "an organisation slug is required (lower-case letters, digits, '-')")
    return value


# Characters no text may hold, for they hide what a reader sees or what a store keeps:
# C0 controls (but tab, line feed and carriage return), DEL, C1 controls, zero-width
# characters and the byte-order mark, bidirectional embeddings, overrides and isolates (with
# which "Ali\u202egnp.exe" shows as "Aliexe.png"), and lone surrogates. Written as regular
# expression escapes, so that the same text is a pattern in Python and in the OpenAPI document
# (which leaves out SURROGATES: no UTF-8 text holds one, only a JSON escape can, and a
# validator's Unicode regular expressions refuse them in a pattern).
HIDDEN = r"\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff"
SURROGATES = r"\ud800-\udfff"
# Multi-line text (a concern, an assessment, a summary) may hold tabs and line breaks.
FREE_TEXT_FORBIDDEN = r"\x00-\x08\x0b\x0c\x0e-\x1f" + HIDDEN
# A single line (a name, a housing area, an organisation's name, a purpose) holds no control
# character at all, nor a line or paragraph separator.
LINE_FORBIDDEN = r"\x00-\x1f\u2028\u2029" + HIDDEN
FREE_TEXT = re.compile(f"^[^{FREE_TEXT_FORBIDDEN}{SURROGATES}]*$")  # what a free text may be
LINE = re.compile(f"^[^{LINE_FORBIDDEN}{SURROGATES}]*$")  # what a single-line text may be
CONTROL = re.compile(f"[{FREE_TEXT_FORBIDDEN}{SURROGATES}]")  # a character no text at all may hold
LINE_BREAKING = re.compile(f"[{LINE_FORBIDDEN}{SURROGATES}]")  # a character no single line may hold


def text(value: object, field: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    """A free text (FREE_TEXT): may span lines, holds no hidden or control character."""
    return _checked(
        value,
        field,
        CONTROL,
        "control characters, invisible characters or invalid unicode",
        required=required,
        limit=limit,
    )


def line(value: object, field: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    """A single-line text (LINE): a name, a housing area, a purpose. Besides what no text may
    hold, no tab, line break or line/paragraph separator."""
    return _checked(
        value,
        field,
        LINE_BREAKING,
        "line breaks, tabs, control characters, invisible characters or invalid unicode",
        required=required,
        limit=limit,
    )


def _checked(
    value: object, field: str, forbidden: re.Pattern[str], what: str, *, required: bool, limit: int
) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidValueError(field, "must be text")
    if forbidden.search(value):
        raise InvalidValueError(field, f"must not contain {what}")
    value = value.strip()
    if required and not value:
        raise InvalidValueError(field, "must not be empty")
    if len(value) > limit:
        raise InvalidValueError(field, f"must be at most {limit} characters")
    return value


# A CPR number anywhere in a text: DDMMYY, an optional dash or space, four digits. It is looked
# for in the text with every script's decimal digits read as ASCII ones (ascii_digits): a CPR
# number written in fullwidth or Arabic-Indic digits identifies the person all the same.
CPR_IN_TEXT = re.compile(
    r"(?<![0-9-])(?:0[1-9]|[12][0-9]|3[01])(?:0[1-9]|1[0-2])[0-9]{2}[- ]?[0-9]{4}(?![0-9-])"
)


def ascii_digits(value: str) -> str:
    """The text with each decimal digit of any script written as its ASCII digit."""
    if value.isascii():
        return value
    return "".join(
        str(unicodedata.decimal(c)) if not c.isascii() and unicodedata.decimal(c, None) is not None else c
        for c in value
    )


def non_personal_text(
    value: object, field: str, *, required: bool = True, limit: int = MAX_TEXT, single_line: bool = False
) -> str:
    """A text that is not about a person (a forum's texts, an erasure's legal ground): one
    holding a CPR number is certainly personal data and is refused. ``single_line``: a LINE
    (a forum's name, its housing areas), else a FREE_TEXT."""
    parse = line if single_line else text
    checked = parse(value, field, required=required, limit=limit)
    if CPR_IN_TEXT.search(ascii_digits(checked)):
        raise InvalidValueError(
            field, "must not hold a CPR number: this text must not name or identify people"
        )
    return checked


# Every business date lies in this range: wide enough for any referral, deadline or review a
# forum records, narrow enough that the date arithmetic of reminders and retention never
# leaves the calendar.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")  # the one written form of a business date


def business_date(value: object, field: str) -> date:
    if not isinstance(value, date):
        raise InvalidValueError(field, "a date (YYYY-MM-DD) is required")
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise InvalidValueError(
            field, f"must lie between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}"
        )
    return value


DENMARK = ZoneInfo("Europe/Copenhagen")  # business dates are the day in Denmark


def day_in_denmark(instant: datetime) -> date:
    """The business date of a recorded instant: the day it was in Denmark, not in UTC
    (an instant between 22:00 and 24:00 UTC is the next day in Copenhagen)."""
    return instant.astimezone(DENMARK).date()


def days_after(on: date, days: int) -> date:
    """``on`` moved by ``days`` (negative: before), held at the calendar's first or last day:
    total, so that no date in the history, however it got there, stops a projection."""
    try:
        return on + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def not_before(value: date, earliest: date, field: str, what: str) -> None:
    if value < earliest:
        raise DateOrderError(field, f"{value.isoformat()} precedes {what} ({earliest.isoformat()})")


@dataclass(frozen=True)
class Subject:
    """The person a concern is about. Personal data: never shown without a purpose."""

    name: str
    cpr: str | None = None
    birth_year: int | None = None

    @classmethod
    def parse(cls, name: object, cpr: object = None, birth_year: object = None) -> Subject:
        clean_name = line(name, "subject.name", limit=200)
        if cpr is not None and (not isinstance(cpr, str) or not CPR.fullmatch(cpr)):
            raise InvalidValueError("subject.cpr", "a CPR number is DDMMYY-XXXX")
        if birth_year is not None and (
            not isinstance(birth_year, int) or isinstance(birth_year, bool) or not 1900 <= birth_year <= 2100
        ):
            raise InvalidValueError("subject.birth_year", "a year between 1900 and 2100")
        return cls(name=clean_name, cpr=cpr, birth_year=birth_year)


@dataclass(frozen=True)
class Meeting:
    """A forum meeting, as the forum knows it."""

    meeting_id: UUID
    planned_on: date
    status: MeetingStatus = MeetingStatus.SCHEDULED
    held_on: date | None = None
    attendees: tuple[str, ...] = ()
    discussed_cases: tuple[UUID, ...] = ()
    cancelled_on: date | None = None


@dataclass(frozen=True)
class Action:
    """An agreed action: exactly one responsible organisation and a due date."""

    action_id: UUID
    kind: ActionKind
    description: str
    responsible_org: str
    due_on: date
    agreed_on: date
    meeting_id: UUID | None = None
    status: ActionStatus = ActionStatus.OPEN
    completed_on: date | None = None
    outcome: str = ""
    cancelled_on: date | None = None
    cancel_reason: str = ""
    last_event_on: date | None = None
