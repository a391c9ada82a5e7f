#!/usr/bin/env bash
# Integration test of the role dockerup.bootstrap.dockerup on real systemd hosts, in one command:
#
#   tests/integration/run_role.sh            build what is missing, start the fleet, run every phase, remove the fleet
#   DOCKERUP_ROLE_KEEP=1 tests/integration/run_role.sh    leave the fleet running afterwards (for a look around:
#                                            docker exec -it durole-1 bash; scripts/hosts.sh stop durole removes it)
#
# Works on a fresh Debian 12 machine as root, from any directory:
#   1. runs scripts/setup.sh when ansible-playbook is missing (Debian packages, Ansible in build/venv),
#      starts the machine's Docker engine (scripts/engine.sh) and builds the offline busybox image
#      (scripts/images.sh);
#   2. puts community.docker (its `docker` connection) into build/collections-extra
#      (scripts/community_docker.sh: only that collection, from the `ansible` wheel on PyPI, once);
#   3. builds the systemd host images with mmdebstrap, Debian 12 and Ubuntu 24.04 from their mirrors
#      (scripts/hosts.sh build, about a minute each, kept for the next run), then starts 4 hosts
#      durole-1..3 (Debian) and durole-4 (Ubuntu): containers running systemd with their own Docker
#      engines, dockerup/busybox:1 preloaded into each (scripts/hosts.sh start), and removes docker.io
#      from durole-3 and durole-4 (the role installs it there: dockerup_install_docker); installs python3-apt
#      on durole-2..4 and empties the package lists of durole-2 and durole-4 with apt's timestamps left
#      fresh (the role must update such lists: they lack its packages, though younger than an hour);
#   4. runs the playbooks of targets/role_dockerup/ against them over the community.docker.docker
#      connection, checking each PLAY RECAP:
#        check       ansible-playbook --check converge.yml on the fresh hosts: changes reported, none made
#                    (fresh_untouched.yml: no file, unit or package of the role on the hosts)
#        converge    the role for real (prepare.yml first puts a hand-written definition on durole-1)
#        idempotent  converge.yml again: changed=0 on every host
#        check-again converge.yml --check: changed=0
#        verify      verify.yml: units as systemd parsed them (hardening, MemoryMax=, TasksMax=), timer active and firing, containers up on
#                    each engine, a run by hand, an edit on disk applied by the timer alone, a bad file
#                    failing the service with the file named in the journal and nothing changed
#        shrink      converge.yml -e role_test_shrink=true, then verify_shrink.yml: the role removes the
#                    file it wrote for a container no longer listed, never the hand-written one
#        clash       clash.yml: the role refuses to overwrite a file it did not write
#        verify-status  verify_status.yml (after verify): `dockerup status` exits 0 on every host, status.json
#                    readable by others, durole-2's metrics file (dockerup_metrics_file) written by the
#                    sandboxed service: last run successful, containers counted
#        rollout-*   examples/rollout.yml over the fleet (rollout_prepare.yml makes dockerup/web:2 and
#                    dockerup/web:broken, an image whose entrypoint exits, on each host): the broken image
#                    fails at the canary durole-1 and stops the rollout there (only durole-1 in the recap,
#                    failed), verify_rollout.yml: every host, the canary included, still runs its very web
#                    container of before; then the good image reaches every host
#        drift       drift_prepare.yml stops the timers and changes web's restart policy on durole-2 by hand;
#                    the collection's playbook dockerup.bootstrap.drift --check, with an extra host that does
#                    not exist (drift_inventory.yml), ends with one summary: durole-2 would update web
#                    (restart), three hosts in sync, one unreachable
#      and that a secret env value of a definition appears in no output of the role (run with -v --diff);
#   5. removes the fleet (containers durole-N, their /var/lib/docker volumes, network durole-net: only
#      objects labelled io.dockerup.test-fleet=durole), also when a phase failed. The host image stays.
#
# Environment: DOCKERUP_ROLE_ANSIBLE_ARGS, extra arguments for every ansible-playbook (e.g. "-v").
# Exit status: 0 when every phase passed, 1 otherwise. Output of every playbook: $DOCKERUP_ROLE_LOGS
# (default /var/lib/dockerup-test/role-logs/).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target=$here/targets/role_dockerup
prefix=durole
suites=(bookworm bookworm bookworm noble)  # durole-1..4: Debian 12 three times, Ubuntu 24.04
count=${#suites[@]}
logs=${DOCKERUP_ROLE_LOGS:-/var/lib/dockerup-test/role-logs}
start_all=$SECONDS

say() { printf '\n==== run_role: %s\n' "$*"; }

# shellcheck source=/dev/null
source "$root/scripts/env.sh"

# ------------------------------------------------------------------ tools
# A fresh machine: the project's setup (Debian packages, and Ansible in build/venv when Debian's Python
# refuses pip installs), then env.sh again to put that venv on PATH.
if ! command -v ansible-playbook >/dev/null 2>&1; then
  say "no ansible-playbook: running scripts/setup.sh"
  "$root/scripts/setup.sh"
  # shellcheck source=/dev/null
  source "$root/scripts/env.sh"
  hash -r
fi
python=$ANSIBLE_PYTHON_INTERPRETER   # the Python that runs Ansible (and has pip)

mkdir -p /var/lib/dockerup-test "$logs"
exec 9>/var/lib/dockerup-test/role.lock
if ! flock -n 9; then
  echo "run_role: another run holds /var/lib/dockerup-test/role.lock; waiting (up to 15 min)" >&2
  flock -w 900 9 || { echo "run_role: gave up waiting for the lock" >&2; exit 1; }
fi

"$root/scripts/engine.sh"
"$root/scripts/images.sh"

# community.docker from the `ansible` wheel (ansible 12.x goes with ansible-core 2.19), nothing else of it.
extra=$(PYTHON=$python "$root/scripts/community_docker.sh")
export ANSIBLE_COLLECTIONS_PATH=$ANSIBLE_COLLECTIONS_PATH:$extra
export ANSIBLE_PIPELINING=1 ANSIBLE_FORKS=10 ANSIBLE_DEPRECATION_WARNINGS=0

# ------------------------------------------------------------------ fleet
say "host image and fleet"
"$root/scripts/hosts.sh" build "${suites[@]}"
"$root/scripts/hosts.sh" stop "$prefix" >/dev/null 2>&1 || true   # leftovers of a killed run
cleanup() {
  if [ -n "${DOCKERUP_ROLE_KEEP:-}" ]; then
    echo "run_role: DOCKERUP_ROLE_KEEP set: fleet $prefix left running (scripts/hosts.sh stop $prefix)" >&2
  else
    "$root/scripts/hosts.sh" stop "$prefix" || true
  fi
}
trap cleanup EXIT
"$root/scripts/hosts.sh" start "$prefix" "${suites[@]}"
# The last two hosts (Debian, Ubuntu) start without Docker (images stay in their /var/lib/docker volumes):
# the role installs docker.io there from their distribution's mirror (dockerup_install_docker in
# inventory.yml) and starts it.
for host in "$prefix-3" "$prefix-4"; do
  say "removing docker.io from $host: the role installs it"
  docker exec "$host" sh -c 'systemctl stop docker.socket docker.service containerd.service \
    && DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq docker.io >/dev/null \
    && DEBIAN_FRONTEND=noninteractive apt-get autoremove -y -qq >/dev/null && ! command -v dockerd'
done

# apt on the hosts, three ways; the role must install its packages on each:
#   durole-1   as built: no package lists (mmdebstrap removes them) and no python3-apt (Ansible's apt
#              module installs it, updating the lists first);
#   durole-3   python3-apt and fresh, complete lists: nothing to update;
#   durole-2, durole-4   python3-apt, then the lists emptied while apt's timestamps stay fresh (a host
#              image built and cleaned less than an hour ago): cache_valid_time alone would keep the
#              empty lists ("No package matching 'python3-docker' is available").
apt_prepare() {  # apt_prepare HOST keep|empty
  docker exec -e DEBIAN_FRONTEND=noninteractive "$1" sh -c \
    'apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-apt >/dev/null' || return 1
  [ "$2" = empty ] || return 0
  docker exec "$1" sh -c 'find /var/lib/apt/lists -maxdepth 1 -type f ! -name lock -delete \
    && mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/lists /var/lib/apt/periodic/update-success-stamp' || return 1
  if docker exec -e LC_ALL=C "$1" apt-cache policy python3-docker | grep -q 'Candidate: [^(]'; then
    echo "run_role: $1: apt still offers python3-docker after its lists were emptied" >&2
    return 1
  fi
}
say "apt: python3-apt on $prefix-2..4, fresh lists on $prefix-3, emptied fresh lists on $prefix-2 and $prefix-4"
pids=()
apt_prepare "$prefix-2" empty & pids+=($!)
apt_prepare "$prefix-3" keep & pids+=($!)
apt_prepare "$prefix-4" empty & pids+=($!)
for pid in "${pids[@]}"; do wait "$pid" || { echo "run_role: preparing apt on a host failed" >&2; exit 1; }; done

# A private registry inside durole-1 (Debian's docker-registry binary, 127.0.0.1:5000 of that host,
# htpasswd auth) holding one image, pushed with a throw-away login and then removed from the host's
# engine: the role writes the credentials (inventory.yml) and the service's run must pull it.
registry_password=role-test-registry-7c41d2e8  # as in inventory.yml
private_registry() {  # private_registry HOST
  local host=$1 line
  line=$(printf '%s' "$registry_password" | "$root/scripts/registry.sh" htpasswd roletest) || return 1
  docker cp /usr/bin/docker-registry "$host:/usr/local/bin/docker-registry" || return 1
  printf '%s\n' "$line" | docker exec -i "$host" sh -c 'mkdir -p /srv/test-registry && cat >/srv/test-registry/htpasswd' || return 1
  printf '%s\n' 'version: 0.1' 'storage: {filesystem: {rootdirectory: /srv/test-registry/data}}' \
    'http: {addr: "127.0.0.1:5000"}' 'auth: {htpasswd: {realm: role-test, path: /srv/test-registry/htpasswd}}' \
    | docker exec -i "$host" sh -c 'cat >/srv/test-registry/config.yml' || return 1
  docker exec "$host" systemd-run --quiet --unit=test-registry \
    /usr/local/bin/docker-registry serve /srv/test-registry/config.yml || return 1
  docker exec "$host" python3 -c 'import time, urllib.request, urllib.error
for _ in range(100):
    try:
        urllib.request.urlopen("http://127.0.0.1:5000/v2/", timeout=1)
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            break
    except OSError:
        pass
    time.sleep(0.1)
else:
    raise SystemExit("registry did not answer")' || return 1
  printf '%s' "$registry_password" | docker exec -i "$host" sh -c 'export DOCKER_CONFIG=$(mktemp -d) \
    && docker login -u roletest --password-stdin 127.0.0.1:5000 >/dev/null \
    && docker tag dockerup/busybox:1 127.0.0.1:5000/private/app:1 && docker push -q 127.0.0.1:5000/private/app:1 >/dev/null \
    && docker rmi 127.0.0.1:5000/private/app:1 >/dev/null && rm -rf "$DOCKER_CONFIG"' || return 1
}
say "private registry on $prefix-1 (127.0.0.1:5000 there, password auth) with 127.0.0.1:5000/private/app:1"
private_registry "$prefix-1" || { echo "run_role: starting the private registry on $prefix-1 failed" >&2; exit 1; }

# ------------------------------------------------------------------ phases
failed=()
results=()

# recap LOG: the PLAY RECAP lines of the fleet's hosts in LOG, as "host ok changed unreachable failed".
recap() {
  sed -n "s/^\($prefix-[0-9]*\) *: ok=\([0-9]*\) *changed=\([0-9]*\) *unreachable=\([0-9]*\) *failed=\([0-9]*\).*/\1 \2 \3 \4 \5/p" "$1"
}

# phase NAME CHANGED PLAYBOOK [ansible-playbook args...]: run PLAYBOOK; CHANGED is `some` (every host
# reports changes), `none` (no host does) or `any`. Every host must appear in the recap, reachable and
# not failed.
phase() {
  local name=$1 want=$2 playbook=$3 log status=0 host changed unreachable fail seen=0 problems=()
  shift 3
  log=$logs/$name.log
  say "$name: ansible-playbook $playbook $*"
  local t0=$SECONDS
  # shellcheck disable=SC2086  # word splitting of DOCKERUP_ROLE_ANSIBLE_ARGS is wanted
  ansible-playbook -i "$target/inventory.yml" "$target/playbooks/$playbook" "$@" ${DOCKERUP_ROLE_ANSIBLE_ARGS:-} 2>&1 | tee "$log" || status=$?
  [ "$status" -eq 0 ] || problems+=("ansible-playbook exited $status")
  while read -r host _ changed unreachable fail; do
    seen=$((seen + 1))
    [ "$unreachable" = 0 ] || problems+=("$host unreachable")
    [ "$fail" = 0 ] || problems+=("$host failed=$fail")
    case $want in
      some) [ "$changed" -gt 0 ] || problems+=("$host changed=0, expected changes") ;;
      none) [ "$changed" -eq 0 ] || problems+=("$host changed=$changed, expected none") ;;
    esac
  done < <(recap "$log")
  [ "$seen" -eq "$count" ] || problems+=("$seen host(s) in the recap, expected $count")
  if [ ${#problems[@]} -eq 0 ]; then
    results+=("PASS  $name ($((SECONDS - t0)) s)")
  else
    results+=("FAIL  $name ($((SECONDS - t0)) s): $(IFS=';'; echo "${problems[*]}")")
    failed+=("$name")
  fi
}

# The role's own runs use -v --diff: the secret env value of `web` (inventory.yml) must not show.
phase check some converge.yml --check --diff -v
phase fresh-untouched any fresh_untouched.yml
phase prepare any prepare.yml
phase converge some converge.yml --diff -v
phase idempotent none converge.yml -v
phase check-again none converge.yml --check --diff -v
phase verify any verify.yml
phase verify-status any verify_status.yml
phase shrink some converge.yml -e role_test_shrink=true --diff -v
phase verify-shrink any verify_shrink.yml
phase clash any clash.yml -v

# ------------------------------------------------------------------ fleet operations (docs/monitoring.md)
# finish NAME T0 PROBLEMS...: record the result of a phase that checks its own outcome.
finish() {
  local name=$1 t0=$2
  shift 2
  if [ $# -eq 0 ]; then
    results+=("PASS  $name ($((SECONDS - t0)) s)")
  else
    results+=("FAIL  $name ($((SECONDS - t0)) s): $(IFS=';'; echo "$*")")
    failed+=("$name")
  fi
}

# rollout NAME stopped|reached IMAGE: examples/rollout.yml with the inventory's web on IMAGE. `stopped`: the
# play fails at the canary, durole-1 (failed, rescued), and no other host appears in the recap; `reached`:
# every host changed, none failed.
rollout() {
  local name=$1 want=$2 image=$3 log=$logs/$1.log status=0 t0=$SECONDS problems=() hosts
  say "$name: ansible-playbook examples/rollout.yml, web on $image"
  # shellcheck disable=SC2086  # word splitting of DOCKERUP_ROLE_ANSIBLE_ARGS is wanted
  ansible-playbook -i "$target/inventory.yml" "$root/examples/rollout.yml" --diff -v -e rollout_ready_timeout=30 \
    -e "{\"rollout_container\": \"{{ role_test_common[0] | combine({'image': '$image'}) }}\"}" \
    ${DOCKERUP_ROLE_ANSIBLE_ARGS:-} 2>&1 | tee "$log" || status=$?
  hosts=$(recap "$log" | awk '{print $1}' | xargs)
  if [ "$want" = stopped ]; then
    [ "$status" -ne 0 ] || problems+=("ansible-playbook exited 0, expected the canary to fail")
    [ "$hosts" = "$prefix-1" ] || problems+=("hosts in the recap: '$hosts', expected only $prefix-1")
    recap "$log" | grep -q "^$prefix-1 [0-9]* [0-9]* 0 1$" || problems+=("$prefix-1 did not fail")
    grep -q "rollout of web stopped at $prefix-1, which keeps its previous container" "$log" \
      || problems+=("the log does not say that the rollout stopped at $prefix-1")
  else
    [ "$status" -eq 0 ] || problems+=("ansible-playbook exited $status")
    [ "$(recap "$log" | awk '$3 > 0 && $4 == 0 && $5 == 0' | wc -l)" -eq "$count" ] \
      || problems+=("not every host changed without failing: $(recap "$log" | xargs)")
  fi
  finish "$name" "$t0" "${problems[@]}"
}

# drift: the collection's playbook dockerup.bootstrap.drift over the fleet and one host that does not
# exist, in check mode; its JSON summary must name durole-2's drifted web and nothing else, and no host
# may warn about credentials (durole-1's private image is checked with the role's registry credentials).
drift() {
  local log=$logs/drift.log report=$logs/drift.json status=0 t0=$SECONDS problems=()
  say "drift: ansible-playbook dockerup.bootstrap.drift --check"
  if ! command -v ssh >/dev/null 2>&1; then  # the unreachable host of drift_inventory.yml is an SSH host
    say "drift: apt-get install openssh-client (the controller has no ssh)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-client >/dev/null 2>&1 \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssh-client >/dev/null; } \
      || problems+=("could not install openssh-client")
  fi
  rm -f "$report"
  # shellcheck disable=SC2086  # word splitting of DOCKERUP_ROLE_ANSIBLE_ARGS is wanted
  ansible-playbook -i "$target/inventory.yml" -i "$target/drift_inventory.yml" dockerup.bootstrap.drift --check \
    -e drift_hosts=dockerup_fleet -e "drift_report_file=$report" ${DOCKERUP_ROLE_ANSIBLE_ARGS:-} 2>&1 | tee "$log" || status=$?
  [ "$status" -eq 0 ] || problems+=("ansible-playbook exited $status")
  grep -q "dockerup drift: 5 host(s): 3 in sync, 1 with changes pending, 0 failed, 1 unreachable" "$log" \
    || problems+=("no summary line for 5 hosts, 3 in sync, 1 drifted, 1 unreachable in the log")
  "$python" - "$report" "$prefix" <<'PY' || problems+=("the JSON summary is not as expected (see above)")
import json, sys
report, prefix = json.load(open(sys.argv[1])), sys.argv[2]
hosts = report["hosts"]
want = {"%s-%d" % (prefix, n): "in_sync" for n in (1, 3, 4)}
want.update({prefix + "-2": "drift", prefix + "-gone": "unreachable"})
problems = ["%s: %s, expected %s" % (h, hosts.get(h, {}).get("state"), s) for h, s in want.items() if hosts.get(h, {}).get("state") != s]
changes = hosts.get(prefix + "-2", {}).get("changes", [])
if [(c["container"], c["action"]) for c in changes] != [("web", "update")] or "restart" not in " ".join(changes[0]["reasons"]):
    problems.append("%s-2: changes %r, expected one update of web for its restart policy" % (prefix, changes))
# durole-1's private image: the playbook hands the module the role's registry.json, so its update check
# has the credentials (without them: a warning "asks for credentials and none were found").
for host, entry in sorted(hosts.items()):
    about_credentials = [w for w in entry.get("warnings") or [] if "credentials" in w]
    if about_credentials:
        problems.append("%s: warnings %r, expected none about credentials" % (host, about_credentials))
for problem in problems:
    print("drift: " + problem, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
  finish drift "$t0" "${problems[@]}"
}

phase rollout-prepare any rollout_prepare.yml
rollout rollout-broken stopped dockerup/web:broken
phase verify-rollout-stopped any verify_rollout.yml -e role_test_rollout=stopped
rollout rollout-good reached dockerup/web:2
phase verify-rollout-done any verify_rollout.yml -e role_test_rollout=done
phase drift-prepare any drift_prepare.yml
drift

secret=role-test-secret-5f3a9c0e
leaks=$(grep -l -e "$secret" -e "$registry_password" \
  "$logs"/{check,converge,idempotent,check-again,shrink,clash,rollout-broken,rollout-good,drift}.log || true)
if [ -n "$leaks" ]; then
  results+=("FAIL  secret: the env value of web or the registry password appears in $(echo "$leaks" | xargs)")
  failed+=(secret)
else
  results+=("PASS  secret: neither the env value of web nor the registry password appears in any output of the role")
fi

say "summary (logs in $logs)"
printf '%s\n' "${results[@]}"
echo "total: $((SECONDS - start_all)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "run_role: FAILED: ${failed[*]}"
  exit 1
fi
echo "run_role: all phases passed"
