#!/usr/bin/env bash
# Static checks of the collection, offline, in one command: `ansible-test sanity`, then `ansible-lint`.
#
#   bash scripts/qa.sh                    # every sanity test for Python 3.11, then ansible-lint
#   bash scripts/qa.sh --test pep8        # extra arguments go to `ansible-test sanity`
#
# ansible-test needs the collection at .../ansible_collections/NAMESPACE/NAME inside a git work tree,
# so this copies the repository's tracked and untracked-but-not-ignored files into a fresh
# $DOCKERUP_QA_ROOT/ansible_collections/NAMESPACE/NAME, commits them there, and runs both tools in
# that copy. `--venv` would download pip's bootstrap script from outside PyPI: scripts/get_pip_standin.py
# is copied into ansible-test's cache first (see ENVIRONMENT.md, "ansible-test and ansible-lint offline").
# Exits non-zero when either tool fails. Works from any directory.
#
# Environment:
#   DOCKERUP_QA_SRC     collection to check (a git work tree); default: the repository holding this script
#   DOCKERUP_QA_ROOT    work area, emptied on every run (except ansible-test's cached venv); default /tmp/dockerup-qa
#   DOCKERUP_QA_PYTHON  interpreter for ansible-test and ansible-lint; default python3.11, else python3
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

if ! "$py" -c 'import ansible_test' >/dev/null 2>&1 || [ ! -x "$bin/ansible-test" ] || [ ! -x "$bin/ansible-lint" ]; then
  echo "installing ansible-core and ansible-lint with pip"
  "$py" -m pip install -q ansible-core ansible-lint
fi
# Without shellcheck, ansible-test silently skips the `shellcheck` sanity test on scripts/*.sh.
if ! command -v shellcheck >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing shellcheck with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends shellcheck >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends shellcheck >/dev/null 2>&1; } \
    || echo "qa: WARNING: could not install shellcheck; the shellcheck sanity test will be skipped" >&2
fi
echo "python:        $py"
"$bin/ansible-test" --version | sed 's/^/ansible-test:  /'
"$bin/ansible-lint" --nocolor --version 2>/dev/null | head -n 1 | sed 's/^/ansible-lint:  /'
command -v shellcheck >/dev/null 2>&1 && shellcheck --version | sed -n 's/^version: /shellcheck:    /p'

read -r namespace name < <("$py" - "$src/galaxy.yml" <<'EOF'
import sys
import yaml
with open(sys.argv[1]) as f:
    galaxy = yaml.safe_load(f)
print(galaxy["namespace"], galaxy["name"])
EOF
)
[ -n "${name:-}" ] || die "could not read namespace and name from $src/galaxy.yml"
dest=$root/ansible_collections/$namespace/$name

# Two runs at once would delete each other's copy: take turns.
mkdir -p "$root"
exec 9>"$root/.lock"
if ! flock -n 9; then
  echo "qa: another qa.sh run is using $root, waiting for it"
  flock 9
fi

# ---------------------------------------------------------------- copy
header "Copy $src -> $dest"
if ! git -C "$src" check-ignore -q tests/output/x; then
  echo "qa: WARNING: $src/.gitignore does not ignore tests/output/ (the copy ignores it anyway)" >&2
fi
# ansible-test's own virtual environment (tests/output/.tmp/delegation) takes a minute to build: keep it.
keep=$root/.delegation
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

# ---------------------------------------------------------------- pip bootstrap stand-in
mkdir -p ~/.ansible/test/cache
wanted=$("$py" - <<'EOF'
import os
import re
import ansible_test
path = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")
with open(path) as f:
    match = re.search(r"pip='([0-9.]+)'", f.read())
print(match.group(1).replace(".", "_") if match else "")
EOF
)
for version in 24_2 25_2 $wanted; do
  cp "$standin" ~/.ansible/test/cache/"get_pip_$version.py"
done

status=0

# ---------------------------------------------------------------- sanity
# Every sanity test ansible-test 2.19 has for collections runs (24; compile and import on Python 3.11
# only): none is skipped. Those with requirements install them from PyPI, which is reachable; none
# needs any other network access once the pip bootstrap script is in the cache. `pslint` has nothing
# to check (no PowerShell files, and no pwsh here); `shellcheck` needs the binary installed above.
header "ansible-test sanity --venv --python $python_version $*"
start=$SECONDS
if (cd "$dest" && "$bin/ansible-test" sanity --venv --python "$python_version" "$@"); then
  sanity=passed
else
  sanity=FAILED
  status=1
fi
echo "sanity: $sanity in $((SECONDS - start)) s"

# ---------------------------------------------------------------- ansible-lint
header "ansible-lint"
start=$SECONDS
lint_args=()
[ -t 1 ] || lint_args+=(--nocolor)
# ansible-lint does not put the linted collection on the collection path by itself: playbooks that
# call dockerup.bootstrap.* (bench/playbooks, tests/integration) fail syntax-check without this.
if (cd "$dest" && ANSIBLE_COLLECTIONS_PATH="$root${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}" \
    "$bin/ansible-lint" "${lint_args[@]}"); then
  lint=passed
else
  lint=FAILED
  status=1
fi
echo "ansible-lint: $lint in $((SECONDS - start)) s"

header "Summary"
echo "ansible-test sanity: $sanity"
echo "ansible-lint:        $lint"
echo "checked copy:        $dest"
exit "$status"
