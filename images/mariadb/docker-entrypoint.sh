#!/usr/bin/env bash
# Entrypoint of testctr.local/mariadb:10. It honours the contract of the
# official mariadb image (and the mysql image's MYSQL_* names):
#   MARIADB_ROOT_PASSWORD / MYSQL_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_HASH,
#   MARIADB_ALLOW_EMPTY_ROOT_PASSWORD / MYSQL_ALLOW_EMPTY_PASSWORD,
#   MARIADB_RANDOM_ROOT_PASSWORD / MYSQL_RANDOM_ROOT_PASSWORD (one of them is
#   required for a new database), MARIADB_ROOT_HOST / MYSQL_ROOT_HOST (default
#   %), MARIADB_DATABASE / MYSQL_DATABASE, MARIADB_USER / MYSQL_USER with
#   MARIADB_PASSWORD / MYSQL_PASSWORD (or MARIADB_PASSWORD_HASH), granted all
#   on that database, MARIADB_INITDB_SKIP_TZINFO / MYSQL_INITDB_SKIP_TZINFO,
#   *_FILE variants, /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz|*.sql.xz|
#   *.sql.zst run once against a temporary server started with
#   --skip-networking, arguments starting with "-" are given to mariadbd.
# No `set -u`: init scripts sourced from /docker-entrypoint-initdb.d run in
# this shell and may use unset variables.
set -Eeo pipefail
shopt -s nullglob

# Logging in the official image's format; init scripts may call these.
mysql_log() {
	local type=$1; shift
	printf '%s [%s] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$type" "$*"
}
mysql_note() { mysql_log Note "$@"; }
mysql_warn() { mysql_log Warn "$@" >&2; }
mysql_error() { mysql_log ERROR "$@" >&2; exit 1; }

# env_or_file NAME [DEFAULT]: export NAME from $NAME or from the file named
# by $NAME_FILE (Docker secrets), else DEFAULT.
env_or_file() {
	local name=$1 default=${2:-}
	local file_name="${name}_FILE"
	local value=${!name:-} file=${!file_name:-}
	if [ -n "$value" ] && [ -n "$file" ]; then
		mysql_error "Both $name and $file_name are set (but are exclusive)"
	fi
	if [ -z "$value" ] && [ -n "$file" ]; then
		value=$(< "$file")
	fi
	export "$name"="${value:-$default}"
	unset "$file_name"
}

# env_pair MYSQL_X [DEFAULT]: MARIADB_X wins over MYSQL_X; both end up equal.
env_pair() {
	local mysql_name=$1 default=${2:-}
	local maria_name="MARIADB_${mysql_name#MYSQL_}"
	env_or_file "$mysql_name" "$default"
	env_or_file "$maria_name" "${!mysql_name}"
	export "$mysql_name"="${!maria_name}"
}

# Options that make mariadbd print something and exit: no setup for those.
wants_help() {
	local arg
	for arg; do
		case "$arg" in
			-'?'|--help|--print-defaults|-V|--version) return 0 ;;
		esac
	done
	return 1
}

# DATADIR, SOCKET and PORT as the server will use them (config files and
# command-line arguments included), from one `mariadbd --verbose --help`.
read_server_config() {
	local out
	if ! out=$("$@" --verbose --help 2>&1); then
		mysql_error $'mariadbd failed while attempting to check config\n\tcommand was: '"$* --verbose --help"$'\n\t'"$out"
	fi
	DATADIR=$(awk '$1 == "datadir" && /^[^ \t]/ { sub(/^[^ \t]+[ \t]+/, ""); print; exit }' <<< "$out")
	SOCKET=$(awk '$1 == "socket" && /^[^ \t]/ { sub(/^[^ \t]+[ \t]+/, ""); print; exit }' <<< "$out")
	PORT=$(awk '$1 == "port" && /^[^ \t]/ { sub(/^[^ \t]+[ \t]+/, ""); print; exit }' <<< "$out")
	DATADIR=${DATADIR%/}
}

load_env() {
	env_pair MYSQL_ROOT_HOST '%'
	env_pair MYSQL_DATABASE
	env_pair MYSQL_USER
	env_pair MYSQL_PASSWORD
	env_pair MYSQL_ROOT_PASSWORD
	env_or_file MARIADB_PASSWORD_HASH
	env_or_file MARIADB_ROOT_PASSWORD_HASH
	env_or_file MARIADB_USER_HOST '%'
	: "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:=${MYSQL_ALLOW_EMPTY_PASSWORD:-}}"
	export MYSQL_ALLOW_EMPTY_PASSWORD="$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" MARIADB_ALLOW_EMPTY_ROOT_PASSWORD
	: "${MARIADB_RANDOM_ROOT_PASSWORD:=${MYSQL_RANDOM_ROOT_PASSWORD:-}}"
	export MYSQL_RANDOM_ROOT_PASSWORD="$MARIADB_RANDOM_ROOT_PASSWORD" MARIADB_RANDOM_ROOT_PASSWORD
	: "${MARIADB_INITDB_SKIP_TZINFO:=${MYSQL_INITDB_SKIP_TZINFO:-}}"
	export MYSQL_INITDB_SKIP_TZINFO="$MARIADB_INITDB_SKIP_TZINFO" MARIADB_INITDB_SKIP_TZINFO
	DATABASE_ALREADY_EXISTS=
	if [ -d "$DATADIR/mysql" ]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

# As root: the data and socket directories belong to mysql.
prepare_dirs() {
	mkdir -p "$DATADIR"
	if [ "$(id -u)" = 0 ]; then
		find "$DATADIR" \! -user mysql \( -exec chown mysql: '{}' + -o -true \)
		if [ "${SOCKET:0:1}" != '@' ]; then
			mkdir -p "${SOCKET%/*}"
			find "${SOCKET%/*}" -maxdepth 0 \! -user mysql \( -exec chown mysql: '{}' \; -o -true \)
		fi
	fi
}

require_password() {
	if [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MARIADB_ROOT_PASSWORD_HASH" ] \
		&& [ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
		mysql_error $'Database is uninitialized and password option is not specified\n\tYou need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_HASH, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD\n\t(or MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD and MYSQL_RANDOM_ROOT_PASSWORD)'
	fi
	if [ -n "$MARIADB_ROOT_PASSWORD_HASH" ] && { [ -n "$MARIADB_ROOT_PASSWORD" ] \
		|| [ -n "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] || [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ]; }; then
		mysql_error "Cannot specify MARIADB_ROOT_PASSWORD_HASH and another MARIADB_ROOT_PASSWORD* option."
	fi
	if [ -n "$MARIADB_PASSWORD" ] && [ -n "$MARIADB_PASSWORD_HASH" ]; then
		mysql_error "Cannot specify MARIADB_PASSWORD_HASH and MARIADB_PASSWORD option."
	fi
	if [ "$MARIADB_USER" = root ]; then
		mysql_error $'MYSQL_USER="root", MYSQL_USER and MYSQL_PASSWORD are for configuring a regular user and cannot be used for the root user\n\tRemove MYSQL_USER="root" and use MYSQL_ROOT_PASSWORD (or MARIADB_ROOT_PASSWORD) to set the root password'
	fi
}

init_datadir() {
	mysql_note "Initializing database files"
	# Server arguments go to mariadb-install-db too (which cannot take
	# arguments with whitespace).
	local server_args=() arg
	for arg in "${@:2}"; do
		if [[ "$arg" =~ [[:space:]] ]]; then
			mysql_warn "Not passing argument '$arg' to mariadb-install-db (it contains whitespace)"
		else
			server_args+=("$arg")
		fi
	done
	mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
		"${server_args[@]}" \
		--cross-bootstrap --skip-test-db --old-mode='UTF8_IS_UTF8MB3' \
		--default-time-zone=SYSTEM --enforce-storage-engine= --skip-log-bin \
		--expire-logs-days=0 \
		--loose-innodb_buffer_pool_load_at_startup=0 \
		--loose-innodb_buffer_pool_dump_at_shutdown=0
	mysql_note "Database files initialized"
}

# docker_process_sql [--dont-use-mysql-root-password] [client args]: run SQL
# from stdin as root over the socket (in MYSQL_DATABASE when set). The name and
# the "mysql" array below are what init scripts for the official image use.
docker_process_sql() {
	local password=$MARIADB_ROOT_PASSWORD
	if [ "${1:-}" = --dont-use-mysql-root-password ]; then
		shift
		password=
	fi
	if [ -n "$MYSQL_DATABASE" ]; then
		set -- --database="$MYSQL_DATABASE" "$@"
	fi
	MYSQL_PWD=$password mariadb --protocol=socket -uroot -hlocalhost --socket="$SOCKET" "$@"
}

temp_server_start() {
	"$@" --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" --loose-wsrep-on=OFF \
		--expire-logs-days=0 --skip-slave-start \
		--loose-innodb_buffer_pool_load_at_startup=0 &
	TEMP_SERVER_PID=$!
	mysql_note "Waiting for server startup"
	local _
	for _ in $(seq 600); do
		if docker_process_sql --dont-use-mysql-root-password --database=mysql <<< 'SELECT 1' >/dev/null 2>&1; then
			return 0
		fi
		if ! kill -0 "$TEMP_SERVER_PID" 2>/dev/null; then
			mysql_error "Unable to start server."
		fi
		sleep 0.1
	done
	mysql_error "Unable to start server."
}

temp_server_stop() {
	kill "$TEMP_SERVER_PID"
	wait "$TEMP_SERVER_PID"
	TEMP_SERVER_PID=
}

# Escape a string for a single-quoted SQL literal.
sql_string() {
	local s=${1//\\/\\\\}
	s=${s//$'\n'/\\n}
	printf '%s' "${s//\'/\\\'}"
}

random_password() {
	local r
	r=$(head -c 64 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9')
	printf '%s' "${r:0:32}"
}

setup_db() {
	if [ -z "$MARIADB_INITDB_SKIP_TZINFO" ] && [ -d /usr/share/zoneinfo ]; then
		mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null \
			| docker_process_sql --dont-use-mysql-root-password --database=mysql
	fi

	if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
		MARIADB_ROOT_PASSWORD=$(random_password)
		export MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD=$MARIADB_ROOT_PASSWORD
		mysql_note "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
	fi

	local root_pw root_auth root_sql='' localhost_sql='' db_sql='' user_sql='' grant_sql=''
	root_pw=$(sql_string "$MARIADB_ROOT_PASSWORD")
	if [ -n "$MARIADB_ROOT_PASSWORD_HASH" ]; then
		root_auth="IDENTIFIED BY PASSWORD '$MARIADB_ROOT_PASSWORD_HASH'"
	else
		root_auth="IDENTIFIED BY '$root_pw'"
		localhost_sql="SET PASSWORD FOR 'root'@'localhost' = PASSWORD('$root_pw');"
	fi
	if [ -n "$MARIADB_ROOT_HOST" ] && [ "$MARIADB_ROOT_HOST" != localhost ]; then
		root_sql="CREATE USER 'root'@'$MARIADB_ROOT_HOST' $root_auth;
GRANT ALL ON *.* TO 'root'@'$MARIADB_ROOT_HOST' WITH GRANT OPTION;
GRANT PROXY ON ''@'%' TO 'root'@'$MARIADB_ROOT_HOST' WITH GRANT OPTION;"
	fi
	if [ -n "$MARIADB_DATABASE" ]; then
		mysql_note "Creating database ${MARIADB_DATABASE}"
		db_sql="CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"
	fi
	if [ -n "$MARIADB_USER" ]; then
		if [ -n "$MARIADB_PASSWORD" ] || [ -n "$MARIADB_PASSWORD_HASH" ]; then
			mysql_note "Creating user ${MARIADB_USER}"
			if [ -n "$MARIADB_PASSWORD_HASH" ]; then
				user_sql="CREATE USER '$MARIADB_USER'@'$MARIADB_USER_HOST' IDENTIFIED BY PASSWORD '$MARIADB_PASSWORD_HASH';"
			else
				user_sql="CREATE USER '$MARIADB_USER'@'$MARIADB_USER_HOST' IDENTIFIED BY '$(sql_string "$MARIADB_PASSWORD")';"
			fi
			if [ -n "$MARIADB_DATABASE" ]; then
				mysql_note "Giving user ${MARIADB_USER} access to schema ${MARIADB_DATABASE}"
				grant_sql="GRANT ALL ON \`${MARIADB_DATABASE//_/\\_}\`.* TO '$MARIADB_USER'@'$MARIADB_USER_HOST';"
			fi
		else
			mysql_warn "MARIADB_USER/MYSQL_USER is set without a password: user not created"
		fi
	fi

	mysql_note "Securing system users (equivalent to running mysql_secure_installation)"
	docker_process_sql --dont-use-mysql-root-password --database=mysql --binary-mode <<-EOSQL
		SET @orig_sql_log_bin = @@SESSION.SQL_LOG_BIN;
		SET @@SESSION.SQL_LOG_BIN = 0;
		SET @@SESSION.SQL_MODE = REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');
		DROP USER IF EXISTS root@'127.0.0.1', root@'::1';
		EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\'', @@hostname, '\'');
		${localhost_sql}
		${root_sql}
		SET @@SESSION.SQL_LOG_BIN = @orig_sql_log_bin;
		${db_sql}
		${user_sql}
		${grant_sql}
	EOSQL
}

run_init_files() {
	# shellcheck disable=SC2034  # used by sourced init scripts
	mysql=(docker_process_sql)
	echo
	local f
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
			*.sh)
				if [ -x "$f" ]; then
					mysql_note "$0: running $f"
					"$f"
				else
					mysql_note "$0: sourcing $f"
					# shellcheck disable=SC1090
					. "$f"
				fi
				;;
			*.sql)     mysql_note "$0: running $f"; docker_process_sql < "$f"; echo ;;
			*.sql.gz)  mysql_note "$0: running $f"; gunzip -c "$f" | docker_process_sql; echo ;;
			*.sql.xz)  mysql_note "$0: running $f"; xzcat "$f" | docker_process_sql; echo ;;
			*.sql.zst) mysql_note "$0: running $f"; zstd -dc "$f" | docker_process_sql; echo ;;
			*)         mysql_warn "$0: ignoring $f" ;;
		esac
		echo
	done
}

init_database() {
	# Fail early on an unreadable init directory.
	ls /docker-entrypoint-initdb.d/ > /dev/null
	init_datadir "$@"
	mysql_note "Starting temporary server"
	temp_server_start "$@"
	mysql_note "Temporary server started."
	setup_db
	run_init_files
	if [ -n "$MARIADB_ROOT_PASSWORD_HASH" ]; then
		mysql_note "Setting root@localhost password hash"
		docker_process_sql --dont-use-mysql-root-password --binary-mode <<-EOSQL
			SET @@SESSION.SQL_LOG_BIN=0;
			SET PASSWORD FOR 'root'@'localhost' = '${MARIADB_ROOT_PASSWORD_HASH}';
		EOSQL
	fi
	mysql_note "Stopping temporary server"
	temp_server_stop
	mysql_note "Temporary server stopped"
	echo
	mysql_note "MariaDB init process done. Ready for start up."
	echo
}

# A stop request during initialisation: stop the temporary server and leave.
on_stop_during_init() {
	mysql_warn "stop requested during initialization"
	if [ -n "${TEMP_SERVER_PID:-}" ]; then
		kill "$TEMP_SERVER_PID" 2>/dev/null || :
		wait "$TEMP_SERVER_PID" 2>/dev/null || :
	fi
	exit 143
}

main() {
	if [ "${1:0:1}" = '-' ]; then
		set -- mariadbd "$@"
	fi

	if { [ "$1" = mariadbd ] || [ "$1" = mysqld ]; } && ! wants_help "$@"; then
		mysql_note "Entrypoint script for MariaDB Server $(dpkg-query -W -f '${Version}' mariadb-server 2>/dev/null || :) started."
		if [ -n "${_ENTRYPOINT_SERVER_CONFIG:-}" ]; then
			# Read before the switch to the mysql user (same arguments).
			IFS=$'\n' read -r -d '' DATADIR SOCKET PORT <<< "$_ENTRYPOINT_SERVER_CONFIG" || :
			unset _ENTRYPOINT_SERVER_CONFIG
		else
			read_server_config "$@"
		fi
		load_env
		prepare_dirs
		if [ "$(id -u)" = 0 ]; then
			mysql_note "Switching to dedicated user 'mysql'"
			export HOME=/var/lib/mysql
			export _ENTRYPOINT_SERVER_CONFIG="$DATADIR"$'\n'"$SOCKET"$'\n'"$PORT"
			exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
		fi

		if [ -z "$DATABASE_ALREADY_EXISTS" ]; then
			trap on_stop_during_init INT TERM
			require_password
			init_database "$@"
			trap - INT TERM
		fi

		# Passwords are not for the server's environment.
		local kind
		for kind in ROOT_ ''; do
			unset "MARIADB_${kind}PASSWORD" "MARIADB_${kind}PASSWORD_HASH" "MYSQL_${kind}PASSWORD"
		done
		unset MYSQL_ROOT_HOST MARIADB_ROOT_HOST
	fi

	exec "$@"
}

main "$@"
