"""Start-to-ready of a 3-service Compose project: testctr.compose vs the Compose tool itself, in one run.

    python benchmarks/compose.py [--runs 5] [--runtime docker]

Both sides use the same Compose tool (the one testctr finds for the runtime:
docker-compose, podman-compose, `docker compose`) and end when every service
answers and its host endpoint is known:
- raw:     `COMPOSE -p P -f FILE up -d`, then per service `RUNTIME ps` by
           Compose's labels and `RUNTIME port`, then: redis answers PING over TCP,
           `pg_isready` exits 0 in postgres, httpd answers HTTP 200; polled every 5 ms
- testctr: testctr.compose_run(FILE, waits=...) with the same three checks as
           wait options (log line, exec, HTTP), plus the two endpoints
Teardown is outside the timed part on both sides. Runs alternate so drift in
the machine's load hits both alike. Prints the medians and the ratio.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable

import testctr
from testctr.stack.tool import find_tool

COMPOSE_FILE = """\
services:
  db:
    image: testctr.local/postgres:15
    environment:
      POSTGRES_PASSWORD: bench
  cache:
    image: testctr.local/redis:7
    ports: ["6379"]
  web:
    image: testctr.local/httpd:latest
    ports: ["80"]
"""


def _run(argv: list[str], timeout: float = 120, check: bool = True) -> str:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=check).stdout


def _until(ready: Callable[[], bool], deadline: float) -> None:
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError("service not ready within 120 s")
        time.sleep(0.005)


def _redis_pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _http_ok(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def raw_start(runtime: str, compose: list[str], path: str, project: str) -> float:
    base = [*compose, f"--project-name={project}", f"--file={path}"]
    started = time.perf_counter()
    deadline = time.monotonic() + 120
    try:
        _run([*base, "up", "-d"])

        def container(service: str) -> str:
            labels = [f"label=com.docker.compose.project={project}", f"label=com.docker.compose.service={service}"]
            return _run([runtime, "ps", "-q", "--filter", labels[0], "--filter", labels[1]]).split()[0]

        def host_port(cid: str, port: str) -> int:
            return int(_run([runtime, "port", cid, port]).splitlines()[0].rsplit(":", 1)[1])

        cache_port = host_port(container("cache"), "6379/tcp")
        web_port = host_port(container("web"), "80/tcp")
        db = container("db")
        _until(lambda: _redis_pings(cache_port), deadline)
        pg_isready = [runtime, "exec", db, "pg_isready", "-U", "postgres"]
        _until(lambda: subprocess.run(pg_isready, capture_output=True, timeout=30).returncode == 0, deadline)
        _until(lambda: _http_ok(web_port), deadline)
        return time.perf_counter() - started
    finally:
        _run([*base, "down", "-v", "--remove-orphans", "--timeout=0"], check=False)


def testctr_start(path: str) -> float:
    started = time.perf_counter()
    with testctr.compose_run(
        path,
        waits={
            "cache": testctr.with_wait_for_log("Ready to accept connections"),
            "db": testctr.with_wait_for_exec(["pg_isready", "-U", "postgres"]),
            "web": testctr.with_wait_for_http("/", 80),
        },
    ) as stack:
        stack.service("cache").endpoint(6379)
        stack.service("web").endpoint(80)
        elapsed = time.perf_counter() - started
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--runtime", default="docker")
    args = parser.parse_args()
    os.environ["TESTCTR_RUNTIME"] = args.runtime
    tool = find_tool(args.runtime)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "compose.yml")
        with open(path, "w") as f:
            f.write(COMPOSE_FILE)
        raw, ours = [], []
        for i in range(args.runs):
            raw.append(raw_start(args.runtime, list(tool.argv), path, f"bench-raw-{os.getpid()}-{i}"))
            ours.append(testctr_start(path))
    raw_median, ours_median = statistics.median(raw), statistics.median(ours)
    print(f"compose tool: {tool.typed} ({args.runtime}); {args.runs} runs each, alternating")
    print(f"raw {tool.typed} up -d + checks: median {raw_median:.2f} s  {[round(x, 2) for x in raw]}")
    print(f"testctr.compose_run:            median {ours_median:.2f} s  {[round(x, 2) for x in ours]}")
    print(f"ratio testctr/raw: {ours_median / raw_median:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
