#!/usr/bin/env bash
# Build an offline front-proxy image from Debian 12's own package: no registry, only Debian's mirror.
#   dockerup/nginx:1     nginx 1.22 (nginx-light), runs `nginx -g 'daemon off;'`; put a server block in
#                        /etc/nginx/conf.d/*.conf (bind-mount one, see examples/zero-downtime/nginx.conf)
#   dockerup/haproxy:1   HAProxy 2.6, runs `haproxy -W -db -f /etc/haproxy/haproxy.cfg`; bind-mount that
#                        file (see examples/zero-downtime/haproxy.cfg)
#   dockerup/caddy:1     Caddy 2.6, runs `caddy run --config /etc/caddy/Caddyfile`; bind-mount that file
#                        (see examples/zero-downtime/Caddyfile)
# The repository part of the tag picks the proxy; skips the build when the image is already there (about
# 30-60 s otherwise, 100-170 MB). Usage: scripts/proxy_image.sh TAG...   (scripts/images.sh calls it)
# Environment: DOCKERUP_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 dockerup/nginx:1|dockerup/haproxy:1|dockerup/caddy:1 ..." >&2; exit 2; }
mirror=${DOCKERUP_DEBIAN_MIRROR:-http://deb.debian.org/debian}

build() {
  local tag=$1 name package hooks=() changes=()
  name=${tag%:*}
  name=${name##*/}
  # The package's postinst cannot start a service inside the chroot; logs go to the container's output.
  # shellcheck disable=SC2016  # "$1" in the hooks is their own argument (the chroot), expanded by mmdebstrap
  case $name in
    nginx)
      package=nginx-light
      hooks=('rm -f "$1"/etc/nginx/sites-enabled/default'  # the operator's conf.d file is the only server
             'ln -sf /dev/stdout "$1"/var/log/nginx/access.log; ln -sf /dev/stderr "$1"/var/log/nginx/error.log')
      changes=(-c 'CMD ["nginx", "-g", "daemon off;"]') ;;
    haproxy)
      package=haproxy
      # -W: master-worker (SIGUSR2 reloads); -db: foreground. HAProxy's graceful stop is SIGUSR1: give
      # the definition "stopSignal": "SIGUSR1" (docker import cannot set STOPSIGNAL).
      changes=(-c 'CMD ["haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg"]') ;;
    caddy)
      package=caddy
      changes=(-c 'CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]'
               -c 'ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data') ;;
    *) echo "proxy_image: no proxy named '$name' in $tag (nginx, haproxy or caddy)" >&2; return 2 ;;
  esac
  local args=() hook
  for hook in "${hooks[@]}"; do args+=(--customize-hook="$hook"); done
  # shellcheck disable=SC2016
  args+=(--customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/usr/share/doc/* "$1"/usr/share/man/*')

  work=$(mktemp -d /var/tmp/dockerup-proxy.XXXXXX)
  mmdebstrap --quiet --mode=root --variant=minbase --include="$package" "${args[@]}" \
    bookworm "$work/rootfs.tar" "$mirror"
  docker import "${changes[@]}" -c 'EXPOSE 80' "$work/rootfs.tar" "$tag" >/dev/null
  rm -rf "$work"
  echo "images: built $tag" >&2
}

work=
trap 'rm -rf "${work:-}"' EXIT

for tag in "$@"; do
  docker image inspect "$tag" >/dev/null 2>&1 && continue
  if ! command -v mmdebstrap >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null; }
  fi
  build "$tag"
done
