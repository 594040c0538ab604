"""openldap module against the real slapd image, with ldap3: bind, add an entry, search; a seed LDIF."""

from __future__ import annotations

import ldap3
import pytest
from ldap3.core.exceptions import LDAPInvalidCredentialsResult

import testctr
from testctr.modules import openldap

pytestmark = pytest.mark.engine

SEED = """\
dn: dc=acme,dc=test
objectClass: dcObject
objectClass: organization
dc: acme
o: Acme

dn: ou=people,dc=acme,dc=test
objectClass: organizationalUnit
ou: people

dn: uid=carol,ou=people,dc=acme,dc=test
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: Smith
userPassword: carol-pw
"""


def test_bind_add_search_on_every_runtime(request: pytest.FixtureRequest, runtime: str) -> None:
    ldap = testctr.new(
        request,
        openldap.IMAGE,
        openldap.default(),
        openldap.with_admin("boss", "boss-pw"),
        openldap.with_users({"alice": "alice-pw"}),
        testctr.with_runtime(runtime),
    )
    base = openldap.base_dn(ldap)
    conn = openldap.connection(ldap)
    try:
        assert conn.extend.standard.who_am_i() == f"dn:cn=boss,{base}"
        conn.add(
            f"cn=dave,ou=users,{base}",
            ["inetOrgPerson"],
            {"sn": "Jones", "mail": "dave@example.org", "userPassword": "dave-pw"},
        )
        conn.search(base, "(objectClass=inetOrgPerson)", attributes=["cn"])
        assert sorted(e.entry_dn for e in conn.entries) == [f"cn=alice,ou=users,{base}", f"cn=dave,ou=users,{base}"]
        conn.search(f"ou=groups,{base}", "(cn=readers)", attributes=["member"])
        assert conn.entries[0].member.values == [f"cn=alice,ou=users,{base}"]
    finally:
        conn.unbind()
    user = openldap.connection(ldap, f"cn=dave,ou=users,{base}", "dave-pw")
    user.unbind()
    with pytest.raises(LDAPInvalidCredentialsResult):
        openldap.connection(ldap, f"cn=alice,ou=users,{base}", "wrong")


def test_seed_ldif_replaces_the_default_tree(request: pytest.FixtureRequest) -> None:
    ldap = testctr.new(
        request,
        openldap.IMAGE,
        openldap.with_root("dc=acme,dc=test"),
        openldap.with_ldif(SEED, name="seed"),
        openldap.default(),
        testctr.with_runtime("docker"),
    )
    assert openldap.admin_dn(ldap) == "cn=admin,dc=acme,dc=test"
    conn = openldap.connection(ldap)
    try:
        conn.search("dc=acme,dc=test", "(objectClass=inetOrgPerson)", search_scope=ldap3.SUBTREE, attributes=["uid"])
        assert [e.uid.value for e in conn.entries] == ["carol"]
    finally:
        conn.unbind()
    openldap.connection(ldap, "uid=carol,ou=people,dc=acme,dc=test", "carol-pw").unbind()
