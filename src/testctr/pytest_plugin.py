"""pytest plugin: options, failure tracking, logs in reports, leftover cleanup.

Kept thin on purpose: every behaviour lives in the library; this module maps
pytest's command line and hooks onto it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from typing import Any

import pytest

# Only what pytest needs at startup is imported here: a run that never starts
# a container should not pay for loading the library.

# (option, settings field, converter in testctr.parsing, help)
_OPTIONS: list[tuple[str, str, str, str]] = [
    ("verbose", "verbose", "parse_bool", "stream every container's logs to the test output"),
    ("keep-failed", "keep_failed", "parse_bool", "keep a failed test's containers (and databases)"),
    ("label", "label", "parse_name", "label prefix of testctr containers (default: testctr)"),
    ("warn-old", "warn_old", "parse_bool", "warn about leftover containers of dead sessions"),
    ("cleanup-old", "cleanup_old", "parse_bool", "remove leftover containers of dead sessions at start"),
    ("cleanup-age", "cleanup_age", "parse_duration", "age before a leftover counts as old (e.g. 5m)"),
    ("max-concurrent", "max_concurrent", "parse_positive_int", "cap on containers being created at once"),
    ("create-delay", "create_delay", "parse_duration", "pause after waiting for a creation slot"),
    ("backend", "backend", "parse_name", "backend name (see `testctr doctor`)"),
    ("runtime", "runtime", "parse_name", "engine CLI for the cli backend: docker, podman, nerdctl, finch"),
]
_BOOLS = {"verbose", "keep-failed", "warn-old", "cleanup-old"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("testctr", "testctr containers")
    for option, _field, _conv, help_text in _OPTIONS:
        env = "TESTCTR_" + option.upper().replace("-", "_")
        kwargs: dict[str, Any] = {"default": None, "help": f"{help_text} [env {env}]"}
        if option in _BOOLS:
            kwargs.update(nargs="?", const="true", metavar="BOOL")
        group.addoption(f"--testctr-{option}", dest=f"testctr_{option.replace('-', '_')}", **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    given = {
        (option, field, converter): value
        for option, field, converter, _help in _OPTIONS
        if (value := config.getoption(f"testctr_{option.replace('-', '_')}")) is not None
    }
    if not given:
        return  # the TESTCTR_* environment is read on first use
    from testctr import parsing, settings
    from testctr.errors import TestctrError

    changes: dict[str, object] = {}
    for (option, field, converter), value in given.items():
        try:
            changes[field] = getattr(parsing, converter)(value)
        except TestctrError as e:
            raise pytest.UsageError(f"--testctr-{option}: {e}") from None
    settings.configure(**changes)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Remove leftovers of dead sessions when asked (warnings come at the first container)."""
    if hasattr(session.config, "workerinput"):
        return  # xdist workers: the controller does it
    if session.config.getoption("testctr_cleanup_old") is None and "TESTCTR_CLEANUP_OLD" not in os.environ:
        return
    from testctr import settings
    from testctr.errors import TestctrError
    from testctr.housekeeping import find_leftover_networks, find_leftovers, remove, remove_networks

    s = settings.current()
    if not s.cleanup_old:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    try:
        removed = remove(find_leftovers(s.label, s.cleanup_age))
        # After the containers: a network in use cannot be removed.
        networks = remove_networks(find_leftover_networks(s.label, s.cleanup_age))
    except TestctrError as e:
        message = f"testctr: could not remove leftovers: {e}"
    else:
        message = f"testctr: removed {removed} leftover container(s) and {networks} network(s) of dead sessions"
    if reporter is not None:
        reporter.write_line(message, yellow=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    container_module = sys.modules.get("testctr.container")
    if report.when == "teardown" and container_module is not None:
        # Keep-failed hints made by this test's cleanups travel with its report,
        # so the xdist controller can show them at the end of the run.
        hints: list[str] = container_module.kept_hints
        report.user_properties.extend(("testctr_kept", hint) for hint in hints)
        hints.clear()
    if not report.failed:
        return
    from testctr.owners import record_failure  # light: keep-failed needs every failure

    record_failure(item.nodeid)
    if report.when == "teardown" or container_module is None:
        return  # no container was ever started in this process
    from testctr.errors import TestctrError

    for node in item.listchain():
        for container in container_module.containers_of(node.nodeid or "session"):
            try:
                logs = container.logs()
            except TestctrError as e:
                logs = f"(could not read logs: {e})"
            report.sections.append((f"testctr logs: {container.name} ({container.image})", logs))


_kept_hints: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _kept_hints.extend(str(value) for key, value in report.user_properties if key == "testctr_kept")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    container_module = sys.modules.get("testctr.container")
    # Hints of containers kept after the last report (e.g. at session teardown).
    late: list[str] = getattr(container_module, "kept_hints", [])
    if _kept_hints or late:
        terminalreporter.section("testctr: containers kept for failed tests")
        for hint in [*_kept_hints, *late]:
            terminalreporter.write_line(hint)
