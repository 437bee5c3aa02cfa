#!/usr/bin/env bash
# The binary and the daemon module: the headroom binary links none of the daemon's libraries, a
# client command does not load them, "serve" loads headroom-serve.so from beside the binary (the
# build tree), from $HEADROOM_SERVE_MODULE, or else from the installed path, and a module that is
# missing or is not one stops "serve" with exit 71 and the path it tried.
. "$(dirname "$0")/../harness/lib.sh"

# The rule under test, not an override from the caller's environment.
unset HEADROOM_SERVE_MODULE
MODULE="$(dirname "$HEADROOM")/headroom-serve.so"
DAEMON_LIBS='libmicrohttpd|libgnutls|libsqlite3'

# The binary: none of the daemon's libraries among what the dynamic linker maps for it.
libs=$(ldd "$HEADROOM")
eq "ldd of the binary succeeds" "$?" 0
eq "the binary links none of $DAEMON_LIBS" "$(grep -cE "$DAEMON_LIBS" <<<"$libs")" 0
check "the module is beside the binary in the build tree" test -f "$MODULE"
eq "the module links libmicrohttpd and SQLite" \
    "$(ldd "$MODULE" | grep -cE 'libmicrohttpd|libsqlite3')" 2
# Its one export is the entry point (the static libraries inside stay local).
eq "the module exports one function" \
    "$(nm -D --defined-only "$MODULE" | awk '$2 == "T" { print $3 }')" headroom_serve_main_v1

# serve_fails "description" [env...]: "headroom serve --help" with the environment given exits 71
# and names the module path in $SERVE_PATH.
serve_fails() {
    local what=$1; shift
    local out rc
    out=$(env "$@" "$HEADROOM" serve --help 2>&1 >/dev/null)
    rc=$?
    eq "$what: exit status" "$rc" 71
    check "$what: the message names $SERVE_PATH ($out)" grep -qF "'$SERVE_PATH'" <<<"$out"
    LAST_ERR=$out
}

SERVE_PATH=/nonexistent/headroom-serve.so
serve_fails "a missing module" HEADROOM_SERVE_MODULE="$SERVE_PATH"
check "a missing module: dlerror() says why" grep -q 'No such file' <<<"$LAST_ERR"

printf 'not a library\n' > "$T/broken.so"
SERVE_PATH="$T/broken.so"
serve_fails "a file that is not a library" HEADROOM_SERVE_MODULE="$SERVE_PATH"

if [ -n "${FAKE_NVML:-}" ]; then
    SERVE_PATH=$FAKE_NVML
    serve_fails "a library that is not a headroom module" HEADROOM_SERVE_MODULE="$SERVE_PATH"
    check "the message names the missing entry point" grep -q headroom_serve_main_v1 <<<"$LAST_ERR"
fi

# The daemon's options and help come from the module, found beside the binary or through the
# variable.
check "serve --help from beside the binary" sh -c '"$1" serve --help | grep -q "Usage: headroom serve"' - "$HEADROOM"
out=$(HEADROOM_SERVE_MODULE="$MODULE" "$HEADROOM" serve --bogus 2>&1)
eq "serve --bogus through the variable: usage error" "$?" 2
check "serve --bogus: the daemon's own message" grep -q 'headroom serve --help' <<<"$out"

# A copy of the binary elsewhere finds a module beside it, and, with none there, looks in the
# installed place (not beside itself).
mkdir "$T/bin"
cp "$HEADROOM" "$T/bin/headroom"
ln -s "$MODULE" "$T/bin/headroom-serve.so"
check "a copy of the binary with the module beside it" "$T/bin/headroom" serve --help
rm "$T/bin/headroom-serve.so"
out=$("$T/bin/headroom" serve --help 2>&1 >/dev/null)
rc=$?
if [ "$rc" -eq 71 ]; then
    check "without a module beside it: the installed path ($out)" \
        grep -qE "'/[^']*/headroom/headroom-serve\.so'" <<<"$out"
    eq "without a module beside it: not beside the binary" "$(grep -cF "$T/bin/headroom-serve.so" <<<"$out")" 0
else
    # A module is installed on this machine: it answered.
    eq "without a module beside it: the installed module answers" "$rc" 0
fi

# The daemon still starts from the module and answers; the client commands talking to it over the
# control socket load none of the daemon's libraries.
start_daemon
maps=$(cat "/proc/$DAEMON_PID/maps")
check "the daemon maps the module" grep -qF "$MODULE" <<<"$maps"
check "the daemon maps libmicrohttpd" grep -q libmicrohttpd <<<"$maps"
for cmd in "ask t" "status" "stats" "predict t" "version" "config --validate"; do
    # shellcheck disable=SC2086 # the command's words are split on purpose
    loaded=$(LD_DEBUG=files HEADROOM_SERVER="unix:$SOCK" "$HEADROOM" $cmd 2>&1 >/dev/null |
        grep -E 'file=[^ ]*('"$DAEMON_LIBS"')' || true)
    eq "'headroom $cmd' loads none of $DAEMON_LIBS" "$loaded" ""
done
loaded=$(LD_DEBUG=files HEADROOM_SERVER="unix:$SOCK" "$HEADROOM" run --task mod -- true 2>&1 >/dev/null |
    grep -E 'file=[^ ]*('"$DAEMON_LIBS"')' || true)
eq "'headroom run -- true' loads none of $DAEMON_LIBS" "$loaded" ""
http GET /ready
eq "the daemon answers /ready" "$STATUS" 200
finish
