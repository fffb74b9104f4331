"""Login throttling slows guessing without locking the rightful user out: after a few free
failures, each further attempt waits a delay doubling from 1 s to a cap (per account, and per
address with a higher allowance and a lower cap); an attempt inside the delay is refused before
its password is checked; once the delay is over, the right password signs in and clears the
account's count. On the real stores (a SQLite file, a PostgreSQL schema), with the sessions'
clock under the test's hand. (Concurrent guesses over HTTP on two workers: test_served.py.)"""

from __future__ import annotations

import pytest

from application.app import Forebyg
from application.demo import DEMO_PASSWORD, register_accounts
from application.errors import AuthenticationError
from application.sessions import TooManyAttemptsError
from tests.privacy.support import COORDINATOR, MEMBER, MENTOR, Store

WRONG = "not-the-right-password"
NAT = "198.51.100.7"


class Clock:
    """Seconds since the epoch, moved on by the test."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def app(store: Store) -> Forebyg:
    application = store.app()
    register_accounts(application)
    return application


@pytest.fixture
def clock(app: Forebyg) -> Clock:
    clock = Clock()
    app.sessions.clock = clock
    return clock


def attempt(app: Forebyg, username: str, password: str, address: str = "203.0.113.1") -> str | int:
    """'signed in', 'wrong', or the Retry-After seconds of a refusal."""
    try:
        app.sign_in(username, password, address)
    except AuthenticationError:
        return "wrong"
    except TooManyAttemptsError as error:
        return error.retry_after
    return "signed in"


def test_five_wrong_passwords_slow_the_account_and_the_right_one_signs_in_after_a_second(
    app: Forebyg, clock: Clock
) -> None:
    assert [attempt(app, MENTOR, WRONG) for _ in range(5)] == ["wrong"] * 5
    assert attempt(app, MENTOR, DEMO_PASSWORD) == 1, "the 6th attempt must wait a second"
    clock.now += 1
    assert attempt(app, MENTOR, DEMO_PASSWORD) == "signed in"
    # the account's count is cleared: five free failures again
    assert [attempt(app, MENTOR, WRONG) for _ in range(5)] == ["wrong"] * 5


def test_the_delay_doubles_with_each_failure_up_to_five_minutes_and_refusals_do_not_count(
    app: Forebyg, clock: Clock
) -> None:
    for _ in range(5):
        attempt(app, MENTOR, WRONG)
    waits = []
    for _ in range(12):
        waits.append(attempt(app, MENTOR, WRONG))  # refused: the delay runs
        assert attempt(app, MENTOR, DEMO_PASSWORD) == waits[-1] or waits[-1] == 1
        clock.now += float(waits[-1])  # type: ignore[arg-type]
        assert attempt(app, MENTOR, WRONG) == "wrong"
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    clock.now += 300
    assert attempt(app, MENTOR, DEMO_PASSWORD) == "signed in"


def test_a_refused_attempt_is_answered_without_checking_its_password(app: Forebyg, clock: Clock) -> None:
    for _ in range(5):
        attempt(app, MENTOR, WRONG)
    for _ in range(20):  # neither counted nor able to tell a right password from a wrong one
        assert attempt(app, MENTOR, DEMO_PASSWORD) == 1
        assert attempt(app, MENTOR, WRONG) == 1
    clock.now += 1
    assert attempt(app, MENTOR, DEMO_PASSWORD) == "signed in"


def test_other_accounts_are_not_slowed_by_one_accounts_failures(app: Forebyg, clock: Clock) -> None:
    for _ in range(8):
        attempt(app, MENTOR, WRONG)
        clock.now += 1
    assert attempt(app, COORDINATOR, DEMO_PASSWORD) == "signed in"


def test_the_users_behind_one_address_are_slowed_by_its_failures_never_locked_out(
    app: Forebyg, clock: Clock
) -> None:
    for name in (*(f"typo-{i}" for i in range(13)), *(f"guess-{k}" for k in range(8))):
        app.add_user(name, org="aarhus-kommune", role="member", password=f"{name}-password-0")
    for i in range(50):  # 50 typos behind one NAT, no account past its own allowance
        assert attempt(app, f"typo-{i % 13}", WRONG, NAT) == "wrong"
    assert attempt(app, COORDINATOR, DEMO_PASSWORD, NAT) == 1
    assert attempt(app, COORDINATOR, DEMO_PASSWORD, "203.0.113.9") == "signed in"
    clock.now += 1
    assert attempt(app, COORDINATOR, DEMO_PASSWORD, NAT) == "signed in"
    assert attempt(app, MENTOR, DEMO_PASSWORD, NAT) == "signed in", "a success delays no one"
    waits = []
    for k in range(8):  # a guesser behind the NAT goes on: the address's delay stops at 15 s
        assert attempt(app, f"guess-{k}", WRONG, NAT) == "wrong"
        waits.append(attempt(app, MEMBER, DEMO_PASSWORD, NAT))
        clock.now += float(waits[-1])  # type: ignore[arg-type]
    assert waits == [2, 4, 8, 15, 15, 15, 15, 15]  # 51, 52, ... failures
    assert attempt(app, MEMBER, DEMO_PASSWORD, NAT) == "signed in"


def test_failures_are_forgotten_after_fifteen_quiet_minutes(app: Forebyg, clock: Clock) -> None:
    for _ in range(4):
        attempt(app, MENTOR, WRONG)
    clock.now += 15 * 60 + 1
    assert [attempt(app, MENTOR, WRONG) for _ in range(5)] == ["wrong"] * 5
    assert attempt(app, MENTOR, WRONG) == 1
