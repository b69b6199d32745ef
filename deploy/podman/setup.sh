#!/usr/bin/env bash
# Makes this machine able to build and run deploy/Dockerfile without a
# registry: installs podman, runc and debootstrap from Debian's packages,
# and imports a Debian bookworm base image, localhost/yes-grpc-base:bookworm,
# made with `debootstrap --variant=minbase` (about a minute, once: the root
# filesystem is kept as a tarball in ~/.cache/yes-grpc/container, or under
# YES_GRPC_CACHE). Idempotent and non-interactive; scripts/test.sh runs it
# for tests/container.rs. YES_GRPC_DEBIAN_MIRROR picks the Debian mirror.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/../../scripts/apt-install.sh" podman runc debootstrap

export CONTAINERS_CONF=$here/containers.conf
image=localhost/yes-grpc-base:bookworm
podman image exists "$image" && exit 0

cache=${YES_GRPC_CACHE:-$HOME/.cache/yes-grpc}/container
tarball=$cache/bookworm-minbase.tar
if [ ! -s "$tarball" ]; then
  mkdir -p "$cache"
  if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
  root=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap '"${sudo[@]}" rm -rf "$root"' EXIT
  echo "container: making a Debian bookworm base with debootstrap (once, about a minute)" >&2
  if ! "${sudo[@]}" debootstrap --variant=minbase bookworm "$root" \
      "${YES_GRPC_DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$cache/debootstrap.log" 2>&1; then
    tail -n 20 "$cache/debootstrap.log" >&2
    echo "container: debootstrap failed (log above, whole log in $cache/debootstrap.log)" >&2
    exit 1
  fi
  # As Debian's -slim images: no documentation, manuals or translations,
  # now or from later installs, and no package lists left behind.
  "${sudo[@]}" sh -c "
    rm -rf '$root'/usr/share/doc/* '$root'/usr/share/man/* '$root'/usr/share/info/* \
      '$root'/usr/share/locale/* '$root'/var/lib/apt/lists/* '$root'/var/cache/apt/* '$root'/var/log/*.log
    printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
      'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
      'path-exclude /usr/share/locale/*' > '$root'/etc/dpkg/dpkg.cfg.d/slim"
  "${sudo[@]}" tar -C "$root" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi
podman import --quiet "$tarball" "$image" >/dev/null
echo "container: imported $image from $tarball" >&2
