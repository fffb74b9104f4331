"""Value objects and the vocabularies of the public contract (DESIGN §5)."""

from __future__ import annotations

import re
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
CPR = re.compile(r"^\d{6}-?\d{4}$")
MAX_TEXT = 10_000
ERASED = "[erased]"  # what a personal field reads as once its subject's key is destroyed


def org_slug(value: object, field: str) -> str:
    if not isinstance(value, str) or not SLUG.match(value):
        raise InvalidValueError(field, "an organisation slug is required (lower-case letters, digits, '-')")
    return value


CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def text(value: object, field: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidValueError(field, "must be text")
    if CONTROL.search(value):
        raise InvalidValueError(field, "must not contain control characters or invalid unicode")
    value = value.strip()
    if required and not value:
        raise InvalidValueError(field, "must not be empty")
    if len(value) > limit:
        raise InvalidValueError(field, f"must be at most {limit} characters")
    return value


# A CPR number anywhere in a text: DDMMYY, an optional dash or space, four digits.
CPR_IN_TEXT = re.compile(r"(?<![\d-])(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d{2}[- ]?\d{4}(?![\d-])")


def non_personal_text(value: object, field: str, *, required: bool = True, limit: int = MAX_TEXT) -> str:
    """A text that is not about a person (a forum's texts, an erasure's legal ground): one
    holding a CPR number is certainly personal data and is refused."""
    checked = text(value, field, required=required, limit=limit)
    if CPR_IN_TEXT.search(checked):
        raise InvalidValueError(
            field, "must not hold a CPR number: this text must not name or identify people"
        )
    return checked


# Every business date lies in this range: wide enough for any referral, deadline or review a
# forum records, narrow enough that the date arithmetic of reminders and retention never
# leaves the calendar.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # the one written form of a business date


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
        clean_name = text(name, "subject.name", limit=200)
        if cpr is not None and (not isinstance(cpr, str) or not CPR.match(cpr)):
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
