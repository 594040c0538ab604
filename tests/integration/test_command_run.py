"""`testctr run`: a known service gets its module's defaults and URL; a container that exits is an error."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.engine

RUNTIMES = ["docker", "podman"]


def run_command(runtime: str, *args: str) -> subprocess.CompletedProcess[str]:
    # tests/conftest.py put TESTCTR_IMAGE_MAP in the environment: official names find the local images.
    env = {**os.environ, "TESTCTR_BACKEND": "cli", "TESTCTR_RUNTIME": runtime}
    return subprocess.run(
        [sys.executable, "-m", "testctr", "run", "--once", *args], env=env, capture_output=True, text=True, timeout=180
    )


def containers_named(runtime: str, name: str) -> list[str]:
    out = subprocess.run(
        [runtime, "ps", "-a", "-q", "--filter", f"name={name}"], capture_output=True, text=True, timeout=30, check=True
    )
    return out.stdout.split()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_known_service_starts_with_its_defaults_and_prints_its_url(runtime: str) -> None:
    result = run_command(runtime, "redis:7-alpine")
    assert result.returncode == 0, result.stderr
    assert "with testctr.modules.redis.default()" in result.stdout
    assert re.search(r"^  url: redis://127\.0\.0\.1:\d+/0$", result.stdout, re.M), result.stdout
    name = re.search(r"^started (testctr-\w{6}) ", result.stdout, re.M)  # `python -m testctr` names no script
    assert name is not None, result.stdout
    assert containers_named(runtime, name.group(1)) == []  # --once removed it


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_once_fails_for_a_container_that_exits(runtime: str) -> None:
    result = run_command(runtime, "busybox", "sh", "-c", "echo going away; exit 3")
    assert result.returncode == 1, result.stdout
    assert "exit code 3" in result.stderr and "going away" in result.stderr, result.stderr
    assert "url:" not in result.stdout
