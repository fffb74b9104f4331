"""The plumbing every API endpoint shares, declared once per route: authentication, JSON
parsing with the route's schema, If-Match, Idempotency-Key, ETag, and the OpenAPI entry."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any
from uuid import UUID

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import RAISE, Schema, ValidationError

from application.accounts import Caller
from application.app import Forebyg
from application.errors import ApplicationError, PermissionDeniedError
from application.receipts import Idempotency, Recorded
from domain.errors import DomainError
from interfaces.web.auth import current_caller
from interfaces.web.errors import BadRequestError

IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')
BAD_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
MAX_KEY = 200
# Printable ASCII but the comma: a header sent twice reaches the application as the two values
# joined by a comma, so a comma means two keys, which are refused rather than merged into one.
IDEMPOTENCY_KEY = re.compile(r"^[ -+\--~]{1,200}$")


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    summary: str
    tag: str
    request: type[Schema] | None
    query: type[Schema] | None
    response: type[Schema] | None
    status: int
    public: bool
    command: bool
    etag: bool


@dataclass
class Command:
    """What a command view gets besides its body: who, which version, which idempotency key."""

    caller: Caller
    expected_version: int | None
    idempotency: Idempotency | None

    def new_id(self, what: str) -> UUID | None:
        """An id for something the command creates: derived from the key, so a retry names it again."""
        return self.idempotency.derived_id(what) if self.idempotency else None


@dataclass
class Registry:
    operations: list[Operation] = field(default_factory=list)


REGISTRY = Registry()


def forebyg() -> Forebyg:
    app: Forebyg = current_app.extensions["forebyg"]
    return app


def etag(version: int) -> str:
    return f'"{version}"'


def _json_body(schema: type[Schema]) -> dict[str, Any]:
    if request.mimetype != "application/json":
        raise BadRequestError(
            {"Content-Type": ["must be application/json"]}, status=415, title="Unsupported media type"
        )
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw or b"null", object_pairs_hook=_unique_keys)
    except DuplicateKeyError as duplicate:
        raise BadRequestError({duplicate.key: ["is given twice in the JSON body"]}) from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequestError({"_body": ["is not valid JSON"]}) from None
    except RecursionError:
        raise BadRequestError({"_body": ["is nested too deeply"]}) from None
    if not isinstance(data, dict):
        raise BadRequestError({"_body": ["must be a JSON object"]})
    _check_text(data, "")
    loaded: dict[str, Any] = schema().load(data)
    return loaded


class DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"{key!r} is given twice")
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different: with a key given twice, which value counts
    would depend on the parser, so such a body is refused."""
    members: dict[str, Any] = {}
    for key, value in pairs:
        if key in members:
            raise DuplicateKeyError(key)
        members[key] = value
    return members


def _check_text(value: Any, path: str, depth: int = 0) -> None:
    """Refuse text no store can keep faithfully: NUL and other control characters, lone
    surrogates; and structures nested deeper than any request needs."""
    if depth > 20:
        raise BadRequestError({path or "_body": ["is nested too deeply"]})
    if isinstance(value, str):
        if BAD_TEXT.search(value):
            raise BadRequestError({path or "_body": ["contains control characters or invalid unicode"]})
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, path or "_body", depth + 1)
            _check_text(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_text(item, f"{path}.{index}", depth + 1)


def _expected_version() -> int | None:
    header = request.headers.get("If-Match")
    if header is None:
        return None
    match = IF_MATCH.match(header)
    if not match:
        raise BadRequestError({"If-Match": ['must be an ETag of this resource, e.g. "3"']})
    return int(match.group(1))


def _idempotency(caller: Caller) -> Idempotency | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if "," in key:
        raise BadRequestError({"Idempotency-Key": ["must be given once, a single key (no comma)"]})
    if not IDEMPOTENCY_KEY.match(key):
        raise BadRequestError(
            {"Idempotency-Key": [f"must be 1-{MAX_KEY} visible ASCII characters or spaces"]}
        )
    try:  # the same request however its JSON was written (key order, spacing)
        canonical = json.dumps(json.loads(request.get_data(cache=True) or b"null"), sort_keys=True).encode()
    except (ValueError, UnicodeDecodeError, RecursionError):
        canonical = request.get_data(cache=True)
    target = request.path.encode()
    if request.query_string:  # a command's query parameters (a member's left_on) are part of it
        target += b"?" + request.query_string
    fingerprint = b"\n".join((request.method.encode(), target, canonical))
    return Idempotency.of(str(caller.user_id), key, fingerprint)


def _present(recorded: Recorded, schema: type[Schema] | None, status: int) -> Response:
    body = {"id": recorded.id, "version": recorded.version}
    for name in ("meeting_id", "action_id", "subject_id"):
        if getattr(recorded, name) is not None:
            body[name] = getattr(recorded, name)
    response = jsonify((schema or Schema)().dump(body) if schema else body)
    response.status_code = status
    response.headers["ETag"] = etag(recorded.version)
    if recorded.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _query_args() -> dict[str, str]:
    """The query string, each parameter once: a repeated one is ambiguous, so refused."""
    given = request.args.to_dict(flat=False)
    repeated = {name: ["Given more than once."] for name, values in given.items() if len(values) > 1}
    if repeated:
        raise ValidationError(repeated)
    args = {name: values[0] for name, values in given.items()}
    _check_text(args, "")
    return args


def route(
    blueprint: Blueprint,
    rule: str,
    method: str,
    *,
    summary: str,
    response: type[Schema] | None = None,
    request_schema: type[Schema] | None = None,
    query: type[Schema] | None = None,
    status: int = 200,
    public: bool = False,
    etag_header: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an endpoint. A command view (``request_schema`` given, or POST) receives
    ``ctx: Command`` and ``body``; a query view receives ``caller`` and ``query``."""
    command = method in ("POST", "PUT", "PATCH", "DELETE") and not public

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        prefix = blueprint.url_prefix or ""
        REGISTRY.operations.append(
            Operation(
                path=prefix + rule,
                method=method,
                summary=summary,
                tag=blueprint.name,
                request=request_schema,
                query=query,
                response=response,
                status=status,
                public=public,
                command=command,
                etag=etag_header or command,
            )
        )

        @wraps(view)
        def endpoint(**path: Any) -> Any:
            app = forebyg()
            kwargs: dict[str, Any] = dict(path)
            caller = None if public else current_caller(app)  # who asks, before what they ask
            if request_schema is not None:
                kwargs["body"] = _json_body(request_schema)
            if query is not None:
                kwargs["query"] = query().load(_query_args(), unknown=RAISE)
            elif not public and request.args:  # a misspelt filter must not quietly answer everything
                raise ValidationError({name: ["Unknown field."] for name in _query_args()})
            if caller is None:
                return view(**kwargs)
            if not command:
                return view(caller=caller, **kwargs)
            ctx = Command(caller, _expected_version(), _idempotency(caller))
            try:
                recorded = view(ctx=ctx, **kwargs)
            except PermissionDeniedError:
                raise  # who may do it comes before what was asked, and no retry turns it around
            except (DomainError, ApplicationError):
                # A retry of a command that was recorded may now break a rule (an action
                # completed twice): the first answer stands.
                first = app.recorded_answer(ctx.idempotency) if ctx.idempotency else None
                if first is None:
                    raise
                recorded = first
            return _present(recorded, response, status)

        blueprint.add_url_rule(rule, view.__name__, endpoint, methods=[method])
        return endpoint

    return decorate
