#!/usr/bin/env bash
# Build the offline front-proxy image from Debian's nginx-light: no registry, only Debian's mirror.
#   dockerup/nginx:1   nginx 1.22 (Debian 12), runs `nginx -g 'daemon off;'`; put a server block in
#                      /etc/nginx/conf.d/*.conf (bind-mount one, see examples/zero-downtime/nginx.conf)
# Skips the build when the image is already there (about 30-60 s otherwise, 170 MB).
# Usage: scripts/nginx_image.sh [TAG]     (scripts/images.sh calls it for dockerup/nginx:1)
# Environment: DOCKERUP_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
tag=${1:-dockerup/nginx:1}
docker image inspect "$tag" >/dev/null 2>&1 && exit 0
mirror=${DOCKERUP_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if ! command -v mmdebstrap >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null; }
fi

work=$(mktemp -d /var/tmp/dockerup-nginx.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The default site is dropped (the operator's conf.d file is the only server); logs go to the
# container's stdout/stderr; the package's postinst cannot start a service inside the chroot.
# shellcheck disable=SC2016  # "$1" is the hooks' own argument (the chroot), expanded by mmdebstrap's shell
mmdebstrap --quiet --mode=root --variant=minbase --include=nginx-light \
  --customize-hook='rm -f "$1"/etc/nginx/sites-enabled/default' \
  --customize-hook='ln -sf /dev/stdout "$1"/var/log/nginx/access.log; ln -sf /dev/stderr "$1"/var/log/nginx/error.log' \
  --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/usr/share/doc/* "$1"/usr/share/man/*' \
  bookworm "$work/rootfs.tar" "$mirror"
docker import -c 'CMD ["nginx", "-g", "daemon off;"]' -c 'EXPOSE 80' \
  "$work/rootfs.tar" "$tag" >/dev/null
echo "images: built $tag" >&2
