"""The commands the Docker-family backends print for a kept container work as printed."""

from __future__ import annotations

import shlex
import subprocess

import pytest

import testctr
from testctr.backend import DebugCommands
from testctr.conformance._support import sleeper_command

pytestmark = pytest.mark.engine


@pytest.mark.parametrize("backend", ["cli", "docker-api"])
def test_debug_commands_work_as_printed(request: pytest.FixtureRequest, runtime: str, backend: str) -> None:
    c = testctr.new(
        request,
        "busybox",
        testctr.with_backend(backend),
        testctr.with_runtime(runtime),
        testctr.with_command(*sleeper_command("echo hello-debug")),
        testctr.with_wait_for_log("hello-debug"),
    )
    assert isinstance(c.backend, DebugCommands)
    commands = c.backend.debug_commands(c.name)

    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)

    assert "hello-debug" in run(shlex.split(commands["logs"])).stdout
    # No terminal here: the same command without -it, given a script.
    shell = [word for word in shlex.split(commands["shell"]) if word != "-it"]
    assert run([*shell, "-c", "echo in-shell"]).stdout == "in-shell\n"
    assert run(shlex.split(commands["remove"])).returncode == 0
    listed = run([runtime, "ps", "-aq", "--no-trunc", "--filter", f"name=^{c.name}$"])
    assert listed.returncode == 0 and listed.stdout == ""
