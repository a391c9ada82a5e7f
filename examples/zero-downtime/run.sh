#!/usr/bin/env bash
# The zero-downtime example end to end, on this machine's engine (as root, Debian 12):
#   1. builds the images if missing (dockerup/busybox:1, and the front proxy dockerup/PROXY:1);
#   2. converges examples/zero-downtime/site.yml (proxy on 127.0.0.1:8081, zd-app, zd-pool-1/2);
#   3. starts the load generator (bench/loadgen.py: ~100 requests a second, / and /pool/ in turn);
#   4. updates the app UPDATES times (default 3: app_version 2, 3, ...), each an eager switch of zd-app
#      and a rolling switch of zd-pool-1 then zd-pool-2;
#   5. stops the load and prints its counts; exits 1 if any request failed.
# Usage: examples/zero-downtime/run.sh [UPDATES [PROXY]]   PROXY: nginx (default), haproxy, caddy or traefik. Remove with
#   ansible-playbook -i examples/inventory examples/zero-downtime/remove.yml
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
updates=${1:-3}
proxy=${2:-nginx}
case $proxy in nginx|haproxy|caddy|traefik) ;; *) echo "run.sh: PROXY is nginx, haproxy, caddy or traefik, not '$proxy'" >&2; exit 2 ;; esac
cd "$root"
[ -n "${DOCKERUP_SKIP_SETUP:-}" ] || scripts/setup.sh
# shellcheck source=/dev/null
source scripts/env.sh
scripts/images.sh dockerup/busybox:1 "dockerup/$proxy:1"

play() { ansible-playbook -i examples/inventory examples/zero-downtime/site.yml -e proxy="$proxy" "$@" >"$work/play.log" 2>&1 \
           || { cat "$work/play.log"; exit 1; }; }
work=$(mktemp -d)
trap 'touch "$work/stop"; rm -rf "$work"' EXIT

echo "== converge (app_version=1, proxy $proxy)"
play -e app_version=1
python3 - <<'PY'
import time, urllib.request
for _ in range(50):  # the proxy answers once nginx has started
    try:
        print(urllib.request.urlopen("http://127.0.0.1:8081/", timeout=2).read().decode().strip()); break
    except OSError:
        time.sleep(0.2)
PY
python3 bench/loadgen.py --port 8081 --path / --path /pool/ --rate 100 --max-seconds 900 \
  --stop-file "$work/stop" --out "$work/load.json" &
loadgen=$!
started=$SECONDS
sleep 2
for version in $(seq 2 $((updates + 1))); do
  echo "== update to app_version=$version under load (from $((SECONDS - started)) s of the load)"
  play -e app_version="$version"
done
sleep 2
touch "$work/stop"
wait "$loadgen"
python3 - "$work/load.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("== load: %d requests in %.0f s, %d failed %s, longest gap without an answer %.2f s, slowest answer %.2f s"
      % (r["requests"], r["seconds"], r["failed"], {k: v for k, v in r["counts"].items() if v and k != "ok"},
         r["longest_gap"], r["slowest"]))
print("   pages seen: %s" % ", ".join(sorted({b.split()[1] for b in r["bodies"]}, key=int)))
for failure in r["failures"][:10]:
    print("   failed at %.2f s: %s %s" % tuple(failure))
sys.exit(1 if r["failed"] else 0)
PY
