#!/usr/bin/env bash
# The control socket (<socket>.ctl) against the real daemon: every client command answers the same
# over it as over HTTP (HEADROOM_NO_CTL=1), libcurl is not even loaded when it answers, the socket
# file lives and dies with the daemon (a stale one is replaced), HTTP takes over when it is gone,
# and garbage, oversize datagrams and clients that never read are bounded without stalling
# anyone.
. "$(dirname "$0")/../harness/lib.sh"

write_config <<EOF
debug:
  enabled: true
  auth:
    token: "$DEBUG_TOKEN"
learning:
  observation_delay_sec: 1
EOF
CTL="$SOCK.ctl"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)

start() {
    start_daemon
    # The client commands go to the Unix socket, where the control socket sits beside it.
    export HEADROOM_SERVER="unix:$SOCK"
}
hr() { "$HEADROOM" "$@"; }
http_hr() { HEADROOM_NO_CTL=1 "$HEADROOM" "$@"; }

# same "description" expected-status args...: the command prints the same and exits the same over
# the control socket and over HTTP, with the expected status. A sample taken between the two runs
# changes what they print (load, disk free...), so up to three pairs are tried; a difference the
# transport makes shows in every pair.
same() {
    local what=$1 want=$2; shift 2
    local a b ra rb i
    for i in 1 2 3; do
        a=$(hr "$@" 2>&1); ra=$?
        b=$(http_hr "$@" 2>&1); rb=$?
        [ "$a" == "$b" ] && break
    done
    eq "$what: exit status over the control socket" "$ra" "$want"
    eq "$what: exit status over HTTP" "$rb" "$want"
    eq "$what: output" "$a" "$b"
    check "$what: prints something" test -n "$a"
}

# curl_loads args...: how many times the dynamic linker opened libcurl for the command.
curl_loads() {
    LD_DEBUG=files "$@" 2>&1 >/dev/null | grep -c 'file=libcurl'
}

# ctl_raw: runs python code with a helper `ask(datagram bytes) -> reply dict` on the control socket.
ctl_raw() {
    "$PY" - "$CTL" "$1" <<'PYEOF'
import json, socket, sys
path = sys.argv[1]
def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(path)
    return s
def ask(data, s=None):
    s = s or connect()
    s.send(data)
    return json.loads(s.recv(1 << 20))
def req(method, path_, **kw):
    return ask(json.dumps(dict(method=method, path=path_, **kw)).encode())
exec(sys.argv[2])
PYEOF
}

start
check "control socket beside the Unix socket" test -S "$CTL"
eq "control socket mode" "$(stat -c %a "$CTL")" "$(stat -c %a "$SOCK")"

# libcurl is not loaded when the control socket answers, and is without it.
eq "libcurl not loaded over the control socket" "$(curl_loads hr ask t -q)" 0
check "libcurl loaded over HTTP" test "$(curl_loads http_hr ask t -q)" -gt 0
if command -v strace >/dev/null; then
    check "the request goes to the control socket" \
        grep -q "connect(.*$(basename "$CTL")" \
        <(strace -f -e trace=connect "$HEADROOM" ask t -q 2>&1)
fi

# The same answers both ways.
inject '{"cpu":20,"memory":40,"memory_pressure":0}'
same "ask allowed" 0 ask encode --complexity 30
same "ask allowed, json" 0 ask encode --json
out=$(hr ask encode -q)
eq "ask allowed, quiet: exit status" "$?" 0
eq "ask allowed, quiet: prints nothing" "$out" ""
hr ask encode --json | jq -e '.allowed == true' >/dev/null
eq "ask --json over the control socket" "$?" 0
inject '{"cpu":95}'
same "ask denied" 75 ask encode
same "ask denied, json" 75 ask encode --json
same "ask denied with a declared need" 75 ask encode --mem 1G
inject '{"cpu":20}'
same "status, json" 0 status --json
same "status" 0 status
same "notify" 0 notify render --complexity 40
check "the notify over the control socket was learnt" \
    wait_for "'$HEADROOM' stats render --json | jq -e '.observations >= 2'" 5
same "stats" 0 stats
same "stats of a task" 0 stats render --json
same "stats of an unknown task" 1 stats nosuchtask
same "predict" 0 predict render --complexity 40
same "bad request (control character in the task)" 2 notify "bad
name" --complexity 1
# headroom run: several requests (admission, start, end), the command's status either way.
hr run -- sh -c 'exit 3' 2>/dev/null
eq "run over the control socket" "$?" 3
http_hr run -- sh -c 'exit 3' 2>/dev/null
eq "run over HTTP" "$?" 3
eq "run loads no libcurl" "$(curl_loads hr run -- true)" 0

# The daemon's own view: requests over the control socket count like any other.
before=$(curl -s "$BASE/metrics" | awk '/^headroom_http_requests_total /{print $2}')
hr ask t -q
after=$(curl -s "$BASE/metrics" | awk '/^headroom_http_requests_total /{print $2}')
if [ -n "$before" ]; then
    eq "a control request is counted" "$after" "$((before + 2))" # the ask, and the second /metrics
fi

if [ -n "$PY" ]; then
    # Routes, methods and auth rules are the HTTP API's.
    out=$(ctl_raw 'r = req("GET", "/debug/status"); print(r["status"], r["body"].strip())')
    eq "debug route without its token" "$out" "403 Forbidden - Debug authentication required"
    out=$(ctl_raw "r = req('GET', '/debug/status', headers={'Authorization': 'Bearer $DEBUG_TOKEN'})
print(r['status'], r['content_type'])")
    eq "debug route with its token" "$out" "200 application/json"
    out=$(ctl_raw 'r = req("GET", "/ask"); print(r["status"], r["body"].strip())')
    eq "wrong method" "$out" "405 Method Not Allowed"
    out=$(ctl_raw 'r = req("HEAD", "/health"); print(r["status"], repr(r["body"]))')
    eq "HEAD has no body" "$out" "200 ''"
    out=$(ctl_raw 'r = req("GET", "/stats", query={"task": "render"})
print(r["status"], json.loads(r["body"])["task"])')
    eq "query arguments" "$out" "200 render"

    # Garbage gets an error, and the daemon keeps answering.
    out=$(ctl_raw 'r = ask(b"\x00\x01 not json"); print(r["status"], "error" in r)')
    eq "garbage datagram" "$out" "0 True"
    out=$(ctl_raw 'r = req("GET", "/health", version=2); print(r["status"], r["error"])')
    eq "unknown field" "$out" '0 unknown field "version"'
    out=$(ctl_raw 'r = ask(b"{\"method\":\"GET\",\"path\":\"/health\"} " + b"x" * 70000)
print(r["status"], r["error"])')
    eq "70 KB datagram" "$out" "0 request larger than 65536 bytes"
    hr ask t -q
    eq "answering after hostile datagrams" "$?" 0

    # A client that connects and never reads (and one that never even sends) stalls nobody: the
    # first is dropped once its unread answers fill its buffer.
    "$PY" - "$CTL" > "$T/greedy.out" 2>&1 <<'PYEOF' &
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
idle = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
idle.connect(sys.argv[1])
data = json.dumps({"method": "GET", "path": "/status"}).encode()
s.setblocking(False)
sent, dropped = 0, False
deadline = time.time() + 20
while time.time() < deadline:
    try:
        s.send(data)
        sent += 1
    except BlockingIOError:
        time.sleep(0.001)
    except (BrokenPipeError, ConnectionResetError):
        dropped = True
        break
print("dropped" if dropped else "not dropped", sent, flush=True)
time.sleep(3)  # still connected, still not reading
PYEOF
    GREEDY=$!
    check "the greedy client is dropped" wait_for "grep -q '^dropped' '$T/greedy.out'" 20
    start_ns=$(date +%s%N)
    hr status --json >/dev/null
    eq "status while a client does not read" "$?" 0
    hr ask t -q
    eq "ask while a client does not read" "$?" 0
    ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
    check "answered promptly ($ms ms)" test "$ms" -lt 3000
    wait "$GREEDY"
else
    echo "no python3: raw datagram checks skipped"
fi

# SIGTERM removes both socket files.
stop_daemon
check "control socket removed on SIGTERM" test ! -e "$CTL"
check "HTTP socket removed on SIGTERM" test ! -e "$SOCK"

# A crash leaves a stale control socket; the next daemon replaces it.
start
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
check "stale control socket left by a crash" test -S "$CTL"
start
eq "ask over a replaced control socket" "$(curl_loads hr ask t -q)" 0
hr ask t -q
eq "ask over a replaced control socket exits 0" "$?" 0

# Without the control socket, HTTP answers.
rm -f "$CTL"
hr ask t -q
eq "ask falls back to HTTP" "$?" 0
check "the fallback loads libcurl" test "$(curl_loads hr ask t -q)" -gt 0

finish
