#!/usr/bin/env bash
# Render haproxy.cfg.template from a fleet host list.
#
#   infra/haproxy/render.sh --hosts /etc/haproxy/voxbridge-fleet-hosts [--bind :443]
#       [--tls-cert /etc/haproxy/certs/fleet.pem] [--call-timeout 3700s] [--check-interval 2s]
#       [--stats-socket /run/haproxy/admin.sock] [--run-as haproxy] [--maxconn 10000] [--out FILE]
#
# The host list has one fleet host per line: `<name> <address>:<port>` (its nginx); blank
# lines and lines starting with # are ignored. `--run-as none` leaves out the user switch (a
# HAProxy started by an unprivileged user). Check the output with `haproxy -c -f` before a
# reload (add-fleet.sh does).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/render.sh"
hosts="" bind=":443" tls_cert="" call_timeout="3700s" check_interval="2s"
stats_socket="/run/haproxy/admin.sock" run_as="haproxy" maxconn="10000" out=""
parse_options "--hosts --bind --tls-cert --call-timeout --check-interval --stats-socket --run-as
    --maxconn --out" "$@"
# HAProxy needs about two file descriptors per connection and refuses to start when it cannot
# raise its limit that far: an unprivileged HAProxy needs a maxconn within its ulimit -n / 2.
whole_number "$maxconn" || die "--maxconn must be a whole number above 0"
[ -n "$hosts" ] || die "--hosts FILE is required"
[ -r "$hosts" ] || die "cannot read the host list $hosts"
for value in "$bind" "$call_timeout" "$check_interval" "$stats_socket"; do
    [[ $value =~ ^[^[:space:]\'\"]+$ ]] || die "'$value' must be one word without quotes"
done

servers="" routes="" seen=" " count=0
while read -r name address extra; do
    [[ -z $name || $name == \#* ]] && continue
    [ -z "${extra:-}" ] || die "$hosts: '$name $address $extra': expected '<name> <address>:<port>'"
    [[ $name =~ ^[A-Za-z0-9._-]+$ ]] || die "$hosts: host name '$name' must be letters, digits, . _ -"
    [[ ${address:-} =~ ^[^[:space:]]+:[0-9]+$ ]] || die "$hosts: '$name' needs <address>:<port>, got '${address:-}'"
    [[ $seen == *" $name "* ]] && die "$hosts: host '$name' is listed twice"
    seen+="$name "
    servers+="    server ${name} ${address}"$'\n'
    routes+="    use-server ${name} if { var(txn.fleet_host) -m str ${name} }"$'\n'
    count=$((count + 1))
done <"$hosts"
[ "$count" -gt 0 ] || die "$hosts lists no fleet host"

tls=""
[ -z "$tls_cert" ] || tls=" ssl crt ${tls_cert} alpn http/1.1"
user=""
if [ "$run_as" != none ]; then
    [[ $run_as =~ ^[a-z_][a-z0-9_-]*$ ]] || die "--run-as must be a user name"
    user="    user ${run_as}"$'\n'"    group ${run_as}"
fi

config=$(<"$here/haproxy.cfg.template")
fill_line GLOBAL_USER "$user"
fill SERVERS "$servers"
fill HOST_ROUTES "$routes"
fill BIND "$bind"
fill TLS "$tls"
fill CALL_TIMEOUT "$call_timeout"
fill CHECK_INTERVAL "$check_interval"
fill STATS_SOCKET "$stats_socket"
fill MAXCONN "$maxconn"
write_config "$out"
