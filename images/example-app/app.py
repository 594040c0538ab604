"""A small HTTP app that reads from PostgreSQL and Redis: the service under test in examples/.

    DATABASE_URL=postgresql://USER:PASSWORD@db:5432/NAME  (libpq URI; table ``items(id, name)``)
    REDIS_URL=redis://cache:6379/0
    PORT=8000

GET /items   {"items": [{"id": 1, "name": "..."}, ...], "views": N}: the rows of
             ``items`` by id, and N, the Redis counter ``items:views`` after this
             request added one to it.
GET /health  200 {"status": "ok"} once both servers answer, else 503 with the error.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import redis

DATABASE_URL = os.environ["DATABASE_URL"]
REDIS_URL = os.environ["REDIS_URL"]
PORT = int(os.environ.get("PORT", "8000"))
VIEWS_KEY = "items:views"


def read_items() -> list[dict[str, object]]:
    # One connection per request: the app stays stateless, the database can restart under it.
    with psycopg2.connect(DATABASE_URL, connect_timeout=5) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, name FROM items ORDER BY id")
        rows = [{"id": row[0], "name": row[1]} for row in cur.fetchall()]
    conn.close()  # psycopg2's `with` ends the transaction, not the connection.
    return rows


def cache() -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=5)


def check_servers() -> None:
    conn = psycopg2.connect(DATABASE_URL, connect_timeout=5)
    conn.close()
    cache().ping()


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        try:
            if self.path == "/health":
                check_servers()
                self.reply(200, {"status": "ok"})
            elif self.path == "/items":
                self.reply(200, {"items": read_items(), "views": cache().incr(VIEWS_KEY)})
            else:
                self.reply(404, {"error": f"no route {self.path}"})
        except (psycopg2.Error, redis.RedisError) as exc:
            self.reply(503, {"status": "unavailable", "error": f"{type(exc).__name__}: {exc}".strip()})

    def reply(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    # As PID 1 the default SIGTERM action is ignored: without this, `docker stop` waits for its kill.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    print(f"example-app listening on port {PORT}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
