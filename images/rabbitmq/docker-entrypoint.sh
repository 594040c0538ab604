#!/bin/bash
# Entrypoint of testctr.local/rabbitmq:3, following the official rabbitmq
# image: RABBITMQ_DEFAULT_USER, RABBITMQ_DEFAULT_PASS and
# RABBITMQ_DEFAULT_VHOST set the default user and virtual host (written to
# /etc/rabbitmq/conf.d/20-docker-env.conf), RABBITMQ_ERLANG_COOKIE the Erlang
# cookie; rabbitmq-server runs as user "rabbitmq".
set -euo pipefail

if [ "${1:-}" = rabbitmq-server ] && [ "$(id -u)" = 0 ]; then
	find /var/lib/rabbitmq \! -user rabbitmq -exec chown rabbitmq '{}' + 2>/dev/null || :
	conf=/etc/rabbitmq/conf.d/20-docker-env.conf
	: > "$conf"
	for pair in default_user:RABBITMQ_DEFAULT_USER default_pass:RABBITMQ_DEFAULT_PASS default_vhost:RABBITMQ_DEFAULT_VHOST; do
		key=${pair%%:*} var=${pair#*:}
		if [ -n "${!var:-}" ]; then
			printf '%s = %s\n' "$key" "${!var}" >> "$conf"
		fi
	done
	chown rabbitmq:rabbitmq "$conf"
	chmod 0600 "$conf"
	if [ -n "${RABBITMQ_ERLANG_COOKIE:-}" ]; then
		printf '%s' "$RABBITMQ_ERLANG_COOKIE" > /var/lib/rabbitmq/.erlang.cookie
		chown rabbitmq:rabbitmq /var/lib/rabbitmq/.erlang.cookie
		chmod 0600 /var/lib/rabbitmq/.erlang.cookie
	fi
	exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$0" "$@"
fi

exec "$@"
