"""The pure parts of a Compose project: its services, names, and testctr's override file.

testctr changes a project only through one more file the tool merges after
the user's (``-f user.yml -f override.json``; JSON is YAML, so every Compose
reads it): each service gets the run's labels, and its image the run's image
substitution. Compose v1, v2 and podman-compose all merge labels by key and
let a later file's ``image`` win.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from testctr.errors import InvalidOption, TestctrError
from testctr.parsing import container_name

#: Compose's own rule for project names (v2 refuses others; v1 silently rewrote them).
_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def check_project_name(name: object) -> str:
    if not isinstance(name, str) or not _PROJECT_NAME.match(name):
        raise InvalidOption(
            f"Compose project name {name!r} must be lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit"
        )
    return name


def project_name_for(test_id: str, suffix: str) -> str:
    """A valid, readable project name for a test: ``testctr-test_x-<suffix>``."""
    return container_name(test_id, suffix).lower().replace(".", "_")


@dataclass(frozen=True)
class Service:
    name: str
    image: str  # "" when the service is only built
    builds: bool


def parse_config(text: str, as_json: bool) -> dict[str, Service]:
    """The services of ``config``'s output: JSON from Compose v2, YAML from the others."""
    data: Any
    if as_json:
        data = json.loads(text)
    else:
        try:
            import yaml
        except ImportError:
            raise TestctrError(
                "reading this Compose tool's configuration (YAML) needs PyYAML: pip install 'testctr[compose]'"
            ) from None
        data = yaml.safe_load(text)
    services = data.get("services") if isinstance(data, dict) else None
    if not isinstance(services, dict):
        raise TestctrError(f"the Compose configuration has no services: {text[:200]!r}")
    return {
        str(name): Service(str(name), str((body or {}).get("image") or ""), "build" in (body or {}))
        for name, body in services.items()
    }


def service_image(service: Service, substitute: Callable[[str], str]) -> str:
    """The image the service runs: a built image keeps its name (it names the build)."""
    if service.builds or not service.image:
        return service.image
    return substitute(service.image)


def override(
    services: Mapping[str, Service], images: Mapping[str, str], labels: Mapping[str, Mapping[str, str]]
) -> str:
    """The override file: per service its labels, and its image where substitution changed it."""
    body: dict[str, dict[str, Any]] = {}
    for name, service in services.items():
        entry: dict[str, Any] = {"labels": dict(labels[name])}
        if images[name] != service.image:
            entry["image"] = images[name]
        body[name] = entry
    return json.dumps({"services": body}, indent=1, sort_keys=True)
