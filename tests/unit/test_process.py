"""Running engine CLIs (testctr.backends._process): bounds and working directory."""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testctr import settings
from testctr.backend import deadline
from testctr.backend.types import ContainerInfo, ContainerState
from testctr.backends import _process
from testctr.backends._process import (
    MAX_LINE,
    QUEUE_BATCHES,
    CommandTimeout,
    EnvArgs,
    FollowedLines,
    LineSplitter,
    QueuedLines,
    follow_logs_until,
    run_command,
    run_exec,
    work_dir,
)
from testctr.errors import ContainerStartError, EngineUnavailable, WaitTimeout

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


@given(
    st.lists(st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=20)),
    st.lists(st.integers(0, 400), max_size=8),
)
def test_splitter_gives_every_line_whole_however_the_bytes_are_cut(lines: list[str], cuts: list[int]) -> None:
    data = "".join(line + "\n" for line in lines).encode()
    splitter = LineSplitter()
    out: list[str] = []
    at = 0
    for cut in [*sorted(cuts), len(data)]:
        out += splitter.feed(data[at : max(cut, at)])
        at = max(cut, at)
    assert out + splitter.flush() == lines


def test_splitter_strips_carriage_returns_and_flushes_a_last_line() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"a\r\nb\r\nc") == ["a", "b"]
    assert splitter.flush() == ["c"]


def test_splitter_holds_at_most_max_line_of_a_line_without_newline() -> None:
    splitter = LineSplitter()
    for _ in range(40):
        assert splitter.feed(b"x" * 65536) == []
    assert len(splitter._pending) == MAX_LINE
    assert splitter.feed(b"tail\nnext\n") == ["x" * MAX_LINE, "next"]


class Flood(QueuedLines):
    """A follower over an endless, fast source, counting what it read."""

    def __init__(self, batch: int = 1000) -> None:
        self.produced = 0
        self._batch = batch
        self._stop = threading.Event()
        super().__init__()

    def _read(self) -> Iterator[list[str]]:
        while not self._stop.is_set():
            start = self.produced
            self.produced += self._batch
            yield [f"line {i}" for i in range(start, self.produced)]

    def close(self) -> None:
        self._stop.set()
        self._stop_pump()


def test_a_slow_reader_holds_the_producer_back_instead_of_queueing_everything() -> None:
    flood = Flood()
    try:
        time.sleep(0.3)
        # The queue is full and the reader thread waits: nothing more is read.
        assert flood.produced <= (QUEUE_BATCHES + 2) * 1000
        # ... and no line is lost: they come in order from the first.
        assert [flood.next_line(1) for _ in range(2500)] == [f"line {i}" for i in range(2500)]
    finally:
        flood.close()
    assert not flood._thread.is_alive()


def test_close_frees_a_reader_blocked_on_the_full_queue() -> None:
    flood = Flood()
    time.sleep(0.2)
    started = time.monotonic()
    flood.close()
    assert time.monotonic() - started < 1 and not flood._thread.is_alive()


class Backend:
    """What follow_logs_until needs: a stream factory and a state."""

    def __init__(self, streams: list[QueuedLines], running: bool = True) -> None:
        self.streams = streams
        self.opened = 0
        self.running = running

    def stream_logs(self, container_id: str) -> QueuedLines:
        self.opened += 1
        return self.streams.pop(0)

    def inspect_container(self, container_id: str) -> ContainerInfo:
        state = ContainerState(running=self.running, status="running" if self.running else "exited", exit_code=None)
        return ContainerInfo(id=container_id, name="n", image="i", created=None, state=state)


def test_wait_under_a_flood_ends_at_its_deadline_with_the_last_lines_read() -> None:
    backend = Backend([Flood()])
    started = time.monotonic()
    with pytest.raises(WaitTimeout) as info:
        follow_logs_until(backend, "c", re.compile("never"), 0.5)  # type: ignore[arg-type]
    assert time.monotonic() - started < 0.8
    shown = info.value.logs.splitlines()
    assert len(shown) == settings.current().report_lines
    assert all(line.startswith("line ") for line in shown)


def test_wait_sees_a_line_deep_in_a_flood() -> None:
    backend = Backend([Flood()])
    follow_logs_until(backend, "c", re.compile(r"^line 54321$"), 30)  # type: ignore[arg-type]


class Finite(QueuedLines):
    def __init__(self, lines: list[str]) -> None:
        self._given = lines
        super().__init__()

    def _read(self) -> Iterator[list[str]]:
        yield list(self._given)

    def close(self) -> None:
        self._stop_pump()


def test_a_stream_that_gives_up_is_followed_anew_past_the_lines_already_read() -> None:
    # The second stream starts from the log's start again: "a" must count once.
    backend = Backend([Finite(["a", "b"]), Finite(["a", "b", "a"])])
    follow_logs_until(backend, "c", re.compile("^a$"), 5, occurrences=2)  # type: ignore[arg-type]
    backend = Backend([Finite(["a", "b"]), Finite(["a", "b"]), Flood(batch=1)])
    with pytest.raises(WaitTimeout):
        follow_logs_until(backend, "c", re.compile("^a$"), 0.5, occurrences=2)  # type: ignore[arg-type]


def test_a_stream_that_ends_with_the_container_fails_at_once() -> None:
    backend = Backend([Finite(["booting", "dying"])], running=False)
    started = time.monotonic()
    with pytest.raises(ContainerStartError, match="stopped before logging"):
        follow_logs_until(backend, "c", re.compile("ready"), 30)  # type: ignore[arg-type]
    assert time.monotonic() - started < 5


def test_followed_lines_of_a_command() -> None:
    script = "import sys; [print(f'l{i}') for i in range(50000)]; sys.stdout.write('last')"
    follow = FollowedLines([sys.executable, "-c", script])
    lines = list(follow)
    follow.close()
    assert lines == [f"l{i}" for i in range(50000)] + ["last"]


def test_env_values_become_names_the_cli_resolves_from_its_environment() -> None:
    passed = EnvArgs.of({"DB_PASSWORD": "s3cret", "EMPTY": ""}, parent={})
    assert passed.names == ["DB_PASSWORD", "EMPTY"]
    assert passed.child_env == {"DB_PASSWORD": "s3cret", "EMPTY": ""}
    env = passed.process_env()
    assert env is not None and env["DB_PASSWORD"] == "s3cret" and "PATH" in env


@pytest.mark.parametrize("name", ["PATH", "HOME", "DOCKER_HOST", "CONTAINER_HOST", "https_proxy", "LC_ALL", "A*"])
def test_names_the_cli_reads_itself_stay_in_argv(name: str) -> None:
    assert EnvArgs.of({name: "/x"}, parent={name: "/y"}).names == [f"{name}=/x"]
    # The same value as ours changes nothing for the CLI: by name.
    if "*" not in name:
        assert EnvArgs.of({name: "/y"}, parent={name: "/y"}).names == [name]


def test_nothing_to_hide_keeps_our_environment() -> None:
    assert EnvArgs.of({}).process_env() is None
    assert EnvArgs.of({"PATH": "/x"}, parent={}).process_env() is None


def test_copy_output_writes_the_file_and_stops_at_its_timeout(tmp_path: object) -> None:
    import pathlib

    path = pathlib.Path(str(tmp_path)) / "out"
    with path.open("wb") as out:
        assert _process.copy_output([sys.executable, "-c", "print('x' * 10)"], out, 30)
    assert path.read_text() == "x" * 10 + "\n"
    with path.open("wb") as out:
        assert not _process.copy_output([sys.executable, "-c", "import time; time.sleep(30)"], out, 0.3)


def test_skip_ready_ends_however_fast_lines_come() -> None:
    flood = Flood()
    try:
        time.sleep(0.2)
        started = time.monotonic()
        flood.skip_ready()
        assert time.monotonic() - started < 0.5
    finally:
        flood.close()


class SlowInspect(Backend):
    """An engine whose inspect takes as long as the deadline in force allows, then gives up (as the CLI does)."""

    def inspect_container(self, container_id: str) -> ContainerInfo:
        time.sleep(deadline.bound(30))
        raise EngineUnavailable("inspect timed out")


def test_an_inspect_after_the_stream_ended_is_bounded_by_the_waits_deadline() -> None:
    backend = SlowInspect([Finite(["booting"])])
    started = time.monotonic()
    with pytest.raises(WaitTimeout):
        follow_logs_until(backend, "c", re.compile("never"), 0.5)  # type: ignore[arg-type]
    assert time.monotonic() - started < 0.5 + deadline.GRACE + 0.5
