"""Shared test setup.

Tests use official image names, as users do; the local images that
scripts/provision builds stand in for them through TESTCTR_IMAGE_MAP.
Integration tests run on every runtime in TESTCTR_TEST_RUNTIMES (default:
docker and podman); a runtime that is missing fails its tests, it is never
skipped, so CI cannot pass without checking both.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from testctr import settings
from testctr.parsing import parse_image_map

IMAGE_MAP = ",".join(
    f"{official}=testctr.local/{local}"
    for local, officials in {
        "redis:7": ["redis:7-alpine", "redis:7", "redis"],
        "postgres:15": ["postgres:15", "postgres:16", "postgres"],
        "mariadb:10": ["mariadb:10", "mariadb:11", "mariadb", "mysql:8", "mysql"],
        "busybox:latest": ["busybox", "busybox:latest", "alpine", "alpine:3"],
        "httpd:latest": ["httpd"],
        "nginx:1": ["nginx:1", "nginx", "nginx:alpine"],
        "debian:bookworm": ["debian", "debian:bookworm"],
        "memcached:1": ["memcached:1", "memcached"],
        "rabbitmq:3": ["rabbitmq:3", "rabbitmq"],
        "nats:2": ["nats:2", "nats"],
        "mosquitto:2": ["eclipse-mosquitto:2", "eclipse-mosquitto"],
        "postgis:15": ["postgis/postgis:16-3.4", "postgis/postgis:15-3.3", "postgis/postgis"],
        "etcd:3": ["quay.io/coreos/etcd:v3.5.17", "quay.io/coreos/etcd:v3.4.23", "quay.io/coreos/etcd"],
        "zookeeper:3": ["zookeeper:3.8", "zookeeper:3", "zookeeper"],
        "influxdb:1": ["influxdb:1.8", "influxdb:1"],
        "openldap:2": ["bitnami/openldap:2.6", "bitnami/openldap:2", "bitnami/openldap"],
        "sftp:latest": ["atmoz/sftp:latest", "atmoz/sftp"],
        "moto:5": ["motoserver/moto:latest", "motoserver/moto"],
        "azurite:3": ["mcr.microsoft.com/azure-storage/azurite:latest", "mcr.microsoft.com/azure-storage/azurite"],
        "maildev:2": ["maildev/maildev:latest", "maildev/maildev"],
        "chroma:1": ["chromadb/chroma:latest", "chromadb/chroma"],
        "selenium:chrome": ["selenium/standalone-chrome:latest", "selenium/standalone-chrome"],
    }.items()
    for official in officials
)

os.environ.setdefault("TESTCTR_IMAGE_MAP", IMAGE_MAP)
settings.configure(image_map=parse_image_map(os.environ["TESTCTR_IMAGE_MAP"]))

# Property tests check what comes out, not how fast: on a loaded 2-core CI machine
# hypothesis's per-example deadline would only add flakiness. Every run tries 25
# examples per property: the ~110 validation targets took a minute of the unit tier at
# 200. Each run draws new ones (no example database), so runs add up.
# `--hypothesis-profile=thorough` tries 1,000: for a nightly job, or after changing validation.
hypothesis_settings.register_profile("testctr", deadline=None, max_examples=25)
hypothesis_settings.register_profile("thorough", hypothesis_settings.get_profile("testctr"), max_examples=1000)
hypothesis_settings.load_profile("testctr")

RUNTIMES = os.environ.get("TESTCTR_TEST_RUNTIMES", "docker,podman").split(",")


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    """The engine CLI a test drives; pass it on with testctr.with_runtime(runtime)."""
    return str(request.param)


_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep the engine marker true: scripts/test and `-m "not engine"` select by it.

    Every test under tests/integration carries it, none under tests/unit does.
    """
    wrong = []
    for item in items:
        engine = item.get_closest_marker("engine") is not None
        if item.path.is_relative_to(_HERE / "integration") and not engine:
            wrong.append(f"{item.nodeid}: a test under tests/integration needs pytest.mark.engine")
        elif item.path.is_relative_to(_HERE / "unit") and engine:
            wrong.append(f"{item.nodeid}: tests/unit must need no engine; move it to tests/integration")
    if wrong:
        raise pytest.UsageError("\n".join(wrong))
