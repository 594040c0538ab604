"""Startup comparison of every backend this machine has, side by side.

    python benchmarks/backends.py [--runs 5] [--image busybox]

For each of cli+docker, cli+podman and apple (Apple's containerization on a
Mac; on Linux the emulator when TESTCTR_APPLE_CONTAINER_BIN is set) that
answers: start-to-ready (testctr.run until the container runs), one exec round
trip (``true``), and stop+remove — medians over ``--runs`` containers, with the
ratio to the first backend measured in the same run (the baseline).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import testctr
from testctr.conformance._support import SLEEPER
from testctr.errors import TestctrError

DEFAULT_MAP = "busybox=testctr.local/busybox:latest"


@dataclass
class Candidate:
    label: str
    options: list[testctr.Option]
    probe: Callable[[], str]


@dataclass
class Timings:
    start: list[float] = field(default_factory=list)
    exec: list[float] = field(default_factory=list)
    stop_remove: list[float] = field(default_factory=list)


def candidates() -> list[Candidate]:
    from testctr import backends
    from testctr.backend.protocols import RuntimeSelectable

    found = []
    cli = backends.get("cli")
    for runtime in ("docker", "podman"):

        def probe(runtime: str = runtime) -> str:
            assert isinstance(cli, RuntimeSelectable)
            return cli.for_runtime(runtime).version()

        found.append(Candidate(f"cli+{runtime}", [testctr.with_backend("cli"), testctr.with_runtime(runtime)], probe))
    if backends.default_registry.is_available("apple"):
        found.append(Candidate("apple", [testctr.with_backend("apple")], lambda: backends.get("apple").version()))
    return found


def measure(candidate: Candidate, image: str, runs: int) -> Timings:
    timings = Timings()
    for _ in range(runs):
        began = time.perf_counter()
        with testctr.run(image, testctr.with_command(*SLEEPER), *candidate.options) as c:
            timings.start.append(time.perf_counter() - began)
            for _ in range(3):
                began = time.perf_counter()
                c.exec(["true"])
                timings.exec.append(time.perf_counter() - began)
            began = time.perf_counter()
            c.stop(timeout=5)
            c.terminate()
            timings.stop_remove.append(time.perf_counter() - began)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--image", default="busybox")
    args = parser.parse_args(argv)
    os.environ.setdefault("TESTCTR_IMAGE_MAP", DEFAULT_MAP)
    os.environ.setdefault("APPLE_CONTAINER_EMULATOR_PULL_LOCAL", "1")  # only the emulator reads it

    rows: list[tuple[str, str, Timings | None]] = []
    for candidate in candidates():
        try:
            version = candidate.probe()
        except TestctrError as e:
            print(f"skipping {candidate.label}: {str(e).splitlines()[0]}", file=sys.stderr)
            continue
        print(f"measuring {candidate.label} ({version}), {args.runs} runs ...", file=sys.stderr)
        try:
            rows.append((candidate.label, version, measure(candidate, args.image, args.runs)))
        except TestctrError as e:
            print(f"{candidate.label} failed: {e}", file=sys.stderr)
    if not rows:
        print("no backend answered", file=sys.stderr)
        return 1
    baseline = rows[0][2]
    assert baseline is not None

    def cell(values: list[float], base: list[float]) -> str:
        median, base_median = statistics.median(values), statistics.median(base)
        return f"{median * 1000:7.0f} ms ({median / base_median:4.2f}x)"

    header = f"{'backend':14} {'version':10} {'start-to-ready':>22} {'exec round trip':>22} {'stop+remove':>22}"
    print(f"medians of {args.runs} containers ({args.image}); ratio to {rows[0][0]}, measured in this run")
    print(header)
    print("-" * len(header))
    for label, version, t in rows:
        assert t is not None
        print(
            f"{label:14} {version[:10]:10} {cell(t.start, baseline.start):>22} "
            f"{cell(t.exec, baseline.exec):>22} {cell(t.stop_remove, baseline.stop_remove):>22}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
