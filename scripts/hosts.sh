#!/usr/bin/env bash
# Test hosts for the dockerup role: containers running systemd as PID 1, each with its own Docker
# engine, built and started offline (ENVIRONMENT.md, "systemd hosts"). Nothing is pulled from a registry.
#
#   scripts/hosts.sh build [SUITE...]        build the host image of each SUITE when it is missing (about
#                                            1 min each, cached); SUITE: bookworm (Debian 12, the default)
#                                            or noble (Ubuntu 24.04)
#   scripts/hosts.sh start PREFIX SUITE...   start hosts PREFIX-1, PREFIX-2, ... one per SUITE, wait for
#                                            systemd and their engines, preload the preload images
#   scripts/hosts.sh stop [PREFIX]           remove those hosts, their engine volumes and their network
#   scripts/hosts.sh status [PREFIX]         list the hosts and their state
#   scripts/hosts.sh preload PREFIX IMAGE... copy images from this machine's engine into every host's engine
#
# Every object this script creates carries the label io.dockerup.test-fleet=PREFIX, and `stop` removes
# only containers, volumes and networks with that label and the PREFIX- name: nothing else on the
# machine is touched. Images (dockerup-test/systemd-host:SUITE) are kept for the next run;
# DOCKERUP_HOSTS_REBUILD=1 rebuilds them.
#
# Environment:
#   DOCKERUP_HOSTS_DEBIAN_MIRROR   Debian mirror (default http://deb.debian.org/debian)
#   DOCKERUP_HOSTS_UBUNTU_MIRROR   Ubuntu mirror (default http://archive.ubuntu.com/ubuntu)
#   DOCKERUP_HOSTS_PRELOAD         images preloaded by `start` (default dockerup/busybox:1)
#
# The hosts run with the privileged-equivalent flags of ENVIRONMENT.md (`--privileged` does not work on
# these machines), tmpfs /run, /run/lock and /tmp, the machine's cgroup tree read-only, and volumes for
# /var/lib/docker and /var/lib/containerd so that their engines can use overlayfs (Ubuntu's Docker 29
# keeps images in containerd's store, which cannot put overlayfs on the host container's own overlay). Their engines live in the hosts' own network
# namespaces: the machine's docker0 is never touched. Hosts reach their distribution's mirror through the
# fleet's user-defined network.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
debian_mirror=${DOCKERUP_HOSTS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
ubuntu_mirror=${DOCKERUP_HOSTS_UBUNTU_MIRROR:-http://archive.ubuntu.com/ubuntu}
# Ubuntu's archive keyring, from Ubuntu's archive (Debian 12 does not package it), checked against this hash.
ubuntu_keyring_deb=pool/main/u/ubuntu-keyring/ubuntu-keyring_2023.11.28.1_all.deb
ubuntu_keyring_sha256=36de43b15853ccae0028e9a767613770c704833f82586f28eb262f0311adb8a8
read -r -a preload_images <<<"${DOCKERUP_HOSTS_PRELOAD:-dockerup/busybox:1}"
label=io.dockerup.test-fleet

die() { echo "hosts: $*" >&2; exit 2; }
log() { echo "hosts: $*" >&2; }

check_prefix() {
  [[ $1 =~ ^[a-z][a-z0-9]*(-[a-z0-9]+)*$ ]] || die "bad prefix '$1' (lower case letters, digits, dashes)"
}

# ------------------------------------------------------------------ build
image_of() {  # image_of SUITE: the host image name, or die for an unknown suite
  case $1 in
    bookworm | noble) echo "dockerup-test/systemd-host:$1" ;;
    *) die "unknown suite '$1' (bookworm or noble)" ;;
  esac
}

build() {
  local suite
  for suite in "${@:-bookworm}"; do
    build_one "$suite"
  done
}

build_one() {
  local suite=$1 image work start=$SECONDS keyring=() sources=()
  image=$(image_of "$suite")
  if [ -z "${DOCKERUP_HOSTS_REBUILD:-}" ] && docker image inspect "$image" >/dev/null 2>&1; then
    return 0
  fi
  if ! command -v mmdebstrap >/dev/null 2>&1; then
    log "installing mmdebstrap"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null; }
  fi
  work=$(mktemp -d /var/tmp/dockerup-hosts.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" EXIT
  case $suite in
    bookworm)
      sources=("deb $debian_mirror bookworm main" "deb $debian_mirror bookworm-updates main"
               "deb ${debian_mirror%/debian}/debian-security bookworm-security main") ;;
    noble)
      # Python's urllib, not curl: a bare Debian 12 has python3 but no curl.
      python3 -c 'import shutil, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=60) as response, open(sys.argv[2], "wb") as out:
    shutil.copyfileobj(response, out)' "$ubuntu_mirror/$ubuntu_keyring_deb" "$work/keyring.deb" \
        || die "cannot download $ubuntu_mirror/$ubuntu_keyring_deb"
      echo "$ubuntu_keyring_sha256  $work/keyring.deb" | sha256sum --quiet -c - || die "ubuntu-keyring: unexpected checksum"
      dpkg-deb -x "$work/keyring.deb" "$work/keyring"
      chmod 0755 "$work"  # apt reads the keyring as its unprivileged _apt user
      keyring=(--keyring="$work/keyring/usr/share/keyrings/ubuntu-archive-keyring.gpg")
      # docker.io and the Python packages the role installs are in universe.
      sources=("deb $ubuntu_mirror noble main universe" "deb $ubuntu_mirror noble-updates main universe"
               "deb $ubuntu_mirror noble-security main universe") ;;
  esac
  log "building $image with mmdebstrap (about a minute)"
  # Packages: systemd as init, python3 for Ansible, docker.io for the host's own engine, and a few tools.
  # python3-docker and python3-jsonschema are deliberately absent: installing them is the role's job.
  # The engine's daemon.json selects the systemd cgroup driver (its containers then live in systemd's
  # tree); units that cannot work in a container are masked; machine-id is emptied so every host gets
  # its own at first boot.
  # shellcheck disable=SC2016  # the hooks' "$1" (the chroot) is expanded by mmdebstrap, not here
  mmdebstrap --mode=root --variant=minbase --quiet "${keyring[@]}" \
    --include=apt,systemd,systemd-sysv,dbus,python3,docker.io,iproute2,procps,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --customize-hook='mkdir -p "$1/etc/docker" && printf "%s\n" "{\"exec-opts\": [\"native.cgroupdriver=systemd\"]}" >"$1/etc/docker/daemon.json"' \
    --customize-hook='chroot "$1" systemctl mask getty@tty1.service console-getty.service serial-getty@.service systemd-logind.service systemd-firstboot.service systemd-remount-fs.service sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount 2>/dev/null' \
    --customize-hook='chroot "$1" systemctl enable docker.service containerd.service >/dev/null 2>&1' \
    --customize-hook=': >"$1/etc/machine-id" && rm -f "$1/var/lib/dbus/machine-id"' \
    "$suite" "$work/rootfs.tar" "${sources[@]}"
  docker import \
    -c 'CMD ["/sbin/init"]' -c 'ENV container=docker' \
    -c "LABEL io.dockerup.test-image=systemd-host" \
    "$work/rootfs.tar" "$image" >/dev/null
  rm -rf "$work"
  trap - EXIT
  log "built $image in $((SECONDS - start)) s ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%d MB", $1/1e6}'))"
}

# ------------------------------------------------------------------ start / stop
hosts_of() {  # names of the running or stopped hosts of fleet $1
  docker ps -a --filter "label=$label=$1" --format '{{.Names}}' | grep -E "^$1-[0-9]+$" | sort -t- -k2 -n || true
}

wait_host() {  # wait until systemd runs and the host's engine answers
  local host=$1 state
  for _ in $(seq 1 120); do
    state=$(docker exec "$host" systemctl is-system-running 2>/dev/null || true)
    if [[ $state == running || $state == degraded ]] && docker exec "$host" docker info >/dev/null 2>&1; then
      [ "$state" = running ] || log "$host: systemd says $state: $(docker exec "$host" systemctl --failed --no-legend --plain 2>/dev/null | awk '{print $1}' | xargs)"
      return 0
    fi
    sleep 0.5
  done
  log "$host: not ready after 60 s (systemd: ${state:-?}); last journal lines:"
  docker exec "$host" journalctl -b --no-pager -n 30 >&2 2>/dev/null || docker logs --tail 30 "$host" >&2 || true
  return 1
}

preload() {
  local prefix=$1; shift
  local host img hosts
  mapfile -t hosts < <(hosts_of "$prefix")
  [ ${#hosts[@]} -gt 0 ] || die "no hosts with prefix $prefix"
  for img in "$@"; do
    docker image inspect "$img" >/dev/null 2>&1 || die "image $img is not on this machine's engine"
    for host in "${hosts[@]}"; do
      if ! docker exec "$host" docker image inspect "$img" >/dev/null 2>&1; then
        docker save "$img" | docker exec -i "$host" docker load -q >/dev/null
      fi
    done
  done
}

start() {
  local prefix=${1:-} i=0 host net suite pids=()
  shift || true
  check_prefix "$prefix"
  [ $# -gt 0 ] || die "usage: hosts.sh start PREFIX SUITE..."
  build "$@"
  net=$prefix-net
  if ! docker network inspect "$net" >/dev/null 2>&1; then
    docker network create --label "$label=$prefix" "$net" >/dev/null
  fi
  for suite in "$@"; do
    i=$((i + 1))
    host=$prefix-$i
    if docker container inspect "$host" >/dev/null 2>&1; then
      [ "$(docker container inspect -f '{{.State.Running}}' "$host")" = true ] || docker start "$host" >/dev/null
      continue
    fi
    docker volume create --label "$label=$prefix" "$host-docker" >/dev/null
    docker volume create --label "$label=$prefix" "$host-containerd" >/dev/null
    docker run -d --name "$host" --hostname "$host" --network "$net" --label "$label=$prefix" \
      --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
      --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
      --device-cgroup-rule 'a *:* rwm' \
      --stop-signal SIGRTMIN+3 --stop-timeout 20 \
      --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
      -v /sys/fs/cgroup:/sys/fs/cgroup:ro -v "$host-docker:/var/lib/docker" -v "$host-containerd:/var/lib/containerd" \
      "$(image_of "$suite")" >/dev/null
  done
  for i in $(seq 1 $#); do
    wait_host "$prefix-$i" & pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || die "a host did not come up"; done
  [ ${#preload_images[@]} -eq 0 ] || preload "$prefix" "${preload_images[@]}"
  log "fleet $prefix: $(hosts_of "$prefix" | xargs) ready"
}

stop() {
  local prefix=${1:-duhost} ids volumes nets
  check_prefix "$prefix"
  mapfile -t ids < <(hosts_of "$prefix")
  if [ ${#ids[@]} -gt 0 ]; then
    docker rm -f "${ids[@]}" >/dev/null
  fi
  mapfile -t volumes < <(docker volume ls -q --filter "label=$label=$prefix" | grep -E "^$prefix-[0-9]+-(docker|containerd)$" || true)
  if [ ${#volumes[@]} -gt 0 ]; then
    docker volume rm -f "${volumes[@]}" >/dev/null
  fi
  mapfile -t nets < <(docker network ls --filter "label=$label=$prefix" --format '{{.Name}}' | grep -Fx "$prefix-net" || true)
  if [ ${#nets[@]} -gt 0 ]; then
    docker network rm "${nets[@]}" >/dev/null
  fi
  log "fleet $prefix: removed ${#ids[@]} host(s), ${#volumes[@]} volume(s), ${#nets[@]} network(s)"
}

status() {
  local prefix=${1:-duhost} host
  check_prefix "$prefix"
  for host in $(hosts_of "$prefix"); do
    printf '%s\t%s\t%s\n' "$host" "$(docker inspect -f '{{.State.Status}}' "$host")" \
      "$(docker exec "$host" systemctl is-system-running 2>/dev/null || true)"
  done
}

"$here/engine.sh"
case ${1:-} in
  build) shift; build "$@" ;;
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  status) shift; status "$@" ;;
  preload) shift; [ $# -ge 2 ] || die "usage: hosts.sh preload PREFIX IMAGE..."; check_prefix "$1"; preload "$@" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
