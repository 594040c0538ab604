"""postgis module against the real PostGIS image, with psycopg: the extension, a spatial query, per-test databases."""

from __future__ import annotations

import psycopg
import pytest

import testctr
from testctr.modules import postgis

pytestmark = pytest.mark.engine

DISTANCE = "SELECT round(ST_Distance('POINT(0 0)'::geometry, 'POINT(3 4)'::geometry)::numeric, 1)"


def test_spatial_query_in_a_per_test_database(request: pytest.FixtureRequest) -> None:
    db = testctr.new(request, postgis.IMAGE, postgis.default(), testctr.with_runtime("docker"))
    with psycopg.connect(db.dsn(request), autocommit=True) as conn:
        # Cloned from template_postgis: the extension is already there.
        assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'postgis'").fetchone() == ("postgis",)
        conn.execute("CREATE TABLE places (name text, geom geometry(Point, 4326))")
        conn.execute(
            "INSERT INTO places VALUES ('a', ST_SetSRID(ST_MakePoint(0, 0), 4326)), "
            "('b', ST_SetSRID(ST_MakePoint(10, 10), 4326))"
        )
        near = conn.execute(
            "SELECT name FROM places WHERE ST_DWithin(geom, ST_SetSRID(ST_MakePoint(1, 1), 4326), 2)"
        ).fetchall()
        assert near == [("a",)]
        assert conn.execute(DISTANCE).fetchone() is not None


def test_create_extension_in_a_plain_database_and_template_on_top(request: pytest.FixtureRequest) -> None:
    db = testctr.new(
        request,
        postgis.IMAGE,
        postgis.with_template("CREATE TABLE roads (id int, path geometry(LineString))"),
        postgis.default(),
        postgis.with_password("pw"),
        testctr.with_runtime("docker"),
    )
    with psycopg.connect(db.dsn(request), autocommit=True) as conn:
        # The template was built on template_postgis, so its PostGIS column type exists.
        conn.execute("INSERT INTO roads VALUES (1, 'LINESTRING(0 0, 3 4)')")
        assert conn.execute("SELECT ST_Length(path) FROM roads").fetchone() == (5.0,)
    plain = f"postgresql://test:pw@{db.endpoint(5432)}/postgres"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS plain")
        conn.execute("CREATE DATABASE plain TEMPLATE template0")
    with psycopg.connect(f"postgresql://test:pw@{db.endpoint(5432)}/plain", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")
        assert conn.execute(DISTANCE).fetchone() == (5.0,)
