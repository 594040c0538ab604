# scripts/lib/registry.sh: a local registry (Debian's docker-registry) on
# 127.0.0.1:5000 serving testctr.local/busybox:latest as
# 127.0.0.1:5000/testctr/busybox:latest, so pulls can be tested for real.
# shellcheck shell=bash

# Loopback only, no auth, no TLS.
REGISTRY=127.0.0.1:5000
REGISTRY_CONF=/etc/testctr-registry/config.yml
REGISTRY_DATA=/var/lib/testctr-registry
REGISTRY_IMAGE=testctr.local/busybox:latest
REGISTRY_REPO=testctr/busybox

# http_get URL [ACCEPT]: the body of a 2xx answer on stdout; fails otherwise.
http_get() {
	if have curl; then
		local headers=()
		[ -n "${2:-}" ] && headers=(-H "Accept: $2")
		curl -fsS --max-time 5 "${headers[@]+"${headers[@]}"}" "$1" 2>/dev/null
	else
		python3 - "$1" "${2:-*/*}" 2>/dev/null <<-'EOF'
			import sys, urllib.request
			request = urllib.request.Request(sys.argv[1], headers={"Accept": sys.argv[2]})
			sys.stdout.write(urllib.request.urlopen(request, timeout=5).read().decode())
		EOF
	fi
}
registry_ping() { http_get "http://$REGISTRY/v2/" > /dev/null; }
# The config digest (= Docker's image ID) of the image behind REPO:TAG in the
# registry; empty when it has no such tag.
registry_image_id() {
	http_get "http://$REGISTRY/v2/$1/manifests/$2" application/vnd.docker.distribution.manifest.v2+json \
		| tr -d ' \n\t' | sed -n 's/.*"config":{[^}]*"digest":"\(sha256:[0-9a-f]*\)".*/\1/p'
}

# configure_registry: our config written, the package's own service stopped;
# REGISTRY_CONF_CHANGED=1 when the config was written.
configure_registry() {
	local pkg_pid
	REGISTRY_CONF_CHANGED=
	[ -n "$IS_ROOT" ] && have docker-registry || return 0
	# Not the package's /etc/docker/registry/config.yml (every interface,
	# htpasswd auth): ours listens on loopback only and asks no password.
	if write_config "$REGISTRY_CONF" "$(cat <<-CONF
		# Written by testctr's scripts/provision: the local test registry.
		version: 0.1
		log:
		  level: warn
		  accesslog:
		    disabled: true
		storage:
		  filesystem:
		    rootdirectory: $REGISTRY_DATA
		  delete:
		    enabled: true
		http:
		  addr: $REGISTRY
		  headers:
		    X-Content-Type-Options: [nosniff]
	CONF
	)"; then
		REGISTRY_CONF_CHANGED=1
	fi
	# The package's own service is not used: it would hold :5000 on every
	# interface with the package's config (auth), and ours could not bind.
	# Under systemd, installing the package enables and starts it: disable it.
	if systemd_has docker-registry.service; then
		warn "disabling the docker-registry package's own service (systemd): testctr runs its own on $REGISTRY"
		systemctl disable --now docker-registry.service > /dev/null 2>&1 \
			|| die "systemctl disable --now docker-registry.service failed"
	fi
	# Without systemd its SysV script is usually kept from starting by
	# policy-rc.d; where it was started anyway, stop it.
	pkg_pid=$(cat /run/docker-registry.pid 2>/dev/null || :)
	if [ -n "$pkg_pid" ] && kill -0 "$pkg_pid" 2>/dev/null; then
		warn "stopping the docker-registry package's own service (pid $pkg_pid): testctr runs its own on $REGISTRY"
		start-stop-daemon --stop --quiet --pidfile /run/docker-registry.pid --retry 10 || :
	fi
}

# start_registry: REGISTRY_UP=1 when the registry answers (started here when
# none does and it can be).
start_registry() {
	local deadline
	REGISTRY_UP=
	if registry_ping; then
		REGISTRY_UP=1
		if [ -n "$REGISTRY_CONF_CHANGED" ]; then
			warn "the registry on $REGISTRY was started before $REGISTRY_CONF changed; restart it to apply the new settings"
		fi
	elif [ -n "$IS_ROOT" ] && have docker-registry; then
		say "starting the test registry on $REGISTRY (log: /var/log/testctr-registry.log)"
		mkdir -p "$REGISTRY_DATA"
		spawn_daemon /var/log/testctr-registry.log docker-registry serve "$REGISTRY_CONF"
		deadline=$(( $(date +%s) + 20 ))
		until registry_ping; do
			if [ "$(date +%s)" -ge "$deadline" ]; then
				die_with_log /var/log/testctr-registry.log "the registry did not answer on http://$REGISTRY/v2/ within 20 s"
			fi
			sleep 0.2
		done
		REGISTRY_UP=1
	else
		warn "no registry answers on $REGISTRY and this script cannot start one here (needs root and Debian's docker-registry): pull tests will fail"
	fi
}

# push_to_registry: pushed again only when the registry's copy is not the
# local image.
push_to_registry() {
	local remote_tag local_id t log
	[ -n "$REGISTRY_UP" ] || return 0
	remote_tag=$REGISTRY/$REGISTRY_REPO:latest
	if ! local_id=$(docker_id "$REGISTRY_IMAGE"); then
		SUMMARY+=("$(printf '%-32s skipped: %s is not in Docker' "$remote_tag" "$REGISTRY_IMAGE")")
	elif [ "$(registry_image_id "$REGISTRY_REPO" latest)" = "$local_id" ]; then
		SUMMARY+=("$(printf '%-32s registry: cached' "$remote_tag")")
	else
		t=$(date +%s.%N)
		log=$LOG_DIR/registry-push.log
		docker tag "$REGISTRY_IMAGE" "$remote_tag"
		if ! docker push "$remote_tag" > "$log" 2>&1; then
			docker rmi "$remote_tag" > /dev/null 2>&1 || :
			die_with_log "$log" "docker push $remote_tag failed"
		fi
		# Only the registry keeps that name: tests pull it into empty stores.
		docker rmi "$remote_tag" > /dev/null 2>&1 || :
		[ "$(registry_image_id "$REGISTRY_REPO" latest)" = "$local_id" ] \
			|| die "$remote_tag was pushed but the registry does not serve $local_id"
		SUMMARY+=("$(printf '%-32s registry: pushed in %s s' "$remote_tag" "$(since "$t")")")
	fi
}
