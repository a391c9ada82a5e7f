# shellcheck shell=bash
# Shared by scripts/registry.sh and tests/integration/imds.sh (sourced, not run): stopping a background
# daemon of ours by its pid file. The sourcing script defines `live_pid` (print the pid from $pidfile when
# it names a live daemon of its own kind, else nothing) and sets $pidfile.

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
