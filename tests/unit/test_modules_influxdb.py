"""influxdb module: the official image's variables, setting names, validation."""

from __future__ import annotations

import pytest

from testctr.errors import InvalidOption
from testctr.modules import influxdb
from testctr.option import build_spec


def test_helpers_set_the_image_variables() -> None:
    env = build_spec(
        [influxdb.with_admin("adm", "pw"), influxdb.with_database("m"), influxdb.with_user("u", "upw")]
    ).config.env
    assert env == {
        "INFLUXDB_HTTP_AUTH_ENABLED": "true",
        "INFLUXDB_ADMIN_USER": "adm",
        "INFLUXDB_ADMIN_PASSWORD": "pw",
        "INFLUXDB_DB": "m",
        "INFLUXDB_USER": "u",
        "INFLUXDB_USER_PASSWORD": "upw",
    }


@pytest.mark.parametrize("before", [True, False])
def test_config_names_and_order(before: bool) -> None:
    mine = influxdb.with_config({"http.log-enabled": True, "reporting-disabled": True})
    env = build_spec([mine, influxdb.default()] if before else [influxdb.default(), mine]).config.env
    assert env["INFLUXDB_HTTP_LOG_ENABLED"] == "true"
    assert env["INFLUXDB_REPORTING_DISABLED"] == "true"


def test_validation() -> None:
    for bad in ("a b", "1db", "x;DROP"):
        with pytest.raises(InvalidOption):
            influxdb.with_database(bad)
    with pytest.raises(InvalidOption):
        influxdb.with_admin("adm", "it's")
    with pytest.raises(InvalidOption):
        influxdb.with_database(1)  # type: ignore[arg-type]
    with pytest.raises(InvalidOption):
        influxdb.with_config({"Http.Bind": 1})
    with pytest.raises(InvalidOption):
        influxdb.with_config({1: 1})  # type: ignore[dict-item]
