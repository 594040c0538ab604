"""testctr: real, throwaway containers for every test, in one line.

redis = testctr.new(request, "redis:7-alpine",
                    testctr.with_port("6379"),
                    testctr.with_wait_for_log("Ready to accept connections"))
redis.exec_simple("redis-cli", "PING")   # "PONG"
"""

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing

if TYPE_CHECKING:
    # For type checkers; `X as X` marks a re-export. tests/unit/test_init.py keeps
    # these in step with _EXPORTS.
    from testctr.backend.types import ContainerInfo as ContainerInfo
    from testctr.backend.types import ContainerState as ContainerState
    from testctr.backend.types import ExecResult as ExecResult
    from testctr.backend.types import PortBinding as PortBinding
    from testctr.container import Container as Container
    from testctr.container import new as new
    from testctr.container import run as run
    from testctr.dsn import DSNProvider as DSNProvider
    from testctr.errors import BackendNotFound as BackendNotFound
    from testctr.errors import ContainerNotFound as ContainerNotFound
    from testctr.errors import ContainerNotRunning as ContainerNotRunning
    from testctr.errors import ContainerStartError as ContainerStartError
    from testctr.errors import EngineUnavailable as EngineUnavailable
    from testctr.errors import ExecError as ExecError
    from testctr.errors import ExecTimeout as ExecTimeout
    from testctr.errors import ImageNotFound as ImageNotFound
    from testctr.errors import ImagePullError as ImagePullError
    from testctr.errors import InvalidOption as InvalidOption
    from testctr.errors import NetworkNotFound as NetworkNotFound
    from testctr.errors import PortNotPublished as PortNotPublished
    from testctr.errors import TestctrError as TestctrError
    from testctr.errors import UnsupportedOption as UnsupportedOption
    from testctr.errors import WaitTimeout as WaitTimeout
    from testctr.fixtures import dsn_fixture as dsn_fixture
    from testctr.fixtures import fixture as fixture
    from testctr.networks import Network as Network
    from testctr.networks import network as network
    from testctr.networks import network_run as network_run
    from testctr.option import Option as Option
    from testctr.option import options as options
    from testctr.option import with_args as with_args
    from testctr.option import with_backend as with_backend
    from testctr.option import with_backend_config as with_backend_config
    from testctr.option import with_bind_mount as with_bind_mount
    from testctr.option import with_command as with_command
    from testctr.option import with_cpus as with_cpus
    from testctr.option import with_dsn_provider as with_dsn_provider
    from testctr.option import with_entrypoint as with_entrypoint
    from testctr.option import with_env as with_env
    from testctr.option import with_env_map as with_env_map
    from testctr.option import with_file as with_file
    from testctr.option import with_file_content as with_file_content
    from testctr.option import with_label as with_label
    from testctr.option import with_log_filter as with_log_filter
    from testctr.option import with_logs as with_logs
    from testctr.option import with_memory_limit as with_memory_limit
    from testctr.option import with_network as with_network
    from testctr.option import with_platform as with_platform
    from testctr.option import with_port as with_port
    from testctr.option import with_privileged as with_privileged
    from testctr.option import with_reuse as with_reuse
    from testctr.option import with_runtime as with_runtime
    from testctr.option import with_shared as with_shared
    from testctr.option import with_startup_delay as with_startup_delay
    from testctr.option import with_startup_timeout as with_startup_timeout
    from testctr.option import with_tmpfs as with_tmpfs
    from testctr.option import with_user as with_user
    from testctr.option import with_wait as with_wait
    from testctr.option import with_wait_for_exec as with_wait_for_exec
    from testctr.option import with_wait_for_healthy as with_wait_for_healthy
    from testctr.option import with_wait_for_http as with_wait_for_http
    from testctr.option import with_wait_for_log as with_wait_for_log
    from testctr.option import with_wait_for_port as with_wait_for_port
    from testctr.option import with_workdir as with_workdir
    from testctr.stack.project import Compose as Compose
    from testctr.stack.project import compose as compose
    from testctr.stack.project import compose_run as compose_run
    from testctr.wait import WaitStrategy as WaitStrategy

# Loaded on first use (PEP 562): `import testctr` costs next to nothing, so a
# test run (or the pytest plugin) that never starts a container pays nothing.
#: The public names, by the module that defines them: the one list.
_EXPORTS = {
    "testctr.backend.types": (
        "ContainerInfo",
        "ContainerState",
        "ExecResult",
        "PortBinding",
    ),
    "testctr.container": (
        "Container",
        "new",
        "run",
    ),
    "testctr.dsn": ("DSNProvider",),
    "testctr.errors": (
        "BackendNotFound",
        "ContainerNotFound",
        "ContainerNotRunning",
        "ContainerStartError",
        "EngineUnavailable",
        "ExecError",
        "ExecTimeout",
        "ImageNotFound",
        "ImagePullError",
        "InvalidOption",
        "NetworkNotFound",
        "PortNotPublished",
        "TestctrError",
        "UnsupportedOption",
        "WaitTimeout",
    ),
    "testctr.fixtures": (
        "dsn_fixture",
        "fixture",
    ),
    "testctr.networks": (
        "Network",
        "network",
        "network_run",
    ),
    "testctr.option": (
        "Option",
        "options",
        "with_args",
        "with_backend",
        "with_backend_config",
        "with_bind_mount",
        "with_command",
        "with_cpus",
        "with_dsn_provider",
        "with_entrypoint",
        "with_env",
        "with_env_map",
        "with_file",
        "with_file_content",
        "with_label",
        "with_log_filter",
        "with_logs",
        "with_memory_limit",
        "with_network",
        "with_platform",
        "with_port",
        "with_privileged",
        "with_reuse",
        "with_runtime",
        "with_shared",
        "with_startup_delay",
        "with_startup_timeout",
        "with_tmpfs",
        "with_user",
        "with_wait",
        "with_wait_for_exec",
        "with_wait_for_healthy",
        "with_wait_for_http",
        "with_wait_for_log",
        "with_wait_for_port",
        "with_workdir",
    ),
    "testctr.stack.project": (
        "Compose",
        "compose",
        "compose_run",
    ),
    "testctr.wait": ("WaitStrategy",),
}
_LAZY = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'testctr' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__version__ = "0.1.0"

__all__ = list(_LAZY)
