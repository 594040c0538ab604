"""Azurite checked with azure-storage-blob: a container, a blob uploaded and downloaded."""

from __future__ import annotations

import pytest
from azure.storage.blob import BlobServiceClient

import testctr
from testctr.modules import azurite

pytestmark = pytest.mark.engine


def test_blob_round_trip(request: pytest.FixtureRequest, runtime: str) -> None:
    az = testctr.new(request, azurite.IMAGE, azurite.default(), testctr.with_runtime(runtime))
    service = BlobServiceClient.from_connection_string(azurite.connection_string(az))
    container = service.create_container("reports")
    container.upload_blob("2024/q1.csv", b"month,total\njan,3\n")
    assert container.download_blob("2024/q1.csv").readall() == b"month,total\njan,3\n"
    assert [b.name for b in container.list_blobs()] == ["2024/q1.csv"]
    assert [c.name for c in azurite.blob_service(az).list_containers()] == ["reports"]
