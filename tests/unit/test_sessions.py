"""Run tokens and their lock files: a live run's token is never dead, an ended run's is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testctr import sessions


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))


def other_process_token(alive: bool) -> tuple[str, subprocess.Popen[str]]:
    code = "from testctr import sessions; import sys; print(sessions.token(), flush=True); sys.stdin.read()"
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    token = proc.stdout.readline().strip()
    if not alive:
        proc.communicate("")
    return token, proc


def test_a_live_runs_token_is_not_dead_and_an_ended_ones_is() -> None:
    token, proc = other_process_token(alive=True)
    try:
        assert not sessions.dead(token)
    finally:
        proc.communicate("")
    assert sessions.dead(token)
    sessions.forget(token)
    assert not sessions.dead(token)  # no file: nothing is known about it


def test_this_processs_token_is_stable_and_alive(tmp_path: Path) -> None:
    monkey_token = sessions.token()
    assert sessions.token() == monkey_token and len(monkey_token) == 8
    assert not sessions.dead(monkey_token)


def test_an_unknown_token_is_never_dead() -> None:
    assert not sessions.dead("0badc0de")
