"""What the engine tests that run testctr in other processes share: finding their containers, removing leftovers.

A module using them has a ``label`` fixture: the label prefix its testctr
runs are given (TESTCTR_LABEL), so its containers and only them are found.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest


def containers(runtime: str, label: str, *filters: str) -> list[str]:
    """The full ids of the containers, running or not, labelled ``label`` and matching the ``ps`` ``filters``."""
    argv = [runtime, "ps", "-aq", "--no-trunc", "--filter", f"label={label}"]
    for f in filters:
        argv += ["--filter", f]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout.split()


@pytest.fixture
def remove_leftovers(label: str, runtime: str) -> Iterator[None]:
    """A test that fails must not leave its containers to the next one."""
    yield
    ids = containers(runtime, label)
    if ids:
        subprocess.run([runtime, "rm", "-f", *ids], capture_output=True, timeout=60)
