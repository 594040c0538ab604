#!/bin/sh
# Entrypoint of testctr.local/moto:5, following motoserver/moto: moto_server on
# all interfaces, port MOTO_PORT (default 5000); arguments are moto_server's
# (e.g. "-p 3000" or a service name), as with the official ENTRYPOINT.
set -eu
exec moto_server -H 0.0.0.0 -p "${MOTO_PORT:-5000}" "$@"
