"""The pytest plugin, run in process on pytester with the in-memory backend."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

# Imported here, not first in an inner run: pytester drops the modules an in-process run imported
# first, and an Option made by a second copy of testctr.option is not the core's Option.
import testctr.container  # noqa: F401
from testctr import housekeeping, labels, pytest_plugin, settings
from testctr.backend.types import ContainerConfig
from testctr.backends.memory import BareMemoryBackend, MemoryBackend
from testctr.backends.memory import MemoryBackend as ScriptedBackend
from testctr.errors import EngineUnavailable, TestctrError
from testctr.pytest_plugin import RunState
from tests.unit.conftest import UseBackend

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture
def use_backend(use_backend_in_inner_runs: UseBackend) -> UseBackend:
    return use_backend_in_inner_runs


SEES_SETTINGS = """
from testctr import settings

def test_settings():
    s = settings.current()
    print("KEEP_FAILED=%s VERBOSE=%s CLEANUP_AGE=%s" % (s.keep_failed, s.verbose, s.cleanup_age))
"""


def seen(result: pytest.RunResult) -> str:
    result.assert_outcomes(passed=1)
    found = re.search(r"KEEP_FAILED=\S+ VERBOSE=\S+ CLEANUP_AGE=\S+", result.stdout.str())
    assert found is not None, result.stdout.str()
    return found.group(0)


def test_a_flag_before_a_path_does_not_take_it_as_its_value(pytester: pytest.Pytester) -> None:
    path = pytester.makepyfile(SEES_SETTINGS)
    result = pytester.runpytest("-s", "--testctr-keep-failed", str(path))
    assert seen(result) == "KEEP_FAILED=True VERBOSE=False CLEANUP_AGE=300.0"


@pytest.mark.parametrize("flag", sorted(pytest_plugin._BOOLS))
def test_no_flag_takes_the_path_after_it(pytester: pytest.Pytester, flag: str, memory: MemoryBackend) -> None:
    field = next(field for option, field, _conv, _help in pytest_plugin._OPTIONS if option == flag)
    default = getattr(settings.Settings.from_env(), field)
    path = pytester.makepyfile(
        f"from testctr import settings\ndef test_it():\n    print('VALUE=%s' % settings.current().{field})\n"
    )
    # The form that changes the value, so the test sees the flag was read as a flag.
    result = pytester.runpytest("-s", f"--{'no-' if default else ''}testctr-{flag}", str(path))
    result.assert_outcomes(passed=1)
    assert f"VALUE={not default}" in result.stdout.str()


# Each option's ini value, none of them the default (the memory backend keeps cleanup-old off engines).
INI_VALUES = {
    "verbose": "true",
    "keep-failed": "true",
    "label": "myco",
    "warn-old": "false",
    "cleanup-old": "true",
    "cleanup-age": "7m",
    "max-concurrent": "3",
    "create-delay": "2s",
    "runtime": "podman",
    "engine-timeout": "9s",
    "reaper": "false",
    "reuse": "false",
    "reuse-ttl": "2h",
    "report-lines": "17",
}


def test_every_option_has_an_ini_key(
    pytester: pytest.Pytester, memory: MemoryBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from testctr import parsing

    values = {**INI_VALUES, "backend": os.environ["TESTCTR_BACKEND"]}
    monkeypatch.delenv("TESTCTR_BACKEND")
    assert sorted(values) == sorted(option for option, *_ in pytest_plugin._OPTIONS)
    ini = "".join(f"testctr_{option.replace('-', '_')} = {text}\n" for option, text in values.items())
    pytester.makeini("[pytest]\n" + ini)
    fields = {option: field for option, field, _conv, _help in pytest_plugin._OPTIONS}
    pytester.makepyfile(
        "from testctr import settings\n"
        "def test_it():\n"
        f"    print('SEEN', {{f: getattr(settings.current(), f) for f in {sorted(fields.values())!r}}})\n"
    )
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=1)
    seen = next(line for line in result.stdout.lines if "SEEN {" in line)
    default = settings.Settings.from_env()
    for option, converter, _help in ((o, c, h) for o, _f, c, h in pytest_plugin._OPTIONS):
        field = fields[option]
        parse = getattr(parsing, converter)
        expected = parse(values[option]) if converter.startswith("parse_") else values[option]
        assert expected != getattr(default, field), option  # else this test could not tell
        assert f"'{field}': {expected!r}" in seen, (option, seen)


def test_explicit_values_of_a_flag_are_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SEES_SETTINGS)
    result = pytester.runpytest("--testctr-keep-failed=false")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_no_form_turns_a_flag_off_over_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESTCTR_KEEP_FAILED", "1")
    monkeypatch.setenv("TESTCTR_VERBOSE", "yes")
    pytester.makepyfile(SEES_SETTINGS)
    result = pytester.runpytest("-s", "--no-testctr-keep-failed")
    assert seen(result) == "KEEP_FAILED=False VERBOSE=True CLEANUP_AGE=300.0"


def test_ini_file_sets_options(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ntestctr_keep_failed = true\ntestctr_cleanup_age = 1m\n")
    pytester.makepyfile(SEES_SETTINGS)
    assert seen(pytester.runpytest("-s")) == "KEEP_FAILED=True VERBOSE=False CLEANUP_AGE=60.0"


def test_command_line_beats_environment_beats_ini(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makeini("[pytest]\ntestctr_keep_failed = true\ntestctr_verbose = true\ntestctr_cleanup_age = 1m\n")
    monkeypatch.setenv("TESTCTR_VERBOSE", "0")
    monkeypatch.setenv("TESTCTR_CLEANUP_AGE", "2m")
    pytester.makepyfile(SEES_SETTINGS)
    result = pytester.runpytest("-s", "--testctr-cleanup-age", "3m")
    assert seen(result) == "KEEP_FAILED=True VERBOSE=False CLEANUP_AGE=180.0"


def test_bad_environment_variable_fails_once_at_startup_naming_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TESTCTR_KEEP_FAILED", "maybe")
    pytester.makepyfile(SEES_SETTINGS)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = result.stderr.str()
    assert "TESTCTR_KEEP_FAILED" in errors and "'maybe'" in errors and "true/false" in errors
    assert "test_settings" not in result.stdout.str()


def test_bad_ini_value_names_the_ini_option(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ntestctr_max_concurrent = many\n")
    pytester.makepyfile(SEES_SETTINGS)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "testctr_max_concurrent" in result.stderr.str() and "'many'" in result.stderr.str()


def test_bad_command_line_value_names_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(SEES_SETTINGS)
    result = pytester.runpytest("--testctr-cleanup-age", "soon")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--testctr-cleanup-age" in result.stderr.str() and "invalid duration" in result.stderr.str()


CONTAINERS = """
import pytest
import testctr

@pytest.fixture(scope="module")
def shared(request):
    return testctr.new(request, "img")

def test_fails(request, shared):
    testctr.new(request, "img")
    assert False, "deliberate"

def test_passes(request):
    testctr.new(request, "img")
"""


def test_failed_tests_get_their_containers_logs(pytester: pytest.Pytester, memory: MemoryBackend) -> None:
    memory.script("img", logs=[(0.0, "img says hello")])
    pytester.makepyfile(CONTAINERS)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    output = result.stdout.str()
    # The test's own container and the module's, not the passing test's.
    assert len(re.findall(r"testctr logs: testctr-test_fails-\w+ \(img\)", output)) == 1
    assert output.count("img says hello") == 2
    assert re.search(r"testctr logs: testctr-test_\w+\.py-\w+ \(img\)", output)
    assert "testctr logs: testctr-test_passes" not in output
    assert "kept" not in output
    assert memory.names() == []


def test_keep_failed_keeps_and_lists_only_failed_tests_containers(
    pytester: pytest.Pytester, bare: BareMemoryBackend
) -> None:
    pytester.makepyfile(CONTAINERS)
    result = pytester.runpytest("--testctr-keep-failed")
    result.assert_outcomes(passed=1, failed=1)
    summary = result.stdout.str().split("testctr: containers kept for failed tests")[1]
    kept = bare.names()
    # The failed test's own container, and the module's (a test inside it failed).
    assert len(kept) == 2 and not any(name.startswith("testctr-test_passes") for name in kept)
    for name in kept:
        assert f"kept container {name} (img)" in summary
    assert summary.count("    remove: testctr clean") == 2  # the backend has no commands to offer


def test_keep_failed_hint_uses_the_backends_debug_commands(pytester: pytest.Pytester, memory: MemoryBackend) -> None:
    pytester.makepyfile(CONTAINERS)
    result = pytester.runpytest("--testctr-keep-failed", "-k", "fails")
    result.assert_outcomes(failed=1, deselected=1)
    output = result.stdout.str()
    (name,) = [n for n in memory.names() if n.startswith("testctr-test_fails")]
    assert f"    logs: memory logs {name}" in output
    assert f"    shell: memory exec {name} sh" in output
    assert f"    remove: memory rm {name}   (or: testctr clean)" in output


def test_containers_kept_at_a_failed_start_are_listed(pytester: pytest.Pytester, memory: MemoryBackend) -> None:
    pytester.makepyfile(
        test_start="""
        import testctr

        def test_start_fails(request):
            testctr.new(request, "img", testctr.with_wait_for_exec(["false"], timeout=0.05))
        """
    )
    result = pytester.runpytest("--testctr-keep-failed")
    result.assert_outcomes(failed=1)
    (name,) = memory.names()
    assert f"kept container {name} (img) of failed test test_start.py::test_start_fails" in result.stdout.str()


def _leftover(backend: MemoryBackend, name: str, project_root: Path) -> None:
    """A container a crashed run of the project at ``project_root`` left."""
    old_labels = {
        "testctr": "true",
        "testctr.created": "2020-01-01T00:00:00Z",
        "testctr.host": labels._HOST,
        "testctr.pid": "999999999",
        "testctr.project-id": labels.Project(str(project_root)).id,
    }
    backend.create_container("img", ContainerConfig(name=name, labels=old_labels))


def test_cleanup_old_removes_leftovers_of_dead_sessions(pytester: pytest.Pytester, memory: MemoryBackend) -> None:
    _leftover(memory, "old-one", pytester.path)
    _leftover(memory, "other-projects", pytester.path / "elsewhere")
    memory.run_container("img", ContainerConfig(name="live-one", labels=labels.container_labels("testctr", "t", "img")))
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--testctr-cleanup-old")
    result.assert_outcomes(passed=1)
    assert (
        "testctr: removed 1 leftover container(s) and 0 network(s) of this project's dead sessions"
        in result.stdout.str()
    )
    assert sorted(memory.names()) == ["live-one", "other-projects"]


def test_cleanup_old_reports_an_engine_it_cannot_reach(pytester: pytest.Pytester, memory: MemoryBackend) -> None:
    memory.fail("list_containers", EngineUnavailable("engine down"))
    pytester.makeini("[pytest]\ntestctr_cleanup_old = yes\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "testctr: could not remove leftovers: engine down" in result.stdout.str()


def test_cleanup_old_off_touches_nothing(pytester: pytest.Pytester, memory: MemoryBackend) -> None:
    _leftover(memory, "old-one", pytester.path)
    pytester.makepyfile("def test_x(): pass")
    pytester.runpytest("--no-testctr-cleanup-old").assert_outcomes(passed=1)
    assert memory.names() == ["old-one"]


def test_leftover_warning_comes_in_the_terminal_summary(
    pytester: pytest.Pytester, memory: MemoryBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(housekeeping, "_checked", set())
    _leftover(memory, "old-one", pytester.path)
    _leftover(memory, "other-projects", pytester.path / "elsewhere")
    pytester.makepyfile(
        """
        import threading
        import testctr

        def test_starts(request):
            testctr.new(request, "img")
            for thread in threading.enumerate():
                if thread.name == "testctr-housekeeping":
                    thread.join()
        """
    )
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=1)
    lines = result.stdout.lines
    warning = next(i for i, line in enumerate(lines) if "of this project's dead sessions (old-one)" in line)
    header = next(i for i, line in enumerate(lines) if "testctr: warnings" in line)
    assert header < warning and lines[warning].startswith("testctr: warning: 1 leftover")


def test_warnings_and_hints_made_after_the_last_report_still_reach_the_summary(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
        from testctr.pytest_plugin import RUN_STATE

        def pytest_sessionfinish(session):
            state = session.config.pluginmanager.get_plugin(RUN_STATE)
            state.warn("late warning")
            state.keep("late hint")
            state.warn("late warning")
        """
    )
    pytester.makepyfile("def test_x(): pass")
    output = pytester.runpytest().stdout.str()
    assert output.count("late warning") == 1 and "late hint" in output


def test_failed_within_covers_the_node_and_everything_inside_it() -> None:
    state = RunState()
    state.record_failure("tests/a/test_x.py::TestC::test_m[1]")
    assert state.failed_within("tests/a/test_x.py::TestC::test_m[1]")
    assert state.failed_within("tests/a/test_x.py::TestC")
    assert state.failed_within("tests/a/test_x.py")
    assert state.failed_within("tests/a")
    assert state.failed_within("")  # the session
    assert not state.failed_within("tests/a/test_x.py::TestC::test_m[2]")
    assert not state.failed_within("tests/a/test_x.py::TestD")
    assert not state.failed_within("tests/ab")


def test_forget_drops_a_test_once_its_last_container_ends() -> None:
    state = RunState()
    first, second = object(), object()
    state.track("t", first)
    state.track("t", second)
    state.forget("t", first)
    assert state.containers_of("t") == [second]
    state.forget("t", second)
    state.forget("t", second)  # a second cleanup of the same container is harmless
    assert state.containers_of("t") == []


def test_each_run_has_its_own_state(pytester: pytest.Pytester, memory: MemoryBackend) -> None:
    pytester.makepyfile(CONTAINERS)
    pytester.runpytest("--testctr-keep-failed").assert_outcomes(passed=1, failed=1)
    pytester.makepyfile(test_other="import testctr\n\ndef test_ok(request):\n    testctr.new(request, 'img')\n")
    result = pytester.runpytest("--testctr-keep-failed", "test_other.py")
    result.assert_outcomes(passed=1)
    assert "kept" not in result.stdout.str()


def test_threads_may_start_containers(pytester: pytest.Pytester, memory: MemoryBackend) -> None:
    pytester.makepyfile(
        """
        import threading
        import testctr

        def test_threads(request):
            threads = [threading.Thread(target=testctr.new, args=(request, "img")) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert False, "deliberate"
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert result.stdout.str().count("testctr logs: testctr-test_threads") == 4
    assert memory.names() == []


def test_a_failure_in_teardown_attaches_no_logs(pytester: pytest.Pytester, memory: MemoryBackend) -> None:
    pytester.makepyfile(
        """
        import pytest
        import testctr

        @pytest.fixture
        def breaks_at_teardown(request):
            yield testctr.new(request, "img")
            raise RuntimeError("teardown broke")

        def test_x(breaks_at_teardown):
            pass
        """
    )
    result = pytester.runpytest("--testctr-keep-failed")
    result.assert_outcomes(passed=1, errors=1)
    output = result.stdout.str()
    assert "teardown broke" in output and "testctr logs" not in output
    assert memory.names() == []  # the test itself passed when its container's cleanup ran


def test_logs_that_cannot_be_read_say_why(pytester: pytest.Pytester, memory: MemoryBackend) -> None:
    pytester.makepyfile(
        """
        import testctr

        def test_removed_then_fails(request):
            testctr.new(request, "img").terminate()
            assert False, "deliberate"
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert "(could not read logs: " in result.stdout.str()


def test_containers_work_with_the_plugin_disabled(pytester: pytest.Pytester, memory: MemoryBackend) -> None:
    pytester.makepyfile(
        """
        import testctr

        def test_x(request):
            testctr.new(request, "img")
        """
    )
    result = pytester.runpytest("-p", "no:testctr")
    result.assert_outcomes(passed=1)
    assert memory.names() == []


def test_xdist_workers_leave_cleanup_old_to_the_controller(pytester: pytest.Pytester, memory: MemoryBackend) -> None:
    _leftover(memory, "old-one", pytester.path)
    pytester.makeconftest(
        """
        import pytest

        @pytest.hookimpl(tryfirst=True)
        def pytest_configure(config):
            config.workerinput = {"workerid": "gw0"}
        """
    )
    pytester.makepyfile("def test_x(): pass")
    pytester.runpytest("--testctr-cleanup-old").assert_outcomes(passed=1)
    assert memory.names() == ["old-one"]


def test_a_unittest_case_run_by_pytest_lists_its_kept_containers(
    pytester: pytest.Pytester, memory: MemoryBackend
) -> None:
    pytester.makepyfile(
        test_case="""
        import unittest
        import testctr

        class T(unittest.TestCase):
            def test_fails(self):
                testctr.new(self, "img")
                self.fail("deliberate")
        """
    )
    result = pytester.runpytest("--testctr-keep-failed")
    result.assert_outcomes(failed=1)
    (name,) = memory.names()
    summary = result.stdout.str().split("testctr: containers kept for failed tests")[1]
    assert f"kept container {name} (img) of failed test test_case.T.test_fails" in summary


def test_the_xdist_controller_removes_what_its_workers_shared(memory: MemoryBackend) -> None:
    import json
    from types import SimpleNamespace

    memory.create_container("img", ContainerConfig(name="testctr-shared-1"))
    shared = [("testctr_shared", json.dumps([os.environ["TESTCTR_BACKEND"], "memory", "testctr-shared-1"]))]
    worker, controller = RunState(), RunState()
    for state in (worker, controller):
        state.pytest_runtest_logreport(SimpleNamespace(user_properties=shared))  # type: ignore[arg-type]
    worker.pytest_sessionfinish(SimpleNamespace(config=SimpleNamespace(workerinput={})))  # type: ignore[arg-type]
    assert memory.exists("testctr-shared-1")
    controller.pytest_sessionfinish(SimpleNamespace(config=SimpleNamespace()))  # type: ignore[arg-type]
    assert not memory.exists("testctr-shared-1")


# --- which containers a failed test used ---------------------------------------------------------

SESSION_CONTAINERS = """
import pytest
import testctr

@pytest.fixture(scope="session")
def used(request):
    return testctr.new(request, "svc")

@pytest.fixture(scope="session")
def unused(request):
    return testctr.new(request, "svc")

def test_0_starts_both(used, unused):
    pass

def test_1_other(unused):
    unused.backend.emit(unused.id, "unused-during-1")

def test_2_fails(request, used):
    used.backend.emit(used.id, "used-during-2")
    testctr.new(request, "own")
    assert False, "deliberate"
"""


@pytest.fixture
def scripted(use_backend: UseBackend) -> ScriptedBackend:
    """The in-memory backend that logs by a script and filters its log by time."""
    backend = ScriptedBackend()
    backend.script("svc", logs=[(0.0, "svc-init")])
    backend.script("own", logs=[(0.0, "own-init")])
    use_backend(backend)
    return backend


def sections(result: pytest.RunResult) -> list[str]:
    return re.findall(r"-+ testctr logs: (.*?) -+", result.stdout.str())


def test_a_failed_test_reports_its_own_log_and_what_the_session_containers_it_used_logged_meanwhile(
    pytester: pytest.Pytester, scripted: ScriptedBackend
) -> None:
    pytester.makepyfile(SESSION_CONTAINERS)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    output = result.stdout.str()
    own, during = sections(result)
    assert own.startswith("testctr-test_2_fails-") and "full log: " in own
    assert during.startswith("testctr-session-") and during.endswith(", during this test")
    assert "own-init" in output and "used-during-2" in output
    # Neither what the used container logged before the test, nor the unused container.
    assert "svc-init" not in output and "unused-during-1" not in output


def test_keep_failed_keeps_the_session_containers_the_failed_test_used_only(
    pytester: pytest.Pytester, scripted: ScriptedBackend
) -> None:
    pytester.makepyfile(SESSION_CONTAINERS)
    result = pytester.runpytest("--testctr-keep-failed")
    result.assert_outcomes(passed=2, failed=1)
    kept = [c for c in scripted.calls if c[0] == "remove_container"]
    summary = result.stdout.str().split("testctr: containers kept for failed tests")[1]
    own = r"kept container testctr-test_2_fails-\w+ \(own\) of failed test \S+::test_2_fails\n"
    wider = r"kept container testctr-session-\w+ \(svc\) \(session fixture `used`\), used by failed test \S+::test_2_"
    assert len(re.findall(own, summary)) == 1
    assert len(re.findall(wider, summary)) == 1
    assert len(kept) == 1  # the unused session container only


def test_a_kept_module_container_names_every_failed_test_that_used_it(
    pytester: pytest.Pytester, scripted: ScriptedBackend
) -> None:
    pytester.makepyfile(
        test_mod="""
        import pytest
        import testctr

        @pytest.fixture(scope="module")
        def svc(request):
            return testctr.new(request, "svc")

        def test_a(svc):
            assert False

        def test_b(svc):
            pass

        def test_c(svc):
            assert False

        def test_d():
            assert False
        """
    )
    result = pytester.runpytest("--testctr-keep-failed")
    result.assert_outcomes(passed=1, failed=3)
    summary = result.stdout.str().split("testctr: containers kept for failed tests")[1]
    assert re.search(
        r"kept container testctr-test_mod\.py-\w+ \(svc\) \(module fixture `svc`\), "
        r"used by failed tests test_mod\.py::test_a, test_mod\.py::test_c\n",
        summary,
    ), summary


def test_a_container_made_while_the_test_ran_counts_as_used(
    pytester: pytest.Pytester, scripted: ScriptedBackend
) -> None:
    pytester.makepyfile(
        """
        import pytest
        import testctr

        @pytest.fixture(scope="session")
        def asked_late(request):
            return testctr.new(request, "svc")

        def test_fails(request):
            c = request.getfixturevalue("asked_late")
            c.backend.emit(c.id, "late-line")
            assert False
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    (during,) = sections(result)
    assert during.endswith(", during this test")
    assert "late-line" in result.stdout.str() and "svc-init" in result.stdout.str()  # made during the test


def test_without_time_filtering_the_last_lines_are_shown_and_said_so(
    pytester: pytest.Pytester, bare: BareMemoryBackend
) -> None:
    pytester.makepyfile(
        """
        import pytest
        import testctr

        @pytest.fixture(scope="session")
        def svc(request):
            return testctr.new(request, "img")

        def test_fails(svc):
            assert False
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    (during,) = sections(result)
    assert during.endswith("last lines (its backend cannot tell which came during this test)")


class _Made:
    def __init__(self, container_id: str) -> None:
        self.id = container_id


def test_used_by_takes_own_containers_and_wider_ones_by_fixture_or_by_when_made() -> None:
    state = RunState()
    early, by_fixture, late, other = _Made("early"), _Made("fixture"), _Made("late"), _Made("other")
    state.track("session", early, "early")
    state.track("m.py", other, "other")
    state.test_started("m.py::test", 0.0)
    state.track("m.py", by_fixture, "wanted")
    state.track("session", late, "late")
    own = _Made("own")
    state.track("m.py::test", own)
    state.test_tearing_down()
    state.track("session", _Made("at-teardown"), "teardown")
    chain = ["", "m.py", "m.py::test"]
    assert state.used_by("m.py::test", chain, {"wanted", "early"}) == ([own], [early, late, by_fixture], [])
    # Another test: nothing was made while it ran.
    assert state.used_by("m.py::other", ["", "m.py", "m.py::other"], {"late"}) == ([], [late], [])


def test_networks_are_used_by_the_same_rule_but_show_no_log() -> None:
    state = RunState()
    net, other_net, db = _Made("net"), _Made("other-net"), _Made("db")
    state.track("session", net, "net", logs=False)
    state.track("session", other_net, "other_net", logs=False)
    state.track("session", db, "db")  # its fixture asks for `net`: both are in the closure
    state.test_started("m.py::test", 0.0)
    made_now = _Made("made-now")
    state.track("session", made_now, "late_net", logs=False)
    chain = ["", "m.py", "m.py::test"]
    assert state.used_by("m.py::test", chain, {"db", "net"}) == ([], [db], [net, made_now])
    assert state.test_failed("m.py::test", chain, {"db", "net"}) == ([], [db])
    assert state.failed_tests_using(net) == ["m.py::test"] == state.failed_tests_using(made_now)
    assert state.failed_tests_using(other_net) == []
    assert state.containers_of("session") == [db]


def test_containers_shared_in_a_run_are_removed_at_its_end(pytester: pytest.Pytester, memory: MemoryBackend) -> None:
    for name in ["a-stuck", "c-shared"]:
        memory.create_container("img", ContainerConfig(name=name))
    memory.fail("remove_container", TestctrError("engine down"))  # the first removal: a-stuck's
    pytester.makepyfile(
        """
        import os
        from testctr.pytest_plugin import RUN_STATE

        def test_shares(request):
            state = request.config.pluginmanager.get_plugin(RUN_STATE)
            for name in ["a-stuck", "b-gone", "c-shared"]:
                state.share(os.environ["TESTCTR_BACKEND"], "memory", name)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "testctr: could not remove the shared container a-stuck: engine down" in result.stdout.str()
    assert "b-gone" not in result.stdout.str()  # already gone is what removal wanted
    assert memory.names() == ["a-stuck"]


def test_each_test_starts_with_the_number_of_tests_after_it(pytester: pytest.Pytester, isolated: None) -> None:
    pytester.makepyfile(
        """
        import pytest
        from testctr import schedule

        seen = []

        @pytest.mark.parametrize("n", range(3))
        def test_x(n):
            seen.append(schedule.tests_left)

        def test_last():
            assert seen == [3, 2, 1] and schedule.tests_left == 0
        """
    )
    pytester.runpytest_inprocess().assert_outcomes(passed=4)
    from testctr import schedule

    assert schedule.tests_left is None  # what this process runs after the session is not counted


def test_an_xdist_worker_does_not_know_how_many_tests_it_has_left(pytester: pytest.Pytester, isolated: None) -> None:
    pytester.makepyfile(
        """
        from testctr import schedule

        def test_a():
            assert schedule.tests_left is None

        def test_b():
            assert schedule.tests_left is None
        """
    )
    pytester.runpytest_subprocess("-p", "xdist", "-n", "1").assert_outcomes(passed=2)
