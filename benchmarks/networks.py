"""Benchmark: creating and removing a network through testctr, next to the raw CLI.

    .venv/bin/python benchmarks/networks.py [--runtime docker] [--backend cli] [--rounds 10]

Times, alternating so load on the machine hits both alike:

- raw: ``<runtime> network create NAME`` then ``<runtime> network rm NAME``;
- testctr: ``with testctr.network_run(...)`` (create with labels, remove at the end).

Prints the median of each and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time

import testctr


def raw(runtime: str) -> float:
    name = "testctr-bench-raw-" + os.urandom(3).hex()
    start = time.perf_counter()
    subprocess.run([runtime, "network", "create", name], check=True, capture_output=True)
    subprocess.run([runtime, "network", "rm", name], check=True, capture_output=True)
    return time.perf_counter() - start


def through_testctr(runtime: str, backend: str) -> float:
    start = time.perf_counter()
    with testctr.network_run(runtime=runtime, backend=backend):
        pass
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", default="docker")
    parser.add_argument("--backend", default="cli")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    through_testctr(args.runtime, args.backend)  # warm up: imports, engine connection
    times: dict[str, list[float]] = {"raw CLI": [], "testctr": []}
    for _ in range(args.rounds):
        times["raw CLI"].append(raw(args.runtime))
        times["testctr"].append(through_testctr(args.runtime, args.backend))
    medians = {what: statistics.median(values) for what, values in times.items()}
    print(f"network create + remove, {args.backend}/{args.runtime}, median of {args.rounds}:")
    for what, median in medians.items():
        print(f"  {what:8} {median * 1000:7.1f} ms")
    print(f"  ratio    {medians['testctr'] / medians['raw CLI']:7.2f}x")


if __name__ == "__main__":
    main()
