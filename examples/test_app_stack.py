"""An app, its database and its cache, tested from the outside through the app's HTTP API.

The app (images/example-app/app.py) reads rows from PostgreSQL and a counter from
Redis, which it finds by the names ``db`` and ``cache``: the addresses it would
use in production are the ones it uses here. The tests seed both servers from
the host through their published ports, then call the app through its own.

The stack is built two ways, and every test runs against each (one stack at a time):
- ``on_a_network``: a network and three containers on it, with aliases;
- ``from_compose``: the Compose file app-stack.compose.yml, brought up by the engine's Compose.

    pytest examples/test_app_stack.py
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis as redis_client

import testctr
from testctr.modules import postgres, redis

#: Your app's image. This one is built by scripts/provision from images/example-app/.
APP_IMAGE = "testctr.local/example-app:1"
COMPOSE_FILE = Path(__file__).with_name("app-stack.compose.yml")


@dataclass
class Stack:
    app: testctr.Container
    db: testctr.Container
    cache: testctr.Container


def on_a_network(request: pytest.FixtureRequest) -> Stack:
    # Made before the containers that join it, so it is removed after them.
    net = testctr.network(request)
    # postgres.default(): user, password and database "test", port 5432 published, a readiness wait.
    db = testctr.new(request, postgres.IMAGE, postgres.default(), testctr.with_network(net, aliases=["db"]))
    cache = testctr.new(request, redis.IMAGE, redis.default(), testctr.with_network(net, aliases=["cache"]))
    app = testctr.new(
        request,
        APP_IMAGE,
        testctr.with_network(net, aliases=["app"]),
        # Container to container: the aliases and the servers' own ports, not the host's.
        testctr.with_env("DATABASE_URL", "postgresql://test:test@db:5432/test"),
        testctr.with_env("REDIS_URL", "redis://cache:6379/0"),
        testctr.with_port("8000"),
        # /health answers 200 once the app reaches both servers.
        testctr.with_wait_for_http("/health", 8000),
    )
    return Stack(app, db, cache)


def from_compose(request: pytest.FixtureRequest) -> Stack:
    # Only the app needs a wait: its /health answers once both servers take connections.
    project = testctr.compose(request, COMPOSE_FILE, waits={"app": testctr.with_wait_for_http("/health", 8000)})
    return Stack(project.service("app"), project.service("db"), project.service("cache"))


@pytest.fixture(scope="module", params=[on_a_network, from_compose], ids=["network", "compose"])
def stack(request: pytest.FixtureRequest) -> Stack:
    # Everything the builder starts belongs to this fixture: removed before the next one builds.
    built: Stack = request.param(request)
    return built


@pytest.fixture
def sql(stack: Stack) -> Iterator[psycopg.Connection[Any]]:
    """The app's database from the host, emptied for each test."""
    with psycopg.connect(f"postgresql://test:test@{stack.db.endpoint(5432)}/test", autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS items (id integer PRIMARY KEY, name text NOT NULL)")
        conn.execute("TRUNCATE items")
        yield conn


@pytest.fixture
def kv(stack: Stack) -> Iterator[redis_client.Redis]:
    """The app's Redis database from the host, emptied for each test."""
    client = redis_client.Redis.from_url(f"redis://{stack.cache.endpoint(6379)}/0")
    client.flushdb()
    yield client
    client.close()


def get_json(stack: Stack, path: str) -> Any:
    with urllib.request.urlopen(f"http://{stack.app.endpoint(8000)}{path}", timeout=10) as response:
        assert response.headers["Content-Type"] == "application/json"
        return json.load(response)


def test_items_come_from_postgres(stack: Stack, sql: psycopg.Connection[Any]) -> None:
    sql.execute("INSERT INTO items (id, name) VALUES (2, 'pear'), (1, 'apple')")

    body = get_json(stack, "/items")

    assert body["items"] == [{"id": 1, "name": "apple"}, {"id": 2, "name": "pear"}]


def test_views_are_counted_in_redis(stack: Stack, kv: redis_client.Redis) -> None:
    kv.set("items:views", 41)

    assert get_json(stack, "/items")["views"] == 42
    assert get_json(stack, "/items")["views"] == 43
    assert kv.get("items:views") == b"43"


def test_health(stack: Stack) -> None:
    assert get_json(stack, "/health") == {"status": "ok"}
