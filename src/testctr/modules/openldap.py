"""OpenLDAP: the ``bitnami/openldap`` image, LDAP on port 1389.

    ldap = testctr.new(request, openldap.IMAGE, openldap.default())
    conn = openldap.connection(ldap)          # ldap3, bound as the admin
    conn.search(openldap.base_dn(ldap), "(objectClass=inetOrgPerson)")

Why bitnami's image: there is no official OpenLDAP image, the other common
one (``osixia/openldap``) is no longer maintained, and bitnami's is configured
by environment alone (``LDAP_ROOT``, ``LDAP_ADMIN_USERNAME``,
``LDAP_ADMIN_PASSWORD``, ``LDAP_USERS``...) and runs unprivileged on 1389.

``default()`` publishes 1389, keeps the database on tmpfs and waits for
"slapd starting" and then for the port to listen. The image's default tree is ``dc=example,dc=org`` with
``ou=users`` (``user01``/``bitnami1``, ``user02``/``bitnami2``) and the group
``cn=readers,ou=groups``; the admin is ``cn=admin,dc=example,dc=org`` with the
password ``adminpassword``. :func:`with_ldif` seeds your own entries instead
(the image then skips its default tree: your LDIF makes the root entry too).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from testctr.errors import InvalidOption
from testctr.modules import kit
from testctr.option import Option, Spec, with_env, with_file_content, with_port

if TYPE_CHECKING:
    from testctr.container import Container

IMAGE = "bitnami/openldap:2.6"
PORT = "1389/tcp"
DATA_DIR = "/bitnami/openldap/data"
LDIF_DIR = "/ldifs"

#: The image's defaults, for the accessors when no option set them.
DEFAULT_ROOT = "dc=example,dc=org"
DEFAULT_ADMIN = "admin"
DEFAULT_ADMIN_PASSWORD = "adminpassword"  # the image's documented default

_DN = re.compile(r"^[A-Za-z][A-Za-z0-9-]*=[^,]+(,[A-Za-z][A-Za-z0-9-]*=[^,]+)*$")
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


def default() -> Option:
    """Port 1389, the database on tmpfs, and a wait for slapd to listen."""
    return kit.options(
        with_port("1389"),
        kit.data_in_memory(DATA_DIR),
        kit.with_wait_for_log("slapd starting"),
        # slapd logs that line, then calls listen() on its bound socket: a client
        # connecting in between is reset. The port wait sees the socket listening.
        kit.with_wait_for_port("1389"),
    )


def with_data_on_disk() -> Option:
    """Keep the database on the container's disk (after default()): entries survive restart()."""
    return kit.data_on_disk(DATA_DIR, "openldap")


def with_root(dn: str) -> Option:
    """The tree's root (``LDAP_ROOT``), e.g. ``"dc=acme,dc=test"``."""
    text = kit.text(dn, "openldap.with_root dn")
    if not _DN.match(text):
        raise InvalidOption(f"openldap.with_root needs a DN like 'dc=acme,dc=test', got {text!r}")
    return with_env("LDAP_ROOT", text)


def with_admin(username: str, password: str) -> Option:
    """The admin ``cn=USERNAME,ROOT`` and its password."""
    name = kit.text(username, "openldap.with_admin username")
    if not _NAME.match(name):
        raise InvalidOption(f"openldap.with_admin username must be letters, digits, '.', '_' or '-', got {name!r}")
    secret = kit.text(password, "openldap.with_admin password")
    return kit.options(with_env("LDAP_ADMIN_USERNAME", name), with_env("LDAP_ADMIN_PASSWORD", secret))


def with_users(users: Mapping[str, str]) -> Option:
    """The default tree's users (``{"alice": "pw1", "bob": "pw2"}``), ``cn=NAME,ou=users,ROOT``."""
    if not isinstance(users, Mapping):
        raise InvalidOption(f"openldap.with_users needs a mapping of name to password, got {type(users).__name__}")
    if not users:
        raise InvalidOption("openldap.with_users needs at least one user")
    names, passwords = [], []
    for name, password in users.items():
        if not _NAME.match(kit.text(name, "openldap user name")):
            raise InvalidOption(f"openldap user names must be letters, digits, '.', '_' or '-', got {name!r}")
        if "," in kit.text(password, f"openldap password of {name}") or ";" in password:
            raise InvalidOption(f"openldap passwords cannot contain ',' or ';' (the image splits on them): {name}")
        names.append(name)
        passwords.append(password)
    return kit.options(with_env("LDAP_USERS", ",".join(names)), with_env("LDAP_PASSWORDS", ",".join(passwords)))


def with_ldif(ldif: str | os.PathLike[str], name: str | None = None) -> Option:
    """Seed the directory from LDIF text (or a ``.ldif`` file) instead of the image's default tree.

    Files load in name order at first start; calls stack (``00-root.ldif``,
    ``10-people.ldif``...; an unnamed one is numbered in call order). The
    first must create the root entry (``LDAP_ROOT``, ``dc=example,dc=org``
    unless :func:`with_root` changed it).
    """
    if isinstance(ldif, os.PathLike) or (isinstance(ldif, str) and "\n" not in ldif and ldif.endswith(".ldif")):
        path = os.fspath(ldif)
        with open(path, "rb") as f:
            data = f.read()
        base = name or os.path.basename(path)
    elif isinstance(ldif, str):
        if "dn:" not in ldif:
            raise InvalidOption("openldap.with_ldif needs LDIF text (with 'dn:' lines) or a path to a .ldif file")
        data = ldif.encode()
        base = name or ""
    else:
        raise InvalidOption(f"openldap.with_ldif needs LDIF text or a path, got {type(ldif).__name__}")
    if base:
        base = kit.text(base, "openldap.with_ldif name")
        if not _NAME.match(base):
            raise InvalidOption(f"openldap.with_ldif name must be a file name, got {base!r}")
        if not base.endswith(".ldif"):
            base += ".ldif"

    def apply(spec: Spec) -> None:
        file_name = base
        if not file_name:
            count = sum(1 for f in spec.config.files if f.container_path.startswith(LDIF_DIR + "/"))
            file_name = f"{count:02d}-testctr.ldif"
        with_file_content(data, f"{LDIF_DIR}/{file_name}", 0o644).apply(spec)

    return Option(f"openldap.with_ldif({base or '...'})", apply)


def base_dn(container: Container) -> str:
    """The tree's root DN."""
    return kit.env_of(container, "LDAP_ROOT", DEFAULT_ROOT)


def admin_dn(container: Container) -> str:
    return f"cn={kit.env_of(container, 'LDAP_ADMIN_USERNAME', DEFAULT_ADMIN)},{base_dn(container)}"


def admin_password(container: Container) -> str:
    return kit.env_of(container, "LDAP_ADMIN_PASSWORD", DEFAULT_ADMIN_PASSWORD)


def url(container: Container) -> str:
    """``ldap://HOST:PORT``."""
    return "ldap://" + container.endpoint(PORT)


def connection(container: Container, user: str | None = None, password: str | None = None) -> Any:
    """An ldap3 ``Connection``, bound (as the admin unless ``user``, a DN, is given); ``pip install testctr[ldap]``.

    It raises ldap3's exceptions: a refused bind is ``LDAPInvalidCredentialsResult``.
    """
    import ldap3

    server = ldap3.Server(container.host(), port=container.port(PORT), connect_timeout=10)
    conn = ldap3.Connection(
        server,
        user=user if user is not None else admin_dn(container),
        password=password if password is not None else admin_password(container),
        receive_timeout=30,
        raise_exceptions=True,
    )
    try:
        conn.bind()
    except Exception:
        conn.unbind()  # the socket is open even when the bind is refused
        raise
    return conn


__all__ = [
    "IMAGE",
    "admin_dn",
    "admin_password",
    "base_dn",
    "connection",
    "default",
    "url",
    "with_admin",
    "with_data_on_disk",
    "with_ldif",
    "with_root",
    "with_users",
]
