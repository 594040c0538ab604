"""Ready-made pytest fixtures: one line in conftest.py instead of a fixture function.

    # conftest.py
    import testctr
    from testctr.modules import postgres

    pg = testctr.fixture(postgres.IMAGE, postgres.default())   # one server per session
    pg_dsn = testctr.dsn_fixture("pg")                          # a fresh database per test

A fixture is named after the variable it is assigned to (pytest's rule), so
tests ask for ``pg`` and ``pg_dsn``. pytest is imported only when one is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from testctr.errors import InvalidOption
from testctr.option import Option
from testctr.parsing import shown

if TYPE_CHECKING:
    from testctr.container import Container

SCOPES = ("session", "package", "module", "class", "function")


def fixture(image: str, *opts: Option, scope: str = "session") -> Any:
    """A pytest fixture giving a container of ``image`` with ``opts``, started on first use.

    It belongs to the fixture's scope (a session by default: one container for
    the whole run, removed at its end; under xdist one per worker).
    """
    if not isinstance(image, str) or not image:
        raise InvalidOption(f"testctr.fixture needs an image name, got {shown(image)}")
    if scope not in SCOPES:
        raise InvalidOption(f"testctr.fixture scope must be one of {', '.join(SCOPES)}, got {shown(scope)}")
    for opt in opts:
        if not isinstance(opt, Option):
            raise InvalidOption(f"testctr.fixture options must be testctr options, got {shown(opt)}")
    import pytest

    from testctr.container import new

    def container(request: pytest.FixtureRequest) -> Container:
        return new(request, image, *opts)

    return pytest.fixture(scope=scope)(container)  # type: ignore[call-overload]


def dsn_fixture(container_fixture: str, driver: str | None = None) -> Any:
    """A function-scoped pytest fixture giving each test its own database on the container
    of fixture ``container_fixture``: ``c.dsn(request, driver)``, dropped when the test ends."""
    if not isinstance(container_fixture, str) or not container_fixture.isidentifier():
        raise InvalidOption(f"testctr.dsn_fixture needs a fixture's name, got {shown(container_fixture)}")
    if driver is not None and not isinstance(driver, str):
        raise InvalidOption(f"testctr.dsn_fixture driver must be a str or None, got {shown(driver)}")
    import pytest

    def dsn(request: pytest.FixtureRequest) -> str:
        server: Container = request.getfixturevalue(container_fixture)
        return server.dsn(request, driver)

    return pytest.fixture(dsn)
