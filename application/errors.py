"""Errors the application raises, beside the domain's own (which pass through unchanged)."""

from __future__ import annotations


class ApplicationError(Exception):
    """Base of the application's own errors."""


class NotFoundError(ApplicationError):
    """No such resource (or one the caller may not know exists)."""


class CaseNotFoundError(NotFoundError):
    pass


class ForumNotFoundError(NotFoundError):
    pass


class UserNotFoundError(NotFoundError):
    pass


class ConflictError(ApplicationError):
    """Someone else changed the resource first; re-read it and try again."""


class StaleVersionError(ConflictError):
    """The caller's expected version is not the current one."""

    def __init__(self, resource_id: object, expected: int, actual: int) -> None:
        super().__init__(f"{resource_id} is at version {actual}, not {expected}")
        self.expected = expected
        self.actual = actual


class AccountDeactivatedError(ConflictError):
    """The account is deactivated: it signs in no more and takes no further change."""


class ConfigurationError(ApplicationError):
    """The configuration cannot be used (bad URL, unknown setting value)."""


class StoreNotReadyError(ApplicationError):
    """The event store's tables are missing: run `forebyg migrate` first."""


class PermissionDeniedError(ApplicationError):
    """The caller's role or organisation may not do this."""


class AuthenticationError(ApplicationError):
    """Unknown user, wrong password, or a deactivated account."""


class AlreadyExistsError(ApplicationError):
    """An organisation or user with this name already exists."""


class IdempotencyKeyReusedError(ApplicationError):
    """The idempotency key was first used with a different request."""


class ErasureNotDurableError(ApplicationError):
    """The erasure is recorded but its traces are not yet wiped from the store's files."""
