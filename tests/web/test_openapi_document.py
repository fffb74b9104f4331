"""The OpenAPI document is one a client generator can trust: every component is one schema
under one name (an answer never shares its request's name), every reference resolves, every
operation is named in the domain's words as its route declares it, and every constraint the
server enforces on schema-valid-looking input is stated (text patterns, the 422 of an
Idempotency-Key reused with another request)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
from marshmallow import Schema, fields

from interfaces.web.openapi import build_spec, component_name
from tests.web.support import registered_operations

OPERATIONS = registered_operations()
DOCUMENT = build_spec()
OPERATION_ID = re.compile(r"^[a-z]+(?:_[a-z]+)+$")


def _schemas(schema: type[Schema], seen: set[type[Schema]]) -> Iterator[type[Schema]]:
    """The schema and every schema nested in it."""
    if schema in seen:
        return
    seen.add(schema)
    yield schema
    for field in schema._declared_fields.values():
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested) and isinstance(inner.nested, type):
            yield from _schemas(inner.nested, seen)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _described() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in DOCUMENT["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_no_two_schemas_share_a_component_name() -> None:
    seen: set[type[Schema]] = set()
    named: dict[str, set[type[Schema]]] = {}
    for op in OPERATIONS:
        for top in (op.request, op.response):
            for schema in _schemas(top, seen) if top is not None else ():
                named.setdefault(component_name(schema), set()).add(schema)
    shared = {
        name: sorted(s.__name__ for s in schemas) for name, schemas in named.items() if len(schemas) > 1
    }
    assert shared == {}
    assert set(named) <= set(DOCUMENT["components"]["schemas"])
    # The defect a generated client met: sign-in's answer described with the request's schema.
    sign_in = DOCUMENT["paths"]["/api/tokens"]["post"]
    answer = sign_in["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    request = sign_in["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert answer != request
    assert set(DOCUMENT["components"]["schemas"][answer.rsplit("/", 1)[1]]["properties"]) == {
        "token",
        "expires_at",
    }


def test_every_reference_resolves() -> None:
    refs = set(_refs(DOCUMENT))
    assert refs
    for ref in refs:
        kind, name = ref.removeprefix("#/components/").split("/")
        assert name in DOCUMENT["components"][kind], ref


def _template(path: str) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)


def test_every_operation_is_named_as_its_route_declares_in_the_domains_words() -> None:
    declared = {(_template(op.path), op.method.lower()): op.operation_id for op in OPERATIONS}
    described = {(path, method): operation["operationId"] for path, method, operation in _described()}
    assert described == declared
    ids = list(described.values())
    assert len(ids) == len(set(ids)), "an operation id given twice"
    assert all(OPERATION_ID.match(i) and "api" not in i.split("_") for i in ids), ids
    assert {
        "sign_in",
        "sign_out",
        "establish_forum",
        "refer_case",
        "assess_case",
        "agree_action",
        "get_case",
        "get_case_history",
    } <= set(ids)


def test_every_command_documents_the_422_of_an_idempotency_key_reused_with_another_request() -> None:
    commands = {(_template(op.path), op.method.lower()) for op in OPERATIONS if op.command}
    assert commands
    for path, method, operation in _described():
        if (path, method) not in commands:
            continue
        assert "Idempotency-Key" in operation["responses"]["422"]["description"], (path, method)
        header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
        assert "422" in header["description"]


def test_every_text_field_states_its_characters_as_a_pattern() -> None:
    """A string a request may carry as free text has a pattern refusing what the server refuses."""
    unstated = []
    for name, schema in DOCUMENT["components"]["schemas"].items():
        if not name.endswith("Request"):
            continue
        for field, described in schema.get("properties", {}).items():
            prop = described.get("items", described)
            if prop.get("type") != "string" or "format" in prop or "enum" in prop:
                continue
            if "pattern" not in prop:
                unstated.append(f"{name}.{field}")
            else:  # no string a body may carry holds a NUL: the server refuses it (422)
                assert not re.match(prop["pattern"], "a\x00b"), f"{name}.{field}"
    assert unstated == []


def _patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


def test_every_pattern_is_one_a_json_schema_validator_reads() -> None:
    """A pattern a validator cannot compile is dropped by generators and checkers alike (a lone
    surrogate in a character class did that to every text pattern): each compiles in
    jsonschema-rs, an ECMA-262 validator with Unicode semantics."""
    patterns = set(_patterns(DOCUMENT))
    assert len(patterns) >= 5
    for pattern in patterns:
        jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
