"""Following a log by reading it whole: the lines of ``container logs``, LogFollower's cursor and deadline."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testctr.backend.deadline import GRACE
from testctr.backends.apple import AppleBackend, logs
from testctr.errors import EngineUnavailable

#: What killing and reaping the CLI may add, on a loaded machine.
KILL_MARGIN = 0.5


def render_log(lines: list[str]) -> str:
    """What `container logs` prints for a log of these lines: trimmed of newlines, then one."""
    return "\n".join(lines).strip("\n") + "\n"


@pytest.mark.parametrize(
    ("text", "lines"),
    [("", []), ("\n", []), ("a\nb\n", ["a", "b"]), ("a\r\nb", ["a", "b"]), ("a\n\nb\n", ["a", "", "b"])],
)
def test_log_lines(text: str, lines: list[str]) -> None:
    assert logs.log_lines(text) == lines


@given(
    st.lists(st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=8)),
    st.lists(st.integers(0, 30), max_size=6),
)
def test_cursor_gives_every_line_once_in_order(lines: list[str], cuts: list[int]) -> None:
    cursor = logs.LogCursor()
    given_out: list[str] = []
    for cut in [*sorted(cuts), len(lines)]:
        given_out += cursor.advance(logs.log_lines(render_log(lines[:cut])))
    assert given_out == logs.log_lines(render_log(lines))


def test_cursor_gives_a_half_written_line_again_whole() -> None:
    cursor = logs.LogCursor()
    assert cursor.advance(["early", "rea"]) == ["early", "rea"]
    assert cursor.advance(["early", "ready", "next"]) == ["ready", "next"]
    assert cursor.advance(["early", "ready", "next"]) == []


def test_cursor_starts_over_when_the_log_was_replaced() -> None:
    cursor = logs.LogCursor()
    assert cursor.advance(["a", "b", "c"]) == ["a", "b", "c"]
    assert cursor.advance(["new"]) == ["new"]
    assert cursor.advance(["new", "more"]) == ["more"]


@pytest.mark.parametrize("timeout", [1.0, 0.1])
def test_a_read_that_outlasts_the_wait_is_cut_at_its_deadline(tmp_path: Path, timeout: float) -> None:
    # Every call of this `container` outlasts the wait, as a read of a flooded log does on a loaded machine.
    binary = tmp_path / "container"
    binary.write_text("#!/bin/sh\nexec sleep 30\n")
    binary.chmod(0o755)
    follower = logs.LogFollower(AppleBackend(str(binary)), "flooded")
    started = time.monotonic()
    try:
        assert follower.next_line(timeout) is None
    finally:
        follower.close()
    took = time.monotonic() - started
    # A read begun just before the deadline gets GRACE, as every engine call past a deadline does.
    assert timeout <= took < max(timeout, GRACE) + KILL_MARGIN
    assert not follower.ended


def test_a_cli_that_fails_before_the_deadline_is_an_error_not_a_timeout(tmp_path: Path) -> None:
    follower = logs.LogFollower(AppleBackend(str(tmp_path / "no-container")), "c")
    try:
        with pytest.raises(EngineUnavailable, match="does not exist"):
            follower.next_line(30)
    finally:
        follower.close()
