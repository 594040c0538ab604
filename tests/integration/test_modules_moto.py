"""moto's server checked with boto3: S3, SQS and DynamoDB, and the per-test bucket and queue."""

from __future__ import annotations

import botocore.exceptions
import pytest

import testctr
from testctr.modules import moto
from testctr.owners import ScriptOwner

pytestmark = pytest.mark.engine


@pytest.fixture(scope="module")
def aws(request: pytest.FixtureRequest) -> testctr.Container:
    return testctr.new(request, moto.IMAGE, moto.default(), moto.with_account_id("111122223333"))


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1"])
def test_s3_put_get_in_a_bucket_of_the_test(
    aws: testctr.Container, request: pytest.FixtureRequest, region: str
) -> None:
    s3 = moto.client(aws, "s3", region)
    bucket = moto.bucket(aws, request, region)
    assert bucket == moto.bucket_name(request.node.nodeid)
    s3.put_object(Bucket=bucket, Key="greeting.txt", Body=b"hello")
    assert s3.get_object(Bucket=bucket, Key="greeting.txt")["Body"].read() == b"hello"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["greeting.txt"]
    # Asked again in the same test: the same bucket, contents kept.
    assert moto.bucket(aws, request, region) == bucket
    assert s3.get_object(Bucket=bucket, Key="greeting.txt")["Body"].read() == b"hello"


def test_sqs_send_receive_in_a_queue_of_the_test(aws: testctr.Container, request: pytest.FixtureRequest) -> None:
    sqs = moto.client(aws, "sqs", region="eu-west-1")
    url = moto.queue(aws, request, region="eu-west-1")
    assert "111122223333" in url  # with_account_id reached the server
    sqs.send_message(QueueUrl=url, MessageBody="job-1")
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in messages] == ["job-1"]


def test_dynamodb_table_put_get(aws: testctr.Container) -> None:
    import boto3

    ddb = boto3.resource("dynamodb", **moto.settings(aws))
    table = ddb.create_table(
        TableName="users",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table.put_item(Item={"id": "u1", "name": "Ada"})
    assert table.get_item(Key={"id": "u1"})["Item"] == {"id": "u1", "name": "Ada"}
    table.delete()


def test_bucket_and_queue_are_removed_when_the_test_ends(aws: testctr.Container) -> None:
    owner = ScriptOwner("test_modules_moto.py::a finished test")
    bucket, url = moto.bucket(aws, owner), moto.queue(aws, owner)
    s3, sqs = moto.client(aws, "s3"), moto.client(aws, "sqs")
    s3.put_object(Bucket=bucket, Key="left/over", Body=b"x")
    owner.close()
    with pytest.raises(botocore.exceptions.ClientError, match="Not Found"):
        s3.head_bucket(Bucket=bucket)
    assert url not in sqs.list_queues().get("QueueUrls", [])
