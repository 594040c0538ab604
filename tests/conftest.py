"""Shared test setup.

Tests use official image names, as users do; the local images that
scripts/provision builds stand in for them through TESTCTR_IMAGE_MAP.
Integration tests run on every runtime in TESTCTR_TEST_RUNTIMES (default:
docker and podman); a runtime that is missing fails its tests, it is never
skipped, so CI cannot pass without checking both.
"""

from __future__ import annotations

import os

import pytest

from testctr import settings
from testctr.parsing import parse_image_map

IMAGE_MAP = ",".join(
    f"{official}=testctr.local/{local}"
    for local, officials in {
        "redis:7": ["redis:7-alpine", "redis:7", "redis"],
        "postgres:15": ["postgres:15", "postgres:16", "postgres"],
        "mariadb:10": ["mariadb:10", "mariadb:11", "mariadb", "mysql:8", "mysql"],
        "busybox:latest": ["busybox", "busybox:latest", "alpine", "alpine:3"],
        "httpd:latest": ["nginx", "nginx:alpine", "httpd"],
        "debian:bookworm": ["debian", "debian:bookworm"],
        "memcached:1": ["memcached:1", "memcached"],
        "rabbitmq:3": ["rabbitmq:3", "rabbitmq"],
        "nats:2": ["nats:2", "nats"],
        "mosquitto:2": ["eclipse-mosquitto:2", "eclipse-mosquitto"],
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

RUNTIMES = os.environ.get("TESTCTR_TEST_RUNTIMES", "docker,podman").split(",")


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    """The engine CLI a test drives; pass it on with testctr.with_runtime(runtime)."""
    return str(request.param)
