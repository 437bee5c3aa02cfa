#!/usr/bin/env bash
# Installs the Debian packages headroom needs. Idempotent and quick when all is there:
# apt-get runs only when a package is missing.
#   deps.sh build    what building and running needs
#   deps.sh test     plus what the test suites need
#   deps.sh bench    plus what the benchmarks need
set -euo pipefail

build=(gcc libc6-dev meson ninja-build pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev
       libyaml-dev libcurl4-openssl-dev libsystemd-dev)
test=(libcmocka-dev curl jq clang llvm procps python3)
bench=(wrk nginx-light valgrind procps hyperfine parallel task-spooler)

want=("${build[@]}")
case "${1:-build}" in
    build) ;;
    test) want+=("${test[@]}") ;;
    bench) want+=("${test[@]}" "${bench[@]}") ;;
    *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# promtool checks /metrics in the tests. Debian ships it in the 'prometheus' package (a server we do
# not want to install and start), so the binary is unpacked from the .deb into tools/.
if [ "${1:-build}" != build ]; then
    here=$(cd "$(dirname "$0")/.." && pwd)
    if [ ! -x "$here/tools/promtool" ]; then
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1) || { apt-get update -qq && (cd "$tmp" && apt-get download prometheus >/dev/null); }
        dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
        mkdir -p "$here/tools"
        cp "$tmp/x/usr/bin/promtool" "$here/tools/promtool"
    fi
fi
