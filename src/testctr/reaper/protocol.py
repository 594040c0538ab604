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

WATCH = "watch"
RELEASE = "release"
CONTAINER = "container"
NETWORK = "network"
COMPOSE = "compose"

#: An event's fields, in the order a line carries them.
FIELDS = ("op", "kind", "backend", "runtime", "ref")


class Event:
    """One line: ``op`` for ``ref``, a ``kind`` of thing that ``backend`` made on ``runtime``.

    A plain class, not a dataclass: ``dataclasses`` (with the ``inspect`` it
    imports) would double the CPU the watchdog's boot takes from the parent's
    first create.
    """

    __slots__ = FIELDS

    def __init__(self, op: str, kind: str, backend: str, runtime: str, ref: str) -> None:
        self.op = op
        self.kind = kind
        self.backend = backend
        self.runtime = runtime
        self.ref = ref

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What a release must match to cancel a watch."""
        return (self.kind, self.backend, self.runtime, self.ref)

    def values(self) -> tuple[str, str, str, str, str]:
        return (self.op, *self.key)

    def __eq__(self, other: object) -> bool:
        return self.values() == other.values() if isinstance(other, Event) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.values())

    def __repr__(self) -> str:
        return "Event" + repr(self.values())


def encode(event: Event) -> bytes:
    return (json.dumps(dict(zip(FIELDS, event.values(), strict=True)), separators=(",", ":")) + "\n").encode()


def decode(line: bytes) -> Event | None:
    """The event on ``line``, or None for a line that is not one (never raises)."""
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    fields = {name: data.get(name) for name in FIELDS}
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
