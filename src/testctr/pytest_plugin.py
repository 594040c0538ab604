"""pytest plugin: options, failure tracking, logs in reports, leftover cleanup.

Kept thin on purpose: every behaviour lives in the library; this module maps
pytest's command line and hooks onto it.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from testctr import settings as _settings
from testctr.container import containers_of, kept_hints
from testctr.errors import TestctrError
from testctr.owners import record_failure
from testctr.parsing import parse_bool, parse_duration, parse_positive_int

# (option, settings field, converter, help)
_OPTIONS: list[tuple[str, str, Any, str]] = [
    ("verbose", "verbose", parse_bool, "stream every container's logs to the test output"),
    ("keep-failed", "keep_failed", parse_bool, "keep a failed test's containers (and databases)"),
    ("label", "label", str, "label prefix of testctr containers (default: testctr)"),
    ("warn-old", "warn_old", parse_bool, "warn about leftover containers of dead sessions"),
    ("cleanup-old", "cleanup_old", parse_bool, "remove leftover containers of dead sessions"),
    ("cleanup-age", "cleanup_age", parse_duration, "age before a leftover counts as old (e.g. 5m)"),
    (
        "max-concurrent",
        "max_concurrent",
        lambda v: parse_positive_int(v, "--testctr-max-concurrent"),
        "cap on containers being created at once",
    ),
    ("create-delay", "create_delay", parse_duration, "pause after waiting for a creation slot"),
    ("backend", "backend", str, "backend name (see `testctr doctor`)"),
    ("runtime", "runtime", str, "engine CLI for the cli backend: docker, podman, nerdctl, finch"),
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
    changes: dict[str, object] = {}
    for option, field, convert, _help in _OPTIONS:
        value = config.getoption(f"testctr_{option.replace('-', '_')}")
        if value is not None:
            try:
                changes[field] = convert(value)
            except (TestctrError, ValueError) as e:
                raise pytest.UsageError(f"--testctr-{option}: {e}") from None
    _settings.configure(**changes)


def pytest_sessionstart(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):
        return  # xdist workers: the controller already looked
    s = _settings.current()
    if not (s.warn_old or s.cleanup_old):
        return
    from testctr.housekeeping import find_leftovers, remove

    try:
        leftovers = find_leftovers(s.label, s.cleanup_age)
    except TestctrError:
        return  # no engine here: tests that need one will say so themselves
    if not leftovers:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if s.cleanup_old:
        try:
            removed = remove(leftovers)
        except TestctrError as e:
            removed = 0
            if reporter is not None:
                reporter.write_line(f"testctr: could not remove leftovers: {e}", yellow=True)
        message = f"testctr: removed {removed} leftover container(s) of dead sessions"
    else:
        names = ", ".join(c.name for c in leftovers[:5])
        message = (
            f"testctr: {len(leftovers)} leftover container(s) of dead sessions ({names}...); "
            "remove them with `testctr clean` or --testctr-cleanup-old"
        )
    if reporter is not None:
        reporter.write_line(message, yellow=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.failed:
        return
    record_failure(item.nodeid)
    if report.when == "teardown":
        return
    for node in item.listchain():
        for container in containers_of(node.nodeid or "session"):
            try:
                logs = container.logs()
            except TestctrError as e:
                logs = f"(could not read logs: {e})"
            report.sections.append((f"testctr logs: {container.name} ({container.image})", logs))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if kept_hints:
        terminalreporter.section("testctr: containers kept for failed tests")
        for hint in kept_hints:
            terminalreporter.write_line(hint)
