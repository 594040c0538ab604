# scripts/lib/daemon.sh: starting daemons that hold none of our descriptors.
# shellcheck shell=bash
# Sourced by scripts/provision and scripts/remote-engine (bash, Linux /proc).
#
# A daemon keeps every descriptor it inherits for as long as it lives. Had it
# kept a pipe that CI reads our output from, CI would wait for EOF forever;
# had it kept provision's lock (fd 9), no provision could run again. So a
# daemon, and anything that may start one (apt-get's package scripts), gets
# 0, 1 and 2 only.

# close_fds: close every descriptor above 2 of the current (sub)shell.
close_fds() {
	local fd
	for fd in /proc/"$BASHPID"/fd/*; do
		fd=${fd##*/}
		if [ "$fd" -gt 2 ]; then
			exec {fd}>&-
		fi
	done
}

# without_fds CMD...: run CMD (in the foreground) with descriptors 0-2 only.
without_fds() {
	(
		close_fds
		exec "$@"
	)
}

# spawn_daemon LOG CMD...: start CMD in the background in its own session,
# stdin from /dev/null, stdout and stderr to LOG (truncated), descriptors 0-2
# only. $! is its pid: setsid execs without forking, as a background job of
# a script is no process-group leader.
spawn_daemon() {
	local log=$1
	shift
	(
		close_fds
		exec setsid "$@" < /dev/null > "$log" 2>&1
	) &
}
