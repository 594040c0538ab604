"""Compose projects as testctr containers: docker with docker-compose (v1), podman with podman-compose."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import testctr
from testctr import settings
from testctr.owners import ScriptOwner

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.engine

# Official names: the run's TESTCTR_IMAGE_MAP puts the local images in their place.
THREE_SERVICES = """\
services:
  db:
    image: postgres:15
    environment:
      POSTGRES_PASSWORD: ${DB_PASSWORD}
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "postgres"]
      interval: 1s
      retries: 60
  cache:
    image: redis:7-alpine
    ports: ["6379"]
  web:
    image: httpd
    ports: ["80"]
    depends_on: [cache]
"""

# busybox-static's wget crashes on name-service lookups; nc speaks Redis well enough.
REDIS_PING_FROM_WEB = "printf 'PING\\r\\n' | nc -w 5 cache 6379"


@pytest.fixture
def engine(runtime: str) -> Iterator[str]:
    """Compose follows the run's engine: point the run at ``runtime`` for this test."""
    before = settings.current().runtime
    settings.configure(runtime=runtime)
    yield runtime
    settings.configure(runtime=before)


@pytest.fixture
def three(tmp_path: Path) -> Path:
    path = tmp_path / "compose.yml"
    path.write_text(THREE_SERVICES)
    return path


def project_containers(runtime: str, project: str) -> list[str]:
    out = subprocess.run(
        [runtime, "ps", "-aq", "--filter", f"label=testctr.compose.project={project}"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    return out.split()


def project_networks(runtime: str, project: str) -> list[str]:
    out = subprocess.run(
        [runtime, "network", "ls", "--format", "{{.Name}}"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    return [n for n in out.split() if n.startswith(project)]


def test_three_services_as_containers(request: pytest.FixtureRequest, engine: str, three: Path) -> None:
    stack = testctr.compose(
        request,
        three,
        env={"DB_PASSWORD": "secret"},
        waits={"cache": testctr.with_wait_for_log("Ready to accept connections")},
    )
    assert sorted(stack.services) == ["cache", "db", "web"]
    cache, db, web = stack.service("cache"), stack.service("db"), stack.service("web")

    assert cache.exec_simple("redis-cli", "PING") == "PONG"
    assert db.health() == "healthy"  # no wait given: the file's healthcheck decided
    assert db.exec_simple("psql", "-U", "postgres", "-tAc", "SELECT 41 + 1") == "42"
    with urllib.request.urlopen(f"http://{web.endpoint(80)}/", timeout=10) as response:
        assert response.status == 200
    # Services reach each other by service name, on the project's network.
    assert "+PONG" in web.exec(["sh", "-c", REDIS_PING_FROM_WEB]).stdout

    # Image substitution and the run's labels, as for any testctr container.
    info = cache.inspect()
    assert info.labels["testctr.image"] == "testctr.local/redis:7"
    assert "testctr.local/redis:7" in info.image
    assert info.labels["testctr"] == "true"
    assert info.labels["testctr.test"] == request.node.nodeid
    assert info.labels["testctr.compose.service"] == "cache"
    assert "cache | " in stack.logs() and "web   | " in stack.logs()


def test_project_is_gone_after_its_test_with_network(engine: str, three: Path) -> None:
    owner = ScriptOwner("test_gone")
    stack = testctr.compose(owner, three, services=["cache"], env={"DB_PASSWORD": "x"})
    assert stack.service("cache").exec_simple("redis-cli", "PING") == "PONG"
    with pytest.raises(testctr.InvalidOption, match=r"'db' of project .* was not started"):
        stack.service("db")
    assert len(project_containers(engine, stack.project)) == 1  # only what was asked for
    owner.close()
    assert project_containers(engine, stack.project) == []
    assert project_networks(engine, stack.project) == []


def test_failed_test_keeps_project_only_with_keep_failed(
    engine: str, three: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = settings.current().keep_failed
    try:
        settings.configure(keep_failed=False)
        failed = ScriptOwner("test_failed_plain")
        stack = testctr.compose(failed, three, services=["cache"], env={"DB_PASSWORD": "x"})
        failed.error = True
        failed.close()
        assert project_containers(engine, stack.project) == []

        settings.configure(keep_failed=True)
        kept = ScriptOwner("test_failed_kept")
        stack = testctr.compose(kept, three, services=["cache"], env={"DB_PASSWORD": "x"})
        kept.error = True
        kept.close()
        assert len(project_containers(engine, stack.project)) == 1
        hint = capsys.readouterr().err
        assert f"kept Compose project {stack.project}" in hint
        # The hint's command takes it down.
        command = hint.split("remove: ", 1)[1].splitlines()[0]
        subprocess.run(shlex.split(command), capture_output=True, timeout=120, check=True)
        assert project_containers(engine, stack.project) == []
    finally:
        settings.configure(keep_failed=before)


def test_script_form_takes_the_project_down(engine: str, three: Path) -> None:
    with testctr.compose_run(three, services=["cache"], env={"DB_PASSWORD": "x"}) as stack:
        assert stack.service("cache").exec_simple("redis-cli", "PING") == "PONG"
    assert project_containers(engine, stack.project) == []


def test_failing_wait_takes_the_project_down_and_says_why(engine: str, three: Path) -> None:
    owner = ScriptOwner("test_wait_fails")
    started = time.monotonic()
    with pytest.raises(testctr.WaitTimeout, match=r"waiting for log line (matching|containing) 'never"):
        testctr.compose(
            owner,
            three,
            services=["cache"],
            env={"DB_PASSWORD": "x"},
            project_name="testctr-compose-wait-fails",
            waits={"cache": testctr.with_wait_for_log("never printed", timeout=2)},
        )
    assert time.monotonic() - started < 60
    assert project_containers(engine, "testctr-compose-wait-fails") == []
    owner.close()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"services": ["cache", "nope"]}, r"services=: no service 'nope'; the services: .*cache"),
        ({"waits": {"nope": testctr.with_wait_for_log("x")}}, r"waits=: no service 'nope'"),
        ({"project_name": "Bad Name"}, r"project name 'Bad Name' must be lowercase"),
    ],
)
def test_bad_input_raises_at_once(engine: str, three: Path, kwargs: dict[str, object], message: str) -> None:
    owner = ScriptOwner("test_bad_input")
    with pytest.raises(testctr.InvalidOption, match=message):
        testctr.compose(owner, three, env={"DB_PASSWORD": "x"}, **kwargs)  # type: ignore[arg-type]
    owner.close()


def test_unknown_service_lists_the_known_ones(request: pytest.FixtureRequest, engine: str, three: Path) -> None:
    stack = testctr.compose(request, three, services=["cache"], env={"DB_PASSWORD": "x"})
    with pytest.raises(testctr.InvalidOption, match=r"no service 'nope'; its services: .*cache"):
        stack.service("nope")


def test_missing_and_invalid_files(engine: str, tmp_path: Path) -> None:
    owner = ScriptOwner("test_files")
    with pytest.raises(testctr.InvalidOption, match="does not exist"):
        testctr.compose(owner, tmp_path / "missing.yml")
    invalid = tmp_path / "invalid.yml"
    invalid.write_text("services:\n  a: [unclosed\n")
    with pytest.raises(testctr.InvalidOption, match=r"invalid Compose file .*invalid.yml") as raised:
        testctr.compose(owner, invalid)
    assert "while parsing" in str(raised.value)  # the tool's own message
    assert "Traceback" not in str(raised.value)
    owner.close()


INNER = """
import testctr

def test_fails(request):
    # The wait: the report is read right after the failure, and redis must have logged by then.
    ready = {"cache": testctr.with_wait_for_log("Ready to accept connections")}
    stack = testctr.compose(request, "compose.yml", services=["cache"], env={"DB_PASSWORD": "x"}, waits=ready)
    print("PROJECT=" + stack.project)
    assert False, "deliberate"
"""


def test_failed_test_report_carries_the_services_logs(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, runtime: str
) -> None:
    monkeypatch.setenv("TESTCTR_IMAGE_MAP", os.environ["TESTCTR_IMAGE_MAP"])
    pytester.makefile(".yml", compose=THREE_SERVICES)
    pytester.makepyfile(INNER)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", f"--testctr-runtime={runtime}")
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    project = re.search(r"PROJECT=(\S+)", output)
    assert project is not None
    assert f"testctr logs: {project.group(1)}" in output and "Ready to accept connections" in output
    assert project_containers(runtime, project.group(1)) == []


SESSION_INNER = """
import pytest
import testctr

@pytest.fixture(scope="session")
def stack(request):
    s = testctr.compose(request, "compose.yml", services=["cache"], env={"DB_PASSWORD": "x"})
    print("PROJECT=" + s.project)
    return s

def test_0_uses_it(stack):
    pass

def test_1_fails_without_it():
    assert False, "deliberate"
"""


def test_keep_failed_keeps_a_session_project_only_for_a_failed_test_that_used_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, runtime: str
) -> None:
    monkeypatch.setenv("TESTCTR_IMAGE_MAP", os.environ["TESTCTR_IMAGE_MAP"])
    pytester.makefile(".yml", compose=THREE_SERVICES)
    pytester.makepyfile(SESSION_INNER)
    result = pytester.runpytest_subprocess(
        "-s", "-p", "no:cacheprovider", f"--testctr-runtime={runtime}", "--testctr-keep-failed"
    )
    output = result.stdout.str()
    project = re.search(r"PROJECT=(\S+)", output)
    assert project is not None, output
    try:
        result.assert_outcomes(passed=1, failed=1)
        assert "kept Compose project" not in output
        assert project_containers(runtime, project.group(1)) == []
    finally:
        down = re.search(r"kept Compose project .*\n\s+remove: (.+)", output)
        if down is not None:
            subprocess.run(shlex.split(down.group(1)), capture_output=True, timeout=120, check=False)
