#!/usr/bin/env bash
# The image pulls this machine's engine logged between two moments, one image reference a line (the
# event's Actor.ID, as the pull named it: REPO:TAG or REPO@DIGEST). Every pull is logged, also one that
# finds the image up to date and downloads nothing: an empty output means that nothing was pulled.
#
#   pull_events.sh SINCE [UNTIL]     SINCE, UNTIL: Unix time, fractions allowed (`date +%s.%N`); UNTIL: now
#
# (Used by tasks/private_registry_update.yml and private_registry_command.yml. The Go template lives here,
# out of Jinja's and ansible-lint's sight.)
set -euo pipefail
since=${1:?usage: pull_events.sh SINCE [UNTIL]}
until=${2:-$(date +%s.%N)}
docker events --since "$since" --until "$until" --filter type=image --filter event=pull --format '{{.Actor.ID}}'
