"""etcd: the official ``quay.io/coreos/etcd`` image, one member serving clients on 2379.

    e = testctr.new(request, etcd.IMAGE, etcd.default())
    etcd.url(e)                  # http://127.0.0.1:PORT: gRPC, and the v3 JSON gateway at /v3/...

The image has no entrypoint and etcd listens on its loopback by default.
``default()`` makes it listen on every interface, publishes 2379, keeps its
data on tmpfs without fsync, shortens the leader election of the one member
(ready in ~0.2 s instead of ~1 s) and waits for "ready to serve client
requests". Settings go to etcd as ``ETCD_*`` variables, which etcd reads
itself: :func:`with_config` ``({"snapshot-count": 1000})`` sets
``ETCD_SNAPSHOT_COUNT``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from testctr.errors import InvalidOption
from testctr.modules import kit
from testctr.option import Option, with_env, with_port

if TYPE_CHECKING:
    from testctr.container import Container

IMAGE = "quay.io/coreos/etcd:v3.5.17"
PORT = "2379/tcp"
DATA_DIR = "/etcd-data"


def _env_name(key: str) -> str:
    return "ETCD_" + key.upper().replace("-", "_")


def default() -> Option:
    """Clients on every interface, port 2379, data on tmpfs without fsync, a fast election, a wait."""
    return kit.options(
        with_port("2379"),
        kit.env_default("ETCD_NAME", "default"),
        kit.env_default("ETCD_LISTEN_CLIENT_URLS", "http://0.0.0.0:2379"),
        kit.env_default("ETCD_ADVERTISE_CLIENT_URLS", "http://0.0.0.0:2379"),
        kit.env_default("ETCD_DATA_DIR", DATA_DIR),
        kit.data_in_memory(DATA_DIR),
        # A throwaway member needs no durability.
        kit.env_default("ETCD_UNSAFE_NO_FSYNC", "true"),
        # A lone member waits one election timeout before it leads: 100 ms, not 1 s.
        kit.env_default("ETCD_HEARTBEAT_INTERVAL", "10"),
        kit.env_default("ETCD_ELECTION_TIMEOUT", "100"),
        kit.with_wait_for_log("ready to serve client requests"),
    )


def with_data_on_disk() -> Option:
    """Keep the data directory on the container's disk (after default()): data survives restart()."""
    return kit.data_on_disk(DATA_DIR, "etcd")


def with_config(settings: Mapping[str, object]) -> Option:
    """etcd flags as ``ETCD_*`` variables: ``{"snapshot-count": 1000, "auto-compaction-retention": "1"}``."""
    if not isinstance(settings, Mapping):
        raise InvalidOption(f"etcd.with_config needs a mapping, got {type(settings).__name__}")
    if not settings:
        raise InvalidOption("etcd.with_config needs at least one setting")
    opts = []
    for key, value in settings.items():
        name = kit.config_key(key, "etcd config").lstrip("-")
        text = "true" if value is True else "false" if value is False else kit.config_value(value, "etcd config")
        opts.append(with_env(_env_name(name), text))
    return kit.options(*opts)


def url(container: Container) -> str:
    """``http://HOST:PORT`` of the client port: for gRPC clients and the JSON gateway (``/v3/kv/put``...)."""
    return "http://" + container.endpoint(PORT)


__all__ = ["IMAGE", "default", "url", "with_config", "with_data_on_disk"]
