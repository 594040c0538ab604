"""testctr's backend conformance suite: the contract, clause by clause.

A backend author points it at a registered backend name::

    pytest --pyargs testctr.conformance --testctr-backend NAME [--testctr-runtime R] [-n 2]

and gets pass/fail per contract clause, with a matrix (clause x backend) at the
end of the run. Each test is marked ``@pytest.mark.clause(NAME)`` with one of
:data:`CLAUSES`.

Images: the suite uses official names (``busybox``, ``redis:7-alpine``). Where
no registry is reachable, map them to local images with ``TESTCTR_IMAGE_MAP``
(``busybox=my.mirror/busybox:1.36,redis:7-alpine=...``); the suite leaves
image mapping to the environment. The UDP check needs a UDP listener in
``redis:7-alpine``: busybox ``nc -u`` (Alpine) or ``perl`` (Debian-based
stand-ins).

Set ``TESTCTR_CONFORMANCE_REPORT=path.json`` to also write the run's column of
the matrix as JSON; ``python -m testctr.conformance.matrix a.json b.json ...``
prints several runs side by side (``scripts/conformance`` does both).
``TESTCTR_CONFORMANCE_COLUMN`` names the column (default: backend/runtime).
Measurements a clause reports (the reaper's seconds from SIGKILL to gone) are
listed under the matrix.

The reaper clause starts a script in a subprocess on the same backend
(``TESTCTR_BACKEND``/``TESTCTR_RUNTIME`` set from this run, the rest of the
environment inherited) with ``TESTCTR_REAPER=true``, whatever this run says.

An option a backend cannot express must raise :class:`testctr.UnsupportedOption`;
the suite accepts that (and shows it in the matrix as ``ok*``), but never an
option that is silently ignored.

Exit codes: an engine that does not report them (Apple's ``container``) gives
``ContainerState.exit_code`` (and ``ContainerStartError.exit_code``) None,
"unknown". The suite accepts None for a container that is not running and
shows it as ``ok*`` ("exit code (not reported)"); any other value must be the
exact exit code, so a backend that reports codes is checked as strictly as
before, and one that invents a 0 fails. The same holds for
``ContainerInfo.created`` (Apple's ``container`` before 0.8.0 records no date):
None is "not reported" (ok*), anything else must be right.
"""

from __future__ import annotations

#: Contract clauses, in the order the matrix shows them, with what each checks.
CLAUSES: dict[str, str] = {
    "lifecycle": "create/start/stop/start again/remove, states and exit codes, unknown ids",
    "ports": "tcp and udp, several ports, port()/endpoint() reachable from the host",
    "exec": "exit codes, stdout/stderr, env, workdir, user, timeout, 1 MiB output",
    "logs": "stdout and stderr, waiting for a late line, streaming",
    "files": "path/bytes/str/reader, mode bits, missing parents, copy out",
    "inspect": "labels, internal IP, created time",
    "commit": "commit, then a container from the committed image",
    "resources": "memory and CPU limits observable inside (or UnsupportedOption)",
    "options": "every generic option works or raises UnsupportedOption",
    "concurrency": "10 containers created in parallel, distinct, all cleaned up",
    "networks": "create, peers by alias, isolation, internal has no way out, connect, removal",
    "reaper": "a SIGKILLed script's container and network removed by its watchdog within 10 s",
}
