"""The ``testctr`` command: doctor, run, ls, clean."""

from __future__ import annotations

import argparse
import contextlib
import platform
import shutil
import signal
import sys
import threading
from collections.abc import Sequence

from testctr import settings as _settings
from testctr.errors import TestctrError


def _doctor(args: argparse.Namespace) -> int:
    from testctr.backend import RuntimeSelectable, registry
    from testctr.backends.cli import RUNTIMES
    from testctr.container import DEFAULT_BACKEND

    s = _settings.current()
    print(
        f"platform: {platform.system()} {platform.release()} {platform.machine()}, Python {platform.python_version()}"
    )
    print("runtimes on PATH:")
    for name in RUNTIMES:
        print(f"  {name:8} {shutil.which(name) or '-'}")
    chosen = s.backend or DEFAULT_BACKEND
    print(
        f"backend used by default: {chosen}"
        + (" (TESTCTR_BACKEND)" if s.backend else "")
        + (f", runtime {s.runtime}" if s.runtime else "")
    )
    print("backends:")
    ok = True
    available = set(registry.names())
    for name in registry.default_registry.all_names():
        if name not in available:
            print(f"  {name:14} not available on this platform")
            continue
        try:
            backend = registry.get(name)
            if s.runtime and isinstance(backend, RuntimeSelectable):
                backend = backend.for_runtime(s.runtime)
            version = backend.version()
            print(f"  {name:14} ok: {backend.runtime} {version}, ports on {backend.host()}")
        except TestctrError as e:
            print(f"  {name:14} NOT usable: {e}")
            ok = ok and name != chosen
    if chosen == "auto":
        from testctr.backends.auto import current_choice

        print("auto chooses (apple if its service runs, else the first CLI engine that answers):")
        for line in current_choice(registry.default_registry).explain():
            print(f"  {line}")
    if s.image_map:
        print("image map: " + ", ".join(f"{k}={v}" for k, v in s.image_map.items()))
    if s.image_prefix:
        print(f"image prefix: {s.image_prefix}")
    return 0 if ok else 1


def _run(args: argparse.Namespace) -> int:
    import testctr

    opts = [testctr.with_port(p) for p in args.port]
    for item in args.env:
        key, sep, value = item.partition("=")
        if not sep:
            raise TestctrError(f"--env {item!r}: expected KEY=VALUE")
        opts.append(testctr.with_env(key, value))
    if args.wait_log:
        opts.append(testctr.with_wait_for_log(args.wait_log))
    if args.backend:
        opts.append(testctr.with_backend(args.backend))
    if args.command:
        opts.append(testctr.with_command(*args.command))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with testctr.run(args.image, *opts) as c:
        print(f"started {c.name} ({c.image}) on {c.backend_name}/{c.runtime}, id {c.id[:12]}")
        for spec in args.port:
            print(f"  {spec} -> {c.endpoint(spec)}")
        if args.once:
            return 0
        print("press Ctrl-C to stop and remove it", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        print(f"removing {c.name}")
    return 0


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _ls(args: argparse.Namespace) -> int:
    from testctr.housekeeping import list_testctr_containers, list_testctr_networks

    s = _settings.current()
    rows = list_testctr_containers(s.label)
    networks = list_testctr_networks(s.label)
    if not rows and not networks:
        print("no testctr containers")
        return 0
    print(f"{'NAME':40} {'STATE':10} {'AGE':>6} {'SESSION':8} TEST")
    for c in sorted(rows, key=lambda r: -r.age):
        print(f"{c.name:40} {c.info.state.status:10} {_age(c.age):>6} {'alive' if c.alive else 'dead':8} {c.test}")
    for n in sorted(networks, key=lambda r: -r.age):
        print(f"{n.name:40} {'network':10} {_age(n.age):>6} {'alive' if n.alive else 'dead':8} {n.test}")
    return 0


def _clean(args: argparse.Namespace) -> int:
    from testctr.housekeeping import find_leftover_networks, find_leftovers, remove, remove_networks

    s = _settings.current()
    leftovers = find_leftovers(s.label, args.older_than)
    count = remove(leftovers)
    # After the containers: a network in use cannot be removed.
    networks = remove_networks(find_leftover_networks(s.label, args.older_than))
    print(f"removed {count} container(s) and {networks} network(s) of dead sessions")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from testctr.parsing import parse_duration

    parser = argparse.ArgumentParser(prog="testctr", description="Throwaway containers for tests.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("doctor", help="show runtimes, backends, and whether they work here")
    run = sub.add_parser("run", help="start a container as the library would; remove it on Ctrl-C")
    run.add_argument("image")
    run.add_argument("command", nargs="*", help="replace the image's command")
    run.add_argument("--port", "-p", action="append", default=[], help="publish a port (repeatable)")
    run.add_argument("--env", "-e", action="append", default=[], help="KEY=VALUE (repeatable)")
    run.add_argument("--wait-log", help="wait for a log line containing this text")
    run.add_argument("--backend", help="backend name")
    run.add_argument("--once", action="store_true", help="remove the container right after it is ready")
    sub.add_parser("ls", help="list testctr containers and networks: test, age, whether their session is alive")
    clean = sub.add_parser("clean", help="remove containers and networks of sessions that are no longer alive")
    clean.add_argument("--older-than", type=parse_duration, default=0.0, help="only those older (e.g. 5m)")
    args = parser.parse_args(argv)
    handler = {"doctor": _doctor, "run": _run, "ls": _ls, "clean": _clean}[args.cmd]
    try:
        return handler(args)
    except TestctrError as e:
        print(f"testctr: {e}", file=sys.stderr)
        return 1
