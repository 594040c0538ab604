#!/bin/bash
# Entrypoint of testctr.local/memcached:1, following the official memcached
# image: arguments starting with "-" are given to memcached, which runs as
# user "memcache" in the foreground.
# memcached itself prints nothing when it is ready; this entrypoint prints
# "memcached ready" once the port accepts connections, so a log wait works.
set -euo pipefail

first=${1:-}
if [ "${first#-}" != "$first" ]; then
	set -- memcached "$@"
fi

if [ "${1:-}" = memcached ]; then
	port=11211
	prev=
	for arg in "$@"; do
		case "$prev" in -p|--port) port=$arg ;; esac
		case "$arg" in --port=*) port=${arg#--port=} ;; -p[0-9]*) port=${arg#-p} ;; esac
		prev=$arg
	done
	"$@" &
	pid=$!
	trap 'kill -TERM "$pid" 2>/dev/null' TERM INT
	for _ in $(seq 200); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "memcached ready on port $port"
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	status=0
	wait "$pid" || status=$?
	# A TERM interrupts the first wait; wait for memcached itself to leave.
	if kill -0 "$pid" 2>/dev/null; then
		wait "$pid" || status=$?
	fi
	exit "$status"
fi

exec "$@"
