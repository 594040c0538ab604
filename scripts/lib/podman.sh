# scripts/lib/podman.sh: root's Podman: its configuration, its Docker-compatible
# API service, and a check that `podman run` works with this machine's limits.
# shellcheck shell=bash

PODMAN_SOCK=/run/podman/podman.sock
PODMAN_PIDFILE=/run/podman/testctr-service.pid
PODMAN_CONF=/etc/containers/containers.conf.d/50-testctr.conf
PODMAN_REGISTRIES_CONF=/etc/containers/registries.conf.d/50-testctr.conf

# choose_podman: PODMAN=1 when Podman is to be provisioned. Root only: the
# tests use root's Podman (its storage and /run/podman/podman.sock), which a
# rootless user cannot fill.
choose_podman() {
	PODMAN=
	if [ -z "${TESTCTR_SKIP_PODMAN:-}" ] && have podman; then
		if [ -n "$IS_ROOT" ]; then
			PODMAN=1
		else
			say "not root: Podman is left alone"
		fi
	fi
}

# configure_podman: writes our drop-ins; PODMAN_CONF_CHANGED=1 when it did.
configure_podman() {
	PODMAN_CONF_CHANGED=
	[ -n "$PODMAN" ] || return 0
	# Podman 4.3 reads drop-ins from /etc/containers/containers.conf.d/ after
	# containers.conf, so nothing else is touched.
	# - this machine refuses podman's default rlimits: ask for less;
	# - no systemd/journald here: log and event files, cgroupfs.
	if write_config "$PODMAN_CONF" "$(cat <<-'CONF'
		# Written by testctr's scripts/provision.
		[containers]
		default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
		log_driver = "k8s-file"

		[engine]
		events_logger = "file"
		cgroup_manager = "cgroupfs"
	CONF
	)"; then
		PODMAN_CONF_CHANGED=1
	fi
	# The local registry (registry.sh) speaks plain HTTP; Docker allows that
	# for 127.0.0.0/8 by default, Podman only when told.
	if write_config "$PODMAN_REGISTRIES_CONF" "$(cat <<-CONF
		# Written by testctr's scripts/provision: the local test registry.
		[[registry]]
		location = "$REGISTRY"
		insecure = true
	CONF
	)"; then
		PODMAN_CONF_CHANGED=1
	fi
}

sock_ping() {
	if have curl; then
		[ "$(curl -fsS --max-time 3 --unix-socket "$1" http://d/_ping 2>/dev/null)" = OK ]
	else
		python3 - "$1" > /dev/null 2>&1 <<-'EOF'
			import socket, sys
			s = socket.socket(socket.AF_UNIX)
			s.settimeout(3)
			s.connect(sys.argv[1])
			s.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
			sys.exit(0 if s.recv(4096).split(b"\r\n")[0].split()[1] == b"200" else 1)
		EOF
	fi
}

# The pid of the Podman API service on PODMAN_SOCK: from our pidfile, else
# (started by hand or by an older provision) from the process list.
podman_service_pid() {
	local pid
	pid=$(cat "$PODMAN_PIDFILE" 2>/dev/null || :)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
		&& tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "system service .*$PODMAN_SOCK"; then
		printf '%s\n' "$pid"
		return 0
	fi
	have pgrep && pgrep -f "^([^ ]*/)?podman system service .*unix://$PODMAN_SOCK\$" | head -n 1 | grep .
}

# podman_service_up: the service answers on PODMAN_SOCK. A service under load
# can miss one 3 s ping: while its process lives, ping again for up to about
# 40 s; one that still does not answer is reported, not replaced (a second
# service would take the socket from under the tests using the first).
podman_service_up() {
	local pid
	sock_ping "$PODMAN_SOCK" && return 0
	pid=$(podman_service_pid) || return 1
	say "the Podman API service (pid $pid) did not answer a ping; trying again"
	for _ in $(seq 1 10); do
		sleep 1
		sock_ping "$PODMAN_SOCK" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
	done
	die "the Podman API service (pid $pid) runs but has not answered on $PODMAN_SOCK for 40 s (log: /var/log/podman-service.log); stop it to have it restarted"
}

# start_podman_service: the API service answers on PODMAN_SOCK afterwards.
start_podman_service() {
	local deadline
	[ -n "$PODMAN" ] && [ -n "$IS_ROOT" ] || return 0
	if podman_service_up; then
		if [ -n "$PODMAN_CONF_CHANGED" ]; then
			warn "the Podman API service on $PODMAN_SOCK was started before $PODMAN_CONF or $PODMAN_REGISTRIES_CONF changed; restart it to apply the new settings"
		fi
		return 0
	fi
	say "starting the Podman API service on $PODMAN_SOCK (log: /var/log/podman-service.log)"
	mkdir -p "$(dirname "$PODMAN_SOCK")"
	rm -f "$PODMAN_SOCK"   # a stale socket: no service process lives
	spawn_daemon /var/log/podman-service.log podman system service --time=0 "unix://$PODMAN_SOCK"
	printf '%s\n' "$!" > "$PODMAN_PIDFILE"
	deadline=$(( $(date +%s) + 20 ))
	until sock_ping "$PODMAN_SOCK"; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			die_with_log /var/log/podman-service.log "the Podman API service did not answer on $PODMAN_SOCK within 20 s"
		fi
		sleep 0.2
	done
}

# check_podman_run: podman run must work with this machine's limits; checked
# again only when the configuration, podman or the busybox image changed.
check_podman_run() {
	local stamp key out
	[ -n "$PODMAN_USABLE" ] && [ -n "${PODMAN_LABEL[testctr.local/busybox:latest]:-}" ] || return 0
	stamp=$CACHE_DIR/podman-run-verified
	# shellcheck disable=SC2002  # a missing file hashes as empty
	key="$(stat -L -c '%s %Y' "$(command -v podman)") | $(cat "$PODMAN_CONF" 2>/dev/null | sha256sum) | ${PODMAN_LABEL[testctr.local/busybox:latest]:-new}"
	if [ -n "$PODMAN_CHANGED" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$key" ]; then
		if ! out=$(podman run --rm testctr.local/busybox:latest true 2>&1); then
			printf '%s\n' "$out" >&2
			die "'podman run --rm testctr.local/busybox:latest true' fails (see $PODMAN_CONF)"
		fi
		printf '%s\n' "$key" > "$stamp"
	fi
}

# podman_bridges_beside_dockerd: peers on one Podman bridge reach each other
# while dockerd runs. dockerd sets the FORWARD policy to DROP, and with
# br_netfilter (bridge-nf-call-iptables=1) frames between two containers on
# one bridge pass FORWARD too; netavark accepts them for its ordinary networks
# but adds no rule for an internal one, so peers on a Podman internal network
# could not talk. Accept bridged frames inside a podman bridge only: traffic
# between networks, or out of an internal one, is routed, not bridged, so
# isolation stays as netavark set it.
podman_bridges_beside_dockerd() {
	[ -n "$IS_ROOT" ] && have iptables || return 0
	iptables -n -L DOCKER-USER >/dev/null 2>&1 || return 0
	local rule=(-i 'podman+' -o 'podman+' -m physdev --physdev-is-bridged -j ACCEPT)
	iptables -C DOCKER-USER "${rule[@]}" 2>/dev/null || iptables -I DOCKER-USER "${rule[@]}" ||
		warn "could not add the iptables rule for Podman internal networks (peers on one cannot talk)"
}
