"""testctr: real, throwaway containers for every test, in one line.

redis = testctr.new(request, "redis:7-alpine",
                    testctr.with_port("6379"),
                    testctr.with_wait_for_log("Ready to accept connections"))
redis.exec_simple("redis-cli", "PING")   # "PONG"
"""

TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing

if TYPE_CHECKING:
    from testctr.backend.types import ContainerInfo, ContainerState, ExecResult, PortBinding
    from testctr.container import Container, new, run
    from testctr.dsn import DSNProvider
    from testctr.errors import (
        BackendNotFound,
        ContainerNotFound,
        ContainerNotRunning,
        ContainerStartError,
        EngineUnavailable,
        ExecError,
        ExecTimeout,
        ImageNotFound,
        ImagePullError,
        InvalidOption,
        PortNotPublished,
        TestctrError,
        UnsupportedOption,
        WaitTimeout,
    )
    from testctr.option import (
        Option,
        options,
        with_args,
        with_backend,
        with_backend_config,
        with_bind_mount,
        with_command,
        with_cpus,
        with_dsn_provider,
        with_entrypoint,
        with_env,
        with_env_map,
        with_file,
        with_file_content,
        with_label,
        with_log_filter,
        with_logs,
        with_memory_limit,
        with_network,
        with_platform,
        with_port,
        with_privileged,
        with_runtime,
        with_startup_delay,
        with_startup_timeout,
        with_tmpfs,
        with_user,
        with_wait,
        with_wait_for_exec,
        with_wait_for_healthy,
        with_wait_for_http,
        with_wait_for_log,
        with_wait_for_port,
        with_workdir,
    )
    from testctr.wait import WaitStrategy

# Loaded on first use (PEP 562): `import testctr` costs next to nothing, so a
# test run (or the pytest plugin) that never starts a container pays nothing.
_LAZY = {
    "BackendNotFound": "testctr.errors",
    "Container": "testctr.container",
    "ContainerInfo": "testctr.backend.types",
    "ContainerNotFound": "testctr.errors",
    "ContainerNotRunning": "testctr.errors",
    "ContainerStartError": "testctr.errors",
    "ContainerState": "testctr.backend.types",
    "DSNProvider": "testctr.dsn",
    "EngineUnavailable": "testctr.errors",
    "ExecError": "testctr.errors",
    "ExecResult": "testctr.backend.types",
    "ExecTimeout": "testctr.errors",
    "ImageNotFound": "testctr.errors",
    "ImagePullError": "testctr.errors",
    "InvalidOption": "testctr.errors",
    "Option": "testctr.option",
    "PortBinding": "testctr.backend.types",
    "PortNotPublished": "testctr.errors",
    "TestctrError": "testctr.errors",
    "UnsupportedOption": "testctr.errors",
    "WaitStrategy": "testctr.wait",
    "WaitTimeout": "testctr.errors",
    "new": "testctr.container",
    "options": "testctr.option",
    "run": "testctr.container",
    "with_args": "testctr.option",
    "with_backend": "testctr.option",
    "with_backend_config": "testctr.option",
    "with_bind_mount": "testctr.option",
    "with_command": "testctr.option",
    "with_cpus": "testctr.option",
    "with_dsn_provider": "testctr.option",
    "with_entrypoint": "testctr.option",
    "with_env": "testctr.option",
    "with_env_map": "testctr.option",
    "with_file": "testctr.option",
    "with_file_content": "testctr.option",
    "with_label": "testctr.option",
    "with_log_filter": "testctr.option",
    "with_logs": "testctr.option",
    "with_memory_limit": "testctr.option",
    "with_network": "testctr.option",
    "with_platform": "testctr.option",
    "with_port": "testctr.option",
    "with_privileged": "testctr.option",
    "with_runtime": "testctr.option",
    "with_startup_delay": "testctr.option",
    "with_startup_timeout": "testctr.option",
    "with_tmpfs": "testctr.option",
    "with_user": "testctr.option",
    "with_wait": "testctr.option",
    "with_wait_for_exec": "testctr.option",
    "with_wait_for_healthy": "testctr.option",
    "with_wait_for_http": "testctr.option",
    "with_wait_for_log": "testctr.option",
    "with_wait_for_port": "testctr.option",
    "with_workdir": "testctr.option",
}


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

__all__ = [
    "BackendNotFound",
    "Container",
    "ContainerInfo",
    "ContainerNotFound",
    "ContainerNotRunning",
    "ContainerStartError",
    "ContainerState",
    "DSNProvider",
    "EngineUnavailable",
    "ExecError",
    "ExecResult",
    "ExecTimeout",
    "ImageNotFound",
    "ImagePullError",
    "InvalidOption",
    "Option",
    "PortBinding",
    "PortNotPublished",
    "TestctrError",
    "UnsupportedOption",
    "WaitStrategy",
    "WaitTimeout",
    "new",
    "options",
    "run",
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
    "with_runtime",
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
]
