"""sftp module against the real OpenSSH image, with paramiko: upload, download, the chroot."""

from __future__ import annotations

import io

import paramiko
import pytest

import testctr
from testctr.modules import sftp

pytestmark = pytest.mark.engine


def test_upload_download_on_every_runtime(request: pytest.FixtureRequest, runtime: str) -> None:
    s = testctr.new(
        request,
        sftp.IMAGE,
        sftp.with_user("alice", "s3cret"),
        sftp.default(),
        sftp.with_user("bob", "b-pass", uid=2001, dirs=["inbox", "outbox/archive"]),
        testctr.with_runtime(runtime),
    )
    with sftp.client(s, "alice", "s3cret") as client:
        client.putfo(io.BytesIO(b"id,total\n1,9.50\n"), "upload/report.csv")
        got = io.BytesIO()
        client.getfo("upload/report.csv", got)
        assert got.getvalue() == b"id,total\n1,9.50\n"
        # Chrooted: "/" is alice's home, whose only entry is her upload dir.
        assert client.listdir("/") == ["upload"]
        with pytest.raises(PermissionError):
            client.putfo(io.BytesIO(b"x"), "/not-allowed.txt")
    assert s.exec_simple("cat", "/home/alice/upload/report.csv") == "id,total\n1,9.50"
    with sftp.client(s, "bob", "b-pass") as client:
        assert sorted(client.listdir("/")) == ["inbox", "outbox"]
        client.putfo(io.BytesIO(b"done"), "outbox/archive/a.txt")
    assert s.exec_simple("stat", "-c", "%u", "/home/bob/outbox/archive/a.txt").strip() == "2001"
    with pytest.raises(paramiko.AuthenticationException), sftp.client(s, "alice", "wrong"):
        pass
