"""openldap module: bitnami's variables, seed LDIF files, the accessors' defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from testctr.errors import InvalidOption
from testctr.modules import openldap
from testctr.option import build_spec


class FakeContainer:
    def __init__(self, *opts: object) -> None:
        self.config = build_spec(opts).config  # type: ignore[arg-type]


def test_accessors_follow_the_options_or_the_image_defaults() -> None:
    plain = FakeContainer(openldap.default())
    assert openldap.admin_dn(plain) == "cn=admin,dc=example,dc=org"  # type: ignore[arg-type]
    assert openldap.admin_password(plain) == "adminpassword"  # type: ignore[arg-type]
    custom = FakeContainer(openldap.with_admin("boss", "pw"), openldap.with_root("dc=acme,dc=test"))
    assert openldap.admin_dn(custom) == "cn=boss,dc=acme,dc=test"  # type: ignore[arg-type]
    assert openldap.admin_password(custom) == "pw"  # type: ignore[arg-type]


def test_users_become_two_lists() -> None:
    env = build_spec([openldap.with_users({"a": "pa", "b": "pb"})]).config.env
    assert (env["LDAP_USERS"], env["LDAP_PASSWORDS"]) == ("a,b", "pa,pb")


def test_ldif_files_are_numbered_or_named(tmp_path: Path) -> None:
    seed = tmp_path / "people.ldif"
    seed.write_text("dn: dc=x\n")
    spec = build_spec([openldap.with_ldif("dn: dc=a\n"), openldap.with_ldif(seed), openldap.with_ldif("dn: b\n")])
    assert [(f.container_path, f.data) for f in spec.config.files] == [
        ("/ldifs/00-testctr.ldif", b"dn: dc=a\n"),
        ("/ldifs/people.ldif", b"dn: dc=x\n"),
        ("/ldifs/02-testctr.ldif", b"dn: b\n"),
    ]


def test_validation() -> None:
    for bad in ("example.org", "dc=", ""):
        with pytest.raises(InvalidOption):
            openldap.with_root(bad)
    with pytest.raises(InvalidOption):
        openldap.with_users({"a": "p,q"})
    with pytest.raises(InvalidOption):
        openldap.with_users({})
    with pytest.raises(InvalidOption):
        openldap.with_users([("a", "b")])  # type: ignore[arg-type]
    with pytest.raises(InvalidOption):
        openldap.with_ldif("no entries here")
    with pytest.raises(InvalidOption):
        openldap.with_ldif(b"dn: x")  # type: ignore[arg-type]
    with pytest.raises(InvalidOption):
        openldap.with_admin("a b", "pw")
