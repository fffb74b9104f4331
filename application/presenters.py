"""Aggregates and events turned into plain data for queries (never aggregates)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol

from domain.case import PERSONAL_FIELDS, Case
from domain.forum import Forum
from domain.values import Subject

ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def plain(value: Any) -> Any:
    """A value as JSON-ready plain data: ISO dates, vocabulary words, UUID strings."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def event_type(event: DomainEventProtocol[Any]) -> str:
    return type(event).__name__


def event_data(event: DomainEventProtocol[Any], *, include_personal: bool) -> dict[str, Any]:
    hidden = set() if include_personal else PERSONAL_FIELDS.get(event_type(event), frozenset())
    return {
        key: plain(value) for key, value in vars(event).items() if key not in ENVELOPE and key not in hidden
    }


def history_entry(event: DomainEventProtocol[Any], *, include_personal: bool) -> dict[str, Any]:
    return {
        "type": event_type(event),
        "version": event.originator_version,
        "recorded_at": event.timestamp.isoformat(),  # type: ignore[attr-defined]
        "data": event_data(event, include_personal=include_personal),
    }


def subject_view(subject: Subject) -> dict[str, Any]:
    return {"name": subject.name, "cpr": subject.cpr, "birth_year": subject.birth_year}


def case_view(case: Case, *, include_personal: bool) -> dict[str, Any]:
    open_due = sorted(a.due_on for a in case.open_actions)
    view: dict[str, Any] = {
        "id": str(case.id),
        "version": case.version,
        "forum_id": str(case.forum_id),
        "subject_id": str(case.subject_id),
        "status": case.status.value,
        "target_group": case.target_group.value,
        "referred_by": case.referred_by,
        "received_on": case.received_on.isoformat(),
        "legal_basis": case.legal_basis.value,
        "decision": plain(case.decision),
        "assessed_on": plain(case.assessed_on),
        "discussed_at": plain(case.discussed_at),
        "discussed_on": plain(case.discussed_on),
        "actions": [
            {
                k: plain(v)
                for k, v in dataclasses.asdict(action).items()
                if include_personal or k not in ("description", "outcome", "cancel_reason")
            }
            for action in case.actions.values()
        ],
        "next_due_on": open_due[0].isoformat() if open_due else None,
        "next_review_on": plain(case.next_review_on),
        "reviews": plain(case.reviews),
        "closed_on": plain(case.closed_on),
        "closure_reason": plain(case.closure_reason),
        "post_closure_review_on": plain(case.post_closure_review_on),
        "reopened_on": plain(case.reopened_on),
        "created_at": case.created_on.isoformat(),
        "modified_at": case.modified_on.isoformat(),
    }
    if include_personal:
        view["subject"] = subject_view(case.subject)
        view["concern"] = case.concern
        view["assessment"] = dict(case.assessment)
        view["closure_summary"] = case.closure_summary
    return view


def forum_texts(events: Iterable[DomainEventProtocol[Any]]) -> dict[str, Any]:
    """A forum's free texts, from its events (its state holds none): per meeting, per area
    mapping in the order recorded, and the dissolution reason."""
    texts: dict[str, Any] = {"meetings": {}, "area_mappings": [], "dissolution_reason": None}
    for event in events:
        data = vars(event)
        kind = event_type(event)
        if kind == "MeetingHeld":
            texts["meetings"][str(data["meeting_id"])] = {"summary": data["summary"]}
        elif kind == "MeetingCancelled":
            texts["meetings"][str(data["meeting_id"])] = {"cancel_reason": data["reason"]}
        elif kind == "AreaMappingRecorded":
            texts["area_mappings"].append({"resources": data["resources"], "challenges": data["challenges"]})
        elif kind == "Dissolved":
            texts["dissolution_reason"] = data["reason"]
    return texts


def forum_view(forum: Forum, texts: dict[str, Any] | None = None) -> dict[str, Any]:
    """The forum; with its ``texts`` (`forum_texts`) when the reader may see them."""
    meetings = [plain(m) for m in sorted(forum.meetings.values(), key=lambda m: m.planned_on)]
    mappings = plain(forum.area_mappings)
    extra: dict[str, Any] = {}
    if texts is not None:
        for meeting in meetings:
            meeting.update(texts["meetings"].get(meeting["meeting_id"], {}))
        for mapping, written in zip(mappings, texts["area_mappings"], strict=False):
            mapping.update(written)
        extra["dissolution_reason"] = texts["dissolution_reason"]
    return {
        "id": str(forum.id),
        "version": forum.version,
        "name": forum.name,
        "municipality": forum.municipality,
        "housing_areas": list(forum.housing_areas),
        "chair_org": forum.chair_org,
        "established_on": forum.established_on.isoformat(),
        "members": list(forum.members),
        "meetings": meetings,
        "area_mappings": mappings,
        "dissolved_on": plain(forum.dissolved_on),
        **extra,
    }
