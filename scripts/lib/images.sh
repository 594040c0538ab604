# scripts/lib/images.sh: the local images of images/*/, built into Docker (each
# cached by a hash of its recipe, kept in the label testctr.recipe) and copied
# to Podman.
# shellcheck shell=bash

IMAGES_DIR=$ROOT/images
MIRROR=${TESTCTR_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# Build order: a base before the images that start FROM it. Folders of
# images/ with an image.conf that are not listed come after, by name.
IMAGE_ORDER=(debian busybox httpd redis postgres mariadb memcached rabbitmq nats mosquitto)
# Part of every recipe hash: change it when this script changes how images are
# assembled, to rebuild them all.
RECIPE_SALT=testctr-recipe-1

# testctr.recipe labels of the images already there, one look-up per engine:
# DOCKER_LABEL[name:tag], DOCKER_ID[name:tag], PODMAN_LABEL[name:tag].
declare -A DOCKER_LABEL=() DOCKER_ID=() PODMAN_LABEL=()
# read_labels docker|podman: fill those arrays from the engine's images.
read_labels() {
	local engine=$1 ids id tags label tag
	ids=$("$engine" images -q --no-trunc --filter label=testctr.recipe 2>/dev/null | sort -u) || return 1
	[ -n "$ids" ] || return 0
	# shellcheck disable=SC2086  # ids: one word each
	while IFS='|' read -r id tags label; do
		for tag in $tags; do
			if [ "$engine" = docker ]; then
				DOCKER_LABEL[$tag]=$label
				DOCKER_ID[$tag]=$id
			else
				PODMAN_LABEL[$tag]=$label
			fi
		done
	done < <("$engine" image inspect -f '{{.Id}}|{{range .RepoTags}}{{.}} {{end}}|{{index .Config.Labels "testctr.recipe"}}' $ids 2>/dev/null)
}

# read_engine_labels: the arrays above; PODMAN_USABLE=1 when Podman's images
# can be read (and so written).
read_engine_labels() {
	read_labels docker || die "'docker images' failed"
	PODMAN_USABLE=
	if [ -n "$PODMAN" ]; then
		if read_labels podman; then
			PODMAN_USABLE=1
		else
			warn "'podman images' fails here: images are not copied to Podman"
		fi
	fi
}

# A hash of a folder: names, types, modes, link targets and file contents.
tree_hash() {
	(
		cd "$1" || exit
		find . -printf '%y %m %p -> %l\n' | LC_ALL=C sort
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
	) | sha256sum | cut -c1-64
}

docker_label() {
	docker image inspect -f '{{index .Config.Labels "testctr.recipe"}}' "$1" 2>/dev/null || true
}

docker_id() {
	if [ -n "${DOCKER_ID[$1]:-}" ]; then
		printf '%s\n' "${DOCKER_ID[$1]}"
	else
		docker image inspect -f '{{.Id}}' "$1" 2>/dev/null
	fi
}

podman_label() {
	podman image inspect -f '{{index .Labels "testctr.recipe"}}' "$1" 2>/dev/null || true
}

# TARBALL: root filesystem from debootstrap, cached by suite and variant.
debootstrap_tarball() {
	local suite=$1 variant=$2 log=$3
	local tarball=$CACHE_DIR/debootstrap-$suite-$variant.tar
	if [ ! -s "$tarball" ]; then
		if [ -z "$IS_ROOT" ] || ! have debootstrap; then
			die "$tarball is missing and this script cannot run debootstrap here (needs root and debootstrap)"
		fi
		say "debootstrap --variant=$variant $suite (about 35 s; cached as $tarball)"
		local tmp
		new_tmp_dir tmp
		if ! debootstrap --variant="$variant" "$suite" "$tmp/rootfs" "$MIRROR" > "$log" 2>&1; then
			die_with_log "$log" "debootstrap failed"
		fi
		rm -rf "$tmp/rootfs/var/cache/apt/archives/"*.deb "$tmp/rootfs/var/lib/apt/lists/"*
		tar --numeric-owner -C "$tmp/rootfs" \
			--exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
			-cf "$tmp/rootfs.tar" .
		mv "$tmp/rootfs.tar" "$tarball"
		rm -rf "$tmp"
	fi
	TARBALL=$tarball
}

# import_debootstrap DIR HASH LOG: IMAGE from the cached rootfs with DIR/rootfs
# laid over it, imported with IMPORT_CHANGES and the recipe label.
import_debootstrap() {
	local dir=$1 hash=$2 log=$3 tarball tmp c
	if [ -z "$IS_ROOT" ]; then
		die "building $IMAGE needs root (it unpacks a root filesystem)"
	fi
	debootstrap_tarball "$SUITE" "$VARIANT" "$log"
	tarball=$TARBALL
	new_tmp_dir tmp
	mkdir "$tmp/rootfs"
	tar --numeric-owner -C "$tmp/rootfs" -xpf "$tarball"
	if [ -d "$dir/rootfs" ]; then
		tar --owner=0 --group=0 --numeric-owner -C "$dir/rootfs" -cf - . \
			| tar --numeric-owner -C "$tmp/rootfs" -xpf -
	fi
	chmod 0755 "$tmp/rootfs"
	# The image's own apt sources are in etc/apt/sources.list.d/; the host's
	# resolver and name must not leak in (engines mount their own).
	rm -f "$tmp/rootfs/etc/apt/sources.list"
	: > "$tmp/rootfs/etc/resolv.conf"
	: > "$tmp/rootfs/etc/hostname"
	local changes=()
	for c in "${IMPORT_CHANGES[@]+"${IMPORT_CHANGES[@]}"}"; do
		changes+=(--change "$c")
	done
	changes+=(--change "LABEL testctr.recipe=$hash")
	if ! tar --numeric-owner -C "$tmp/rootfs" -cf - . \
		| docker import "${changes[@]}" - "$IMAGE" > "$log" 2>&1; then
		die_with_log "$log" "docker import of $IMAGE failed"
	fi
	rm -rf "$tmp"
}

declare -A SKIPPED=()
# skip_image REASON: IMAGE cannot be built here (missing prerequisites).
skip_image() {
	SKIPPED[$IMAGE]=1
	SUMMARY+=("$(printf '%-32s skipped: %s' "$IMAGE" "$1")")
	warn "$IMAGE skipped: $1"
}
DOCKER_CHANGED=
PODMAN_CHANGED=

provision_image() {
	local name=$1
	local dir=$IMAGES_DIR/$name
	local log=$LOG_DIR/build-$name.log
	local t ctx base base_id hash dstatus pstatus
	t=$(date +%s.%N)

	IMAGE='' KIND=dockerfile SUITE='' VARIANT=''
	IMPORT_CHANGES=()
	[ -f "$dir/image.conf" ] || die "$dir/image.conf is missing"
	# shellcheck disable=SC1091
	. "$dir/image.conf"
	[ -n "$IMAGE" ] || die "$dir/image.conf does not set IMAGE"

	ctx=$dir
	case "$KIND" in
		debootstrap)
			base_id="debootstrap $SUITE $VARIANT"
			;;
		dockerfile)
			if [ -x "$dir/prepare-context" ]; then
				new_tmp_dir ctx
				cp -r "$dir/." "$ctx/"
				local rc=0
				"$dir/prepare-context" "$ctx" > "$log" 2>&1 || rc=$?
				if [ "$rc" = 3 ]; then
					skip_image "$(tail -n 1 "$log")"
					return 0
				elif [ "$rc" != 0 ]; then
					die_with_log "$log" "$dir/prepare-context failed"
				fi
			fi
			base=$(awk 'toupper($1) == "FROM" { print $2; exit }' "$dir/Dockerfile")
			if [ "$base" = scratch ]; then
				base_id=scratch
			elif [ -n "${SKIPPED[$base]:-}" ]; then
				skip_image "its base $base was skipped"
				return 0
			elif ! base_id=$(docker_id "$base"); then
				die "$IMAGE starts FROM $base, which is not in Docker (and cannot be pulled)"
			fi
			;;
		*)
			die "$dir/image.conf: unknown KIND=$KIND"
			;;
	esac
	hash=$(printf '%s\n' "$RECIPE_SALT" "$KIND" "$(tree_hash "$ctx")" "$base_id" | sha256sum | cut -c1-64)

	if [ "${DOCKER_LABEL[$IMAGE]:-}" = "$hash" ]; then
		dstatus=cached
	else
		case "$KIND" in
			debootstrap)
				if [ -z "$IS_ROOT" ]; then
					skip_image "building it needs root"
					return 0
				fi
				if [ ! -s "$CACHE_DIR/debootstrap-$SUITE-$VARIANT.tar" ] && ! have debootstrap; then
					skip_image "debootstrap is not installed"
					return 0
				fi
				import_debootstrap "$dir" "$hash" "$log"
				;;
			dockerfile)
				if ! DOCKER_BUILDKIT=0 docker build --force-rm \
					--label "testctr.recipe=$hash" -t "$IMAGE" "$ctx" > "$log" 2>&1; then
					die_with_log "$log" "docker build of $IMAGE failed"
				fi
				;;
		esac
		[ "$(docker_label "$IMAGE")" = "$hash" ] || die "$IMAGE was built but does not carry testctr.recipe=$hash"
		DOCKER_LABEL[$IMAGE]=$hash
		DOCKER_ID[$IMAGE]=$(docker image inspect -f '{{.Id}}' "$IMAGE")
		dstatus="built in $(since "$t") s"
		DOCKER_CHANGED=1
	fi
	if [ "$ctx" != "$dir" ]; then
		rm -rf "$ctx"
	fi

	if [ -z "$PODMAN_USABLE" ]; then
		pstatus=skipped
	elif [ "${PODMAN_LABEL[$IMAGE]:-}" = "$hash" ]; then
		pstatus=cached
	else
		local tp
		tp=$(date +%s.%N)
		if ! docker save "$IMAGE" | podman load > "$LOG_DIR/podman-load-$name.log" 2>&1; then
			die_with_log "$LOG_DIR/podman-load-$name.log" "copying $IMAGE to Podman failed"
		fi
		if [ "$(podman_label "$IMAGE")" != "$hash" ]; then
			# Name it exactly as in Docker (in case Podman qualified the name).
			local loaded
			loaded=$(sed -n 's/^Loaded image(s)\{0,1\}: //p' "$LOG_DIR/podman-load-$name.log" | tail -n 1 | cut -d, -f1)
			[ -n "$loaded" ] && podman tag "$loaded" "$IMAGE"
			[ "$(podman_label "$IMAGE")" = "$hash" ] || die "$IMAGE is not in Podman under that name after podman load"
		fi
		pstatus="loaded in $(since "$tp") s"
		PODMAN_LABEL[$IMAGE]=$hash
		PODMAN_CHANGED=1
	fi

	SUMMARY+=("$(printf '%-32s docker: %-18s podman: %s' "$IMAGE" "$dstatus" "$pstatus")")
}

# build_images: every image of images/ in Docker and (where usable) Podman.
build_images() {
	local names conf name
	if [ -n "${TESTCTR_SKIP_IMAGES:-}" ]; then
		say "TESTCTR_SKIP_IMAGES is set: no image built or copied"
	else
		names=("${IMAGE_ORDER[@]}")
		for conf in "$IMAGES_DIR"/*/image.conf; do
			name=$(basename "$(dirname "$conf")")
			case " ${names[*]} " in *" $name "*) ;; *) names+=("$name") ;; esac
		done
		for name in "${names[@]}"; do
			provision_image "$name"
		done
	fi

	# Images replaced by a rebuild are left untagged: drop ours.
	if [ -n "$DOCKER_CHANGED" ]; then
		docker image prune -f --filter label=testctr.recipe > /dev/null 2>&1 || :
	fi
	if [ -n "$PODMAN_CHANGED" ]; then
		podman image prune -f --filter label=testctr.recipe > /dev/null 2>&1 || :
	fi
}
