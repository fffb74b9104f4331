"""Presenting a read: the response schema's dump, with the resource's ETag when it has a version."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from marshmallow import Schema


def read(data: Any, schema: type[Schema], version: int | None = None, *, personal: bool = False) -> Response:
    """The response, with the resource's version as ETag. A read with personal data is never
    answered 304: the client's cached copy may be one without it."""
    if version is None and isinstance(data, dict) and isinstance(data.get("version"), int):
        version = data["version"]
    tag = None if version is None else str(version)
    if tag is not None and not personal and request.if_none_match.contains(tag):
        response = Response(status=304)
        response.headers["ETag"] = f'"{tag}"'
        return response
    response = jsonify(schema().dump(data))
    if tag is not None:
        response.headers["ETag"] = f'"{tag}"'
    return response
