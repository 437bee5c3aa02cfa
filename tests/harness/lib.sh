#!/usr/bin/env bash
# Shared helpers for the black-box tests in tests/integration/. Each test sources this file, gets
# its own temporary directory, starts the real daemon on 127.0.0.1:0 with its own Unix socket and
# state dir, and drives it with the headroom CLI and curl. Every wait has a timeout.
#
# Environment (set by meson): HEADROOM (the binary), FAKE_NVML (fake libnvidia-ml.so.1),
# PROMTOOL (promtool or empty), FIXTURES (tests/fixtures).

set -uo pipefail

: "${HEADROOM:?HEADROOM must point at the headroom binary}"
T=$(mktemp -d "${TMPDIR:-/tmp}/headroom-test.XXXXXX")
DAEMON_PID=
PORT=
BASE=
SOCK="$T/headroom.sock"
STATE="$T/state"
FAILS=0
CHECKS=0
# No GPU unless a test asks for the fake one: the test machine's own GPUs (or the fake library
# that meson puts on LD_LIBRARY_PATH) must not change threshold cases.
export HEADROOM_NVML_LIB="${HEADROOM_NVML_LIB:-$T/no-libnvidia-ml.so.1}"

cleanup() {
    if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        kill -TERM "$DAEMON_PID" 2>/dev/null
        wait "$DAEMON_PID" 2>/dev/null
    fi
    if [ "$FAILS" -ne 0 ] && [ -f "$T/daemon.log" ]; then
        echo "--- daemon log ---"
        tail -n 50 "$T/daemon.log"
    fi
    rm -rf "$T"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    FAILS=$((FAILS + 1))
}

pass() {
    CHECKS=$((CHECKS + 1))
}

# check "description" command...: passes when the command succeeds.
check() {
    local what=$1; shift
    if "$@" >/dev/null; then pass; else fail "$what"; fi
}

# eq "description" actual expected
eq() {
    if [ "$2" == "$3" ]; then pass; else fail "$1: got '$2', expected '$3'"; fi
}

# Waits up to $2 seconds (default 10) for a command to succeed.
wait_for() {
    local cmd=$1 limit=${2:-10} i=0
    while ! eval "$cmd" >/dev/null 2>&1; do
        i=$((i + 1))
        [ "$i" -ge $((limit * 10)) ] && return 1
        sleep 0.1
    done
}

# write_config <<EOF ... EOF: the test's config file, $T/config.yaml.
write_config() {
    cat > "$T/config.yaml"
}

# start_daemon [extra serve args...]: starts headroom serve, waits for /ready.
start_daemon() {
    local cfg=()
    [ -f "$T/config.yaml" ] && cfg=(--config "$T/config.yaml")
    rm -f "$STATE/port"
    "$HEADROOM" serve "${cfg[@]}" --state-dir "$STATE" --socket "$SOCK" --listen 127.0.0.1:0 "$@" \
        >>"$T/daemon.log" 2>&1 &
    DAEMON_PID=$!
    if ! wait_for "[ -s '$STATE/port' ]" 10; then
        fail "daemon did not start"
        cat "$T/daemon.log" >&2
        exit 1
    fi
    PORT=$(cat "$STATE/port")
    BASE="http://127.0.0.1:$PORT"
    export HEADROOM_SERVER="$BASE"
    if ! wait_for "curl -sf -m 2 '$BASE/ready'" 10; then
        fail "daemon never became ready"
        exit 1
    fi
}

# Stops the daemon with SIGTERM and checks that it exits 0 (a sanitizer report makes it fail).
stop_daemon() {
    if [ -n "$DAEMON_PID" ]; then
        kill -TERM "$DAEMON_PID" 2>/dev/null
        wait "$DAEMON_PID" 2>/dev/null
        local rc=$?
        DAEMON_PID=
        eq "daemon exit status after SIGTERM" "$rc" 0
    fi
}

check_sanitizers() {
    if [ -f "$T/daemon.log" ] && grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/daemon.log"; then
        fail "sanitizer report in the daemon log"
        grep -A20 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/daemon.log" | head -40 >&2
    fi
}

# http METHOD PATH [curl args...]: prints "STATUS BODY" into $T/status and $T/body.
http() {
    local method=$1 path=$2; shift 2
    curl -s -m 10 -o "$T/body" -w '%{http_code}' -X "$method" "$@" "$BASE$path" > "$T/status"
    STATUS=$(cat "$T/status")
    BODY=$(cat "$T/body")
}

# inject JSON: sets debug metrics (needs debug.enabled and token "test-debug-token-123").
DEBUG_TOKEN=test-debug-token-123
inject() {
    curl -sf -m 10 -o /dev/null -X POST -H "Authorization: Bearer $DEBUG_TOKEN" -d "$1" "$BASE/debug/inject-metrics"
}

finish() {
    stop_daemon
    check_sanitizers
    if [ "$FAILS" -ne 0 ]; then
        echo "$FAILS of $((CHECKS + FAILS)) checks failed"
        exit 1
    fi
    echo "all $CHECKS checks passed"
    exit 0
}
