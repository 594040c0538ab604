"""What a container belongs to: a pytest request, a unittest case, or a script.

An owner names the test (for labels, container and database names), takes
cleanups, says at cleanup time whether the test failed (for keep-failed), and
delivers what the user must see: kept-container hints and warnings.
"""

from __future__ import annotations

import atexit
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from testctr.errors import InvalidOption

if TYPE_CHECKING:
    from testctr.container import Container

#: How many failed tests a keep hint names before "and N more".
_NAMED_TESTS = 3


class Used(Protocol):
    """What a test uses and keep-failed may keep: a container or a network (its engine id)."""

    @property
    def id(self) -> str: ...


class Owner(Protocol):
    test_id: str

    def add_cleanup(self, fn: Callable[[], None]) -> None: ...

    def failed(self) -> bool: ...

    def failed_using(self, *used: Used) -> bool:
        """Whether keep-failed keeps ``used`` (the containers of a Compose project
        go together): a test that used one of them failed.

        For a test's own containers and networks that is :meth:`failed`; a
        wider-scoped owner (a session fixture) answers for the tests that used
        these only.
        """
        ...

    def why_kept(self, *used: Used) -> str:
        """The keep hint's words after the kept thing's name: which failed test it served."""
        ...

    def started(self, container: Container) -> None:
        """``container`` serves this test from now on (until :meth:`ended`); its log goes into reports."""
        ...

    def uses(self, network: Used) -> None:
        """``network`` (what has no log) serves this test from now on (until :meth:`ended`)."""
        ...

    def ended(self, used: Used) -> None: ...

    def kept(self, hint: str) -> None:
        """Tell the user that keep-failed kept a container, and how to look at it."""
        ...

    def shared(self, container: Container) -> None:
        """``container`` is shared by the run's workers: the run removes it when it ends."""
        ...

    def warn(self, message: str) -> None:
        """Show a warning about the run at a line boundary; called from any thread."""
        ...

    def log_base(self) -> str | None:
        """Where full logs of failed containers go (pytest's basetemp); None: the system temp dir."""
        ...


class _ToTheTerminal:
    """Outside a pytest run: hints on stderr, warnings when the process exits."""

    def started(self, container: Container) -> None:
        pass  # nothing attaches logs to a unittest or script failure

    def uses(self, network: Used) -> None:
        pass  # what a unittest case or a script made is what it used

    def ended(self, used: Used) -> None:
        pass

    def kept(self, hint: str) -> None:
        print(hint, file=sys.stderr)

    def shared(self, container: Container) -> None:
        pass  # no controller to tell: the watchdog that outlives the run's controller removes it

    def warn(self, message: str) -> None:
        # At exit, after the runner's last line: a background thread printing
        # now would land in the middle of unittest's progress dots.
        atexit.register(print, message, file=sys.stderr)


#: The name testctr.pytest_plugin registers a run's state under (the library
#: never imports the plugin: it finds the state through pytest).
_PYTEST_RUN_STATE = "testctr-run"


class _PytestRunState(Protocol):
    """The part of testctr.pytest_plugin.RunState that owners use."""

    def failed_within(self, nodeid: str) -> bool: ...

    def failed_tests_using(self, thing: Used) -> list[str]: ...

    def track(self, test_id: str, thing: Used, fixture: str | None = None, logs: bool = True) -> None: ...

    def forget(self, test_id: str, thing: Used) -> None: ...

    def keep(self, hint: str) -> None: ...

    def share(self, backend: str, runtime: str, name: str) -> None: ...

    def warn(self, message: str) -> None: ...


def _pytest_run_state(config: Any) -> _PytestRunState | None:
    """The run's state; None when the plugin is disabled (``-p no:testctr``)."""
    state: _PytestRunState | None = config.pluginmanager.get_plugin(_PYTEST_RUN_STATE)
    return state


def pytest_basetemp(config: Any) -> str | None:
    """The run's basetemp (per xdist worker), where pytest keeps what a run leaves."""
    factory = getattr(config, "_tmp_path_factory", None)  # None with -p no:tmpdir
    return None if factory is None else str(factory.getbasetemp())


class _ToPytest:
    """Into the pytest run's state: the plugin attaches a failed test's
    container logs to its report and shows hints and warnings in the terminal
    summary."""

    def __init__(self, state: _PytestRunState, nodeid: str, fixture: str | None = None) -> None:
        self._state = state
        self._nodeid = nodeid
        self._fixture = fixture

    def started(self, container: Container) -> None:
        self._state.track(self._nodeid, container, self._fixture)

    def uses(self, network: Used) -> None:
        self._state.track(self._nodeid, network, self._fixture, logs=False)

    def ended(self, used: Used) -> None:
        self._state.forget(self._nodeid, used)

    def kept(self, hint: str) -> None:
        self._state.keep(hint)

    def shared(self, container: Container) -> None:
        self._state.share(container.backend_name, container.runtime, container.name)

    def warn(self, message: str) -> None:
        self._state.warn(message)


class _Delivers:
    """The Owner methods that say where containers, hints and warnings go."""

    test_id: str
    _delivery: _ToTheTerminal | _ToPytest = _ToTheTerminal()

    def failed(self) -> bool:
        raise NotImplementedError

    def failed_using(self, *used: Used) -> bool:
        return self.failed()

    def why_kept(self, *used: Used) -> str:
        return f"of failed test {self.test_id}"

    def started(self, container: Container) -> None:
        self._delivery.started(container)

    def uses(self, network: Used) -> None:
        self._delivery.uses(network)

    def ended(self, used: Used) -> None:
        self._delivery.ended(used)

    def kept(self, hint: str) -> None:
        self._delivery.kept(hint)

    def shared(self, container: Container) -> None:
        self._delivery.shared(container)

    def warn(self, message: str) -> None:
        self._delivery.warn(message)

    def log_base(self) -> str | None:
        return None


class PytestOwner(_Delivers):
    """A pytest ``request`` of any scope. A broader scope (class, module,
    session) counts as failed when any test inside it failed; what it made
    is kept only for the failed tests that used it."""

    def __init__(self, request: Any) -> None:
        self._request = request
        self.test_id: str = request.node.nodeid or "session"
        self._prefix: str = request.node.nodeid
        # A fixture's request (SubRequest) has its scope and name; the test's own, "function" and None.
        self._scope: str = getattr(request, "scope", "function")
        self._fixture: str | None = getattr(request, "fixturename", None)
        self._wider = self._scope != "function"
        self._state = _pytest_run_state(request.config)
        if self._state is not None:
            self._delivery = _ToPytest(self._state, self.test_id, self._fixture)

    def add_cleanup(self, fn: Callable[[], None]) -> None:
        self._request.addfinalizer(fn)

    def failed(self) -> bool:
        # Without the plugin no report says what failed.
        return self._state is not None and self._state.failed_within(self._prefix)

    def failed_using(self, *used: Used) -> bool:
        if not self._wider:
            return self.failed()
        return bool(self._failed_tests_using(used))

    def why_kept(self, *used: Used) -> str:
        if not self._wider:
            return super().why_kept(*used)
        made_by = f"{self._scope} fixture `{self._fixture}`" if self._fixture else f"{self._scope} {self.test_id}"
        tests = self._failed_tests_using(used)
        if not tests:
            return f"({made_by}), whose setup failed"  # kept at a failed start, before any test's report
        named = ", ".join(tests[:_NAMED_TESTS])
        more = f" and {len(tests) - _NAMED_TESTS} more" if len(tests) > _NAMED_TESTS else ""
        return f"({made_by}), used by failed test{'s' if len(tests) > 1 else ''} {named}{more}"

    def _failed_tests_using(self, used: tuple[Used, ...]) -> list[str]:
        if self._state is None:
            return []  # without the plugin no report says what failed
        return list(dict.fromkeys(test for thing in used for test in self._state.failed_tests_using(thing)))

    def log_base(self) -> str | None:
        return pytest_basetemp(self._request.config)


class UnittestOwner(_Delivers):
    """A ``unittest.TestCase`` instance (cleanup runs after tearDown)."""

    def __init__(self, case: Any) -> None:
        self._case = case
        self.test_id: str = case.id()
        # Run by pytest, the case's result is pytest's item for it: hints and
        # warnings then go into that run's summary.
        item: Any = getattr(getattr(case, "_outcome", None), "result", None)
        if hasattr(item, "config") and hasattr(item, "nodeid"):
            state = _pytest_run_state(item.config)
            if state is not None:
                self._delivery = _ToPytest(state, item.nodeid)

    def add_cleanup(self, fn: Callable[[], None]) -> None:
        self._case.addCleanup(fn)

    def failed(self) -> bool:
        # unittest has no public "did this test fail" at cleanup time. Its
        # private _outcome records it: up to 3.10 in `errors` (reported after
        # cleanups), from 3.11 straight into `result`; `success` is reset to
        # True while the cleanups themselves run, so it cannot be used.
        outcome = getattr(self._case, "_outcome", None)
        if outcome is None:
            return False
        for test, exc_info in getattr(outcome, "errors", ()):
            if test is self._case and exc_info is not None:
                return True
        result = getattr(outcome, "result", None)
        if getattr(result, "_excinfo", None):
            return True  # run by pytest: its TestCaseFunction is the result
        recorded = list(getattr(result, "failures", ())) + list(getattr(result, "errors", ()))
        return any(test is self._case for test, _ in recorded)


class UnittestClassOwner(_Delivers):
    """A ``unittest.TestCase`` class, from ``setUpClass`` (``addClassCleanup``)."""

    def __init__(self, cls: Any) -> None:
        self._cls = cls
        self.test_id = f"{cls.__module__}.{cls.__qualname__}"

    def add_cleanup(self, fn: Callable[[], None]) -> None:
        self._cls.addClassCleanup(fn)

    def failed(self) -> bool:
        return False  # class cleanups run after every test; no per-class outcome exists


class ScriptOwner(_Delivers):
    """For :func:`testctr.run`: cleanups run when the ``with`` block ends."""

    def __init__(self, test_id: str) -> None:
        self.test_id = test_id
        self._cleanups: list[Callable[[], None]] = []
        self.error = False

    def add_cleanup(self, fn: Callable[[], None]) -> None:
        self._cleanups.append(fn)

    def failed(self) -> bool:
        return self.error

    def close(self) -> None:
        errors = []
        while self._cleanups:
            try:
                self._cleanups.pop()()
            except Exception as e:  # every cleanup must run; the first error is re-raised
                errors.append(e)
        if errors:
            raise errors[0]


def owner_for(t: object) -> Owner:
    """Adapt what the user passed as ``t``."""
    if isinstance(t, (PytestOwner, UnittestOwner, UnittestClassOwner, ScriptOwner)):
        return t
    if hasattr(t, "addfinalizer") and hasattr(t, "node"):
        return PytestOwner(t)
    if isinstance(t, type) and hasattr(t, "addClassCleanup"):
        return UnittestClassOwner(t)
    if hasattr(t, "addCleanup") and hasattr(t, "id"):
        return UnittestOwner(t)
    raise InvalidOption(
        f"t must be a pytest `request` or a unittest.TestCase, got {type(t).__name__}; "
        "outside tests use `with testctr.run(image, ...) as c:`"
    )


def script_name() -> str:
    """The running script's file name; for ``python -m pkg``, the package's name."""
    if not sys.argv or not sys.argv[0]:
        return "script"
    parts = sys.argv[0].rsplit("/", 2)
    return parts[-2] if parts[-1] == "__main__.py" and len(parts) > 1 else parts[-1]
