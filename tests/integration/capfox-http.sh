#!/usr/bin/env bash
# capfox's HTTP behaviour (the cases of capfox's own HTTP tests), with headroom's fixes: real
# daemon, real sockets, metrics held by the debug overlay so the threshold cases are exact.
. "$(dirname "$0")/../harness/lib.sh"

write_config <<EOF
debug:
  enabled: true
  auth:
    token: "$DEBUG_TOKEN"
learning:
  observation_delay_sec: 1
EOF
start_daemon

GiB=$((1024 * 1024 * 1024))

# 1. / and unknown paths
http GET /
eq "GET / status" "$STATUS" 200
eq "GET / name" "$(jq -r .name <<<"$BODY")" headroom
check "GET / has a version" test -n "$(jq -r .version <<<"$BODY")"
check "GET / content type" grep -qi 'Content-Type: application/json' <(curl -s -D - -o /dev/null "$BASE/")
http GET /unknown
eq "GET /unknown" "$STATUS" 404

# 2-3. health and ready
http GET /health
eq "health" "$STATUS $BODY" '200 {"status":"ok"}'
http GET /ready
eq "ready" "$STATUS $BODY" '200 {"ready":true}'

# 4. status
http GET /status
eq "status code" "$STATUS" 200
check "cpu in range" jq -e '.cpu.usage_percent >= 0 and .cpu.usage_percent <= 100' <<<"$BODY"
check "per-core cpu" jq -e '(.cpu.cores | length) >= 1' <<<"$BODY"
check "memory total" jq -e '.memory.total_bytes > 0 and .memory.available_bytes > 0' <<<"$BODY"
check "gpus is an array" jq -e '.gpus | type == "array"' <<<"$BODY"
check "storage /" jq -e '.storage["/"].total_bytes > 0 and .storage["/"].free_bytes > 0' <<<"$BODY"
check "timestamp" jq -e '.timestamp | test("^[0-9]{4}-")' <<<"$BODY"
check "context switches are real" jq -e '.context_switches_per_sec > 0' <<<"$BODY"
check "processes counted" jq -e '.processes > 1 and .threads >= .processes' <<<"$BODY"
check "pressure" jq -e '.pressure.memory.some.avg10 >= 0' <<<"$BODY"

# 5-8. ask at controlled metrics
inject '{"cpu":50,"memory":50}'
http POST /ask -d '{"task":"test_task","complexity":100}'
eq "ask allowed" "$STATUS $BODY" '200 {"allowed":true}'
inject '{"cpu":90}'
http POST /ask -d '{"task":"test_task","complexity":100}'
eq "ask denied without reasons" "$STATUS $BODY" '503 {"allowed":false}'
http POST '/ask?reason=true' -d '{"task":"test_task","complexity":100}'
eq "ask reasons by query" "$STATUS $BODY" '503 {"allowed":false,"reasons":["cpu_overload"]}'
http POST /ask -H 'X-Reason: true' -d '{"task":"test_task","complexity":100}'
eq "ask reasons by header" "$BODY" '{"allowed":false,"reasons":["cpu_overload"]}'
http POST '/ask?reason=TRUE' -d '{}'
eq "only lowercase true counts" "$BODY" '{"allowed":false}'
inject '{"memory":90}'
http POST '/ask?reason=true' -d '{"task":"t"}'
eq "reason order" "$BODY" '{"allowed":false,"reasons":["cpu_overload","memory_overload"]}'

# 9. boundaries, strict
inject '{"cpu":80,"memory":50}'
http POST /ask -d '{"task":"t"}'
eq "cpu 80 allowed" "$STATUS" 200
inject '{"cpu":85}'
http POST '/ask?reason=true' -d '{"task":"t"}'
eq "cpu 85 denied" "$BODY" '{"allowed":false,"reasons":["cpu_overload"]}'
inject '{"cpu":10,"memory":85}'
http POST /ask -d '{"task":"t"}'
eq "memory 85 allowed" "$STATUS" 200
inject "{\"memory\":50,\"disk_free_bytes\":$((5 * GiB))}"
http POST '/ask?reason=true' -d '{"task":"t"}'
eq "5 GiB free" "$BODY" '{"allowed":false,"reasons":["storage_low"]}'
inject "{\"disk_free_bytes\":$((10 * GiB))}"
http POST /ask -d '{"task":"t"}'
eq "exactly 10 GiB free allowed" "$STATUS" 200
inject '{"gpu_index":0,"gpu_usage":95}'
http POST '/ask?reason=true' -d '{"task":"t"}'
eq "gpu 95" "$BODY" '{"allowed":false,"reasons":["gpu_overload"]}'
inject '{"gpu_index":0,"gpu_usage":10,"vram_usage":90}'
http POST '/ask?reason=true' -d '{"task":"t"}'
eq "vram 90" "$BODY" '{"allowed":false,"reasons":["vram_overload"]}'
inject '{"gpu_index":0,"gpu_usage":10,"vram_usage":10,"memory_pressure":50}'
http POST '/ask?reason=true' -d '{"task":"t"}'
eq "memory pressure" "$BODY" '{"allowed":false,"reasons":["memory_pressure"]}'
inject '{"memory_pressure":0}'

# Injected values stay (capfox lost them at the next sample): wait past two intervals.
inject '{"cpu":90}'
sleep 2.2
http POST /ask -d '{"task":"t"}'
eq "injection held across samples" "$STATUS" 503
http DELETE /debug/inject-metrics -H "Authorization: Bearer $DEBUG_TOKEN"
eq "delete injection" "$STATUS $BODY" '200 {"success":true}'
check "after delete cpu is real again" jq -e '.current_state.cpu != 90 and (.injected | length) == 0' \
    <(curl -s -H "Authorization: Bearer $DEBUG_TOKEN" "$BASE/debug/status")

# resources: floats accepted and used (capfox answered 400 to 12.5 and ignored them anyway)
inject '{"cpu":50,"memory":50}'
http POST '/ask?reason=true' -d '{"task":"t","resources":{"cpu":30.5}}'
eq "float resources used" "$STATUS $BODY" '503 {"allowed":false,"reasons":["cpu_overload"]}'
http POST '/ask' -d '{"task":"t","resources":{"cpu":12.5,"memory":10}}'
eq "float resources fit" "$STATUS" 200
# From here on answers must not depend on how busy the test machine is.
inject '{"cpu":10,"memory":10,"memory_pressure":0}'

# 10. bad bodies name the problem
http POST /ask -d 'invalid json'
eq "invalid json status" "$STATUS" 400
check "invalid json text" grep -q '^invalid request body: line 1 column' <<<"$BODY"
http POST /ask -d '{"task":"t","complexity":"high"}'
eq "complexity type" "$STATUS $BODY" '400 invalid request body: complexity must be a number'
http POST /ask -d '{"task":"t","complexity":-1}'
check "negative complexity" grep -q '^invalid request body: complexity must be between 0' <<<"$BODY"
http POST /ask -d '{"task":"t","resources":{"cpu":"x"}}'
eq "resources type" "$BODY" 'invalid request body: resources.cpu must be a number'
http POST /ask -d '{"task":"a","task":"b"}'
eq "duplicate keys refused" "$STATUS" 400
http POST /ask -d '[1,2]'
eq "non-object" "$STATUS" 400
http POST /ask -d 'null'
eq "null body as capfox" "$STATUS" 200
http POST /ask
eq "empty body" "$STATUS" 400
long=$(printf 'x%.0s' {1..129})
http POST /ask -d "{\"task\":\"$long\"}"
eq "task too long" "$STATUS" 400
http POST /ask -d '{"task":"a\u0000b"}'
eq "NUL in task" "$STATUS" 400

# 11. notify
http POST /task/notify -d '{"task":"test_task","complexity":100}'
eq "notify" "$STATUS $BODY" '200 {"received":true,"task":"test_task"}'
http POST /task/notify -d '{"complexity":100}'
eq "notify without task" "$STATUS $BODY" '400 task field is required'
http POST /task/notify -d '{"task":"","complexity":100}'
eq "notify empty task" "$STATUS $BODY" '400 task field is required'
http POST /task/notify -d 'invalid json'
eq "notify bad json" "$STATUS" 400

# 12-13. stats
http GET '/stats?task=unknown_task'
eq "unknown task stats" "$STATUS $BODY" '404 task not found'
check "observation completes" wait_for "curl -sf '$BASE/stats?task=test_task'" 5
http GET '/stats?task=test_task'
eq "stats count" "$(jq .count <<<"$BODY")" 1
check "stats keys" jq -e 'has("avg_cpu_delta") and has("avg_mem_delta") and .task == "test_task"' <<<"$BODY"
http GET /stats
eq "stats total" "$(jq .total_tasks <<<"$BODY")" 1
http GET '/stats?task='
eq "empty task means all" "$(jq -c '.tasks | keys' <<<"$BODY")" '["test_task"]'

# 404 vs 405
http GET /ask
eq "GET /ask is 405" "$STATUS" 405
check "Allow header" grep -qi '^Allow: POST' <(curl -s -D - -o /dev/null "$BASE/ask")
http POST /health
eq "POST /health is 405" "$STATUS" 405
http PUT /ask -d '{}'
eq "PUT /ask" "$STATUS" 405
http GET /ask/
eq "trailing slash is another path" "$STATUS" 404

# 17. body limits: 413 over 1 MiB, exactly 1 MiB accepted (and parsed)
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' ' ' > "$T/big"
http POST /ask --data-binary "@$T/big"
eq "over 1 MiB" "$STATUS" 413
{ printf '{"task":"t"}'; head -c $((1024 * 1024 - 12)) /dev/zero | tr '\0' ' '; } > "$T/exact"
eq "exact size" "$(stat -c %s "$T/exact")" $((1024 * 1024))
http POST /ask --data-binary "@$T/exact"
eq "exactly 1 MiB accepted" "$STATUS" 200
http POST /ask -H 'Transfer-Encoding: chunked' --data-binary "@$T/big"
eq "chunked over 1 MiB" "$STATUS" 413
http GET /health
eq "still serving after oversize bodies" "$STATUS" 200

# 18. security headers on every response
hdrs=$(curl -s -D - -o /dev/null "$BASE/health")
for h in 'X-Content-Type-Options: nosniff' 'X-Frame-Options: DENY' 'Cache-Control: no-store' 'X-XSS-Protection: 1; mode=block'; do
    check "header $h" grep -qi "^$h" <<<"$hdrs"
done

# 19. debug auth
http POST /debug/inject-metrics -H "Authorization: Bearer $DEBUG_TOKEN" -d '{"gpu_index":-1}'
eq "negative gpu index" "$STATUS $BODY" '400 gpu_index must be >= 0, got -1'
http POST /debug/inject-metrics -H "Authorization: Bearer $DEBUG_TOKEN" -d '{"gpu_index":0,"gpu_usage":75}'
eq "inject gpu" "$STATUS" 200
check "synthetic gpu" jq -e '.gpus[0].usage_percent == 75 and .gpus[0].vram_total_bytes == 25769803776' \
    <(curl -s "$BASE/status")
for auth in "Bearer wrong-token-xxxx" "" "Basic YWRtaW46c2VjcmV0" "Bearer "; do
    http POST /debug/inject-metrics -H "Authorization: $auth" -d '{"cpu":1}'
    eq "debug auth '$auth'" "$STATUS $BODY" '403 Forbidden - Debug authentication required'
done

# The Unix socket answers the same, with the documented mode
check "unix socket ask" test "$(curl -s --unix-socket "$SOCK" -X POST -d '{}' http://localhost/ask | jq -r .allowed)" = true
eq "socket mode" "$(stat -c %a "$SOCK")" 660

finish
