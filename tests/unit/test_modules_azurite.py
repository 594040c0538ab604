"""azurite module: default options and the connection string."""

from __future__ import annotations

from typing import Any, cast

import pytest

from testctr.errors import InvalidOption
from testctr.modules import azurite
from testctr.option import build_spec


class FakeContainer:
    def endpoint(self, port: str | int) -> str:
        return f"127.0.0.1:{20000 + int(port)}"


def test_default_ports_memory_data_and_wait() -> None:
    spec = build_spec([azurite.default()])
    assert [p.key for p in spec.config.ports] == ["10000/tcp", "10001/tcp", "10002/tcp"]
    assert spec.config.tmpfs == ["/data"]
    assert spec.config.args == ["--skipApiVersionCheck", "--disableTelemetry"]
    assert len(spec.waits) == 1


def test_data_on_disk_and_loose_after_default() -> None:
    spec = build_spec([azurite.default(), azurite.with_data_on_disk(), azurite.with_loose()])
    assert spec.config.tmpfs == []
    assert spec.config.args == ["--skipApiVersionCheck", "--disableTelemetry", "--loose"]


def test_data_on_disk_before_default_is_refused() -> None:
    with pytest.raises(InvalidOption, match=r"after azurite\.default"):
        build_spec([azurite.with_data_on_disk(), azurite.default()])


def test_connection_string_names_every_endpoint_and_the_well_known_account() -> None:
    text = azurite.connection_string(cast(Any, FakeContainer()))
    parts = dict(part.split("=", 1) for part in text.rstrip(";").split(";"))
    assert parts == {
        "DefaultEndpointsProtocol": "http",
        "AccountName": "devstoreaccount1",
        "AccountKey": azurite.KEY,
        "BlobEndpoint": "http://127.0.0.1:30000/devstoreaccount1",
        "QueueEndpoint": "http://127.0.0.1:30001/devstoreaccount1",
        "TableEndpoint": "http://127.0.0.1:30002/devstoreaccount1",
    }
