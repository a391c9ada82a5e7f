#!/usr/bin/env bash
# Integration tests of dockerup.bootstrap.containers against a real Docker engine, in one command.
#
#   tests/integration/run.sh              every feature file of targets/containers/tasks/tests/
#   tests/integration/run.sh user_data    one feature (a file name there, without .yml); several allowed
#
# What it does, in order (works on a fresh Debian 12 machine as root, and from any directory):
#   1. sources scripts/env.sh (this checkout on Ansible's collection path), installs ansible-core, docker
#      and jsonschema with pip when the interpreter lacks them;
#   2. takes a lock, so that two runs on one machine never interleave (the tests stop the registry);
#   3. starts the Docker engine (scripts/engine.sh) and builds the offline image (scripts/images.sh);
#   4. removes what killed earlier runs left behind (targets/containers/files/cleanup.sh): containers
#      named dut-XXXXXXXX-* or labelled with such a dockerup scope (and the volumes they mounted), networks
#      named dut-XXXXXXXX-*, image tags dut-XXXXXXXX/* and *:dut-XXXXXXXX*, their IMDS stand-ins and
#      scratch directories. Nothing else on the host is touched;
#   5. starts the registry (scripts/registry.sh, 127.0.0.1:5055) when the pull feature runs, and pushes
#      dockerup/busybox:1 there as 127.0.0.1:5055/dockerup/busybox:1;
#   5b. when the private_registry feature runs: restarts a second registry that asks for a password
#      (scripts/registry.sh with htpasswd auth, 127.0.0.1:5056, state /var/lib/dockerup-test/registry-auth)
#      with a user and a random password of this run;
#   6. starts the IMDS stand-in (imds.sh) on a free port, with a state file in a scratch directory;
#   7. runs `ansible-playbook -i inventory site.yml` with the addresses as extra vars;
#   8. fails when the playbook fails, or when the secret env value (or the registry password) it passed
#      appears anywhere in the output;
#   9. stops the IMDS stand-in, and the registry when this run started it (and removes the registry tag
#      of dockerup/busybox:1 when this run made it), and the password registry.
# Exit status: 0 when every feature passed, 1 otherwise, 2 on a usage error.
# Output: the playbook's, ending with a per-feature summary (passed/FAILED, seconds, failed task).
#
# Environment: DOCKERUP_IT_KEEP=1 keeps the scratch directory (playbook log, state files) until the next run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target=$here/targets/containers
features=("$@")

for feature in "${features[@]}"; do
  if [ ! -f "$target/tasks/tests/$feature.yml" ]; then
    echo "run.sh: no feature file $target/tasks/tests/$feature.yml; features:" >&2
    for file in "$target"/tasks/tests/*.yml; do
      file=${file##*/}
      echo "  ${file%.yml}" >&2
    done
    exit 2
  fi
done
wants() {  # wants FEATURE: true when FEATURE runs in this invocation
  [ ${#features[@]} -eq 0 ] && return 0
  local f
  for f in "${features[@]}"; do [ "$f" = "$1" ] && return 0; done
  return 1
}

# shellcheck source=/dev/null
source "$root/scripts/env.sh"
start=$SECONDS

python=$ANSIBLE_PYTHON_INTERPRETER
if ! command -v ansible-playbook >/dev/null 2>&1 || ! "$python" -c 'import ansible, docker, jsonschema' 2>/dev/null; then
  echo "run.sh: installing ansible-core, docker and jsonschema with pip" >&2
  "$python" -m pip install -q ansible-core docker jsonschema \
    || "$python" -m pip install -q --break-system-packages ansible-core docker jsonschema
  hash -r
fi

state_dir=/var/lib/dockerup-test
mkdir -p "$state_dir"
exec 9>"$state_dir/integration.lock"
if ! flock -n 9; then
  echo "run.sh: another integration run holds $state_dir/integration.lock; waiting (up to 15 min)" >&2
  flock -w 900 9 || { echo "run.sh: gave up waiting for the lock" >&2; exit 1; }
fi

# Daemons started from here (dockerd, the registry, the IMDS stand-in) must not inherit the lock's fd 9,
# or they would hold the lock after this run ends: every child gets `9>&-`.
"$root/scripts/engine.sh" 9>&-
"$root/scripts/images.sh" 9>&-

# ------------------------------------------------------------------ leftovers of killed runs
# Only objects carrying the test prefix dut-<8 hex digits>- (names, dockerup scope label, image tags).
echo "run.sh: leftovers of earlier runs: $(bash "$target/files/cleanup.sh" 'dut-[0-9a-f]{8}' 9>&-)" >&2
# IMDS stand-ins and scratch directories of killed runs (their state files live in /tmp/dockerup-it.*).
for pidfile in /tmp/dockerup-imds-*.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile" 2>/dev/null || true)
  port=${pidfile#/tmp/dockerup-imds-}
  port=${port%.pid}
  if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- '--state-file /tmp/dockerup-it\.'; then
    "$here/imds.sh" stop "$port" 9>&- || true
    rm -f "/tmp/dockerup-imds-$port.log"
  fi
done
rm -rf /tmp/dockerup-it.*
for dir in /tmp/dut-*; do  # the playbook's own scratch directories: /tmp/dut-<8 hex>-XXXXXXXX
  if [[ ${dir#/tmp/} =~ ^dut-[0-9a-f]{8}- ]] && [ -d "$dir" ]; then rm -rf "$dir"; fi
done

work=$(mktemp -d /tmp/dockerup-it.XXXXXX)
imds_port=
registry_started=
registry_tagged=
auth_registry_started=
auth_registry_env=(DOCKERUP_REGISTRY_PORT="${DOCKERUP_AUTH_REGISTRY_PORT:-5056}"
                   DOCKERUP_REGISTRY_DIR=/var/lib/dockerup-test/registry-auth)
cleanup() {
  local status=$?
  if [ -n "$imds_port" ]; then
    "$here/imds.sh" stop "$imds_port" || true
    mv -f "/tmp/dockerup-imds-$imds_port.log" "$work/imds.log" 2>/dev/null || true  # kept with the scratch dir
  fi
  if [ -n "$registry_started" ]; then "$root/scripts/registry.sh" stop || true; fi
  if [ -n "$registry_tagged" ]; then docker rmi "$registry/dockerup/busybox:1" >/dev/null 2>&1 || true; fi
  if [ -n "$auth_registry_started" ]; then env "${auth_registry_env[@]}" "$root/scripts/registry.sh" stop || true; fi
  if [ "${DOCKERUP_IT_KEEP:-0}" = 1 ]; then
    echo "run.sh: scratch directory kept: $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT

# ------------------------------------------------------------------ registry
registry_port=${DOCKERUP_REGISTRY_PORT:-5055}
registry=127.0.0.1:$registry_port
registry_var=
if wants pull; then
  registry_var=$registry
  if ! "$root/scripts/registry.sh" status; then
    registry_started=1
    "$root/scripts/registry.sh" start 9>&-
  fi
  # The tag gives dockerup/busybox:1's image a RepoDigest; when this run made the tag, it removes it again
  # at exit, so the machine's test image is left as it was.
  if ! docker image inspect "$registry/dockerup/busybox:1" >/dev/null 2>&1; then
    registry_tagged=1
  fi
  docker tag dockerup/busybox:1 "$registry/dockerup/busybox:1"
  docker push "$registry/dockerup/busybox:1" >/dev/null
fi

# ------------------------------------------------------------------ registry with a password
auth_registry_var=
auth_registry_user=dut-user
auth_registry_password=dut-regpass-$("$python" -c 'import secrets; print(secrets.token_hex(12))')
if wants private_registry; then
  auth_dir=/var/lib/dockerup-test/registry-auth
  mkdir -p "$auth_dir"
  # The registry reads its htpasswd file at start: restart it with this run's password.
  env "${auth_registry_env[@]}" "$root/scripts/registry.sh" stop
  (umask 077; printf '%s' "$auth_registry_password" \
    | "$root/scripts/registry.sh" htpasswd "$auth_registry_user" >"$auth_dir/htpasswd")
  auth_registry_started=1
  env "${auth_registry_env[@]}" DOCKERUP_REGISTRY_HTPASSWD="$auth_dir/htpasswd" "$root/scripts/registry.sh" start 9>&-
  auth_registry_var=127.0.0.1:${DOCKERUP_AUTH_REGISTRY_PORT:-5056}
fi

# ------------------------------------------------------------------ IMDS stand-in
imds_port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf '{"mode": "missing"}\n' >"$work/imds.json"
"$here/imds.sh" start "$imds_port" "$work/imds.json" 9>&-

# ------------------------------------------------------------------ playbook
prefix=dut-$("$python" -c 'import secrets; print(secrets.token_hex(4))')-
secret=dut-secret-$("$python" -c 'import secrets; print(secrets.token_hex(12))')
"$python" - "$work/vars.json" <<EOF
import json
import sys
with open(sys.argv[1], "w") as handle:
    json.dump({
        "dut_prefix": "$prefix",
        "dut_only": "${features[*]}".split(),
        "dut_secret": "$secret",
        "dut_imds_port": $imds_port,
        "dut_imds_state": "$work/imds.json",
        "dut_imds_script": "$here/imds.sh",
        "dut_registry": "$registry_var",
        "dut_registry_script": "$root/scripts/registry.sh",
        "dut_auth_registry": "$auth_registry_var",
        "dut_auth_registry_user": "$auth_registry_user",
        "dut_auth_registry_password": "$auth_registry_password",
    }, handle)
EOF

echo "run.sh: prefix $prefix, IMDS stand-in on 127.0.0.1:$imds_port, features: ${features[*]:-all}" >&2
export ANSIBLE_ROLES_PATH=$here/targets
set +e
(cd "$here" && ansible-playbook -i inventory site.yml -e "@$work/vars.json") 9>&- 2>&1 | tee "$work/playbook.log"
status=${PIPESTATUS[0]}
set -e

failure="ansible-playbook exit status $status"
[ "$status" -eq 0 ] && failure=
if grep -qF "$secret" "$work/playbook.log"; then
  echo "run.sh: the secret env value appears in the playbook output (shown masked here):" >&2
  grep -nF "$secret" "$work/playbook.log" | sed "s/$secret/<SECRET>/g" | cut -c1-400 | head -n 5 >&2
  failure="${failure:+$failure; }secret env value in the output"
fi
if grep -qF "$auth_registry_password" "$work/playbook.log"; then
  echo "run.sh: the registry password appears in the playbook output (shown masked here):" >&2
  grep -nF "$auth_registry_password" "$work/playbook.log" | sed "s/$auth_registry_password/<PASSWORD>/g" | cut -c1-400 | head -n 5 >&2
  failure="${failure:+$failure; }registry password in the output"
fi
elapsed=$((SECONDS - start))
if [ -z "$failure" ]; then
  echo "run.sh: PASSED in ${elapsed} s"
else
  echo "run.sh: FAILED ($failure) in ${elapsed} s" >&2
  exit 1
fi
