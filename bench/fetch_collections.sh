#!/usr/bin/env bash
# Put community.docker (from the `ansible` wheel on PyPI) into bench/.collections, without installing the
# `ansible` package: download the wheel with pip (no deps) and extract only ansible_collections/community/docker.
# Skips everything when the collection is already there. Version pinned to the ansible release that matches
# ansible-core 2.19 (ansible 12.x).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest=$here/.collections
spec=${BENCH_ANSIBLE_SPEC:-ansible>=12,<13}
if [ -f "$dest/ansible_collections/community/docker/MANIFEST.json" ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "bench: downloading the '$spec' wheel to extract community.docker" >&2
python3 -m pip download -q --no-deps --only-binary :all: -d "$tmp" "$spec"
wheel=$(ls "$tmp"/ansible-*.whl)
mkdir -p "$dest"
python3 - "$wheel" "$dest" <<'PY'
import json, sys, zipfile
wheel, dest = sys.argv[1:]
prefix = "ansible_collections/community/docker/"
with zipfile.ZipFile(wheel) as z:
    members = [n for n in z.namelist() if n.startswith(prefix)]
    z.extractall(dest, members)
    version = json.loads(z.read(prefix + "MANIFEST.json"))["collection_info"]["version"]
print("bench: community.docker %s extracted (%d files) to %s" % (version, len(members), dest), file=sys.stderr)
PY
