"""Operational logs: one JSON object per line, redacted before it is written.

Operational logs are for running the service — they say which request, which route, which
user id and organisation, how long, what failed — and they never hold a personal value, a token
or a password. Who read which personal data, and why, is the access log's business (a table
of its own, for the DPO; see docs/privacy.md), never these lines.

Redaction is a step of its own, applied to every line whatever wrote it (our code, gunicorn,
the libraries): keys that name secrets or personal data are dropped, and in every text a bearer
token, a password parameter, a CPR number, an e-mail address and a `purpose` parameter are
masked. It is a safety net, not a licence: code logs ids and counts, never values.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

from domain.values import CPR_IN_TEXT

REDACTED = "[redacted]"
# Keys whose values never reach a log line, whatever they hold.
SECRET_KEYS = frozenset(
    {
        "authorization",
        "cookie",
        "set-cookie",
        "password",
        "new_password",
        "token",
        "secret",
        "secret_key",
        "store_key",
        "purpose",
        "cpr",
        "name",
        "concern",
        "subject",
        "body",
    }
)
MASKS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    (
        re.compile(r"(?i)((?:password|passwd|token|secret)[\"']?\s*[=:]\s*[\"']?)[^\s&\"',}]+"),
        r"\1" + REDACTED,
    ),
    (re.compile(r"(?i)([?&]purpose=)[^&\s\"']*"), r"\1" + REDACTED),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), "[e-mail]"),
    (CPR_IN_TEXT, "[cpr]"),
    (re.compile(r"postgres(?:ql)?://[^\s\"']*"), "postgresql://" + REDACTED),
)
# The attributes every LogRecord has: anything else was given as `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def redact(value: Any, key: str = "") -> Any:
    """The value with secrets and personal values masked (recursively)."""
    if key.lower() in SECRET_KEYS:
        return REDACTED
    if isinstance(value, str):
        for pattern, replacement in MASKS:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message and the extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info))
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(redact(entry), ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Plain lines (FOREBYG_LOG_FORMAT=text, for a terminal), redacted the same way."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(name)s %(levelname)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return str(redact(super().format(record)))


def formatter() -> logging.Formatter:
    return TextFormatter() if os.environ.get("FOREBYG_LOG_FORMAT", "json") == "text" else JsonFormatter()


def configure(level: int = logging.INFO) -> None:
    """Every log record of this process, as redacted lines on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def gunicorn_logconfig() -> dict[str, Any]:
    """gunicorn's own logs (its error log) through the same formatter (`logconfig_dict`)."""
    handler = {"class": "logging.StreamHandler", "formatter": "forebyg", "stream": "ext://sys.stderr"}
    factory = "interfaces.logs.formatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"forebyg": {"()": factory}},
        "handlers": {"stderr": handler},
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        },
    }
