#!/usr/bin/env bash
# Install the real components the integration tests run against, from Debian packages:
#   prometheus               -> prometheus, promtool
#   prometheus-alertmanager  -> prometheus-alertmanager (Debian's name for alertmanager), amtool
# Only what is missing is installed; running it again does nothing. The tests start their
# own servers on free loopback ports, so no packaged service is left running.
set -euo pipefail

missing=()
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
    missing+=(prometheus)
fi
has_alertmanager() {
    command -v alertmanager >/dev/null 2>&1 || command -v prometheus-alertmanager >/dev/null 2>&1
}
if ! has_alertmanager || ! command -v amtool >/dev/null 2>&1; then
    missing+=(prometheus-alertmanager)
fi
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "install-components: need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    fi
    as_root=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { "${as_root[@]}" apt-get update -qq \
       && "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
       >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-components: installing ${missing[*]} failed" >&2
    exit 1
fi

# Debian's packages start their services where an init system runs; ours must not run.
for service in prometheus prometheus-alertmanager; do
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        "${as_root[@]}" systemctl disable --now "$service" >/dev/null 2>&1 || true
    elif command -v service >/dev/null 2>&1; then
        "${as_root[@]}" service "$service" stop >/dev/null 2>&1 || true
    fi
    if command -v update-rc.d >/dev/null 2>&1; then
        "${as_root[@]}" update-rc.d "$service" disable >/dev/null 2>&1 || true
    fi
done

for binary in prometheus promtool amtool; do
    if ! command -v "$binary" >/dev/null 2>&1; then
        echo "install-components: $binary is still missing after installing ${missing[*]}" >&2
        exit 1
    fi
done
if ! has_alertmanager; then
    echo "install-components: alertmanager is still missing after installing ${missing[*]}" >&2
    exit 1
fi
