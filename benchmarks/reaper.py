"""The reaper: how fast a killed run's containers go, and what it costs a run that is not killed.

    python benchmarks/reaper.py [--runs 10] [--runtimes docker,podman] [--image testctr.local/busybox:latest]

- reap time: a script starts a network and two containers on it with testctr.network_run and
  testctr.run, gets SIGKILL; the time from the kill to the last of its containers gone, and to its
  network gone after them (``ps -a`` / ``network ls --filter label=...`` every 50 ms). Target < 3 s,
  limit 10 s.
- start cost: a fresh interpreter times its first testctr.run (the one that spawns the watchdog),
  with the reaper and with TESTCTR_REAPER=false, alternating in the same run. Target < 3 %.
  On a busy machine the engine's noise hides it; the spawn alone is printed too.
"""

from __future__ import annotations

import argparse
import os
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
runtime, image = sys.argv[1], sys.argv[2]
started = time.perf_counter()
with testctr.run(image, testctr.with_runtime(runtime), {SLEEP}):
    print(time.perf_counter() - started, flush=True)
"""

SPAWN = """
import time
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


def first_start(runtime: str, image: str, reaper: bool) -> float:
    env = {**os.environ, "TESTCTR_REAPER": "true" if reaper else "false"}
    out = subprocess.run(
        [sys.executable, "-c", FIRST_START, runtime, image],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return float(out.stdout)


def spawn_cost() -> float:
    """Seconds the first watch takes: the watchdog's spawn, all the reaper adds to the hot path by itself."""
    out = subprocess.run([sys.executable, "-c", SPAWN], capture_output=True, text=True, timeout=60, check=True)
    return float(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--runtimes", default="docker,podman")
    parser.add_argument("--image", default="testctr.local/busybox:latest")
    args = parser.parse_args()

    for runtime in args.runtimes.split(","):
        first_start(runtime, args.image, True)  # warm-up: bytecode cache, page cache, engine
        reaps = [reap_time(runtime, args.image) for _ in range(args.runs)]
        with_reaper, without = [], []
        for _ in range(args.runs):
            with_reaper.append(first_start(runtime, args.image, True))
            without.append(first_start(runtime, args.image, False))
        on, off = statistics.median(with_reaper), statistics.median(without)
        print(f"{runtime}, {args.image}, median of {args.runs}")
        gone = [c for c, _ in reaps]
        print(f"  SIGKILL to the last of 2 containers gone : {statistics.median(gone) * 1000:7.1f} ms"
              f"   (max {max(gone) * 1000:.1f}; target < 3000, limit 10000)")  # fmt: skip
        net_gone = [n for _, n in reaps]
        print(f"  SIGKILL to their network gone            : {statistics.median(net_gone) * 1000:7.1f} ms"
              f"   (max {max(net_gone) * 1000:.1f})")  # fmt: skip
        print(f"  first start, reaper on                   : {on * 1000:7.1f} ms")
        print(f"  first start, TESTCTR_REAPER=false        : {off * 1000:7.1f} ms")
        print(f"  cost of the reaper                       : {(on / off - 1) * 100:+7.1f} %   (target < 3 %)")
    spawn = statistics.median(spawn_cost() for _ in range(args.runs))
    print(f"spawning the watchdog (the first watch, no engine): {spawn * 1000:.1f} ms, median of {args.runs}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
