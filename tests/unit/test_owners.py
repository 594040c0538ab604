"""Owners: what a container belongs to, its cleanups, and whether its test failed."""

from __future__ import annotations

import io
import sys
import unittest
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from testctr.errors import InvalidOption
from testctr.owners import (
    PytestOwner,
    ScriptOwner,
    UnittestClassOwner,
    UnittestOwner,
    owner_for,
    script_name,
)
from testctr.pytest_plugin import RUN_STATE, RunState

#: This module's own record of failures: the run's record decides keep-failed elsewhere.
RUN = RunState()


def record_failure(nodeid: str) -> None:
    RUN.record_failure(nodeid)


class PluginManager:
    def get_plugin(self, name: str) -> RunState | None:
        return RUN if name == RUN_STATE else None


@dataclass
class StateManager:
    """A plugin manager with a run's state of the test's own."""

    state: RunState

    def get_plugin(self, name: str) -> RunState | None:
        return self.state if name == RUN_STATE else None


@dataclass
class Config:
    pluginmanager: PluginManager | StateManager = field(default_factory=PluginManager)


@dataclass
class Node:
    nodeid: str


@dataclass
class Request:
    """What PytestOwner uses of a pytest ``request``."""

    node: Node
    finalizers: list[Callable[[], None]] = field(default_factory=list)
    config: Config = field(default_factory=Config)

    def addfinalizer(self, fn: Callable[[], None]) -> None:
        self.finalizers.append(fn)


def test_a_pytest_request_is_an_owner(request: pytest.FixtureRequest) -> None:
    owner = owner_for(request)
    assert isinstance(owner, PytestOwner)
    assert owner.test_id == request.node.nodeid
    assert not owner.failed()


def test_a_pytest_owner_takes_cleanups_as_finalizers() -> None:
    req = Request(Node("tests/a.py::t"))
    owner = owner_for(req)
    owner.add_cleanup(print)
    assert req.finalizers == [print]


@pytest.mark.parametrize(
    ("scope_id", "failed_id", "failed"),
    [
        ("tests/owners_a.py::test_x", "tests/owners_a.py::test_x", True),
        ("tests/owners_b.py::test_x", "tests/owners_b.py::test_x_other", False),
        ("tests/owners_c.py::Class", "tests/owners_c.py::Class::test_y", True),
        ("tests/owners_d", "tests/owners_d/test_m.py::test_z", True),
        ("tests/owners_e.py", "tests/owners_e2.py::test_z", False),
    ],
)
def test_a_broader_scope_failed_when_a_test_inside_it_failed(scope_id: str, failed_id: str, failed: bool) -> None:
    owner = PytestOwner(Request(Node(scope_id)))
    assert not owner.failed()
    record_failure(failed_id)
    assert owner.failed() is failed


def test_the_session_scope_is_named_session_and_fails_with_any_test() -> None:
    owner = PytestOwner(Request(Node("")))
    assert owner.test_id == "session"
    record_failure("tests/anything.py::test_owners_session")
    assert owner.failed()


@dataclass
class FixtureRequest(Request):
    """A fixture's request (pytest's SubRequest): its scope and name."""

    scope: str = "session"
    fixturename: str = "pg"


@dataclass
class Made:
    id: str


def test_a_wider_fixtures_thing_is_kept_for_the_failed_tests_that_used_it_and_names_them() -> None:
    state = RunState()
    used, other = Made("owners-used"), Made("owners-other")
    state.track("session", used, "pg")
    state.track("session", other, "redis")
    owner = PytestOwner(FixtureRequest(Node(""), config=Config(StateManager(state))))
    state.test_failed("tests/a.py::test_passes_with_pg", ["", "tests/a.py"], {"pg"})  # recorded, yet it passed
    state.test_failed("tests/a.py::test_x", ["", "tests/a.py", "tests/a.py::test_x"], {"pg"})
    assert owner.failed_using(used) and not owner.failed_using(other)
    assert owner.why_kept(used) == (
        "(session fixture `pg`), used by failed tests tests/a.py::test_passes_with_pg, tests/a.py::test_x"
    )
    # A Compose project's services count together, each test once.
    assert owner.failed_using(other, used)
    assert owner.why_kept(other, used).endswith("tests/a.py::test_x")


def test_a_keep_hint_names_three_failed_tests_and_counts_the_rest() -> None:
    state = RunState()
    pg = Made("owners-many")
    state.track("tests/m.py", pg, "pg")
    for n in range(5):
        state.test_failed(f"tests/m.py::test_{n}", ["", "tests/m.py"], {"pg"})
    owner = PytestOwner(FixtureRequest(Node("tests/m.py"), config=Config(StateManager(state)), scope="module"))
    assert owner.why_kept(pg) == (
        "(module fixture `pg`), used by failed tests tests/m.py::test_0, tests/m.py::test_1, tests/m.py::test_2"
        " and 2 more"
    )


def test_a_wider_fixture_kept_at_its_failed_start_says_so() -> None:
    owner = PytestOwner(FixtureRequest(Node(""), config=Config(StateManager(RunState()))))
    assert owner.why_kept(Made("owners-start")) == "(session fixture `pg`), whose setup failed"


def test_a_tests_own_things_keep_their_wording() -> None:
    owner = PytestOwner(Request(Node("tests/a.py::test_own")))
    record_failure("tests/a.py::test_own")
    assert owner.failed_using(Made("owners-own"))
    assert owner.why_kept(Made("owners-own")) == "of failed test tests/a.py::test_own"
    script = ScriptOwner("deploy.py")
    script.error = True
    assert script.why_kept(Made("owners-script")) == "of failed test deploy.py"


def run_case(body: Callable[[unittest.TestCase], None]) -> list[bool]:
    """Run one TestCase whose test does ``body``; what its owner said at cleanup time."""
    said: list[bool] = []

    class Case(unittest.TestCase):
        def test_it(self) -> None:
            owner = owner_for(self)
            assert isinstance(owner, UnittestOwner)
            assert owner.test_id.endswith("Case.test_it")
            owner.add_cleanup(lambda: said.append(owner.failed()))
            body(self)

    unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(Case("test_it"))
    return said


def test_a_unittest_owner_knows_its_test_passed() -> None:
    assert run_case(lambda case: None) == [False]


def test_a_unittest_owner_knows_its_test_failed() -> None:
    assert run_case(lambda case: case.fail("no")) == [True]


def test_a_unittest_owner_knows_its_test_errored() -> None:
    def error(case: unittest.TestCase) -> None:
        raise RuntimeError("boom")

    assert run_case(error) == [True]


def test_a_unittest_case_outside_a_run_has_not_failed() -> None:
    class Case(unittest.TestCase):
        def test_it(self) -> None:
            pass

    assert not UnittestOwner(Case("test_it")).failed()


def test_a_unittest_class_is_an_owner_that_never_fails() -> None:
    class Case(unittest.TestCase):
        pass

    owner = owner_for(Case)
    assert isinstance(owner, UnittestClassOwner)
    assert owner.test_id == f"{__name__}.test_a_unittest_class_is_an_owner_that_never_fails.<locals>.Case"
    ran: list[int] = []
    owner.add_cleanup(lambda: ran.append(1))
    Case.doClassCleanups()
    assert ran == [1]
    assert not owner.failed()


def test_a_script_owner_runs_every_cleanup_in_reverse_and_raises_the_first_error() -> None:
    owner = ScriptOwner("script")
    ran: list[str] = []

    def fails(name: str) -> Callable[[], None]:
        def cleanup() -> None:
            ran.append(name)
            raise RuntimeError(name)

        return cleanup

    owner.add_cleanup(lambda: ran.append("first"))
    owner.add_cleanup(fails("second"))
    owner.add_cleanup(fails("third"))
    with pytest.raises(RuntimeError, match="third"):
        owner.close()
    assert ran == ["third", "second", "first"]
    assert not owner.failed()
    owner.error = True
    assert owner.failed()
    owner.close()  # nothing left to run


def test_an_owner_passes_through_owner_for() -> None:
    owner = ScriptOwner("s")
    assert owner_for(owner) is owner


@pytest.mark.parametrize("t", [None, "request", object(), type("NoCleanups", (), {})])
def test_anything_else_is_not_an_owner(t: object) -> None:
    with pytest.raises(InvalidOption, match=r"pytest `request` or a unittest\.TestCase"):
        owner_for(t)


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["/usr/bin/my-script"], "my-script"),
        (["/venv/lib/python3.11/site-packages/myapp/__main__.py"], "myapp"),  # python -m myapp
        (["__main__.py"], "__main__.py"),
        ([""], "script"),
        ([], "script"),
    ],
)
def test_script_name(monkeypatch: pytest.MonkeyPatch, argv: list[str], name: str) -> None:
    monkeypatch.setattr(sys, "argv", argv)
    assert script_name() == name
