#!/usr/bin/env bash
# On a target host, inside the role's checkout already at the release tag (the Jenkinsfile's
# deploy stage checks it out): install the locked dependencies and restart the role's units.
#
#   infra/jenkins/deploy-host.sh api|fleet|dialler
#
# fleet: one worker at a time. Each restart is a drain (the unit's stop lets the call in progress
# end), then the next worker waits until this one answers /health on its socket, so the host
# never loses more than one slot. A worker that does not come back stops the roll (exit 1) with
# the rest still on their previous process; rerun the job with the previous tag to roll back.
#
# Settings from the environment: VOX_SYSTEMCTL (systemctl), VOX_UV (uv),
# VOX_FLEET_SOCKET_PATTERN (/tmp/voxcore_%i.sock), VOX_DEPLOY_HEALTH_TIMEOUT (seconds, 60).
set -euo pipefail

role=${1:-}
systemctl=${VOX_SYSTEMCTL:-sudo systemctl}
uv=${VOX_UV:-uv}
pattern=${VOX_FLEET_SOCKET_PATTERN:-/tmp/voxcore_%i.sock}
timeout=${VOX_DEPLOY_HEALTH_TIMEOUT:-60}

case "$role" in
    api) units=(voxbridge.service) ;;
    dialler) units=(voxdialler.service) ;;
    fleet)
        mapfile -t units < <($systemctl list-units 'voxcore@*.service' --plain --no-legend \
            | awk '{print $1}' | grep -E '^voxcore@[0-9]+\.service$' | sort -t@ -k2 -n)
        [ ${#units[@]} -gt 0 ] || { echo "deploy-host.sh: no voxcore@ worker runs here" >&2; exit 1; }
        ;;
    *) echo "usage: $0 api|fleet|dialler" >&2; exit 2 ;;
esac

# --compile-bytecode: the roles' users may not write into the checkout, so without it every
# process compiles each module it imports at every start (slower, and about 15 MB more of an
# idle fleet worker's memory: docs/fleet.md, "Memory and first audio").
UV_PYTHON_DOWNLOADS=never $uv sync --frozen --no-dev --compile-bytecode --quiet

healthy() {
    curl -sf --max-time 2 --unix-socket "$1" http://fleet/health >/dev/null
}

for unit in "${units[@]}"; do
    echo "deploy-host.sh: restarting $unit" >&2
    $systemctl restart "$unit"
    if [ "$role" = fleet ]; then
        number=${unit#voxcore@}
        number=${number%.service}
        socket=${pattern//%i/$number}
        deadline=$((SECONDS + timeout))
        until healthy "$socket"; do
            if [ $SECONDS -ge $deadline ]; then
                echo "deploy-host.sh: $unit did not answer /health on $socket within ${timeout}s; roll stopped" >&2
                exit 1
            fi
            sleep 0.5
        done
    else
        $systemctl is-active --quiet "$unit"
    fi
done
echo "deploy-host.sh: $role restarted (${#units[@]} unit(s))" >&2
