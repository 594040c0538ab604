"""Clause exec: exit codes, stdout vs stderr, env, workdir, user, timeout, large output."""

from __future__ import annotations

import pytest

import testctr
from testctr.conformance._support import BUSYBOX, SLEEPER

pytestmark = [pytest.mark.clause("exec"), pytest.mark.engine]


@pytest.fixture(scope="module")
def box(request: pytest.FixtureRequest) -> testctr.Container:
    return testctr.new(
        request,
        BUSYBOX,
        testctr.with_command(*SLEEPER),
        testctr.with_env("FROM_CONTAINER", "yes"),
        testctr.with_wait_for_log("ready"),
    )


@pytest.mark.parametrize(
    ("cmd", "code"),
    [
        (["true"], 0),
        (["false"], 1),
        (["sh", "-c", "exit 127"], 127),
        (["testctr-no-such-command"], 127),
    ],
    ids=["true-0", "false-1", "exit-127", "missing-command-127"],
)
def test_exit_codes(box: testctr.Container, cmd: list[str], code: int) -> None:
    result = box.exec(cmd)
    assert result.exit_code == code, result.output
    assert result.ok is (code == 0)


def test_stdout_and_stderr_apart_and_together(box: testctr.Container) -> None:
    result = box.exec(["sh", "-c", "echo to-out; echo to-err >&2; echo more-out"])
    assert result.stdout == "to-out\nmore-out\n"
    assert result.stderr == "to-err\n"
    assert sorted(result.output.splitlines()) == ["more-out", "to-err", "to-out"]


def test_env(box: testctr.Container) -> None:
    result = box.exec(["sh", "-c", 'echo "$A|$B|$FROM_CONTAINER"'], env={"A": "1", "B": "two words = x"})
    assert result.stdout == "1|two words = x|yes\n"


def test_workdir(box: testctr.Container) -> None:
    assert box.exec(["pwd"], workdir="/tmp").stdout == "/tmp\n"
    assert box.exec(["pwd"], workdir="/etc").stdout == "/etc\n"


def test_user(box: testctr.Container) -> None:
    result = box.exec(["sh", "-c", "echo $(id -u):$(id -g)"], user="65534:65534")
    assert result.stdout == "65534:65534\n"
    assert box.exec(["id", "-u"]).stdout == "0\n", "a user for one exec must not stick"


def test_timeout_raises_exec_timeout(box: testctr.Container) -> None:
    with pytest.raises(testctr.ExecTimeout):
        box.exec(["sh", "-c", "echo started; sleep 60"], timeout=1)
    assert box.exec_simple("echo", "still-usable") == "still-usable"


def test_large_output_intact(box: testctr.Container) -> None:
    expected = "".join(f"{i}\n" for i in range(1, 200_001))
    assert len(expected) >= 1 << 20
    result = box.exec(["seq", "1", "200000"])
    assert result.exit_code == 0
    assert len(result.stdout) == len(expected)
    assert result.stdout == expected
    err = box.exec(["sh", "-c", "seq 1 200000 >&2"])
    assert err.stderr == expected and err.stdout == ""
