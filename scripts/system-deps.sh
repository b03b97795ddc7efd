#!/usr/bin/env bash
# The Debian packages the infra tests run for real: nginx and HAProxy, and systemd for
# `systemd-analyze verify` of the units (systemd itself need not run), openssl for a test
# certificate; Chromium for the console's browser tests (Playwright drives Debian's build, never a
# downloaded one) and Node.js to check the console's modules parse. Installs only what is missing, so a machine that has them is left alone;
# `apt-get update` runs only when the first install attempt fails (empty or stale package
# lists). Quiet unless something goes wrong.
#
# CI runs as root with no terminal; elsewhere it uses `sudo -n` when that works, else it says
# which command to run. Debian's packages start their service on install unless a policy-rc.d
# forbids it (container images ship one); the tests never use that service: they start their
# own nginx and HAProxy with rendered configs on loopback ports.
set -euo pipefail

missing=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have nginx || missing+=(nginx)
have haproxy || missing+=(haproxy)
have systemd-analyze || missing+=(systemd)
have openssl || missing+=(openssl)
have chromium || missing+=(chromium)
have node || missing+=(nodejs)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "system-deps: missing ${missing[*]}; run as root:" >&2
    echo "  apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: missing ${missing[*]} and no apt-get: install them with your package manager" >&2
    exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
install() {
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1
}
echo "system-deps: installing ${missing[*]}" >&2
if ! install; then
    if ! { "${as_root[@]}" apt-get update -q >>"$log" 2>&1 && install; }; then
        cat "$log" >&2
        echo "system-deps: could not install ${missing[*]}" >&2
        exit 1
    fi
fi
