"""Fault tests with real parts (PostgreSQL, SMTP, SIGKILLed worker processes)."""

import pytest

# Failed assertions in the shared helpers explain themselves like those in the tests.
pytest.register_assert_rewrite("tests.faults.support")
