#!/usr/bin/env bash
# Local Docker registry for tests (image updates): Debian's docker-registry on 127.0.0.1, no TLS needed.
#   scripts/registry.sh start    install docker-registry if missing, write our own config, start, wait for /v2/
#   scripts/registry.sh stop     stop the registry started by this script (by its pid file), wait for exit
#   scripts/registry.sh status   exit 0 when http://127.0.0.1:PORT/v2/ answers (200, or 401 with auth), 1 otherwise
#   scripts/registry.sh htpasswd USER <PASSWORD
#                                print USER's bcrypt htpasswd line (apache2-utils' `htpasswd -B`, installed
#                                if missing); the password is read from stdin, never from the command line
# Port: DOCKERUP_REGISTRY_PORT (default 5055). State: DOCKERUP_REGISTRY_DIR (default
#   /var/lib/dockerup-test/registry): config.yml (ours, never the packaged /etc/docker/registry/config.yml),
#   data/, registry.pid, registry.log. A second registry needs its own port and its own state dir.
# Password auth: DOCKERUP_REGISTRY_HTPASSWD=FILE (bcrypt lines, see `htpasswd`) at start turns on htpasswd
#   auth (Basic over plain HTTP: the engine accepts that for 127.0.0.0/8). The registry reads the file at
#   start only: restart it after changing the file.
# Idempotent: start when already running does nothing; a stale pid file (dead or reused pid) is removed.
# Data persists across stop/start. Push with: docker tag IMG 127.0.0.1:PORT/NAME:TAG && docker push ...
set -euo pipefail
# shellcheck source=scripts/daemon.sh
source "$(dirname "${BASH_SOURCE[0]}")/daemon.sh"

port=${DOCKERUP_REGISTRY_PORT:-5055}
dir=${DOCKERUP_REGISTRY_DIR:-/var/lib/dockerup-test/registry}
htpasswd_file=${DOCKERUP_REGISTRY_HTPASSWD:-}
config=$dir/config.yml
data=$dir/data
pidfile=$dir/registry.pid
log=$dir/registry.log
url=http://127.0.0.1:$port/v2/

answers() {
  # The registry answers GET /v2/ with 200 (401 with auth) and "Docker-Distribution-Api-Version: registry/2.0".
  # Python's urllib, not curl: a bare Debian 12 has python3 but no curl.
  python3 - "$url" <<'PY' 2>/dev/null
import sys, urllib.error, urllib.request
try:
    headers = urllib.request.urlopen(sys.argv[1], timeout=2).headers
except urllib.error.HTTPError as error:  # 401 from a registry that asks for a password
    headers = error.headers
except OSError:
    sys.exit(1)
sys.exit(0 if (headers.get("Docker-Distribution-Api-Version") or "").startswith("registry/2") else 1)
PY
}

# The process is a docker-registry serving our config (live_pid, in daemon.sh, asks).
is_ours() {
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q "docker-registry serve $config"
}

write_config() {
  mkdir -p "$data"
  cat >"$config.tmp" <<EOF
# Written by scripts/registry.sh; rewritten on every start.
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
  if [ -n "$htpasswd_file" ]; then
    cat >>"$config.tmp" <<EOF
auth:
  htpasswd:
    realm: dockerup-test
    path: $htpasswd_file
EOF
  fi
  mv "$config.tmp" "$config"
}

start() {
  local pid
  pid=$(live_pid)
  if [ -n "$pid" ] && ! grep -qx "  addr: 127.0.0.1:$port" "$config"; then
    echo "registry: already running (pid $pid) with another address: $(grep 'addr:' "$config"); stop it first" >&2
    return 1
  fi
  if [ -z "$pid" ]; then
    rm -f "$pidfile"
    if answers; then
      echo "registry: something not started by this script already answers on $url; using it" >&2
      return 0
    fi
    if ! command -v docker-registry >/dev/null 2>&1; then
      echo "registry: installing docker-registry" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
    fi
    write_config
    # The child writes its own pid and then execs the registry, so the pid file names the registry
    # whether or not setsid forks (it does when job control makes the child a group leader).
    # shellcheck disable=SC2016  # expanded by the child bash
    setsid bash -c 'echo $$ >"$1"; exec docker-registry serve "$2"' registry "$pidfile" "$config" \
      >>"$log" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 100); do
    if answers; then
      return 0
    fi
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      break  # it started and died already
    fi
    sleep 0.1
  done
  echo "registry: $url did not answer; last lines of $log:" >&2
  tail -n 20 "$log" >&2 || true
  return 1
}


htpasswd_line() {
  if ! command -v htpasswd >/dev/null 2>&1; then
    echo "registry: installing apache2-utils (htpasswd)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends apache2-utils >/dev/null
  fi
  htpasswd -niB "${1:?usage: registry.sh htpasswd USER <PASSWORD}"
}

case ${1:-} in
  start) start ;;
  htpasswd) htpasswd_line "${2:-}" ;;
  stop) stop_daemon ;;
  status) answers || exit 1 ;;
  *)
    echo "usage: $0 start|stop|status|htpasswd USER   (port: DOCKERUP_REGISTRY_PORT, default 5055)" >&2
    exit 2
    ;;
esac
