"""One place mapping each exception to one HTTP status, as application/problem+json (RFC 9457)."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import InterfaceError as EventsourcingInterfaceError
from eventsourcing.persistence import OperationalError as EventsourcingOperationalError
from flask import Flask, Response, current_app, json
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from application.errors import (
    AlreadyExistsError,
    AuthenticationError,
    ConflictError,
    ErasureNotDurableError,
    IdempotencyKeyReusedError,
    NotFoundError,
    PermissionDeniedError,
    StaleVersionError,
    StoreNotReadyError,
)
from application.sessions import SessionExpiredError, TooManyAttemptsError
from domain.errors import ActionNotFoundError, DomainError, InvalidValueError, MeetingNotFoundError

PROBLEM = "application/problem+json"


class BadRequestError(Exception):
    """Input the API cannot use, with messages per field."""

    def __init__(self, errors: dict[str, list[str]], status: int = 422, title: str = "Invalid input") -> None:
        super().__init__(title)
        self.errors, self.status, self.title = errors, status, title


class UnauthorizedError(Exception):
    """No valid bearer token."""


def problem_document(status: int, title: str, detail: str = "", **extra: Any) -> dict[str, Any]:
    """The RFC 9457 body of every error, the Flask app's and the gunicorn worker's."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return body


def problem(status: int, title: str, detail: str = "", **extra: Any) -> Response:
    body = problem_document(status, title, detail, **extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="forebyg"'
    return response


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flatten(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_schema"] = list(messages)
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ValidationError)
    def invalid(error: ValidationError) -> Response:
        return problem(
            422, "Invalid input", "Some fields are not acceptable.", errors=_flatten(error.messages)
        )

    @app.errorhandler(BadRequestError)
    def bad_request(error: BadRequestError) -> Response:
        return problem(error.status, error.title, errors=error.errors)

    @app.errorhandler(InvalidValueError)
    def invalid_value(error: InvalidValueError) -> Response:
        return problem(422, "Invalid input", str(error), errors={error.field: [error.message]})

    @app.errorhandler(IdempotencyKeyReusedError)
    def key_reused(error: IdempotencyKeyReusedError) -> Response:
        return problem(422, "Idempotency-Key reused", str(error), errors={"Idempotency-Key": [str(error)]})

    @app.errorhandler(UnauthorizedError)
    @app.errorhandler(AuthenticationError)
    def unauthorized(error: Exception) -> Response:
        return problem(401, "Not signed in", str(error) or "A valid bearer token is required.")

    @app.errorhandler(TooManyAttemptsError)
    def throttled(error: TooManyAttemptsError) -> Response:
        response = problem(429, "Too many attempts", str(error))
        response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(SessionExpiredError)
    def session_expired(error: SessionExpiredError) -> Response:
        return problem(401, "Not signed in", str(error))

    @app.errorhandler(PermissionDeniedError)
    def forbidden(error: PermissionDeniedError) -> Response:
        return problem(403, "Not allowed", str(error))

    @app.errorhandler(NotFoundError)
    def not_found(error: NotFoundError) -> Response:
        return problem(404, "Not found", str(error))

    @app.errorhandler(StaleVersionError)
    def stale(error: StaleVersionError) -> Response:
        return problem(
            412, "Precondition failed", f"{error}; re-read it and retry", current_version=error.actual
        )

    @app.errorhandler(ConflictError)
    @app.errorhandler(AlreadyExistsError)
    def conflict(error: Exception) -> Response:
        return problem(409, "Conflict", str(error))

    @app.errorhandler(MeetingNotFoundError)
    @app.errorhandler(ActionNotFoundError)
    def part_not_found(error: DomainError) -> Response:
        return problem(404, "Not found", str(error))

    @app.errorhandler(DomainError)
    def broken_rule(error: DomainError) -> Response:
        return problem(409, "Refused by the collaboration model", str(error), rule=type(error).__name__)

    @app.errorhandler(StoreNotReadyError)
    def not_ready(error: StoreNotReadyError) -> Response:
        return problem(503, "Store not ready", str(error))

    @app.errorhandler(ErasureNotDurableError)
    def erasure_not_durable(error: ErasureNotDurableError) -> Response:
        response = problem(503, "Erasure not yet durable", str(error))
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(EventsourcingOperationalError)
    @app.errorhandler(EventsourcingInterfaceError)
    def database_unavailable(error: Exception) -> Response:
        current_app.extensions["forebyg"].reset_connections()
        response = problem(503, "Database unavailable", "The store cannot be reached; retry shortly.")
        response.headers["Retry-After"] = "2"
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        response = problem(status, error.name, error.description or "")
        if status == 405 and error.get_response().headers.get("Allow"):
            response.headers["Allow"] = error.get_response().headers["Allow"]
        return response
