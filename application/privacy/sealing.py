"""Sealing personal fields into events with the subject's key, and opening them again.

Only the fields that `domain.case.PERSONAL_FIELDS` declares are sealed (and, in a Case
snapshot, the attributes holding them); dates, categories and organisations stay readable for
the workflow and for evaluation. A sealed field whose key was destroyed opens as erased.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    JSONTranscoder,
    Mapper,
    StoredEvent,
    Transcoding,
    TranscodingNotRegisteredError,
)
from eventsourcing.utils import get_topic, resolve_topic

from application.privacy.keystore import KeyStore
from domain.case import PERSONAL_FIELDS, Case
from domain.errors import PersonalDataErasedError
from domain.values import ERASED, Subject

CASE_TOPIC = get_topic(Case)
CASE_TOPIC_PREFIX = CASE_TOPIC + "."
SNAPSHOT_PERSONAL_STATE = ("subject", "concern", "assessment", "closure_summary", "actions")


@dataclass(frozen=True)
class Sealed:
    """A personal value encrypted with its subject's key."""

    subject_id: str
    tag: str  # what it opens as when erased: "subject", "text" or "value"
    blob: str


class SealedAsDict(Transcoding):
    type = Sealed
    name = "forebyg.sealed"

    def encode(self, obj: Sealed) -> dict[str, str]:
        return {"s": obj.subject_id, "t": obj.tag, "b": obj.blob}

    def decode(self, data: dict[str, str]) -> Sealed:
        return Sealed(subject_id=data["s"], tag=data["t"], blob=data["b"])


class SealingMapper(Mapper[UUID]):
    keystore: KeyStore
    _reviver: Reviver | None = None

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        topic = get_topic(type(domain_event))
        state = dict(vars(domain_event))
        if state.get("topic") == CASE_TOPIC and isinstance(state.get("state"), dict):
            name = "Snapshot"
        elif topic.startswith(CASE_TOPIC_PREFIX):
            name = topic[len(CASE_TOPIC_PREFIX) :]
        else:
            return super().to_stored_event(domain_event)
        if name == "Snapshot":
            fields: tuple[str, ...] = SNAPSHOT_PERSONAL_STATE
            target = dict(state["state"])
        else:
            fields = tuple(PERSONAL_FIELDS.get(name, ()))
            target = state
        if not fields:
            return super().to_stored_event(domain_event)
        case_id = domain_event.originator_id
        subject_id = self.keystore.subject_of(case_id)
        key = self.keystore.key(subject_id) if subject_id else None
        if subject_id is None or key is None:
            raise PersonalDataErasedError(
                f"no key for the subject of case {case_id}: personal data not recorded"
            )
        for field in fields:
            if field in target:
                target[field] = self._seal(key, subject_id, case_id, field, target[field])
        if name == "Snapshot":
            state["state"] = target
        sealed_event = object.__new__(type(domain_event))
        object.__setattr__(sealed_event, "__dict__", state)
        return super().to_stored_event(sealed_event)

    def to_workflow_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """The event with its personal fields left sealed: for read models, which never
        need them (and so never hold personal data, even in memory)."""
        return self.decode_workflow(
            stored_event.originator_id,
            stored_event.originator_version,
            stored_event.topic,
            stored_event.state,
        )

    def decode_workflow(
        self, originator_id: UUID | str, originator_version: int, topic: str, stored_state: bytes
    ) -> DomainEventProtocol[UUID]:
        """``to_workflow_event`` from a log row's parts. Read models decode the whole log when
        rebuilt, so this is the library's ``to_domain_event`` made faster: orjson parses the
        JSON (about 5x the standard library with its object hook), typed values
        (``{"_type_": …, "_data_": …}``) are revived in one walk of the parsed state, and a
        recurring id, date or vocabulary word is decoded once."""
        transcoder = self.transcoder
        if not isinstance(transcoder, JSONTranscoder):
            return self._library_decode(originator_id, originator_version, topic, stored_state)
        plain = stored_state
        if self.cipher:
            plain = self.cipher.decrypt(plain)
        if self.compressor:
            plain = self.compressor.decompress(plain)
        try:
            state = orjson.loads(plain)
        except orjson.JSONDecodeError:  # JSON that only the standard library reads (e.g. NaN)
            return self._library_decode(originator_id, originator_version, topic, stored_state)
        reviver = self._reviver
        if reviver is None or reviver.registered != len(transcoder.names):
            reviver = self._reviver = Reviver(transcoder.names)
        reviver.revive_state(state)
        cls = resolve_topic(topic)
        state["originator_id"] = (
            originator_id if isinstance(originator_id, UUID) else reviver.uuid(str(originator_id))
        )
        state["originator_version"] = originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event  # type: ignore[no-any-return]

    def _library_decode(
        self, originator_id: UUID | str, originator_version: int, topic: str, stored_state: bytes
    ) -> DomainEventProtocol[UUID]:
        stored = StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=stored_state,
        )
        return super().to_domain_event(stored)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        event = super().to_domain_event(stored_event)
        state = vars(event)
        if state.get("topic") == CASE_TOPIC and isinstance(state.get("state"), dict):
            target = state["state"]
        elif stored_event.topic.startswith(CASE_TOPIC_PREFIX):
            target = state
        else:
            return event
        for field, value in list(target.items()):
            if isinstance(value, Sealed):
                target[field] = self._open(value, event.originator_id, field)
        return event

    def _seal(self, key: bytes, subject_id: str, case_id: UUID, field: str, value: Any) -> Sealed:
        tag = "subject" if isinstance(value, Subject) else "text" if isinstance(value, str) else "value"
        nonce = os.urandom(12)
        plaintext = self.transcoder.encode({"v": value})
        ciphertext = AESGCM(key).encrypt(nonce, plaintext, f"{case_id}:{field}".encode())
        return Sealed(subject_id=subject_id, tag=tag, blob=base64.b64encode(nonce + ciphertext).decode())

    def _open(self, sealed: Sealed, case_id: UUID, field: str) -> Any:
        key = self.keystore.key(sealed.subject_id)
        if key is not None:
            raw = base64.b64decode(sealed.blob)
            try:
                plaintext = AESGCM(key).decrypt(raw[:12], raw[12:], f"{case_id}:{field}".encode())
            except InvalidTag:
                pass
            else:
                return self.transcoder.decode(plaintext)["v"]
        if sealed.tag == "subject":
            return Subject(name=ERASED)
        if sealed.tag == "text":
            return ERASED
        raise PersonalDataErasedError(f"case {case_id}: {field} was erased")


# Typed values that are immutable and recur across events (ids, business dates, vocabulary
# words): decoded once per distinct text. Timestamps (unique per event) are not kept.
REUSABLE = (UUID, date, Enum)
MAX_REUSED = 100_000


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
        self.uuids: dict[str, UUID] = {}
        self.cached = 0

    def revive_state(self, state: dict[str, Any]) -> None:
        """Revive an event's parsed state in place (the common shapes inlined: this runs for
        every value of every event of a rebuild)."""
        caches = self.caches
        for name, value in state.items():
            if type(value) is dict:
                if len(value) == 2 and "_type_" in value and "_data_" in value:
                    type_name, data = value["_type_"], value["_data_"]
                    cache = caches.get(type_name)
                    if cache is not None and type(data) is str:
                        known = cache.get(data)
                        state[name] = self.remember(cache, type_name, data) if known is None else known
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
        value = cache[data] = self.transcoding(name).decode(data)
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
            known = self.uuids[text] = UUID(text)
            self.cached += 1
        return known

    def transcoding(self, name: str) -> Transcoding:
        try:
            return self.names[name]
        except KeyError:
            raise TranscodingNotRegisteredError(f"no transcoding named {name!r}") from None
