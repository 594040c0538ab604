"""The ``testctr`` command: doctor, run, ls, clean."""

from __future__ import annotations

import argparse
import contextlib
import platform
import signal
import sys
import threading
import time
from collections.abc import Sequence

from testctr import settings as _settings
from testctr.backend import deadline
from testctr.backend.protocols import Backend, RuntimeSelectable
from testctr.errors import EngineUnavailable, TestctrError, tail

#: How long `testctr doctor` waits for any one engine; the probes run in parallel.
PROBE_BOUND = 5.0


class _Probes:
    """``version()`` of each backend, asked in parallel threads, each awaited at most PROBE_BOUND."""

    def __init__(self) -> None:
        self._started: dict[int, tuple[threading.Thread, float]] = {}
        self._answers: dict[int, tuple[bool, str]] = {}

    def start(self, backend: Backend) -> None:
        key = id(backend)
        if key in self._started:
            return

        started = time.monotonic()

        def ask() -> None:
            try:
                # The probe's engine calls end with its bound: the thread ends too.
                with deadline.until(started + PROBE_BOUND - deadline.GRACE):
                    self._answers[key] = (True, backend.version())
            except Exception as e:  # a doctor reports whatever breaks, not only testctr's errors
                self._answers[key] = (False, str(e) or type(e).__name__)

        # A daemon thread: an engine that hangs must not keep the command from exiting.
        thread = threading.Thread(target=ask, name="testctr-doctor-probe", daemon=True)
        self._started[key] = (thread, started)
        thread.start()

    def version(self, backend: Backend) -> str:
        """The backend's version, or EngineUnavailable saying why not (``auto.choose``'s probe)."""
        self.start(backend)
        thread, started = self._started[id(backend)]
        thread.join(max(0.0, started + PROBE_BOUND - time.monotonic()))
        ok, text = self._answers.get(id(backend), (False, f"no answer within {PROBE_BOUND:.0f} s"))
        if not ok:
            raise EngineUnavailable(text)
        return text


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    """A table row; the last cell may span lines (a fix) and its lines stay in its column."""
    lead = "  " + "".join(f"{cell:{width}} " for cell, width in zip(cells[:-1], widths, strict=True))
    return lead + cells[-1].replace("\n", "\n" + " " * len(lead))


def _doctor(args: argparse.Namespace) -> int:
    from testctr.backends import default_registry, requested_name
    from testctr.backends.auto import choose

    s = _settings.current()
    print(
        f"platform: {platform.system()} {platform.release()} {platform.machine()}, Python {platform.python_version()}"
    )
    chosen = requested_name()
    print(
        f"backend used by default: {chosen}"
        + (" (TESTCTR_BACKEND)" if s.backend else "")
        + (f", runtime {s.runtime}" if s.runtime else "")
    )
    probes = _Probes()
    # Every backend and candidate is built first and probed at once, so the
    # slowest engine bounds the wait, not their sum.
    backends: dict[str, Backend | str] = {}
    available = set(default_registry.names())
    for name in default_registry.all_names():
        if name == "auto":
            continue  # its candidates are shown below
        if name not in available:
            backends[name] = "not available on this platform"
            continue
        try:
            backend = default_registry.get(name)
            if s.runtime and isinstance(backend, RuntimeSelectable):
                backend = backend.for_runtime(s.runtime)
        except TestctrError as e:
            backends[name] = f"NOT usable: {e}"
            continue
        backends[name] = backend
        probes.start(backend)
    candidates = default_registry.auto_candidates()
    for candidate in candidates:
        if candidate.missing() is None:
            with contextlib.suppress(TestctrError):
                probes.start(candidate.backend())

    print(f"backends (each engine given {PROBE_BOUND:.0f} s to answer):")
    ok = True
    for name, found in backends.items():
        if isinstance(found, str):
            print(_row([name, found], [14]))
            ok = ok and name != chosen
            continue
        try:
            version = probes.version(found)
            print(_row([name, f"ok: {found.runtime} {version}, ports on {found.host()}"], [14]))
        except TestctrError as e:
            print(_row([name, f"NOT usable: {e}"], [14]))
            ok = ok and name != chosen

    print("auto's candidates (tried in this order; a pinned one is the only kind auto may use):")
    widths = [8, 14, 30]
    print(_row(["PRIORITY", "CANDIDATE", "PINNED BY", "STATE"], widths))
    for candidate in candidates:
        pin = candidate.pinned()
        missing = candidate.missing()
        if missing is None:
            try:
                state = "answers: " + probes.version(candidate.backend())
            except TestctrError as e:
                state = f"does not answer: {e}"
        else:
            state = missing
        pinned = pin.setting if pin is not None else "-"
        print(_row([str(candidate.priority), candidate.label, pinned, state], widths))
    choice = choose(default_registry, s.runtime, probes.version)
    print("auto chooses:" if chosen == "auto" else "auto would choose:")
    for line in choice.explain():
        print(f"  {line}")
    if chosen == "auto":
        ok = ok and choice.backend is not None
    if s.image_map:
        print("image map (TESTCTR_IMAGE_MAP; an entry no run has matched is a typo or stale):")
        print(_image_map_rows(s.image_map, time.time()))
    if s.image_prefix:
        print(f"image prefix: {s.image_prefix}")
    return 0 if ok else 1


def _image_map_rows(image_map: dict[str, str], now: float) -> str:
    """One row per map entry: when a run on this machine last matched it, or that none ever did."""
    from testctr.image_map import last_used

    rows = []
    width = max(len(f"{key}={target}") for key, target in image_map.items())
    for key, target in image_map.items():
        used = last_used(key)
        when = "NEVER matched by a run on this machine" if used is None else f"last matched {_age(now - used)} ago"
        rows.append(_row([f"{key}={target}", when], [width]))
    return "\n".join(rows)


def service_module(image: str) -> str | None:
    """The service module (``testctr.modules.<name>``) whose ``IMAGE`` is ``image``'s repository, if any.

    The modules' own ``IMAGE`` constants are the one table: ``postgres:15``,
    ``docker.io/library/postgres`` and ``postgres`` all find the postgres module.
    """
    import importlib

    from testctr import modules

    wanted = _repository(image)
    for name in modules.__all__:
        module = importlib.import_module(f"testctr.modules.{name}")
        known = getattr(module, "IMAGE", None)
        if isinstance(known, str) and callable(getattr(module, "default", None)) and _repository(known) == wanted:
            return name
    return None


def _repository(image: str) -> str:
    """``postgres`` for ``postgres:16``, ``docker.io/library/postgres@sha256:...`` and the like."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    for prefix in ("docker.io/library/", "index.docker.io/library/", "library/", "docker.io/"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _run(args: argparse.Namespace) -> int:
    import importlib

    import testctr

    opts: list[testctr.Option] = []
    service = service_module(args.image)
    module = importlib.import_module(f"testctr.modules.{service}") if service is not None else None
    if module is not None:
        # First: the user's flags below win over the module's defaults.
        opts.append(module.default())
    opts += [testctr.with_port(p) for p in args.port]
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
        print(
            f"started {c.name} ({c.image}) on {c.backend_name}/{c.runtime}, id {c.id[:12]}"
            + (f", with testctr.modules.{service}.default()" if service else "")
        )
        # endpoint() raises ContainerNotRunning for a container that has exited.
        for key in sorted(k for k, bindings in c.inspect().ports.items() if bindings):
            print(f"  {key} -> {c.endpoint(key)}")
        if module is not None and hasattr(module, "url"):
            # The server's own URL (its main database), what a user pastes into a client.
            print(f"  url: {module.url(c)}")
        state = c.inspect().state
        if not state.running:
            code = "" if state.exit_code is None else f" with exit code {state.exit_code}"
            raise TestctrError(f"{c.name} is not running: it exited{code}\nlast log lines:\n{tail(c.logs())}")
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


def _engines(args: argparse.Namespace) -> list[tuple[str, Backend]]:
    """The engines ``ls`` and ``clean`` look at: the one ``--backend``/``--runtime`` name, else every
    one testctr can reach (auto's candidates that answer within PROBE_BOUND, probed in parallel)."""
    from testctr.backends import default_registry, resolve

    if args.backend or args.runtime:
        resolved = resolve(args.backend, args.runtime)
        return [(f"{resolved.name}/{resolved.backend.runtime}", resolved.backend)]
    probes = _Probes()
    found: list[tuple[str, Backend]] = []
    for candidate in default_registry.auto_candidates():
        if candidate.missing() is None:
            with contextlib.suppress(TestctrError):
                backend = candidate.backend()
                probes.start(backend)
                found.append((candidate.label, backend))
    reachable = []
    for engine, backend in found:
        with contextlib.suppress(TestctrError):
            probes.version(backend)
            reachable.append((engine, backend))
    return reachable


def _ls(args: argparse.Namespace) -> int:
    from testctr import kept_databases
    from testctr.housekeeping import list_testctr_containers, list_testctr_networks

    s = _settings.current()
    widths = [40, 12, 14, 10, 6, 6, 8]
    print(_row(["NAME", "ENGINE", "PROJECT", "STATE", "AGE", "OWNER", "SHARING", "TEST"], widths))
    engines = _engines(args)
    for engine, backend in engines:
        for c in sorted(list_testctr_containers(s.label, backend), key=lambda r: -r.age):
            owner = "alive" if c.alive else "dead"
            cells = [c.name, engine, c.project, c.info.state.status, _age(c.age), owner, c.sharing, c.test]
            print(_row(cells, widths))
            databases = kept_databases.recorded(c.name)
            if databases:
                print(f"    databases kept: {databases}")
        for n in sorted(list_testctr_networks(s.label, backend), key=lambda r: -r.age):
            owner = "alive" if n.alive else "dead"
            print(_row([n.name, engine, n.project, "network", _age(n.age), owner, "-", n.test], widths))
    print(f"engines: {', '.join(engine for engine, _ in engines) or 'none answered'}")
    return 0


def _clean(args: argparse.Namespace) -> int:
    from testctr.housekeeping import find_leftover_networks, find_leftovers, find_reused, remove, remove_networks

    s = _settings.current()
    verb = "would remove" if args.dry_run else "removed"
    if args.reused:
        count = 0
        for engine, backend in _engines(args):
            reused = find_reused(s.label, backend)
            for c in reused if args.dry_run else ():
                print(f"would remove reused container {c.name} ({engine})")
            count += len(reused) if args.dry_run else remove(reused, backend)
        print(f"{verb} {count} reused container(s)")
        return 0
    containers = networks = 0
    for engine, backend in _engines(args):
        leftovers = find_leftovers(s.label, args.older_than, all_projects=args.all_projects, backend=backend)
        if args.dry_run:
            for c in leftovers:
                print(f"would remove container {c.name} ({engine}, project {c.project}, test {c.test})")
            containers += len(leftovers)
        else:
            containers += remove(leftovers, backend)
        # After the containers: a network in use cannot be removed. A dry run
        # lists those whose containers it would remove too.
        dead_networks = find_leftover_networks(
            s.label, args.older_than, all_projects=args.all_projects, backend=backend
        )
        if args.dry_run:
            for n in dead_networks:
                print(f"would remove network {n.name} ({engine}, project {n.project}, test {n.test})")
            networks += len(dead_networks)
        else:
            networks += remove_networks(dead_networks, backend)
    whose = "every project's" if args.all_projects else "this project's"
    print(f"{verb} {containers} container(s) and {networks} network(s) of {whose} dead sessions")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from testctr.parsing import parse_duration

    parser = argparse.ArgumentParser(prog="testctr", description="Throwaway containers for tests.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("doctor", help="show runtimes, backends, and whether they work here")
    run = sub.add_parser("run", help="start a container as the library would; remove it on Ctrl-C")
    run.add_argument("image")
    # As in `docker run`: everything after the image is the command, its own flags included.
    run.add_argument("command", nargs=argparse.REMAINDER, help="replace the image's command")
    run.add_argument("--port", "-p", action="append", default=[], help="publish a port (repeatable)")
    run.add_argument("--env", "-e", action="append", default=[], help="KEY=VALUE (repeatable)")
    run.add_argument("--wait-log", help="wait for a log line containing this text")
    run.add_argument("--backend", help="backend name")
    run.add_argument("--once", action="store_true", help="remove the container right after it is ready")
    ls = sub.add_parser(
        "ls", help="list testctr containers and networks of every engine: project, age, whether their owner is alive"
    )
    clean = sub.add_parser(
        "clean", help="remove this project's containers and networks whose owning process is no longer alive"
    )
    clean.add_argument("--older-than", type=parse_duration, default=0.0, help="only those older (e.g. 5m)")
    clean.add_argument("--all-projects", action="store_true", help="every project's, not only this one's")
    clean.add_argument("--dry-run", action="store_true", help="print what would be removed; remove nothing")
    for command in (ls, clean):
        command.add_argument("--backend", help="only this backend's engine (default: every engine that answers)")
        command.add_argument("--runtime", help="only this runtime (docker, podman, ...)")
    clean.add_argument("--reused", action="store_true", help="remove the containers with_reuse() keeps instead")
    args = parser.parse_args(argv)
    handler = {"doctor": _doctor, "run": _run, "ls": _ls, "clean": _clean}[args.cmd]
    try:
        return handler(args)
    except TestctrError as e:
        print(f"testctr: {e}", file=sys.stderr)
        return 1
