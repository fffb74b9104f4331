"""Need-to-know: who may see and do what (DESIGN §2, §5).

A forum's cases are visible to the organisations that are its members; to anyone else they
do not exist (not found, not forbidden). Evaluators and the DPO read workflow data across
forums but never personal data. Only coordinators run the workflow; only the chair's
coordinators change a forum's membership or dissolve it; a member completes the actions its
organisation owns.
"""

from __future__ import annotations

from application.accounts import Caller
from application.errors import CaseNotFoundError, ForumNotFoundError, PermissionDeniedError
from domain.case import Case
from domain.forum import Forum
from domain.values import Role

READS_ACROSS_FORUMS = (Role.EVALUATOR, Role.DPO)
RUNS_WORKFLOW = (Role.COORDINATOR,)


def sees_forum(caller: Caller | None, forum: Forum) -> bool:
    if caller is None:
        return True
    if caller.role in READS_ACROSS_FORUMS:
        return True
    return caller.role in (Role.COORDINATOR, Role.MEMBER) and caller.org in forum.members


def check_forum(caller: Caller | None, forum: Forum, *roles: Role) -> None:
    if not sees_forum(caller, forum):
        raise ForumNotFoundError(f"forum {forum.id} not found")
    _check_role(caller, roles)


def check_chair(caller: Caller | None, forum: Forum, what: str) -> None:
    """The forum's governance (who is a member, whether it exists) is its chair's: a
    coordinator of another member organisation runs the workflow but cannot change it."""
    if caller is not None and caller.org != forum.chair_org:
        raise PermissionDeniedError(
            f"only a coordinator of the forum's chair organisation ({forum.chair_org}) may {what}"
        )


def check_case(caller: Caller | None, case: Case, forum: Forum, *roles: Role) -> None:
    if not sees_forum(caller, forum):
        raise CaseNotFoundError(f"case {case.id} not found")
    _check_role(caller, roles)


def check_role(caller: Caller | None, *roles: Role) -> None:
    _check_role(caller, roles)


def _check_role(caller: Caller | None, roles: tuple[Role, ...]) -> None:
    if caller is not None and roles and caller.role not in roles:
        allowed = " or ".join(r.value for r in roles)
        raise PermissionDeniedError(f"only a {allowed} may do this (you are {caller.role.value})")


def may_read_personal(caller: Caller | None) -> bool:
    return caller is None or caller.sees_personal_data
