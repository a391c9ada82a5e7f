#!/usr/bin/env bash
# Put community.docker into build/collections-extra/ansible_collections/community/docker, without
# installing the `ansible` package: pip downloads the `ansible` wheel from PyPI (no dependencies) and only
# that collection is extracted. Nothing happens when it is already there. Used by the role test (its
# `community.docker.docker` connection) and the benchmark (the docker_container loop it measures).
#   scripts/community_docker.sh     prints the collections directory to add to ANSIBLE_COLLECTIONS_PATH
# Environment: DOCKERUP_ANSIBLE_SPEC, the wheel to take it from (default ansible>=12,<13: the release that
# goes with ansible-core 2.19); PYTHON, the Python whose pip downloads it (default python3).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dest=$root/build/collections-extra
spec=${DOCKERUP_ANSIBLE_SPEC:-ansible>=12,<13}
python=${PYTHON:-python3}
if [ ! -f "$dest/ansible_collections/community/docker/MANIFEST.json" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "community_docker: downloading the '$spec' wheel from PyPI to extract community.docker" >&2
  "$python" -m pip download -q --no-deps --only-binary :all: -d "$tmp" "$spec"
  mkdir -p "$dest"
  "$python" - "$tmp"/ansible-*.whl "$dest" <<'PY'
import json, sys, zipfile
wheel, dest = sys.argv[1:]
prefix = "ansible_collections/community/docker/"
with zipfile.ZipFile(wheel) as z:
    members = [n for n in z.namelist() if n.startswith(prefix)]
    z.extractall(dest, members)
    version = json.loads(z.read(prefix + "MANIFEST.json"))["collection_info"]["version"]
print("community_docker: community.docker %s extracted (%d files) to %s" % (version, len(members), dest), file=sys.stderr)
PY
fi
echo "$dest"
