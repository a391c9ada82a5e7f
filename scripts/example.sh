#!/usr/bin/env bash
# Set everything up on a fresh Debian 12 machine (as root) and run the main job on the shipped
# example: examples/site.yml converges the local engine (images built offline), twice, then serves a page.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
ansible-playbook -i examples/inventory examples/site.yml --diff
echo "== second run: nothing to do"
ansible-playbook -i examples/inventory examples/site.yml
echo "== the example web container answers on 127.0.0.1:8080:"
python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:8080/", timeout=5).read().decode().strip())'
echo "Remove the example with: ansible-playbook -i examples/inventory examples/remove.yml"
