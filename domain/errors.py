"""The domain's errors: every broken rule raises one of these before anything changes."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the collaboration model was broken; nothing was recorded."""


class InvalidValueError(DomainError, ValueError):
    """A value is not acceptable (unknown vocabulary word, empty text, bad date)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DateOrderError(InvalidValueError):
    """A business date precedes a date it must follow (e.g. the referral)."""


class ForumDissolvedError(DomainError):
    """The forum has been dissolved and takes no more work."""


class NotAMemberError(DomainError):
    """The organisation is not a member of the forum."""


class AlreadyAMemberError(DomainError):
    """The organisation is already a member of the forum."""


class ChairCannotLeaveError(DomainError):
    """The chairing organisation cannot leave its own forum."""


class MeetingNotFoundError(DomainError):
    """No such meeting in this forum."""


class MeetingAlreadyHeldError(DomainError):
    """A meeting is held once."""


class MeetingCancelledError(DomainError):
    """The meeting was cancelled."""


class WrongForumError(DomainError):
    """A case can only be discussed at, or act on, a meeting of its own forum."""


class CaseClosedError(DomainError):
    """The case is closed; reopen it first."""


class CaseNotClosedError(DomainError):
    """Only a closed (or redirected / no-further-action) case can be reopened."""


class AssessmentNotAllowedError(DomainError):
    """The case is not in a state where it can be assessed."""


class ActionsNotAllowedError(DomainError):
    """Actions are agreed only on an accepted, open case."""


class ActionNotFoundError(DomainError):
    """No such action on this case."""


class ActionAlreadyCompletedError(DomainError):
    """An action is completed at most once."""


class ActionCancelledError(DomainError):
    """The action was cancelled."""


class OpenActionsError(DomainError):
    """The case still has open actions: complete or cancel them first."""


class NoReviewDueError(DomainError):
    """There is no review scheduled for this case."""


class ReminderAlreadySentError(DomainError):
    """A reminder key is delivered at most once."""


class PersonalDataErasedError(DomainError):
    """The subject's personal data was erased: nothing holding personal data is recorded."""
