"""SFTP: the ``atmoz/sftp`` image, an SFTP-only OpenSSH server on port 22.

    s = testctr.new(request, sftp.IMAGE, sftp.default(), sftp.with_user("alice", "s3cret"))
    with sftp.client(s, "alice", "s3cret") as client:     # paramiko.SFTPClient
        client.put("report.csv", "upload/report.csv")

Every user is chrooted to its home; the home itself belongs to root (sshd
requires it), so users write into the directories made for them (``upload``
unless :func:`with_user` says otherwise). ``default()`` publishes 22 and
waits for sshd's "Server listening" line; users go to
``/etc/sftp/users.conf``, one line per call, in any order with ``default()``.
The image refuses to start without a user.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from testctr.errors import InvalidOption, TestctrError
from testctr.modules import kit
from testctr.option import Option, with_port

if TYPE_CHECKING:
    from testctr.container import Container

IMAGE = "atmoz/sftp:latest"
PORT = "22/tcp"
USERS_CONF = "/etc/sftp/users.conf"

_USER = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._-]{0,31}$")
_DIR = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


def default() -> Option:
    """Port 22 and a wait for sshd."""
    return kit.options(with_port("22"), kit.with_wait_for_log("Server listening on"))


def user_line(
    name: str, password: str, *, uid: int | None = None, gid: int | None = None, dirs: Sequence[str] = ("upload",)
) -> str:
    """The image's ``user:pass:uid:gid:dir1,dir2`` form of one user."""
    user = kit.text(name, "sftp user name")
    if not _USER.match(user):
        raise InvalidOption(f"sftp user name must be 1-32 letters, digits, '.', '_' or '-', got {user!r}")
    secret = kit.text(password, "sftp password")
    if ":" in secret:
        raise InvalidOption("sftp passwords cannot contain ':' (the image's separator)")
    ids = ["" if v is None else str(kit.positive_int(v, f"sftp {what}")) for v, what in ((uid, "uid"), (gid, "gid"))]
    if isinstance(dirs, str) or not isinstance(dirs, Sequence):
        raise InvalidOption(f"sftp dirs must be a sequence of str, got {type(dirs).__name__}")
    for d in dirs:
        if not _DIR.match(kit.text(d, "sftp dir")) or ".." in d.split("/"):
            raise InvalidOption(f"sftp dirs are relative paths inside the home, like 'upload', got {d!r}")
    return ":".join([user, secret, *ids, ",".join(dirs)])


def with_user(
    name: str, password: str, *, uid: int | None = None, gid: int | None = None, dirs: Sequence[str] = ("upload",)
) -> Option:
    """A user who logs in with ``password`` and may write in ``dirs`` of its chroot home."""
    return kit.config_lines(USERS_CONF, [user_line(name, password, uid=uid, gid=gid, dirs=dirs)])


@contextlib.contextmanager
def client(container: Container, user: str, password: str) -> Iterator[Any]:
    """A paramiko ``SFTPClient`` logged in as ``user``, closed with its connection on exit.

    The server's host key is not checked: each container makes a new one.
    ``pip install testctr[sftp]``.
    """
    import paramiko

    transport = paramiko.Transport((container.host(), container.port(PORT)))
    try:
        transport.connect(username=user, password=password)
        sftp = paramiko.SFTPClient.from_transport(transport)
        if sftp is None:
            raise TestctrError(f"sftp on {container.name}: the server opened no SFTP channel")
        try:
            yield sftp
        finally:
            sftp.close()
    finally:
        transport.close()


__all__ = ["IMAGE", "client", "default", "user_line", "with_user"]
