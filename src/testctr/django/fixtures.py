"""pytest-django: the test databases on testctr servers, one per session (per xdist worker).

# conftest.py
from testctr.django.fixtures import django_db_modify_db_settings  # noqa: F401
"""

from __future__ import annotations

import pytest

from testctr.django import point_databases


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    request: pytest.FixtureRequest, django_db_modify_db_settings_parallel_suffix: None
) -> None:
    """pytest-django's hook for DATABASES, before it creates the test databases."""
    point_databases(request)


__all__ = ["django_db_modify_db_settings"]
