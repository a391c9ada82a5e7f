#!/usr/bin/env bash
# Remove the Docker objects of integration test runs, and nothing else.
#
#   cleanup.sh NS [VOLUME...]
#
# NS is an extended regular expression for a run's namespace: "dut-1a2b3c4d" for one run (tasks/cleanup.yml),
# "dut-[0-9a-f]{8}" for every run (tests/integration/run.sh, for what killed runs left behind). Removed:
#   - containers named NS-* or carrying a dockerup scope label NS-* (docker rm --force);
#   - the volumes those containers mount (anonymous volumes, and those a replacement carried over: ours),
#     and the VOLUMEs given (volumes a test recorded), when no other container uses them;
#   - networks named NS-*;
#   - image tags NS/*:* and *:NS* (docker rmi of the tag; shared layers stay).
# Prints one line: "removed: N containers, N volumes, N networks, N tags". Never fails on what is already gone.
set -uo pipefail

ns=${1:?usage: cleanup.sh NS [VOLUME...]}
shift
volumes=("$@")
name_re="^${ns}-"

containers=()
while read -r id name scope; do
  if [[ $name =~ $name_re ]] || [[ ${scope:-} =~ $name_re ]]; then
    containers+=("$id")
  fi
done < <(docker ps --all --no-trunc --format '{{.ID}} {{.Names}} {{.Label "io.dockerup.scope"}}')

if [ ${#containers[@]} -gt 0 ]; then
  while read -r volume; do
    [ -n "$volume" ] && volumes+=("$volume")
  done < <(docker container inspect --format '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}}{{"\n"}}{{end}}{{end}}' \
    "${containers[@]}" 2>/dev/null)
  docker rm --force "${containers[@]}" >/dev/null 2>&1
fi

removed_volumes=0
if [ ${#volumes[@]} -gt 0 ]; then
  for volume in $(printf '%s\n' "${volumes[@]}" | sort -u); do
    docker volume rm "$volume" >/dev/null 2>&1 && removed_volumes=$((removed_volumes + 1))
  done
fi

networks=()
while read -r network; do
  [[ $network =~ $name_re ]] && networks+=("$network")
done < <(docker network ls --format '{{.Name}}')
if [ ${#networks[@]} -gt 0 ]; then
  docker network rm "${networks[@]}" >/dev/null 2>&1
fi

tags=()
while read -r tag; do
  [[ $tag =~ ^${ns}/ || $tag =~ :${ns} ]] && tags+=("$tag")
done < <(docker images --format '{{.Repository}}:{{.Tag}}')
if [ ${#tags[@]} -gt 0 ]; then
  docker rmi "${tags[@]}" >/dev/null 2>&1
fi

echo "removed: ${#containers[@]} containers, $removed_volumes volumes, ${#networks[@]} networks, ${#tags[@]} tags"
exit 0
