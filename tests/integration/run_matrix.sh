#!/usr/bin/env bash
# The collection as users install it, in one command: the galaxy tarball, then a matrix of installs.
#
#   tests/integration/run_matrix.sh                 tarball check, then every combination
#   tests/integration/run_matrix.sh oldest debian   tarball check, then the named combinations
#
# 1. Tarball: `ansible-galaxy collection build` of this checkout (after the project's own setup, which
#    creates build/venv and the self-referencing link build/collections): its size must stay under
#    DOCKERUP_MATRIX_MAX_KB (default 200; it was 65 KB when this test was written), it must hold the
#    module, the engine, the role, bin/ (the role copies bin/dockerup_launcher.py onto hosts) and the
#    docs, and nothing of build/, bench/, scripts/, .ci/, tests/output/, tests/unit/, tests/integration/,
#    caches or symlinks. Each controller installs it with its own `ansible-galaxy collection install`
#    into a scratch collections path, where `ansible-doc` documents the module and the role, and the
#    installed bin/dockerup answers --help.
# 2. Matrix: tests/integration/matrix.yml (converge two containers, converge again without a change,
#    --check --diff with masked env values, remove them) against the local engine, per combination:
#      oldest   ansible-core 2.15 (the oldest meta/runtime.yml claims), docker 7.1.0 (the oldest docker
#               SDK that works with current requests/urllib3 from pip), jsonschema 3.2.0 (the stated
#               minimum); venv build/venv-core-2.15
#      newest   the newest ansible-core pip serves to a Python here (2.20 with Python 3.12+, else 2.19),
#               newest docker and jsonschema; venv build/venv-core-2.XX
#      debian   the newest controller above, with Debian's /usr/bin/python3 and Debian's python3-docker
#               (5.0.3 in Debian 12, with Debian's requests and urllib3) and python3-jsonschema as the
#               module's interpreter (installed with apt when missing). Debian 12's own ansible-core is
#               2.14, older than the 2.15 the collection claims: it is not a combination.
#    The venvs are made once by scripts/core_venv.sh and reused.
# 3. A broken SDK: docker 6.1.3 from pip next to current requests (venv build/venv-sdk-broken): the host
#    command and the module in check mode fail at once with the versions and the fix, creating nothing.
# Containers are named and scoped dumatrix-<combination>-*; only those are removed (before and after).
# Exit status: 0 when everything passed, 1 otherwise, 2 on a usage error. Works from any directory.
# Environment: DOCKERUP_MATRIX_SRC, the collection to build (default: this checkout).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
src=${DOCKERUP_MATRIX_SRC:-$root}
max_kb=${DOCKERUP_MATRIX_MAX_KB:-200}
combos=("$@")
[ ${#combos[@]} -gt 0 ] || combos=(oldest newest debian)
for combo in "${combos[@]}"; do
  case $combo in oldest | newest | debian) ;; *) echo "run_matrix: unknown combination '$combo' (oldest, newest, debian)" >&2; exit 2 ;; esac
done

cd "$root" || exit 2
mkdir -p build
exec 8>build/.matrix.lock
if ! flock -n 8; then
  echo "run_matrix: another run_matrix.sh is running here, waiting for it"
  flock 8
fi

scratch=$(mktemp -d /tmp/dumatrix.XXXXXX)
prefix=dumatrix-
# Our containers only: named dumatrix-* and labelled with a dumatrix-* scope.
cleanup_containers() {
  local ids
  ids=$(docker ps -aq --filter "name=^/$prefix" --filter label=io.dockerup.managed |
    xargs -r docker inspect --format '{{.Id}} {{index .Config.Labels "io.dockerup.scope"}}' |
    awk -v p="$prefix" 'index($2, p) == 1 {print $1}')
  [ -z "$ids" ] || xargs docker rm -f <<<"$ids" >/dev/null
}
finish() {
  cleanup_containers
  rm -rf "$scratch"
}
trap finish EXIT

failed=()
results=()
record() { # record NAME STATUS SECONDS
  results+=("$(printf '%-34s %s in %s s' "$1" "$([ "$2" -eq 0 ] && echo passed || echo FAILED)" "$3")")
  [ "$2" -eq 0 ] || failed+=("$1")
}

start=$SECONDS
if ! scripts/engine.sh >/dev/null || ! scripts/images.sh; then
  echo "run_matrix: no Docker engine or image" >&2
  exit 1
fi
cleanup_containers

# ---------------------------------------------------------------- venvs
venv_oldest='' venv_newest=
need_oldest=0 need_newest=0
for combo in "${combos[@]}"; do
  case $combo in oldest) need_oldest=1 ;; *) need_newest=1 ;; esac
done
if [ $need_oldest = 1 ]; then
  venv_oldest=$(scripts/core_venv.sh oldest 'docker==7.1.0' 'jsonschema==3.2.0') || exit 1
fi
if [ $need_newest = 1 ]; then
  venv_newest=$(scripts/core_venv.sh newest docker jsonschema) || exit 1
fi
if printf '%s\n' "${combos[@]}" | grep -qx debian; then
  missing=()
  for pkg in python3-docker python3-jsonschema; do
    dpkg-query --show --showformat='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii' || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "run_matrix: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; } ||
      { echo "run_matrix: could not install ${missing[*]}" >&2; exit 1; }
  fi
  debian_core=$(apt-cache policy ansible-core 2>/dev/null | sed -n 's/^ *Candidate: *//p')
  echo "run_matrix: Debian's own ansible-core is ${debian_core:-unknown}: older than the claimed 2.15, not tested"
fi
record "venvs and packages" 0 $((SECONDS - start))

# ---------------------------------------------------------------- tarball
start=$SECONDS
status=0
builder=${venv_newest:-$venv_oldest}
tarball_check() {
  local tarball listing bad kb path
  "$builder/bin/ansible-galaxy" collection build --force --output-path "$scratch" "$src" >/dev/null || return 1
  tarball=$(ls "$scratch"/dockerup-bootstrap-*.tar.gz) || return 1
  kb=$(( $(stat -c %s "$tarball") / 1024 ))
  listing=$(tar -tvzf "$tarball") || return 1
  echo "tarball: ${tarball##*/}, $kb KB, $(wc -l <<<"$listing") entries"
  if [ "$kb" -gt "$max_kb" ]; then
    echo "run_matrix: the tarball is $kb KB, over $max_kb KB" >&2
    return 1
  fi
  for path in MANIFEST.json FILES.json README.md meta/runtime.yml plugins/modules/containers.py \
    plugins/module_utils/engine.py plugins/module_utils/cli.py roles/dockerup/tasks/main.yml \
    roles/dockerup/meta/argument_specs.yml bin/dockerup bin/dockerup_launcher.py docs/hosts.md \
    tests/sanity/ignore-2.15.txt; do
    grep -qE " $path\$" <<<"$listing" || { echo "run_matrix: the tarball lacks $path" >&2; return 1; }
  done
  bad=$(awk '{print $1, $NF}' <<<"$listing" |
    grep -E '^l| (build|bench|scripts|\.ci|tests/output|tests/unit|tests/integration)(/|$)|(^| |/)(\.pytest_cache|__pycache__|\.git)(/|$)|\.pyc$|\.tar\.gz$')
  if [ -n "$bad" ]; then
    echo "run_matrix: the tarball holds what users must not get:" >&2
    echo "$bad" | head -n 20 >&2
    return 1
  fi
  cp "$tarball" "$scratch/collection.tar.gz"
}
tarball_check || status=1
record "tarball: build and contents" $status $((SECONDS - start))

declare -A installed=()
# install_and_doc VENV: install the tarball with the venv's ansible-galaxy into a scratch collections
# path; ansible-doc of the module and the role from there; the installed host command answers --help.
install_and_doc() {
  local venv=$1 dest coll
  dest=$scratch/collections-${1##*/}
  coll=$dest/ansible_collections/dockerup/bootstrap
  # Installed and checked for an earlier combination: the same result.
  [ -z "${installed[$dest]:-}" ] || return "${installed[$dest]}"
  installed[$dest]=1
  ANSIBLE_COLLECTIONS_PATH=$dest "$venv/bin/ansible-galaxy" collection install -p "$dest" "$scratch/collection.tar.gz" >/dev/null ||
    return 1
  if [ -L "$coll" ] || [ ! -f "$coll/plugins/modules/containers.py" ] || [ ! -f "$coll/bin/dockerup_launcher.py" ]; then
    echo "run_matrix: $coll is not a plain installed collection" >&2
    return 1
  fi
  ANSIBLE_COLLECTIONS_PATH=$dest "$venv/bin/ansible-doc" dockerup.bootstrap.containers >"$scratch/doc-module.txt" || return 1
  grep -q "$coll/plugins/modules/containers.py" "$scratch/doc-module.txt" ||
    { echo "run_matrix: ansible-doc did not document the installed module" >&2; head -n 3 "$scratch/doc-module.txt" >&2; return 1; }
  ANSIBLE_COLLECTIONS_PATH=$dest "$venv/bin/ansible-doc" -t role dockerup.bootstrap.dockerup >"$scratch/doc-role.txt" || return 1
  grep -q "dockerup_containers" "$scratch/doc-role.txt" ||
    { echo "run_matrix: ansible-doc of the role lacks its options" >&2; return 1; }
  "$venv/bin/python" "$coll/bin/dockerup" --help >/dev/null ||
    { echo "run_matrix: the installed bin/dockerup --help failed" >&2; return 1; }
  installed[$dest]=0
}

# ---------------------------------------------------------------- matrix
for combo in "${combos[@]}"; do
  case $combo in
    oldest) venv=$venv_oldest interpreter=$venv_oldest/bin/python ;;
    newest) venv=$venv_newest interpreter=$venv_newest/bin/python ;;
    debian) venv=$venv_newest interpreter=/usr/bin/python3 ;;
  esac
  header="$combo: $("$venv/bin/python" -c 'from ansible.release import __version__ as v; print("ansible-core " + v)'),"
  header+=" $("$interpreter" -c 'import sys, docker, requests, urllib3
try:
    from importlib.metadata import version
    js = version("jsonschema")
except Exception:
    import jsonschema
    js = jsonschema.__version__
print("Python %d.%d docker %s requests %s urllib3 %s jsonschema %s" % (sys.version_info[:2] + (docker.__version__, requests.__version__, urllib3.__version__, js)))' 2>&1 | tail -n 1)"
  echo "==== $header"

  if [ "$status" -ne 0 ]; then
    record "$combo: skipped (no usable tarball)" 1 0
    continue
  fi
  start=$SECONDS
  install_and_doc "$venv"
  record "$combo: install and ansible-doc" $? $((SECONDS - start))

  start=$SECONDS
  mkdir -p "$scratch/cache-$combo"
  ANSIBLE_COLLECTIONS_PATH=$scratch/collections-${venv##*/} ANSIBLE_PYTHON_INTERPRETER=$interpreter \
    "$venv/bin/ansible-playbook" -i "$here/inventory" "$here/matrix.yml" \
    -e "dum_prefix=$prefix$combo-" -e "dum_cache=$scratch/cache-$combo" >"$scratch/play-$combo.log" 2>&1
  rc=$?
  grep -E '^(ok|changed|fatal|failed|TASK|PLAY RECAP)|^localhost ' "$scratch/play-$combo.log" | grep -v '^TASK' | tail -n 2
  [ $rc -eq 0 ] || { grep -B2 -A25 -E '^fatal|FAILED!' "$scratch/play-$combo.log" | head -n 60; }
  left=$(docker ps -aq --filter "name=^/$prefix$combo-")
  if [ $rc -eq 0 ] && [ -n "$left" ]; then
    echo "run_matrix: containers left behind by $combo: $left" >&2
    rc=1
  fi
  record "$combo: converge, re-run, check, remove" $rc $((SECONDS - start))
  cleanup_containers
done

# ---------------------------------------------------------------- an SDK that cannot work
# docker 6.1.3 from pip next to current requests (2.32+) cannot reach any engine ("Not supported URL
# scheme http+docker"). Every run, check mode included, must say so at once, naming the versions and
# the fix: the host command (exit 1) and the module in check mode (failed, msg). Nothing is created.
start=$SECONDS
broken_sdk() {
  local venv=$root/build/venv-sdk-broken out rc
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import docker, jsonschema, yaml; assert docker.__version__ == "6.1.3"' 2>/dev/null; then
    rm -rf "$venv"
    if ! { python3 -m venv "$venv" && "$venv/bin/python" -m pip install -q 'docker==6.1.3' requests urllib3 jsonschema pyyaml \
      >"$scratch/pip-broken.log" 2>&1; }; then
      tail -n 5 "$scratch/pip-broken.log"
      return 1
    fi
  fi
  mkdir -p "$scratch/broken/conf.d"
  printf '{"name": "%sbroken-sdk", "image": "dockerup/busybox:1", "command": "sleep 100"}\n' "$prefix" >"$scratch/broken/conf.d/a.json"
  out=$("$venv/bin/python" "$root/bin/dockerup" --config /dev/null --cache "$scratch/broken/cache" --confdir "$scratch/broken/conf.d" --check 2>&1)
  rc=$?
  echo "command: exit $rc: $out"
  [ $rc -eq 1 ] && grep -q "Docker SDK for Python 6.1.3 cannot send requests next to requests" <<<"$out" \
    && grep -q "docker>=7.1" <<<"$out" || return 1
  out=$(ANSIBLE_COLLECTIONS_PATH=$scratch/collections-${builder##*/} ANSIBLE_PYTHON_INTERPRETER=$venv/bin/python \
    "$builder/bin/ansible" localhost -i "$here/inventory" -m dockerup.bootstrap.containers --check \
    -a "confdir=$scratch/broken/conf.d cache=$scratch/broken/cache" 2>&1)
  echo "module: $(grep -o '"msg": "[^"]*' <<<"$out" | head -n 1)"
  grep -q 'FAILED' <<<"$out" && grep -q "Docker SDK for Python 6.1.3 cannot send requests" <<<"$out" || return 1
  [ -z "$(docker ps -aq --filter "name=^/${prefix}broken-sdk")" ]
}
if [ "$status" -eq 0 ]; then
  install_and_doc "$builder" >/dev/null 2>&1
  broken_sdk
  record "broken SDK (docker 6.1.3, current requests): a clear error, check mode too" $? $((SECONDS - start))
fi

echo
echo "==== matrix summary"
printf '%s\n' "${results[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all passed"
