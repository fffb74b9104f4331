"""Presenting a read: the response schema's dump, with the resource's ETag when it has a version."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from marshmallow import Schema

from interfaces.web.api import etag


def read(data: Any, schema: type[Schema], version: int | None = None) -> Response:
    if version is None and isinstance(data, dict) and isinstance(data.get("version"), int):
        version = data["version"]
    if version is not None and request.if_none_match.contains(str(version)):
        response = Response(status=304)
        response.headers["ETag"] = etag(version)
        return response
    response = jsonify(schema().dump(data))
    if version is not None:
        response.headers["ETag"] = etag(version)
    return response
