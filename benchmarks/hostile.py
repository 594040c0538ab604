"""Hostile containers (issue #13), per backend: what a flood costs, and what hiding env values costs.

    python benchmarks/hostile.py [--runs 3] [--env-runs 10] [--engines cli/docker,cli/podman,docker-api/docker]

For each engine:
- wait overshoot: a container floods its log (`echo` in a loop) while a log wait looks for a
  line that never comes, startup timeout 4 s; the time testctr.new takes past the timeout,
  median and worst of --runs (target <= 1 s);
- peak RSS growth of this process during those waits, sampled every 10 ms (target <= 50 MB);
- report size: pytest's whole output for a run of one test that fails beside a flooding
  container (target <= 64 KB);
- env cost: start-to-running of a sleeper with 5 env values, passed by name with the values
  in the CLI's environment (now) vs `-e NAME=VALUE` in argv (before), runs alternated, medians
  (target <= 3 %). Only for the CLI: the Engine API never had values in an argv.
Prints; never asserts. Every container it starts is removed.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import testctr
from testctr.backends import _process

IMAGE = "testctr.local/busybox:latest"
FLOOD = ["sh", "-c", 'i=0; while :; do echo "flood line $i with some padding text"; i=$((i+1)); done']
TIMEOUT = 4.0
MB = 1 << 20


class _Case(unittest.TestCase):
    """An owner whose cleanups run when we say, as a test's run at its teardown."""

    def runTest(self) -> None:
        pass


def rss() -> int:
    with open("/proc/self/status") as f:
        match = re.search(r"VmRSS:\s+(\d+) kB", f.read())
    return int(match.group(1)) * 1024 if match else 0


@contextmanager
def peak_rss() -> Iterator[list[int]]:
    """Yields a list that holds, afterwards, the peak RSS growth seen."""
    base, peak, done = rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss() - base)
            time.sleep(0.01)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join()


def flood_wait(backend: str, runtime: str) -> float:
    case = _Case()
    started = time.monotonic()
    try:
        testctr.new(
            case,
            IMAGE,
            testctr.with_backend(backend),
            testctr.with_runtime(runtime),
            testctr.with_command(*FLOOD),
            testctr.with_wait_for_log("never printed"),
            testctr.with_startup_timeout(TIMEOUT),
        )
    except testctr.WaitTimeout:
        return time.monotonic() - started - TIMEOUT
    finally:
        case.doCleanups()  # the log copy and the removal: after the wait, as at a test's teardown
    raise AssertionError("the wait did not time out")


INNER = """
import time
import testctr

def test_fails_beside_a_flood(request):
    testctr.new(request, {image!r}, testctr.with_backend({backend!r}), testctr.with_runtime({runtime!r}),
                testctr.with_command(*{flood!r}))
    time.sleep(3)
    assert False, "deliberate"
"""


def report_size(backend: str, runtime: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "test_inner.py"), "w") as f:
            f.write(INNER.format(image=IMAGE, backend=backend, runtime=runtime, flood=FLOOD))
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", tmp, tmp],
            capture_output=True,
            timeout=300,
            check=False,
            cwd=tmp,
        )
    return len(run.stdout) + len(run.stderr)


def _in_argv(env: Mapping[str, str], parent: Mapping[str, str] | None = None) -> _process.EnvArgs:
    """The way before: every value in argv (the benchmark's private switch)."""
    return _process.EnvArgs([f"{k}={v}" for k, v in env.items()], {})


def start_sleeper(backend: str, runtime: str) -> float:
    env = {f"BENCH_SECRET_{i}": os.urandom(8).hex() for i in range(5)}
    started = time.perf_counter()
    with testctr.run(
        IMAGE,
        testctr.with_backend(backend),
        testctr.with_runtime(runtime),
        testctr.with_env_map(env),
        testctr.with_command("sleep", "600"),
    ):
        took = time.perf_counter() - started
    return took


def env_cost(backend: str, runtime: str, runs: int) -> tuple[float, float]:
    now: list[float] = []
    before: list[float] = []
    by_name = _process.EnvArgs.of
    start_sleeper(backend, runtime)  # warm-up: image and CLI caches
    for _ in range(runs):
        now.append(start_sleeper(backend, runtime))
        _process.EnvArgs.of = _in_argv  # type: ignore[method-assign,assignment]
        try:
            before.append(start_sleeper(backend, runtime))
        finally:
            _process.EnvArgs.of = by_name  # type: ignore[method-assign]
    return statistics.median(now), statistics.median(before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--env-runs", type=int, default=20)
    parser.add_argument("--engines", default="cli/docker,cli/podman,docker-api/docker")
    args = parser.parse_args()
    for engine in args.engines.split(","):
        backend, runtime = engine.split("/")
        with peak_rss() as peak:
            overshoots = [flood_wait(backend, runtime) for _ in range(args.runs)]
        print(
            f"{engine:18} wait overshoot median {statistics.median(overshoots):.2f}s, "
            f"worst {max(overshoots):.2f}s (target <= 1 s); "
            f"peak RSS growth {peak[0] / MB:.1f} MB (target <= 50 MB)",
            flush=True,
        )
        print(
            f"{engine:18} failed-test report {report_size(backend, runtime) / 1024:.1f} KB (target <= 64 KB)",
            flush=True,
        )
        if backend == "cli":
            now, before = env_cost(backend, runtime, args.env_runs)
            print(
                f"{engine:18} start with 5 env values: by name {now * 1000:.0f} ms, in argv {before * 1000:.0f} ms, "
                f"cost {100 * (now / before - 1):+.1f} % (target <= 3 %)",
                flush=True,
            )


if __name__ == "__main__":
    main()
