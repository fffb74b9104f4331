"""/api/openapi.json, generated from the routes and schemas the code itself uses."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Blueprint, current_app, jsonify
from marshmallow import Schema

from interfaces.web import schemas
from interfaces.web.api import IDEMPOTENCY_KEY, REGISTRY, Operation

bp = Blueprint("openapi", __name__)
PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
PROBLEMS = {
    400: "Bad request",
    401: "Not signed in (missing, invalid or expired token)",
    403: "The caller's role may not do this",
    404: "Not found (or not visible to the caller's organisation)",
    405: "Method not allowed",
    409: "Refused by the model's rules, or a conflicting change",
    412: "If-Match names a version that is not current",
    413: "Body too large",
    415: "Body is not application/json",
    422: "Invalid input, with messages per field",
    429: "Too many failed sign-ins (Retry-After)",
}
# A command's 422 is also the answer to an Idempotency-Key first used with another request.
COMMAND_422 = (
    "Invalid input, with messages per field; or an Idempotency-Key reused with a different request"
    " (another body, path or method), whose errors name `Idempotency-Key`"
)
OPENAPI_VERSION = "3.0.3"


def component_name(schema: type[Schema] | Schema) -> str:
    """A schema's name among the document's components, one name per schema class: a response
    is named for what it is (``TokenResponse``: ``Token``), a request keeps its suffix
    (``TokenRequest``), so an answer and the request that asks for it never share a name."""
    cls = resolve_schema_cls(schema)
    assert not isinstance(cls, list), "the API's schemas are classes, one each"
    return cls.__name__.removesuffix("Response")


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for converter, name in PATH_PARAM.findall(rule):
        schema: dict[str, Any] = {"type": "string"}
        if converter == "uuid":
            schema["format"] = "uuid"
        else:
            schema["pattern"] = "^[a-z0-9][a-z0-9-]{1,62}$"
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return PATH_PARAM.sub(r"{\2}", rule), params


def _operation(spec: APISpec, op: Operation) -> dict[str, Any]:
    path, params = _path(op.path)
    responses: dict[str, Any] = {}
    ok: dict[str, Any] = {"description": {200: "OK", 201: "Created", 204: "No content"}[op.status]}
    if op.response is not None:
        ok["content"] = {"application/json": {"schema": component_name(op.response)}}
    if op.etag:
        ok["headers"] = {"ETag": {"description": "the resource's version", "schema": {"type": "string"}}}
    responses[str(op.status)] = ok
    if op.etag and not op.command:
        responses["304"] = {"description": "Not modified (If-None-Match)"}
    codes = [401, 422, 429] if op.public else [401, 403, 404, 422]
    if op.public and op.method == "DELETE":
        codes = [401]
    if op.command:
        codes += [409, 412, 415]
    if op.request is not None:
        codes += [413, 415]
    for code in sorted(set(codes)):
        responses[str(code)] = {
            "description": COMMAND_422 if code == 422 and op.command else PROBLEMS[code],
            "content": {"application/problem+json": {"schema": "Problem"}},
        }
    operation: dict[str, Any] = {
        "summary": op.summary,
        "tags": [op.tag],
        "operationId": op.operation_id,
        "responses": responses,
        "parameters": list(params),
    }
    if op.query is not None:
        operation["parameters"].append({"in": "query", "schema": op.query})
    if op.command:
        operation["parameters"] += [
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": "the version you last read; a stale one answers 412",
                "schema": {"type": "string", "pattern": r'^"?\d{1,9}"?$'},
            },
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "a retry with the same key returns the first answer and records nothing twice;"
                " one key per request (no comma: a repeated header arrives comma-joined and is refused);"
                " a key reused with a different request (another body, path or method) answers 422",
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": IDEMPOTENCY_KEY.pattern,
                },
            },
        ]
    if op.request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": component_name(op.request)}},
        }
    operation["security"] = [] if op.public else [{"bearerAuth": []}]
    return {path: {op.method.lower(): operation}}


def build_spec() -> dict[str, Any]:
    plugin = MarshmallowPlugin(schema_name_resolver=component_name)
    spec = APISpec(
        title="Forebyg API",
        version="1.0.0",
        openapi_version=OPENAPI_VERSION,
        plugins=[plugin],
        info={"description": "Collaboration forums against recruitment to extremist environments."},
    )
    for field, fmt in ((schemas.IsoDate, "date"), (schemas.IsoDateTime, "date-time"), (schemas.Uuid, "uuid")):
        plugin.map_to_openapi_type(field, "string", fmt)  # type: ignore[no-untyped-call]
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Problem", schema=schemas.ProblemResponse)
    for op in REGISTRY.operations:
        for schema in (op.request, op.response):
            if schema is None:
                continue
            name = component_name(schema)
            if name not in spec.components.schemas:
                spec.components.schema(name, schema=schema)
    paths: dict[str, dict[str, Any]] = {}
    for op in REGISTRY.operations:
        for path, methods in _operation(spec, op).items():
            paths.setdefault(path, {}).update(methods)
    for path, methods in paths.items():
        spec.path(path=path, operations=methods)
    return spec.to_dict()


@bp.get("/api/openapi.json")
def openapi() -> Any:
    if "openapi" not in current_app.extensions:
        current_app.extensions["openapi"] = build_spec()
    return jsonify(current_app.extensions["openapi"])
