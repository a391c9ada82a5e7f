#!/usr/bin/env bash
# A virtual environment with one ansible-core release series, for the sanity runs of scripts/qa.sh and
# the matrix (tests/integration/run_matrix.sh). Prints the venv's directory on stdout.
#
#   scripts/core_venv.sh 2.15 'docker==7.1.0' jsonschema    # build/venv-core-2.15
#   scripts/core_venv.sh oldest                             # the oldest release meta/runtime.yml claims
#   scripts/core_venv.sh newest docker jsonschema           # the newest one pip serves to a Python here
#
# The venv lives in build/venv-core-X.Y (git-ignored: a clean clone rebuilds it) and is reused as
# long as it holds what was asked (build/venv-core-X.Y/.request records the request). ansible-core
# 2.15-2.19 run on Python 3.11 (Debian 12's); 2.20 needs Python 3.12 or later, taken from PATH or pyenv
# when there is one. `newest` is 2.20 with such a Python, else 2.19 (said on stderr).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 1 ] || { echo "usage: $0 oldest|newest|X.Y [pip requirement...]" >&2; exit 2; }
series=$1
shift

# A real interpreter (not a pyenv shim: those fail inside ansible-test) for pythonX.Y, or nothing.
find_python() {
  local v=$1 p
  if p=$("python$v" -c 'import sys; print(sys.executable)' 2>/dev/null) && [ -n "$p" ]; then
    echo "$p"
    return 0
  fi
  if command -v pyenv >/dev/null 2>&1; then
    for p in "$(pyenv root)"/versions/"$v".*/bin/"python$v"; do
      [ -x "$p" ] && { echo "$p"; return 0; }
    done
  fi
  return 1
}

newest_python=
for v in 3.13 3.12; do
  newest_python=$(find_python "$v") && break
done

case $series in
  oldest) series=$(sed -n 's/^requires_ansible: *"*>= *\([0-9]*\.[0-9]*\).*/\1/p' meta/runtime.yml) ;;
  newest)
    if [ -n "$newest_python" ]; then
      series=2.20
    else
      series=2.19
      echo "core_venv: no Python 3.12 or later here: the newest ansible-core for Python 3.11 is 2.19 (2.20 needs 3.12)" >&2
    fi
    ;;
esac
case $series in
  2.1[5-9]) python=$(find_python 3.11) || { echo "core_venv: ansible-core $series needs python3.11" >&2; exit 2; } ;;
  2.2[0-9]) python=${newest_python:?ansible-core $series needs Python 3.12 or later} ;;
  *) echo "core_venv: unsupported ansible-core series '$series'" >&2; exit 2 ;;
esac

venv=build/venv-core-$series
# One run at a time per venv (qa.sh and the matrix may ask for the same one).
mkdir -p build
exec 9>"build/.venv-core-$series.lock"
flock 9
# .request: the interpreter, then each pip requirement installed so far, one a line. Asking again with
# fewer or the same requirements reuses the venv; new ones are added to it.
wanted=("ansible-core==$series.*" "$@")
if [ -x "$venv/bin/ansible-test" ] && [ "$(head -n 1 "$venv/.request" 2>/dev/null)" = "$python" ]; then
  new=()
  for req in "${wanted[@]}"; do
    tail -n +2 "$venv/.request" | grep -qxF -- "$req" || new+=("$req")
  done
  if [ ${#new[@]} -eq 0 ]; then
    echo "$PWD/$venv"
    exit 0
  fi
  echo "core_venv: adding to $venv: ${new[*]}" >&2
else
  echo "core_venv: creating $venv with $python: ${wanted[*]}" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  echo "$python" >"$venv/.request"
  new=("${wanted[@]}")
fi
# (pip's notes about this machine's extra package locations are noise here.)
if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check "${new[@]}" >"$venv/.pip.log" 2>&1; then
  grep -v '^WARNING: Location ' "$venv/.pip.log" >&2
  echo "core_venv: pip install ${new[*]} failed in $venv" >&2
  exit 1
fi
printf '%s\n' "${new[@]}" >>"$venv/.request"
echo "$PWD/$venv"
