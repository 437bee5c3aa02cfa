#!/usr/bin/env bash
# Hostile and broken clients: malformed requests, oversize headers, deep JSON, invalid UTF-8,
# more connections than allowed, idle connections. The daemon answers or drops them and keeps
# serving everyone else; it never crashes or hangs.
. "$(dirname "$0")/../harness/lib.sh"

write_config <<EOF
server:
  max_connections: 8
  connection_timeout_sec: 2
learning:
  observation_delay_sec: 1
  max_task_types: 2
debug:
  enabled: true
  auth:
    token: "$DEBUG_TOKEN"
EOF
start_daemon
inject '{"cpu":10,"memory":10,"memory_pressure":0}'

# raw TEXT: sends TEXT on a fresh connection, prints the status line of the answer (or nothing).
raw() {
    exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
    printf '%b' "$1" >&3
    timeout 3 head -n 1 <&3 | tr -d '\r'
    exec 3<&-
}

status=$(raw 'GARBAGE\r\n\r\n')
check "garbage request line: 400 or dropped" grep -qE '^(HTTP/1.1 400.*)?$' <<<"$status"
check "serving after garbage" curl -sf -m 5 "$BASE/health"
check "binary noise" test "$(raw '\x00\x01\x02\xff\xfe\r\n\r\n' | grep -c '^HTTP/1.1 2')" -eq 0
big=$(head -c 70000 /dev/zero | tr '\0' 'a')
status=$(raw "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: $big\r\n\r\n")
check "oversize header refused" grep -qE '^HTTP/1.1 4(31|13|00)|^$' <<<"$status"
status=$(raw 'POST /ask HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n')
check "bad Content-Length: 4xx or dropped" grep -qE '^(HTTP/1.1 4.*)?$' <<<"$status"
check "HTTP/1.0 works" grep -q '^HTTP/1.[01] 200' <(raw 'GET /health HTTP/1.0\r\n\r\n')

deep=$(printf '[%.0s' {1..3000})
http POST /ask -d "$deep"
eq "deep nesting" "$STATUS" 400
http POST /ask --data-binary $'{"task":"\xff\xfe"}'
eq "invalid UTF-8" "$STATUS" 400
http POST /ask -d '{"task":"t","complexity":1e400}'
eq "number out of range" "$STATUS" 400
http POST /v1/ask -d '{"task":"t","needs":{"mem_bytes":"lots"}}'
eq "v1 bad size" "$STATUS" 400
check "v1 error is JSON" jq -e '.error | test("mem_bytes")' <<<"$BODY"
http POST /v1/ask -d '{"task":"t","nedds":{}}'
check "v1 unknown field named" jq -e '.error | test("unknown field .nedds.")' <<<"$BODY"
http GET '/v1/history?limit=abc'
eq "history bad limit" "$STATUS" 400
http GET '/v1/history?limit=3'
check "history limited" jq -e '.count <= 3 and (.samples | length) == .count' <<<"$BODY"
http GET "/stats?task=$(printf 'x%.0s' {1..300})"
eq "stats long task" "$STATUS" 404
http POST /task/notify -d "{\"task\":\"$(printf 'y%.0s' {1..200})\"}"
eq "notify long task" "$STATUS" 400

# The task-type table is bounded: a third type is refused at notify time, known ones still work.
http POST /task/notify -d '{"task":"a"}'
eq "first type" "$STATUS" 200
http POST /task/notify -d '{"task":"b"}'
eq "second type" "$STATUS" 200
http POST /task/notify -d '{"task":"c"}'
eq "third type refused" "$STATUS" 507
check "observations stored" wait_for "[ \"\$(curl -s -m 2 '$BASE/stats' | jq .total_tasks)\" = 2 ]" 5
http POST /task/notify -d '{"task":"c"}'
eq "still refused once stored" "$STATUS" 507
http POST /task/notify -d '{"task":"a"}'
eq "a known type is accepted" "$STATUS" 200

# More connections than allowed: the extra ones are refused, the daemon stays up, and once the
# idle ones time out (connection_timeout_sec) it serves again.
for i in $(seq 1 12); do
    eval "exec $((10 + i))<>/dev/tcp/127.0.0.1/$PORT" 2>/dev/null
done
sleep 0.3
code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$BASE/health")
check "over the connection limit: refused, not hung" test "$code" = 000 -o "$code" = 200
for i in $(seq 1 12); do
    eval "exec $((10 + i))>&-" 2>/dev/null
done
check "serves again after the idle connections go" wait_for "curl -sf -m 1 '$BASE/health'" 10

# Slow client: a request that never finishes is dropped after the connection timeout.
exec 5<>"/dev/tcp/127.0.0.1/$PORT"
printf 'POST /ask HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"ta' >&5
check "slow body dropped within the timeout" timeout 6 cat <&5
exec 5<&-
check "alive at the end" curl -sf -m 5 "$BASE/health"
finish
