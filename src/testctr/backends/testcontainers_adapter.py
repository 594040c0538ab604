"""The ``testcontainers`` backend: testctr's contract on top of testcontainers-python.

Install with ``pip install testcontainers``. For teams that already use
testcontainers: the engine is found the way testcontainers finds it
(``DOCKER_HOST``, ``TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE``,
``~/.testcontainers.properties``), containers are created through its
``DockerClient.create`` and carry its ``org.testcontainers.*`` labels.
Missing images are pulled by testctr first, with the docker-api backend's
bounded pull (testcontainers' own pull has no timeout). Every container gets
an explicit network (``bridge`` unless the test names one): left to itself,
testcontainers attaches containers to the network of the container the tests
run in (``find_host_network``), which testctr's port mapping does not expect.
:meth:`TestcontainersBackend.host` is ``TESTCONTAINERS_HOST_OVERRIDE`` /
``TC_HOST`` when set, else the engine's address as for docker-api
(``127.0.0.1`` for a local socket). Everything after creation (start, exec,
logs, files, commit, ...) goes through the same Docker SDK client that
testcontainers' own containers use, with testctr's error mapping (see
:mod:`testctr.backends.docker_api`).

Ryuk, testcontainers' reaper container, is started before the first container
unless ``TESTCONTAINERS_RYUK_DISABLED=true``. It needs the image
``testcontainers/ryuk`` from Docker Hub; where no registry is reachable (CI
here) set ``TESTCONTAINERS_RYUK_DISABLED=true`` — testctr removes every
container at the end of its test anyway, and ``testctr clean`` finds
leftovers of crashed runs by their labels. When Ryuk cannot start, the error
says so and names the variable.

testcontainers itself binds published ports on all interfaces; this backend
binds 127.0.0.1 (testctr's rule: nothing a test starts is reachable from the
network by accident) unless the engine is remote, and therefore answers
``127.0.0.1`` where testcontainers would say ``localhost``.
"""

from __future__ import annotations

import threading
from typing import Any

import docker.errors
import docker.types
import requests.exceptions

from testctr.backend.types import ContainerConfig
from testctr.backends.docker_api import DockerAPIBackend, engine_url_from_environment
from testctr.backends.docker_family import explain, image_not_found, pull_error
from testctr.errors import ContainerStartError, EngineUnavailable

NAME = "testcontainers"

_IMPORT_LOCK = threading.Lock()


def _import_testcontainers() -> None:
    """Import testcontainers' modules once, one thread at a time.

    Two threads importing different testcontainers modules at once (a test, and
    the leftovers check in the background) deadlock in importlib's module locks.
    """
    with _IMPORT_LOCK:
        import testcontainers.core.config
        import testcontainers.core.container
        import testcontainers.core.docker_client  # noqa: F401


class TestcontainersBackend(DockerAPIBackend):
    __test__ = False  # not a test class, whatever pytest's name rules say
    _url_chosen_by = "testcontainers' tc.host (~/.testcontainers.properties)"

    def __init__(self, engine_url: str | None = None, name: str = NAME) -> None:
        super().__init__(engine_url, name)
        self._tc: Any = None
        self._reaper_lock = threading.Lock()
        self._reaper_started = False

    @property
    def tc(self) -> Any:
        """testcontainers' ``DockerClient`` (created on first use)."""
        with self._lock:
            if self._tc is None:
                _import_testcontainers()
                from testcontainers.core.docker_client import DockerClient

                try:
                    self._tc = DockerClient(timeout=60)
                except docker.errors.DockerException as e:
                    raise self._unavailable(e) from None
                self._client = self._tc.client
            return self._tc

    @property
    def api(self) -> Any:
        return self.tc.client.api

    @property
    def engine_url(self) -> str:
        if self._engine_url is None:
            _import_testcontainers()
            from testcontainers.core.docker_client import get_docker_host

            self._engine_url = get_docker_host() or engine_url_from_environment()
        return self._engine_url

    def for_runtime(self, runtime: str) -> DockerAPIBackend:
        if runtime == "docker":
            return self
        raise EngineUnavailable(
            f"the {NAME} backend drives the engine testcontainers finds (DOCKER_HOST); "
            f"runtime {runtime!r} is not selectable here: use the docker-api backend with TESTCTR_RUNTIME={runtime}"
        )

    def host(self) -> str:
        _import_testcontainers()
        from testcontainers.core.config import testcontainers_config

        # testcontainers' own host() guesses a gateway when the tests run in a
        # container; the ports are published on the engine's host (see _host_ip).
        override = testcontainers_config.tc_host_override
        return str(override) if override else super().host()

    def _start_reaper(self) -> None:
        _import_testcontainers()
        from testcontainers.core.config import testcontainers_config

        if testcontainers_config.ryuk_disabled:
            return
        with self._reaper_lock:
            if self._reaper_started:
                return
            from testcontainers.core.container import Reaper

            try:
                Reaper.get_instance()
            except Exception as e:  # whatever testcontainers raised, the fix is the same
                raise EngineUnavailable(
                    f"testcontainers could not start Ryuk ({testcontainers_config.ryuk_image}): {e}\n"
                    "fix: set TESTCONTAINERS_RYUK_DISABLED=true (testctr removes its containers itself), "
                    "or make the Ryuk image available"
                ) from None
            self._reaper_started = True

    def create_container(self, image: str, config: ContainerConfig) -> str:
        self._check_config(config)
        self._start_reaper()
        # testcontainers pulls a missing image with no timeout; pull it here, bounded.
        self.ensure_image(image, config.platform)
        command = self._image_cmds.command_for(image, config)
        host_ip = self._host_ip()
        kwargs: dict[str, Any] = {"name": config.name}
        if config.entrypoint is not None:
            kwargs["entrypoint"] = list(config.entrypoint)
        if config.user is not None:
            kwargs["user"] = config.user
        if config.workdir is not None:
            kwargs["working_dir"] = config.workdir
        if config.mounts:
            kwargs["mounts"] = [
                docker.types.Mount(m.target, m.source, type="bind", read_only=m.read_only) for m in config.mounts
            ]
        if config.tmpfs:
            kwargs["tmpfs"] = {path: "" for path in config.tmpfs}
        # Always a network: without one testcontainers picks the network of the
        # container the tests run in (find_host_network), not the default bridge.
        kwargs["network"] = config.networks[0].name if config.networks else "bridge"
        if config.networks and config.networks[0].aliases:
            primary = config.networks[0]
            kwargs["networking_config"] = {primary.name: self.api.create_endpoint_config(aliases=list(primary.aliases))}
        if config.memory_bytes is not None:
            kwargs["mem_limit"] = config.memory_bytes
        if config.cpus is not None:
            kwargs["nano_cpus"] = round(config.cpus * 1e9)
        if config.privileged:
            kwargs["privileged"] = True
        if config.platform is not None:
            kwargs["platform"] = config.platform
        # A one-element tuple binds an address with an engine-chosen port.
        ports = {
            p.key: (p.host_ip or host_ip, p.host_port) if p.host_port is not None else (p.host_ip or host_ip,)
            for p in config.ports
        }
        try:
            container = self.tc.create(
                image,
                command=command,
                environment=dict(config.env),
                ports=ports,
                labels=dict(config.labels),
                detach=True,
                **kwargs,
            )
        except docker.errors.ImageNotFound as e:
            raise image_not_found(image, explain(e)) from None
        except docker.errors.APIError as e:
            text = explain(e)
            if "pull" in text.lower() or "registry" in text.lower():
                raise pull_error(image, text) from None
            raise self._translate(f"{self.runtime} create of {image}", e, refused=ContainerStartError) from None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise self._translate(f"{self.runtime} create of {image}", e, refused=ContainerStartError) from None
        container_id = str(container.id)
        self._connect_extra_networks(container_id, config)
        return container_id
