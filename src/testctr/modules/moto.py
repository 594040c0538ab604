"""moto: AWS APIs (S3, SQS, DynamoDB, ...) from moto's server, the ``motoserver/moto`` image.

    aws = testctr.new(request, moto.IMAGE, moto.default())
    s3 = moto.client(aws, "s3")                  # a boto3 client bound to the server
    bucket = moto.bucket(aws, request)           # a bucket named after the test, removed at its end
    queue_url = moto.queue(aws, request)         # the same for an SQS queue

``default()`` publishes 5000 and waits until moto's own API answers (every
service is then served). The server takes any credentials; ``settings(aws)``
gives what any AWS SDK needs (endpoint URL, region, keys), ``client()`` a
ready boto3 client (``pip install 'testctr[moto]'``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from testctr.errors import InvalidOption
from testctr.modules.kit import text
from testctr.option import Option, options, with_env, with_port, with_wait_for_http
from testctr.owners import owner_for
from testctr.parsing import database_name

if TYPE_CHECKING:
    from testctr.container import Container

IMAGE = "motoserver/moto:latest"
PORT = 5000

DEFAULT_REGION = "us-east-1"
#: moto accepts any keys; these are the ones its documentation uses.
ACCESS_KEY = "testing"
SECRET_KEY = "testing"

_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
_ACCOUNT_ID = re.compile(r"\d{12}")


def default() -> Option:
    """Port 5000 and a wait for moto's own API (served once every service is)."""
    return options(with_port(PORT), with_wait_for_http("/moto-api/data.json", PORT))


def with_account_id(account_id: str) -> Option:
    """The account id moto puts in ARNs and queue URLs (MOTO_ACCOUNT_ID, default 123456789012)."""
    if not _ACCOUNT_ID.fullmatch(text(account_id, "moto account id")):
        raise InvalidOption(f"moto.with_account_id: {account_id!r} is not 12 digits")
    return with_env("MOTO_ACCOUNT_ID", account_id)


def endpoint_url(container: Container) -> str:
    """``http://127.0.0.1:PORT``: the endpoint of every service."""
    return f"http://{container.endpoint(PORT)}"


def settings(container: Container, region: str = DEFAULT_REGION) -> dict[str, str]:
    """Keyword arguments for ``boto3.client(service, **settings(c))``; moto serves every region."""
    if not _REGION.fullmatch(text(region, "moto region")):
        raise InvalidOption(f"moto region {region!r} is not an AWS region name like 'eu-west-1'")
    return {
        "endpoint_url": endpoint_url(container),
        "region_name": region,
        "aws_access_key_id": ACCESS_KEY,
        "aws_secret_access_key": SECRET_KEY,
    }


def client(container: Container, service: str, region: str = DEFAULT_REGION) -> Any:
    """A boto3 client for ``service`` ("s3", "sqs", "dynamodb", ...) talking to the server."""
    import boto3

    return boto3.client(text(service, "moto service"), **settings(container, region))


def bucket_name(test_id: str) -> str:
    """An S3 bucket name for a test: lowercase letters, digits and '-', unique per test id."""
    return database_name(test_id, 63).replace("_", "-")


def queue_name(test_id: str) -> str:
    """An SQS queue name for a test (at most 80 characters, unique per test id)."""
    return database_name(test_id, 80)


def bucket(container: Container, t: object, region: str = DEFAULT_REGION) -> str:
    """An empty S3 bucket named after test ``t``; it and its objects are removed when the test ends.

    Asked again in the same test, it is the same bucket (contents kept).
    """
    s3 = client(container, "s3", region)

    def make(test_id: str) -> str:
        name = bucket_name(test_id)
        _empty_bucket(s3, name)  # a leftover of an earlier run is replaced, never reused
        # Outside us-east-1, S3 wants the region named again.
        where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=name, **where)
        return name

    return _per_test(container, t, ("s3", region), make, lambda name: _empty_bucket(s3, name))


def queue(container: Container, t: object, region: str = DEFAULT_REGION) -> str:
    """An empty SQS queue named after test ``t``; returns its URL. Deleted when the test ends.

    Asked again in the same test, it is the same queue (messages kept).
    """
    sqs = client(container, "sqs", region)

    def make(test_id: str) -> str:
        url: str = sqs.create_queue(QueueName=queue_name(test_id))["QueueUrl"]
        sqs.purge_queue(QueueUrl=url)  # a leftover of an earlier run is emptied
        return url

    return _per_test(container, t, ("sqs", region), make, lambda url: sqs.delete_queue(QueueUrl=url))


#: What bucket() and queue() made for a running test: (container id, test id, kind) -> name or URL.
_made: dict[tuple[str, str, tuple[str, str]], str] = {}
_made_lock = threading.Lock()


def _per_test(
    container: Container, t: object, kind: tuple[str, str], make: Callable[[str], str], remove: Callable[[str], None]
) -> str:
    owner = owner_for(t)
    key = (container.id, owner.test_id, kind)
    with _made_lock:
        made = _made.get(key)
        if made is None:
            made = _made[key] = make(owner.test_id)

            def cleanup(made: str = made) -> None:
                with _made_lock:
                    _made.pop(key, None)
                remove(made)

            owner.add_cleanup(cleanup)
    return made


def _empty_bucket(s3: Any, name: str) -> None:
    """Delete the bucket and everything in it, if it exists."""
    try:
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=name)
        for page in pages:
            for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                s3.delete_object(Bucket=name, Key=item["Key"], VersionId=item["VersionId"])
        s3.delete_bucket(Bucket=name)
    except s3.exceptions.NoSuchBucket:
        return


__all__ = [
    "IMAGE",
    "bucket",
    "bucket_name",
    "client",
    "default",
    "endpoint_url",
    "queue",
    "queue_name",
    "settings",
    "with_account_id",
]
