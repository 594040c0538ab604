"""Which engine the user named through the environment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testctr.backend import Pin
from testctr.backends.engine_pins import docker_context, pin_for

VARS = ("DOCKER_HOST", "DOCKER_CONTEXT", "CONTAINER_HOST", "CONTAINER_CONNECTION", "CONTAINERD_ADDRESS")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for var in VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    return tmp_path


def use_context(config_dir: Path, name: str) -> None:
    (config_dir / "config.json").write_text(json.dumps({"currentContext": name}))


def test_nothing_named() -> None:
    assert [pin_for(r) for r in ("docker", "podman", "nerdctl", "finch")] == [None] * 4


def test_docker_host_wins_over_a_context(monkeypatch: pytest.MonkeyPatch, clean_env: Path) -> None:
    use_context(clean_env, "remote")
    assert pin_for("docker") == Pin("docker context remote", "run `docker context use default`")
    monkeypatch.setenv("DOCKER_CONTEXT", "other")
    assert pin_for("docker") == Pin("DOCKER_CONTEXT=other", "unset DOCKER_CONTEXT")
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.5:2375")
    assert pin_for("docker") == Pin("DOCKER_HOST=tcp://10.0.0.5:2375", "unset DOCKER_HOST")
    assert pin_for("podman") is None


def test_the_default_context_names_nothing(clean_env: Path) -> None:
    use_context(clean_env, "default")
    assert docker_context() is None
    (clean_env / "config.json").write_text("not json")
    assert docker_context() is None


def test_podman_and_nerdctl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTAINER_HOST", "ssh://me@box/run/podman.sock")
    monkeypatch.setenv("CONTAINERD_ADDRESS", "/run/k3s/containerd.sock")
    assert pin_for("podman") == Pin("CONTAINER_HOST=ssh://me@box/run/podman.sock", "unset CONTAINER_HOST")
    assert pin_for("nerdctl") == Pin("CONTAINERD_ADDRESS=/run/k3s/containerd.sock", "unset CONTAINERD_ADDRESS")
