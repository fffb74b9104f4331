"""One log line per request, with a request id that is also returned as `X-Request-Id`.

The line names the URL rule (never the path with its ids, never the query with its purpose),
the status, the time taken, and who asked — user id, organisation and role — never a user name,
token or personal value. A request id sent by a proxy is kept when it is a plain token, so one id
follows a request through the proxy's log and ours.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

log = logging.getLogger("forebyg.request")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _start() -> None:
    given = request.headers.get("X-Request-Id", "")
    g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _log(response: Response) -> Response:
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers["X-Request-Id"] = request_id
    started = g.get("request_started")
    caller = g.get("caller")
    log.info(
        "request",
        extra={
            "request_id": request_id,
            "method": request.method,
            "route": request.url_rule.rule if request.url_rule is not None else "unmatched",
            "status": response.status_code,
            "duration_ms": None if started is None else round((time.perf_counter() - started) * 1000, 2),
            "user_id": str(caller.user_id) if caller is not None else None,
            "org": caller.org if caller is not None else None,
            "role": caller.role.value if caller is not None else None,
        },
    )
    return response


def install(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_log)
