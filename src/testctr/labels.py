"""Labels on every container, and telling live sessions' containers from leftovers.

A session is one process (a pytest run, an xdist worker, a script). Its
containers carry the host name, pid and the pid's start time, so a later run
can tell whether the process that made a container is still alive — and never
removes a live run's containers, whatever their age.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sys

SESSION_ID = os.urandom(6).hex()


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" where /proc is missing)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return ""
    # The command name (field 2) may contain spaces; fields after it are plain.
    return stat.rsplit(")", 1)[1].split()[19]


_HOST = os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")
_PID = os.getpid()
_PID_START = _start_ticks(_PID)


def container_labels(prefix: str, test_id: str, image: str, owner_pid: int | None = None) -> dict[str, str]:
    """``owner_pid``: the process whose life the container shares, when not this one
    (an xdist worker's shared container belongs to the run's controller)."""
    return {**owner_labels(prefix, test_id, owner_pid), f"{prefix}.image": image}


def owner_labels(prefix: str, test_id: str, owner_pid: int | None = None) -> dict[str, str]:
    """What every object testctr creates carries (containers, networks): whose it is, since when."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    project = current_project()
    pid, session = (_PID, SESSION_ID) if owner_pid is None else (owner_pid, f"pid-{owner_pid}")
    return {
        prefix: "true",
        f"{prefix}.test": test_id,
        f"{prefix}.created": now,
        f"{prefix}.project": project.name,
        f"{prefix}.project-id": project.id,
        f"{prefix}.session": session,
        f"{prefix}.host": _HOST,
        f"{prefix}.pid": str(pid),
        f"{prefix}.pid-start": _PID_START if owner_pid is None else _start_ticks(pid),
    }


def session_alive(labels: dict[str, str], prefix: str) -> bool:
    """Whether the process that created a container with these labels still runs.

    Containers from another host are assumed alive: we cannot know, and
    removing a colleague's containers is worse than leaving a leftover.
    """
    if labels.get(f"{prefix}.session") == SESSION_ID:
        return True
    if labels.get(f"{prefix}.host") != _HOST:
        return True
    try:
        pid = int(labels.get(f"{prefix}.pid", ""))
    except ValueError:
        return False
    return process_alive(pid, labels.get(f"{prefix}.pid-start", ""))


def process_alive(pid: int, recorded_start: str = "") -> bool:
    """Whether process ``pid`` of this host runs and, when known, is the one that started at ``recorded_start``."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    return not recorded_start or _start_ticks(pid) == recorded_start


def start_ticks(pid: int) -> str:
    """What :func:`process_alive` compares, recorded while ``pid`` is known to be alive."""
    return _start_ticks(pid)


def this_process() -> tuple[str, int, str]:
    """This session's host name, pid and the pid's start time (as in the labels)."""
    return _HOST, _PID, _PID_START


def created_at(labels: dict[str, str], prefix: str) -> dt.datetime | None:
    text = labels.get(f"{prefix}.created", "")
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None


class Project:
    """Which checkout made a container: ``id`` tells two checkouts named ``app`` apart, ``name`` is for people."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self.name = os.path.basename(self.root) or self.root
        self.id = hashlib.sha256(self.root.encode()).hexdigest()[:12]

    def owns(self, labels: dict[str, str], prefix: str) -> bool:
        """Whether these labels are this project's.

        Containers from before the ``project-id`` label carry only the
        basename, which is all "project" meant then: they count as this
        project's when the basename matches, so upgrading leaves none stranded.
        """
        recorded = labels.get(f"{prefix}.project-id")
        if recorded is not None:
            return recorded == self.id
        return labels.get(f"{prefix}.project") == self.name


#: Files that mark a project's root (pytest's ini files, and version control).
_ROOT_MARKERS = ("pyproject.toml", "pytest.ini", "tox.ini", "setup.cfg", "setup.py", ".git")


def find_project_root(start: str) -> str:
    """The nearest directory from ``start`` upwards with a project marker, else ``start``.

    So ``testctr clean`` run anywhere in a checkout agrees with the pytest run
    (whose rootdir is found from the same ini files).
    """
    here = os.path.realpath(start)
    while True:
        if any(os.path.exists(os.path.join(here, marker)) for marker in _ROOT_MARKERS):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return os.path.realpath(start)
        here = parent


def current_project() -> Project:
    """pytest's rootdir in a pytest run, else the project found from the cwd."""
    # Found, not imported: the library never imports the plugin.
    plugin = sys.modules.get("testctr.pytest_plugin")
    rootdir = getattr(plugin, "rootdir", None)
    return Project(rootdir if isinstance(rootdir, str) else find_project_root(os.getcwd()))
