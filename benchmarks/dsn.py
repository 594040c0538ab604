"""Benchmark: how long ``Container.dsn(t)`` takes, next to a raw CREATE DATABASE.

    TESTCTR_IMAGE_MAP=postgres:16=testctr.local/postgres:15 .venv/bin/python benchmarks/dsn.py [--rounds 30]

Starts four PostgreSQL containers (driver/no driver x template/no template),
then times, round-robin so load on the machine hits every variant alike:

- raw: ``CREATE DATABASE`` on an open psycopg connection (the floor);
- dsn(t) through psycopg (what tests get with ``testctr[postgres]``);
- dsn(t) through psql inside the container (no driver installed);
- both again with ``postgres.with_template(...)`` (clone a migrated template).

Each dsn(t) is for a new owner, so it creates a database; drops are not timed.
Prints medians and the ratio to raw. Target: dsn(t) with a driver <= 60 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import time
from collections.abc import Callable

import psycopg

import testctr
from testctr.modules import postgres
from testctr.owners import ScriptOwner

os.environ.setdefault("TESTCTR_IMAGE_MAP", "postgres:16=testctr.local/postgres:15")

#: A small schema, as a migrated application might have.
SCHEMA = "\n".join(
    f"CREATE TABLE table_{i} (id serial PRIMARY KEY, name text NOT NULL, created timestamptz DEFAULT now());"
    f"CREATE INDEX table_{i}_name ON table_{i} (name);"
    for i in range(20)
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--image", default=postgres.IMAGE)
    parser.add_argument("--runtime", default="docker")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:

        def start(*opts: testctr.Option) -> testctr.Container:
            return stack.enter_context(
                testctr.run(args.image, postgres.default(), testctr.with_runtime(args.runtime), *opts)
            )

        t0 = time.monotonic()
        plain = start()
        variants: dict[str, testctr.Container] = {
            "dsn(t), psycopg": plain,
            "dsn(t), psycopg, template": start(postgres.with_template(SCHEMA)),
            "dsn(t), no driver (psql)": start(postgres.with_dsn_client("exec")),
            "dsn(t), no driver, template": start(postgres.with_dsn_client("exec"), postgres.with_template(SCHEMA)),
        }
        print(f"started 4 containers in {time.monotonic() - t0:.1f} s ({args.runtime}, {args.image})")

        raw_conn = psycopg.connect(plain.dsn(ScriptOwner("bench-admin")).rsplit("/", 1)[0] + "/postgres",
                                   autocommit=True)  # fmt: skip
        owners: list[ScriptOwner] = []

        def raw(i: int) -> Callable[[], None]:
            def create() -> None:
                raw_conn.execute(f"CREATE DATABASE raw_{i}")

            return create

        def via_dsn(container: testctr.Container, i: int, label: str) -> Callable[[], None]:
            owner = ScriptOwner(f"bench/{label}/{i}")
            owners.append(owner)

            def create() -> None:
                container.dsn(owner)

            return create

        # Warm-up: the admin connection, the template build, the port lookup.
        for label, container in variants.items():
            via_dsn(container, -1, label)()

        order = random.Random(0)
        times: dict[str, list[float]] = {"raw CREATE DATABASE (psycopg)": []}
        times.update({label: [] for label in variants})
        for i in range(args.rounds):
            steps = [("raw CREATE DATABASE (psycopg)", raw(i))]
            steps += [(label, via_dsn(c, i, label)) for label, c in variants.items()]
            order.shuffle(steps)  # no variant always runs first after the drops
            for label, step in steps:
                start_ns = time.perf_counter_ns()
                step()
                times[label].append((time.perf_counter_ns() - start_ns) / 1e6)
            for owner in owners:  # drops, untimed
                owner.close()
            owners.clear()
            raw_conn.execute(f"DROP DATABASE raw_{i}")
        raw_conn.close()

    base = statistics.median(times["raw CREATE DATABASE (psycopg)"])
    print(f"\n{'variant':<32} {'median ms':>10} {'p90 ms':>8} {'vs raw':>7}   ({args.rounds} rounds)")
    for label, values in times.items():
        med = statistics.median(values)
        p90 = sorted(values)[int(len(values) * 0.9) - 1]
        print(f"{label:<32} {med:>10.1f} {p90:>8.1f} {med / base:>6.2f}x")
    driver = statistics.median(times["dsn(t), psycopg"])
    print(f"\ndsn(t) with a driver: {driver:.1f} ms median (target <= 60 ms): {'OK' if driver <= 60 else 'OVER'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
