"""Start-to-ready of each service module: testctr (module's default()) vs a raw `docker run -d`.

    python benchmarks/modules.py [--runs 5] [--runtime docker] [--only moto,chroma]

Per module, both sides end when the same readiness check passes from the host:
- raw:     `docker run -d -p 127.0.0.1::PORT ... IMAGE [COMMAND]`, `docker port`, then the
           module's check every 10 ms
- testctr: testctr.run(IMAGE, *module options), then the same check (already true)
Runs alternate so drift in the machine's load hits both alike. Prints medians and the
ratio; it never asserts. To add a module: one Entry in ENTRIES.
"""

from __future__ import annotations

import argparse
import http.client
import socket
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import testctr
from testctr.modules import azurite, chroma, mail, moto, selenium


def http_status(path: str, status: int = 200) -> Callable[[str, int], bool]:
    """Ready when GET ``path`` answers ``status``."""

    def check(host: str, port: int) -> bool:
        conn = http.client.HTTPConnection(host, port, timeout=1)
        try:
            conn.request("GET", path)
            return conn.getresponse().status == status
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    return check


def smtp_banner(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as s:
            return s.recv(64).startswith(b"220")
    except OSError:
        return False


@dataclass(frozen=True)
class Entry:
    image: str  # the local image, used by both sides
    options: Callable[[], list[testctr.Option]]
    #: container port -> readiness check on the host's published port; all must pass
    checks: dict[int, Callable[[str, int], bool]]
    raw_args: list[str] = field(default_factory=list)  # `docker run` flags before the image
    raw_command: list[str] = field(default_factory=list)  # after the image


ENTRIES: dict[str, Entry] = {
    "moto": Entry("testctr.local/moto:5", lambda: [moto.default()], {5000: http_status("/moto-api/data.json")}),
    "azurite": Entry(
        "testctr.local/azurite:3",
        lambda: [azurite.default()],
        # Any HTTP answer (400 for "/") means the service listens.
        {10000: http_status("/", 400), 10001: http_status("/", 400), 10002: http_status("/", 400)},
        raw_args=["--tmpfs", "/data"],
        raw_command=[
            "azurite",
            "-l",
            "/data",
            "--blobHost",
            "0.0.0.0",
            "--queueHost",
            "0.0.0.0",
            "--tableHost",
            "0.0.0.0",
            "--skipApiVersionCheck",
            "--disableTelemetry",
        ],
    ),
    "mail": Entry(
        "testctr.local/maildev:2", lambda: [mail.default()], {1025: smtp_banner, 1080: http_status("/healthz")}
    ),
    "chroma": Entry(
        "testctr.local/chroma:1",
        lambda: [chroma.default()],
        {8000: http_status("/api/v2/heartbeat")},
        raw_args=["--tmpfs", "/data"],
    ),
    "selenium": Entry("testctr.local/selenium:chrome", lambda: [selenium.default()], {4444: http_status("/status")}),
}


def raw_start(runtime: str, entry: Entry) -> float:
    started = time.perf_counter()
    publish = [arg for port in entry.checks for arg in ("-p", f"127.0.0.1::{port}")]
    cid = subprocess.run(
        [runtime, "run", "-d", *publish, *entry.raw_args, entry.image, *entry.raw_command],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout.strip()  # fmt: skip
    try:
        for port, check in entry.checks.items():
            line = subprocess.run(
                [runtime, "port", cid, f"{port}/tcp"], capture_output=True, text=True, timeout=60, check=True
            ).stdout.splitlines()[0]
            host_port = int(line.rsplit(":", 1)[1])
            deadline = time.monotonic() + 120
            while not check("127.0.0.1", host_port):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{entry.image} not ready on {port} after 120 s")
                time.sleep(0.01)
        return time.perf_counter() - started
    finally:
        subprocess.run([runtime, "rm", "-fv", cid], capture_output=True, timeout=60, check=False)


def testctr_start(runtime: str, entry: Entry) -> float:
    started = time.perf_counter()
    with testctr.run(entry.image, testctr.with_runtime(runtime), *entry.options()) as c:
        for port, check in entry.checks.items():
            while not check(c.host(), c.port(port)):
                time.sleep(0.01)
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--runtime", default="docker")
    parser.add_argument("--only", default=",".join(ENTRIES), help="comma-separated module names")
    args = parser.parse_args()

    print(f"start-to-ready on {args.runtime}, median of {args.runs} alternating runs (after one warm-up each)")
    print(f"  {'module':<10} {'raw ms':>9} {'testctr ms':>11} {'ratio':>7}")
    for name in args.only.split(","):
        entry = ENTRIES[name]
        raw_start(args.runtime, entry)
        testctr_start(args.runtime, entry)
        raw, ours = [], []
        for _ in range(args.runs):
            raw.append(raw_start(args.runtime, entry))
            ours.append(testctr_start(args.runtime, entry))
        raw_median, our_median = statistics.median(raw), statistics.median(ours)
        print(f"  {name:<10} {raw_median * 1000:9.1f} {our_median * 1000:11.1f} {our_median / raw_median:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
