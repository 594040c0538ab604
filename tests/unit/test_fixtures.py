"""testctr.fixture / testctr.dsn_fixture, run in process on pytester with the in-memory backend."""

from __future__ import annotations

import pytest

import testctr
import testctr.fixtures  # imported here: pytester's in-process run drops modules it first imported)
from testctr.backends.memory import MemoryBackend
from tests.unit.conftest import UseBackend

pytest_plugins = ["pytester"]


@pytest.fixture
def use_backend(use_backend_in_inner_runs: UseBackend) -> UseBackend:
    return use_backend_in_inner_runs


CONFTEST = """
import testctr

class Provider:
    max_name_length = 40
    made = []
    dropped = []

    def create_database(self, container, name):
        self.made.append(name)
        return name

    def drop_database(self, container, handle):
        self.dropped.append(handle)

    def format_dsn(self, container, handle, driver=None):
        return f"{driver}://{container.id}/{handle}"

PROVIDER = Provider()
db = testctr.fixture("busybox:latest", testctr.with_dsn_provider(PROVIDER))
db_dsn = testctr.dsn_fixture("db", driver="fake")
per_module = testctr.fixture("busybox:latest", scope="module")
"""

TESTS = """
from conftest import PROVIDER

seen = []

def test_one(db, db_dsn, per_module):
    seen.append((db.id, db_dsn, per_module.id))
    assert db_dsn.startswith(f"fake://{db.id}/") and db_dsn.rsplit("/", 1)[1] in PROVIDER.made

def test_two(db, db_dsn, per_module):
    seen.append((db.id, db_dsn, per_module.id))
    (id1, dsn1, mod1), (id2, dsn2, mod2) = seen
    assert id1 == id2 and mod1 == mod2      # one server for both tests
    assert dsn1 != dsn2                      # a database each
    assert db._db.settle(10)                 # drops run in the background
    first, mine = dsn1.rsplit("/", 1)[1], dsn2.rsplit("/", 1)[1]
    assert first in PROVIDER.dropped and mine not in PROVIDER.dropped  # the first test's, at its end
"""


def test_fixtures_share_a_server_and_give_each_test_a_database(
    pytester: pytest.Pytester, memory: MemoryBackend
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_app=TESTS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    assert memory.names() == []  # both servers removed when their scopes ended


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: testctr.fixture(""), "needs an image"),
        (lambda: testctr.fixture("redis:7", scope="test"), "scope must be one of"),
        (lambda: testctr.fixture("redis:7", "--port"), "must be testctr options"),
        (lambda: testctr.dsn_fixture("my db"), "needs a fixture's name"),
        (lambda: testctr.dsn_fixture("db", driver=3), "driver must be a str"),
    ],
)
def test_bad_arguments_fail_where_written(call: object, message: str) -> None:
    with pytest.raises(testctr.InvalidOption, match=message):
        call()  # type: ignore[operator]
