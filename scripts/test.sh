#!/usr/bin/env bash
# Sets up what the tests need, builds headroom twice and runs every test:
#   1. gcc with -Werror: unit and integration suites;
#   2. clang with AddressSanitizer and UndefinedBehaviorSanitizer: unit and integration suites.
# Ends with one line "N passed, N failed". Idempotent; quick when everything is installed and built.
set -uo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh test || exit 1

setup() { # dir, then meson options
    local dir=$1; shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null || return 1
    else
        meson setup "$dir" "$@" >/dev/null || return 1
    fi
}

status=0
setup build-ci -Dwerror=true -Dtests=enabled || exit 1
ninja -C build-ci || exit 1
meson test -C build-ci --print-errorlogs --num-processes 2 || status=1

export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
CC=clang setup build-asan -Dwerror=true -Dtests=enabled -Db_sanitize=address,undefined -Db_lundef=false || exit 1
ninja -C build-asan || exit 1
meson test -C build-asan --print-errorlogs --num-processes 2 || status=1

passed=0
failed=0
for log in build-ci/meson-logs/testlog.json build-asan/meson-logs/testlog.json; do
    [ -f "$log" ] || continue
    p=$(jq -s '[.[] | select(.result == "OK" or .result == "EXPECTEDFAIL")] | length' "$log")
    f=$(jq -s '[.[] | select(.result == "FAIL" or .result == "TIMEOUT" or .result == "ERROR" or .result == "UNEXPECTEDPASS")] | length' "$log")
    passed=$((passed + p))
    failed=$((failed + f))
done
[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed"
exit $status
