#!/usr/bin/env bash
# Run exactly N fleet workers on this host (the seed's "Scaling the fleet").
#
#   sudo infra/fleet/scale.sh N
#
# Up: enable and start voxcore@<i> for the new instances, then render nginx's upstream for N
# sockets, `nginx -t`, and reload nginx. Down: nginx first (no new calls reach the instances
# going away), then each extra instance is disabled and stopped without waiting: its stop is a
# drain that lets the call in progress end (up to an hour).
# A config that fails `nginx -t` is put back and nothing is reloaded.
#
# Settings from the environment (the defaults are a production host's):
#   VOX_NGINX_SITE            the rendered config   (/etc/nginx/conf.d/voxcore-fleet.conf)
#   VOX_NGINX_RENDER_OPTIONS  render.sh options besides --workers, e.g. "--listen 8443 ..."
#                             (default: the contents of /etc/voxcore/nginx-render.options)
#   VOX_SYSTEMCTL             systemctl             (systemctl)
#   VOX_NGINX                 nginx                 (nginx)
set -euo pipefail

[ $# -eq 1 ] && [[ $1 =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 N (workers, at least 1)" >&2; exit 2; }
wanted=$1
here=$(cd "$(dirname "$0")" && pwd)
site=${VOX_NGINX_SITE:-/etc/nginx/conf.d/voxcore-fleet.conf}
systemctl=${VOX_SYSTEMCTL:-systemctl}
nginx=${VOX_NGINX:-nginx}
if [ -z "${VOX_NGINX_RENDER_OPTIONS+set}" ] && [ -r /etc/voxcore/nginx-render.options ]; then
    VOX_NGINX_RENDER_OPTIONS=$(</etc/voxcore/nginx-render.options)
fi

# The instances that exist now, enabled or running.
running=$($systemctl list-units 'voxcore@*.service' --all --plain --no-legend | awk '{print $1}' \
    | sed -n 's/^voxcore@\([0-9][0-9]*\)\.service$/\1/p' | sort -n | tail -1)
current=${running:-0}

reload_nginx() {
    local backup
    backup=$(mktemp)
    if [ -e "$site" ]; then cp "$site" "$backup"; fi
    # shellcheck disable=SC2086 # a list of options
    "$here/../nginx/render.sh" --workers "$wanted" ${VOX_NGINX_RENDER_OPTIONS:-} --out "$site"
    if ! $nginx -t -q; then
        if [ -s "$backup" ]; then cp "$backup" "$site"; else rm -f "$site"; fi
        rm -f "$backup"
        echo "scale.sh: nginx -t refused the config for $wanted workers; the previous one is back" >&2
        exit 1
    fi
    rm -f "$backup"
    $systemctl reload nginx
}

for ((i = 1; i <= wanted; i++)); do
    $systemctl enable --now "voxcore@$i.service"
done
reload_nginx
for ((i = wanted + 1; i <= current; i++)); do
    $systemctl disable --now --no-block "voxcore@$i.service"
done
echo "scale.sh: $wanted workers on this host (was $current)" >&2
