"""Benchmark: one 50-test suite (a postgres database per test through ``dsn(request)``), run six ways.

    .venv/bin/python benchmarks/suite.py [--runtime docker] [--tests 50] [--rounds 3]

Each way is a whole ``pytest`` run in a subprocess, timed from outside (wall time,
interpreter start included, as a developer waits for it):

- floor: no testctr: one raw ``docker run`` of the same server (same flags,
  data on tmpfs), readiness by polling a connection, psycopg ``CREATE DATABASE``
  per test and ``DROP`` after it, ``docker rm -f`` at the end. Its logins pay
  PostgreSQL's stock password stretching, as a raw run's do; testctr's provider
  stores the password stretched once (``postgres.scram_secret``);
- cold: testctr, one postgres for the session (``postgres.default()``);
- warm: the same with ``with_reuse()``, after one run that left the container running;
- shared -n 2 and -n 4: ``with_shared()`` under pytest-xdist, counting the containers used;
- bound: no testctr and no server start: each test connects to the one database of
  a server started beforehand (its password stored as testctr's provider stores it).
  What pytest and the tests' own connections cost: no way with a database per test
  can beat it, so ``cold / bound`` caps the warm ratio.

Each run loads only the plugins the suite needs (testctr's, pytest-xdist's), as
a project would that has these installed, not a development environment's others.
The runs cache their bytecode (in the temporary directory, after a first run that
fills it), as on a developer's machine: with PYTHONDONTWRITEBYTECODE every run
compiles pytest, its plugins and testctr anew, seconds that no way can save.

The ways take turns, ``--rounds`` times, so load on the machine hits each
alike; the medians are printed. Targets: cold within 1.15x of the floor; warm at least 2x faster than cold;
``-n 4`` uses exactly one container.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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
FLAGS = os.environ["BENCH_FLAGS"].split()

@pytest.fixture(scope="session")
def server():
    argv = [RUNTIME, "run", "-d", "-p", "127.0.0.1::5432", "--tmpfs", "/var/lib/postgresql/data",
            "-e", "POSTGRES_USER=test", "-e", "POSTGRES_PASSWORD=test", "-e", "POSTGRES_DB=test",
            os.environ["BENCH_IMAGE"], "postgres",
            *FLAGS]
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

BOUND_SUITE = """
import os
import psycopg
import pytest

@pytest.mark.parametrize("n", range(int(os.environ["BENCH_TESTS"])))
def test_query(n):
    with psycopg.connect(os.environ["BENCH_DSN"]) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
"""


@contextlib.contextmanager
def server(runtime: str, image: str) -> Iterator[str]:
    """A postgres started without testctr, as the floor starts it; yields the DSN of its database."""
    import psycopg

    from testctr.modules.postgres import scram_secret

    argv = [
        runtime,
        "run",
        "-d",
        "-p",
        "127.0.0.1::5432",
        "--tmpfs",
        "/var/lib/postgresql/data",
        "-e",
        "POSTGRES_USER=test",
        "-e",
        # Stored as it is (see postgres.scram_secret): the DSN's password stays "test".
        f"POSTGRES_PASSWORD={scram_secret('test')}",
        "-e",
        "POSTGRES_DB=test",
        image,
    ]
    cid = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    try:
        out = subprocess.run([runtime, "port", cid, "5432/tcp"], capture_output=True, text=True, check=True).stdout
        dsn = f"postgresql://test:test@127.0.0.1:{out.split()[0].rsplit(':', 1)[1]}/test"
        deadline = time.monotonic() + 120
        while True:
            try:
                psycopg.connect(dsn, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield dsn
    finally:
        subprocess.run([runtime, "rm", "-f", cid], capture_output=True)


#: The plugins the suite needs, and only those (PYTEST_DISABLE_PLUGIN_AUTOLOAD): the
#: others installed in a development environment (hypothesis, pytest-django, anyio,
#: pytest-cov) cost every way ~0.5 s of start here and are no part of this suite's project.
PLUGINS = ["-p", "testctr.pytest_plugin", "-p", "xdist.plugin"]


def timed(workdir: Path, env: dict[str, str], test_file: str, workers: int = 0) -> float:
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *PLUGINS, test_file]
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
    with tempfile.TemporaryDirectory(prefix="testctr-suite-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        (work / "test_testctr.py").write_text(TESTCTR_SUITE)
        (work / "test_floor.py").write_text(FLOOR_SUITE)
        (work / "test_bound.py").write_text(BOUND_SUITE)
        ids = work / "ids.txt"
        env = {
            **os.environ,
            "BENCH_RUNTIME": args.runtime,
            "BENCH_TESTS": str(args.tests),
            "BENCH_KEY": os.urandom(4).hex(),
            "BENCH_IDS": str(ids),
            "BENCH_IMAGE": substitute_image(postgres.IMAGE, s.image_map, s.image_prefix),
            "BENCH_FLAGS": " ".join(postgres.FLAGS),
            "TESTCTR_LABEL": label,
            "TESTCTR_BACKEND": "cli",
            "XDG_CACHE_HOME": str(work / "cache"),
            "PYTHONPYCACHEPREFIX": str(work / "pycache"),
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        ways = ("floor", "cold", "warm", "shared2", "shared4", "bound")
        times: dict[str, list[float]] = {way: [] for way in ways}
        used: dict[str, set[int]] = {"shared2": set(), "shared4": set()}
        try:
            bound = stack.enter_context(server(args.runtime, env["BENCH_IMAGE"]))
            timed(work, {**env, "BENCH_MODE": "reuse"}, "test_testctr.py")  # leaves it running for "warm"
            containers_used(ids)
            timed(work, {**env, "BENCH_DSN": bound}, "test_bound.py")  # with the first, fills the bytecode cache
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
                times["bound"].append(timed(work, {**env, "BENCH_DSN": bound}, "test_bound.py"))
        finally:
            subprocess.run([sys.executable, "-m", "testctr", "clean", "--reused"], env=env, capture_output=True)
            left = subprocess.run(
                [args.runtime, "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True
            ).stdout.split()
            if left:
                subprocess.run([args.runtime, "rm", "-f", *left], capture_output=True)

    floor, cold, warm, shared2, shared4, bound_time = (statistics.median(times[way]) for way in ways)
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
        ("bound (pytest + the tests' connects)", bound_time, f"warm can be at most {cold / bound_time:.2f}x faster"),
    ]
    for name, seconds, note in rows:
        print(f"  {name:36} {seconds:7.2f} s   {note}")
    # The ways of one round ran minutes apart at most: their ratio within a round is
    # less moved by the machine's slower and faster spells than the ratio of medians.
    print("each round (s): " + "; ".join(f"{way} " + " ".join(f"{t:.2f}" for t in times[way]) for way in ways))
    for what, num, den in (("cold / floor", "cold", "floor"), ("cold / warm", "cold", "warm")):
        ratios = [n / d for n, d in zip(times[num], times[den], strict=True)]
        print(
            f"  {what} within each round: "
            + " ".join(f"{r:.2f}" for r in ratios)
            + f"; median {statistics.median(ratios):.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
