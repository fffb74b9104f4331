"""/healthz: the process is alive. /readyz: the event store answers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from application.errors import StoreNotReadyError
from interfaces.web.api import forebyg
from interfaces.web.errors import problem

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Any:
    try:
        forebyg().check_ready()
    except StoreNotReadyError as error:
        return problem(503, "Store not ready", str(error))
    return jsonify(status="ready")
