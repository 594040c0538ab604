"""Clause concurrency: 10 containers created in parallel threads, distinct, all cleaned up."""

from __future__ import annotations

import os
import threading

import pytest

import testctr
from testctr.backend.protocols import Backend, ContainerLister
from testctr.conformance._support import BUSYBOX, SLEEPER

pytestmark = [pytest.mark.clause("concurrency"), pytest.mark.engine]

COUNT = 10


def test_parallel_creation(backend: Backend) -> None:
    batch = os.urandom(4).hex()
    barrier = threading.Barrier(COUNT, timeout=240)
    seen: dict[int, tuple[str, str, str]] = {}
    errors: list[BaseException] = []

    def one(index: int) -> None:
        try:
            with testctr.run(
                BUSYBOX,
                testctr.with_command(*SLEEPER),
                testctr.with_env("INDEX", str(index)),
                testctr.with_label("testctr.conformance.batch", batch),
                testctr.with_wait_for_log("ready"),
            ) as c:
                echoed = c.exec_simple("sh", "-c", "echo $INDEX")
                seen[index] = (c.id, c.name, echoed)
                barrier.wait()  # all ten run at the same time
        except BaseException as e:  # reported by the main thread
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(COUNT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads), "a creation thread hung"
    real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    if real or errors:
        raise (real or errors)[0]
    assert sorted(seen) == list(range(COUNT))
    assert len({cid for cid, _, _ in seen.values()}) == COUNT, "ids are distinct"
    assert len({name for _, name, _ in seen.values()}) == COUNT, "names are distinct"
    assert all(echoed == str(i) for i, (_, _, echoed) in seen.items()), "each exec reached its own container"
    for cid, _, _ in seen.values():
        with pytest.raises(testctr.ContainerNotFound):
            backend.inspect_container(cid)
    if isinstance(backend, ContainerLister):
        left = [
            c
            for c in backend.list_containers("testctr.conformance.batch")
            if c.labels.get("testctr.conformance.batch") == batch
        ]
        assert not left, f"left behind: {[c.name for c in left]}"
