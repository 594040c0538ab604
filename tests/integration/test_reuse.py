"""with_reuse and with_shared on real engines: across runs, racing runs, killed runs, xdist workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testctr.dbpool import PREFIX
from testctr.parsing import database_session
from tests.integration.conftest import containers

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("remove_leftovers")]

#: Seconds a killed run's shared container may outlive it (the watchdog polls twice a second).
REAP_LIMIT = 15.0

SCRIPT = """
import json, sys, time
import testctr
from testctr.owners import ScriptOwner

runtime, key, how, image = sys.argv[1:5]
if image.startswith("postgres"):
    from testctr.modules import postgres
    opts = [postgres.default()]
    if image == "postgres-template":
        opts.append(postgres.with_template("CREATE TABLE seeded AS SELECT 1 AS x"))
        image = "postgres"
else:
    opts = [testctr.with_command("sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait")]
started = time.monotonic()
with testctr.run(image, testctr.with_runtime(runtime), testctr.with_env("KEY", key), testctr.with_reuse(), *opts) as c:
    ms = (time.monotonic() - started) * 1000
    out = {"id": c.id, "name": c.name, "ms": ms}
    if image == "postgres":
        owner = ScriptOwner("tests/reuse.py::test_same_id")
        out["dsn"] = c.dsn(owner)
    print(json.dumps(out), flush=True)
    if how == "hang":
        time.sleep(600)
    if image == "postgres":
        owner.close()  # the test's end: its database is dropped
"""

SHARED_TESTS = """
import os
import pytest
import testctr

@pytest.fixture(scope="session")
def box(request):
    sleep = testctr.with_command("sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait")
    return testctr.new(request, "busybox", testctr.with_runtime({runtime!r}), testctr.with_env("KEY", {key!r}),
                       sleep, testctr.with_shared())

@pytest.mark.parametrize("n", range({tests}))
def test_uses_the_shared_box(box, n):
    with open({out!r}, "a") as f:
        f.write(os.environ.get("PYTEST_XDIST_WORKER", "-") + " " + box.id + "\\n")
    if {hang!r}:
        import time
        time.sleep(600)
"""


@pytest.fixture
def label() -> str:
    """A label prefix of this test's own: its containers, and only them."""
    return f"testctr-reuse-{os.urandom(4).hex()}"


@pytest.fixture
def key() -> str:
    """Part of the configuration: this test's reused containers are its own."""
    return os.urandom(6).hex()


@pytest.fixture
def env(label: str, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "TESTCTR_LABEL": label, "TESTCTR_BACKEND": "cli", "XDG_CACHE_HOME": str(tmp_path / "cache")}


def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not within {timeout:.0f}s")
        time.sleep(0.25)


class Runs:
    def __init__(self, tmp_path: Path, runtime: str, key: str, env: dict[str, str]) -> None:
        self.script = tmp_path / "reuse_script.py"
        self.script.write_text(SCRIPT)
        self.runtime, self.key, self.env = runtime, key, env

    def start(self, how: str = "finish", image: str = "busybox", key: str = "", **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, str(self.script), self.runtime, key or self.key, how, image],
            stdout=subprocess.PIPE,
            text=True,
            env={**self.env, **env},
            start_new_session=True,
        )

    @staticmethod
    def output(process: subprocess.Popen[str]) -> dict[str, Any]:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, f"the run ended early with {process.wait(timeout=120)}"
        result: dict[str, Any] = json.loads(line)
        return result

    def run(self, image: str = "busybox", key: str = "", **env: str) -> dict[str, Any]:
        process = self.start("finish", image, key, **env)
        out = self.output(process)
        assert process.wait(timeout=120) == 0
        return out

    def killed(self, image: str = "busybox", key: str = "") -> dict[str, Any]:
        process = self.start("hang", image, key)
        out = self.output(process)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        return out


@pytest.fixture
def runs(tmp_path: Path, runtime: str, key: str, env: dict[str, str]) -> Runs:
    return Runs(tmp_path, runtime, key, env)


def test_a_reused_container_survives_a_finished_and_a_killed_run_and_the_next_attaches(
    runs: Runs, runtime: str, label: str
) -> None:
    cold = runs.run()
    assert containers(runtime, label) == [cold["id"]]
    killed = runs.killed()
    time.sleep(2)  # what a reaper would have done by now
    warm = runs.run()
    assert killed["id"] == warm["id"] == cold["id"] and containers(runtime, label) == [cold["id"]]
    # How much faster attaching is, benchmarks/suite.py measures; a timed assert here would flake under load.
    print(f"{runtime}: cold start {cold['ms']:.0f} ms, attach {warm['ms']:.0f} ms")


def test_racing_runs_share_one_container_and_another_config_gets_its_own(runs: Runs, runtime: str, label: str) -> None:
    racing = [runs.start() for _ in range(4)]
    ids = {runs.output(p)["id"] for p in racing}
    assert all(p.wait(timeout=120) == 0 for p in racing)
    assert len(ids) == 1 and containers(runtime, label) == list(ids)
    other = runs.run(key=runs.key + "-other")
    assert other["id"] not in ids and len(containers(runtime, label)) == 2


def test_idle_containers_expire_at_the_next_run(runs: Runs, runtime: str, label: str, tmp_path: Path) -> None:
    idle = runs.run()
    record = tmp_path / "cache" / "testctr" / "reused" / idle["name"]
    hours_ago = time.time() - 7200
    os.utime(record, (hours_ago, hours_ago))
    fresh = runs.run(key=runs.key + "-fresh")  # another config: it looks at the idle one, and removes it
    assert containers(runtime, label) == [fresh["id"]]
    assert not record.exists()


def test_reuse_false_makes_throwaway_containers(runs: Runs, runtime: str, label: str) -> None:
    out = runs.run(TESTCTR_REUSE="false")
    assert not out["name"].startswith("testctr-reuse-")
    assert containers(runtime, label) == []


def databases(runtime: str, name: str) -> list[str]:
    argv = [runtime, "exec", name, "psql", "-U", "test", "-d", "postgres", "-Atc", "SELECT datname FROM pg_database"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout.split()


def test_runs_on_a_reused_postgres_get_their_own_databases_and_a_killed_runs_are_dropped(
    runs: Runs, runtime: str
) -> None:
    first = runs.run("postgres")
    hanging = runs.start("hang", "postgres")
    alive = runs.output(hanging)
    second = runs.run("postgres")
    dbs = {out["dsn"].rsplit("/", 1)[1] for out in (first, alive, second)}
    assert first["id"] == alive["id"] == second["id"] and len(dbs) == 3  # one test id, three runs
    left = alive["dsn"].rsplit("/", 1)[1]
    assert left in databases(runtime, first["name"])  # the live run's stays while it runs
    os.killpg(hanging.pid, signal.SIGKILL)
    hanging.wait(timeout=60)
    after = runs.run("postgres")
    now = databases(runtime, first["name"])
    assert left not in now and not [d for d in now if database_session(d)]  # each run dropped its own
    assert not [d for d in now if d.startswith(PREFIX)]  # and the killed run's pooled ones are gone too
    assert after["id"] == first["id"]


def test_a_template_is_built_once_per_reused_container(runs: Runs, runtime: str) -> None:
    first = runs.run("postgres-template")
    argv = [runtime, "exec", first["name"], "psql", "-U", "test", "-d", "postgres", "-Atc"]
    query = "SELECT oid, datname FROM pg_database WHERE datname LIKE 'testctr_template_%'"
    built = subprocess.run([*argv, query], capture_output=True, text=True, timeout=60, check=True).stdout.split()
    second = runs.run("postgres-template")
    again = subprocess.run([*argv, query], capture_output=True, text=True, timeout=60, check=True).stdout.split()
    assert second["id"] == first["id"] and len(built) == 1 and again == built


def run_shared(tmp_path: Path, runtime: str, key: str, env: dict[str, str], workers: int, tests: int) -> list[str]:
    out = tmp_path / f"shared-{workers}.txt"
    (tmp_path / f"test_shared_{workers}.py").write_text(
        SHARED_TESTS.format(runtime=runtime, key=key, tests=tests, out=str(out), hang=False)
    )
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(workers)]
    result = subprocess.run(
        [*argv, f"test_shared_{workers}.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out.read_text().splitlines()


@pytest.mark.parametrize("workers", [2, 4])
def test_a_shared_container_is_one_for_all_workers_and_gone_after_the_run(
    tmp_path: Path, runtime: str, label: str, key: str, env: dict[str, str], workers: int
) -> None:
    lines = run_shared(tmp_path, runtime, key, env, workers, tests=4 * workers)
    assert len({line.split()[1] for line in lines}) == 1  # one container
    assert len({line.split()[0] for line in lines}) > 1  # used by several workers
    assert containers(runtime, label) == []


def test_a_killed_xdist_runs_shared_container_is_removed(
    tmp_path: Path, runtime: str, label: str, key: str, env: dict[str, str]
) -> None:
    out = tmp_path / "shared.txt"
    (tmp_path / "test_hang.py").write_text(
        SHARED_TESTS.format(runtime=runtime, key=key, tests=2, out=str(out), hang=True)
    )
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "test_hang.py"]
    process = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
    wait_until(lambda: out.exists() and len(out.read_text().splitlines()) == 2, 120)
    assert len(containers(runtime, label)) == 1
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    wait_until(lambda: not containers(runtime, label), REAP_LIMIT)
