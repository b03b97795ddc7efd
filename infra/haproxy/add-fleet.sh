#!/usr/bin/env bash
# Add a fleet host to the WSS ingress: config only, nothing changes on the fleet hosts.
#
#   infra/haproxy/add-fleet.sh <name> <address>:<port>
#
# Appends the host to the host list, renders a candidate config, checks it with `haproxy -c`,
# and only then puts it in place and reloads HAProxy. A failed check changes nothing (the host
# list is restored). Settings come from the environment:
#   VOX_HAPROXY_HOSTS   host list              (/etc/haproxy/voxbridge-fleet-hosts)
#   VOX_HAPROXY_CONFIG  the live config        (/etc/haproxy/haproxy.cfg)
#   VOX_HAPROXY_RENDER  extra render.sh options, e.g. "--bind :443 --tls-cert /etc/haproxy/certs/fleet.pem"
#   VOX_HAPROXY_RELOAD  the reload command     (systemctl reload haproxy)
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 <name> <address>:<port>" >&2; exit 2; }
name=$1 address=$2
here=$(cd "$(dirname "$0")" && pwd)
hosts=${VOX_HAPROXY_HOSTS:-/etc/haproxy/voxbridge-fleet-hosts}
config=${VOX_HAPROXY_CONFIG:-/etc/haproxy/haproxy.cfg}
reload=${VOX_HAPROXY_RELOAD:-systemctl reload haproxy}
haproxy=$(command -v haproxy || echo /usr/sbin/haproxy)

touch "$hosts"
if awk -v n="$name" '$1 == n { found = 1 } END { exit !found }' "$hosts"; then
    echo "add-fleet.sh: $name is already in $hosts" >&2
    exit 1
fi

backup=$(mktemp)
candidate="$config.candidate"
trap 'rm -f "$backup" "$candidate"' EXIT
cp "$hosts" "$backup"
printf '%s %s\n' "$name" "$address" >>"$hosts"

# shellcheck disable=SC2086 # VOX_HAPROXY_RENDER is a list of options
if ! "$here/render.sh" --hosts "$hosts" ${VOX_HAPROXY_RENDER:-} --out "$candidate" \
    || ! "$haproxy" -c -q -f "$candidate"; then
    cp "$backup" "$hosts"
    echo "add-fleet.sh: the new config does not check; nothing changed" >&2
    exit 1
fi
mv "$candidate" "$config"
$reload
echo "add-fleet.sh: $name ($address) added; HAProxy reloaded" >&2
