"""`testctr ls` and `testctr clean` on Docker and Podman: only this project's dead sessions go."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testctr import labels

pytestmark = pytest.mark.engine

IMAGE = "testctr.local/busybox:latest"


class Projects:
    """Two checkouts on this machine, and containers their crashed runs left, under a label of this test's own."""

    def __init__(self, root: Path) -> None:
        self.label = "testctr-scope-" + os.urandom(3).hex()
        self.here = root / "app"
        self.other = root / "elsewhere" / "app"  # the same basename: the project id tells them apart
        for project in (self.here, self.other):
            project.mkdir(parents=True)
            (project / "pyproject.toml").write_text("[project]\nname = 'app'\n")
        self.made: list[tuple[str, str]] = []

    def leftover(self, runtime: str, project: Path, name: str) -> str:
        """A container of a dead process of ``project`` (a pid no process has)."""
        name = f"{name}-{os.urandom(3).hex()}"
        owner = {
            **labels.container_labels(self.label, f"tests/test_x.py::{name}", IMAGE),
            f"{self.label}.project-id": labels.Project(str(project)).id,
            f"{self.label}.project": labels.Project(str(project)).name,
            f"{self.label}.pid": str(2**30),
            f"{self.label}.session": "a-dead-session",
        }
        argv = [runtime, "create", "--name", name]
        for key, value in owner.items():
            argv += ["--label", f"{key}={value}"]
        subprocess.run([*argv, IMAGE, "sleep", "300"], capture_output=True, text=True, timeout=60, check=True)
        self.made.append((runtime, name))
        return name

    def testctr(self, *args: str, cwd: Path | None = None) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TESTCTR_")}
        result = subprocess.run(
            [sys.executable, "-m", "testctr", *args],
            cwd=cwd or self.here,
            env={**env, "TESTCTR_LABEL": self.label},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def existing(self) -> set[str]:
        found = set()
        for runtime, name in self.made:
            argv = [runtime, "ps", "-a", "--format", "{{.Names}}", "--filter", f"name=^{name}$"]
            if subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip():
                found.add(name)
        return found


@pytest.fixture
def projects(tmp_path: Path) -> Iterator[Projects]:
    made = Projects(tmp_path)
    yield made
    for runtime, name in made.made:
        subprocess.run([runtime, "rm", "-f", "-v", name], capture_output=True, timeout=60)


def test_clean_removes_only_this_projects_dead_sessions(projects: Projects, runtime: str) -> None:
    ours = projects.leftover(runtime, projects.here, "ours")
    theirs = projects.leftover(runtime, projects.other, "theirs")
    out = projects.testctr("clean", "--dry-run", "--runtime", runtime)
    assert f"would remove container {ours}" in out and theirs not in out
    assert projects.existing() == {ours, theirs}  # a dry run removes nothing
    # From a subdirectory: the project is the checkout, not the cwd.
    (projects.here / "tests").mkdir()
    out = projects.testctr("clean", "--runtime", runtime, cwd=projects.here / "tests")
    assert "removed 1 container(s)" in out
    assert projects.existing() == {theirs}
    out = projects.testctr("clean", "--all-projects", "--runtime", runtime)
    assert "removed 1 container(s)" in out and projects.existing() == set()


def test_ls_shows_every_engine_with_project_and_owner(projects: Projects) -> None:
    on_docker = projects.leftover("docker", projects.here, "on-docker")
    on_podman = projects.leftover("podman", projects.other, "on-podman")
    rows = {line.split()[0]: line.split() for line in projects.testctr("ls").splitlines() if line.strip()}
    assert rows[on_docker][1:3] == ["cli/docker", "app"] and "dead" in rows[on_docker]
    assert rows[on_podman][1:3] == ["cli/podman", "app"] and "dead" in rows[on_podman]
    narrowed = projects.testctr("ls", "--runtime", "podman")
    assert on_podman in narrowed and on_docker not in narrowed
