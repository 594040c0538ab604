"""User-defined networks for a test: containers on one reach each other by name and alias.

net = testctr.network(request)
db = testctr.new(request, "postgres:16", testctr.with_network(net, aliases=["db"]))
app = testctr.new(request, "my-app", testctr.with_network(net), testctr.with_env("DB_HOST", "db"))

A network belongs to its test like a container does and is removed when the
test ends, after the test's containers: pytest finalizers and unittest
cleanups run last-registered first, and a network is made before the
containers that join it. In scripts, ``with testctr.network_run() as net:``.
The reaper watches it from before its creation until its removal (or keep), as
it does containers: a killed run's networks go too, after its containers.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from testctr import settings as _settings
from testctr.backend.protocols import Backend, NetworkManager, unsupported_reason
from testctr.errors import InvalidOption, NetworkNotFound, TestctrError, UnsupportedOption
from testctr.labels import owner_labels
from testctr.owners import Owner, ScriptOwner, owner_for, script_name
from testctr.parsing import container_name, network_name
from testctr.reaper import protocol as _reaper_protocol
from testctr.reaper import release, watch


def name_of(network: Network | str) -> str:
    """The name a :class:`Network` or a network name stands for, checked."""
    return network_name(network if isinstance(network, str) else getattr(network, "name", network))


class Network:
    """A network made by :func:`network` or :func:`network_run`; pass it to :func:`testctr.with_network`."""

    def __init__(self, backend: NetworkManager, backend_name: str, runtime: str, network_id: str, name: str) -> None:
        self.backend = backend
        self.backend_name = backend_name
        self.runtime = runtime
        self.id = network_id
        self.name = name
        self._removed = False

    def __repr__(self) -> str:
        return f"<testctr.Network {self.name} ({self.backend_name})>"

    def remove(self) -> None:
        """Remove the network now (its containers first); the test's cleanup is then a no-op."""
        if self._removed:
            return
        with contextlib.suppress(NetworkNotFound):
            # By name: Podman 4 removes a network named by its id even while containers use it.
            self.backend.remove_network(self.name)
        self._removed = True
        _release(self.backend_name, self.runtime, self.name)

    def _cleanup(self, owner: Owner) -> None:
        owner.ended(self)
        if self._removed:
            return
        keep_failed = _settings.current().keep_failed
        # Kept by the rule that keeps containers: a test that used it failed. The
        # containers a failed test used are kept too, and their fixtures need this
        # network's: a kept container never loses its network.
        if keep_failed and owner.failed_using(self):
            self._keep(owner, owner.why_kept(self))
            return
        try:
            self.remove()
        except TestctrError:
            if not keep_failed:
                raise
            # Containers kept for a failed test that did not ask for it (given its name, say) still use it.
            self._keep(owner, f"of {owner.test_id}, still used by kept containers")

    def _keep(self, owner: Owner, why: str) -> None:
        _release(self.backend_name, self.runtime, self.name)
        owner.kept(f"testctr: kept network {self.name} {why}\n    remove: testctr clean")


def _create(owner: Owner, name: str | None, internal: bool, backend: str | None, runtime: str | None) -> Network:
    from testctr.backends import resolve

    if name is not None:
        network_name(name)
    if not isinstance(internal, bool):
        raise InvalidOption(f"internal must be True or False, got {internal!r}")
    resolved = resolve(backend, runtime)
    backend_name, chosen = resolved.name, resolved.backend
    manager = _manager(chosen, backend_name)
    name = name or container_name(owner.test_id, "net-" + os.urandom(3).hex())
    labels = owner_labels(_settings.current().label, owner.test_id)
    _watch(backend_name, chosen.runtime, name)  # before the create: a kill during it leaks nothing
    try:
        network_id = manager.create_network(name, labels, internal)
    except BaseException:
        # An interrupted create may still have made it; its name is all we know it by.
        with contextlib.suppress(TestctrError):
            with contextlib.suppress(NetworkNotFound):
                manager.remove_network(name)
            _release(backend_name, chosen.runtime, name)
        raise
    net = Network(manager, backend_name, chosen.runtime, network_id, name)
    owner.uses(net)
    owner.add_cleanup(lambda: net._cleanup(owner))
    return net


def _watch(backend_name: str, runtime: str, name: str) -> None:
    watch(backend_name, runtime, name, kind=_reaper_protocol.NETWORK)


def _release(backend_name: str, runtime: str, name: str) -> None:
    release(backend_name, runtime, name, kind=_reaper_protocol.NETWORK)


def _manager(backend: Backend, backend_name: str) -> NetworkManager:
    if not isinstance(backend, NetworkManager):
        reason = unsupported_reason(backend, NetworkManager, "the backend cannot create networks")
        raise UnsupportedOption("testctr.network", backend_name, reason)
    return backend


def network(
    t: object,
    name: str | None = None,
    *,
    internal: bool = False,
    backend: str | None = None,
    runtime: str | None = None,
) -> Network:
    """A new network for test ``t`` (a pytest ``request`` of any scope or a unittest case or class).

    ``name`` None gives a unique ``testctr-<test>-net-<hex>``. ``internal``: no
    way out of the network (containers on it reach only each other). Removed
    when ``t`` ends, after its containers (keep-failed keeps it with them).
    ``backend`` and ``runtime`` choose the engine as ``with_backend`` /
    ``with_runtime`` do for a container (default: the run's settings); give
    the containers on it the same.
    """
    return _create(owner_for(t), name, internal, backend, runtime)


@contextlib.contextmanager
def network_run(
    name: str | None = None,
    *,
    internal: bool = False,
    backend: str | None = None,
    runtime: str | None = None,
) -> Iterator[Network]:
    """``with testctr.network_run() as net:`` for scripts; removed when the block ends.

    Containers on it must be gone by then: start them in blocks nested inside.
    """
    owner = ScriptOwner(script_name())
    try:
        yield _create(owner, name, internal, backend, runtime)
    except BaseException:
        owner.error = True
        raise
    finally:
        owner.close()
