"""A reaper that needs no image: a watchdog process per process that starts containers.

Ryuk-style reapers run a privileged container that holds the daemon socket;
that fails on Podman, rootless engines and air-gapped CI. Here the first
container a process starts spawns ``python -m testctr.reaper`` (plain Python,
its own session so signals sent to our process group miss it, nothing
inherited but a pipe). Before each create we write the container's name to
the pipe, after each removal (or keep) we release it. However this process
ends (SIGKILL, the OOM killer, ``os._exit``, a crash), the kernel closes the
pipe and the watchdog removes what is still watched. ``TESTCTR_REAPER=false``
or ``--testctr-reaper=false`` turns it off.

A forked child (``multiprocessing`` with fork) closes its inherited copy of
the pipe and starts a watchdog of its own with its first container; the
watchdog also polls its parent's pid, for forks made without Python's fork
hooks.
"""

from __future__ import annotations

import os
import sys
import threading

from testctr.reaper import outlive, protocol, sigterm

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing
if TYPE_CHECKING:
    import subprocess

# The watchdog imports this package too, while the parent's first create runs:
# what only the parent uses (settings, subprocess) is imported where it is used,
# at no cost there, as the parent has it already.

#: ``python -m testctr.reaper``, without the imports of runpy (``-m``): a tenth or so
#: of the CPU time the watchdog's boot takes beside the first create.
_MAIN = "import sys; from testctr.reaper.__main__ import main; sys.exit(main(sys.argv[1:]))"

#: The watchdogs' nice value. They boot beside the engine's first create, on the same
#: CPUs, and have nothing to do until their owner is gone: at 10 a busy process
#: keeps some nine tenths of a CPU it shares with one, and a watchdog reaping on a
#: busy machine still gets a tenth, enough for its part (the engine does the rest).
NICE = 10

_lock = threading.Lock()
_started = False
_pipe: int | None = None
_watchdog: subprocess.Popen[bytes] | None = None


def watch(backend: str, runtime: str, ref: str, kind: str = protocol.CONTAINER) -> None:
    """Have ``ref`` removed if this process dies before :func:`release`. Call it before the create."""
    _send(protocol.Event(protocol.WATCH, kind, backend, runtime, ref), first_use=True)


def prepare() -> None:
    """Start the watchdog ahead of the first :func:`watch`, while this process still has work of its own.

    Called as a start begins (before the backend is chosen, which imports and
    probes the engine on a first start): the watchdog's boot, some 30 ms of
    CPU, then runs beside that work instead of beside the engine's create.
    """
    with _lock:
        _start_once()


def release(backend: str, runtime: str, ref: str, kind: str = protocol.CONTAINER) -> None:
    """``ref`` is removed or kept on purpose: the watchdog must leave it alone."""
    _send(protocol.Event(protocol.RELEASE, kind, backend, runtime, ref), first_use=False)


def remove_when_gone(owner_pid: int, owner_start: str, backend: str, runtime: str, ref: str) -> None:
    """Have ``ref`` removed once the process ``owner_pid`` ends (an xdist run's controller),
    whatever happens to this one (a worker)."""
    import subprocess

    from testctr import settings

    if not settings.current().reaper:
        return
    try:
        watchdog = subprocess.Popen(
            command(*outlive.argv(owner_pid, owner_start, backend, runtime, ref)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            start_new_session=True,
        )
        _lower_priority(watchdog.pid)
    except OSError as e:
        print(f"testctr: no reaper for {ref} ({e}); it may be left behind if the run is killed", file=sys.stderr)


def command(*args: str) -> list[str]:
    """The command line of ``python -m testctr.reaper ARGS``, as this process starts it."""
    return [sys.executable, "-c", _MAIN, *args]


def watchdog_pid() -> int | None:
    """The pid of this process's watchdog, if one was started."""
    return None if _watchdog is None else _watchdog.pid


def _send(event: protocol.Event, first_use: bool) -> None:
    with _lock:
        if first_use:
            _start_once()
        if _pipe is None:
            return
        try:
            os.write(_pipe, protocol.encode(event))
        except OSError as e:
            _close()
            print(f"testctr: the reaper is gone ({e}); containers of a killed run may be left behind", file=sys.stderr)


def _start_once() -> None:
    """The SIGTERM handler and the watchdog, at this process's first use of the reaper; under ``_lock``."""
    global _started
    if _started:
        return
    _started = True
    sigterm.install()
    from testctr import settings

    if settings.current().reaper:
        _spawn()


def _spawn() -> None:
    import subprocess

    global _pipe, _watchdog
    read_end, write_end = os.pipe()
    try:
        # Popen returns once the exec succeeded, without waiting for the child's Python to boot.
        _watchdog = subprocess.Popen(
            command(str(os.getpid())),
            stdin=read_end,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",  # `-c` puts the working directory on sys.path: a stray json.py there must not matter
            start_new_session=True,
        )
    except OSError as e:
        os.close(write_end)
        print(f"testctr: no reaper ({e}); containers of a killed run may be left behind", file=sys.stderr)
        return
    finally:
        os.close(read_end)
    _lower_priority(_watchdog.pid)
    _pipe = write_end


def _lower_priority(pid: int) -> None:
    """Set a watchdog's nice value to NICE, unless this process runs at a lower priority already.

    Set from here once the exec is done: a ``preexec_fn`` would take Popen off its fast path (vfork).
    """
    try:
        os.setpriority(os.PRIO_PROCESS, pid, max(NICE, os.getpriority(os.PRIO_PROCESS, 0)))
    except OSError:
        return  # it has already ended, or the system refuses: the watchdog works the same, at our priority


def _close() -> None:
    global _pipe
    if _pipe is not None:
        os.close(_pipe)
        _pipe = None


def _after_fork_in_child() -> None:
    # The parent's watchdog guards the parent's containers; keeping its pipe
    # open here would delay the parent's cleanup until this child ends.
    global _lock, _started, _watchdog
    _lock = threading.Lock()
    _close()
    _started = False
    _watchdog = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
