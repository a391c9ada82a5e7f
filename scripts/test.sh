#!/usr/bin/env bash
# Run every test: unit tests (pure engine), integration tests (ansible-playbook against a real Docker
# engine, registry and IMDS stand-in, all started here), the role on a fleet of systemd hosts with
# their own engines, then ansible-test sanity (oldest and newest ansible-core) and ansible-lint, then the
# install matrix (the galaxy tarball; oldest/newest ansible-core and docker SDK, Debian's packages).
# Exits non-zero when any part fails. Usage: scripts/test.sh [unit|integration|role|qa|matrix ...]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
scripts/setup.sh || exit 1
source scripts/env.sh

parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(unit integration role qa matrix)
failed=()
for part in "${parts[@]}"; do
  echo "==================== $part ===================="
  start=$SECONDS
  case $part in
    unit) PYTHONPATH=$ANSIBLE_COLLECTIONS_PATH python3 -m pytest -q tests/unit ;;
    integration) tests/integration/run.sh ;;
    role) tests/integration/run_role.sh ;;
    qa) scripts/qa.sh ;;
    matrix) tests/integration/run_matrix.sh ;;
    *) echo "unknown part: $part" >&2; false ;;
  esac
  status=$?
  echo "== $part: $([ $status -eq 0 ] && echo passed || echo "FAILED (exit $status)") in $((SECONDS - start)) s"
  [ $status -eq 0 ] || failed+=("$part")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all test parts passed: ${parts[*]}"
