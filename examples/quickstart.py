"""The main job, end to end: a real redis container through testctr.

    scripts/demo        (provisions the engine and images first)
    python examples/quickstart.py

Starts redis, waits for its readiness line, talks to it over its published
port and through exec, prints what happened, and removes it.
"""

from __future__ import annotations

import socket
import time

import testctr


def main() -> None:
    started = time.perf_counter()
    with testctr.run(
        "redis:7-alpine",
        testctr.with_port("6379"),
        testctr.with_wait_for_log("Ready to accept connections"),
    ) as redis:
        ready = time.perf_counter() - started
        print(f"started {redis.image} as {redis.name} on {redis.backend_name}/{redis.runtime} in {ready:.2f}s")
        print(f"endpoint: {redis.endpoint('6379')}   internal IP: {redis.internal_ip()}")
        with socket.create_connection((redis.host(), redis.port("6379")), timeout=5) as conn:
            conn.sendall(b"SET greeting hello-from-testctr\r\nGET greeting\r\n")
            time.sleep(0.05)
            print("over TCP:", conn.recv(256).decode().split())
        print("via exec: redis-cli PING ->", redis.exec_simple("redis-cli", "PING"))
        print("via exec: GET greeting ->", redis.exec_simple("redis-cli", "GET", "greeting"))
    print(f"removed {redis.name}; total {time.perf_counter() - started:.2f}s")


if __name__ == "__main__":
    main()
