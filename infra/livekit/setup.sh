#!/usr/bin/env bash
# Bring up the SIP / LiveKit host's stack (LiveKit, livekit-sip, Redis) once.
#
#   sudo infra/livekit/setup.sh [--env /etc/livekit/livekit.env] [--dir /opt/livekit] [--render-only]
#
# Renders livekit.yaml and sip.yaml (mode 0600) from the env file into --dir, copies the compose
# file beside them, then `docker compose up -d` there (skipped with --render-only). Safe to run
# again: it re-renders and lets compose restart what changed.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true

here=$(cd "$(dirname "$0")" && pwd)
env_file=/etc/livekit/livekit.env dir=/opt/livekit render_only=0
die() { echo "setup.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --env) [ $# -ge 2 ] || die "--env needs a file"; env_file=$2; shift 2 ;;
        --dir) [ $# -ge 2 ] || die "--dir needs a directory"; dir=$2; shift 2 ;;
        --render-only) render_only=1; shift ;;
        *) die "unknown option $1" ;;
    esac
done
[ -r "$env_file" ] || die "cannot read $env_file (start from infra/livekit/livekit.env.example)"

declare -A value=([LIVEKIT_PORT]=7880 [LIVEKIT_REDIS_PORT]=6380)
while IFS= read -r line; do
    [[ -z $line || $line == \#* ]] && continue
    [[ $line == *=* ]] || die "$env_file: '$line' is not NAME=value"
    value[${line%%=*}]=${line#*=}
done <"$env_file"

for name in LIVEKIT_API_KEY LIVEKIT_API_SECRET VOX_API_URL; do
    [ -n "${value[$name]:-}" ] || die "$env_file: $name must be set"
done
# Quoted into YAML as is: keep them to characters that need no escaping.
[[ ${value[LIVEKIT_API_KEY]} =~ ^[A-Za-z0-9_-]+$ ]] || die "LIVEKIT_API_KEY: letters, digits, _ or - only"
[[ ${value[LIVEKIT_API_SECRET]} =~ ^[A-Za-z0-9_-]{32,}$ ]] \
    || die "LIVEKIT_API_SECRET: at least 32 letters, digits, _ or - (LiveKit refuses shorter secrets)"
[[ ${value[VOX_API_URL]} =~ ^https?://[A-Za-z0-9.:_-]+$ ]] \
    || die "VOX_API_URL: http(s)://host[:port] with no path, got '${value[VOX_API_URL]}'"
for name in LIVEKIT_PORT LIVEKIT_REDIS_PORT; do
    [[ ${value[$name]} =~ ^[1-9][0-9]*$ ]] || die "$name must be a port number"
done

render() {
    local text
    text=$(<"$here/$1.template")
    for name in LIVEKIT_API_KEY LIVEKIT_API_SECRET VOX_API_URL LIVEKIT_PORT LIVEKIT_REDIS_PORT; do
        text=${text//@$name@/${value[$name]}}
    done
    if [[ $text =~ @[A-Z_]+@ ]]; then die "$1: placeholder ${BASH_REMATCH[0]} left unfilled"; fi
    (umask 077 && printf '%s\n' "$text" >"$dir/$1.tmp")
    mv "$dir/$1.tmp" "$dir/$1"
}

mkdir -p "$dir"
render livekit.yaml
render sip.yaml
cp "$here/docker-compose.yml" "$dir/docker-compose.yml"
{
    printf 'LIVEKIT_REDIS_PORT=%s\n' "${value[LIVEKIT_REDIS_PORT]}"
    for name in LIVEKIT_SERVER_IMAGE LIVEKIT_SIP_IMAGE; do
        # A pinned version, so a host rebuilt next year runs what this one runs.
        image=${value[$name]:-}
        [[ $image =~ ^[a-z0-9./_-]+:[A-Za-z0-9._-]+$ ]] || die "$name must be image:tag, got '$image'"
        [[ $image != *:latest ]] || die "$name: pin a version, not latest"
        printf '%s=%s\n' "$name" "$image"
    done
} >"$dir/.env"
if [ "$render_only" -eq 1 ]; then
    echo "setup.sh: rendered into $dir" >&2
    exit 0
fi
cd "$dir"
docker compose up -d
