"""Host ports allocated for publishing."""

from __future__ import annotations

from testctr.backends import free_ports as ports


def test_allocated_ports_are_not_handed_out_twice() -> None:
    handed = {ports.allocate_port() for _ in range(20)}
    assert len(handed) == 20
