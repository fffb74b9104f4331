"""How the domain's value types are written into, and read back from, stored events."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Transcoding,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)

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
        self.fields = frozenset(f.name for f in dataclasses.fields(cls))

    def encode(self, obj: Any) -> dict[str, Any]:
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}

    def decode(self, data: dict[str, Any]) -> Any:
        # A field that a later version dropped (a Meeting's texts, say) is left out.
        return self.type(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in self.fields}
        )


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


class KnownUUID(UUID):
    """A ``UUID`` that keeps its text. The read models' decoder makes each recurring id once
    and the read models write ids as text, again and again: ``str(UUID)`` formats the text
    anew each time (~0.5 µs), which was a tenth of a rebuild's main thread. Equal to, and
    hashing as, the plain ``UUID`` of the same value; only read models see it (the library's
    transcoder, which looks types up exactly, never encodes the events it is in)."""

    __slots__ = ("_text",)
    _text: str

    def __init__(self, text: str) -> None:
        super().__init__(text)
        object.__setattr__(self, "_text", UUID.__str__(self))

    def __str__(self) -> str:
        return self._text

    def __reduce__(self) -> tuple[type[KnownUUID], tuple[str]]:  # (UUID's own drops the text)
        return KnownUUID, (self._text,)


# Typed values that are immutable and recur across events (ids, business dates, vocabulary
# words): decoded once per distinct text. Timestamps (unique per event) are not kept.
REUSABLE = (UUID, date, Enum)
MAX_REUSED = 100_000


NOT_DIRECT: tuple[Any, Any] = (None, None)


class Reviver:
    """What the library's JSON object hook makes of parsed JSON, inner values first; a
    recurring immutable value (an id, a date, a vocabulary word) is decoded once."""

    def __init__(self, names: dict[str, Transcoding]) -> None:
        self.names = names
        self.registered = len(names)
        # One cache per reusable type: text -> value.
        self.caches: dict[str, dict[str, Any]] = {
            name: {}
            for name, transcoding in names.items()
            if issubclass(transcoding.type, REUSABLE) and not issubclass(transcoding.type, datetime)
        }
        # Values decoded straight from their data, without a walk: timestamps (text, unique,
        # so not cached) and transcodings whose data (a dict) holds no typed values
        # (``flat_data``); each with the type of data it takes.
        self.direct: dict[str, tuple[Any, type]] = {}
        for name, transcoding in names.items():
            if type(transcoding) is DatetimeAsISO:
                self.direct[name] = (datetime.fromisoformat, str)
            elif getattr(transcoding, "flat_data", False):
                self.direct[name] = (transcoding.decode, dict)
        self.uuids: dict[str, UUID] = {}
        self.cached = 0

    def revive_state(self, state: dict[str, Any]) -> None:
        """Revive an event's parsed state in place (the common shapes inlined: this runs for
        every value of every event of a rebuild)."""
        caches, direct = self.caches, self.direct
        for name, value in state.items():
            if type(value) is dict:
                type_name = value.get("_type_")
                if type_name is not None and len(value) == 2 and "_data_" in value:
                    data = value["_data_"]
                    cache = caches.get(type_name)
                    if cache is not None and type(data) is str:
                        known = cache.get(data)
                        state[name] = self.remember(cache, type_name, data) if known is None else known
                        continue
                    decode, takes = direct.get(type_name, NOT_DIRECT)
                    if type(data) is takes:
                        state[name] = decode(data)
                    else:
                        state[name] = self.typed(type_name, data)
                else:
                    state[name] = self.revive(value)
            elif type(value) is list:
                state[name] = self.revive(value)

    def revive(self, value: Any) -> Any:
        if type(value) is dict:
            if len(value) == 2 and "_type_" in value and "_data_" in value:
                return self.typed(value["_type_"], value["_data_"])
            return {
                key: self.revive(item) if type(item) is dict or type(item) is list else item
                for key, item in value.items()
            }
        if type(value) is list:
            return [self.revive(item) if type(item) is dict or type(item) is list else item for item in value]
        return value

    def typed(self, name: str, data: Any) -> Any:
        cache = self.caches.get(name)
        if cache is not None and type(data) is str:
            known = cache.get(data)
            return self.remember(cache, name, data) if known is None else known
        if type(data) is dict or type(data) is list:
            data = self.revive(data)
        return self.transcoding(name).decode(data)

    def remember(self, cache: dict[str, Any], name: str, data: str) -> Any:
        self.make_room()
        transcoding = self.transcoding(name)
        decoded = KnownUUID(data) if type(transcoding) is UUIDAsHex else transcoding.decode(data)
        value = cache[data] = decoded
        self.cached += 1
        return value

    def make_room(self) -> None:
        """The caches hold at most MAX_REUSED values in all; when full, they start again."""
        if self.cached >= MAX_REUSED:
            for cache in self.caches.values():
                cache.clear()
            self.uuids.clear()
            self.cached = 0

    def uuid(self, text: str) -> UUID:
        """An originator id (as text from the log) as a ``UUID``, made once per aggregate."""
        known = self.uuids.get(text)
        if known is None:
            self.make_room()
            known = self.uuids[text] = KnownUUID(text)
            self.cached += 1
        return known

    def transcoding(self, name: str) -> Transcoding:
        try:
            return self.names[name]
        except KeyError:
            raise TranscodingNotRegisteredError(f"no transcoding named {name!r}") from None
