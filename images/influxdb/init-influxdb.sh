#!/bin/bash
# First-start setup of the official influxdb:1.8 image, run only while the
# meta directory does not exist yet and there is something to do:
#   INFLUXDB_DB: a database to create;
#   INFLUXDB_HTTP_AUTH_ENABLED=true with INFLUXDB_ADMIN_USER (and
#   INFLUXDB_ADMIN_PASSWORD, random and printed when unset): an admin user;
#   INFLUXDB_USER/_PASSWORD (all privileges on INFLUXDB_DB),
#   INFLUXDB_WRITE_USER/_PASSWORD (write), INFLUXDB_READ_USER/_PASSWORD (read);
#   /docker-entrypoint-initdb.d/*.sh (sourced) and *.iql (run with influx).
# It runs against a temporary influxd listening on 127.0.0.1 only.
set -e

AUTH_ENABLED=$INFLUXDB_HTTP_AUTH_ENABLED
if [ -z "$AUTH_ENABLED" ]; then
	AUTH_ENABLED=$(grep -iE '^\s*auth-enabled\s*=\s*true' /etc/influxdb/influxdb.conf | grep -io 'true' | cut -d '=' -f 2 | tr -d ' ' || :)
fi
INIT_USERS=$([ -n "$AUTH_ENABLED" ] && [ -n "$INFLUXDB_ADMIN_USER" ] && echo 1 || echo)
META_DIR=${INFLUXDB_META_DIR:-/var/lib/influxdb/meta}

if { [ -n "$INIT_USERS" ] || [ -n "$INFLUXDB_DB" ] || [ "$(ls -A /docker-entrypoint-initdb.d 2> /dev/null)" ]; } \
	&& [ ! -d "$META_DIR" ]; then
	CREATE_DB_QUERY="CREATE DATABASE $INFLUXDB_DB"
	if [ -n "$INIT_USERS" ]; then
		if [ -z "$INFLUXDB_ADMIN_PASSWORD" ]; then
			INFLUXDB_ADMIN_PASSWORD=$(head -c32 /dev/urandom | base64)
			echo "INFLUXDB_ADMIN_PASSWORD:$INFLUXDB_ADMIN_PASSWORD"
		fi
		INIT_QUERY="CREATE USER \"$INFLUXDB_ADMIN_USER\" WITH PASSWORD '$INFLUXDB_ADMIN_PASSWORD' WITH ALL PRIVILEGES"
	elif [ -n "$INFLUXDB_DB" ]; then
		INIT_QUERY=$CREATE_DB_QUERY
	else
		INIT_QUERY="SHOW DATABASES"
	fi

	INFLUXDB_INIT_PORT=8086
	INFLUXDB_HTTP_BIND_ADDRESS=127.0.0.1:$INFLUXDB_INIT_PORT INFLUXDB_HTTP_HTTPS_ENABLED=false influxd "$@" &
	pid=$!

	INFLUX_CMD=(influx -host 127.0.0.1 -port "$INFLUXDB_INIT_PORT" -execute)
	for i in {300..0}; do
		if "${INFLUX_CMD[@]}" "$INIT_QUERY" &> /dev/null; then
			break
		fi
		sleep 0.1
	done
	if [ "$i" = 0 ]; then
		echo >&2 'influxdb init process failed.'
		exit 1
	fi

	if [ -n "$INIT_USERS" ]; then
		INFLUX_CMD=(influx -host 127.0.0.1 -port "$INFLUXDB_INIT_PORT" -username "$INFLUXDB_ADMIN_USER" -password "$INFLUXDB_ADMIN_PASSWORD" -execute)
		if [ -n "$INFLUXDB_DB" ]; then
			"${INFLUX_CMD[@]}" "$CREATE_DB_QUERY"
		fi
		# kind PRIVILEGE: create INFLUXDB_<kind> with PRIVILEGE on INFLUXDB_DB.
		for spec in USER:ALL WRITE_USER:WRITE READ_USER:READ; do
			kind=${spec%%:*} privilege=${spec#*:}
			user_var=INFLUXDB_$kind password_var=INFLUXDB_${kind}_PASSWORD
			user=${!user_var} password=${!password_var}
			[ -n "$user" ] || continue
			if [ -z "$password" ]; then
				password=$(head -c32 /dev/urandom | base64)
				echo "$password_var:$password"
			fi
			"${INFLUX_CMD[@]}" "CREATE USER \"$user\" WITH PASSWORD '$password'"
			"${INFLUX_CMD[@]}" "REVOKE ALL PRIVILEGES FROM \"$user\""
			if [ -n "$INFLUXDB_DB" ]; then
				"${INFLUX_CMD[@]}" "GRANT $privilege ON \"$INFLUXDB_DB\" TO \"$user\""
			fi
		done
	fi

	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
			*.sh)  echo "$0: running $f"; . "$f" ;;
			*.iql) echo "$0: running $f"; "${INFLUX_CMD[@]}" "$(cat "$f")"; echo ;;
			*)     echo "$0: ignoring $f" ;;
		esac
	done

	if ! kill -s TERM "$pid" || ! wait "$pid"; then
		echo >&2 'influxdb init process failed. (Could not stop influxdb)'
		exit 1
	fi
fi
