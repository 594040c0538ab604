"""`testctr doctor` against the engines of this machine."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.engine


def doctor(**env: str) -> tuple[int, str, float]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TESTCTR_", "DOCKER_", "CONTAINER_HOST"))}
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "testctr", "doctor"], env={**clean, **env}, capture_output=True, text=True, timeout=120
    )
    return result.returncode, result.stdout, time.monotonic() - began


def test_doctor_shows_auto_s_candidates_and_choice() -> None:
    code, out, _ = doctor()
    assert code == 0, out
    assert "  110      cli/docker     -" in out and "answers: " in out
    assert "  chose cli/docker (the first that answers; version " in out


def test_an_engine_the_user_named_is_not_replaced_by_another() -> None:
    # Nothing listens on the discard port: the docker engine named does not answer.
    code, out, took = doctor(DOCKER_HOST="tcp://127.0.0.1:9")
    assert code == 1, out
    assert "cli/podman: DOCKER_HOST=tcp://127.0.0.1:9 names the engine to use" in out
    assert "no usable engine: DOCKER_HOST=tcp://127.0.0.1:9 names the container engine to use" in out
    assert "fix: start that engine or correct the setting; or unset DOCKER_HOST" in out
    # The cli backend's fix text spans lines; they stay in its column.
    lines = out.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("  cli ") and "NOT usable" in line)
    column = lines[row].index("NOT usable")
    assert lines[row + 1][:column].strip() == "" and lines[row + 1][column:].startswith("fix: ")
    assert took < 30
