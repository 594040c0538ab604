"""The "apple" backend: drives Apple's ``container`` CLI (github.com/apple/container).

Each container is a lightweight Linux VM on macOS (Virtualization.framework).
What differs from Docker, and how this backend handles it:

* Publishing needs an explicit host port: the backend allocates a free
  loopback port for every ``with_port`` without one, publishes
  ``127.0.0.1:HOST:CTR``, and re-creates the container with fresh ports when
  another process took a port between allocation and bind.
* Every VM has its own IP (``192.168.64.x/24`` in inspect). With
  ``AppleConfig(direct_ip=True)`` nothing is published: ``Container.host()``
  is the VM's IP and ``Container.port(p)`` is ``p`` itself.
* Two JSON shapes: 1.x ``[{id, configuration, status: {state, networks,
  startedDate}}]`` (sorted keys, ISO dates) and 0.x ``[{status, configuration,
  networks, startedDate}]`` (``address`` before 0.8.0, dates as seconds since
  2001-01-01). The version comes from ``container --version``.
* No ``cp`` before 1.0.0: files go through ``exec`` with the image's
  ``/bin/sh``. Files for a container that has not started yet (``with_file``)
  need the VM running, so such a container starts behind a small shell gate
  that waits until the files are in place, then ``exec``\\ s the real
  entrypoint. Images without ``/bin/sh`` cannot receive files before start
  (a clear error says so).
* Inspect has no exit code: :attr:`ContainerState.exit_code` is None.
* ``logs -f`` is no line source (it splits lines at read boundaries and never
  ends): :class:`LogFollower` reads the log whole when ``logs -f`` signals
  that it grew, and ends when the container stops.
* ``logs`` takes only ``--boot``, ``-f`` and ``-n`` (0.1.0 to 1.2.2) and
  prints the process's lines without timestamps: nothing to cut by time, so
  no ``LogSince`` (a failed test's report shows a wider container's last lines).
* No commit, no HEALTHCHECKs, no privileged mode, whole CPUs only, and a
  VM's CPUs/memory cannot change while it runs: those raise
  :class:`testctr.UnsupportedOption` naming the option (the backend says why
  through ``unsupported_reason``).
* Errors are told apart by their text on stderr; the system service being
  down is :class:`testctr.EngineUnavailable` ("run `container system start`").

One module per job: ``config`` (AppleConfig), ``platform`` (where it runs,
which binary), ``version`` (every version gate), ``parsing`` (the JSON),
``ports``, ``arguments`` (the create command line, refused options),
``cli_errors`` (stderr texts to testctr errors), ``logs`` (following) and
``backend`` (AppleBackend).

Backend-specific extra: ``container.backend.boot_logs(container.id)`` returns
the VM's boot log (kernel and init, ``container logs --boot``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from testctr.backends.apple.config import AppleConfig
from testctr.backends.apple.platform import BIN_ENV, is_available, platform_supported

if TYPE_CHECKING:
    from testctr.backends.apple.backend import AppleBackend

__all__ = ["BIN_ENV", "AppleBackend", "AppleConfig", "is_available", "platform_supported"]


def __getattr__(name: str) -> object:
    # The backend is imported on first use: asking whether "apple" is available
    # (every test session does) needs only the platform checks.
    if name == "AppleBackend":
        from testctr.backends.apple.backend import AppleBackend

        return AppleBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
