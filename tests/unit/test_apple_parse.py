"""Pure parts of the apple backend: JSON shapes, versions, dates, command lines.

The 1.x inputs are real captures of Apple's `container` (../shared/apple-container/fixtures,
see PROVENANCE.md there). The 0.x inputs are written out below from the shapes
the apple/container sources define at those tags (ContainerSnapshot /
PrintableContainer: state string at the top level, ``address`` before 0.8.0,
dates as seconds since 2001-01-01 from 0.8.0 to 0.12.x).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testctr.backend.types import ContainerConfig, Mount, PortSpec
from testctr.backends import apple
from testctr.backends.apple import AppleConfig
from testctr.errors import EngineUnavailable, InvalidOption, UnsupportedOption

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO.parent / "shared" / "apple-container" / "fixtures"
RAW = FIXTURES / "lynicis-applecontainer-go" / "raw"


def load(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        pytest.fail(f"fixture {path} is missing: CI copies /work/shared beside the clone ({FIXTURES})")
    data = json.loads(path.read_text())
    assert isinstance(data, list)
    return data


# --- real 1.0.0 captures ----------------------------------------------------------------------


def test_inspect_1x_running_container() -> None:
    info = apple.parse_container(load(RAW / "inspect.json")[0])
    assert info.id == "probe"
    assert info.name == "probe"
    assert info.image == "docker.io/library/nginx:latest"
    assert info.state.running is True
    assert info.state.status == "running"
    assert info.state.exit_code is None  # Apple reports none; never invented
    assert info.internal_ip == "192.168.64.7"
    assert info.created == dt.datetime(2026, 6, 17, 16, 12, 40, tzinfo=dt.timezone.utc)
    assert info.ports == {}


def test_inspect_1x_published_port() -> None:
    info = apple.parse_container(load(RAW / "inspect-published-port.json")[0])
    assert info.ports == {"80/tcp": [apple.PortBinding("0.0.0.0", 8080)]}
    assert info.internal_ip == "192.168.64.8"


def test_inspect_1x_mount_parses() -> None:
    info = apple.parse_container(load(RAW / "inspect-mount.json")[0])
    assert info.state.running
    assert info.internal_ip.count(".") == 3


@pytest.mark.parametrize("name", ["list.json"])
def test_list_1x(name: str) -> None:
    items = load(RAW / name)
    infos = [apple.parse_container(item) for item in items]
    assert [i.id for i in infos] == ["probe"]
    assert infos[0].internal_ip == "192.168.64.7"


def test_list_1x_kina_capture() -> None:
    info = apple.parse_container(load(FIXTURES / "kina" / "ls-1.0.0.json")[0])
    assert info.id == "kina-probe-100"
    assert info.internal_ip == "192.168.65.2"
    assert info.image == "docker.io/library/alpine:latest"


def test_raw_and_reindented_fixtures_parse_alike() -> None:
    head = FIXTURES / "lynicis-applecontainer-go" / "head"
    for name in ("inspect.json", "inspect-published-port.json", "inspect-mount.json"):
        assert apple.parse_container(load(RAW / name)[0]) == apple.parse_container(load(head / name)[0])


# --- 0.x shapes ---------------------------------------------------------------------------------

SNAPSHOT_0_7 = {
    "status": "running",
    "networks": [{"network": "default", "hostname": "web", "address": "192.168.64.3/24", "gateway": "192.168.64.1"}],
    "configuration": {
        "id": "web",
        "image": {"reference": "docker.io/library/busybox:latest", "descriptor": {}},
        "labels": {"testctr": "true"},
        "publishedPorts": [
            {"hostAddress": "127.0.0.1", "hostPort": 40000, "containerPort": 80, "proto": "tcp", "count": 2}
        ],
        "resources": {"cpus": 4, "memoryInBytes": 1073741824},
    },
}

SNAPSHOT_0_12 = {
    "configuration": {"id": "db", "image": {"reference": "postgres:16"}, "labels": {}},
    "startedDate": 802000000.5,
    "networks": [
        {"network": "default", "hostname": "db", "ipv4Address": "192.168.64.9/24", "ipv4Gateway": "192.168.64.1"}
    ],
    "status": "stopped",
}


def test_inspect_0_7_address_and_port_ranges() -> None:
    info = apple.parse_container(SNAPSHOT_0_7)
    assert info.id == "web"
    assert info.state.running
    assert info.state.exit_code is None
    assert info.internal_ip == "192.168.64.3"
    assert info.created is None  # no date before 0.8.0
    assert info.ports == {
        "80/tcp": [apple.PortBinding("127.0.0.1", 40000)],
        "81/tcp": [apple.PortBinding("127.0.0.1", 40001)],
    }
    assert info.labels == {"testctr": "true"}


def test_inspect_0_12_numeric_swift_date_and_stopped_state() -> None:
    info = apple.parse_container(SNAPSHOT_0_12)
    assert not info.state.running
    assert info.state.status == "stopped"
    # 978307200 = 2001-01-01T00:00:00Z in Unix time
    assert info.created == dt.datetime.fromtimestamp(978307200 + 802000000.5, dt.timezone.utc)
    assert info.internal_ip == "192.168.64.9"


def test_direct_ip_ports_come_from_the_label() -> None:
    item = json.loads(json.dumps(SNAPSHOT_0_12))
    item["status"] = "running"
    item["configuration"]["labels"] = {apple.DIRECT_PORTS_LABEL: "5432/tcp,53/udp"}
    info = apple.parse_container(item)
    assert info.ports == {
        "5432/tcp": [apple.PortBinding("192.168.64.9", 5432)],
        "53/udp": [apple.PortBinding("192.168.64.9", 53)],
    }


def test_stopped_container_has_no_address() -> None:
    item = {"id": "x", "configuration": {"id": "x"}, "status": {"state": "stopped", "networks": []}}
    info = apple.parse_container(item)
    assert info.internal_ip == ""
    assert not info.state.running


# --- versions, dates, addresses -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("container CLI version 1.2.2 (build: release, commit: 0190097)", (1, 2, 2)),
        ("container CLI version 1.0.0 (build: release, commit: ee848e3)", (1, 0, 0)),
        ("container CLI version 0.1.0 (build: release, commit: 0fd8692, sdk: MacOS 15)", (0, 1, 0)),
        ("container-apiserver version 0.12.3 (build: release, commit: f989901)", (0, 12, 3)),
    ],
)
def test_parse_version(text: str, version: tuple[int, int, int]) -> None:
    assert apple.parse_version(text) == version


def test_parse_version_garbage_is_engine_unavailable() -> None:
    with pytest.raises(EngineUnavailable, match="cannot read"):
        apple.parse_version("zsh: command not found: container")


@given(st.floats(min_value=0, max_value=2e9, allow_nan=False))
def test_swift_dates_count_from_2001(seconds: float) -> None:
    parsed = apple.parse_date(seconds)
    assert parsed is not None
    assert abs((parsed - apple.SWIFT_EPOCH).total_seconds() - seconds) < 1e-3


@given(st.datetimes(min_value=dt.datetime(2001, 1, 1), max_value=dt.datetime(2100, 1, 1)))
def test_iso_dates_round_trip(moment: dt.datetime) -> None:
    moment = moment.replace(microsecond=0, tzinfo=dt.timezone.utc)
    assert apple.parse_date(moment.strftime("%Y-%m-%dT%H:%M:%SZ")) == moment


@given(st.ip_addresses(v=4), st.integers(min_value=0, max_value=32))
def test_strip_prefix(ip: object, prefix: int) -> None:
    assert apple.strip_prefix(f"{ip}/{prefix}") == str(ip)
    assert apple.strip_prefix(str(ip)) == str(ip)


def test_image_process_both_shapes() -> None:
    one = [{"variants": [{"platform": {"architecture": "arm64"}, "config": {"config": {"Cmd": ["sh"]}}}]}]
    zero = [{"name": "x", "variants": [{"config": {"config": {"Entrypoint": ["/e"], "Cmd": ["a"]}}}]}]
    assert apple.image_process(one) == ([], ["sh"])
    assert apple.image_process(zero) == (["/e"], ["a"])
    assert apple.image_process([]) == ([], [])


# --- command lines ------------------------------------------------------------------------------

NEW: apple.Version = (1, 2, 2)
OLD: apple.Version = (0, 7, 1)


def config(**kwargs: object) -> ContainerConfig:
    return ContainerConfig(name="testctr-x-abc123", **kwargs)  # type: ignore[arg-type]


def test_create_args_publish_on_loopback_with_explicit_host_port() -> None:
    argv = apple.create_args(
        "redis", config(ports=[PortSpec(6379), PortSpec(53, "udp")]), AppleConfig(), NEW, None,
        {"6379/tcp": 41000, "53/udp": 41001},
    )  # fmt: skip
    assert argv[:3] == ["create", "--name", "testctr-x-abc123"]
    assert "127.0.0.1:41000:6379/tcp" in argv
    assert "127.0.0.1:41001:53/udp" in argv
    assert argv[-1] == "redis"


def test_create_args_direct_ip_publishes_nothing_and_labels_ports() -> None:
    argv = apple.create_args("redis", config(ports=[PortSpec(6379)]), AppleConfig(direct_ip=True), NEW, None, {})
    assert "--publish" not in argv
    assert f"--label={apple.DIRECT_PORTS_LABEL}=6379/tcp" in argv


def test_create_args_vm_config() -> None:
    vm = AppleConfig(
        cpus=2, memory="1g", rosetta=True, arch="x86_64", virtualization=True, init=True,
        dns=["1.1.1.1"], dns_search=["corp"], dns_options=["-ndots:2"], kernel_args=["-quiet"],
    )  # fmt: skip
    argv = apple.create_args("img", config(), vm, NEW, None, {})
    for flag in ("--rosetta", "--virtualization", "--init", "--kernel-arg=-quiet", "--dns-option=-ndots:2"):
        assert flag in argv
    assert argv[argv.index("--cpus") + 1] == "2"
    assert argv[argv.index("--memory") + 1] == "1024M"
    assert argv[argv.index("--arch") + 1] == "amd64"


def test_generic_limits_map_onto_the_vm() -> None:
    argv = apple.create_args("img", config(cpus=3.0, memory_bytes=512 * apple.MIB), AppleConfig(), NEW, None, {})
    assert argv[argv.index("--cpus") + 1] == "3"
    assert argv[argv.index("--memory") + 1] == "512M"


def test_platform_before_0_4_is_os_and_arch() -> None:
    argv = apple.create_args("img", config(platform="linux/amd64"), AppleConfig(), (0, 3, 0), None, {})
    assert argv[argv.index("--os") + 1] == "linux"
    assert argv[argv.index("--arch") + 1] == "amd64"
    assert "--platform" not in argv


def test_leading_dash_command_is_separated_from_options() -> None:
    argv = apple.create_args("redis", config(command=["--port", "7000"]), AppleConfig(), NEW, None, {})
    assert argv[-4:] == ["redis", "--", "--port", "7000"]


def test_gate_wraps_the_resolved_process() -> None:
    argv = apple.create_args("img", config(), AppleConfig(), NEW, ["/entry", "serve"], {}, gate=True)
    assert argv[argv.index("--entrypoint") + 1] == "/bin/sh"
    assert argv[-7:] == ["img", "--", "-c", apple.GATE_SCRIPT, "testctr-gate", "/entry", "serve"]


@given(
    st.dictionaries(
        st.text(st.characters(blacklist_characters="=\x00", blacklist_categories=["Cs"]), min_size=1),
        st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"])),
        max_size=5,
    )
)
def test_env_is_one_token_per_variable(env: dict[str, str]) -> None:
    argv = apple.create_args("img", config(env=env), AppleConfig(), NEW, None, {})
    tokens = [a for a in argv if a.startswith("--env=")]
    assert tokens == [f"--env={k}={v}" for k, v in env.items()]


def test_process_argv_resolution() -> None:
    assert apple.process_argv(config(args=["-x"]), ["/e"], ["cmd"]) == ["/e", "cmd", "-x"]
    assert apple.process_argv(config(command=["c"], args=["-x"]), ["/e"], ["cmd"]) == ["/e", "c", "-x"]
    assert apple.process_argv(config(entrypoint=["/o", "a"]), ["/e"], ["cmd"]) == ["/o", "a"]


# --- what the backend refuses -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cfg", "vm", "version", "option"),
    [
        (config(privileged=True), AppleConfig(), NEW, "with_privileged"),
        (config(cpus=0.5), AppleConfig(), NEW, "with_cpus"),
        (config(mounts=[Mount(__file__, "/x")]), AppleConfig(), NEW, "with_bind_mount"),
        (config(ports=[PortSpec(80)]), AppleConfig(), (0, 2, 0), "with_port"),
        (config(networks=["n"]), AppleConfig(), (0, 1, 0), "with_network"),
        (config(), AppleConfig(kernel_args=["quiet"]), OLD, "AppleConfig.kernel_args"),
        (config(), AppleConfig(init=True), OLD, "AppleConfig.init"),
        (config(), AppleConfig(rosetta=True), (0, 6, 0), "AppleConfig.rosetta"),
        (config(ports=[PortSpec(80, "sctp")]), AppleConfig(), NEW, "with_port"),
        (config(labels={"k": "a=b"}), AppleConfig(), NEW, "with_label"),
        (config(memory_bytes=64 * apple.MIB), AppleConfig(), NEW, "with_memory_limit"),
    ],
)
def test_unsupported_options_are_named(
    cfg: ContainerConfig, vm: AppleConfig, version: apple.Version, option: str
) -> None:
    with pytest.raises(UnsupportedOption) as raised:
        apple.check_config(cfg, vm, version)
    assert raised.value.option == option
    assert raised.value.backend == "apple"


def test_contradicting_limits_are_invalid() -> None:
    with pytest.raises(InvalidOption, match="contradicts"):
        apple.check_config(config(cpus=2.0), AppleConfig(cpus=4), NEW)


def test_direct_ip_cannot_choose_host_ports() -> None:
    with pytest.raises(InvalidOption, match="direct_ip"):
        apple.check_config(config(ports=[PortSpec(80, host_port=8080)]), AppleConfig(direct_ip=True), NEW)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cpus": 0},
        {"cpus": 1.5},
        {"memory": "lots"},
        {"arch": "mips"},
        {"dns": "1.1.1.1"},
        {"no_dns": True, "dns": ["x"]},
    ],
)
def test_apple_config_validates(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidOption):
        AppleConfig(**kwargs)  # type: ignore[arg-type]


# --- error texts (as printed by the tool) ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'Error: internalError: "failed to list containers" (cause: "interrupted: "XPC connection error: '
        'Connection invalid"")\nEnsure container system service has been started with `container system start`.',
        'Error: failed to get a response from apiserver: interrupted: "XPC connection error: Connection invalid"',
        "apiserver is not running and not registered with launchd",
    ],
)
def test_service_down_texts(text: str) -> None:
    assert apple._SERVICE_DOWN.search(text)


@pytest.mark.parametrize(
    "text",
    [
        "Error: container not found: nothere",
        "Error: get failed: container nothere not found",
        'Error: failed to delete container (cause: "container with ID x1 not found")',
        'Error: notFound: "failed to delete one or more containers: ["x1"]"',
    ],
)
def test_not_found_texts(text: str) -> None:
    assert apple._NOT_FOUND.search(text)


def test_image_not_found_is_not_a_missing_container() -> None:
    assert not apple._NOT_FOUND.search("Error: image not found: redis:7")


def test_allocated_ports_are_not_handed_out_twice() -> None:
    ports = {apple.allocate_port() for _ in range(20)}
    assert len(ports) == 20


def test_platform_predicate_off_macos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(apple.BIN_ENV, raising=False)
    monkeypatch.setattr(apple.sys, "platform", "linux")
    ok, why = apple.platform_supported()
    assert not ok and "macOS 15" in why
    assert not apple.is_available()
    monkeypatch.setenv(apple.BIN_ENV, "/opt/container")
    assert apple.is_available()


# --- following a log by reading it whole (LogFollower's cursor) -------------------------------


def render_log(lines: list[str]) -> str:
    """What `container logs` prints for a log of these lines: trimmed of newlines, then one."""
    return "\n".join(lines).strip("\n") + "\n"


@pytest.mark.parametrize(
    ("text", "lines"),
    [("", []), ("\n", []), ("a\nb\n", ["a", "b"]), ("a\r\nb", ["a", "b"]), ("a\n\nb\n", ["a", "", "b"])],
)
def test_log_lines(text: str, lines: list[str]) -> None:
    assert apple.log_lines(text) == lines


@given(
    st.lists(st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=8)),
    st.lists(st.integers(0, 30), max_size=6),
)
def test_cursor_gives_every_line_once_in_order(lines: list[str], cuts: list[int]) -> None:
    cursor = apple.LogCursor()
    given_out: list[str] = []
    for cut in [*sorted(cuts), len(lines)]:
        given_out += cursor.advance(apple.log_lines(render_log(lines[:cut])))
    assert given_out == apple.log_lines(render_log(lines))


def test_cursor_gives_a_half_written_line_again_whole() -> None:
    cursor = apple.LogCursor()
    assert cursor.advance(["early", "rea"]) == ["early", "rea"]
    assert cursor.advance(["early", "ready", "next"]) == ["ready", "next"]
    assert cursor.advance(["early", "ready", "next"]) == []


def test_cursor_starts_over_when_the_log_was_replaced() -> None:
    cursor = apple.LogCursor()
    assert cursor.advance(["a", "b", "c"]) == ["a", "b", "c"]
    assert cursor.advance(["new"]) == ["new"]
    assert cursor.advance(["new", "more"]) == ["more"]
