"""/healthz: the process is alive. /readyz: the event store answers."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, jsonify

from application.errors import StoreNotReadyError
from interfaces.web.api import forebyg
from interfaces.web.errors import problem

bp = Blueprint("health", __name__)
log = logging.getLogger("forebyg.web")


@bp.get("/healthz")
def healthz() -> Any:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Any:
    try:
        forebyg().check_ready()
    except StoreNotReadyError:
        log.exception("readyz: the store is not ready")  # details for operators, not callers
        return problem(503, "Store not ready", "The event store cannot be reached or is not migrated.")
    return jsonify(status="ready")
