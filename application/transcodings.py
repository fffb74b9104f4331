"""How the domain's value types are written into, and read back from, stored events."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain import values


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class VocabularyAsValue(Transcoding):
    """One transcoding per vocabulary, named after the enum so words never collide."""

    def __init__(self, enum_type: type[values.Vocabulary]) -> None:
        self.type = enum_type
        self.name = f"forebyg.{enum_type.__name__}"

    def encode(self, obj: values.Vocabulary) -> str:
        return str(obj.value)

    def decode(self, data: str) -> values.Vocabulary:
        return self.type(data)  # type: ignore[no-any-return]


class ValueObjectAsDict(Transcoding):
    """A frozen dataclass as a dict of its fields; sequences come back as tuples."""

    def __init__(self, cls: type[Any]) -> None:
        self.type = cls
        self.name = f"forebyg.{cls.__name__}"

    def encode(self, obj: Any) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


VOCABULARIES: tuple[type[values.Vocabulary], ...] = (
    values.OrgKind,
    values.Role,
    values.TargetGroup,
    values.LegalBasis,
    values.Decision,
    values.ActionKind,
    values.ClosureReason,
    values.CaseStatus,
    values.ActionStatus,
    values.MeetingStatus,
)
VALUE_OBJECTS: tuple[type[Any], ...] = (values.Subject, values.Meeting, values.Action)


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    for vocabulary in VOCABULARIES:
        transcoder.register(VocabularyAsValue(vocabulary))
    for value_object in VALUE_OBJECTS:
        transcoder.register(ValueObjectAsDict(value_object))
