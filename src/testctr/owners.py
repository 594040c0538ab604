"""What a container belongs to: a pytest request, a unittest case, or a script.

An owner names the test (for labels, container and database names), takes
cleanups, and says at cleanup time whether the test failed (for keep-failed).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol

from testctr.errors import InvalidOption

#: Node ids of failed pytest tests, filled by the pytest plugin's report hook.
failed_nodeids: set[str] = set()
_failed_lock = threading.Lock()


def record_failure(nodeid: str) -> None:
    with _failed_lock:
        failed_nodeids.add(nodeid)


class Owner(Protocol):
    test_id: str

    def add_cleanup(self, fn: Callable[[], None]) -> None: ...

    def failed(self) -> bool: ...


class PytestOwner:
    """A pytest ``request`` of any scope. A broader scope (class, module,
    session) counts as failed when any test inside it failed."""

    def __init__(self, request: Any) -> None:
        self._request = request
        self.test_id: str = request.node.nodeid or "session"
        self._prefix = request.node.nodeid

    def add_cleanup(self, fn: Callable[[], None]) -> None:
        self._request.addfinalizer(fn)

    def failed(self) -> bool:
        with _failed_lock:
            if self._prefix in failed_nodeids:
                return True
            return any(
                not self._prefix or n.startswith(self._prefix + "::") or n.startswith(self._prefix + "/")
                for n in failed_nodeids
            )


class UnittestOwner:
    """A ``unittest.TestCase`` instance (cleanup runs after tearDown)."""

    def __init__(self, case: Any) -> None:
        self._case = case
        self.test_id: str = case.id()

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


class UnittestClassOwner:
    """A ``unittest.TestCase`` class, from ``setUpClass`` (``addClassCleanup``)."""

    def __init__(self, cls: Any) -> None:
        self._cls = cls
        self.test_id = f"{cls.__module__}.{cls.__qualname__}"

    def add_cleanup(self, fn: Callable[[], None]) -> None:
        self._cls.addClassCleanup(fn)

    def failed(self) -> bool:
        return False  # class cleanups run after every test; no per-class outcome exists


class ScriptOwner:
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
    return sys.argv[0].rsplit("/", 1)[-1] if sys.argv and sys.argv[0] else "script"
