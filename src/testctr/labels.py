"""Labels on every container, and telling live sessions' containers from leftovers.

A session is one process (a pytest run, an xdist worker, a script). Its
containers carry the host name, pid and the pid's start time, so a later run
can tell whether the process that made a container is still alive — and never
removes a live run's containers, whatever their age.
"""

from __future__ import annotations

import datetime as dt
import os

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


def container_labels(prefix: str, test_id: str, image: str, project: str) -> dict[str, str]:
    return {**owner_labels(prefix, test_id, project), f"{prefix}.image": image}


def owner_labels(prefix: str, test_id: str, project: str) -> dict[str, str]:
    """What every object testctr creates carries (containers, networks): whose it is, since when."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        prefix: "true",
        f"{prefix}.test": test_id,
        f"{prefix}.created": now,
        f"{prefix}.project": project,
        f"{prefix}.session": SESSION_ID,
        f"{prefix}.host": _HOST,
        f"{prefix}.pid": str(_PID),
        f"{prefix}.pid-start": _PID_START,
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


def this_process() -> tuple[str, int, str]:
    """This session's host name, pid and the pid's start time (as in the labels)."""
    return _HOST, _PID, _PID_START


def created_at(labels: dict[str, str], prefix: str) -> dt.datetime | None:
    text = labels.get(f"{prefix}.created", "")
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None


def project_name() -> str:
    return os.path.basename(os.getcwd())
