"""etcd module: ETCD_* variables, defaults the user can override, validation."""

from __future__ import annotations

import pytest

from testctr.errors import InvalidOption
from testctr.modules import etcd
from testctr.option import build_spec


@pytest.mark.parametrize("before", [True, False])
def test_config_wins_over_default_in_any_order(before: bool) -> None:
    mine = etcd.with_config({"election-timeout": 500, "enable-pprof": True})
    env = build_spec([mine, etcd.default()] if before else [etcd.default(), mine]).config.env
    assert env["ETCD_ELECTION_TIMEOUT"] == "500"
    assert env["ETCD_ENABLE_PPROF"] == "true"
    assert env["ETCD_LISTEN_CLIENT_URLS"] == "http://0.0.0.0:2379"


def test_data_in_memory_unless_on_disk() -> None:
    assert build_spec([etcd.default()]).config.tmpfs == ["/etcd-data"]
    assert build_spec([etcd.default(), etcd.with_data_on_disk()]).config.tmpfs == []


def test_config_validation() -> None:
    with pytest.raises(InvalidOption):
        etcd.with_config([("a", 1)])  # type: ignore[arg-type]
    for bad in ({}, {"a b": 1}, {"k": "x\ny"}, {"k": None}):
        with pytest.raises(InvalidOption):
            etcd.with_config(bad)  # type: ignore[arg-type]
