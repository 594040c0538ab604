"""The WebDriver endpoint of selenium/standalone-chrome, served by chromedriver.

chromedriver answers at one URL prefix; the official image answers at ``/``
and at ``/wd/hub``. This process starts chromedriver on 127.0.0.1:4445 and
forwards requests from 0.0.0.0:4444 with the ``/wd/hub`` prefix removed. It
logs "Started Selenium Standalone" once chromedriver's /status says ready.

The official image gives Chrome an Xvfb display; here each new session gets
Chrome's headless mode instead, no sandbox (a container without extra
privileges cannot set one up) and no traffic of its own, added to the flags
the client asks for (a flag the client sets itself is left as it is).
"""

import http.client
import http.server
import json
import os
import signal
import subprocess
import sys
import time

DRIVER_PORT = 4445
PREFIX = "/wd/hub"
CHROME_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    f"--window-size={os.environ.get('SE_SCREEN_WIDTH', '1920')},{os.environ.get('SE_SCREEN_HEIGHT', '1080')}",
]


def with_chrome_flags(body: bytes) -> bytes:
    """A new-session request with CHROME_FLAGS added to each set of Chrome options."""
    try:
        request = json.loads(body)
        capabilities = request["capabilities"]
    except (ValueError, KeyError, TypeError):
        return body  # chromedriver answers a malformed request itself
    sets = [c for c in capabilities.get("firstMatch", []) if "goog:chromeOptions" in c]
    if not sets:
        sets = [capabilities.setdefault("alwaysMatch", {})]
    for caps in sets:
        options = caps.setdefault("goog:chromeOptions", {})
        args = options.setdefault("args", [])
        given = {arg.split("=", 1)[0] for arg in args}
        args += [flag for flag in CHROME_FLAGS if flag.split("=", 1)[0] not in given]
    return json.dumps(request).encode()


class Forward(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def forward(self) -> None:
        path = self.path
        if path == PREFIX or path.startswith(PREFIX + "/"):
            path = path[len(PREFIX):] or "/"
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.command == "POST" and path.rstrip("/") == "/session":
            body = with_chrome_flags(body)
        # Page loads and script runs may take long; the client sets its own limits.
        conn = http.client.HTTPConnection("127.0.0.1", DRIVER_PORT, timeout=600)
        try:
            headers = {"Content-Type": self.headers.get("Content-Type", "application/json")}
            conn.request(self.command, path, body=body or None, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
        finally:
            conn.close()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.getheader("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = forward

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per WebDriver command would drown the container's log


def driver_version() -> str | None:
    """chromedriver's version once it is ready for sessions, else None."""
    conn = http.client.HTTPConnection("127.0.0.1", DRIVER_PORT, timeout=1)
    try:
        conn.request("GET", "/status")
        status = json.loads(conn.getresponse().read())["value"]
    except (OSError, ValueError, KeyError):
        return None
    finally:
        conn.close()
    return f"ChromeDriver {status['build']['version']}" if status.get("ready") else None


def main() -> None:
    driver = subprocess.Popen(
        ["chromedriver", f"--port={DRIVER_PORT}", "--allowed-ips=127.0.0.1", "--log-level=WARNING"]
    )

    def stop(signum: int, frame: object) -> None:
        driver.terminate()
        driver.wait()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while (version := driver_version()) is None:
        if driver.poll() is not None:
            sys.exit(f"chromedriver exited with status {driver.returncode}")
        time.sleep(0.02)
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 4444), Forward)
    print(f"Started Selenium Standalone ({version}): http://{os.uname().nodename}:4444", flush=True)
    server.serve_forever()


main()
