#!/usr/bin/env bash
# Render voxcore-fleet.conf.template for N worker sockets.
#
#   infra/nginx/render.sh --workers 16 [--socket /tmp/voxcore_%i.sock] [--listen 80]
#       [--server-name _] [--console-root /var/www/voxbridge-console] [--call-timeout 3700s]
#       [--retry-after 1] [--tries N] [--next-timeout 3s] [--tls-cert PEM --tls-key PEM]
#       [--api http://10.0.0.2:8080] [--out FILE]
#
# Worker i (1..N) is voxcore@i.service on the socket --socket with %i replaced by i. With
# --tls-cert and --tls-key nginx terminates TLS itself (WSS straight from the carriers, no
# HAProxy in front). The output goes to --out (written whole, then moved into place) or stdout.
# Check it with `nginx -t` before a reload (infra/fleet/scale.sh does both).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/render.sh"
workers="" socket="/tmp/voxcore_%i.sock" listen="80" server_name="_"
console_root="/var/www/voxbridge-console" call_timeout="3700s" retry_after="1"
tries="" next_timeout="3s" tls_cert="" tls_key="" out="" api=""
parse_options "--workers --socket --listen --server-name --console-root --call-timeout
    --retry-after --tries --next-timeout --tls-cert --tls-key --api --out" "$@"

whole_number "$workers" || die "--workers must be a whole number above 0, got '$workers'"
[[ $socket == *%i* ]] || die "--socket must contain %i (the worker number), got '$socket'"
[[ $socket == /* ]] || die "--socket must be an absolute path, got '$socket'"
whole_number "$retry_after" || die "--retry-after must be whole seconds above 0"
tries=${tries:-$workers}
whole_number "$tries" || die "--tries must be a whole number above 0"
for value in "$listen" "$server_name" "$console_root" "$call_timeout" "$next_timeout" "$socket"; do
    # One token each: a space or ';' would smuggle a directive into the config.
    [[ $value =~ ^[^[:space:]\;\{\}\'\"]+$ ]] || die "'$value' must be one word without ; { } or quotes"
done

listen_ssl="" tls=""
if [ -n "$tls_cert$tls_key" ]; then
    [ -n "$tls_cert" ] && [ -n "$tls_key" ] || die "--tls-cert and --tls-key go together"
    for value in "$tls_cert" "$tls_key"; do
        [[ $value =~ ^/[^[:space:]\;\{\}\'\"]+$ ]] || die "'$value' must be an absolute path"
    done
    listen_ssl=" ssl"
    tls="    ssl_certificate ${tls_cert};"$'\n'"    ssl_certificate_key ${tls_key};"$'\n'
    tls+="    ssl_protocols TLSv1.2 TLSv1.3;"
fi

servers="" health_servers="" locations=""
for ((i = 1; i <= workers; i++)); do
    path=${socket//%i/$i}
    servers+="    server unix:${path} max_conns=1 max_fails=0;"$'\n'
    health_servers+="    server unix:${path} max_fails=0;"$'\n'
    locations+="    location /w/${i}/ {"$'\n'
    locations+="        proxy_pass http://unix:${path}:/;"$'\n'
    locations+="        proxy_read_timeout ${call_timeout};"$'\n'
    locations+="        proxy_send_timeout ${call_timeout};"$'\n'
    locations+="    }"$'\n'
done

api_location=""
if [ -n "$api" ]; then
    [[ $api =~ ^https?://[^[:space:]/]+$ ]] || die "--api must be http(s)://host:port, got '$api'"
    api_location+="    # The Backend API on the Console's origin: the Console calls /v1/... on the page's own"$'\n'
    api_location+="    # host. Contact imports stream through unbuffered, bounded by the API's own limit."$'\n'
    api_location+="    location /v1/ {"$'\n'
    api_location+="        proxy_pass ${api};"$'\n'
    api_location+="        client_max_body_size 0;"$'\n'
    api_location+="        proxy_request_buffering off;"$'\n'
    api_location+="        proxy_read_timeout 300s;"$'\n'
    api_location+="        error_page 502 504 = @api_unavailable;"$'\n'
    api_location+="    }"$'\n'
    api_location+="    location @api_unavailable {"$'\n'
    api_location+="        default_type application/json;"$'\n'
    api_location+="        add_header Retry-After 5 always;"$'\n'
    api_location+="        return 503 '{\"error\": \"unavailable\", \"message\": \"the API cannot be reached\"}';"$'\n'
    api_location+="    }"$'\n'
fi

config=$(<"$here/voxcore-fleet.conf.template")
fill UPSTREAM_SERVERS "$servers"
fill HEALTH_SERVERS "$health_servers"
fill WORKER_LOCATIONS "$locations"
fill_line API_LOCATION "$api_location"
fill_line TLS "$tls"
fill LISTEN_SSL "$listen_ssl"
fill LISTEN "$listen"
fill SERVER_NAME "$server_name"
fill CONSOLE_ROOT "$console_root"
fill CALL_TIMEOUT "$call_timeout"
fill RETRY_AFTER "$retry_after"
fill NEXT_TRIES "$tries"
fill NEXT_TIMEOUT "$next_timeout"
write_config "$out"
