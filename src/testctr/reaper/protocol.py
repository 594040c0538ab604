"""The lines a process writes to its watchdog: one JSON object per event.

``{"op": "watch", "kind": "container", "backend": "cli", "runtime": "docker", "ref": "testctr-..."}``
says "remove this if I die"; ``"op": "release"`` with the same fields takes it
back. ``kind`` leaves room for networks and per-test databases; a watchdog
ignores kinds and ops it does not know, so an older one never removes
something it does not understand.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

WATCH = "watch"
RELEASE = "release"
CONTAINER = "container"


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
