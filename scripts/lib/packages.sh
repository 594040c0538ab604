# scripts/lib/packages.sh: the Debian packages provisioning needs (apt-get).
# shellcheck shell=bash

pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# install_packages: installs what is missing, where this is Debian run as
# root; elsewhere warns.
install_packages() {
	local missing=() t apt_opts
	have dockerd || missing+=(docker.io)
	if [ -z "${TESTCTR_SKIP_PODMAN:-}" ]; then
		have podman || missing+=(podman)
	fi
	have debootstrap || missing+=(debootstrap)
	have docker-registry || missing+=(docker-registry)
	have docker-compose || missing+=(docker-compose)   # testctr.compose's tests (v1)
	have ip || missing+=(iproute2)   # scripts/remote-engine's bridge
	have curl || have python3 || missing+=(curl)   # http_get, sock_ping
	if [ -n "$IS_DEBIAN" ]; then
		pkg_installed busybox-static || missing+=(busybox-static)
	elif ! [ -x /bin/busybox ]; then
		missing+=(busybox-static)
	fi
	[ "${#missing[@]}" -gt 0 ] || return 0

	if [ -z "$IS_ROOT" ] || [ -z "$IS_DEBIAN" ]; then
		warn "missing ${missing[*]}; cannot install them here (needs root on Debian), skipping"
		return 0
	fi
	say "installing ${missing[*]} (apt-get; about a minute)"
	t=$(date +%s.%N)
	export DEBIAN_FRONTEND=noninteractive
	apt_opts=(-o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
	# without_fds: package scripts may start services (docker, the
	# registry), which must not inherit our lock or our caller's pipes.
	if ! without_fds apt-get "${apt_opts[@]}" update > "$LOG_DIR/apt.log" 2>&1; then
		die_with_log "$LOG_DIR/apt.log" "apt-get update failed"
	fi
	if ! without_fds apt-get "${apt_opts[@]}" install -y "${missing[@]}" >> "$LOG_DIR/apt.log" 2>&1; then
		die_with_log "$LOG_DIR/apt.log" "apt-get install ${missing[*]} failed"
	fi
	say "installed ${missing[*]} in $(since "$t") s"
}
