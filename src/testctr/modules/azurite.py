"""Azurite, the Azure Storage emulator (``mcr.microsoft.com/azure-storage/azurite``): blob, queue, table.

    az = testctr.new(request, azurite.IMAGE, azurite.default())
    service = BlobServiceClient.from_connection_string(azurite.connection_string(az))
    # or: azurite.blob_service(az)  (pip install 'testctr[azurite]')

``default()`` publishes 10000-10002, keeps the data in memory, accepts any
API version a newer SDK sends, turns telemetry off and waits until the three
services listen.
The account is the emulator's well-known ``devstoreaccount1``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from testctr.modules._common import data_in_memory, data_on_disk
from testctr.option import Option, options, with_args, with_port, with_wait_for_log

if TYPE_CHECKING:
    from testctr.container import Container

IMAGE = "mcr.microsoft.com/azure-storage/azurite:latest"
BLOB_PORT, QUEUE_PORT, TABLE_PORT = 10000, 10001, 10002
ACCOUNT = "devstoreaccount1"
#: The emulator's published, well-known key (not a secret).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
DATA = "/data"


def default() -> Option:
    """The three ports, data on tmpfs, no API version check or telemetry, and a wait for the three services."""
    return options(
        with_port(BLOB_PORT),
        with_port(QUEUE_PORT),
        with_port(TABLE_PORT),
        data_in_memory(DATA),
        # An SDK newer than the server sends an API version the server does not
        # know yet, and azurite refuses it unless told not to check. Telemetry
        # would send traffic of its own (and log a failure where it cannot).
        with_args("--skipApiVersionCheck", "--disableTelemetry"),
        with_wait_for_log("successfully listening", occurrences=3),
    )


def with_data_on_disk() -> Option:
    """Keep the data in the container's /data (after ``default()``): it survives ``restart()``."""
    return data_on_disk(DATA, "azurite")


def with_loose() -> Option:
    """``--loose``: ignore headers and parameters azurite does not support instead of failing."""
    return with_args("--loose")


def connection_string(container: Container) -> str:
    """The storage connection string for every SDK (blob, queue and table endpoints)."""
    endpoints = ";".join(
        f"{kind}Endpoint=http://{container.endpoint(port)}/{ACCOUNT}"
        for kind, port in (("Blob", BLOB_PORT), ("Queue", QUEUE_PORT), ("Table", TABLE_PORT))
    )
    return f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};{endpoints};"


def blob_service(container: Container) -> Any:
    """An ``azure.storage.blob.BlobServiceClient`` for the emulator's account."""
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient.from_connection_string(connection_string(container))


__all__ = ["ACCOUNT", "IMAGE", "KEY", "blob_service", "connection_string", "default", "with_data_on_disk", "with_loose"]
