"""moto module: option validation, client settings, names of per-test buckets and queues."""

from __future__ import annotations

import re
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from testctr.errors import InvalidOption
from testctr.modules import moto
from testctr.option import build_spec


class FakeContainer:
    def endpoint(self, port: str | int) -> str:
        return f"127.0.0.1:4{port}"


def test_default_publishes_5000_and_waits_for_the_api() -> None:
    spec = build_spec([moto.default()])
    assert [p.key for p in spec.config.ports] == ["5000/tcp"]
    assert [w.describe() for w in spec.waits] == ["HTTP 200 from GET /moto-api/data.json on port 5000/tcp"]


def test_account_id_is_twelve_digits() -> None:
    assert build_spec([moto.with_account_id("111122223333")]).config.env == {"MOTO_ACCOUNT_ID": "111122223333"}
    for bad in ("1234", "11112222333a", "1111222233334"):
        with pytest.raises(InvalidOption, match="12 digits"):
            moto.with_account_id(bad)
    with pytest.raises(InvalidOption):
        moto.with_account_id(cast(Any, 111122223333))


def test_settings_name_the_endpoint_region_and_keys() -> None:
    container = cast(Any, FakeContainer())
    assert moto.settings(container, "eu-west-1") == {
        "endpoint_url": "http://127.0.0.1:45000",
        "region_name": "eu-west-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    assert moto.settings(container)["region_name"] == "us-east-1"
    with pytest.raises(InvalidOption, match="region"):
        moto.settings(container, "Europe")
    with pytest.raises(InvalidOption):
        moto.settings(container, cast(Any, None))


S3_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
SQS_QUEUE = re.compile(r"[A-Za-z0-9_-]{1,80}")


@given(st.text(min_size=1, max_size=300))
def test_per_test_names_are_valid_for_s3_and_sqs(test_id: str) -> None:
    assert S3_BUCKET.fullmatch(moto.bucket_name(test_id))
    assert "--" not in moto.bucket_name(test_id)
    assert SQS_QUEUE.fullmatch(moto.queue_name(test_id))


def test_long_ids_with_a_shared_prefix_get_distinct_names() -> None:
    a, b = "tests/x.py::test_" + "a" * 200 + "[1]", "tests/x.py::test_" + "a" * 200 + "[2]"
    assert moto.bucket_name(a) != moto.bucket_name(b)
    assert moto.queue_name(a) != moto.queue_name(b)
