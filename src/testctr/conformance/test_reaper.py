"""Clause reaper: what a SIGKILLed process started is removed by its watchdog within 10 s.

A script in a subprocess, on the backend under test, starts one container (and
a network it is attached to, where the backend has networks) and is killed;
the backend under test then must no longer know the container, the watchdog
must end by itself, and by then the network must be gone too. A backend whose
watchdog cannot remove them fails here: there is no UnsupportedOption way out.

The network is asked about once the watchdog has ended, by removing it: not
every engine lists a network's labels (Apple's ``container`` does not), and
a removal tried while the watchdog still works would race it.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from testctr import settings
from testctr.backend.protocols import Backend, NetworkManager
from testctr.conformance._support import BUSYBOX, backend_name, local_image, record_note, sleeper_command
from testctr.errors import ContainerNotFound, NetworkNotFound
from testctr.labels import process_alive

pytestmark = [pytest.mark.clause("reaper"), pytest.mark.engine]

#: The reaper's promise: gone this many seconds after its process was killed.
REAP_LIMIT = 10.0
#: A start through an emulator on a machine busy with other runs may take this long.
START_LIMIT = 60.0

SCRIPT = """
import contextlib, json, sys, time
import testctr
from testctr import reaper

with_network, image, *command = sys.argv[1:]
with contextlib.ExitStack() as stack:
    options = [testctr.with_command(*command)]
    network = None
    if with_network == "network":
        network = stack.enter_context(testctr.network_run())
        options.append(testctr.with_network(network))
    container = stack.enter_context(testctr.run(image, *options))
    print(json.dumps({
        "id": container.id,
        "network": network.name if network else None,
        "watchdog": reaper.watchdog_pid(),
    }), flush=True)
    time.sleep(600)
"""


def _child_env(backend: Backend) -> dict[str, str]:
    """This run's backend selection, with the reaper on whatever this run says.

    The rest of the environment is inherited: DOCKER_HOST, the Apple
    emulator's variables. The image arrives already mapped, so no map applies twice.
    """
    return {
        **os.environ,
        "TESTCTR_BACKEND": backend_name(),
        "TESTCTR_RUNTIME": backend.runtime,
        "TESTCTR_LABEL": settings.current().label,
        "TESTCTR_REAPER": "true",
        "TESTCTR_IMAGE_MAP": "",
        "TESTCTR_IMAGE_PREFIX": "",
    }


def _first_line(process: subprocess.Popen[str], stderr: Path, timeout: float) -> dict[str, Any]:
    """What the script printed once its container ran; fails the test if it did not within ``timeout``."""
    assert process.stdout is not None
    readable, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline() if readable else ""
    if not line:
        ended = process.poll()
        state = f"ended with {ended}" if ended is not None else f"printed nothing within {timeout:.0f}s"
        pytest.fail(f"the script {state}: {stderr.read_text()[-2000:]}")
    data: dict[str, Any] = json.loads(line)
    return data


def _container_gone(backend: Backend, container_id: str) -> bool:
    try:
        backend.inspect_container(container_id)
    except ContainerNotFound:
        return True
    return False


def _network_left(backend: Backend, name: str) -> bool:
    """Whether the network was still there (and is removed now)."""
    assert isinstance(backend, NetworkManager)
    try:
        backend.remove_network(name)
    except NetworkNotFound:
        return False
    return True


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs; a zombie has ended (its new parent has not collected it yet)."""
    if not process_alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc (macOS), or it ended just now: the next look tells


def _seconds_until(check: Callable[[], bool], started: float, failure: str) -> float:
    """Seconds from ``started`` until ``check()`` holds; fails the test with ``failure`` at REAP_LIMIT."""
    while not check():
        if time.monotonic() - started > REAP_LIMIT:
            pytest.fail(f"{failure} {REAP_LIMIT:.0f}s after SIGKILL")
        time.sleep(0.1)
    return time.monotonic() - started


@contextlib.contextmanager
def _script(backend: Backend, tmp_path: Path, with_network: bool) -> Iterator[subprocess.Popen[str]]:
    """The script, running in its own session; killed on the way out whatever happened."""
    (tmp_path / "script.py").write_text(SCRIPT)
    stderr = tmp_path / "stderr.txt"
    argv = [sys.executable, str(tmp_path / "script.py"), "network" if with_network else "-"]
    with open(stderr, "w") as err:
        process = subprocess.Popen(
            [*argv, local_image(BUSYBOX), *sleeper_command()],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=_child_env(backend),
            cwd=tmp_path,
            start_new_session=True,  # a signal to our group must not reach it, nor one to its group us
        )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=30)
        assert process.stdout is not None
        process.stdout.close()


def _remove_leftovers(backend: Backend, printed: dict[str, Any]) -> None:
    """What a failed test's watchdog left: its own, by id and name only."""
    watchdog = printed.get("watchdog")
    if isinstance(watchdog, int) and _running(watchdog):
        with contextlib.suppress(ProcessLookupError):
            os.kill(watchdog, signal.SIGKILL)
    with contextlib.suppress(ContainerNotFound):
        backend.remove_container(printed["id"])
    if printed.get("network") and isinstance(backend, NetworkManager):
        with contextlib.suppress(NetworkNotFound):
            backend.remove_network(printed["network"])


def test_a_killed_scripts_container_and_network_are_removed(
    request: pytest.FixtureRequest, backend: Backend, tmp_path: Path
) -> None:
    with_network = isinstance(backend, NetworkManager)
    with _script(backend, tmp_path, with_network) as process:
        printed = _first_line(process, tmp_path / "stderr.txt", START_LIMIT)
        try:
            assert printed["watchdog"], "the script started no watchdog (TESTCTR_REAPER=true in its environment)"
            assert not _container_gone(backend, printed["id"])
            killed = time.monotonic()
            process.send_signal(signal.SIGKILL)
            gone = _seconds_until(lambda: _container_gone(backend, printed["id"]), killed, "its container still exists")
            done = _seconds_until(lambda: not _running(printed["watchdog"]), killed, "its watchdog still runs")
            record_note(request, f"SIGKILL -> container gone in {gone:.1f}s, watchdog done in {done:.1f}s")
            if with_network:
                assert not _network_left(backend, printed["network"]), "the watchdog ended and left the network"
        except BaseException:
            _remove_leftovers(backend, printed)
            raise
