#!/usr/bin/env bash
# Everything this project needs on a fresh Debian 12 machine, as root: Debian packages (Docker engine,
# busybox for offline images, a registry for update tests, and the tools the test scripts call that a
# bare Debian 12 lacks: procps' pgrep, prometheus' promtool) and the Python tools.
# (scripts/hosts.sh installs mmdebstrap itself when the role test first builds its host images.) Idempotent: a second
# run installs nothing. Python packages go to the current python3 when pip may install there, else to
# a venv in build/venv (Debian's own python3 refuses pip installs, PEP 668); scripts/env.sh picks it up.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
[ -x /bin/busybox ] || need_apt+=(busybox-static)
command -v docker-registry >/dev/null 2>&1 || need_apt+=(docker-registry)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
command -v git >/dev/null 2>&1 || need_apt+=(git)
command -v pgrep >/dev/null 2>&1 || need_apt+=(procps)   # the integration tests find processes with pgrep
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)  # promtool checks the metrics file (tests)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv python3-pip)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

have_python_deps() {
  "$1" -c 'import ansible, docker, jsonschema, pytest' >/dev/null 2>&1 && [ -x "$(dirname "$(command -v "$1")")/ansible-playbook" ]
}
if [ -x build/venv/bin/python ]; then
  have_python_deps build/venv/bin/python || build/venv/bin/python -m pip install -q -r requirements-dev.txt
elif ! have_python_deps python3; then
  if ! python3 -m pip install -q -r requirements-dev.txt 2>/dev/null; then
    echo "setup: python3 refuses pip installs; using a venv in build/venv" >&2
    python3 -m venv build/venv
    build/venv/bin/python -m pip install -q -r requirements-dev.txt
  fi
fi
scripts/engine.sh
scripts/images.sh
