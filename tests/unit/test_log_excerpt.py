"""What a failure shows of a log: the lines since a time, cut to the last few (in-memory backend)."""

from __future__ import annotations

import time

from testctr.backend.types import ContainerConfig
from testctr.backends.memory import MemoryBackend
from testctr.log_excerpt import lines_since


def started(backend: MemoryBackend) -> str:
    container_id = backend.create_container("img", ContainerConfig(name="c"))
    backend.start_container(container_id)
    return container_id


def test_lines_since_a_time_leave_out_the_earlier_ones_and_say_when_cut() -> None:
    backend = MemoryBackend()
    cid = started(backend)
    backend.emit(cid, "before")
    time.sleep(0.01)
    since = time.time()
    for n in range(1, 6):
        backend.emit(cid, f"after {n}")
    assert lines_since(backend, cid, since, 10) == ("after 1\nafter 2\nafter 3\nafter 4\nafter 5", False)
    assert lines_since(backend, cid, since, 5) == ("after 1\nafter 2\nafter 3\nafter 4\nafter 5", False)
    assert lines_since(backend, cid, since, 3) == ("after 3\nafter 4\nafter 5", True)
    assert lines_since(backend, cid, time.time() + 1, 3) == ("", False)


class UntimedBackend:
    """Logs without times (as Apple's ``container``): no ``log_since``."""

    def get_container_logs(self, container_id: str) -> str:
        return "a line\n"


def test_a_backend_that_cannot_filter_by_time_gives_none() -> None:
    assert lines_since(UntimedBackend(), "c", 0.0, 3) is None  # type: ignore[arg-type]
