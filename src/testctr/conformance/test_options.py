"""Clause options: every generic option either works or raises UnsupportedOption.

Each case starts a container with one option and checks its effect from
inside, so an option that is accepted and silently ignored fails. Networks have
their own clause (test_networks.py).
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

import testctr
from testctr.conformance._support import BUSYBOX, SLEEPER, host_platform, record_unsupported
from testctr.conformance.test_resources import assert_cpus, assert_memory

pytestmark = [pytest.mark.clause("options"), pytest.mark.engine]

CAP_SYS_ADMIN = 21


@dataclass
class Case:
    option: str
    make: Callable[[pathlib.Path], list[testctr.Option]]
    check: Callable[[testctr.Container, pathlib.Path], None]
    #: Options that replace the command bring their own sleeper.
    own_command: bool = False


def _cap_eff(c: testctr.Container) -> int:
    status = c.exec_simple("cat", "/proc/self/status")
    line = next(line for line in status.splitlines() if line.startswith("CapEff:"))
    return int(line.split()[1], 16)


def _mounts(c: testctr.Container) -> list[list[str]]:
    return [line.split() for line in c.exec_simple("cat", "/proc/mounts").splitlines()]


def _bind_dir(tmp: pathlib.Path) -> pathlib.Path:
    d = tmp / "bind"
    d.mkdir(exist_ok=True)
    (d / "from-host.txt").write_text("host-side\n")
    d.chmod(0o777)  # a container's root may map to another uid
    return d


def _check_bind(c: testctr.Container, tmp: pathlib.Path) -> None:
    assert c.exec_simple("cat", "/mnt/host/from-host.txt") == "host-side"
    c.exec_simple("sh", "-c", "echo container-side > /mnt/host/from-container.txt")
    assert (tmp / "bind" / "from-container.txt").read_text() == "container-side\n"


def _check_bind_ro(c: testctr.Container, tmp: pathlib.Path) -> None:
    assert c.exec_simple("cat", "/mnt/ro/from-host.txt") == "host-side"
    assert c.exec(["sh", "-c", "echo x > /mnt/ro/nope.txt"]).exit_code != 0, "a read-only mount refuses writes"


def _check_privileged(c: testctr.Container, tmp: pathlib.Path) -> None:
    assert _cap_eff(c) >> CAP_SYS_ADMIN & 1, "privileged containers have CAP_SYS_ADMIN"


def _check_platform(c: testctr.Container, tmp: pathlib.Path) -> None:
    arch = {"amd64": "x86_64", "arm64": "aarch64"}[host_platform().split("/")[1]]
    assert c.exec_simple("uname", "-m") == arch


CASES = [
    Case(
        "with_env",
        lambda t: [testctr.with_env("CONF_A", "a value = with spaces")],
        lambda c, t: _eq(c.exec_simple("sh", "-c", 'echo "$CONF_A"'), "a value = with spaces"),
    ),
    Case(
        "with_env_map",
        lambda t: [testctr.with_env_map({"M1": "one", "M2": "two"})],
        lambda c, t: _eq(c.exec_simple("sh", "-c", "echo $M1-$M2"), "one-two"),
    ),
    Case(
        "with_command",
        lambda t: [testctr.with_command("sh", "-c", "echo from-command; echo ready; sleep 3600")],
        lambda c, t: _contains(c.logs(), "from-command"),
        own_command=True,
    ),
    Case(
        "with_args",
        lambda t: [testctr.with_args("-c", "echo from-args; echo ready; sleep 3600")],
        lambda c, t: _contains(c.logs(), "from-args"),
        own_command=True,
    ),
    Case(
        "with_entrypoint",
        lambda t: [testctr.with_entrypoint("sh", "-c", "echo from-entrypoint; echo ready; sleep 3600")],
        lambda c, t: _contains(c.logs(), "from-entrypoint"),
        own_command=True,
    ),
    Case(
        "with_entrypoint+with_command",
        lambda t: [
            testctr.with_entrypoint("sh", "-c"),
            testctr.with_command("echo ep-and-cmd; echo ready; sleep 3600"),
        ],
        lambda c, t: _contains(c.logs(), "ep-and-cmd"),
        own_command=True,
    ),
    Case(
        "with_label",
        lambda t: [testctr.with_label("org.example.option", "labelled")],
        lambda c, t: _eq(c.inspect().labels.get("org.example.option"), "labelled"),
    ),
    Case(
        "with_user",
        lambda t: [testctr.with_user("65534:65534")],
        lambda c, t: _eq(c.exec_simple("sh", "-c", "echo $(id -u):$(id -g)"), "65534:65534"),
    ),
    # An existing directory: Docker creates a missing one, Podman refuses to start.
    Case("with_workdir", lambda t: [testctr.with_workdir("/etc")], lambda c, t: _eq(c.exec_simple("pwd"), "/etc")),
    Case(
        "with_tmpfs",
        lambda t: [testctr.with_tmpfs("/scratch")],
        lambda c, t: _contains([m[2] for m in _mounts(c) if m[1] == "/scratch"], "tmpfs"),
    ),
    Case("with_bind_mount", lambda t: [testctr.with_bind_mount(_bind_dir(t), "/mnt/host")], _check_bind),
    Case(
        "with_bind_mount(read_only)",
        lambda t: [testctr.with_bind_mount(_bind_dir(t), "/mnt/ro", read_only=True)],
        _check_bind_ro,
    ),
    Case("with_memory_limit", lambda t: [testctr.with_memory_limit(80 << 20)], lambda c, t: assert_memory(c, 80 << 20)),
    Case("with_cpus", lambda t: [testctr.with_cpus(1.25)], lambda c, t: assert_cpus(c, 1.25)),
    Case("with_privileged", lambda t: [testctr.with_privileged()], _check_privileged),
    Case("with_platform", lambda t: [testctr.with_platform(host_platform())], _check_platform),
]


def _eq(actual: object, expected: object) -> None:
    assert actual == expected


def _contains(container: object, item: object) -> None:
    assert item in container  # type: ignore[operator]


@pytest.mark.parametrize("case", CASES, ids=[c.option for c in CASES])
def test_option_works_or_is_refused(request: pytest.FixtureRequest, tmp_path: pathlib.Path, case: Case) -> None:
    opts = case.make(tmp_path)
    if not case.own_command:
        opts.append(testctr.with_command(*SLEEPER))
    try:
        c = testctr.new(request, BUSYBOX, *opts, testctr.with_wait_for_log("ready"))
    except testctr.UnsupportedOption as e:
        assert e.option.startswith("with_"), f"UnsupportedOption names the option, got {e.option!r}"
        record_unsupported(request, case.option)
        return
    except testctr.ContainerStartError as e:
        # The engine itself refused the option at start: not ignored, but not
        # available on this machine either (e.g. --privileged where the engine's
        # own capability bounding set lacks a capability). Shown in the matrix.
        if case.option != "with_privileged" or not re.search(r"caps.*operation not permitted", str(e)):
            raise
        record_unsupported(request, f"{case.option} (engine refused: cannot apply all capabilities)")
        return
    case.check(c, tmp_path)


def test_privileged_is_not_the_default(request: pytest.FixtureRequest) -> None:
    c = testctr.new(request, BUSYBOX, testctr.with_command(*SLEEPER), testctr.with_wait_for_log("ready"))
    assert not _cap_eff(c) >> CAP_SYS_ADMIN & 1, "an ordinary container lacks CAP_SYS_ADMIN"


def test_unknown_backend_config_is_refused(request: pytest.FixtureRequest) -> None:
    class NotAnyBackendsConfig:
        pass

    with pytest.raises(testctr.UnsupportedOption) as info:
        testctr.new(
            request, BUSYBOX, testctr.with_backend_config(NotAnyBackendsConfig()), testctr.with_command(*SLEEPER)
        )
    assert info.value.option == "with_backend_config"
