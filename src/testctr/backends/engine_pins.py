"""Which engine the user named through the environment, per CLI runtime.

A user who sets DOCKER_HOST, picks a docker context or sets CONTAINER_HOST
means that engine; ``auto`` must then use it or say why it cannot, never
quietly pick another one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from testctr.backend.registry import Pin


def _env_pin(var: str) -> Pin | None:
    value = os.environ.get(var, "")
    return Pin(f"{var}={value}", f"unset {var}") if value else None


def docker_context() -> str | None:
    """The docker context chosen by DOCKER_CONTEXT or ``docker context use``, unless it is the default."""
    context = os.environ.get("DOCKER_CONTEXT", "")
    if not context:
        config_dir = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
        try:
            with open(os.path.join(config_dir, "config.json")) as f:
                context = str(json.load(f).get("currentContext") or "")
        except (OSError, ValueError, AttributeError):
            return None
    return context if context and context != "default" else None


def docker_pin() -> Pin | None:
    # The docker CLI's own precedence: DOCKER_HOST wins over any context.
    pin = _env_pin("DOCKER_HOST")
    if pin is not None:
        return pin
    context = docker_context()
    if context is None:
        return None
    if os.environ.get("DOCKER_CONTEXT"):
        return Pin(f"DOCKER_CONTEXT={context}", "unset DOCKER_CONTEXT")
    return Pin(f"docker context {context}", "run `docker context use default`")


def podman_pin() -> Pin | None:
    return _env_pin("CONTAINER_HOST") or _env_pin("CONTAINER_CONNECTION")


def nerdctl_pin() -> Pin | None:
    return _env_pin("CONTAINERD_ADDRESS")


def pin_for(runtime: str) -> Pin | None:
    """The setting that names ``runtime``'s engine, if the user made one."""
    finder = {"docker": docker_pin, "podman": podman_pin, "nerdctl": nerdctl_pin}.get(runtime)
    return finder() if finder is not None else None
