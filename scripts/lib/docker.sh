# scripts/lib/docker.sh: a dockerd that answers (started here when none does).
# shellcheck shell=bash

docker_ok() { timeout 20 docker info >/dev/null 2>&1; }

# The pid of a dockerd that runs with the default pidfile (one we started, or
# one still starting): waited for, never doubled.
dockerd_pid() {
	local pid
	pid=$(cat /run/docker.pid 2>/dev/null || :)
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] && printf '%s\n' "$pid"
}

# wait_docker LOG WHAT: wait up to 30 s for 'docker info' to answer.
wait_docker() {
	local t deadline
	t=$(date +%s.%N)
	deadline=$(( $(date +%s) + 30 ))
	until docker_ok; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			die_with_log "$1" "$2 but 'docker info' did not answer within 30 s"
		fi
		sleep 0.5
	done
	say "dockerd answers after $(since "$t") s"
}

# start_dockerd: 'docker info' answers afterwards, or provisioning fails.
start_dockerd() {
	local pid
	if ! have docker; then
		die "no docker client on PATH"
	fi
	docker_ok && return 0
	if [ -n "$IS_ROOT" ] && systemd_has docker.service; then
		# Installing docker.io on a systemd machine enables docker.service: use
		# it; a second dockerd would fight it for /run/docker.pid and the socket.
		say "starting docker.service (systemd)"
		systemctl start docker.service || die "systemctl start docker.service failed (journalctl -u docker.service)"
		wait_docker /dev/null "docker.service started (journalctl -u docker.service)"
	elif [ -n "$IS_ROOT" ] && pid=$(dockerd_pid); then
		say "dockerd $pid runs but does not answer yet; waiting for it (log: /var/log/dockerd.log)"
		wait_docker /var/log/dockerd.log "dockerd $pid runs"
	elif [ -n "$IS_ROOT" ] && have dockerd; then
		say "starting dockerd (log: /var/log/dockerd.log)"
		spawn_daemon /var/log/dockerd.log dockerd
		wait_docker /var/log/dockerd.log "dockerd started"
	else
		die "docker does not answer ('docker info' failed) and this script cannot start dockerd here (needs root and Debian's docker.io)"
	fi
}
