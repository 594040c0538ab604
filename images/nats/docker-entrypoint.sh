#!/bin/sh
# Entrypoint of testctr.local/nats:2, following the official nats image:
# arguments starting with "-" are given to nats-server (so `--user u --pass p`
# or `-js` may be passed alone). nats-server logs "Server is ready" when it
# accepts clients.
set -e

if [ "${1#-}" != "$1" ]; then
	set -- nats-server "$@"
fi

exec "$@"
