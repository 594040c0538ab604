"""pytest plugin: options, failure tracking, logs in reports, leftover cleanup.

Kept thin on purpose: every behaviour lives in the library; this module maps
pytest's command line, ini file and hooks onto it. What the plugin learns
during a run lives in a :class:`RunState` registered with that run's plugin
manager, never in module globals: two runs in one process (pytester) do not
see each other, and the library works the same without pytest.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import threading
import time
from collections.abc import Collection, Generator, Iterable, Sequence
from typing import Any

import pytest

# Only what pytest needs at startup is imported here: a run that never starts
# a container should not pay for loading the library.

# (option, settings field, converter in testctr.parsing, help)
_OPTIONS: list[tuple[str, str, str, str]] = [
    ("verbose", "verbose", "parse_bool", "stream every container's logs to the test output"),
    ("keep-failed", "keep_failed", "parse_bool", "keep a failed test's containers (and databases)"),
    ("label", "label", "parse_label_prefix", "label prefix of testctr containers (default: testctr)"),
    ("warn-old", "warn_old", "parse_bool", "warn about leftover containers of this project's dead sessions"),
    ("cleanup-old", "cleanup_old", "parse_bool", "remove leftover containers of this project's dead sessions at start"),
    ("cleanup-age", "cleanup_age", "parse_duration", "age before a leftover counts as old (e.g. 5m)"),
    ("max-concurrent", "max_concurrent", "parse_positive_int", "cap on containers being created at once"),
    ("create-delay", "create_delay", "parse_duration", "pause after waiting for a creation slot"),
    ("backend", "backend", "parse_name", "backend name (see `testctr doctor`)"),
    ("runtime", "runtime", "parse_name", "engine CLI for the cli backend: docker, podman, nerdctl, finch"),
    ("engine-timeout", "engine_timeout", "parse_timeout", "bound on one engine call outside a start (default 60s)"),
    ("reaper", "reaper", "parse_bool", "remove a killed run's containers from a watchdog process"),
    (
        "reuse",
        "reuse",
        "parse_bool",
        "keep with_reuse() containers across runs (--no-testctr-reuse in CI: throwaway ones)",
    ),
    ("reuse-ttl", "reuse_ttl", "parse_duration", "idle time after which a reused container is removed (1h)"),
    (
        "report-lines",
        "report_lines",
        "parse_positive_int",
        "log lines per container in a failed test's report and in start errors (default: 200)",
    ),
]
_BOOLS = {"verbose", "keep-failed", "warn-old", "cleanup-old", "reuse"}

#: The name the run's state is registered under. testctr.owners finds it by
#: this name: the library never imports this module.
RUN_STATE = "testctr-run"

# Keys of report.user_properties that carry messages from xdist workers to the controller.
_KEPT = "testctr_kept"
_WARNING = "testctr_warning"
_SHARED = "testctr_shared"


def _ini_name(option: str) -> str:
    return "testctr_" + option.replace("-", "_")


def _env_name(option: str) -> str:
    return "TESTCTR_" + option.upper().replace("-", "_")


@dataclasses.dataclass
class _Tracked:
    #: A container, or what has no log of its own (a network): anything with an engine ``id``.
    thing: Any
    #: The fixture that made it; None: the test itself (or a unittest case).
    fixture: str | None
    #: Whether a failed test's report shows its log.
    logs: bool = True


@dataclasses.dataclass
class _RunningTest:
    """The test being set up or run in this process (one at a time: xdist runs a process per worker)."""

    nodeid: str
    #: When its setup began, in seconds since the epoch: what wider-scoped containers logged after it is its.
    started: float
    #: Engine ids of the containers made during its setup and call.
    made: set[str] = dataclasses.field(default_factory=set)
    #: Off once its teardown begins: containers made after that are not its.
    recording: bool = True


class RunState:
    """What the plugin knows about one pytest run, and the hooks that use it.

    Registered as a plugin in :func:`pytest_configure` (as xdist's DSession
    is). ``testctr.owners.PytestOwner`` gets it with
    ``config.pluginmanager.get_plugin(RUN_STATE)``. Containers may be started
    and cleaned up from any thread, hence the lock.
    """

    def __init__(self, configured_settings: bool = False) -> None:
        #: Whether pytest_configure applied options or TESTCTR_* variables to the settings.
        self.configured_settings = configured_settings
        self._lock = threading.Lock()
        self._failed: set[str] = set()
        self._tracked: dict[str, list[_Tracked]] = {}
        self._running: _RunningTest | None = None
        #: Engine id of each wider-scoped container or network that failed tests used: keep-failed
        #: keeps those, and its hint names the tests.
        self._used_by_failed: dict[str, list[str]] = {}
        # Messages made in this process since its last teardown report.
        self._pending: list[tuple[str, str]] = []
        #: What the terminal summary shows, collected from every process's reports.
        self.kept: list[str] = []
        self.warnings: list[str] = []
        #: (backend, runtime, name) of the containers the workers share, removed at the run's end.
        self.shared: set[tuple[str, str, str]] = set()
        #: How many tests come after each one in this process (unknown in an xdist worker).
        self._tests_after: dict[str, int] = {}

    def record_failure(self, nodeid: str) -> None:
        with self._lock:
            self._failed.add(nodeid)

    # --- for owners ---------------------------------------------------------------------------

    def failed_within(self, nodeid: str) -> bool:
        """Whether the node ``nodeid`` (the session when empty) or a test inside it failed."""
        with self._lock:
            return nodeid in self._failed or any(
                not nodeid or n.startswith(nodeid + "::") or n.startswith(nodeid + "/") for n in self._failed
            )

    def track(self, test_id: str, thing: Any, fixture: str | None = None, logs: bool = True) -> None:
        """``thing`` serves ``test_id`` (a test, or a wider node: "session"), made by ``fixture``.

        ``logs``: a container, whose log a failed test's report shows; False: a network.
        """
        with self._lock:
            self._tracked.setdefault(test_id, []).append(_Tracked(thing, fixture, logs))
            if self._running is not None and self._running.recording:
                self._running.made.add(thing.id)

    def forget(self, test_id: str, thing: Any) -> None:
        with self._lock:
            siblings = self._tracked.get(test_id, [])
            siblings[:] = [t for t in siblings if t.thing is not thing]
            if not siblings:
                self._tracked.pop(test_id, None)

    def containers_of(self, test_id: str) -> list[Any]:
        with self._lock:
            return [t.thing for t in self._tracked.get(test_id, ()) if t.logs]

    def failed_tests_using(self, thing: Any) -> list[str]:
        """The failed tests that used the wider-scoped ``thing`` (a container or a network), in order."""
        with self._lock:
            return list(self._used_by_failed.get(thing.id, ()))

    def test_started(self, nodeid: str, at: float) -> None:
        with self._lock:
            self._running = _RunningTest(nodeid, at)

    def test_tearing_down(self) -> None:
        with self._lock:
            if self._running is not None:
                self._running.recording = False

    def used_by(
        self, nodeid: str, chain: Sequence[str], fixtures: Collection[str]
    ) -> tuple[list[Any], list[Any], list[Any]]:
        """What test ``nodeid`` used: its own containers, the wider-scoped containers, and the
        wider-scoped things without a log (networks).

        ``chain``: the node ids from the session down to the test ("" the
        session); ``fixtures``: the test's fixture closure. A wider-scoped
        thing counts when the fixture that made it is in the closure, or when
        it was made while the test was set up or ran (a fixture asked for by
        ``request.getfixturevalue``, a helper given the session's request).
        A container's fixture asks for its network's, so a test that used a
        container used its network too.
        """
        with self._lock:
            running = self._running
            made = running.made if running is not None and running.nodeid == nodeid else set()
            own = [t.thing for t in self._tracked.get(nodeid, ()) if t.logs]
            wider = [
                t
                for node in dict.fromkeys(n or "session" for n in chain)
                if node != nodeid
                for t in self._tracked.get(node, ())
                if t.fixture in fixtures or t.thing.id in made
            ]
            return own, [t.thing for t in wider if t.logs], [t.thing for t in wider if not t.logs]

    def test_failed(self, nodeid: str, chain: Sequence[str], fixtures: Collection[str]) -> tuple[list[Any], list[Any]]:
        """Record that test ``nodeid`` failed, with the wider-scoped things it used (see
        :meth:`used_by`); return the containers whose logs its report shows: its own, the wider ones."""
        own, wider, without_log = self.used_by(nodeid, chain, fixtures)
        self.record_failure(nodeid)
        with self._lock:
            for thing in wider + without_log:
                tests = self._used_by_failed.setdefault(thing.id, [])
                if nodeid not in tests:  # a test that fails in its call and again in teardown
                    tests.append(nodeid)
        return own, wider

    def started_at(self, nodeid: str) -> float | None:
        """When test ``nodeid``'s setup began (None: not the test running now)."""
        with self._lock:
            running = self._running
            return running.started if running is not None and running.nodeid == nodeid else None

    def keep(self, hint: str) -> None:
        with self._lock:
            self._pending.append((_KEPT, hint))

    def warn(self, message: str) -> None:
        with self._lock:
            self._pending.append((_WARNING, message))

    def share(self, backend: str, runtime: str, name: str) -> None:
        with self._lock:
            self._pending.append((_SHARED, json.dumps([backend, runtime, name])))

    # --- hooks ----------------------------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Remove leftovers of dead sessions when asked (warnings come at the first container)."""
        if hasattr(session.config, "workerinput"):
            return  # xdist workers: the controller does it
        if not self.configured_settings:
            return  # cleanup-old is off by default
        from testctr import settings
        from testctr.errors import TestctrError
        from testctr.housekeeping import find_leftover_networks, find_leftovers, remove, remove_networks

        s = settings.current()
        if not s.cleanup_old:
            return
        try:
            removed = remove(find_leftovers(s.label, s.cleanup_age))
            # After the containers: a network in use cannot be removed.
            networks = remove_networks(find_leftover_networks(s.label, s.cleanup_age))
        except TestctrError as e:
            message = f"testctr: could not remove leftovers: {e}"
        else:
            message = (
                f"testctr: removed {removed} leftover container(s) and {networks} network(s) "
                "of this project's dead sessions"
            )
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(message, yellow=True)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if hasattr(session.config, "workerinput"):
            return  # an xdist worker gets its tests a batch at a time: how many are left is unknown
        count = len(session.items)
        self._tests_after = {item.nodeid: count - i - 1 for i, item in enumerate(session.items)}

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        # Before any fixture: a session fixture's first start is this test's.
        self.test_started(item.nodeid, time.time())
        _tell_schedule(self._tests_after.get(item.nodeid))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        self.test_tearing_down()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item) -> Generator[None, Any, Any]:
        report: pytest.TestReport = yield
        if report.when == "teardown":
            # What this test's cleanups reported travels with its report, so
            # the xdist controller can show it at the end of the run.
            report.user_properties.extend(self._take_pending())
        if not report.failed:
            return report
        chain = [n.nodeid for n in item.listchain()]
        own, wider = self.test_failed(item.nodeid, chain, getattr(item, "fixturenames", ()))
        if report.when == "teardown":
            return report  # its own containers are gone
        if own or wider:
            report.sections.extend(self._log_sections(item, own, wider))
        return report

    def _log_sections(self, item: pytest.Item, own: list[Any], wider: list[Any]) -> list[tuple[str, str]]:
        """A failed test's own containers' last lines (and whole logs in files), and what
        the wider-scoped ones it used logged since its setup began."""
        from testctr import settings
        from testctr.errors import TestctrError
        from testctr.log_excerpt import last_lines, lines_since
        from testctr.owners import pytest_basetemp

        sections = []
        base = pytest_basetemp(item.config)
        for container in own:
            # The last lines only: a flooding container must not put megabytes into the report.
            title = f"testctr logs: {container.name} ({container.image})"
            try:
                logs, path = container.log_report(base)
                title += f", last lines; full log: {path}"
            except (TestctrError, OSError) as e:
                logs = f"(could not read logs: {e})"
            sections.append((title, logs))
        started = self.started_at(item.nodeid) or time.time()
        lines = settings.current().report_lines
        for container in wider:
            title = f"testctr logs: {container.name} ({container.image})"
            try:
                during = lines_since(container.backend, container.id, started, lines)
                if during is None:
                    logs = last_lines(container.backend, container.id, lines)
                    title += ", last lines (its backend cannot tell which came during this test)"
                else:
                    logs, cut = during
                    title += f", the last {lines} lines it logged during this test" if cut else ", during this test"
                    logs = logs or "(nothing)"
            except TestctrError as e:
                logs = f"(could not read logs: {e})"
            sections.append((title, logs))
        return sections

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # On the xdist controller, the reports of every worker come here.
        self._collect(report.user_properties)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """On the xdist controller, after every worker ended: remove what they shared."""
        _tell_schedule(None)  # what runs in this process after the session is not counted
        if hasattr(session.config, "workerinput") or not self.shared:
            return
        from testctr.errors import ContainerNotFound, TestctrError
        from testctr.reaper.watchdog import resolve

        for backend, runtime, name in sorted(self.shared):
            try:
                resolve(backend, runtime).remove_container(name)
            except ContainerNotFound:
                pass
            except TestctrError as e:
                self.warnings.append(f"testctr: could not remove the shared container {name}: {e}")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        # Made after the last report (e.g. at session teardown, or by a late leftover check).
        self._collect(self._take_pending())
        if self.warnings:
            terminalreporter.section("testctr: warnings")
            for message in dict.fromkeys(self.warnings):  # each xdist worker checks once
                terminalreporter.write_line(message, yellow=True)
        if self.kept:
            terminalreporter.section("testctr: containers kept for failed tests")
            for hint in self.kept:
                terminalreporter.write_line(hint)

    def _take_pending(self) -> list[tuple[str, str]]:
        with self._lock:
            pending, self._pending = self._pending, []
            return pending

    def _collect(self, properties: Iterable[tuple[str, object]]) -> None:
        for key, value in properties:
            if key == _KEPT:
                self.kept.append(str(value))
            elif key == _WARNING:
                self.warnings.append(str(value))
            elif key == _SHARED:
                backend, runtime, name = json.loads(str(value))
                self.shared.add((backend, runtime, name))


def _tell_schedule(tests_left: int | None) -> None:
    # Only once testctr.schedule is loaded (with the core, at the first
    # container): a run that starts none does not load it for this.
    schedule = sys.modules.get("testctr.schedule")
    if schedule is not None:
        schedule.test_started(tests_left)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("testctr", "testctr containers")
    for option, _field, _conv, help_text in _OPTIONS:
        dest = _ini_name(option)
        where = f"[ini {dest}, env {_env_name(option)}]"
        if option in _BOOLS:
            # A flag, never an optional argument: `--testctr-keep-failed tests/`
            # must not read `tests/` as the option's value.
            group.addoption(
                f"--testctr-{option}",
                dest=dest,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"{help_text} {where}",
            )
        else:
            group.addoption(f"--testctr-{option}", dest=dest, default=None, help=f"{help_text} {where}")
        parser.addini(dest, f"{help_text} (as --testctr-{option})", default=None)


def _given_settings(config: pytest.Config) -> list[tuple[str, str, str, object]]:
    """(where, field, converter, value) for each setting the command line or the ini file gives.

    Precedence: command line, then environment, then ini file, then default.
    The environment beats the ini file because the ini file is the project's
    checked-in default, while a variable is set for one run, one CI job or
    one shell (as PYTEST_ADDOPTS is applied after the ini's addopts).
    """
    given: list[tuple[str, str, str, object]] = []
    for option, field, converter, _help in _OPTIONS:
        name = _ini_name(option)
        value = config.getoption(name)
        if value is not None:
            given.append((f"--testctr-{option}", field, converter, value))
        elif not os.environ.get(_env_name(option)) and (text := config.getini(name)):
            given.append((f"ini option {name}", field, converter, text))
    return given


#: pytest's rootdir: the project whose containers this run makes and cleans
#: (testctr.labels reads it; set here without importing the library, which a
#: run that starts no container never loads).
rootdir: str | None = None


_outer_rootdirs: list[str | None] = []


def pytest_configure(config: pytest.Config) -> None:
    global rootdir
    _outer_rootdirs.append(rootdir)
    rootdir = str(config.rootpath)
    given = _given_settings(config)
    environment = {k: v for k, v in os.environ.items() if k.startswith("TESTCTR_") and v}
    if given or environment:
        _apply_settings(given, environment)
    config.pluginmanager.register(RunState(configured_settings=bool(given or environment)), RUN_STATE)


def _apply_settings(given: list[tuple[str, str, str, object]], environment: dict[str, str]) -> None:
    from testctr import parsing, settings
    from testctr.errors import InvalidOption

    # Checked one by one, so the error names the variable; once, here, rather
    # than in every test that starts a container.
    for variable, value in sorted(environment.items()):
        try:
            settings.Settings.from_env({variable: value})
        except InvalidOption as e:
            message = str(e) if variable in str(e) else f"{variable}={value!r}: {e}"
            raise pytest.UsageError(message) from None
    changes: dict[str, object] = {}
    for where, field, converter, given_value in given:
        try:
            changes[field] = given_value if isinstance(given_value, bool) else getattr(parsing, converter)(given_value)
        except InvalidOption as e:
            raise pytest.UsageError(f"{where}: {e}") from None
    settings.configure(**changes)


def pytest_unconfigure(config: pytest.Config) -> None:
    global rootdir
    # A run inside a run (pytester) gives the project back to the outer one.
    rootdir = _outer_rootdirs.pop() if _outer_rootdirs else None
