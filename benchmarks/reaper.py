"""The reaper: how fast a killed run's containers go, and what it costs a run that is not killed.

    python benchmarks/reaper.py [--runs 10] [--pairs 20] [--runtimes docker,podman]
                                [--image testctr.local/busybox:latest]

- reap time: a script starts a network and two containers on it with testctr.network_run and
  testctr.run, gets SIGKILL; the time from the kill to the last of its containers gone, and to its
  network gone after them (``ps -a`` / ``network ls --filter label=...`` every 50 ms), ``--runs``
  times. Target < 3 s, limit 10 s.
- start cost: a fresh interpreter times its first testctr.run (the one that spawns the watchdog),
  with the reaper and with TESTCTR_REAPER=false: ``--pairs`` pairs, each in a random order, so a
  slow spell of the engine or of the machine lands on both sides of a pair. The cost is the median
  of the pairs' ratios (target < 3 %), with their interquartile range and the median's 95 %
  confidence interval: on a busy machine the engine's noise can be wider than the target itself.
- the watchdog's own CPU time during that start (``/proc/PID/schedstat``, nanoseconds): what the
  reaper takes from the engine on this machine's cores, however noisy the start times are. The
  spawn alone (the first watch, no engine) is printed too.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import time

SLEEP = "testctr.with_command('sh', '-c', 'trap \"exit 0\" TERM; sleep 600 & wait')"

KILLED = f"""
import sys, time, testctr
runtime, image = sys.argv[1], sys.argv[2]
with testctr.network_run(runtime=runtime) as net:
    on_net = testctr.with_network(net)
    with testctr.run(image, testctr.with_runtime(runtime), on_net, {SLEEP}):
        with testctr.run(image, testctr.with_runtime(runtime), on_net, {SLEEP}):
            print("up", flush=True)
            time.sleep(600)
"""

FIRST_START = f"""
import sys, time, testctr
from testctr import reaper
runtime, image = sys.argv[1], sys.argv[2]
started = time.perf_counter()
with testctr.run(image, testctr.with_runtime(runtime), {SLEEP}):
    elapsed = time.perf_counter() - started
    pid = reaper.watchdog_pid()
    cpu = int(open(f"/proc/{{pid}}/schedstat").read().split()[0]) if pid else 0
    print(elapsed, cpu / 1e9, flush=True)
"""

SPAWN = """
import time
import subprocess, testctr.container  # what a process has loaded by its first watch (a backend runs subprocess)
from testctr import reaper
started = time.perf_counter()
reaper.watch("no-such-backend", "docker", "testctr-bench")
print(time.perf_counter() - started)
reaper.release("no-such-backend", "docker", "testctr-bench")
"""


def containers(runtime: str, label: str) -> list[str]:
    argv = [runtime, "ps", "-aq", "--filter", f"label={label}"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout.split()


def networks(runtime: str, label: str) -> list[str]:
    argv = [runtime, "network", "ls", "-q", "--filter", f"label={label}"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout.split()


def reap_time(runtime: str, image: str) -> tuple[float, float]:
    """Seconds from the SIGKILL to the last container gone, and to the network gone."""
    label = f"testctr-bench-{os.urandom(4).hex()}"
    script = subprocess.Popen(
        [sys.executable, "-c", KILLED, runtime, image],
        stdout=subprocess.PIPE,
        env={**os.environ, "TESTCTR_LABEL": label},
        start_new_session=True,
    )
    assert script.stdout is not None
    if not script.stdout.readline():
        raise SystemExit(f"the script ended early ({script.wait()})")
    script.send_signal(signal.SIGKILL)
    killed = time.perf_counter()
    script.wait()
    containers_gone = None
    while containers_gone is None or networks(runtime, label):
        if containers_gone is None and not containers(runtime, label):
            containers_gone = time.perf_counter() - killed
            continue
        if time.perf_counter() - killed > 60:
            leftovers = containers(runtime, label)
            if leftovers:
                subprocess.run([runtime, "rm", "-f", *leftovers], capture_output=True, timeout=60, check=False)
            subprocess.run([runtime, "network", "rm", *networks(runtime, label)], capture_output=True, timeout=60)
            return containers_gone or float("inf"), float("inf")
        time.sleep(0.05)
    return containers_gone, time.perf_counter() - killed


def first_start(runtime: str, image: str, reaper: bool) -> tuple[float, float]:
    """Seconds the first start took, and the watchdog's CPU seconds by then (0 without one)."""
    env = {**os.environ, "TESTCTR_REAPER": "true" if reaper else "false"}
    out = subprocess.run(
        [sys.executable, "-c", FIRST_START, runtime, image],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    elapsed, cpu = out.stdout.split()
    return float(elapsed), float(cpu)


def start_cost(runtime: str, image: str, pairs: int) -> tuple[list[float], list[float], list[float], list[float]]:
    """Per pair: the start with the reaper over the one without; and the starts, and the watchdog's CPU."""
    ratios, on, off, cpu = [], [], [], []
    for _ in range(pairs):
        sides = {}
        for reaper in random.sample([True, False], 2):
            sides[reaper] = first_start(runtime, image, reaper)
        on.append(sides[True][0])
        off.append(sides[False][0])
        cpu.append(sides[True][1])
        ratios.append(sides[True][0] / sides[False][0])
    return ratios, on, off, cpu


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def median_interval(values: list[float]) -> tuple[float, float]:
    """A 95 % confidence interval of the median, from order statistics: no assumption on the noise's shape."""
    ordered, n = sorted(values), len(values)
    half_width = 1.96 * n**0.5 / 2
    low, high = round(n / 2 - half_width), round(n / 2 + 1 + half_width)  # 1-based ranks
    return ordered[max(low, 1) - 1], ordered[min(high, n) - 1]


def spawn_cost() -> float:
    """Seconds the first watch takes: the watchdog's spawn, all the reaper adds to the hot path by itself."""
    out = subprocess.run([sys.executable, "-c", SPAWN], capture_output=True, text=True, timeout=60, check=True)
    return float(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10, help="killed scripts per runtime")
    parser.add_argument("--pairs", type=int, default=20, help="first starts with and without the reaper")
    parser.add_argument("--runtimes", default="docker,podman")
    parser.add_argument("--image", default="testctr.local/busybox:latest")
    args = parser.parse_args()

    with open("/proc/loadavg") as f:
        print(f"load average at the start: {' '.join(f.read().split()[:3])} ({os.cpu_count()} CPUs)")
    spawn = statistics.median(spawn_cost() for _ in range(args.runs))
    print(f"spawning the watchdog (the first watch, no engine): {spawn * 1000:.1f} ms, median of {args.runs}")
    for runtime in args.runtimes.split(","):
        first_start(runtime, args.image, True)  # warm-up: bytecode cache, page cache, engine
        reaps = [reap_time(runtime, args.image) for _ in range(args.runs)]
        ratios, on, off, cpu = start_cost(runtime, args.image, args.pairs)
        print(f"{runtime}, {args.image}")
        gone = [c for c, _ in reaps]
        print(f"  SIGKILL to the last of 2 containers gone : {statistics.median(gone) * 1000:7.1f} ms"
              f"   (median of {args.runs}, max {max(gone) * 1000:.1f}; target < 3000, limit 10000)")  # fmt: skip
        net_gone = [n for _, n in reaps]
        print(f"  SIGKILL to their network gone            : {statistics.median(net_gone) * 1000:7.1f} ms"
              f"   (max {max(net_gone) * 1000:.1f})")  # fmt: skip
        print(f"  first start, reaper on                   : {statistics.median(on) * 1000:7.1f} ms"
              f"   (median of {args.pairs})")  # fmt: skip
        print(f"  first start, TESTCTR_REAPER=false        : {statistics.median(off) * 1000:7.1f} ms")
        costs = [(r - 1) * 100 for r in ratios]
        q1, median, q3 = quartiles(costs)
        low, high = median_interval(costs)
        print(f"  cost of the reaper                       : {median:+7.1f} %   (median of {args.pairs} paired ratios,"
              f" IQR {q1:+.1f} .. {q3:+.1f} %; target < 3 %)")  # fmt: skip
        print(f"  that median's 95 % confidence interval   : {low:+7.1f} .. {high:+.1f} %"
              f"   (the target is met when all of it is under 3 %)")  # fmt: skip
        print(f"  the watchdog's CPU during that start     : {statistics.median(cpu) * 1000:7.1f} ms"
              f"   (max {max(cpu) * 1000:.1f})")  # fmt: skip
        ceiling = (spawn + statistics.median(cpu)) / statistics.median(off) * 100
        print(f"  cost were all of it on the start's path  : {ceiling:+7.1f} %   (spawn + that CPU, over the start)")
        with open("/proc/loadavg") as f:
            print(f"  load average after                       : {' '.join(f.read().split()[:3])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
