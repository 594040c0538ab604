"""Start-to-ready of a redis container: testctr vs the raw engine CLI, in one run.

    python benchmarks/startup.py [--runs 15] [--runtime docker] [--image testctr.local/redis:7]

Both sides end when redis answers and its host endpoint is known:
- raw:     `docker run -d -p 127.0.0.1::6379 IMAGE`, `docker port`, then a PING over TCP every 5 ms
- testctr: testctr.run(IMAGE, with_port("6379"), with_wait_for_log("Ready to accept connections"))
           plus c.endpoint("6379")
Runs alternate so drift in the machine's load hits both alike. Prints medians and the
ratio (target <= 1.10), and the cost of `import testctr` (target <= 50 ms), measured in
a fresh interpreter: the bare import (names load on first use), the import plus
everything testctr.new needs, and the latter inside a process that already runs pytest.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time

import testctr


def raw_start(runtime: str, image: str) -> float:
    started = time.perf_counter()
    cid = subprocess.run(
        [runtime, "run", "-d", "-p", "127.0.0.1::6379", image],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout.strip()  # fmt: skip
    try:
        port_line = subprocess.run(
            [runtime, "port", cid, "6379/tcp"], capture_output=True, text=True, timeout=60, check=True
        ).stdout.splitlines()[0]
        port = int(port_line.rsplit(":", 1)[1])
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            time.sleep(0.005)
        return time.perf_counter() - started
    finally:
        subprocess.run([runtime, "rm", "-f", cid], capture_output=True, timeout=60, check=False)


def testctr_start(runtime: str, image: str) -> float:
    started = time.perf_counter()
    with testctr.run(
        image,
        testctr.with_runtime(runtime),
        testctr.with_port("6379"),
        testctr.with_wait_for_log("Ready to accept connections"),
    ) as c:
        c.endpoint("6379")
        elapsed = time.perf_counter() - started
    return elapsed


def import_cost(code: str, setup: str = "pass", runs: int = 15) -> float:
    """Median seconds ``code`` takes in a fresh interpreter, after ``setup``."""
    program = f"{setup}\nimport time\nt = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"

    def once() -> float:
        out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=60)
        return float(out.stdout)

    once()  # warm the bytecode cache
    return statistics.median(once() for _ in range(runs))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--runtime", default="docker")
    parser.add_argument("--image", default="testctr.local/redis:7")
    args = parser.parse_args()

    raw_start(args.runtime, args.image)  # warm-up: page cache, engine
    testctr_start(args.runtime, args.image)
    raw, ours = [], []
    for _ in range(args.runs):
        raw.append(raw_start(args.runtime, args.image))
        ours.append(testctr_start(args.runtime, args.image))
    raw_median, our_median = statistics.median(raw), statistics.median(ours)
    print(f"start-to-ready of {args.image} on {args.runtime}, median of {args.runs} alternating runs")
    print(f"  raw {args.runtime} run -d + port + 5 ms PING poll : {raw_median * 1000:7.1f} ms")
    print(f"  testctr (log wait, endpoint)          : {our_median * 1000:7.1f} ms")
    print(f"  ratio testctr/raw                     : {our_median / raw_median:7.3f}   (target <= 1.10)")
    bare = import_cost("import testctr")
    full = import_cost("import testctr; testctr.new")
    in_pytest = import_cost("import testctr; testctr.new", setup="import pytest, _pytest.python")
    print(f"import testctr                          : {bare * 1000:7.1f} ms   (target <= 50)")
    print(f"  + loading all that new() needs        : {full * 1000:7.1f} ms   (fresh interpreter)")
    print(f"  + the same inside a pytest process     : {in_pytest * 1000:7.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
