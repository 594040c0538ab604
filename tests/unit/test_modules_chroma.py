"""chroma module: default options and the server URL."""

from __future__ import annotations

from typing import Any, cast

import pytest

from testctr.errors import InvalidOption
from testctr.modules import chroma
from testctr.option import build_spec


class FakeContainer:
    def endpoint(self, port: str | int) -> str:
        return f"127.0.0.1:{30000 + int(port)}"


def test_default_port_memory_data_and_heartbeat_wait() -> None:
    spec = build_spec([chroma.default()])
    assert [p.key for p in spec.config.ports] == ["8000/tcp"]
    assert spec.config.tmpfs == ["/data"]
    assert [w.describe() for w in spec.waits] == ["HTTP 200 from GET /api/v2/heartbeat on port 8000/tcp"]


def test_data_on_disk() -> None:
    assert build_spec([chroma.default(), chroma.with_data_on_disk()]).config.tmpfs == []
    with pytest.raises(InvalidOption):
        build_spec([chroma.with_data_on_disk(), chroma.default()])


def test_url() -> None:
    assert chroma.url(cast(Any, FakeContainer())) == "http://127.0.0.1:38000"
