"""The pytest plugin and the unittest integration, run as a user would run them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import unittest
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import testctr
from testctr import backends, settings
from testctr.backend.protocols import DebugCommands
from testctr.backends.cli import CLIBackend
from testctr.conformance._support import SLEEPER, sleeper_command
from testctr.labels import Project

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.engine

INNER = f"""
import testctr

def test_fails(request):
    c = testctr.new(request, "busybox", testctr.with_runtime({{runtime!r}}),
                    testctr.with_command(*{sleeper_command("echo inner-log-line")!r}),
                    testctr.with_wait_for_log("inner-log-line"))
    print("ID=" + c.id)
    assert False, "deliberate"

def test_passes(request):
    c = testctr.new(request, "busybox", testctr.with_runtime({{runtime!r}}), testctr.with_command(*{SLEEPER!r}))
    print("ID=" + c.id)
"""


def containers(runtime: str, *filters: str) -> list[str]:
    """Ids of the containers (running or not) that match the filters."""
    argv = [runtime, "ps", "-aq", "--no-trunc"]
    for f in filters:
        argv += ["--filter", f]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout.split()


def kept_remove_hint(runtime: str, output: str) -> str:
    """How the kept-container hint in ``output`` must say to remove the failed test's container."""
    found = re.search(r"kept container (testctr-test_fails-\w+)", output)
    assert found is not None, output
    backend = CLIBackend().for_runtime(runtime)
    if isinstance(backend, DebugCommands):
        return f"remove: {backend.debug_commands(found.group(1))['remove']}"
    return "remove: testctr clean"


def ids_in(output: str) -> list[str]:
    """Container ids the inner tests printed, in order, once each."""
    return list(dict.fromkeys(re.findall(r"ID=([0-9a-f]{64})", output)))


@pytest.fixture
def inner_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTCTR_IMAGE_MAP", os.environ["TESTCTR_IMAGE_MAP"])


def test_cleanup_and_failed_test_logs_in_report(pytester: pytest.Pytester, runtime: str, inner_env: None) -> None:
    pytester.makepyfile(INNER.format(runtime=runtime))
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    assert "testctr logs: testctr-test_fails" in output and "inner-log-line" in output
    for cid in ids_in(output):
        assert not containers(runtime, f"id={cid}"), "container leaked"


def test_keep_failed_keeps_only_failed_tests_containers(
    pytester: pytest.Pytester, runtime: str, inner_env: None
) -> None:
    pytester.makepyfile(INNER.format(runtime=runtime))
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "--testctr-keep-failed")
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    assert "containers kept for failed tests" in output and kept_remove_hint(runtime, output) in output
    failed_id, passed_id = ids_in(output)
    try:
        assert containers(runtime, f"id={failed_id}")
        assert not containers(runtime, f"id={passed_id}")
    finally:
        subprocess.run([runtime, "rm", "-f", failed_id], capture_output=True, timeout=60, check=False)


def test_options_from_env(
    pytester: pytest.Pytester, runtime: str, inner_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESTCTR_KEEP_FAILED", "1")
    pytester.makepyfile(INNER.format(runtime=runtime))
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    failed_id = ids_in(result.stdout.str())[0]
    try:
        assert containers(runtime, f"id={failed_id}")
    finally:
        subprocess.run([runtime, "rm", "-f", failed_id], capture_output=True, timeout=60, check=False)


def test_bad_plugin_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("--testctr-cleanup-age", "soon")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "invalid duration" in result.stderr.str()


def _leftover(runtime: str, *, pid: str, name: str, project: Path) -> str:
    """A container labelled as if a session with ``pid`` of ``project`` made it long ago."""
    labels = {
        "testctr.project-id": Project(str(project)).id,
        "testctr": "true",
        "testctr.test": "tests/old.py::test_old",
        "testctr.created": "2020-01-01T00:00:00Z",
        "testctr.session": "deadbeef",
        "testctr.host": os.uname().nodename,
        "testctr.pid": pid,
    }
    argv = [runtime, "create", "--name", name]
    for k, v in labels.items():
        argv += ["--label", f"{k}={v}"]
    argv += ["testctr.local/busybox:latest", "true"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout.strip()


def test_cleanup_old_removes_only_dead_sessions(pytester: pytest.Pytester, runtime: str) -> None:
    suffix = os.urandom(3).hex()
    dead = _leftover(runtime, pid="999999999", name=f"testctr-dead-{suffix}", project=pytester.path)
    alive = _leftover(runtime, pid=str(os.getpid()), name=f"testctr-alive-{suffix}", project=pytester.path)
    # Another checkout's crashed run: its own business.
    theirs = _leftover(runtime, pid="999999999", name=f"testctr-theirs-{suffix}", project=pytester.path / "other")
    try:
        env = {**os.environ, "TESTCTR_RUNTIME": runtime}
        ls = subprocess.run(
            [sys.executable, "-m", "testctr", "ls"], capture_output=True, text=True, timeout=60, env=env, check=True
        ).stdout
        assert f"testctr-dead-{suffix}" in ls and f"testctr-alive-{suffix}" in ls
        dead_line = next(line for line in ls.splitlines() if f"testctr-dead-{suffix}" in line)
        assert " dead " in dead_line
        pytester.makepyfile("def test_x(): pass")
        result = pytester.runpytest_subprocess("--testctr-cleanup-old", f"--testctr-runtime={runtime}")
        result.assert_outcomes(passed=1)
        assert "removed" in result.stdout.str() and "leftover" in result.stdout.str()
        assert not containers(runtime, f"id={dead}")
        assert containers(runtime, f"id={alive}")  # a live session's container is never touched
        assert containers(runtime, f"id={theirs}")
    finally:
        for leftover in (dead, alive, theirs):  # one call each: a missing id must not spare the other
            subprocess.run([runtime, "rm", "-f", leftover], capture_output=True, timeout=60, check=False)


class _UnittestCase(unittest.TestCase):
    __test__ = False  # run by the test below, through unittest itself
    runtime = "docker"
    seen: list[str] = []

    def test_uses_container(self) -> None:
        c = testctr.new(
            self,
            "busybox",
            testctr.with_runtime(self.runtime),
            testctr.with_command(*SLEEPER),
        )
        self.seen.append(c.id)
        self.assertEqual(c.exec_simple("echo", "hi"), "hi")

    def test_fails_with_container(self) -> None:
        c = testctr.new(
            self,
            "busybox",
            testctr.with_runtime(self.runtime),
            testctr.with_command(*SLEEPER),
        )
        self.seen.append(c.id)
        self.fail("deliberate")


@pytest.fixture
def keep_failed() -> Iterator[None]:
    before = settings.current().keep_failed
    settings.configure(keep_failed=True)
    yield
    settings.configure(keep_failed=before)


def test_unittest_cleanup_and_keep_failed(runtime: str, keep_failed: None) -> None:
    _UnittestCase.runtime = runtime
    _UnittestCase.seen = []
    suite = unittest.TestSuite([_UnittestCase("test_uses_container"), _UnittestCase("test_fails_with_container")])
    result = unittest.TextTestRunner(stream=open(os.devnull, "w"), verbosity=0).run(suite)  # noqa: SIM115
    assert len(result.failures) == 1
    passed_id, failed_id = _UnittestCase.seen
    try:
        assert not containers(runtime, f"id={passed_id}")
        assert containers(runtime, f"id={failed_id}")  # kept: keep-failed is on
    finally:
        subprocess.run([runtime, "rm", "-f", failed_id], capture_output=True, timeout=60, check=False)


class _CountingBackend:
    """The real CLI backend, counting how many creations run at once."""

    def __init__(self, inner: CLIBackend) -> None:
        self._inner = inner
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _counted(self, create: Any, image: str, config: Any) -> str:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            return str(create(image, config))
        finally:
            with self._lock:
                self.active -= 1

    def create_container(self, image: str, config: Any) -> str:
        return self._counted(self._inner.create_container, image, config)

    def run_container(self, image: str, config: Any) -> str:
        return self._counted(self._inner.run_container, image, config)


def test_max_concurrent_caps_creations_across_threads(runtime: str) -> None:
    counting = _CountingBackend(CLIBackend().for_runtime(runtime))
    name = f"counting-{os.urandom(3).hex()}"
    backends.register(name, counting)  # type: ignore[arg-type]
    before = settings.current()
    settings.configure(max_concurrent=2, create_delay=0.01)
    errors: list[BaseException] = []

    def start_one() -> None:
        try:
            with testctr.run("busybox", testctr.with_backend(name), testctr.with_command("sleep", "600")):
                pass
        except BaseException as e:
            errors.append(e)

    try:
        threads = [threading.Thread(target=start_one) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        settings.configure(max_concurrent=before.max_concurrent, create_delay=before.create_delay)
        backends.default_registry.unregister(name)
    assert not errors, errors
    assert 1 <= counting.peak <= 2


def test_keep_failed_hints_reach_the_xdist_controller(pytester: pytest.Pytester, runtime: str, inner_env: None) -> None:
    pytester.makepyfile(INNER.format(runtime=runtime))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--testctr-keep-failed")
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    assert "containers kept for failed tests" in output and kept_remove_hint(runtime, output) in output
    name = re.search(r"kept container (testctr-test_fails-\w+)", output)
    assert name is not None
    subprocess.run([runtime, "rm", "-f", name.group(1)], capture_output=True, timeout=60, check=False)


UNITTEST_INNER = """
import unittest
import testctr

class T(unittest.TestCase):
    def test_fails(self):
        c = testctr.new(self, "busybox", testctr.with_runtime({runtime!r}),
                        testctr.with_command(*{command!r}))
        print("ID=" + c.id)
        self.fail("deliberate")
"""


def test_unittest_case_under_pytest_keep_failed(pytester: pytest.Pytester, runtime: str, inner_env: None) -> None:
    pytester.makepyfile(UNITTEST_INNER.format(runtime=runtime, command=SLEEPER))
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "--testctr-keep-failed")
    result.assert_outcomes(failed=1)
    (failed_id,) = ids_in(result.stdout.str())
    try:
        assert containers(runtime, f"id={failed_id}")  # pytest's TestCaseFunction saw the failure
        assert "containers kept for failed tests" in result.stdout.str()
    finally:
        subprocess.run([runtime, "rm", "-f", failed_id], capture_output=True, timeout=60, check=False)


SESSION_INNER = f"""
import time
import pytest
import testctr

def start(request, name):
    c = testctr.new(request, "busybox", testctr.with_runtime({{runtime!r}}),
                    testctr.with_command(*{sleeper_command("echo init-of-" + "{{name}}")!r}),
                    testctr.with_wait_for_log("init-of-"))
    print(name.upper() + "=" + c.id)
    return c

def log(c, line):
    # Into the log of PID 1, as if the service wrote it.
    c.exec(["sh", "-c", "echo " + line + " > /proc/1/fd/1"])
    deadline = time.monotonic() + 10
    while line not in c.logs():
        assert time.monotonic() < deadline, "the line never reached the log"
        time.sleep(0.05)

@pytest.fixture(scope="session")
def used(request):
    return start(request, "used")

@pytest.fixture(scope="session")
def unused(request):
    return start(request, "unused")

def test_0_starts_both(used, unused):
    pass

def test_1_other(unused):
    log(unused, "unused-during-a-test")

def test_2_fails(used):
    log(used, "used-during-the-failed-test")
    assert False, "deliberate"
"""


def test_failed_test_reports_and_keeps_the_session_containers_it_used_only(
    pytester: pytest.Pytester, runtime: str, inner_env: None
) -> None:
    pytester.makepyfile(SESSION_INNER.format(runtime=runtime))
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "--testctr-keep-failed")
    output = result.stdout.str()
    ids = dict(re.findall(r"\b(USED|UNUSED)=([0-9a-f]{64})", output))
    assert set(ids) == {"USED", "UNUSED"}, output
    try:
        result.assert_outcomes(passed=2, failed=1)
        # From the failure's report to the short summary (whose lines CI=true leaves uncut).
        report = output.split("AssertionError: deliberate", 1)[1].split("short test summary info", 1)[0]
        assert re.search(r"testctr logs: testctr-session-\w+ \([^)]*busybox[^)]*\), during this test", report), report
        assert "used-during-the-failed-test" in report
        # Not what it logged at its start, before the test; nothing of the container the test did not use.
        assert "init-of-" not in report and "unused-during-a-test" not in report
        assert report.count("testctr logs: ") == 1
        assert containers(runtime, f"id={ids['USED']}"), "the used container was not kept"
        assert not containers(runtime, f"id={ids['UNUSED']}"), "an unused container was kept"
        assert "remove: " in report and " -v " in report  # the hint removes anonymous volumes too
    finally:
        for cid in ids.values():
            subprocess.run([runtime, "rm", "-f", "-v", cid], capture_output=True, timeout=60, check=False)
