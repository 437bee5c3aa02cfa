#!/usr/bin/env bash
# Installs what headroom needs, builds it, and runs the daemon in the foreground on built-in
# defaults: Unix socket (root: /run/headroom/headroom.sock) and http://127.0.0.1:9329.
# Extra arguments go to "headroom serve" (e.g. --config /etc/headroom/headroom.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh build
if [ -f build/build.ninja ]; then
    meson setup --reconfigure build >/dev/null
else
    meson setup build -Dtests=disabled >/dev/null
fi
ninja -C build >/dev/null
exec ./build/headroom serve "$@"
