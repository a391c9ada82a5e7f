#!/usr/bin/env bash
# Make sure a Docker engine answers on the local socket: install docker.io when missing, clear pid files
# left by a killed engine, start dockerd in the background and wait for it. Does nothing when an engine
# already answers. Idempotent; safe to run before every test run.
set -euo pipefail

log=${DOCKERUP_DOCKERD_LOG:-/var/log/dockerup-dockerd.log}

if docker info >/dev/null 2>&1; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "engine: installing docker.io" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi

# A pid file naming a process that is not a live dockerd/containerd stops the daemon from starting.
clear_stale() {
  local file=$1 want=$2 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file" 2>/dev/null || true)
  if [ -n "$pid" ] && [ -d "/proc/$pid" ] && grep -q "$want" "/proc/$pid/comm" 2>/dev/null \
     && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; then
    return 0
  fi
  rm -f "$file"
}
clear_stale /var/run/docker.pid dockerd
clear_stale /var/run/docker/containerd/containerd.pid containerd

# Is a dockerd running? (/proc, not pgrep: a bare Debian 12 has no procps.)
dockerd_running() {
  local comm
  for comm in /proc/[0-9]*/comm; do
    [ "$(cat "$comm" 2>/dev/null)" = dockerd ] && return 0
  done
  return 1
}

if ! dockerd_running; then
  echo "engine: starting dockerd (log: $log)" >&2
  setsid dockerd --host unix:///var/run/docker.sock --pidfile /var/run/docker.pid >"$log" 2>&1 </dev/null &
fi

for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.5
done
echo "engine: dockerd did not answer within 60 s; last lines of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
