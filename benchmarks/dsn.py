"""Benchmark: what ``Container.dsn(t)`` and a test's teardown cost, with and without the database pool.

    .venv/bin/python benchmarks/dsn.py [--rounds 30] [--test-ms 20]

Starts PostgreSQL (with and without ``postgres.with_template``) and MariaDB
servers, each twice: with the pool (the default) and with TESTCTR_DB_POOL=0.
Then, round-robin so load on the machine hits every variant alike, each
round times on every server:

- raw: ``CREATE DATABASE`` (and its ``DROP``) on an open driver connection (the floor);
- ``dsn(t)`` for a new test, then a pause standing for the test's body
  (``--test-ms``: the pool refills meanwhile), then the test's teardown
  (``owner.close()``: with the pool it only hands the database over).

Last, on the pooled MariaDB server, dsn(t) with the provider's server calls
made no-ops: testctr's own cost, the least dsn(t) can take whatever the server.

Prints medians and the ratio to raw CREATE DATABASE. Targets with the pool
warm: ``dsn(t)`` median <= 0.2x raw CREATE DATABASE; teardown on the test's
path <= 1 ms.
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
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pymysql

import testctr
from testctr import settings
from testctr.modules import mariadb, postgres
from testctr.owners import ScriptOwner

os.environ.setdefault("TESTCTR_IMAGE_MAP", "postgres:16=testctr.local/postgres:15,mariadb:11=testctr.local/mariadb:10")

#: A small schema, as a migrated application might have.
SCHEMA = "\n".join(
    f"CREATE TABLE table_{i} (id serial PRIMARY KEY, name text NOT NULL, created timestamptz DEFAULT now());"
    f"CREATE INDEX table_{i}_name ON table_{i} (name);"
    for i in range(20)
)

SERVERS: dict[str, tuple[str, list[testctr.Option]]] = {
    "postgres": (postgres.IMAGE, [postgres.default()]),
    "postgres, template": (postgres.IMAGE, [postgres.default(), postgres.with_template(SCHEMA)]),
    "mariadb": (mariadb.IMAGE, [mariadb.default()]),
}


def percentile(values: list[float], fraction: float) -> float:
    return sorted(values)[max(int(len(values) * fraction) - 1, 0)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--test-ms", type=float, default=20.0, help="pause standing for a test's body")
    parser.add_argument("--runtime", default="docker")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        t0 = time.monotonic()
        variants: dict[str, testctr.Container] = {}
        with ThreadPoolExecutor(max_workers=6) as starting:
            futures = {
                f"{server}, {mode}": starting.submit(
                    lambda image, opts: stack.enter_context(
                        testctr.run(image, *opts, testctr.with_runtime(args.runtime))
                    ),
                    image,
                    opts,
                )
                for server, (image, opts) in SERVERS.items()
                for mode in ("pool", "no pool")
            }
            variants = {label: future.result() for label, future in futures.items()}
        print(f"started {len(variants)} containers in {time.monotonic() - t0:.1f} s ({args.runtime})")

        # The pool is chosen at a container's first dsn(); that one also warms up
        # the admin connection, the template build and the port lookup.
        warm_owners = []
        for label, container in variants.items():
            settings.configure(db_pool=not label.endswith("no pool"))
            owner = ScriptOwner(f"bench/warm/{label}")
            container.dsn(owner)
            warm_owners.append(owner)
        settings.configure(db_pool=True)

        pg_url = variants["postgres, no pool"].dsn(warm_owners[1]).rsplit("/", 1)[0] + "/postgres"
        raw_pg = psycopg.connect(pg_url, autocommit=True)
        maria = variants["mariadb, no pool"]
        raw_maria: Any = pymysql.connect(
            host=maria.host(), port=maria.port(3306), user="root", password="test", autocommit=True
        )

        def raw_postgres(i: int) -> tuple[Callable[[], object], Callable[[], object]]:
            return (
                lambda: raw_pg.execute(f"CREATE DATABASE raw_{i}"),
                lambda: raw_pg.execute(f"DROP DATABASE raw_{i} WITH (FORCE)"),
            )

        def raw_mariadb(i: int) -> tuple[Callable[[], object], Callable[[], object]]:
            cursor = raw_maria.cursor()
            return (
                lambda: cursor.execute(f"CREATE DATABASE raw_{i}"),
                lambda: cursor.execute(f"DROP DATABASE raw_{i}"),
            )

        raws = {"postgres raw CREATE/DROP": raw_postgres, "mariadb raw CREATE/DROP": raw_mariadb}
        created: dict[str, list[float]] = {label: [] for label in [*raws, *variants]}
        teardown: dict[str, list[float]] = {label: [] for label in created}
        order = random.Random(0)
        for i in range(args.rounds):
            labels = list(created)
            order.shuffle(labels)  # no variant always runs first
            for label in labels:
                if label in raws:
                    make, finish = raws[label](i)
                else:
                    owner = ScriptOwner(f"bench/{label}/{i}")
                    make, finish = (lambda c=variants[label], o=owner: c.dsn(o)), owner.close
                start = time.perf_counter_ns()
                make()
                created[label].append((time.perf_counter_ns() - start) / 1e6)
                time.sleep(args.test_ms / 1000)
                start = time.perf_counter_ns()
                finish()
                teardown[label].append((time.perf_counter_ns() - start) / 1e6)
        # What dsn(t) costs in testctr itself: the same server and pool, with
        # the provider's server calls made no-ops (after the rounds: it is that server's).
        no_server = "mariadb, pool, no server calls"
        created[no_server], teardown[no_server] = [], []
        provider: Any = variants["mariadb, pool"]._spec.dsn_provider
        provider.create_database = lambda container, name: name
        provider.drop_database = lambda container, handle: None
        for i in range(args.rounds):
            owner = ScriptOwner(f"bench/{no_server}/{i}")
            start = time.perf_counter_ns()
            variants["mariadb, pool"].dsn(owner)
            created[no_server].append((time.perf_counter_ns() - start) / 1e6)
            time.sleep(args.test_ms / 1000)
            start = time.perf_counter_ns()
            owner.close()
            teardown[no_server].append((time.perf_counter_ns() - start) / 1e6)
        for owner in warm_owners:
            owner.close()
        raw_pg.close()
        raw_maria.close()

    header = f"{'variant':<36} {'dsn ms':>8} {'p90':>7} {'vs raw':>7} {'teardown ms':>12} {'p90':>7}"
    print(f"\n{header}   ({args.rounds} rounds, {args.test_ms:g} ms per test)")
    for label in created:
        made, gone = created[label], teardown[label]
        raw = statistics.median(created[f"{label.split(',')[0].split()[0]} raw CREATE/DROP"])
        print(
            f"{label:<36} {statistics.median(made):>8.2f} {percentile(made, 0.9):>7.2f} "
            f"{statistics.median(made) / raw:>6.2f}x {statistics.median(gone):>12.3f} {percentile(gone, 0.9):>7.3f}"
        )
    ok = True
    for label in variants:
        if label.endswith("no pool"):
            continue
        raw = statistics.median(created[f"{label.split(',')[0].split()[0]} raw CREATE/DROP"])
        ratio = statistics.median(created[label]) / raw
        gone = statistics.median(teardown[label])
        verdict = "OK" if ratio <= 0.2 and gone <= 1.0 else "OVER"
        ok = ok and verdict == "OK"
        print(f"{label}: dsn(t) {ratio:.2f}x raw (target <= 0.2x), teardown {gone:.3f} ms (target <= 1 ms): {verdict}")
    own = statistics.median(created[no_server])
    raw = statistics.median(created["mariadb raw CREATE/DROP"])
    print(f"testctr's own dsn(t) cost (no server calls): {own:.2f} ms, {own / raw:.2f}x mariadb's raw CREATE DATABASE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
