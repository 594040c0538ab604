"""The conformance suite's reporting: the ``clause`` marker, outcomes per clause, the matrix.

Loaded by :mod:`testctr.conformance.plugin` only in runs of the suite: it
counts the outcomes of tests marked ``@pytest.mark.clause(...)`` per clause
and prints the matrix at the end (on the xdist controller too).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import pytest

from testctr.conformance import CLAUSES
from testctr.conformance._support import backend_name, resolve_backend
from testctr.conformance.matrix import Column, render
from testctr.errors import TestctrError

_CLAUSE_KEY = "testctr-clause"
_UNSUPPORTED_KEY = "testctr-unsupported"
_NOTE_KEY = "testctr-note"


@dataclasses.dataclass
class _Outcome:
    clause: str
    passed: bool = False  # the call phase passed
    failed: bool = False  # any phase failed
    unsupported: set[str] = dataclasses.field(default_factory=set)
    notes: list[str] = dataclasses.field(default_factory=list)


#: One entry per test, filled from its reports (on the xdist controller too).
_outcomes: dict[str, _Outcome] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(name): the conformance clause a test checks")
    # The suite's tests carry it; registered here too for runs outside this repository.
    config.addinivalue_line("markers", "engine: needs a running container engine")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("clause")
        if marker is None:
            continue
        name = str(marker.args[0])
        if name not in CLAUSES:
            raise pytest.UsageError(f"{item.nodeid}: unknown clause {name!r} (known: {', '.join(CLAUSES)})")
        item.user_properties.append((_CLAUSE_KEY, name))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    props = dict(report.user_properties)
    clause = props.get(_CLAUSE_KEY)
    if clause is None:
        return
    outcome = _outcomes.setdefault(report.nodeid, _Outcome(str(clause)))
    outcome.failed = outcome.failed or report.failed
    if report.when == "call":
        outcome.passed = report.passed
        outcome.unsupported |= {str(v) for k, v in report.user_properties if k == _UNSUPPORTED_KEY}
        outcome.notes += [str(v) for k, v in report.user_properties if k == _NOTE_KEY]


def column_label() -> str:
    """The run's column: TESTCTR_CONFORMANCE_COLUMN, else backend/runtime[@host]."""
    explicit = os.environ.get("TESTCTR_CONFORMANCE_COLUMN")
    if explicit:
        return explicit
    name = backend_name()
    try:
        backend = resolve_backend()
        label = f"{name}/{backend.runtime}"
        host = backend.host()
    except TestctrError:
        return name
    if host not in ("127.0.0.1", "localhost", "::1"):
        label += f"@{host}"
    return label


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not _outcomes:
        return
    column = Column(column_label())
    for outcome in _outcomes.values():
        result = column.result(outcome.clause)
        if outcome.failed:
            result.failed += 1
        elif outcome.passed:
            result.passed += 1
        result.unsupported += sorted(outcome.unsupported)
        result.notes += outcome.notes
    terminalreporter.section("testctr conformance matrix")
    for line in render([column]):
        terminalreporter.write_line(line)
    path = os.environ.get("TESTCTR_CONFORMANCE_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(column.to_json(), f, indent=1)
