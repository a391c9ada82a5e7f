#!/usr/bin/env bash
# Start/stop the EC2 metadata stand-in (imds_stub.py next to this script) in the background.
#   imds.sh start PORT STATEFILE   start on 127.0.0.1:PORT unless already running with that state file
#                                  (running with another state file: restarted); waits until it listens
#   imds.sh stop PORT              stop it (SIGTERM, then SIGKILL after 5 s); no-op when not running
#   imds.sh status PORT            exit 0 when running and listening
# Pid file /tmp/dockerup-imds-PORT.pid (written by the stub once bound), log /tmp/dockerup-imds-PORT.log.
# The state file is re-read on every request: change behaviour by rewriting it (see imds_stub.py).
# Python: $PYTHON, default python3.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stub=$here/imds_stub.py
python=${PYTHON:-python3}
# shellcheck source=scripts/daemon.sh
source "$here/../../scripts/daemon.sh"

usage() {
  echo "usage: $0 start PORT STATEFILE | stop PORT | status PORT" >&2
  exit 2
}

cmd=${1:-}
port=${2:-}
case $port in '' | *[!0-9]*) usage ;; esac
pidfile=/tmp/dockerup-imds-$port.pid
log=/tmp/dockerup-imds-$port.log

# The process is the stub for this port (live_pid, in daemon.sh, asks).
is_ours() {
  tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -q 'imds_stub\.py$' \
    && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "--port $port "
}

# TCP connect only: in "hang" mode every HTTP request would take 30 s.
listening() {
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}


start() {
  local state=$1 pid
  case $state in /*) ;; *) state=$PWD/$state ;; esac
  pid=$(live_pid)
  if [ -n "$pid" ]; then
    if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "--state-file $state --pid-file"; then
      listening && return 0
    fi
    stop_daemon  # another state file, or not listening: restart
  fi
  rm -f "$pidfile"
  # setsid --wait: $! is the stub, or (when setsid must fork) a setsid that lives exactly as long as it.
  setsid --wait "$python" "$stub" --port "$port" --state-file "$state" --pid-file "$pidfile" \
    >>"$log" 2>&1 </dev/null &
  local launcher=$!
  for _ in $(seq 1 100); do
    if [ -n "$(live_pid)" ] && listening; then
      return 0
    fi
    kill -0 "$launcher" 2>/dev/null || break  # exited (port in use, bad python, ...)
    sleep 0.05
  done
  echo "imds: stub on 127.0.0.1:$port did not start; last lines of $log:" >&2
  tail -n 20 "$log" >&2 || true
  return 1
}

case $cmd in
  start)
    [ $# -eq 3 ] || usage
    start "$3"
    ;;
  stop) stop_daemon ;;
  status) [ -n "$(live_pid)" ] && listening ;;
  *) usage ;;
esac
