"""Following a log by reading it whole: the lines of ``container logs`` and LogFollower's cursor."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testctr.backends.apple import logs


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
