#!/bin/bash
# Entrypoint of testctr.local/influxdb:1, as the official influxdb:1.8
# image's: arguments starting with "-" go to influxd; before influxd starts,
# /init-influxdb.sh sets the server up once (see there).
set -e

if [ "${1:0:1}" = '-' ]; then
	set -- influxd "$@"
fi

if [ "$1" = influxd ]; then
	/init-influxdb.sh "${@:2}"
fi

exec "$@"
