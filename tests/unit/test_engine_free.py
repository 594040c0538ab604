"""scripts/lib/engine_free.py: whether pytest arguments select a test marked engine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["tests/integration/test_pull.py", "-k", "registry_image"], 1),
        (["tests/integration/test_pull.py", "-m", "not engine"], 0),
        (["tests/integration/test_pull.py", "--no-such-option"], 2),
    ],
    ids=["integration", "deselected", "usage-error"],
)
def test_exit_status_says_whether_an_engine_test_is_selected(args: list[str], status: int) -> None:
    done = subprocess.run(
        [sys.executable, "scripts/lib/engine_free.py", *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == status, done.stdout + done.stderr
