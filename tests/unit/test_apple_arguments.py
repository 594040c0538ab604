"""The ``container create`` command line, and the options Apple's ``container`` refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testctr.backend.types import ContainerConfig, Mount, NetworkAttachment, PortSpec
from testctr.backends._process import EnvArgs
from testctr.backends.apple import arguments
from testctr.backends.apple.config import AppleConfig
from testctr.backends.apple.parsing import DIRECT_PORTS_LABEL
from testctr.backends.apple.version import Version
from testctr.errors import InvalidOption, UnsupportedOption

NEW: Version = (1, 2, 2)
OLD: Version = (0, 7, 1)


def config(**kwargs: object) -> ContainerConfig:
    return ContainerConfig(name="testctr-x-abc123", **kwargs)  # type: ignore[arg-type]


def test_create_args_publish_on_loopback_with_explicit_host_port() -> None:
    argv = arguments.create_args(
        "redis", config(ports=[PortSpec(6379), PortSpec(53, "udp")]), AppleConfig(), NEW,
        {"6379/tcp": 41000, "53/udp": 41001},
    )  # fmt: skip
    assert argv[:3] == ["create", "--name", "testctr-x-abc123"]
    assert "127.0.0.1:41000:6379/tcp" in argv
    assert "127.0.0.1:41001:53/udp" in argv
    assert argv[-1] == "redis"


def test_create_args_direct_ip_publishes_nothing_and_labels_ports() -> None:
    argv = arguments.create_args("redis", config(ports=[PortSpec(6379)]), AppleConfig(direct_ip=True), NEW, {})
    assert "--publish" not in argv
    assert f"--label={DIRECT_PORTS_LABEL}=6379/tcp" in argv


def test_create_args_vm_config() -> None:
    vm = AppleConfig(
        cpus=2, memory="1g", rosetta=True, arch="x86_64", virtualization=True, init=True,
        dns=["1.1.1.1"], dns_search=["corp"], dns_options=["-ndots:2"], kernel_args=["-quiet"],
    )  # fmt: skip
    argv = arguments.create_args("img", config(), vm, NEW, {})
    for flag in ("--rosetta", "--virtualization", "--init", "--kernel-arg=-quiet", "--dns-option=-ndots:2"):
        assert flag in argv
    assert argv[argv.index("--cpus") + 1] == "2"
    assert argv[argv.index("--memory") + 1] == "1024M"
    assert argv[argv.index("--arch") + 1] == "amd64"


def test_generic_limits_map_onto_the_vm() -> None:
    argv = arguments.create_args("img", config(cpus=3.0, memory_bytes=512 * arguments.MIB), AppleConfig(), NEW, {})
    assert argv[argv.index("--cpus") + 1] == "3"
    assert argv[argv.index("--memory") + 1] == "512M"


def test_platform_before_0_4_is_os_and_arch() -> None:
    argv = arguments.create_args("img", config(platform="linux/amd64"), AppleConfig(), (0, 3, 0), {})
    assert argv[argv.index("--os") + 1] == "linux"
    assert argv[argv.index("--arch") + 1] == "amd64"
    assert "--platform" not in argv


def test_leading_dash_command_is_separated_from_options() -> None:
    argv = arguments.create_args("redis", config(command=["--port", "7000"]), AppleConfig(), NEW, {})
    assert argv[-4:] == ["redis", "--", "--port", "7000"]


def test_gate_wraps_the_resolved_process() -> None:
    argv = arguments.create_args("img", config(), AppleConfig(), NEW, {}, gated=["/entry", "serve"])
    assert argv[argv.index("--entrypoint") + 1] == "/bin/sh"
    assert argv[-7:] == ["img", "--", "-c", arguments.GATE_SCRIPT, "testctr-gate", "/entry", "serve"]


@given(
    st.dictionaries(
        st.text(st.characters(blacklist_characters="=\x00", blacklist_categories=["Cs"]), min_size=1),
        st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"])),
        max_size=5,
    )
)
def test_env_is_one_token_per_variable(env: dict[str, str]) -> None:
    argv = arguments.create_args("img", config(env=env), AppleConfig(), NEW, {})
    tokens = [a.removeprefix("--env=") for a in argv if a.startswith("--env=")]
    # NAME (the value reaches the CLI through its environment, out of `ps`) or NAME=VALUE.
    passed = EnvArgs.of(env)
    assert tokens == passed.names
    assert {t.split("=", 1)[0]: passed.child_env.get(t, t.partition("=")[2]) for t in tokens} == env


def test_gated_process_resolution() -> None:
    assert arguments.gated_process(config(), ["/e"], ["cmd"]) == ["/e", "cmd"]
    assert arguments.gated_process(config(args=["-x"]), ["/e"], ["cmd"]) == ["/e", "cmd", "-x"]
    assert arguments.gated_process(config(command=["c"], args=["-x"]), ["/e"], ["cmd"]) == ["/e", "c", "-x"]
    assert arguments.gated_process(config(entrypoint=["/o", "a"]), ["/e"], ["cmd"]) == ["/o", "a"]


def test_args_follow_the_image_cmd() -> None:
    argv = arguments.create_args("busybox", config(args=["-c", "echo hi"]), AppleConfig(), NEW, {}, image_cmd=["sh"])
    assert "--entrypoint" not in argv
    assert argv[-4:] == ["busybox", "sh", "-c", "echo hi"]


def test_args_without_the_image_cmd_is_a_bug() -> None:
    with pytest.raises(ValueError, match="image_cmd"):
        arguments.create_args("busybox", config(args=["-x"]), AppleConfig(), NEW, {})


def test_entrypoint_override_drops_the_image_cmd() -> None:
    cfg = config(entrypoint=["/bin/sh", "-e"], args=["-c", "true"])
    argv = arguments.create_args("img", cfg, AppleConfig(), NEW, {}, image_cmd=["ignored"])
    assert argv[argv.index("--entrypoint") + 1] == "/bin/sh"
    assert argv[-5:] == ["img", "--", "-e", "-c", "true"]


def test_no_command_keeps_the_image_process() -> None:
    assert arguments.create_args("img", config(), AppleConfig(), NEW, {})[-1] == "img"


# --- what the backend refuses -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cfg", "vm", "version", "option"),
    [
        (config(privileged=True), AppleConfig(), NEW, "with_privileged"),
        (config(cpus=0.5), AppleConfig(), NEW, "with_cpus"),
        (config(mounts=[Mount(__file__, "/x")]), AppleConfig(), NEW, "with_bind_mount"),
        (config(ports=[PortSpec(80)]), AppleConfig(), (0, 2, 0), "with_port"),
        (config(networks=[NetworkAttachment("n")]), AppleConfig(), (0, 1, 0), "with_network"),
        (config(networks=[NetworkAttachment("n", ("db",))]), AppleConfig(), NEW, "with_network(aliases=...)"),
        (config(), AppleConfig(kernel_args=["quiet"]), OLD, "AppleConfig.kernel_args"),
        (config(), AppleConfig(init=True), OLD, "AppleConfig.init"),
        (config(), AppleConfig(rosetta=True), (0, 6, 0), "AppleConfig.rosetta"),
        (config(ports=[PortSpec(80, "sctp")]), AppleConfig(), NEW, "with_port"),
        (config(labels={"k": "a=b"}), AppleConfig(), NEW, "with_label"),
        (config(memory_bytes=64 * arguments.MIB), AppleConfig(), NEW, "with_memory_limit"),
    ],
)
def test_unsupported_options_are_named(cfg: ContainerConfig, vm: AppleConfig, version: Version, option: str) -> None:
    with pytest.raises(UnsupportedOption) as raised:
        arguments.check_config(cfg, vm, version)
    assert raised.value.option == option
    assert raised.value.backend == "apple"


def test_contradicting_limits_are_invalid() -> None:
    with pytest.raises(InvalidOption, match="contradicts"):
        arguments.check_config(config(cpus=2.0), AppleConfig(cpus=4), NEW)


def test_direct_ip_cannot_choose_host_ports() -> None:
    with pytest.raises(InvalidOption, match="direct_ip"):
        arguments.check_config(config(ports=[PortSpec(80, host_port=8080)]), AppleConfig(direct_ip=True), NEW)


def test_network_create_args() -> None:
    assert arguments.network_create_args("n", {"testctr": "true", "testctr.test": "t::x"}) == [
        "network", "create", "--label=testctr=true", "--label=testctr.test=t::x", "n",
    ]  # fmt: skip
    with pytest.raises(UnsupportedOption, match="'='"):
        arguments.network_create_args("n", {"testctr.test": "t[a=b]"})
