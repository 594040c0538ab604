"""The lines a process writes to its watchdog: one JSON object per event.

``{"op": "watch", "kind": "container", "backend": "cli", "runtime": "docker", "ref": "testctr-..."}``
says "remove this if I die"; ``"op": "release"`` with the same fields takes it
back. ``kind`` says what ``ref`` names: a container or a network (by name), or
a Compose project (its ``down`` command, see :func:`compose_ref`). A watchdog
ignores kinds and ops it does not know, so an older one never removes
something it does not understand.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

WATCH = "watch"
RELEASE = "release"
CONTAINER = "container"
NETWORK = "network"
COMPOSE = "compose"


@dataclass(frozen=True)
class Event:
    op: str
    kind: str
    backend: str
    runtime: str
    ref: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What a release must match to cancel a watch."""
        return (self.kind, self.backend, self.runtime, self.ref)


def encode(event: Event) -> bytes:
    return (json.dumps(asdict(event), separators=(",", ":")) + "\n").encode()


def decode(line: bytes) -> Event | None:
    """The event on ``line``, or None for a line that is not one (never raises)."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    fields = {name: data.get(name) for name in ("op", "kind", "backend", "runtime", "ref")}
    if not all(isinstance(value, str) for value in fields.values()) or not fields["ref"]:
        return None
    return Event(**fields)  # type: ignore[arg-type]


def compose_ref(argv: list[str], env: dict[str, str]) -> str:
    """The ``ref`` of a Compose project: the command that takes it down and the variables it needs.

    Only the Compose tool knows what a project made (its networks and volumes
    carry the tool's labels, not ours), so the watchdog runs its ``down``.
    """
    return json.dumps({"argv": argv, "env": env}, separators=(",", ":"), sort_keys=True)


def parse_compose_ref(ref: str) -> tuple[list[str], dict[str, str]] | None:
    """``argv`` and ``env`` of a :func:`compose_ref`, or None for a ref that is not one."""
    try:
        data = json.loads(ref)
    except ValueError:
        return None
    argv = data.get("argv") if isinstance(data, dict) else None
    env = data.get("env") if isinstance(data, dict) else None
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        return None
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        return None
    return argv, env
