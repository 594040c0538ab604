"""The pytest files of examples/ pass as a user runs them: in their own pytest, on each engine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.parametrize("example", sorted(path.name for path in EXAMPLES.glob("test_*.py")))
def test_example_passes(example: str, runtime: str) -> None:
    # Compose follows TESTCTR_RUNTIME too, so both ways of building a stack use `runtime`.
    env = {**os.environ, "TESTCTR_RUNTIME": runtime}
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", example]
    result = subprocess.run(argv, cwd=EXAMPLES, env=env, capture_output=True, text=True, timeout=300)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    # Every test passed, none skipped or deselected: "6 passed in 12.04s".
    assert result.returncode == 0 and summary.split(" passed in ")[0].isdigit(), f"{result.stdout}\n{result.stderr}"
