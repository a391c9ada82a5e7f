#!/usr/bin/env bash
# Reproduce the whole benchmark: start the engine, build the offline image, fetch community.docker into
# build/collections-extra (scripts/community_docker.sh), then run bench.py (prints the table; JSON in
# bench/results/, table in bench/results/README.md). Extra arguments go to bench.py (see `python3 bench/bench.py --help`), e.g.
#   bench/run.sh --n 10 --reps 3
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")

# shellcheck source=/dev/null
source "$root/scripts/env.sh"
# Measure a snapshot of the collection, not the live checkout (which may be edited while the bench runs):
# BENCH_SOURCE=head (default) = the committed HEAD; BENCH_SOURCE=worktree = the files as they are now;
# BENCH_SOURCE=<commit> = that commit (e.g. to compare two versions).
source_kind=${BENCH_SOURCE:-head}
snap=$here/.work/collections/ansible_collections/dockerup/bootstrap
rm -rf "$snap" && mkdir -p "$snap"
commit=$(git -C "$root" rev-parse --short HEAD)
case $source_kind in
  head) git -C "$root" archive HEAD galaxy.yml meta plugins | tar -x -C "$snap"
        export BENCH_COLLECTION_SOURCE="git HEAD $commit" ;;
  worktree) tar -C "$root" -c galaxy.yml meta plugins --exclude=__pycache__ | tar -x -C "$snap"
        modified=$(git -C "$root" status --porcelain -- galaxy.yml meta plugins | tr '\n' ' ')
        export BENCH_COLLECTION_SOURCE="work tree at $commit${modified:+, modified: $modified}" ;;
  *) rev=$(git -C "$root" rev-parse --short --verify "$source_kind^{commit}") || {
       echo "bench: BENCH_SOURCE must be head, worktree or a commit" >&2; exit 2; }
     git -C "$root" archive "$rev" galaxy.yml meta plugins | tar -x -C "$snap"
     export BENCH_COLLECTION_SOURCE="git commit $rev (HEAD is $commit)" ;;
esac
echo "bench: measuring dockerup.bootstrap from $BENCH_COLLECTION_SOURCE" >&2
# The same collection path for every playbook in the bench: the snapshot plus community.docker.
export ANSIBLE_COLLECTIONS_PATH=$here/.work/collections:$root/build/collections-extra
export ANSIBLE_CONFIG=$here/ansible.cfg  # no ansible.cfg of the caller changes the numbers
export ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_DEPRECATION_WARNINGS=0 ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=true

"$root/scripts/engine.sh"
"$root/scripts/images.sh" dockerup/busybox:1
"$root/scripts/community_docker.sh" >/dev/null
command -v docker-compose >/dev/null || {
  echo "bench: installing Debian's docker-compose" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
}

if [ "${1:-}" = profile ]; then
  # Profiling only (not part of the bench): where the module's time goes. Output also in
  # bench/results/profile-latest.txt (not in git).
  shift
  {
    echo "# bench/run.sh profile, $(date -u +%FT%TZ), dockerup.bootstrap from $BENCH_COLLECTION_SOURCE"
    echo "## engine alone (bench/profile_engine.py --n 40 --reps 3 --pool 16,40 --raw 8,40)"
    python3 "$here/profile_engine.py" --n 40 --reps 3 --pool 16,40 --raw 8,40
    echo "## replacement with update.minReadySeconds: 0 (bench/profile_engine.py --n 40 --reps 3 --scenarios env --min-ready 0)"
    python3 "$here/profile_engine.py" --n 40 --reps 3 --scenarios env --min-ready 0
    echo "## Ansible side (bench/profile_ansible.py --n 40 --reps 7)"
    python3 "$here/profile_ansible.py" --n 40 --reps 7
  } 2>&1 | tee "$here/results/profile-latest.txt"
  exit "${PIPESTATUS[0]}"
fi

exec python3 "$here/bench.py" "$@"
