"""Pieces of `testctr doctor` that need no engine."""

from __future__ import annotations

import threading
import time

import pytest

from testctr import command
from testctr.errors import EngineUnavailable


def test_a_multi_line_cell_stays_in_its_column() -> None:
    row = command._row(["cli", "NOT usable: down\nfix: start it"], [6])
    assert row.splitlines() == ["  cli    NOT usable: down", "         fix: start it"]


class Engine:
    def __init__(self, answer: str | None, hang: threading.Event | None = None) -> None:
        self.answer = answer
        self.hang = hang

    def version(self) -> str:
        if self.hang is not None:
            self.hang.wait(10)
        if self.answer is None:
            raise EngineUnavailable("down\nfix: start it")
        return self.answer


def test_probes_run_in_parallel_each_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(command, "PROBE_BOUND", 0.3)
    hang = threading.Event()
    hung, hung_too, up, down = Engine("1", hang), Engine("2", hang), Engine("3"), Engine(None)
    probes = command._Probes()
    started = time.monotonic()
    for engine in (hung, hung_too, up, down):
        probes.start(engine)  # type: ignore[arg-type]
    with pytest.raises(EngineUnavailable, match="no answer within"):
        probes.version(hung)  # type: ignore[arg-type]
    with pytest.raises(EngineUnavailable, match="no answer within"):
        probes.version(hung_too)  # type: ignore[arg-type]
    assert time.monotonic() - started < 0.55, "the bounds overlap: probes run in parallel"
    assert probes.version(up) == "3"  # type: ignore[arg-type]
    with pytest.raises(EngineUnavailable, match="down\nfix: start it"):
        probes.version(down)  # type: ignore[arg-type]
    hang.set()


def test_a_probe_s_engine_calls_end_within_its_bound() -> None:
    from testctr.backend import deadline

    class Recorder:
        def version(self) -> str:
            return f"{deadline.bound(60.0):.1f}"

    # The probe's own calls end before the doctor stops waiting for it, so
    # their error (not "no answer") is what it shows.
    assert float(command._Probes().version(Recorder())) <= command.PROBE_BOUND - deadline.GRACE  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "image,module",
    [
        ("postgres", "postgres"),
        ("postgres:16", "postgres"),
        ("docker.io/library/postgres:15@sha256:" + "a" * 64, "postgres"),
        ("mysql:8", "mysql"),
        ("mariadb", "mariadb"),
        ("redis:7-alpine", "redis"),
        ("eclipse-mosquitto:2", "mosquitto"),
        ("rabbitmq:3-management", "rabbitmq"),
        ("busybox", None),
        ("bitnami/postgresql:16", None),
        ("localhost:5000/postgres:16", None),
    ],
)
def test_run_knows_the_services_of_the_modules(image: str, module: str | None) -> None:
    from testctr.command import service_module

    assert service_module(image) == module
