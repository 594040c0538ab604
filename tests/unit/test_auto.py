"""auto's choice among registered candidates, with engines that are plain Python objects."""

from __future__ import annotations

import os
from typing import Any

import pytest

from testctr.backend import AutoCandidate, Pin, Registry
from testctr.backends.auto import Auto, choose
from testctr.errors import EngineUnavailable


class Engine:
    """Just enough of a backend for auto: a runtime and a version that answers or not."""

    def __init__(self, runtime: str, answers: bool = True) -> None:
        self.runtime = runtime
        self.answers = answers
        self.asked = 0

    def version(self) -> str:
        self.asked += 1
        if not self.answers:
            raise EngineUnavailable(f"the {self.runtime} engine is not reachable\nfix: start {self.runtime}")
        return "1.0"


class SwitchingEngine(Engine):
    """An engine that can drive other runtimes (RuntimeSelectable)."""

    def for_runtime(self, runtime: str) -> Engine:
        return Engine(os.path.basename(runtime))


def candidate(label: str, priority: int, engine: Engine, missing: str | None = None, pin: Pin | None = None) -> Any:
    return AutoCandidate(label, label.split("/")[0], priority, lambda: engine, lambda: missing, lambda: pin)  # type: ignore[arg-type,return-value]


def registry_of(*candidates: AutoCandidate) -> Registry:
    registry = Registry()
    for c in candidates:
        registry.add_auto_candidate(c)
    return registry


def test_a_backend_joins_auto_by_registration_alone() -> None:
    registry = Registry()
    mine = Engine("mine")
    registry.register_factory("mine", lambda: mine, auto_priority=5)  # type: ignore[arg-type,return-value]
    registry.register_chooser("auto", Auto(registry, lambda: None).choose)
    assert registry.lookup("auto") == ("mine", mine)


def test_an_unavailable_registered_backend_is_skipped_saying_so() -> None:
    registry = Registry()
    registry.register_factory("mac", lambda: Engine("mac"), available=lambda: False, auto_priority=1)  # type: ignore[arg-type,return-value]
    registry.register_factory("linux", lambda: Engine("linux"), auto_priority=2)  # type: ignore[arg-type,return-value]
    choice = choose(registry)
    assert choice.name == "linux"
    assert choice.skipped == [("mac", "not available on this machine")]


def test_priority_order_and_the_first_that_answers_wins() -> None:
    late, down, first = Engine("late"), Engine("down", answers=False), Engine("first")
    registry = registry_of(candidate("late", 30, late), candidate("down", 10, down), candidate("first", 20, first))
    choice = choose(registry)
    assert choice.backend is first and choice.name == "first"
    assert late.asked == 0, "nothing after the choice is probed"
    assert choice.skipped == [("down", "the down engine is not reachable fix: start down")]
    assert choice.explain() == [
        "skipped down: the down engine is not reachable fix: start down",
        "chose first (the first that answers; version 1.0)",
    ]
    assert choice.chosen() == ("first", first)


def test_missing_candidates_are_not_probed() -> None:
    absent = Engine("absent")
    registry = registry_of(
        candidate("cli/absent", 1, absent, missing="not on PATH"), candidate("cli/here", 2, Engine("here"))
    )
    choice = choose(registry)
    assert absent.asked == 0 and choice.skipped == [("cli/absent", "not on PATH")] and choice.name == "cli"


def test_nothing_answers() -> None:
    registry = registry_of(
        candidate("a", 1, Engine("a", answers=False)), candidate("b", 2, Engine("b"), missing="not on PATH")
    )
    choice = choose(registry)
    assert choice.backend is None and choice.name == ""
    with pytest.raises(EngineUnavailable) as raised:
        choice.chosen()
    message = str(raised.value)
    assert message.startswith("no container engine answers (backend auto):\n  a: the a engine is not reachable")
    assert "\n  b: not on PATH\nfix: " in message
    assert choice.explain()[-2:] == [
        "no usable engine: no container engine answers (backend auto)",
        "fix: start one of these engines (or install one); `testctr doctor` shows what was tried",
    ]


def test_a_pinned_engine_that_does_not_answer_is_an_error_not_a_fall_back() -> None:
    pin = Pin("DOCKER_HOST=tcp://10.0.0.5:2376", "unset DOCKER_HOST")
    other = Engine("podman")
    registry = registry_of(
        candidate("cli/docker", 1, Engine("docker", answers=False), pin=pin), candidate("cli/podman", 2, other)
    )
    choice = choose(registry)
    assert choice.backend is None and other.asked == 0
    assert ("cli/podman", "DOCKER_HOST=tcp://10.0.0.5:2376 names the engine to use") in choice.skipped
    assert choice.failure.startswith("DOCKER_HOST=tcp://10.0.0.5:2376 names the container engine to use")
    assert "unset DOCKER_HOST" in choice.fix


def test_a_pinned_engine_wins_over_an_earlier_one() -> None:
    pin = Pin("CONTAINER_HOST=ssh://me@box", "unset CONTAINER_HOST")
    registry = registry_of(
        candidate("cli/docker", 1, Engine("docker")), candidate("cli/podman", 2, Engine("podman"), pin=pin)
    )
    choice = choose(registry)
    assert choice.backend is not None and choice.backend.runtime == "podman"
    assert choice.reason == "CONTAINER_HOST=ssh://me@box names it; version 1.0"


def test_a_pin_on_an_engine_that_is_not_installed_does_not_count() -> None:
    # DOCKER_HOST set for other tools on a machine without the docker CLI.
    pin = Pin("DOCKER_HOST=unix:///run/podman.sock", "unset DOCKER_HOST")
    registry = registry_of(
        candidate("cli/docker", 1, Engine("docker"), missing="not on PATH", pin=pin),
        candidate("cli/podman", 2, Engine("podman")),
    )
    assert choose(registry).name == "cli"


def test_a_named_runtime_skips_the_search() -> None:
    fixed, switching = Engine("apple"), SwitchingEngine("docker")
    registry = registry_of(candidate("apple", 1, fixed), candidate("cli/docker", 2, switching))
    choice = choose(registry, "/opt/bin/podman")
    assert choice.backend is not None and choice.backend.runtime == "podman" and fixed.asked == 0
    named = "the runtime /opt/bin/podman (TESTCTR_RUNTIME or with_runtime)"
    assert choice.skipped == [("apple", f"{named} names another engine")]
    assert choice.explain()[-1] == f"chose cli with /opt/bin/podman ({named} names it; version 1.0)"
    assert choose(registry, "apple").backend is fixed


def test_a_named_runtime_that_does_not_answer_is_not_replaced() -> None:
    registry = registry_of(
        candidate("x", 1, Engine("x"), missing="not installed"),
        candidate("cli/docker", 2, Engine("docker", answers=False)),
        candidate("cli/podman", 3, Engine("podman")),
    )
    choice = choose(registry, "docker")
    assert choice.backend is None
    assert choice.error.startswith(
        "the runtime docker (TESTCTR_RUNTIME or with_runtime) names the engine to use, and it cannot be used"
    )
    assert "\n  x: not installed\n  cli/docker: the docker engine is not reachable" in choice.error


def test_a_named_runtime_a_switching_backend_cannot_drive() -> None:
    class Broken(SwitchingEngine):
        def for_runtime(self, runtime: str) -> Engine:
            raise EngineUnavailable(f"{runtime} is not on PATH")

    choice = choose(registry_of(candidate("cli/docker", 1, Broken("docker"))), "nerdctl")
    assert choice.skipped == [("cli with nerdctl", "nerdctl is not on PATH")] and choice.backend is None


def test_a_named_runtime_no_candidate_drives() -> None:
    choice = choose(registry_of(candidate("apple", 1, Engine("apple"))), "podman")
    assert choice.backend is None and "no backend of auto drives it" in choice.error


def test_the_choice_is_kept_and_a_failed_one_retried() -> None:
    engine = Engine("docker", answers=False)
    registry = registry_of(candidate("cli/docker", 1, engine))
    auto = Auto(registry, lambda: None)
    registry.register_chooser("auto", auto.choose)
    with pytest.raises(EngineUnavailable):
        registry.get("auto")
    engine.answers = True
    assert registry.get("auto") is engine
    assert registry.get("auto") is engine and auto.choice().backend is engine
    assert engine.asked == 2, "a good choice is made once"


def test_candidate_labels_are_unique_and_leave_with_their_backend() -> None:
    registry = registry_of(candidate("a", 1, Engine("a")))
    with pytest.raises(ValueError, match="already registered"):
        registry.add_auto_candidate(candidate("a", 2, Engine("a")))
    registry.unregister("a")
    assert registry.auto_candidates() == []


def test_a_runtime_a_caller_insists_on_picks_a_candidate_that_drives_it() -> None:
    # with_runtime("podman") under auto: never a backend that cannot drive podman (apple), whatever
    # auto chose for the process.
    registry = registry_of(
        candidate("apple", 1, Engine("apple")),
        candidate("cli/podman", 3, Engine("podman")),
    )
    auto = Auto(registry, lambda: None)
    registry.register_chooser("auto", auto.choose)
    assert registry.lookup("auto")[1].runtime == "apple"
    _, backend = registry.lookup("auto", "podman")
    assert backend.runtime == "podman"
    assert registry.lookup("auto", "podman")[1] is backend
