"""Benchmark: one 50-test suite (a postgres database per test through ``dsn(request)``), run five ways.

    .venv/bin/python benchmarks/suite.py [--runtime docker] [--tests 50] [--rounds 3]

Each way is a whole ``pytest`` run in a subprocess, timed from outside (wall time,
interpreter start included, as a developer waits for it):

- floor: no testctr: one raw ``docker run`` of the same server (same flags,
  data on tmpfs), readiness by polling a connection, psycopg ``CREATE DATABASE``
  per test and ``DROP`` after it, ``docker rm -f`` at the end;
- cold: testctr, one postgres for the session (``postgres.default()``);
- warm: the same with ``with_reuse()``, after one run that left the container running;
- shared -n 2 and -n 4: ``with_shared()`` under pytest-xdist, counting the containers used.

The ways take turns, ``--rounds`` times, so load on the machine hits each
alike; the medians are printed. Targets: cold within 1.15x of the floor; warm at least 2x faster than cold;
``-n 4`` uses exactly one container.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TESTCTR_IMAGE_MAP", "postgres:16=testctr.local/postgres:15")

TESTCTR_SUITE = """
import os
import psycopg
import pytest
import testctr
from testctr.modules import postgres

MODE = os.environ["BENCH_MODE"]
EXTRA = {"reuse": [testctr.with_reuse()], "shared": [testctr.with_shared()]}.get(MODE, [])

@pytest.fixture(scope="session")
def pg(request):
    return testctr.new(request, postgres.IMAGE, postgres.default(), testctr.with_runtime(os.environ["BENCH_RUNTIME"]),
                       testctr.with_env("BENCH_KEY", os.environ["BENCH_KEY"]), *EXTRA)

@pytest.mark.parametrize("n", range(int(os.environ["BENCH_TESTS"])))
def test_query(request, pg, n):
    with psycopg.connect(pg.dsn(request)) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with open(os.environ["BENCH_IDS"], "a") as f:
        f.write(pg.id + "\\n")
"""

FLOOR_SUITE = """
import os
import subprocess
import time
import psycopg
import pytest

RUNTIME = os.environ["BENCH_RUNTIME"]

@pytest.fixture(scope="session")
def server():
    argv = [RUNTIME, "run", "-d", "-p", "127.0.0.1::5432", "--tmpfs", "/var/lib/postgresql/data",
            "-e", "POSTGRES_USER=test", "-e", "POSTGRES_PASSWORD=test", "-e", "POSTGRES_DB=test",
            os.environ["BENCH_IMAGE"], "postgres",
            "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    cid = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    try:
        out = subprocess.run([RUNTIME, "port", cid, "5432/tcp"], capture_output=True, text=True, check=True).stdout
        port = int(out.split()[0].rsplit(":", 1)[1])
        # The entrypoint's init server listens on its socket only: a TCP connection means the real one.
        deadline = time.monotonic() + 120
        while True:
            try:
                conn = psycopg.connect(host="127.0.0.1", port=port, user="test", password="test", dbname="postgres",
                                       autocommit=True, connect_timeout=2)
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield conn, port
        conn.close()
    finally:
        subprocess.run([RUNTIME, "rm", "-f", cid], capture_output=True)

@pytest.fixture
def dsn(request, server):
    conn, port = server
    name = "t_" + request.node.name.replace("[", "_").replace("]", "").lower()
    conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://test:test@127.0.0.1:{port}/{name}"
    conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')

@pytest.mark.parametrize("n", range(int(os.environ["BENCH_TESTS"])))
def test_query(dsn, n):
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
"""


def timed(workdir: Path, env: dict[str, str], test_file: str, workers: int = 0) -> float:
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file]
    if workers:
        argv += ["-n", str(workers)]
    started = time.monotonic()
    result = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        print(f"FAILED: {shlex.join(argv)}\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}", file=sys.stderr)
        raise SystemExit(1)
    return elapsed


def containers_used(ids: Path) -> int:
    count = len(set(ids.read_text().split()))
    ids.unlink()
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runtime", default="docker")
    parser.add_argument("--tests", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from testctr import settings
    from testctr.modules import postgres
    from testctr.parsing import substitute_image

    s = settings.current()
    label = f"testctr-bench-{os.urandom(3).hex()}"
    with tempfile.TemporaryDirectory(prefix="testctr-suite-") as tmp:
        work = Path(tmp)
        (work / "test_testctr.py").write_text(TESTCTR_SUITE)
        (work / "test_floor.py").write_text(FLOOR_SUITE)
        ids = work / "ids.txt"
        env = {
            **os.environ,
            "BENCH_RUNTIME": args.runtime,
            "BENCH_TESTS": str(args.tests),
            "BENCH_KEY": os.urandom(4).hex(),
            "BENCH_IDS": str(ids),
            "BENCH_IMAGE": substitute_image(postgres.IMAGE, s.image_map, s.image_prefix),
            "TESTCTR_LABEL": label,
            "TESTCTR_BACKEND": "cli",
            "XDG_CACHE_HOME": str(work / "cache"),
        }
        times: dict[str, list[float]] = {way: [] for way in ("floor", "cold", "warm", "shared2", "shared4")}
        used: dict[str, set[int]] = {"shared2": set(), "shared4": set()}
        try:
            timed(work, {**env, "BENCH_MODE": "reuse"}, "test_testctr.py")  # leaves it running for "warm"
            containers_used(ids)
            for _ in range(args.rounds):
                times["floor"].append(timed(work, env, "test_floor.py"))
                times["cold"].append(timed(work, {**env, "BENCH_MODE": "cold"}, "test_testctr.py"))
                containers_used(ids)
                times["warm"].append(timed(work, {**env, "BENCH_MODE": "reuse"}, "test_testctr.py"))
                containers_used(ids)
                for workers in (2, 4):
                    way = f"shared{workers}"
                    times[way].append(timed(work, {**env, "BENCH_MODE": "shared"}, "test_testctr.py", workers))
                    used[way].add(containers_used(ids))
        finally:
            subprocess.run([sys.executable, "-m", "testctr", "clean", "--reused"], env=env, capture_output=True)
            left = subprocess.run(
                [args.runtime, "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True
            ).stdout.split()
            if left:
                subprocess.run([args.runtime, "rm", "-f", *left], capture_output=True)

    floor, cold, warm, shared2, shared4 = (statistics.median(times[way]) for way in times)
    used2, used4 = (",".join(map(str, sorted(used[way]))) for way in ("shared2", "shared4"))
    print(
        f"{args.tests} tests, a postgres database each, {args.runtime}; "
        f"median wall time of the whole pytest run over {args.rounds} round(s):"
    )
    rows = [
        ("floor (raw run + CREATE DATABASE)", floor, ""),
        ("testctr cold", cold, f"{cold / floor:.2f}x floor (target <= 1.15x)"),
        ("testctr with_reuse, warm", warm, f"{cold / warm:.2f}x faster than cold (target >= 2x)"),
        ("testctr with_shared, -n 2", shared2, f"{used2} container(s)"),
        ("testctr with_shared, -n 4", shared4, f"{used4} container(s) (target: exactly 1)"),
    ]
    for name, seconds, note in rows:
        print(f"  {name:36} {seconds:7.2f} s   {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
