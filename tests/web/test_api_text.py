"""Hidden characters through the API: a bidirectional override, a C1 control, a zero-width
character or a line separator in a single-line field (a forum's name, its housing areas, a
subject's name, a read's purpose), or a hidden one in a free text, is 422 naming the field and
records nothing; the OpenAPI document states the same rule as each field's pattern."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.web import endpoints
from tests.web.support import Call, Side, World, field_errors, ok

HIDDEN = {
    "bidi override": "\u202e",
    "bidi isolate": "\u2067",
    "C1 control": "\u0085",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "word joiner": "\u2060",
    "byte-order mark": "\ufeff",
}
SEPARATORS = {"line separator": "\u2028", "paragraph separator": "\u2029", "tab": "\t", "line feed": "\n"}


def _with(call: Call, path: str, value: str) -> Call:
    body: dict[str, Any] = dict(call.body or {})
    *parents, name = path.split(".")
    target = body
    for parent in parents:
        target[parent] = dict(target[parent])
        target = target[parent]
    current = target[name]
    if isinstance(current, list):
        target[name] = [*current[:-1], f"{current[-1]}{value}x"]
    else:
        target[name] = f"{current[:4]}{value}{current[4:]}"
    return call.with_body(body)


SINGLE_LINE: list[tuple[Callable[[Side], Call], str, str]] = [
    (endpoints.establish, "name", "name"),
    (endpoints.establish, "municipality", "municipality"),
    (endpoints.establish, "housing_areas", "housing_areas"),
    (endpoints.map_area, "housing_area", "housing_area"),
    (endpoints.refer, "subject.name", "subject.name"),
]
FREE_TEXT: list[tuple[Callable[[Side], Call], str]] = [
    (endpoints.refer, "concern"),
    (endpoints.assess, "judgement"),
    (endpoints.agree, "description"),
    (endpoints.hold, "summary"),
    (endpoints.map_area, "challenges"),
    (endpoints.close, "summary"),
]


def _refused(world: World, call: Call, field: str) -> None:
    with world.records_nothing():
        errors = field_errors(world.send(call))
    assert [name for name in errors if name == field or name.startswith(f"{field}.")], errors  # an item: .0


def test_a_forum_named_with_a_bidi_override_is_refused_naming_the_name(world: World) -> None:
    call = endpoints.establish(world.own)
    spoofed = call.with_body({**(call.body or {}), "name": "Ali\u202egnp.exe"})
    _refused(world, spoofed, "name")
    listed = ok(world.send(Call("GET", "/api/forums")))["items"]
    assert not [f for f in listed if "\u202e" in f["name"]]


def test_a_single_line_field_with_a_hidden_character_or_line_break_is_422_naming_it(
    world: World, subtests: pytest.Subtests
) -> None:
    for make, path, field in SINGLE_LINE:
        for name, char in {**HIDDEN, **SEPARATORS}.items():
            with subtests.test(msg=f"{path} {name}"):
                _refused(world, _with(make(world.own), path, char), field)


def test_a_free_text_with_a_hidden_character_is_422_naming_it(
    world: World, subtests: pytest.Subtests
) -> None:
    for make, path in FREE_TEXT:
        for name, char in HIDDEN.items():
            with subtests.test(msg=f"{path} {name}"):
                _refused(world, _with(make(world.own), path, char), path)


def test_a_free_text_may_span_lines(world: World) -> None:
    call = _with(endpoints.refer(world.own), "concern", "\n\tog\r\n")
    ok(world.send(call), 201)


def test_a_read_whose_purpose_holds_a_hidden_character_is_422_and_logs_nothing(
    world: World, subtests: pytest.Subtests
) -> None:
    side = world.own
    log = world.app.access_log
    for path in (
        f"/api/cases/{side.active_case}",
        f"/api/cases/{side.active_case}/history",
        f"/api/forums/{side.forum}",
    ):
        for name, char in {**HIDDEN, "line separator": "\u2028", "tab": "\t"}.items():
            with subtests.test(msg=f"{path} {name}"):
                logged = len(log.for_case(side.active_case)) + len(log.for_forum(side.forum))
                purpose = f"forberedelse{char} af møde"
                assert "purpose" in field_errors(world.send(Call("GET", path, query={"purpose": purpose})))
                assert len(log.for_case(side.active_case)) + len(log.for_forum(side.forum)) == logged


def test_the_document_states_each_text_fields_characters_as_a_pattern(world: World) -> None:
    document = ok(world.send(Call("GET", "/api/openapi.json"), None))
    schemas = document["components"]["schemas"]
    establish = next(s for n, s in schemas.items() if n.startswith("EstablishForum"))["properties"]
    for value, single_line_ok, free_text_ok in (
        ("Hasle", True, True),
        ("a\nb", False, True),
        ("a\u202eb", False, False),
    ):
        assert bool(re.match(establish["name"]["pattern"], value)) is single_line_ok
        assert bool(re.match(establish["housing_areas"]["items"]["pattern"], value)) is single_line_ok
        refer = next(s for n, s in schemas.items() if n.startswith("ReferCase"))["properties"]
        assert bool(re.fullmatch(refer["concern"]["pattern"], value)) is free_text_ok
