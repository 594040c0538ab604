"""The caller's deadline that engine calls respect (testctr.backend.deadline)."""

from __future__ import annotations

import time

import pytest

from testctr.backend import deadline


def test_without_a_deadline_a_call_keeps_its_own_bound() -> None:
    assert deadline.current() is None
    assert deadline.bound(60.0) == 60.0


def test_a_deadline_shortens_a_call_to_the_time_left() -> None:
    with deadline.until(time.monotonic() + 3.0):
        assert 2.5 < deadline.bound(60.0) <= 3.0
        assert deadline.bound(1.0) == 1.0
    assert deadline.current() is None


def test_a_call_past_the_deadline_still_gets_the_grace() -> None:
    with deadline.until(time.monotonic() - 10):
        assert deadline.bound(60.0) == deadline.GRACE


def test_an_inner_deadline_never_extends_the_outer_one() -> None:
    outer = time.monotonic() + 1.0
    with deadline.until(outer):
        with deadline.until(outer + 100):
            assert deadline.current() == outer
        with deadline.until(outer - 0.5):
            assert deadline.current() == outer - 0.5
        assert deadline.current() == outer


def test_an_engine_that_did_not_answer_is_not_asked_again_under_the_same_deadline() -> None:
    unanswered = deadline.Unanswered()
    assert unanswered.message() is None
    at = time.monotonic() + 5
    with deadline.until(at):
        unanswered.remember(RuntimeError("the engine did not answer"))
        assert unanswered.message() == "the engine did not answer"
    assert unanswered.message() is None  # outside any deadline: ask again
    with deadline.until(at + 1):
        assert unanswered.message() is None  # another start: ask again


def test_an_error_outside_any_deadline_is_not_remembered() -> None:
    unanswered = deadline.Unanswered()
    unanswered.remember(RuntimeError("slow"))
    assert unanswered.message() is None
    with deadline.until(time.monotonic() + 1):
        assert unanswered.message() is None


@pytest.mark.parametrize("left", [0.2, 1.0])
def test_bound_is_the_shorter_of_the_two(left: float) -> None:
    with deadline.until(time.monotonic() + left):
        assert deadline.bound(0.5) <= max(min(0.5, left), deadline.GRACE)
