"""Service modules started with default() and checked with each service's usual Python client."""

from __future__ import annotations

import asyncio
import threading

import nats as nats_client
import paho.mqtt.client as mqtt
import pika
import psycopg
import pymemcache.client.base
import pytest
import redis as redis_py

import testctr
from testctr.modules import memcached, mosquitto, nats, postgres, rabbitmq, redis

pytestmark = pytest.mark.engine


def test_memcached_on_every_runtime(request: pytest.FixtureRequest, runtime: str) -> None:
    mc = testctr.new(
        request, memcached.IMAGE, memcached.default(), memcached.with_memory(16), testctr.with_runtime(runtime)
    )
    client = pymemcache.client.base.Client(mc.endpoint(11211), connect_timeout=5, timeout=5)
    client.set("greeting", b"hello")
    assert client.get("greeting") == b"hello"
    assert client.stats()[b"limit_maxbytes"] == 16 * 1024 * 1024
    client.close()


def test_redis_with_password_on_every_runtime(request: pytest.FixtureRequest, runtime: str) -> None:
    r = testctr.new(request, redis.IMAGE, redis.with_password("pw"), redis.default(), testctr.with_runtime(runtime))
    client = redis_py.Redis.from_url(r.dsn(request))
    client.set("k", "v")
    assert client.get("k") == b"v"
    client.close()
    with pytest.raises(redis_py.AuthenticationError):
        redis_py.Redis(host=r.host(), port=r.port(6379)).ping()


def test_postgres_on_podman(request: pytest.FixtureRequest) -> None:
    pg = testctr.new(request, postgres.IMAGE, postgres.default(), postgres.with_config({"max_connections": 42}),
                     testctr.with_runtime("podman"))  # fmt: skip
    with psycopg.connect(pg.dsn(request)) as conn:
        assert conn.execute("SHOW max_connections").fetchone() == ("42",)
        assert conn.execute("SHOW fsync").fetchone() == ("off",)


def test_rabbitmq_amqp_round_trip(request: pytest.FixtureRequest) -> None:
    mq = testctr.new(
        request,
        rabbitmq.IMAGE,
        rabbitmq.default(),
        rabbitmq.with_user("app", "s3cret"),
        rabbitmq.with_vhost("tests"),
        testctr.with_runtime("docker"),
    )
    params = pika.URLParameters(f"amqp://app:s3cret@{mq.endpoint(5672)}/tests")
    conn = pika.BlockingConnection(params)
    channel = conn.channel()
    channel.queue_declare("jobs")
    channel.basic_publish(exchange="", routing_key="jobs", body=b"job-1")
    method, _, body = channel.basic_get("jobs", auto_ack=True)
    assert method is not None and body == b"job-1"
    conn.close()
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        pika.BlockingConnection(pika.URLParameters(f"amqp://guest:guest@{mq.endpoint(5672)}/tests"))


def test_nats_publish_subscribe_with_auth(request: pytest.FixtureRequest) -> None:
    n = testctr.new(request, nats.IMAGE, nats.default(), nats.with_auth("u", "p"), testctr.with_runtime("docker"))

    async def round_trip() -> bytes:
        nc = await nats_client.connect(f"nats://u:p@{n.endpoint(4222)}", connect_timeout=5, max_reconnect_attempts=0)
        sub = await nc.subscribe("greet")
        await nc.publish("greet", b"hi")
        msg = await sub.next_msg(timeout=5)
        await nc.close()
        return msg.data

    assert asyncio.run(round_trip()) == b"hi"

    async def anonymous() -> None:
        await nats_client.connect(
            f"nats://{n.endpoint(4222)}", connect_timeout=5, max_reconnect_attempts=0, allow_reconnect=False
        )

    with pytest.raises(Exception, match=r"(?i)authorization"):
        asyncio.run(anonymous())


def test_mosquitto_mqtt_publish_subscribe(request: pytest.FixtureRequest) -> None:
    mq = testctr.new(
        request,
        mosquitto.IMAGE,
        mosquitto.with_config({"max_keepalive": 120}),
        mosquitto.default(),
        testctr.with_runtime("docker"),
    )
    got: list[bytes] = []
    subscribed, received = threading.Event(), threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_subscribe = lambda *_: subscribed.set()

    def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        got.append(msg.payload)
        received.set()

    client.on_message = on_message
    client.connect(mq.host(), mq.port(1883), keepalive=30)
    client.loop_start()
    try:
        client.subscribe("sensors/1", qos=1)
        assert subscribed.wait(10)
        client.publish("sensors/1", b"21.5", qos=1).wait_for_publish(10)
        assert received.wait(10)
    finally:
        client.loop_stop()
        client.disconnect()
    assert got == [b"21.5"]
