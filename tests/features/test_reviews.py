"""Scenarios of features/reviews.feature, each on in-memory persistence and on PostgreSQL."""

import pytest
from pytest_bdd import scenarios

pytestmark = pytest.mark.usefixtures("app")  # parametrises every scenario over both stores

scenarios("reviews.feature")
