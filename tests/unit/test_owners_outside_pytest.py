"""Where owners outside pytest send hints and warnings."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = """
import sys
import threading

import testctr
from testctr import labels
from testctr import backends
from testctr.backend.types import ContainerConfig
from testctr.backends.memory import MemoryBackend

backend = MemoryBackend()
backend.create_container("img", ContainerConfig(name="old-one", labels={
    "testctr": "true", "testctr.created": "2020-01-01T00:00:00Z", "testctr.host": labels._HOST,
    "testctr.pid": "999999999", "testctr.project-id": labels.current_project().id}))
backends.register("memory", backend)
with testctr.run("img"):
    pass
for thread in threading.enumerate():
    if thread.name == "testctr-housekeeping":
        thread.join()
print("last line of the script", file=sys.stderr)
"""


def test_a_scripts_leftover_warning_comes_when_it_exits(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESTCTR_")}
    env["TESTCTR_BACKEND"] = "memory"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "last line of the script"
    assert lines[1].startswith("testctr: warning: 1 leftover container(s) of this project's dead sessions (old-one)")
