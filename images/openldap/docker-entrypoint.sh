#!/bin/bash
# Entrypoint of testctr.local/openldap:2, honouring bitnami/openldap's variables:
#   LDAP_ROOT (dc=example,dc=org), LDAP_ADMIN_USERNAME (admin),
#   LDAP_ADMIN_PASSWORD (adminpassword): the admin is cn=USERNAME,ROOT;
#   LDAP_USERS (user01,user02), LDAP_PASSWORDS (bitnami1,bitnami2),
#   LDAP_USER_OU or LDAP_USER_DC (users), LDAP_GROUP_OU (groups),
#   LDAP_GROUP (readers): the default tree, skipped with
#   LDAP_SKIP_DEFAULT_TREE=yes or when LDAP_CUSTOM_LDIF_DIR (/ldifs) holds
#   *.ldif files, which are loaded instead, in name order;
#   LDAP_PORT_NUMBER (1389), LDAP_ALLOW_ANON_BINDING (yes),
#   LDAP_EXTRA_SCHEMAS (cosine,inetorgperson,nis), LDAP_LOGLEVEL (256).
# The database is made once, in /bitnami/openldap/data; a restart keeps it.
set -Eeuo pipefail
shopt -s nullglob

: "${LDAP_ROOT:=dc=example,dc=org}"
: "${LDAP_ADMIN_USERNAME:=admin}"
: "${LDAP_ADMIN_PASSWORD:=adminpassword}"
: "${LDAP_USERS:=user01,user02}"
: "${LDAP_PASSWORDS:=bitnami1,bitnami2}"
: "${LDAP_USER_OU:=${LDAP_USER_DC:-users}}"
: "${LDAP_GROUP_OU:=groups}"
: "${LDAP_GROUP:=readers}"
: "${LDAP_SKIP_DEFAULT_TREE:=no}"
: "${LDAP_CUSTOM_LDIF_DIR:=/ldifs}"
: "${LDAP_PORT_NUMBER:=1389}"
: "${LDAP_ALLOW_ANON_BINDING:=yes}"
: "${LDAP_EXTRA_SCHEMAS:=cosine,inetorgperson,nis}"
: "${LDAP_LOGLEVEL:=256}"

DATA_DIR=/bitnami/openldap/data
CONF=/opt/bitnami/openldap/etc/slapd.conf

if [ "${1:-}" != slapd ]; then
	exec "$@"
fi
shift

info() { printf 'openldap %s INFO  ==> %s\n' "$(date '+%H:%M:%S.%2N')" "$*"; }

write_config() {
	local schema hash
	hash=$(slappasswd -s "$LDAP_ADMIN_PASSWORD")
	{
		echo "include /etc/ldap/schema/core.schema"
		for schema in ${LDAP_EXTRA_SCHEMAS//,/ }; do
			echo "include /etc/ldap/schema/$schema.schema"
		done
		echo "modulepath /usr/lib/ldap"
		echo "moduleload back_mdb"
		echo "pidfile /opt/bitnami/openldap/var/run/slapd.pid"
		if [ "$LDAP_ALLOW_ANON_BINDING" = no ]; then
			echo "disallow bind_anon"
			echo "require authc"
		fi
		echo "database mdb"
		echo "maxsize 1073741824"
		echo "suffix \"$LDAP_ROOT\""
		echo "rootdn \"cn=$LDAP_ADMIN_USERNAME,$LDAP_ROOT\""
		echo "rootpw $hash"
		echo "directory $DATA_DIR"
		echo "index objectClass eq"
		echo "access to attrs=userPassword by self write by anonymous auth by * none"
		echo "access to * by * read"
	} > "$CONF"
}

default_tree() {
	local dc='' o=example attr index=0 user
	local -a users passwords members=()
	for attr in ${LDAP_ROOT//,/ }; do
		if [[ $attr = dc=* && -z $dc ]]; then dc=${attr:3}; fi
		if [[ $attr = o=* && $o = example ]]; then o=${attr:2}; fi
	done
	IFS=',;' read -r -a users <<< "$LDAP_USERS"
	IFS=',;' read -r -a passwords <<< "$LDAP_PASSWORDS"
	printf 'dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: %s\no: %s\n\n' "$LDAP_ROOT" "$dc" "$o"
	printf 'dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n' "$LDAP_USER_OU" "$LDAP_ROOT" "$LDAP_USER_OU"
	printf 'dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n' "$LDAP_GROUP_OU" "$LDAP_ROOT" "$LDAP_GROUP_OU"
	for user in "${users[@]}"; do
		printf 'dn: cn=%s,ou=%s,%s\n' "$user" "$LDAP_USER_OU" "$LDAP_ROOT"
		printf 'cn: User%d\nsn: Bar%d\n' $((index + 1)) $((index + 1))
		printf 'objectClass: inetOrgPerson\nobjectClass: posixAccount\nobjectClass: shadowAccount\n'
		printf 'userPassword: %s\nuid: %s\nuidNumber: %d\ngidNumber: %d\nhomeDirectory: /home/%s\n\n' \
			"${passwords[$index]:-}" "$user" $((1000 + index)) $((1000 + index)) "$user"
		members+=("cn=$user,ou=$LDAP_USER_OU,$LDAP_ROOT")
		index=$((index + 1))
	done
	printf 'dn: cn=%s,ou=%s,%s\ncn: %s\nobjectClass: groupOfNames\n' "$LDAP_GROUP" "$LDAP_GROUP_OU" "$LDAP_ROOT" "$LDAP_GROUP"
	for user in "${members[@]}"; do
		printf 'member: %s\n' "$user"
	done
	echo
}

write_config
if [ ! -e "$DATA_DIR/data.mdb" ]; then
	mkdir -p "$DATA_DIR"
	custom=("$LDAP_CUSTOM_LDIF_DIR"/*.ldif)
	if [ ${#custom[@]} -gt 0 ]; then
		for ldif in "${custom[@]}"; do
			info "Loading custom LDIF $ldif"
			slapadd -q -f "$CONF" -l "$ldif"
		done
	elif [ "$LDAP_SKIP_DEFAULT_TREE" != yes ]; then
		info "Creating LDAP default tree"
		slapadd -q -f "$CONF" -l <(default_tree)
	fi
fi

info "** Starting slapd **"
exec slapd -f "$CONF" -h "ldap://:$LDAP_PORT_NUMBER/" -d "$LDAP_LOGLEVEL" "$@"
