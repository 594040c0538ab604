"""The JSON of Apple's ``container``: inspect and list in both shapes, dates, addresses, images.

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

from testctr.backend.types import PortBinding
from testctr.backends.apple import parsing

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
    info = parsing.parse_container(load(RAW / "inspect.json")[0])
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
    info = parsing.parse_container(load(RAW / "inspect-published-port.json")[0])
    assert info.ports == {"80/tcp": [PortBinding("0.0.0.0", 8080)]}
    assert info.internal_ip == "192.168.64.8"


def test_inspect_1x_mount_parses() -> None:
    info = parsing.parse_container(load(RAW / "inspect-mount.json")[0])
    assert info.state.running
    assert info.internal_ip.count(".") == 3


@pytest.mark.parametrize("name", ["list.json"])
def test_list_1x(name: str) -> None:
    items = load(RAW / name)
    infos = [parsing.parse_container(item) for item in items]
    assert [i.id for i in infos] == ["probe"]
    assert infos[0].internal_ip == "192.168.64.7"


def test_list_1x_kina_capture() -> None:
    info = parsing.parse_container(load(FIXTURES / "kina" / "ls-1.0.0.json")[0])
    assert info.id == "kina-probe-100"
    assert info.internal_ip == "192.168.65.2"
    assert info.image == "docker.io/library/alpine:latest"


def test_raw_and_reindented_fixtures_parse_alike() -> None:
    head = FIXTURES / "lynicis-applecontainer-go" / "head"
    for name in ("inspect.json", "inspect-published-port.json", "inspect-mount.json"):
        assert parsing.parse_container(load(RAW / name)[0]) == parsing.parse_container(load(head / name)[0])


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
    info = parsing.parse_container(SNAPSHOT_0_7)
    assert info.id == "web"
    assert info.state.running
    assert info.state.exit_code is None
    assert info.internal_ip == "192.168.64.3"
    assert info.created is None  # no date before 0.8.0
    assert info.ports == {
        "80/tcp": [PortBinding("127.0.0.1", 40000)],
        "81/tcp": [PortBinding("127.0.0.1", 40001)],
    }
    assert info.labels == {"testctr": "true"}


def test_inspect_0_12_numeric_swift_date_and_stopped_state() -> None:
    info = parsing.parse_container(SNAPSHOT_0_12)
    assert not info.state.running
    assert info.state.status == "stopped"
    # 978307200 = 2001-01-01T00:00:00Z in Unix time
    assert info.created == dt.datetime.fromtimestamp(978307200 + 802000000.5, dt.timezone.utc)
    assert info.internal_ip == "192.168.64.9"


def test_direct_ip_ports_come_from_the_label() -> None:
    item = json.loads(json.dumps(SNAPSHOT_0_12))
    item["status"] = "running"
    item["configuration"]["labels"] = {parsing.DIRECT_PORTS_LABEL: "5432/tcp,53/udp"}
    info = parsing.parse_container(item)
    assert info.ports == {
        "5432/tcp": [PortBinding("192.168.64.9", 5432)],
        "53/udp": [PortBinding("192.168.64.9", 53)],
    }


def test_stopped_container_has_no_address() -> None:
    item = {"id": "x", "configuration": {"id": "x"}, "status": {"state": "stopped", "networks": []}}
    info = parsing.parse_container(item)
    assert info.internal_ip == ""
    assert not info.state.running


# --- dates, addresses, images ---------------------------------------------------------------


@given(st.floats(min_value=0, max_value=2e9, allow_nan=False))
def test_swift_dates_count_from_2001(seconds: float) -> None:
    parsed = parsing.parse_date(seconds)
    assert parsed is not None
    assert abs((parsed - parsing.SWIFT_EPOCH).total_seconds() - seconds) < 1e-3


@given(st.datetimes(min_value=dt.datetime(2001, 1, 1), max_value=dt.datetime(2100, 1, 1)))
def test_iso_dates_round_trip(moment: dt.datetime) -> None:
    moment = moment.replace(microsecond=0, tzinfo=dt.timezone.utc)
    assert parsing.parse_date(moment.strftime("%Y-%m-%dT%H:%M:%SZ")) == moment


@given(st.ip_addresses(v=4), st.integers(min_value=0, max_value=32))
def test_strip_prefix(ip: object, prefix: int) -> None:
    assert parsing.strip_prefix(f"{ip}/{prefix}") == str(ip)
    assert parsing.strip_prefix(str(ip)) == str(ip)


def test_image_process_both_shapes() -> None:
    one = [{"variants": [{"platform": {"architecture": "arm64"}, "config": {"config": {"Cmd": ["sh"]}}}]}]
    zero = [{"name": "x", "variants": [{"config": {"config": {"Entrypoint": ["/e"], "Cmd": ["a"]}}}]}]
    assert parsing.image_process(one) == ([], ["sh"])
    assert parsing.image_process(zero) == (["/e"], ["a"])
    assert parsing.image_process([]) == ([], [])


def test_network_addresses_by_name() -> None:
    item = {
        "id": "x",
        "configuration": {"id": "x"},
        "status": {
            "state": "running",
            "networks": [
                {"network": "default", "ipv4Address": "192.168.64.3/24"},
                {"network": "backend", "ipv4Address": "192.168.65.3/24"},
            ],
        },
    }
    info = parsing.parse_container(item)
    assert info.networks == {"default": "192.168.64.3", "backend": "192.168.65.3"}
    assert info.internal_ip == "192.168.64.3"


def test_parse_network_reads_labels_where_recorded() -> None:
    labelled = parsing.parse_network({"id": "n1", "config": {"labels": {"testctr": "true"}}})
    assert (labelled.id, labelled.name, labelled.labels) == ("n1", "n1", {"testctr": "true"})
    assert parsing.parse_network({"id": "default", "state": "running"}).labels == {}
