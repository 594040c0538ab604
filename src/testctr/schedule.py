"""How many tests this process has left to run, where its runner knows: pytest, without xdist.

The database pools (:mod:`testctr.dbpool`) make no more ready databases than
the tests left can take: one made for a test that never comes costs a CREATE
on the last tests' CPU and a DROP at the exit. Scripts, unittest, Django's
runner and xdist workers (given tests a batch at a time) leave it unknown.
"""

from __future__ import annotations

#: Tests this process runs after the current one; None: unknown.
tests_left: int | None = None
#: Counts the tests started, so a pool can tell whether the current one has taken its database.
current_test = 0


def test_started(left: int | None) -> None:
    """Called by the runner as each test starts, with the number of tests after it (None: unknown)."""
    global tests_left, current_test
    tests_left = left
    current_test += 1
