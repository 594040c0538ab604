#!/bin/bash
# Entrypoint of testctr.local/redis:7, following the official redis image:
#  - arguments starting with "-" (or a *.conf file) are given to redis-server;
#  - redis-server runs as user "redis" in /data;
#  - protected mode is off and redis listens on all interfaces (the official
#    image compiles protected-mode off; Debian's build has it on, so it is
#    turned off on the command line unless the user configures it).
set -euo pipefail

first=${1:-}
if [ "${first#-}" != "$first" ] || [ "${first%.conf}" != "$first" ]; then
	set -- redis-server "$@"
fi

if [ "${1:-}" = redis-server ]; then
	if [ "$(id -u)" = 0 ]; then
		# Own the data directory, then start again as "redis".
		find . \! -user redis -exec chown redis '{}' + 2>/dev/null || :
		export HOME=/data
		exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
	fi

	# A fresh umask like the official image (files readable only by redis).
	if [ "$(umask)" = 0022 ]; then
		umask 0077
	fi

	user_sets_protected_mode=
	for arg in "${@:2}"; do
		case "$arg" in
			--protected-mode|--protected-mode=*) user_sets_protected_mode=1 ;;
		esac
	done
	if [ $# -ge 2 ] && [ "${2#-}" = "$2" ]; then
		# redis-server CONFIG-FILE [options]: options must follow the file.
		if [ -z "$user_sets_protected_mode" ] && [ -r "$2" ] \
			&& grep -qiE '^[[:space:]]*protected-mode[[:space:]]' "$2"; then
			user_sets_protected_mode=1
		fi
		if [ -z "$user_sets_protected_mode" ]; then
			set -- "$1" "$2" --protected-mode no "${@:3}"
		fi
	elif [ -z "$user_sets_protected_mode" ]; then
		set -- "$1" --protected-mode no "${@:2}"
	fi
fi

exec "$@"
