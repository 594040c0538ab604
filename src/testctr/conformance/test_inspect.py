"""Clause inspect: labels round-trip (a key has one meaning), internal IP present, created time parses.

A label value with ``=`` in it either round-trips or is refused with
UnsupportedOption("with_label") (Apple's ``container`` cannot express one);
the other labels must round-trip on every backend. A created time the engine
does not report at all is None (unknown, ok*); one that is reported must be an
aware datetime close to now.
"""

from __future__ import annotations

import datetime as dt
import ipaddress

import pytest

import testctr
from testctr.conformance._support import BUSYBOX, SLEEPER, record_unsupported

pytestmark = [pytest.mark.clause("inspect"), pytest.mark.engine]


@pytest.fixture(scope="module")
def box(request: pytest.FixtureRequest) -> testctr.Container:
    return testctr.new(
        request,
        BUSYBOX,
        testctr.with_command(*SLEEPER),
        testctr.with_label("org.example.plain", "value"),
        testctr.with_label("org.example.tricky", "spaces, commas: colons; and ünïcode"),
        testctr.with_label("org.example.empty", ""),
        testctr.with_wait_for_log("ready"),
    )


def test_labels_round_trip(box: testctr.Container) -> None:
    labels = box.inspect().labels
    assert labels["org.example.plain"] == "value"
    assert labels["org.example.tricky"] == "spaces, commas: colons; and ünïcode"
    assert labels["org.example.empty"] == ""
    assert labels["testctr"] == "true", "testctr's own labels (for testctr ls / clean)"
    assert labels["testctr.test"]


def test_label_value_with_equals_sign(request: pytest.FixtureRequest) -> None:
    value = "a=b, c == d"
    try:
        c = testctr.new(
            request,
            BUSYBOX,
            testctr.with_command(*SLEEPER),
            testctr.with_label("org.example.equals", value),
            testctr.with_wait_for_log("ready"),
        )
    except testctr.UnsupportedOption as e:
        assert e.option == "with_label", f"UnsupportedOption names the option, got {e.option!r}"
        record_unsupported(request, "with_label (value with '=')")
        return
    assert c.inspect().labels["org.example.equals"] == value


def test_identity(box: testctr.Container) -> None:
    info = box.inspect()
    assert info.id == box.id or info.id.startswith(box.id) or box.id.startswith(info.id)
    assert info.name == box.name
    assert info.state.running
    assert info.state.status


def test_internal_ip_present(box: testctr.Container) -> None:
    ip = box.internal_ip()
    assert ip, "a container on the default network has an address"
    assert "/" not in ip
    ipaddress.ip_address(ip)
    assert box.inspect().internal_ip == ip


def test_created_time_parses(request: pytest.FixtureRequest, box: testctr.Container) -> None:
    created = box.inspect().created
    if created is None:
        # The engine does not report it (Apple's container before 0.8.0): unknown, shown as ok*.
        record_unsupported(request, "created time (not reported)")
        return
    assert created.tzinfo is not None, "created is an aware datetime"
    now = dt.datetime.now(dt.timezone.utc)
    # Generous bounds: the engine's clock may be another machine's.
    assert now - dt.timedelta(hours=1) < created < now + dt.timedelta(minutes=10)


def test_a_label_key_has_one_meaning(box: testctr.Container) -> None:
    # A key holding '=' meant "key a, value b=c" on some engines and "key a=b" on others:
    # testctr refuses it before any backend sees it, so no backend can differ.
    with pytest.raises(testctr.InvalidOption, match="="):
        testctr.with_label("org.example.a=b", "c")
    keys = set(box.inspect().labels)
    assert "org.example.plain" in keys and not any("=" in key for key in keys)
