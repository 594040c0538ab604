"""Fixtures of the conformance suite.

The backend comes from ``--testctr-backend`` / ``TESTCTR_BACKEND`` (and
``--testctr-runtime`` / ``TESTCTR_RUNTIME``), exactly as :func:`testctr.new`
picks it, so the suite tests what users get. Clause bookkeeping and the matrix
live in :mod:`testctr.conformance.reporting`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testctr.backend.protocols import Backend
from testctr.conformance._support import (
    BUSYBOX,
    REDIS,
    RawContainers,
    backend_name,
    local_image,
    resolve_backend,
)
from testctr.conformance.plugin import install
from testctr.errors import TestctrError


def pytest_configure(config: pytest.Config) -> None:
    # Where the entry point did not recognise the run's arguments (a path
    # it cannot resolve, say), collecting the suite still brings its marker.
    install(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"testctr conformance: backend {backend_name()}"]
    try:
        backend = resolve_backend()
        lines.append(f"  runtime {backend.runtime} {backend.version()}, ports on {backend.host()}")
    except TestctrError as e:
        lines.append(f"  backend NOT usable: {e}")
    lines.append(f"  images: {BUSYBOX} -> {local_image(BUSYBOX)}, {REDIS} -> {local_image(REDIS)} (TESTCTR_IMAGE_MAP)")
    return lines


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def backend() -> Backend:
    """The backend under test (--testctr-backend / TESTCTR_BACKEND, with its runtime)."""
    return resolve_backend()


@pytest.fixture
def raw(request: pytest.FixtureRequest, backend: Backend) -> Iterator[RawContainers]:
    """Create containers straight through the backend; each is removed at the test's end."""
    yield RawContainers(request, backend)
