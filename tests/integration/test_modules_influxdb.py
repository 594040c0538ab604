"""influxdb module against the real InfluxDB 1.x image, with the influxdb client: write points, query them."""

from __future__ import annotations

import pytest
from influxdb.exceptions import InfluxDBClientError

import testctr
from testctr.modules import influxdb

pytestmark = pytest.mark.engine

POINTS = [
    {"measurement": "cpu", "tags": {"host": "a"}, "time": "2024-01-01T00:00:00Z", "fields": {"load": 0.5}},
    {"measurement": "cpu", "tags": {"host": "b"}, "time": "2024-01-01T00:00:00Z", "fields": {"load": 1.5}},
]


def test_write_and_query_on_every_runtime(request: pytest.FixtureRequest, runtime: str) -> None:
    db = testctr.new(
        request, influxdb.IMAGE, influxdb.default(), influxdb.with_database("metrics"), testctr.with_runtime(runtime)
    )
    client = influxdb.client(db)
    try:
        assert {"name": "metrics"} in client.get_list_database()  # made by the image from INFLUXDB_DB
        assert client.write_points(POINTS)
        rows = list(client.query("SELECT mean(load) FROM cpu").get_points())
        assert rows == [{"time": "1970-01-01T00:00:00Z", "mean": 1.0}]
    finally:
        client.close()


def test_admin_and_user_from_the_image_variables(request: pytest.FixtureRequest) -> None:
    db = testctr.new(
        request,
        influxdb.IMAGE,
        influxdb.with_admin("root_user", "s3cret"),
        influxdb.with_database("app"),
        influxdb.with_user("writer", "w-pass"),
        influxdb.default(),
        testctr.with_runtime("docker"),
    )
    admin = influxdb.client(db)
    try:
        users = {u["user"]: u["admin"] for u in admin.get_list_users()}
        assert users == {"root_user": True, "writer": False}
    finally:
        admin.close()
    import influxdb as influx_client

    writer = influx_client.InfluxDBClient(db.host(), db.port(8086), "writer", "w-pass", "app")
    try:
        assert writer.write_points(POINTS[:1])
        assert len(list(writer.query("SELECT * FROM cpu").get_points())) == 1
    finally:
        writer.close()
    anonymous = influx_client.InfluxDBClient(db.host(), db.port(8086), database="app")
    try:
        with pytest.raises(InfluxDBClientError):
            anonymous.query("SELECT * FROM cpu")
    finally:
        anonymous.close()
