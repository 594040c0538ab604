#!/bin/sh
# Entrypoint of testctr.local/nginx:1, following the official nginx image:
# when the command is nginx or nginx-debug, run /docker-entrypoint.d/*.sh
# (executable ones; *.envsh are sourced) first; NGINX_ENTRYPOINT_QUIET_LOGS
# silences this script's own lines.
set -e

entrypoint_log() {
	if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then
		echo "$@"
	fi
}

if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
	entrypoint_log "$0: Looking for shell scripts in /docker-entrypoint.d/"
	for f in /docker-entrypoint.d/*; do
		[ -f "$f" ] || continue
		case "$f" in
			*.envsh)
				if [ -x "$f" ]; then
					entrypoint_log "$0: Sourcing $f"
					. "$f"
				fi
				;;
			*.sh)
				if [ -x "$f" ]; then
					entrypoint_log "$0: Launching $f"
					"$f"
				else
					entrypoint_log "$0: Ignoring $f, not executable"
				fi
				;;
		esac
	done
	entrypoint_log "$0: Configuration complete; ready for start up"
fi
if [ "$1" = nginx-debug ]; then
	# Debian's nginx has the debug log compiled in: the same binary serves.
	shift
	set -- nginx "$@"
fi

exec "$@"
