#!/usr/bin/env bash
# Leases: a burst of simultaneous asks with "reserve" admits only what fits, because each admitted
# task's declared need counts as used until it is released or its lease expires.
. "$(dirname "$0")/../harness/lib.sh"

write_config <<EOF
debug:
  enabled: true
  auth:
    token: "$DEBUG_TOKEN"
EOF
start_daemon
inject '{"cpu":10,"memory":0,"memory_pressure":0}'

# Memory 0 % used, threshold 85 %: a task of 34 % of the memory fits twice (68 %), not three times.
total=$(curl -s -m 5 "$BASE/status" | jq .memory.total_bytes)
need=$((total * 34 / 100))
body="{\"task\":\"train\",\"needs\":{\"mem_bytes\":$need},\"reserve\":true,\"lease_seconds\":30}"

# Ten asks at once, over the Unix socket and TCP alike.
pids=()
for i in $(seq 1 10); do
    if [ $((i % 2)) -eq 0 ]; then
        curl -s -m 10 -o "$T/ask.$i" -w '%{http_code}\n' --unix-socket "$SOCK" -X POST -d "$body" \
            http://localhost/v1/ask > "$T/code.$i" &
    else
        curl -s -m 10 -o "$T/ask.$i" -w '%{http_code}\n' -X POST -d "$body" "$BASE/v1/ask" > "$T/code.$i" &
    fi
    pids+=($!)
done
wait "${pids[@]}"
admitted=$(cat "$T"/code.* | grep -c '^200$')
denied=$(cat "$T"/code.* | grep -c '^503$')
eq "ten simultaneous asks admit two" "$admitted" 2
eq "and deny eight" "$denied" 8
check "denials name memory" grep -l '"memory_overload"' "$T"/ask.*
check "an admitted answer carries a lease" jq -e '.lease.id | test("^l-[0-9a-f]{16}$")' \
    $(grep -l '"allowed":true' "$T"/ask.* | head -1)
check "a denied answer shows what is reserved" jq -e \
    '.checks[] | select(.resource == "memory") | .reserved > 67 and .reserved < 69' \
    $(grep -l '"allowed":false' "$T"/ask.* | head -1)

http GET /v1/leases
check "two leases listed" jq -e '(.leases | length) == 2 and .reserved.mem_bytes == '"$((need * 2))" <<<"$BODY"
lease=$(jq -r '.leases[0].id' <<<"$BODY")

# Releasing one makes room for exactly one more.
http DELETE "/v1/leases/$lease"
eq "release" "$STATUS" 200
http DELETE "/v1/leases/$lease"
eq "release twice" "$STATUS" 404
http DELETE "/v1/leases/nonsense"
eq "bad lease id" "$STATUS" 404
http POST /v1/ask -d "$body"
eq "room after a release" "$STATUS" 200
http POST /v1/ask -d "$body"
eq "full again" "$STATUS" 503

# Without "reserve" nothing is held (capfox's stateless ask).
http POST /v1/ask -d "{\"task\":\"t\",\"needs\":{\"mem_bytes\":$((total * 10 / 100))}}"
eq "plain ask admitted" "$STATUS" 200
check "and not held" jq -e '.lease == null' <<<"$BODY"
http GET /v1/leases
check "still two leases" jq -e '(.leases | length) == 2' <<<"$BODY"

# Leases expire by themselves.
for l in $(jq -r '.leases[].id' <<<"$BODY"); do
    curl -s -m 5 -o /dev/null -X DELETE "$BASE/v1/leases/$l"
done
short="{\"task\":\"train\",\"needs\":{\"mem_bytes\":$need},\"reserve\":true,\"lease_seconds\":1}"
http POST /v1/ask -d "$short"
eq "short lease 1" "$STATUS" 200
http POST /v1/ask -d "$short"
eq "short lease 2" "$STATUS" 200
http POST /v1/ask -d "$short"
eq "third does not fit" "$STATUS" 503
sleep 1.3
http POST /v1/ask -d "$short"
eq "room once the leases expired" "$STATUS" 200

# Bad lease requests.
http POST /v1/ask -d '{"task":"t","reserve":"yes"}'
eq "reserve must be a boolean" "$STATUS" 400
http POST /v1/ask -d '{"task":"t","reserve":true,"lease_seconds":0}'
eq "lease_seconds 0" "$STATUS" 400
http POST /v1/ask -d '{"task":"t","reserve":true,"lease_seconds":999999}'
eq "lease_seconds too long" "$STATUS" 400
finish
