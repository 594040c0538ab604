"""etcd module against the real etcd image, through etcd's v3 JSON gateway with urllib: put, get, watch.

The ``etcd3`` client is not used: its last release (0.12) ships protobuf code
generated for protobuf 3, which current protobuf refuses to load.
"""

from __future__ import annotations

import base64
import http.client
import json
import urllib.parse
import urllib.request
from typing import Any

import pytest

import testctr
from testctr.modules import etcd

pytestmark = pytest.mark.engine


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def call(base: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_put_get_watch_on_every_runtime(request: pytest.FixtureRequest, runtime: str) -> None:
    e = testctr.new(request, etcd.IMAGE, etcd.default(), testctr.with_runtime(runtime))
    base = etcd.url(e)
    call(base, "/v3/kv/put", {"key": b64("config/mode"), "value": b64("blue")})
    got = call(base, "/v3/kv/range", {"key": b64("config/mode")})
    assert [base64.b64decode(kv["value"]) for kv in got["kvs"]] == [b"blue"]

    # A watch is a stream of JSON objects, one per line: "created", then events.
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("POST", "/v3/watch", json.dumps({"create_request": {"key": b64("config/mode")}}))
        stream = conn.getresponse()
        assert json.loads(stream.readline())["result"]["created"] is True
        call(base, "/v3/kv/put", {"key": b64("config/mode"), "value": b64("green")})
        event = json.loads(stream.readline())["result"]["events"][0]
        assert base64.b64decode(event["kv"]["value"]) == b"green"
    finally:
        conn.close()


def test_config_reaches_etcd(request: pytest.FixtureRequest) -> None:
    e = testctr.new(
        request, etcd.IMAGE, etcd.with_config({"name": "node-a"}), etcd.default(), testctr.with_runtime("docker")
    )
    members = call(etcd.url(e), "/v3/cluster/member/list", {})["members"]
    assert [m["name"] for m in members] == ["node-a"]
