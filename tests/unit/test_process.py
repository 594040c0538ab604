"""Running engine CLIs (testctr.backends._process): bounds and working directory."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from testctr.backend import deadline
from testctr.backends._process import CommandTimeout, FollowedLines, run_command, run_exec, work_dir

PRINT_CWD = [sys.executable, "-c", "import os; print(os.getcwd())"]
SLEEP = [sys.executable, "-c", "import time; time.sleep(30)"]


def test_programs_run_in_testctr_s_own_directory_not_the_caller_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    own = work_dir()
    assert os.path.isdir(own) and own != str(tmp_path)
    assert run_command(PRINT_CWD, 30).out.strip() == os.path.realpath(own)
    assert run_exec(PRINT_CWD, 30, ["pwd"]).stdout.strip() == os.path.realpath(own)
    follow = FollowedLines(PRINT_CWD)
    try:
        assert follow.next_line(30) == os.path.realpath(own)
    finally:
        follow.close()
    assert work_dir() == own  # made once per process
    assert list(tmp_path.iterdir()) == []


def test_a_command_is_stopped_at_its_own_bound() -> None:
    began = time.monotonic()
    with pytest.raises(CommandTimeout) as e:
        run_command(SLEEP, 0.3)
    assert e.value.timeout == 0.3
    assert time.monotonic() - began < 5


def test_a_deadline_shortens_a_command_s_bound() -> None:
    began = time.monotonic()
    with deadline.until(began + 0.6), pytest.raises(CommandTimeout) as e:
        run_command(SLEEP, 60)
    assert e.value.timeout <= 0.6
    assert time.monotonic() - began < 5
