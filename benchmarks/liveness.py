"""What it costs that no dead container is handed out: port() liveness and the default wait.

    python benchmarks/liveness.py [--backend cli] [--runtime docker] [--runs 9] [--image testctr.local/busybox:latest]

- 1,000 ``c.port()`` calls on a running container: answered from the cache while the
  engine holds the host port (a bind attempt, no engine round trip).
- Start-to-return of a sleeper with the default wait (RunningWait: still running
  wait.SETTLE after the start), median of ``--runs``; compare with a log wait to see
  what the settle time adds.
"""

from __future__ import annotations

import argparse
import statistics
import time

import testctr

SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; echo ready; sleep 3600 & wait"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="cli")
    parser.add_argument("--runtime", default="docker")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--image", default="testctr.local/busybox:latest")
    args = parser.parse_args()
    where = (testctr.with_backend(args.backend), testctr.with_runtime(args.runtime), testctr.with_command(*SLEEPER))

    with testctr.run(args.image, *where, testctr.with_port("8080")) as c:
        c.port("8080")
        began = time.perf_counter()
        for _ in range(1000):
            c.port("8080")
        print(f"1,000 port() calls: {1000 * (time.perf_counter() - began):.1f} ms")

    for label, wait in [("default wait", ()), ("log wait", (testctr.with_wait_for_log("ready"),))]:
        times = []
        for _ in range(args.runs):
            began = time.perf_counter()
            with testctr.run(args.image, *where, *wait):
                times.append(time.perf_counter() - began)
        print(f"{label}: median start {1000 * statistics.median(times):.0f} ms over {args.runs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
