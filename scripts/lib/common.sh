# scripts/lib/common.sh: what every section of scripts/provision uses: output,
# the machine's traits (root, Debian, systemd), the cache folder, temporary
# folders, the lock, config files and the summary.
# shellcheck shell=bash

say() { printf 'provision: %s\n' "$*"; }
warn() { printf 'provision: warning: %s\n' "$*" >&2; }
die() { printf 'provision: error: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
# systemd runs this machine (sd_booted()): its units, not us, start daemons.
systemd_runs() { [ -d /run/systemd/system ] && have systemctl; }
# systemd_has UNIT: systemd runs UNIT or starts it at boot.
systemd_has() { systemd_runs && { systemctl is-active -q "$1" || systemctl is-enabled -q "$1"; } 2>/dev/null; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# Print the end of a log and fail.
die_with_log() {
	local log=$1; shift
	if [ -s "$log" ]; then
		printf -- '----- last lines of %s -----\n' "$log" >&2
		tail -n 40 "$log" >&2
		printf -- '-----\n' >&2
	fi
	die "$*"
}

# setup_machine: PATH, IS_ROOT, IS_DEBIAN, CACHE_DIR and LOG_DIR; then waits
# for the lock, so one provisioning runs at a time on this machine.
setup_machine() {
	# dockerd, debootstrap, setsid... live in sbin; keep the PATH order otherwise
	# (/usr/local/bin/docker, the 28.x client, must stay the one used).
	case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin ;; esac
	case ":$PATH:" in *:/sbin:*) ;; *) PATH=$PATH:/sbin ;; esac
	export PATH

	IS_ROOT=
	[ "$(id -u)" = 0 ] && IS_ROOT=1
	IS_DEBIAN=
	[ -r /etc/debian_version ] && have apt-get && have dpkg-query && IS_DEBIAN=1

	if [ -n "${TESTCTR_CACHE_DIR:-}" ]; then
		CACHE_DIR=$TESTCTR_CACHE_DIR
	elif [ -n "$IS_ROOT" ] || [ -w /var/cache/testctr ]; then
		CACHE_DIR=/var/cache/testctr
	else
		CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/testctr
	fi
	LOG_DIR=$CACHE_DIR/logs
	mkdir -p "$CACHE_DIR" "$LOG_DIR"

	trap remove_tmp_dirs EXIT

	if have flock; then
		exec 9>"$CACHE_DIR/provision.lock"
		if ! flock -n 9; then
			say "another provisioning is running; waiting for it"
			flock -w 900 9 || die "another provision holds the lock for 15 minutes"
		fi
		# Left by a run that was killed.
		rm -rf "$CACHE_DIR"/tmp.*
	fi

	if [ -z "$IS_ROOT" ] || [ -z "$IS_DEBIAN" ]; then
		say "this is not Debian run as root: installing packages, configuring Podman and"
		say "starting daemons are skipped; images are built where docker answers and they can be."
	fi
}

TMP_DIRS=()
remove_tmp_dirs() {
	local d
	for d in "${TMP_DIRS[@]+"${TMP_DIRS[@]}"}"; do
		rm -rf "$d"
	done
}
# new_tmp_dir VAR: a fresh folder under the cache (removed on exit) in $VAR.
new_tmp_dir() {
	local d
	d=$(mktemp -d "$CACHE_DIR/tmp.XXXXXX")
	TMP_DIRS+=("$d")
	printf -v "$1" '%s' "$d"
}

# write_config FILE CONTENT: FILE holds CONTENT (and a newline) afterwards,
# replaced atomically; succeeds only when it had to be written.
write_config() {
	local file=$1 content=$2
	if [ -f "$file" ] && [ "$(cat "$file")" = "$content" ]; then
		return 1
	fi
	# Called as a condition, where set -e does not apply: fail by hand.
	if ! { mkdir -p "$(dirname "$file")" && printf '%s\n' "$content" > "$file.tmp" && mv "$file.tmp" "$file"; }; then
		die "cannot write $file"
	fi
	say "wrote $file"
}

# One line per image (and the registry's copy), printed at the end.
SUMMARY=()
print_summary() {
	local line
	for line in "${SUMMARY[@]}"; do
		say "$line"
	done
}
