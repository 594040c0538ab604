"""errors.py: what the messages say of logs and of the OOM killer."""

from __future__ import annotations

from testctr.backend.types import ExecResult
from testctr.errors import LINE_WIDTH, ContainerStartError, ExecError, WaitTimeout, oom_note, tail


def test_oom_note() -> None:
    assert oom_note(True, 137, 8 << 20) == "killed by the kernel's OOM killer (memory limit 8 MiB)"
    assert "no memory limit of its own" in oom_note(True, 137, None)
    assert "most likely" in oom_note(None, 137, 8 << 20) and "8 MiB" in oom_note(None, 137, 8 << 20)
    assert oom_note(False, 137, 8 << 20) == oom_note(None, 137, None) == oom_note(None, 1, 8 << 20) == ""


def test_a_long_line_is_cut_in_a_message() -> None:
    shown = tail("x" * (LINE_WIDTH * 5), 10)
    assert len(shown) < LINE_WIDTH + 20 and shown.endswith("[cut]")


def test_attached_logs_replace_the_message_tail() -> None:
    error = WaitTimeout("a line", 1.0)
    assert "(no log output)" in str(error)
    error.attach_logs("one\ntwo", "/tmp/x.log")
    assert "last log lines (full log: /tmp/x.log):\n  | one\n  | two" in str(error)
    start = ContainerStartError("exited during startup", exit_code=137)
    start.attach_logs("", None, "killed by the kernel's OOM killer (memory limit 8 MiB)")
    assert str(start).startswith("exited during startup (exit code 137); killed by the kernel's OOM killer")


def test_an_oom_killed_command_says_so() -> None:
    result = ExecResult(137, "", "", "", oom_killed=True, memory_limit=8 << 20)
    assert "OOM killer (memory limit 8 MiB)" in str(ExecError(["dd"], result))
    assert "OOM" not in str(ExecError(["dd"], ExecResult(137, "", "", "", oom_killed=False, memory_limit=8 << 20)))
