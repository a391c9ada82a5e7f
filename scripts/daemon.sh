# shellcheck shell=bash
# Shared by scripts/registry.sh and tests/integration/imds.sh (sourced, not run): finding and stopping a
# background daemon of ours by its pid file. The sourcing script sets $pidfile and defines `is_ours PID`
# (exit 0 when the process's command line is the daemon it started).

# live_pid: print the pid from $pidfile when it names a live (not zombie) process that is ours; else nothing.
live_pid() {
  local pid
  [ -f "${pidfile:?set by the sourcing script}" ] || return 0
  pid=$(cat "$pidfile" 2>/dev/null || true)
  case $pid in '' | *[!0-9]*) return 0 ;; esac
  [ -d "/proc/$pid" ] || return 0
  grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && return 0
  is_ours "$pid" || return 0
  echo "$pid"
}

# stop_daemon: SIGTERM, wait up to 5 s for it to go, then SIGKILL; remove the pid file. No-op when not running.
stop_daemon() {
  local pid
  pid=$(live_pid)
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      [ -n "$(live_pid)" ] || break
      sleep 0.1
    done
    if [ -n "$(live_pid)" ]; then
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "${pidfile:?set by the sourcing script}"
}
