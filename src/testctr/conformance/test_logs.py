"""Clause logs: stdout and stderr, waiting for a line printed late, streaming."""

from __future__ import annotations

import re
import threading
import time

import pytest

import testctr
from testctr.backend.protocols import Backend, LogSince, LogStreamer
from testctr.conformance._support import BUSYBOX, RawContainers, record_unsupported, sleeper_command

pytestmark = [pytest.mark.clause("logs"), pytest.mark.engine]

_TICKER = ["sh", "-c", "echo tick-err >&2; i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo tick $i; sleep 0.2; done"]


def test_logs_hold_stdout_and_stderr(request: pytest.FixtureRequest) -> None:
    c = testctr.new(
        request,
        BUSYBOX,
        testctr.with_command(*sleeper_command("echo to-stdout; echo to-stderr >&2")),
        testctr.with_wait_for_log("to-stderr"),
        testctr.with_wait_for_log("to-stdout"),
    )
    logs = c.logs()
    assert "to-stdout" in logs.splitlines()
    assert "to-stderr" in logs.splitlines()


def test_wait_for_log_sees_a_line_printed_after_a_delay(request: pytest.FixtureRequest) -> None:
    c = testctr.new(
        request,
        BUSYBOX,
        testctr.with_command(*sleeper_command("echo early; sleep 2; echo late-line")),
        testctr.with_wait_for_log("late-line", timeout=60),
    )
    assert "late-line" in c.logs()


def test_backend_wait_for_log_occurrences_and_timeout(backend: Backend, raw: RawContainers) -> None:
    cid = raw.create(BUSYBOX, command=_TICKER)
    backend.start_container(cid)
    backend.wait_for_log(cid, re.compile(r"^tick 5$"), 60)
    backend.wait_for_log(cid, re.compile(r"^tick \d+$"), 60, occurrences=8)
    with pytest.raises(testctr.WaitTimeout):
        backend.wait_for_log(cid, re.compile("never-printed"), 1.5)


def test_wait_for_log_fails_fast_when_the_container_exits(backend: Backend, raw: RawContainers) -> None:
    cid = raw.create(BUSYBOX, command=["sh", "-c", "echo bye; exit 2"])
    backend.start_container(cid)
    with pytest.raises(testctr.ContainerStartError):
        backend.wait_for_log(cid, re.compile("never-printed"), 60)


def test_log_since_holds_only_what_came_after_the_time(
    request: pytest.FixtureRequest, backend: Backend, raw: RawContainers
) -> None:
    if not isinstance(backend, LogSince):
        record_unsupported(request, "logs since a time (failure reports show the last lines)")
        return
    cid = raw.create(BUSYBOX, command=["sh", "-c", "echo before; sleep 2; echo after-1; echo after-2; sleep 3600"])
    backend.start_container(cid)
    backend.wait_for_log(cid, re.compile("^before$"), 60)
    time.sleep(0.5)  # the engine stamps a line when it reads it, a little after it was written
    since = time.time()
    backend.wait_for_log(cid, re.compile("^after-2$"), 60)
    assert backend.log_since(cid, since, 10).splitlines() == ["after-1", "after-2"]
    assert backend.log_since(cid, since, 1).splitlines() == ["after-2"]


def _collect(stream: object, until: re.Pattern[str] | None, timeout: float) -> list[str]:
    """Iterate a log stream in a thread; stop at ``until`` (or the stream's end)."""
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.append(line)
            if until is not None and until.search(line):
                break
        done.set()

    threading.Thread(target=read, daemon=True).start()
    done.wait(timeout)
    assert done.is_set(), f"log stream gave only {lines[-5:]} within {timeout:.0f}s"
    return lines


def test_stream_logs_follows_new_lines(request: pytest.FixtureRequest, backend: Backend, raw: RawContainers) -> None:
    if not isinstance(backend, LogStreamer):
        with pytest.raises(testctr.UnsupportedOption):
            testctr.new(request, BUSYBOX, testctr.with_logs())
        record_unsupported(request, "with_logs")
        return
    cid = raw.create(BUSYBOX, command=_TICKER)
    backend.start_container(cid)
    stream = backend.stream_logs(cid)
    try:
        lines = _collect(stream, re.compile(r"^tick 6$"), 60)
    finally:
        stream.close()
    ticks = [line for line in lines if line.startswith("tick ")]
    assert ticks == [f"tick {i}" for i in range(1, 7)]
    assert "tick-err" in lines


def test_stream_ends_when_the_container_stops(
    request: pytest.FixtureRequest, backend: Backend, raw: RawContainers
) -> None:
    if not isinstance(backend, LogStreamer):
        record_unsupported(request, "with_logs")
        return
    cid = raw.create(BUSYBOX, command=["sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.3; done"])
    backend.start_container(cid)
    stream = backend.stream_logs(cid)
    try:
        lines = _collect(stream, None, 60)
    finally:
        stream.close()
    assert lines == ["line 1", "line 2", "line 3"]


def test_with_logs_streams_without_error(request: pytest.FixtureRequest, capfd: pytest.CaptureFixture[str]) -> None:
    try:
        c = testctr.new(
            request,
            BUSYBOX,
            testctr.with_command(*sleeper_command("echo streamed-line")),
            testctr.with_logs(),
            testctr.with_wait_for_log("streamed-line"),
        )
    except testctr.UnsupportedOption:
        record_unsupported(request, "with_logs")
        return

    def printed() -> bool:
        return "streamed-line" in capfd.readouterr().err

    from testctr.conformance._support import wait_until

    wait_until(printed, 30, "with_logs to print the container's line")
    c.terminate()
