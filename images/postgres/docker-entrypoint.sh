#!/usr/bin/env bash
# Entrypoint of testctr.local/postgres:15. It honours the contract of the
# official postgres image:
#   POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust),
#   POSTGRES_USER (default postgres), POSTGRES_DB (default: the user),
#   POSTGRES_INITDB_ARGS, POSTGRES_INITDB_WALDIR, POSTGRES_HOST_AUTH_METHOD,
#   PGDATA, *_FILE variants of the POSTGRES_* variables,
#   /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz|*.sql.xz|*.sql.zst run once
#   against a temporary server that listens on the unix socket only,
#   arguments starting with "-" are given to postgres (`-c fsync=off`).
# No `set -u`: init scripts sourced from /docker-entrypoint-initdb.d run in
# this shell and may use unset variables.
set -Eeo pipefail
shopt -s nullglob

# env_or_file NAME [DEFAULT]: export NAME from $NAME or from the file named
# by $NAME_FILE (Docker secrets), else DEFAULT.
env_or_file() {
	local name=$1 default=${2:-}
	local file_name="${name}_FILE"
	local value=${!name:-} file=${!file_name:-}
	if [ -n "$value" ] && [ -n "$file" ]; then
		printf >&2 'error: both %s and %s are set (but are exclusive)\n' "$name" "$file_name"
		exit 1
	fi
	if [ -z "$value" ] && [ -n "$file" ]; then
		value=$(< "$file")
	fi
	export "$name"="${value:-$default}"
	unset "$file_name"
}

# Options that make postgres print something and exit: no setup for those.
wants_help() {
	local arg
	for arg; do
		case "$arg" in
			-'?'|--help|--describe-config|-V|--version) return 0 ;;
		esac
	done
	return 1
}

load_env() {
	env_or_file POSTGRES_PASSWORD
	env_or_file POSTGRES_USER postgres
	env_or_file POSTGRES_DB "$POSTGRES_USER"
	env_or_file POSTGRES_INITDB_ARGS
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	DATABASE_ALREADY_EXISTS=
	if [ -s "$PGDATA/PG_VERSION" ]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

# Create PGDATA (and the socket and WAL directories); as root, hand them to
# the postgres user.
prepare_dirs() {
	local uid; uid=$(id -u)
	mkdir -p "$PGDATA"
	chmod 00700 "$PGDATA" || :
	mkdir -p /var/run/postgresql || :
	chmod 03775 /var/run/postgresql || :
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		mkdir -p "$POSTGRES_INITDB_WALDIR"
		if [ "$uid" = 0 ]; then
			find "$POSTGRES_INITDB_WALDIR" \! -user postgres -exec chown postgres '{}' +
		fi
		chmod 700 "$POSTGRES_INITDB_WALDIR"
	fi
	if [ "$uid" = 0 ]; then
		find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
		find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
	fi
}

require_password() {
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		cat >&2 <<-'EOF'
			Error: Database is uninitialized and superuser password is not specified.
			       You must specify POSTGRES_PASSWORD to a non-empty value for the
			       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

			       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
			       connections without a password. This is *not* recommended.

			       See PostgreSQL documentation about "trust":
			       https://www.postgresql.org/docs/current/auth-trust.html
		EOF
		exit 1
	fi
	if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
		cat >&2 <<-'EOF'
			********************************************************************************
			WARNING: POSTGRES_HOST_AUTH_METHOD has been set to "trust". This will allow
			         anyone with access to the Postgres port to access your database without
			         a password, even if POSTGRES_PASSWORD is set.
			********************************************************************************
		EOF
	fi
}

# initdb wants the current uid in /etc/passwd; fake one for `docker run --user`.
nss_wrapper_on() {
	local uid gid lib
	uid=$(id -u)
	gid=$(id -g)
	getent passwd "$uid" >/dev/null 2>&1 && return 0
	for lib in /usr/lib/*/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
		[ -s "$lib" ] || continue
		NSS_WRAPPER_PASSWD=$(mktemp)
		NSS_WRAPPER_GROUP=$(mktemp)
		printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$uid" "$gid" "$PGDATA" > "$NSS_WRAPPER_PASSWD"
		printf 'postgres:x:%s:\n' "$gid" > "$NSS_WRAPPER_GROUP"
		export LD_PRELOAD="$lib" NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
		return 0
	done
}

nss_wrapper_off() {
	if [[ "${LD_PRELOAD:-}" == */libnss_wrapper.so ]]; then
		rm -f "$NSS_WRAPPER_PASSWD" "$NSS_WRAPPER_GROUP"
		unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
	fi
}

run_initdb() {
	local waldir=()
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		# shellcheck disable=SC2034  # used inside the eval below
		waldir=(--waldir "$POSTGRES_INITDB_WALDIR")
	fi
	nss_wrapper_on
	# POSTGRES_INITDB_ARGS goes through the shell's word splitting and quote
	# removal (as in the official image), e.g. "--data-checksums -E UTF8".
	# --pwfile needs a non-empty file, hence the newline.
	eval 'initdb --username="$POSTGRES_USER" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"' "${waldir[@]}"'
	nss_wrapper_off
}

# Allow host connections with the configured password method (scram-sha-256
# by default in PostgreSQL 15) or POSTGRES_HOST_AUTH_METHOD.
setup_host_auth() {
	if [ "${1:-}" = postgres ]; then shift; fi
	local method
	method=$(postgres -C password_encryption "$@")
	: "${POSTGRES_HOST_AUTH_METHOD:=$method}"
	{
		echo
		if [ "$POSTGRES_HOST_AUTH_METHOD" = trust ]; then
			echo '# warning trust is enabled for all connections'
		fi
		echo "host all all all $POSTGRES_HOST_AUTH_METHOD"
	} >> "$PGDATA/pg_hba.conf"
}

# Temporary server for the init phase: unix socket only, no TCP.
temp_server_start() {
	if [ "${1:-}" = postgres ]; then shift; fi
	set -- "$@" -c listen_addresses='' -p "${PGPORT:-5432}"
	NOTIFY_SOCKET='' PGUSER="${PGUSER:-$POSTGRES_USER}" \
		pg_ctl -D "$PGDATA" -o "$(printf '%q ' "$@")" -w start
}

temp_server_stop() {
	PGUSER="${PGUSER:-postgres}" pg_ctl -D "$PGDATA" -m fast -w stop
}

# docker_process_sql [psql args]: run SQL (stdin or -f FILE) as POSTGRES_USER
# in POSTGRES_DB. The name and the "psql" array below are what init scripts
# written for the official image use.
docker_process_sql() {
	local runner=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
	if [ -n "$POSTGRES_DB" ]; then
		runner+=(--dbname "$POSTGRES_DB")
	fi
	PGHOST='' PGHOSTADDR='' "${runner[@]}" "$@"
}

create_database() {
	local found
	# POSTGRES_DB='' for the function only: connect to "postgres", create $POSTGRES_DB.
	# shellcheck disable=SC2097,SC2098
	found=$(POSTGRES_DB='' docker_process_sql --dbname postgres --set db="$POSTGRES_DB" --tuples-only \
		<<< "SELECT 1 FROM pg_database WHERE datname = :'db';")
	if [ -z "$found" ]; then
		# shellcheck disable=SC2097,SC2098
		POSTGRES_DB='' docker_process_sql --dbname postgres --set db="$POSTGRES_DB" \
			<<< 'CREATE DATABASE :"db";'
		echo
	fi
}

run_init_files() {
	# shellcheck disable=SC2034  # used by sourced init scripts
	psql=(docker_process_sql)
	echo
	local f
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					echo "$0: running $f"
					"$f"
				else
					echo "$0: sourcing $f"
					# shellcheck disable=SC1090
					. "$f"
				fi
				;;
			*.sql)     echo "$0: running $f"; docker_process_sql -f "$f"; echo ;;
			*.sql.gz)  echo "$0: running $f"; gunzip -c "$f" | docker_process_sql; echo ;;
			*.sql.xz)  echo "$0: running $f"; xzcat "$f" | docker_process_sql; echo ;;
			*.sql.zst) echo "$0: running $f"; zstd -dc "$f" | docker_process_sql; echo ;;
			*)         echo "$0: ignoring $f" ;;
		esac
		echo
	done
}

# A stop request during initialisation: stop the temporary server and leave.
on_stop_during_init() {
	echo "$0: stop requested during initialization" >&2
	pg_ctl -D "$PGDATA" -m immediate -w stop >/dev/null 2>&1 || :
	exit 143
}

main() {
	if [ "${1:0:1}" = '-' ]; then
		set -- postgres "$@"
	fi

	if [ "$1" = postgres ] && ! wants_help "$@"; then
		load_env
		prepare_dirs
		if [ "$(id -u)" = 0 ]; then
			# Start again as the postgres user.
			export HOME=/var/lib/postgresql
			exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
		fi

		if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
			trap on_stop_during_init INT TERM
			require_password
			# Fail early on an unreadable init directory.
			ls /docker-entrypoint-initdb.d/ > /dev/null
			run_initdb
			setup_host_auth "$@"
			# Needed when POSTGRES_INITDB_ARGS asks for password auth locally.
			export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
			temp_server_start "$@"
			create_database
			run_init_files
			temp_server_stop
			unset PGPASSWORD
			trap - INT TERM
			printf '\nPostgreSQL init process complete; ready for start up.\n\n'
		else
			printf '\nPostgreSQL Database directory appears to contain a database; Skipping initialization\n\n'
		fi
	fi

	exec "$@"
}

main "$@"
