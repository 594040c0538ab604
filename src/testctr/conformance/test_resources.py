"""Clause resources: memory and CPU limits observable inside, or UnsupportedOption.

Observed through cgroup v1 (memory.limit_in_bytes, cpu.cfs_quota_us), cgroup v2
(memory.max, cpu.max), or, for a backend that runs each container in its own
VM, the VM's size (MemTotal, nproc).
"""

from __future__ import annotations

import math

import pytest

import testctr
from testctr.backend.protocols import Backend, ResourceUpdater
from testctr.conformance._support import BUSYBOX, SLEEPER, record_unsupported

pytestmark = [pytest.mark.clause("resources"), pytest.mark.engine]

MiB = 1 << 20


def _read(c: testctr.Container, path: str) -> str | None:
    result = c.exec(["cat", path])
    return result.stdout.strip() if result.exit_code == 0 else None


def observed_memory_limit(c: testctr.Container) -> int | None:
    """The memory limit the container sees, in bytes (None: unlimited / not visible)."""
    for path in ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"):
        text = _read(c, path)
        if text and text != "max" and int(text) < 1 << 60:
            return int(text)
    meminfo = _read(c, "/proc/meminfo") or ""
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None


def observed_cpus(c: testctr.Container) -> float | None:
    """The CPU limit the container sees (quota/period, or the VM's CPU count)."""
    quota, period = _read(c, "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), _read(c, "/sys/fs/cgroup/cpu/cpu.cfs_period_us")
    if quota and period and int(quota) > 0:
        return int(quota) / int(period)
    cpu_max = _read(c, "/sys/fs/cgroup/cpu.max")
    if cpu_max and not cpu_max.startswith("max"):
        q, p = cpu_max.split()
        return int(q) / int(p)
    nproc = c.exec(["nproc"])
    return float(nproc.stdout.strip()) if nproc.exit_code == 0 else None


def assert_memory(c: testctr.Container, limit: int) -> None:
    seen = observed_memory_limit(c)
    assert seen is not None, "no memory limit visible inside the container"
    if seen != limit:
        # A VM sized to the limit shows a little less (the kernel keeps some).
        assert limit * 0.5 <= seen <= limit, f"memory limit {limit} not observed (saw {seen})"


def assert_cpus(c: testctr.Container, cpus: float) -> None:
    seen = observed_cpus(c)
    assert seen is not None, "no CPU limit visible inside the container"
    assert seen == pytest.approx(cpus) or seen == math.ceil(cpus), f"cpu limit {cpus} not observed (saw {seen})"


def test_memory_limit(request: pytest.FixtureRequest) -> None:
    try:
        c = testctr.new(
            request,
            BUSYBOX,
            testctr.with_memory_limit("64m"),
            testctr.with_command(*SLEEPER),
            testctr.with_wait_for_log("ready"),
        )
    except testctr.UnsupportedOption:
        record_unsupported(request, "with_memory_limit")
        return
    assert_memory(c, 64 * MiB)


def test_cpu_limit(request: pytest.FixtureRequest) -> None:
    try:
        c = testctr.new(
            request, BUSYBOX, testctr.with_cpus(0.5), testctr.with_command(*SLEEPER), testctr.with_wait_for_log("ready")
        )
    except testctr.UnsupportedOption:
        record_unsupported(request, "with_cpus")
        return
    assert_cpus(c, 0.5)


def test_update_resources_of_a_running_container(request: pytest.FixtureRequest, backend: Backend) -> None:
    if not isinstance(backend, ResourceUpdater):
        record_unsupported(request, "update_resources")
        return
    c = testctr.new(
        request,
        BUSYBOX,
        testctr.with_memory_limit("64m"),
        testctr.with_cpus(0.5),
        testctr.with_command(*SLEEPER),
        testctr.with_wait_for_log("ready"),
    )
    backend.update_resources(c.id, memory_bytes=96 * MiB, cpus=1.5)
    assert_memory(c, 96 * MiB)
    assert_cpus(c, 1.5)
