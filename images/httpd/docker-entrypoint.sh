#!/bin/sh
# Entrypoint of testctr.local/httpd:latest.
#   HTTPD_DELAY=N  wait N seconds before starting the server (to test waits).
# busybox httpd installs no SIGTERM handler, and as PID 1 it would ignore
# `docker stop`; so this shell stays PID 1, runs the server as its child and
# ends it on TERM/INT/QUIT (exit status 0, a graceful stop like nginx's).
set -eu

child=
# shellcheck disable=SC2329  # called by the traps below
stop() {
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null || :
		wait "$child" 2>/dev/null || :
	fi
	exit 0
}
trap stop TERM INT QUIT

if [ -n "${HTTPD_DELAY:-}" ] && [ "${HTTPD_DELAY}" != 0 ]; then
	echo "httpd: delaying start by ${HTTPD_DELAY}s (HTTPD_DELAY)" >&2
	# In the background so that a stop signal is handled at once.
	sleep "$HTTPD_DELAY" &
	child=$!
	wait "$child" || :
	child=
fi

if [ "${1:-}" != httpd ]; then
	exec "$@"
fi

echo "httpd: serving /www on port 80" >&2
"$@" &
child=$!
status=0
wait "$child" || status=$?
exit "$status"
