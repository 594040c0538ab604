"""The reaper on real engines: whatever kills a run, its containers go, and nothing else does."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import containers

pytestmark = pytest.mark.engine

#: The reaper must be done within this many seconds of its parent's end.
REAP_LIMIT = 10.0

SCRIPT = """
import os, sys, time
import testctr
from testctr import reaper

runtime, how = sys.argv[1], sys.argv[2]
sleep = testctr.with_command("sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait")
with testctr.run("busybox", testctr.with_runtime(runtime), sleep):
    with testctr.run("busybox", testctr.with_runtime(runtime), sleep):
        print(reaper.watchdog_pid(), flush=True)
        if how == "exit":
            sys.stdin.readline()  # once the test has seen both containers
            os._exit(3)
        time.sleep(600)
"""

INNER_TESTS = """
import time
import testctr

SLEEP = testctr.with_command("sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait")

def test_one(request):
    testctr.new(request, "busybox", testctr.with_runtime({runtime!r}), SLEEP)
    time.sleep(600)

def test_two(request):
    testctr.new(request, "busybox", testctr.with_runtime({runtime!r}), SLEEP)
    time.sleep(600)
"""


NETWORK_SCRIPT = """
import sys, time
import testctr
from testctr import reaper

runtime = sys.argv[1]
sleep = testctr.with_command("sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait")
with testctr.network_run(runtime=runtime) as net:
    with testctr.run("busybox", testctr.with_runtime(runtime), testctr.with_network(net), sleep):
        print(reaper.watchdog_pid(), flush=True)
        time.sleep(600)
"""

COMPOSE_FILE = """\
services:
  sleeper:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
"""

COMPOSE_SCRIPT = """
import sys, time
import testctr
from testctr import reaper, settings

settings.configure(runtime=sys.argv[1])
with testctr.compose_run(sys.argv[2], project_name=sys.argv[3]):
    print(reaper.watchdog_pid(), flush=True)
    time.sleep(600)
"""


@pytest.fixture
def label() -> str:
    """A label prefix of this test's own: its containers, and only them."""
    return f"testctr-reaper-{os.urandom(4).hex()}"


def networks(runtime: str, *filters: str) -> list[str]:
    argv = [runtime, "network", "ls", "-q"]
    for f in filters:
        argv += ["--filter", f]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout.split()


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.25) -> float:
    """Seconds until ``condition`` held; fails the test after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not within {timeout:.0f}s")
        time.sleep(interval)
    return time.monotonic() - started


def pid_gone(pid: int) -> Callable[[], bool]:
    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A zombie: ended, its parent has not collected it yet.
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"

    return gone


@pytest.fixture
def remove_leftover_networks(label: str, runtime: str, remove_leftovers: None) -> Iterator[None]:
    """After the containers: a network in use cannot be removed."""
    yield
    ids = networks(runtime, f"label={label}")
    if ids:
        subprocess.run([runtime, "network", "rm", *ids], capture_output=True, timeout=60)


#: How these tests start Python: with SIGINT's default disposition, as in a terminal, even when
#: what launched this run ignores it (a shell's background job does). A Python started with
#: SIGINT ignored keeps ignoring it: neither Ctrl-C nor xdist's shutdown of a worker reaches it.
PYTHON = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])",
]


def env(label: str, **more: str) -> dict[str, str]:
    return {**os.environ, "TESTCTR_LABEL": label, **more}


def start_script(
    tmp_path: Path, runtime: str, label: str, how: str, **more_env: str
) -> tuple[subprocess.Popen[str], int]:
    """The script, once both its containers run, and the pid of its watchdog."""
    script = tmp_path / "two_containers.py"
    script.write_text(SCRIPT)
    process = subprocess.Popen(
        [*PYTHON, str(script), runtime, how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env(label, **more_env),
        start_new_session=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # the script prints once both containers are up
    assert line, f"the script ended early with {process.wait(timeout=60)}"
    return process, int(line) if line.strip() != "None" else 0


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGINT", "exit"])
def test_nothing_is_left_however_a_script_ends(
    tmp_path: Path, runtime: str, label: str, how: str, remove_leftovers: None
) -> None:
    process, watchdog = start_script(tmp_path, runtime, label, how)
    assert watchdog and len(containers(runtime, label)) == 2
    if how == "exit":
        assert process.stdin is not None
        process.stdin.write("exit\n")
        process.stdin.flush()
    else:
        process.send_signal(getattr(signal, how))
    process.wait(timeout=30)
    wait_until(lambda: not containers(runtime, label), REAP_LIMIT)
    wait_until(pid_gone(watchdog), REAP_LIMIT)


def test_a_killed_scripts_network_goes_after_its_container(
    tmp_path: Path, runtime: str, label: str, remove_leftover_networks: None
) -> None:
    script = tmp_path / "network.py"
    script.write_text(NETWORK_SCRIPT)
    process = subprocess.Popen(
        [sys.executable, str(script), runtime],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env(label),
        start_new_session=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, f"the script ended early with {process.wait(timeout=60)}"
    assert len(containers(runtime, label)) == 1 and len(networks(runtime, f"label={label}")) == 1
    process.kill()
    process.wait(timeout=30)
    wait_until(lambda: not containers(runtime, label) and not networks(runtime, f"label={label}"), REAP_LIMIT)
    wait_until(pid_gone(int(line)), REAP_LIMIT)


def test_a_killed_scripts_compose_project_goes_down(
    tmp_path: Path, runtime: str, label: str, remove_leftover_networks: None
) -> None:
    project = f"testctr-reaper-{os.urandom(3).hex()}"
    (tmp_path / "compose.yml").write_text(COMPOSE_FILE)
    (tmp_path / "compose_run.py").write_text(COMPOSE_SCRIPT)
    process = subprocess.Popen(
        [sys.executable, str(tmp_path / "compose_run.py"), runtime, str(tmp_path / "compose.yml"), project],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(label),
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    line = process.stdout.readline()
    try:
        assert line, f"the script ended early with {process.wait(timeout=60)}: {process.stderr.read()}"
        project_networks = f"name={project}_"
        assert len(containers(runtime, label)) == 1 and networks(runtime, project_networks)
        process.kill()
        process.wait(timeout=30)
        wait_until(lambda: not containers(runtime, label) and not networks(runtime, project_networks), REAP_LIMIT)
        wait_until(pid_gone(int(line)), REAP_LIMIT)
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=30)
        # Before the fixtures' turn: the project's network goes only after its containers.
        leftovers = containers(runtime, label)
        if leftovers:
            subprocess.run([runtime, "rm", "-f", *leftovers], capture_output=True, timeout=60)
        for leftover in networks(runtime, f"name={project}_"):
            subprocess.run([runtime, "network", "rm", leftover], capture_output=True, timeout=60)


def test_reaper_false_starts_none_and_sigterm_still_cleans_up(
    tmp_path: Path, runtime: str, label: str, remove_leftovers: None
) -> None:
    process, watchdog = start_script(tmp_path, runtime, label, "SIGTERM", TESTCTR_REAPER="false")
    assert watchdog == 0  # no watchdog
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    # No reaper to do it: the containers went through the normal cleanup.
    assert not containers(runtime, label)


def test_the_watchdog_ends_with_its_parent_and_leaves_what_was_released(
    tmp_path: Path, runtime: str, label: str, remove_leftovers: None
) -> None:
    script = tmp_path / "keep.py"
    script.write_text(
        "import sys, testctr\n"
        "from testctr import reaper, settings\n"
        "settings.configure(keep_failed=True)\n"
        "sleep = testctr.with_command('sh', '-c', 'trap \"exit 0\" TERM; sleep 600 & wait')\n"
        "with testctr.run('busybox', testctr.with_runtime(sys.argv[1]), sleep):\n"
        "    pass\n"
        "try:\n"
        "    with testctr.run('busybox', testctr.with_runtime(sys.argv[1]), sleep):\n"
        "        raise RuntimeError('keep me')\n"
        "except RuntimeError:\n"
        "    print(reaper.watchdog_pid(), flush=True)\n"
    )
    result = subprocess.run(
        [sys.executable, str(script), runtime], capture_output=True, text=True, env=env(label), timeout=120
    )
    assert result.returncode == 0, result.stderr
    # The script's normal end is the watchdog's: it has nothing left to guard.
    wait_until(pid_gone(int(result.stdout)), REAP_LIMIT)
    assert len(containers(runtime, label)) == 1  # the kept one; the other was removed normally


def start_xdist(tmp_path: Path, runtime: str, label: str) -> subprocess.Popen[bytes]:
    """``pytest -n 2`` in its own process group, once each worker's container runs."""
    (tmp_path / "test_inner.py").write_text(INNER_TESTS.format(runtime=runtime))
    process = subprocess.Popen(
        [*PYTHON, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider", "test_inner.py"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env(label),
        start_new_session=True,
    )
    wait_until(lambda: len(containers(runtime, label, "status=running")) == 2, 120, interval=0.5)
    return process


def worker_pids(controller: int) -> list[int]:
    """The xdist workers: the controller's python children."""
    children = Path(f"/proc/{controller}/task/{controller}/children").read_text().split()
    return [int(pid) for pid in children if "python" in Path(f"/proc/{pid}/cmdline").read_text()]


@pytest.mark.parametrize("victim", ["controller", "worker", "group"])
def test_nothing_is_left_of_a_killed_xdist_run(
    tmp_path: Path, runtime: str, label: str, victim: str, remove_leftovers: None
) -> None:
    process = start_xdist(tmp_path, runtime, label)
    try:
        if victim == "controller":
            process.kill()
        elif victim == "worker":
            os.kill(worker_pids(process.pid)[0], signal.SIGKILL)
        else:
            os.killpg(process.pid, signal.SIGKILL)
        wait_until(lambda: len(containers(runtime, label)) <= (1 if victim == "worker" else 0), REAP_LIMIT)
    finally:
        with_group_gone(process)
    wait_until(lambda: not containers(runtime, label), REAP_LIMIT)


def with_group_gone(process: subprocess.Popen[bytes]) -> None:
    """End what is left of the run (its watchdogs, in their own sessions, see to the containers)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def test_pytest_option_turns_the_reaper_off(tmp_path: Path, runtime: str, label: str, remove_leftovers: None) -> None:
    (tmp_path / "test_off.py").write_text(
        "import testctr\n"
        "from testctr import reaper\n\n"
        "def test_off(request):\n"
        f"    sleep = testctr.with_command('sleep', '600')\n"
        f"    testctr.new(request, 'busybox', testctr.with_runtime({runtime!r}), sleep)\n"
        "    assert reaper.watchdog_pid() is None\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--testctr-reaper=false", "test_off.py"],
        cwd=tmp_path,
        env=env(label),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout
