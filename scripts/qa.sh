#!/usr/bin/env bash
# Static checks of the collection, offline, in one command: `ansible-test sanity` with the oldest and the
# newest ansible-core the collection claims (meta/runtime.yml), then `ansible-lint`.
#
#   bash scripts/qa.sh                    # sanity with the oldest and newest ansible-core, then ansible-lint
#   bash scripts/qa.sh --test pep8        # extra arguments go to `ansible-test sanity`
#   DOCKERUP_QA_CORE="2.15 2.16 2.17 2.18 2.19 2.20" DOCKERUP_QA_LINT=0 bash scripts/qa.sh --test shebang
#
# Each ansible-core series runs from its own venv, build/venv-core-X.Y (scripts/core_venv.sh: created
# once, then reused). ansible-core 2.15-2.19 run on Python 3.11; 2.20 (the newest) needs Python 3.12 or
# later: without one, the newest checked is 2.19. Every series from the oldest claimed to the newest
# checked must have its tests/sanity/ignore-X.Y.txt.
#
# ansible-test needs the collection at .../ansible_collections/NAMESPACE/NAME inside a git work tree,
# so this copies the repository's tracked and untracked-but-not-ignored files into a fresh
# $DOCKERUP_QA_ROOT/core-X.Y/ansible_collections/NAMESPACE/NAME, commits them there, and runs the tools
# in that copy. `--venv` would download pip's bootstrap script from outside PyPI:
# scripts/get_pip_standin.py is copied into ansible-test's cache first (see ENVIRONMENT.md, "ansible-test
# and ansible-lint offline"). ansible-test keeps the venvs of its sanity tests in ~/.ansible/test/venv.
# Exits non-zero when either tool fails. Works from any directory.
#
# Environment:
#   DOCKERUP_QA_SRC     collection to check (a git work tree); default: the repository holding this script
#   DOCKERUP_QA_ROOT    work area, emptied on every run (except ansible-test's cached venvs); default /tmp/dockerup-qa
#   DOCKERUP_QA_CORE    ansible-core series for sanity (X.Y, oldest, newest); default "oldest newest"
#   DOCKERUP_QA_PYTHON  interpreter for ansible-lint; default python3.11, else python3
#   DOCKERUP_QA_LINT    0 skips ansible-lint; default 1
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${DOCKERUP_QA_SRC:-$(git -C "$here" rev-parse --show-toplevel)}
src=$(cd "$src" && git rev-parse --show-toplevel)
root=${DOCKERUP_QA_ROOT:-/tmp/dockerup-qa}
standin=$here/get_pip_standin.py
python_version=3.11

header() { printf '\n========== %s ==========\n' "$*"; }
die() { echo "qa: $*" >&2; exit 2; }

[ -f "$src/galaxy.yml" ] || die "$src has no galaxy.yml: not a collection root"
[ -f "$standin" ] || die "missing $standin"
case $root in /|'') die "refusing DOCKERUP_QA_ROOT=$root" ;; esac

# ---------------------------------------------------------------- tools
header "Tools"
if [ -n "${DOCKERUP_QA_PYTHON:-}" ]; then
  py=$DOCKERUP_QA_PYTHON
elif command -v "python$python_version" >/dev/null 2>&1; then
  py=python$python_version
else
  py=python3
fi
# The real interpreter and its scripts directory: pyenv shims fail inside ansible-test.
py=$("$py" -c 'import sys; print(sys.executable)')
bin=$("$py" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
export PATH="$bin:$PATH"

lint=${DOCKERUP_QA_LINT:-1}
if [ "$lint" != 0 ] && [ ! -x "$bin/ansible-lint" ]; then
  echo "installing ansible-core and ansible-lint with pip"
  "$py" -m pip install -q ansible-core ansible-lint
fi
# One venv per ansible-core series (the same series asked twice runs once).
cores=()
for series in ${DOCKERUP_QA_CORE:-oldest newest}; do
  venv=$("$here/core_venv.sh" "$series") || die "no venv for ansible-core $series"
  case " ${cores[*]} " in *" $venv "*) ;; *) cores+=("$venv") ;; esac
done
# Without shellcheck, ansible-test silently skips the `shellcheck` sanity test on scripts/*.sh.
if ! command -v shellcheck >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing shellcheck with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends shellcheck >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends shellcheck >/dev/null 2>&1; } \
    || echo "qa: WARNING: could not install shellcheck; the shellcheck sanity test will be skipped" >&2
fi
for venv in "${cores[@]}"; do
  echo "ansible-test:  $("$venv/bin/ansible-test" --version) ($("$venv/bin/python" --version), $venv)"
done
if [ "$lint" != 0 ]; then
  echo "python:        $py"
  "$bin/ansible-lint" --nocolor --version 2>/dev/null | head -n 1 | sed 's/^/ansible-lint:  /'
fi
command -v shellcheck >/dev/null 2>&1 && shellcheck --version | sed -n 's/^version: /shellcheck:    /p'

read -r namespace name < <("${cores[0]}/bin/python" - "$src/galaxy.yml" <<'EOF'
import sys
import yaml
with open(sys.argv[1]) as f:
    galaxy = yaml.safe_load(f)
print(galaxy["namespace"], galaxy["name"])
EOF
)
[ -n "${name:-}" ] || die "could not read namespace and name from $src/galaxy.yml"

# Every series from the oldest claimed to the newest checked needs its ignore file (ansible-test reads
# only the one of its own version, and fails the `shebang` test of bin/dockerup without it).
oldest=$(sed -n 's/^requires_ansible: *"*>= *\([0-9]*\.[0-9]*\).*/\1/p' "$src/meta/runtime.yml")
[ -n "$oldest" ] || die "could not read the oldest ansible-core from $src/meta/runtime.yml"
newest=$(for venv in "${cores[@]}"; do
  "$venv/bin/python" -c 'from ansible.release import __version__ as v; print(".".join(v.split(".")[:2]))'
done | sort -V | tail -n 1)
missing_ignores=()
for ((minor = ${oldest#*.}; minor <= ${newest#*.}; minor++)); do
  [ -f "$src/tests/sanity/ignore-2.$minor.txt" ] || missing_ignores+=("tests/sanity/ignore-2.$minor.txt")
done

# Two runs at once would delete each other's copy: take turns.
mkdir -p "$root"
exec 9>"$root/.lock"
if ! flock -n 9; then
  echo "qa: another qa.sh run is using $root, waiting for it"
  flock 9
fi

# ---------------------------------------------------------------- copy
if ! git -C "$src" check-ignore -q tests/output/x; then
  echo "qa: WARNING: $src/.gitignore does not ignore tests/output/ (the copy ignores it anyway)" >&2
fi
# copy_to DEST: a fresh committed copy of the collection in DEST, keeping the virtual environment that
# ansible-test made there before (tests/output/.tmp/delegation takes a minute to build).
copy_to() {
  local dest=$1 keep
  keep=${dest%/ansible_collections/*}/.delegation
  header "Copy $src -> $dest"
  rm -rf "$keep"
  if [ -d "$dest/tests/output/.tmp/delegation" ]; then
    mv "$dest/tests/output/.tmp/delegation" "$keep"
  fi
  rm -rf "$dest"
  mkdir -p "$dest"
  (
    cd "$src"
    # Tracked files deleted in the work tree are still listed: copy only what exists.
    git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
      if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
    done | tar --null --no-recursion -T - -cf -
  ) | tar -C "$dest" -xf -
  if [ -d "$keep" ]; then
    mkdir -p "$dest/tests/output/.tmp"
    mv "$keep" "$dest/tests/output/.tmp/delegation"
  fi
  (
    cd "$dest"
    git init -q
    echo 'tests/output/' >>.git/info/exclude
    git add -A
    git -c user.name='dockerup qa' -c user.email='qa@localhost' -c commit.gpgsign=false \
      commit -q --no-verify --allow-empty -m "qa snapshot of $src"
  )
  echo "$(git -C "$dest" ls-files | wc -l) files"
}

# ---------------------------------------------------------------- pip bootstrap stand-in
mkdir -p ~/.ansible/test/cache
for venv in "${cores[@]}"; do
  wanted=$("$venv/bin/python" - <<'EOF'
import os
import re
import ansible_test
path = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")
with open(path) as f:
    versions = set(re.findall(r"pip='([0-9.]+)'", f.read()))
print(" ".join(sorted(version.replace(".", "_") for version in versions)))
EOF
)
  for version in 24_2 25_2 $wanted; do
    cp "$standin" ~/.ansible/test/cache/"get_pip_$version.py"
  done
done
# A CA bundle given to pip only through the environment (PIP_CERT, as in a container whose proxy has its
# own CA, without /etc/pip.conf) does not reach the pip runs of older ansible-test releases, which clear
# the environment: the stand-in writes it into each venv's own pip.conf (see get_pip_standin.py).
pip_cert=${PIP_CERT:-${REQUESTS_CA_BUNDLE:-${SSL_CERT_FILE:-}}}
if [ -n "$pip_cert" ] && [ -f "$pip_cert" ]; then
  printf '%s\n' "$pip_cert" >~/.ansible/test/cache/get_pip_standin.cert
else
  rm -f ~/.ansible/test/cache/get_pip_standin.cert
fi

status=0
summary=()
if [ ${#missing_ignores[@]} -gt 0 ]; then
  echo "qa: ansible-core $oldest to $newest checked, but missing: ${missing_ignores[*]}" >&2
  summary+=("sanity ignore files $oldest-$newest: MISSING ${missing_ignores[*]}")
  status=1
else
  summary+=("sanity ignore files $oldest-$newest: present")
fi

# ---------------------------------------------------------------- sanity
# Every sanity test these ansible-test versions have for collections runs (compile and import on the
# venv's Python only). Those with requirements install them from PyPI, which is reachable; none needs
# any other network access once the pip bootstrap script is in the cache. `pslint` has nothing to
# check (no PowerShell files, and no pwsh here); `shellcheck` needs the binary installed above.
dest=
for venv in "${cores[@]}"; do
  core=$("$venv/bin/python" -c 'from ansible.release import __version__ as v; print(v)')
  pyver=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  dest=$root/core-${core%.*}/ansible_collections/$namespace/$name
  copy_to "$dest"
  header "ansible-test $core sanity --venv --python $pyver $*"
  start=$SECONDS
  # The venv's bin first: ansible-test looks for pythonX.Y on PATH.
  if (cd "$dest" && PATH="$venv/bin:$PATH" "$venv/bin/ansible-test" sanity --venv --python "$pyver" "$@"); then
    result=passed
  else
    result=FAILED
    status=1
  fi
  echo "sanity with ansible-core $core: $result in $((SECONDS - start)) s"
  summary+=("ansible-test sanity, ansible-core $core: $result")
done

# ---------------------------------------------------------------- ansible-lint
if [ "$lint" != 0 ]; then
  header "ansible-lint"
  start=$SECONDS
  lint_args=()
  [ -t 1 ] || lint_args+=(--nocolor)
  # ansible-lint does not put the linted collection on the collection path by itself: playbooks that
  # call dockerup.bootstrap.* (bench/playbooks, tests/integration) fail syntax-check without this.
  if (cd "$dest" && ANSIBLE_COLLECTIONS_PATH="${dest%/ansible_collections/*}${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}" \
      "$bin/ansible-lint" "${lint_args[@]}"); then
    result=passed
  else
    result=FAILED
    status=1
  fi
  echo "ansible-lint: $result in $((SECONDS - start)) s"
  summary+=("ansible-lint: $result")
fi

header "Summary"
printf '%s\n' "${summary[@]}"
echo "checked copies: $root/core-*"
exit "$status"
