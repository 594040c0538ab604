"""Containers that outlive their owner: reused across runs, or shared by a run's xdist workers.

Both are found by name, and the name comes from a hash of the configuration
(and, for a shared one, of the run): every process that asks for the same
thing computes the same name, so the engine itself settles a race — one
create wins, every other one is refused the name and attaches instead. No
lock file, no coordinator, and nothing that a killed process leaves locked.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from testctr.backend.protocols import Backend
from testctr.backend.types import ContainerConfig, ContainerInfo
from testctr.errors import ContainerNotFound, ContainerStartError, TestctrError

REUSE = "reuse"
SHARED = "shared"

#: How long a container another process made but has not started yet (it is
#: copying files in) is given to start before this process starts it.
SETTLE_TIME = 10.0
_SETTLE_POLL = 0.05
#: How long a create refused for a name that no inspect finds yet waits for it to show
#: (what else failed the create is reported after this long).
APPEAR_TIME = 3.0
#: Looks at the name before giving up: found, gone again, made again...
ATTEMPTS = 3


def config_hash(image: str, config: ContainerConfig, engine: Sequence[str]) -> str:
    """What makes two requests ask for the same container, as 16 hex digits.

    ``image`` as resolved (image map, prefix), everything of ``config`` the
    container is made from, and ``engine`` (backend, runtime, where it is).
    Not the name and not the labels: testctr's labels change with every run
    (test, time, pid), and a reused container keeps those of its first run.
    """
    identity = {
        "image": image,
        "env": sorted(config.env.items()),
        "command": config.command,
        "args": config.args,
        "entrypoint": config.entrypoint,
        "ports": sorted([p.key, p.host_port, p.host_ip] for p in config.ports),
        "files": [[f.container_path, hashlib.sha256(f.data).hexdigest(), f.mode] for f in config.files],
        "mounts": [[m.source, m.target, m.read_only] for m in config.mounts],
        "tmpfs": config.tmpfs,
        "networks": [[n.name, list(n.aliases)] for n in config.networks],
        "user": config.user,
        "workdir": config.workdir,
        "memory": config.memory_bytes,
        "cpus": config.cpus,
        "privileged": config.privileged,
        "platform": config.platform,
        # A backend's config is a dataclass: its repr lists its fields.
        "backend_config": None if config.backend_config is None else repr(config.backend_config),
        "engine": list(engine),
    }
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def reused_name(digest: str) -> str:
    return f"testctr-reuse-{digest}"


def shared_name(digest: str, run_id: str) -> str:
    return f"testctr-shared-{hashlib.sha256(f'{digest}:{run_id}'.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class SharedRun:
    """The pytest-xdist run this worker belongs to: its id, and the controller that outlives the workers."""

    id: str
    controller_pid: int


def shared_run(env: Mapping[str, str] | None = None) -> SharedRun | None:
    """The xdist run of this process, if it is a worker of one (xdist starts workers as the controller's children)."""
    env = os.environ if env is None else env
    run_id = env.get("PYTEST_XDIST_TESTRUNUID")
    if not run_id or not env.get("PYTEST_XDIST_WORKER"):
        return None
    return SharedRun(run_id, os.getppid())


@dataclass(frozen=True)
class Attached:
    """The container to use; ``created``: this process made it; ``info``: a fresh inspect, when one was made."""

    id: str
    created: bool
    info: ContainerInfo | None = None


def _look(backend: Backend, name: str) -> ContainerInfo | None:
    try:
        return backend.inspect_container(name)
    except ContainerNotFound:
        return None


def _appearing(backend: Backend, name: str, deadline: float) -> ContainerInfo | None:
    """The container a refused create met, once the engine shows it.

    dockerd reserves a name before the container can be inspected: for a
    moment a create is refused the name while an inspect finds nothing.
    """
    until = min(deadline, time.monotonic() + APPEAR_TIME)
    while (found := _look(backend, name)) is None and time.monotonic() < until:
        time.sleep(_SETTLE_POLL)
    return found


def _settled(backend: Backend, info: ContainerInfo, deadline: float) -> ContainerInfo | None:
    """``info`` once its maker has started it, or given up on that (None: removed meanwhile)."""
    until = min(deadline, time.monotonic() + SETTLE_TIME)
    while info.state.status == "created" and time.monotonic() < until:
        time.sleep(_SETTLE_POLL)
        found = _look(backend, info.name or info.id)
        if found is None:
            return None
        info = found
    return info


def attach_or_create(backend: Backend, name: str, create: Callable[[], str], deadline: float) -> Attached:
    """The running container called ``name``: found, started if stopped, replaced if it cannot
    start, else made by ``create`` (which must name it ``name``)."""
    problem: TestctrError | None = None
    for _ in range(ATTEMPTS):
        info = _look(backend, name)
        if info is None:
            try:
                return Attached(create(), created=True)
            except TestctrError as e:
                # Most likely another process made it between our look and our
                # create, and the engine refused the name: attach to theirs.
                info = _appearing(backend, name, deadline)
                if info is None:
                    raise
                problem = e
        settled = _settled(backend, info, deadline)
        if settled is None:
            continue
        if settled.state.running:
            return Attached(settled.id, created=False, info=settled)
        try:
            backend.start_container(settled.id)
            return Attached(settled.id, created=False)
        except ContainerNotFound:
            continue  # removed meanwhile (expired, cleaned): make it again
        except TestctrError as e:
            problem = e
            replace(backend, settled.id)
    raise ContainerStartError(f"{name}: {ATTEMPTS} attempts to create or start it failed; the last: {problem}")


def replace(backend: Backend, container_id: str) -> None:
    """Remove a broken kept container so the next attempt makes a new one."""
    with contextlib.suppress(ContainerNotFound):  # someone else replaced it first
        backend.remove_container(container_id)
