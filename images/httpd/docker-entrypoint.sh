#!/bin/sh
# Entrypoint of testctr.local/httpd:latest.
# HTTPD_DELAY=N: wait N seconds before starting the server (to test waits).
set -eu
trap 'exit 143' TERM
trap 'exit 130' INT
if [ -n "${HTTPD_DELAY:-}" ] && [ "${HTTPD_DELAY}" != 0 ]; then
	echo "httpd: delaying start by ${HTTPD_DELAY}s (HTTPD_DELAY)" >&2
	# In the background so that a stop signal is handled at once.
	sleep "$HTTPD_DELAY" &
	wait $!
fi
if [ "${1:-}" = httpd ]; then
	echo "httpd: serving /www on port 80" >&2
fi
exec "$@"
