#!/bin/sh
# Entrypoint of testctr.local/mosquitto:2, as the official image's: as root,
# /mosquitto belongs to user "mosquitto" (mosquitto drops to that user itself).
set -e

if [ "$(id -u)" = 0 ] && [ -d /mosquitto ]; then
	chown -R mosquitto:mosquitto /mosquitto || true
fi

exec "$@"
