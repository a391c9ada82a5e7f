#!/usr/bin/env bash
# The availability benchmark in one command (issue 11): requests lost while a published web service is
# updated, for dockerup's default replacement, eager behind nginx, rolling replicas behind nginx,
# docker-compose up -d and a community.docker.docker_container task. See bench/availability.py and the
# "Availability" section of bench/README.md. Extra arguments go to availability.py, e.g.
#   bench/availability.sh --updates 10 --tools eager-proxy,compose
# It starts the engine if needed, builds dockerup/busybox:1 and dockerup/nginx:1 if missing, fetches
# community.docker into build/collections-extra, installs Debian's docker-compose if missing, and
# measures a snapshot of the collection (BENCH_SOURCE=head, the default; worktree; or a commit), as
# bench/run.sh does.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
# shellcheck source=/dev/null
source "$root/scripts/env.sh"

source_kind=${BENCH_SOURCE:-head}
snap=$here/.work/availability-src/ansible_collections/dockerup/bootstrap
rm -rf "$snap" && mkdir -p "$snap"
commit=$(git -C "$root" rev-parse --short HEAD)
case $source_kind in
  head) git -C "$root" archive HEAD galaxy.yml meta plugins bin | tar -x -C "$snap"
        export BENCH_COLLECTION_SOURCE="git HEAD $commit" ;;
  worktree) tar -C "$root" --exclude=__pycache__ -c galaxy.yml meta plugins bin | tar -x -C "$snap"
        modified=$(git -C "$root" status --porcelain -- galaxy.yml meta plugins bin | tr '\n' ' ')
        export BENCH_COLLECTION_SOURCE="work tree at $commit${modified:+, modified: $modified}" ;;
  *) rev=$(git -C "$root" rev-parse --short --verify "$source_kind^{commit}") || {
       echo "availability: BENCH_SOURCE must be head, worktree or a commit" >&2; exit 2; }
     git -C "$root" archive "$rev" galaxy.yml meta plugins bin | tar -x -C "$snap"
     export BENCH_COLLECTION_SOURCE="git commit $rev (HEAD is $commit)" ;;
esac
echo "availability: measuring dockerup from $BENCH_COLLECTION_SOURCE" >&2
export AVAIL_DOCKERUP=$snap/bin/dockerup
export ANSIBLE_COLLECTIONS_PATH=$here/.work/availability-src:$root/build/collections-extra
export ANSIBLE_CONFIG=$here/ansible.cfg ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_DEPRECATION_WARNINGS=0

"$root/scripts/engine.sh"
"$root/scripts/images.sh" dockerup/busybox:1 dockerup/nginx:1
"$root/scripts/community_docker.sh" >/dev/null
command -v docker-compose >/dev/null || {
  echo "availability: installing Debian's docker-compose" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
}
exec python3 "$here/availability.py" "$@"
