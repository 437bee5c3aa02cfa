#!/usr/bin/env bash
# Auth on TCP: capfox's HTTP Basic (case 15) and a Bearer token; /health and /ready always open;
# the Unix socket is governed by its file mode, not by credentials.
. "$(dirname "$0")/../harness/lib.sh"

write_config <<EOF
auth:
  enabled: true
  user: admin
  password: secret
  token: "bearer-token-0123456789"
EOF
start_daemon

http GET /status
eq "no credentials" "$STATUS" 401
check "WWW-Authenticate" grep -qi '^WWW-Authenticate: Basic realm="headroom"' <(curl -s -D - -o /dev/null "$BASE/status")
http GET /status -u admin:wrong
eq "wrong password" "$STATUS" 401
http GET /status -u wronguser:secret
eq "wrong user" "$STATUS" 401
http GET /status -u admin:secret
eq "right Basic" "$STATUS" 200
http GET /status -H "Authorization: Bearer bearer-token-0123456789"
eq "right Bearer" "$STATUS" 200
http GET /status -H "Authorization: Bearer bearer-token-012345678"
eq "Bearer prefix of the token" "$STATUS" 401
http GET /status -H "Authorization: Bearer bearer-token-01234567890"
eq "Bearer longer than the token" "$STATUS" 401
http GET /unknown
eq "unknown path needs auth first" "$STATUS" 401
http POST /ask -d '{}'
eq "ask needs auth" "$STATUS" 401
http POST /ask -u admin:secret -d '{}'
check "ask with auth is answered (200 or 503 by load)" grep -qE '^(200|503)$' <<<"$STATUS"
http GET /metrics
eq "metrics need auth" "$STATUS" 401
http GET /health
eq "health open" "$STATUS" 200
http GET /ready
eq "ready open" "$STATUS" 200
http POST /debug/inject-metrics -u admin:secret -d '{"cpu":1}'
eq "debug disabled: 403 even with main auth" "$STATUS $BODY" '403 Forbidden - Debug authentication required'

# The Unix socket: file mode is the gate, no credentials asked.
code=$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://localhost/status)
eq "unix socket without credentials" "$code" 200

# The CLI passes credentials: --user/--password (capfox) and --token / HEADROOM_TOKEN.
"$HEADROOM" status --json >/dev/null 2>&1
eq "cli without credentials" "$?" 1
"$HEADROOM" status --json --user admin --password secret >/dev/null
eq "cli with Basic" "$?" 0
HEADROOM_TOKEN=bearer-token-0123456789 "$HEADROOM" status --json >/dev/null
eq "cli with token" "$?" 0
"$HEADROOM" --server "unix:$SOCK" status --json >/dev/null
eq "cli over the socket" "$?" 0
stop_daemon

# Listening beyond loopback without auth is refused at start, with a clear message.
rm -f "$T/config.yaml"
"$HEADROOM" serve --state-dir "$STATE" --socket none --listen 0.0.0.0:0 >"$T/public.log" 2>&1
eq "public bind without auth exits 78" "$?" 78
check "message names the problem" grep -q 'no auth is configured' "$T/public.log"

# With auth configured it is allowed.
write_config <<EOF
auth:
  token: "bearer-token-0123456789"
EOF
start_daemon --listen 0.0.0.0:0
http GET /status
eq "public listener with auth: credentials required" "$STATUS" 401
finish
