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
shopt -u patsub_replacement 2>/dev/null || true

here=$(cd "$(dirname "$0")" && pwd)
hosts="" bind=":443" tls_cert="" call_timeout="3700s" check_interval="2s"
stats_socket="/run/haproxy/admin.sock" run_as="haproxy" maxconn="10000" out=""

die() { echo "render.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || die "$1 needs a value"
    case "$1" in
        --hosts) hosts=$2 ;;
        --bind) bind=$2 ;;
        --tls-cert) tls_cert=$2 ;;
        --call-timeout) call_timeout=$2 ;;
        --check-interval) check_interval=$2 ;;
        --stats-socket) stats_socket=$2 ;;
        --run-as) run_as=$2 ;;
        --maxconn) maxconn=$2 ;;
        --out) out=$2 ;;
        *) die "unknown option $1" ;;
    esac
    shift 2
done
# HAProxy needs about two file descriptors per connection and refuses to start when it cannot
# raise its limit that far: an unprivileged HAProxy needs a maxconn within its ulimit -n / 2.
[[ $maxconn =~ ^[1-9][0-9]*$ ]] || die "--maxconn must be a whole number above 0"
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
if [ -z "$user" ]; then
    config=${config//$'@GLOBAL_USER@\n'/}
fi
config=${config//@GLOBAL_USER@/$user}
config=${config//@SERVERS@/${servers%$'\n'}}
config=${config//@HOST_ROUTES@/${routes%$'\n'}}
config=${config//@BIND@/$bind}
config=${config//@TLS@/$tls}
config=${config//@CALL_TIMEOUT@/$call_timeout}
config=${config//@CHECK_INTERVAL@/$check_interval}
config=${config//@STATS_SOCKET@/$stats_socket}
config=${config//@MAXCONN@/$maxconn}
if [[ $config =~ @[A-Z_]+@ ]]; then
    die "placeholder ${BASH_REMATCH[0]} left unfilled"
fi

if [ -n "$out" ]; then
    printf '%s\n' "$config" >"$out.tmp"
    mv "$out.tmp" "$out"
else
    printf '%s\n' "$config"
fi
