"""Leftover containers of dead sessions: listing, removal and the once-only warning."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import testctr
from testctr import housekeeping, settings
from testctr.backend.types import ContainerConfig
from testctr.backends.memory import BareMemoryBackend, MemoryBackend
from testctr.errors import EngineUnavailable
from testctr.housekeeping import check_once_in_background, find_leftovers, list_testctr_containers, remove
from testctr.labels import Project, container_labels, current_project
from testctr.owners import ScriptOwner

LABEL = "testctr"
#: Above any pid_max: no process has it, so its session is dead.
DEAD_PID = str(2**30)


def leftover(
    backend: BareMemoryBackend, name: str, *, created: str = "2020-01-01T00:00:00Z", pid: str = DEAD_PID
) -> str:
    """A container as a crashed run on this host left it."""
    labels = container_labels(LABEL, f"tests/test_old.py::{name}", "app:1")
    labels.update({f"{LABEL}.session": "an-old-session", f"{LABEL}.pid": pid, f"{LABEL}.created": created})
    container_id = backend.create_container("app:1", ContainerConfig(name=name, labels=labels))
    backend.start_container(container_id)
    return container_id


def test_containers_of_dead_sessions_are_leftovers_and_live_ones_are_not(memory: MemoryBackend) -> None:
    leftover(memory, "old")
    leftover(memory, "young", created="2999-01-01T00:00:00Z")
    leftover(memory, "no-pid", pid="")
    memory.create_container("app:1", ContainerConfig(name="unlabelled"))
    with testctr.run("app:1") as live:
        listed = {c.name: c for c in list_testctr_containers(LABEL)}
        assert set(listed) == {"old", "young", "no-pid", live.name}
        assert listed[live.name].alive
        assert not listed["old"].alive and listed["old"].age > 3600
        assert listed["old"].test == "tests/test_old.py::old"
        assert {c.name for c in find_leftovers(LABEL, min_age=300)} == {"old", "no-pid"}


def test_a_container_without_a_created_label_is_dated_by_the_engine(memory: MemoryBackend) -> None:
    cid = leftover(memory, "undated", created="")
    (listed,) = list_testctr_containers(LABEL)
    assert listed.info.id == cid and 0 <= listed.age < 60


def test_remove_counts_what_it_removed_and_skips_what_is_gone(memory: MemoryBackend) -> None:
    leftover(memory, "a")
    gone = leftover(memory, "b")
    found = find_leftovers(LABEL, 0)
    memory.remove_container(gone)
    assert remove(found) == 1
    assert list_testctr_containers(LABEL) == []


def test_a_backend_that_cannot_list_has_no_leftovers(bare: BareMemoryBackend) -> None:
    leftover(bare, "old")
    assert list_testctr_containers(LABEL) == []


@pytest.fixture
def warn_once(memory: MemoryBackend) -> Iterator[None]:
    """The warning may be given again in this test, and is checked after its thread ends."""
    checked = housekeeping._checked
    housekeeping._checked = set()
    settings.configure(warn_old=True, cleanup_age=0.0)
    yield
    housekeeping._checked = checked


def join_checks() -> None:
    for thread in threading.enumerate():
        if thread.name == "testctr-housekeeping":
            thread.join()


class WarnedOwner(ScriptOwner):
    """A script owner that keeps its warnings (a real one prints them at exit)."""

    def __init__(self) -> None:
        super().__init__("t")
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def test_the_first_start_warns_about_leftovers_once(memory: MemoryBackend, warn_once: None) -> None:
    for name in ("a", "b", "c", "d"):
        leftover(memory, name)
    owner = WarnedOwner()
    testctr.new(owner, "app:1")
    join_checks()
    assert len(owner.warnings) == 1
    assert "4 leftover container(s) of this project's dead sessions (a, b, c, ...)" in owner.warnings[0]
    testctr.new(owner, "app:1")
    check_once_in_background(owner.warn)
    join_checks()
    assert len(owner.warnings) == 1
    owner.close()


def test_no_warning_without_leftovers_or_when_switched_off(memory: MemoryBackend, warn_once: None) -> None:
    warnings: list[str] = []
    check_once_in_background(warnings.append)
    join_checks()
    leftover(memory, "old")
    check_once_in_background(warnings.append)  # once per process: not looked at again
    join_checks()
    assert [m for m, _ in memory.calls if m == "list_containers"] == ["list_containers"]
    housekeeping._checked = set()
    settings.configure(warn_old=False)
    check_once_in_background(warnings.append)
    join_checks()
    assert warnings == []


def test_an_unusable_engine_gives_no_warning(memory: MemoryBackend, warn_once: None) -> None:
    warnings: list[str] = []
    leftover(memory, "old")
    memory.fail("list_containers", EngineUnavailable("down"))
    check_once_in_background(warnings.append)
    join_checks()
    assert warnings == []


def of_project(backend: MemoryBackend, name: str, project_labels: dict[str, str]) -> str:
    """A leftover whose project labels are ``project_labels`` (none: made before projects had ids)."""
    labels = container_labels(LABEL, f"tests/test_old.py::{name}", "app:1")
    for key in (f"{LABEL}.project", f"{LABEL}.project-id"):
        labels.pop(key)
    labels.update({f"{LABEL}.session": "gone", f"{LABEL}.pid": DEAD_PID, **project_labels})
    return backend.create_container("app:1", ContainerConfig(name=name, labels=labels))


def test_only_this_projects_dead_sessions_are_leftovers_unless_every_project_is_asked_for(
    memory: MemoryBackend, tmp_path: Path
) -> None:
    here = current_project()
    namesake = Project(str(tmp_path / here.name))  # another checkout with the same basename
    of_project(memory, "ours", {f"{LABEL}.project": here.name, f"{LABEL}.project-id": here.id})
    of_project(memory, "namesakes", {f"{LABEL}.project": namesake.name, f"{LABEL}.project-id": namesake.id})
    of_project(memory, "old-ours", {f"{LABEL}.project": here.name})
    of_project(memory, "old-theirs", {f"{LABEL}.project": "another-app"})
    of_project(memory, "unlabelled", {})
    assert {c.name for c in find_leftovers(LABEL, 0)} == {"ours", "old-ours"}
    everything = {"ours", "namesakes", "old-ours", "old-theirs", "unlabelled"}
    assert {c.name for c in find_leftovers(LABEL, 0, all_projects=True)} == everything
    listed = {c.name: c for c in list_testctr_containers(LABEL)}
    assert listed["namesakes"].project == here.name and not listed["namesakes"].ours
    assert listed["unlabelled"].project == "?"


def test_reused_and_shared_containers_say_so(memory: MemoryBackend) -> None:
    of_project(memory, "plain", {})
    of_project(memory, "reused", {f"{LABEL}.reuse": "hash"})
    of_project(memory, "both", {f"{LABEL}.reuse": "hash", f"{LABEL}.shared": "key"})
    listed = {c.name: c.sharing for c in list_testctr_containers(LABEL)}
    assert listed == {"plain": "-", "reused": "reuse", "both": "reuse,shared"}


def test_listing_a_backend_that_is_not_the_default(memory: MemoryBackend) -> None:
    other = MemoryBackend()
    leftover(other, "elsewhere")
    assert [c.name for c in find_leftovers(LABEL, 0, backend=other)] == ["elsewhere"]
    assert find_leftovers(LABEL, 0) == []
    assert remove(find_leftovers(LABEL, 0, backend=other), other) == 1
    assert list_testctr_containers(LABEL, other) == []


def test_reused_containers_are_never_leftovers_and_clean_reused_finds_them(
    memory: MemoryBackend, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    reused_id = leftover(memory, "kept")
    labels = memory.inspect_container(reused_id).labels
    memory.remove_container(reused_id)
    memory.run_container("app:1", ContainerConfig(name="kept", labels={**labels, f"{LABEL}.reuse": "abc"}))
    leftover(memory, "old")
    assert [c.name for c in find_leftovers(LABEL, 0)] == ["old"]
    assert [c.name for c in housekeeping.find_reused(LABEL)] == ["kept"]
    assert remove(housekeeping.find_reused(LABEL)) == 1 and not memory.exists("kept")
