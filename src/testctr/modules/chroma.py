"""Chroma, the vector database (``chromadb/chroma``), HTTP API on 8000.

    db = testctr.new(request, chroma.IMAGE, chroma.default())
    client = chroma.client(db)                   # chromadb.HttpClient (pip install 'testctr[chroma]')
    collection = client.create_collection("docs")

``default()`` publishes 8000, keeps the data on tmpfs and waits until the
heartbeat endpoint answers. Pass your own embeddings (or an embedding function
whose model is installed locally): the client's default embedding function
downloads a model on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from testctr.modules._common import data_in_memory, data_on_disk
from testctr.option import Option, options, with_port, with_wait_for_http

if TYPE_CHECKING:
    from testctr.container import Container

IMAGE = "chromadb/chroma:latest"
PORT = 8000
DATA = "/data"


def default() -> Option:
    """Port 8000, data on tmpfs and a wait for ``GET /api/v2/heartbeat``."""
    return options(with_port(PORT), data_in_memory(DATA), with_wait_for_http("/api/v2/heartbeat", PORT))


def with_data_on_disk() -> Option:
    """Keep the data in the container's /data (after ``default()``): it survives ``restart()``."""
    return data_on_disk(DATA, "chroma")


def url(container: Container) -> str:
    """``http://127.0.0.1:PORT``: the server for any Chroma client."""
    return f"http://{container.endpoint(PORT)}"


def client(container: Container) -> Any:
    """A ``chromadb.HttpClient`` connected to the server."""
    import chromadb

    return chromadb.HttpClient(host=container.host(), port=container.port(PORT))


__all__ = ["IMAGE", "client", "default", "url", "with_data_on_disk"]
