"""Start-to-ready of each service module: testctr vs a raw ``docker run -d``, in one run.

    python benchmarks/modules.py [--runs 5] [--runtime docker] [--only nginx,moto]

Per module, both sides start the same local image with the same settings (the
env, tmpfs mounts and arguments of the module's ``default()``, read from the
options themselves) and end when a client can use the service:
- raw:     ``docker run -d -p 127.0.0.1::PORT ...``, ``docker port``, then the
           entry's readiness checks (one per port) every 10 ms;
- testctr: ``testctr.run(IMAGE, *options)`` (the module's own wait) plus
           ``endpoint(PORT)``.
Runs alternate so drift in the machine's load hits both alike. Prints the medians
and the ratio; it asserts nothing.

To add a module: one ``Entry`` in ``ENTRIES`` (image, options, a readiness check per
port; ``raw_args`` for what options put in files, which ``docker run`` cannot).
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import testctr
from testctr.modules import (
    azurite,
    chroma,
    etcd,
    influxdb,
    mail,
    moto,
    nginx,
    openldap,
    postgis,
    selenium,
    sftp,
    zookeeper,
)
from testctr.option import Option, build_spec


def http_status(url: str, status: int = 200, body: bytes | None = None) -> bool:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=1) as response:
            return bool(response.status == status)
    except (OSError, urllib.error.URLError):
        return False


def tcp_reply(port: int, send: bytes, expect: bytes) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            if send:
                s.sendall(send)
            return expect in s.recv(256)
    except OSError:
        return False


def postgres_ready(port: int) -> bool:
    import psycopg

    try:
        dsn = f"postgresql://test:test@127.0.0.1:{port}/test"
        with psycopg.connect(dsn, connect_timeout=1) as conn:
            return conn.execute("SELECT PostGIS_Version()").fetchone() is not None
    except psycopg.Error:
        return False


def ldap_ready(port: int) -> bool:
    import ldap3

    try:
        conn = ldap3.Connection(
            ldap3.Server("127.0.0.1", port=port, connect_timeout=1), "cn=admin,dc=example,dc=org", "adminpassword"
        )
        ok = bool(conn.bind())
        conn.unbind()
        return ok
    except ldap3.core.exceptions.LDAPException:
        return False


def smtp_banner(port: int) -> bool:
    return tcp_reply(port, b"", b"220")


@dataclass
class Entry:
    name: str
    image: str  # the local image, on both sides
    options: Callable[[], Sequence[Option]]
    checks: dict[int, Callable[[int], bool]]  # container port -> readiness check given the host port
    raw_args: list[str] = field(default_factory=list)  # after the image: what options put in files


ENTRIES = [
    Entry("nginx", "testctr.local/nginx:1", lambda: [nginx.default()],
          {80: lambda p: http_status(f"http://127.0.0.1:{p}/")}),
    Entry("postgis", "testctr.local/postgis:15", lambda: [postgis.default()], {5432: postgres_ready}),
    Entry("etcd", "testctr.local/etcd:3", lambda: [etcd.default()],
          {2379: lambda p: http_status(f"http://127.0.0.1:{p}/v3/kv/range",
                                       body=json.dumps({"key": "YQ=="}).encode())}),
    Entry("zookeeper", "testctr.local/zookeeper:3", lambda: [zookeeper.default()],
          {2181: lambda p: tcp_reply(p, b"srvr", b"Zookeeper version")}),
    Entry("influxdb", "testctr.local/influxdb:1", lambda: [influxdb.default()],
          {8086: lambda p: http_status(f"http://127.0.0.1:{p}/ping", 204)}),
    Entry("openldap", "testctr.local/openldap:2", lambda: [openldap.default()], {1389: ldap_ready}),
    Entry("sftp", "testctr.local/sftp:latest", lambda: [sftp.default(), sftp.with_user("bench", "pw")],
          {22: lambda p: tcp_reply(p, b"", b"SSH-2.0")}, raw_args=["bench:pw:::upload"]),
    Entry("moto", "testctr.local/moto:5", lambda: [moto.default()],
          {5000: lambda p: http_status(f"http://127.0.0.1:{p}/moto-api/data.json")}),
    # Any HTTP answer (400 for "/") means azurite's services listen.
    Entry("azurite", "testctr.local/azurite:3", lambda: [azurite.default()],
          {port: lambda p: http_status(f"http://127.0.0.1:{p}/", 400) for port in (10000, 10001, 10002)}),
    Entry("mail", "testctr.local/maildev:2", lambda: [mail.default()],
          {1025: smtp_banner, 1080: lambda p: http_status(f"http://127.0.0.1:{p}/healthz")}),
    Entry("chroma", "testctr.local/chroma:1", lambda: [chroma.default()],
          {8000: lambda p: http_status(f"http://127.0.0.1:{p}/api/v2/heartbeat")}),
    Entry("selenium", "testctr.local/selenium:chrome", lambda: [selenium.default()],
          {4444: lambda p: http_status(f"http://127.0.0.1:{p}/status")}),
]  # fmt: skip


def raw_argv(runtime: str, entry: Entry) -> list[str]:
    config = build_spec(entry.options()).config
    argv = [runtime, "run", "-d"]
    for port in entry.checks:
        argv += ["-p", f"127.0.0.1::{port}"]
    for key, value in config.env.items():
        argv += ["-e", f"{key}={value}"]
    for path in config.tmpfs:
        argv += ["--tmpfs", path]
    if config.entrypoint is not None:
        argv += ["--entrypoint", config.entrypoint[0]]
    command = [*(config.entrypoint or [])[1:], *(config.command or []), *config.args]
    return [*argv, entry.image, *command, *entry.raw_args]


def raw_start(runtime: str, entry: Entry) -> float:
    started = time.perf_counter()
    cid = subprocess.run(raw_argv(runtime, entry), capture_output=True, text=True, timeout=120, check=True).stdout
    try:
        for container_port, ready in entry.checks.items():
            port_line = subprocess.run(
                [runtime, "port", cid.strip(), f"{container_port}/tcp"],
                capture_output=True, text=True, timeout=60, check=True,
            ).stdout.splitlines()[0]  # fmt: skip
            port = int(port_line.rsplit(":", 1)[1])
            deadline = started + 120
            while not ready(port):
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"{entry.name} (raw) was not ready within 120 s")
                time.sleep(0.01)
        return time.perf_counter() - started
    finally:
        subprocess.run([runtime, "rm", "-f", "-v", cid.strip()], capture_output=True, timeout=60, check=False)


def testctr_start(runtime: str, entry: Entry) -> float:
    started = time.perf_counter()
    with testctr.run(entry.image, *entry.options(), testctr.with_runtime(runtime)) as c:
        for container_port, ready in entry.checks.items():
            while not ready(c.port(container_port)):  # the module's own wait made this true already
                time.sleep(0.01)
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--runtime", default="docker")
    parser.add_argument("--only", default="", help="comma-separated module names")
    args = parser.parse_args()
    wanted = {n for n in args.only.split(",") if n}
    print(f"start-to-ready on {args.runtime}, median of {args.runs} alternating runs (ms)")
    print(f"  {'module':<10} {'raw':>8} {'testctr':>8} {'ratio':>6}")
    for entry in ENTRIES:
        if wanted and entry.name not in wanted:
            continue
        raw_start(args.runtime, entry)  # warm-up: page cache, engine
        raw, ours = [], []
        for _ in range(args.runs):
            raw.append(raw_start(args.runtime, entry))
            ours.append(testctr_start(args.runtime, entry))
        r, t = statistics.median(raw), statistics.median(ours)
        print(f"  {entry.name:<10} {r * 1000:8.0f} {t * 1000:8.0f} {t / r:6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
