"""sftp module: atmoz's user lines and their validation."""

from __future__ import annotations

import pytest

from testctr.errors import InvalidOption
from testctr.modules import sftp
from testctr.option import build_spec


def test_user_lines() -> None:
    assert sftp.user_line("alice", "pw") == "alice:pw:::upload"
    assert sftp.user_line("bob", "pw", uid=1001, gid=100, dirs=["in", "out/x"]) == "bob:pw:1001:100:in,out/x"
    assert sftp.user_line("carol", "pw", dirs=()) == "carol:pw:::"


def test_users_stack_in_users_conf_in_any_order() -> None:
    spec = build_spec([sftp.with_user("a", "1"), sftp.default(), sftp.with_user("b", "2")])
    assert [(f.container_path, f.data) for f in spec.config.files] == [
        ("/etc/sftp/users.conf", b"a:1:::upload\nb:2:::upload\n")
    ]


def test_validation() -> None:
    for name, password in (("a:b", "pw"), ("alice", "p:w"), ("", "pw"), ("alice", ""), ("x" * 33, "pw")):
        with pytest.raises(InvalidOption):
            sftp.user_line(name, password)
    for dirs in (["../up"], ["/abs"], ["a b"]):
        with pytest.raises(InvalidOption):
            sftp.user_line("alice", "pw", dirs=dirs)
    with pytest.raises(InvalidOption):
        sftp.user_line("alice", "pw", dirs="upload")
    with pytest.raises(InvalidOption):
        sftp.user_line("alice", "pw", uid="1000")  # type: ignore[arg-type]
    with pytest.raises(InvalidOption):
        sftp.user_line("alice", "pw", uid=0)
