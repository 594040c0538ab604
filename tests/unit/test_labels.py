"""Which project a container belongs to."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testctr import labels
from testctr.labels import SESSION_ID, Project, container_labels, find_project_root, session_alive


def test_two_checkouts_with_one_basename_are_two_projects(tmp_path: Path) -> None:
    one, two = Project(str(tmp_path / "a" / "app")), Project(str(tmp_path / "b" / "app"))
    assert one.name == two.name == "app" and one.id != two.id
    assert Project(str(tmp_path / "a" / "app" / ".." / "app")).id == one.id


def test_a_project_owns_its_id_and_old_labels_by_name() -> None:
    project = Project("/src/app")
    assert project.owns({"l.project-id": project.id, "l.project": "other"}, "l")
    assert not project.owns({"l.project-id": "0" * 12, "l.project": "app"}, "l")
    assert project.owns({"l.project": "app"}, "l")  # from before the id: the basename is all there is
    assert not project.owns({"l.project": "lib"}, "l") and not project.owns({}, "l")


def test_the_root_is_the_nearest_directory_with_a_marker(tmp_path: Path) -> None:
    (tmp_path / "app" / "tests" / "deep").mkdir(parents=True)
    (tmp_path / "app" / "pyproject.toml").write_text("")
    assert find_project_root(str(tmp_path / "app" / "tests" / "deep")) == str((tmp_path / "app").resolve())
    (tmp_path / "bare").mkdir()
    assert find_project_root(str(tmp_path / "bare")) in {str((tmp_path / "bare").resolve()), *_marked_above(tmp_path)}


def _marked_above(path: Path) -> set[str]:
    """Directories above ``path`` a marker makes a root (a tmp dir is inside no project, usually)."""
    return {str(p) for p in path.resolve().parents if any((p / m).exists() for m in labels._ROOT_MARKERS)}


def test_in_a_pytest_run_the_project_is_pytests_rootdir(pytestconfig: pytest.Config) -> None:
    assert labels.current_project().root == os.path.realpath(pytestconfig.rootpath)


def test_labels_carry_the_project_name_and_id() -> None:
    made = labels.owner_labels("l", "t")
    project = labels.current_project()
    assert made["l.project"] == project.name and made["l.project-id"] == project.id


def test_labels_and_session_liveness() -> None:
    labels = container_labels("testctr", "tests/t.py::test_a", "redis:7")
    assert labels["testctr"] == "true" and labels["testctr.session"] == SESSION_ID
    assert session_alive(labels, "testctr")
    other_session_same_pid = {**labels, "testctr.session": "other"}
    assert session_alive(other_session_same_pid, "testctr")  # this process is alive
    dead = {**labels, "testctr.session": "other", "testctr.pid": "999999999"}
    assert not session_alive(dead, "testctr")
    reused_pid = {**labels, "testctr.session": "other", "testctr.pid-start": "1"}
    assert not session_alive(reused_pid, "testctr")
    elsewhere = {**dead, "testctr.host": "another-machine"}
    assert session_alive(elsewhere, "testctr")  # cannot know: never removed
