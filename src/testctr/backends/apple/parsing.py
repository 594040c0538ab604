"""Reading the JSON of ``container inspect`` / ``list`` / ``image inspect``, in both shapes.

1.x: ``[{id, configuration, status: {state, networks, startedDate}}]`` (sorted
keys, ISO dates). 0.x: ``[{status, configuration, networks, startedDate}]``
(``address`` before 0.8.0, dates as seconds since 2001-01-01).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

from testctr.backend.types import ContainerInfo, ContainerState, NetworkInfo, PortBinding
from testctr.parsing import parse_timestamp

#: Label carrying the ports a direct-IP container serves (nothing is published for them).
DIRECT_PORTS_LABEL = "testctr.apple.direct-ports"

SWIFT_EPOCH = _dt.datetime(2001, 1, 1, tzinfo=_dt.timezone.utc)


def parse_date(value: object) -> _dt.datetime | None:
    """ISO 8601 (1.x) or seconds since 2001-01-01 (Swift's reference date, 0.x)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return SWIFT_EPOCH + _dt.timedelta(seconds=float(value))
    if isinstance(value, str):
        return parse_timestamp(value)
    return None


def strip_prefix(cidr: str) -> str:
    """``192.168.64.8/24`` -> ``192.168.64.8``."""
    return cidr.split("/", 1)[0].strip()


def _attachments(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    status = item.get("status")
    # 1.x: in status; 0.x: beside it
    nets = status.get("networks") if isinstance(status, Mapping) else item.get("networks")
    return [n for n in nets or [] if isinstance(n, Mapping)]


def network_ips(item: Mapping[str, Any]) -> dict[str, str]:
    """The IPv4 address on each network, by network name (``ipv4Address``, or ``address`` before 0.8)."""
    return {
        str(net.get("network") or ""): strip_prefix(str(net.get("ipv4Address") or net.get("address") or ""))
        for net in _attachments(item)
    }


def container_ip(item: Mapping[str, Any]) -> str:
    """The IPv4 address on the primary network."""
    return next((ip for ip in network_ips(item).values() if ip), "")


def parse_network(item: Mapping[str, Any]) -> NetworkInfo:
    """One element of ``container network list --format json`` (labels where the release records them)."""
    config = item.get("config") or item.get("configuration") or {}
    labels = config.get("labels") if isinstance(config, Mapping) else None
    name = str(item.get("id") or "")
    return NetworkInfo(id=name, name=name, labels={str(k): str(v) for k, v in (labels or {}).items()})


def direct_ports(labels: Mapping[str, str]) -> list[str]:
    raw = labels.get(DIRECT_PORTS_LABEL, "")
    return [p for p in raw.split(",") if p]


def parse_container(item: Mapping[str, Any]) -> ContainerInfo:
    """One element of ``container inspect`` / ``ls --format json``, either shape."""
    cfg = item.get("configuration") or {}
    status = item.get("status")
    if isinstance(status, Mapping):  # 1.x ManagedContainer
        state = str(status.get("state") or "")
        started = status.get("startedDate")
    else:  # 0.x: the state string is at the top level
        state = str(status or "")
        started = item.get("startedDate")
    labels = {str(k): str(v) for k, v in (cfg.get("labels") or {}).items()}
    ip = container_ip(item)
    ports: dict[str, list[PortBinding]] = {}
    served = direct_ports(labels)
    if served:
        for key in served:
            ports[key] = [PortBinding(ip, int(key.split("/")[0]))] if ip else []
    for p in cfg.get("publishedPorts") or []:
        count = int(p.get("count") or 1)
        for offset in range(count):
            key = f"{int(p['containerPort']) + offset}/{p.get('proto') or 'tcp'}"
            ports.setdefault(key, []).append(PortBinding(str(p.get("hostAddress") or ""), int(p["hostPort"]) + offset))
    image = cfg.get("image") or {}
    created = parse_date(cfg.get("creationDate")) or parse_date(started)
    return ContainerInfo(
        id=str(item.get("id") or cfg.get("id") or ""),
        name=str(cfg.get("id") or item.get("id") or ""),
        image=str(image.get("reference") or ""),
        created=created,
        # Apple's inspect reports no exit code: None, never an invented 0.
        state=ContainerState(running=state == "running", status=state, exit_code=None, health=None),
        ports=ports,
        internal_ip=ip,
        labels=labels,
        networks=network_ips(item),
    )


def image_process(items: Sequence[Mapping[str, Any]], arch: str | None = None) -> tuple[list[str], list[str]]:
    """(Entrypoint, Cmd) of an image from ``container image inspect`` (both shapes)."""
    for item in items:
        variants = [v for v in item.get("variants") or [] if isinstance(v, Mapping)]
        if arch:
            variants.sort(key=lambda v: (v.get("platform") or {}).get("architecture") != arch)
        for variant in variants:
            config = (variant.get("config") or {}).get("config") or {}
            return list(config.get("Entrypoint") or []), list(config.get("Cmd") or [])
    return [], []
