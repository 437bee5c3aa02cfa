#!/usr/bin/env bash
# Predictive admission on the real daemon: supervised task ends teach a type's cost; the learnt
# upper bound then decides (denying what thresholds alone would allow); too few observations fall
# back on thresholds with insufficient_data; a burst of asks for a learnt type admits only what its
# predicted need leaves room for; a notify attaches to a lease, which shrinks to what the task has
# not reached yet; a denied ask says when it would fit; models survive kill -9 and a model switch
# refits from the kept observations.
. "$(dirname "$0")/../harness/lib.sh"

write_config <<EOF
learning:
  observation_delay_sec: 3
  min_observations: 4
debug:
  enabled: true
  auth:
    token: "$DEBUG_TOKEN"
EOF
start_daemon
inject '{"cpu":10,"memory":20,"memory_pressure":0}'

http GET /status
total=$(jq .memory.total_bytes <<<"$BODY")
ncpu=$(jq .cpu.count <<<"$BODY")

# run TASK COMPLEXITY MEM_PCT [EXIT]: one supervised run that peaked at MEM_PCT % of memory and
# used 5 % of the CPUs over 10 s.
run() {
    local rss=$((total / 100 * $3)) cpu_sec
    cpu_sec=$(jq -n "0.05 * 10 * $ncpu")
    http POST /v1/tasks -d "{\"task\":\"$1\",\"complexity\":$2,\"pid\":$$}"
    [ "$STATUS" = 201 ] || { fail "task start $1: $STATUS $BODY"; return; }
    local id
    id=$(jq -r .id <<<"$BODY")
    http POST "/v1/tasks/$id/end" -d "{\"duration_sec\":10,\"cpu_sec\":$cpu_sec,\"peak_rss_bytes\":$rss,\"exit_code\":${4:-0}}"
    [ "$STATUS" = 200 ] || fail "task end $1: $STATUS $BODY"
}

# ---- learning from supervised tasks: memory = 8 % per unit of complexity ----------------------
for c in 1 2 3; do run encode $c $((8 * c)); done
http POST /v1/ask -d '{"task":"encode","complexity":5}'
eq "3 of 4 observations: thresholds decide" "$STATUS" 200
check "and say insufficient_data" jq -e '.reasons == ["insufficient_data"] and .prediction.memory.source == "none"' <<<"$BODY"
http POST '/ask?reason=true' -d '{"task":"encode","complexity":5}'
eq "capfox ask says it too, once learning has begun" "$BODY" '{"allowed":true,"reasons":["insufficient_data"]}'
http POST '/ask?reason=true' -d '{"task":"never-seen"}'
eq "a type never observed keeps capfox's plain answer" "$BODY" '{"allowed":true}'

# A failed run is not learnt.
run encode 9 1 127
http GET /v1/models/encode
eq "a failed run is not learnt" "$(jq .observations <<<"$BODY")" 3

run encode 4 32
http GET '/v1/models/encode?complexity=5'
eq "model found" "$STATUS" 200
check "four observations, sufficient, slope 8" jq -e '.observations == 4 and .sufficient and
    (.resources.memory.slope - 8 | fabs) < 0.01 and .resources.memory.n == 4' <<<"$BODY"
check "prediction at 5 is 40 % with a margin, in bytes too" jq -e '.resources.memory.prediction.expected > 39.9 and
    .resources.memory.prediction.expected < 40.1 and .resources.memory.prediction.upper >= .resources.memory.prediction.expected
    and .resources.memory.prediction.upper_bytes > 0' <<<"$BODY"
check "recent observations are from runs" jq -e '(.recent | length) == 4 and .recent[0].source == "run" and
    .recent[0].complexity == 4' <<<"$BODY"
check "cpu learnt as 5 %" jq -e '(.resources.cpu.intercept - 5 | fabs) < 0.01' <<<"$BODY"
check "duration learnt as 10 s" jq -e '.resources.duration.n == 4 and (.resources.duration.intercept - 10 | fabs) < 0.01' <<<"$BODY"
# A running task of the type is expected to end after its learnt duration.
http POST /v1/tasks -d '{"task":"encode","complexity":1}'
check "expected end from the learnt duration" jq -e '.expected_end_at != null' <<<"$BODY"
running=$(jq -r .id <<<"$BODY")
http POST /v1/tasks -d '{"task":"unknown-type"}'
check "no expected end for a type without timed runs" jq -e '.expected_end_at == null' <<<"$BODY"
http POST "/v1/tasks/$(jq -r .id <<<"$BODY")/end" -d '{"exit_code":1}'
http POST "/v1/tasks/$running/end" -d '{"exit_code":1}'
http GET /v1/tasks
eq "no supervised task left" "$(jq '.tasks | length' <<<"$BODY")" 0
# A task whose process is gone without an /end is dropped and its lease released.
sleep 30 &
sleeper=$!
http POST /v1/ask -d '{"task":"encode","complexity":1,"reserve":true}'
http POST /v1/tasks -d "{\"task\":\"encode\",\"complexity\":1,\"pid\":$sleeper,\"lease\":$(jq .lease.id <<<"$BODY")}"
check "the task holds the lease" jq -e '.lease | startswith("l-")' <<<"$BODY"
http GET /v1/leases
check "held by the task, without a deadline" jq -e '.leases[0].holder == "task" and .leases[0].expires_at == null' <<<"$BODY"
kill "$sleeper"; wait "$sleeper" 2>/dev/null
check "a vanished task is reaped" wait_for "curl -s -m 2 '$BASE/v1/tasks' | jq -e '(.tasks | length) == 0'" 5
check "and its lease released" wait_for "curl -s -m 2 '$BASE/v1/leases' | jq -e '(.leases | length) == 0'" 5

# Predictions decide: at 20 % used, complexity 5 (40 %) fits under 85 %, complexity 9 (72 %) does
# not, although thresholds alone would let both through.
http POST /v1/ask -d '{"task":"encode","complexity":5}'
eq "complexity 5 fits" "$STATUS" 200
check "need is predicted" jq -e '.prediction.memory.source == "predicted" and (.reasons | length) == 0 and
    (.checks[] | select(.resource == "memory") | .need > 39.9)' <<<"$BODY"
http POST /v1/ask -d '{"task":"encode","complexity":9}'
eq "complexity 9 denied by its prediction" "$STATUS" 503
check "memory_overload with the predicted need" jq -e '.reasons == ["memory_overload"] and
    (.checks[] | select(.resource == "memory") | .need > 71.9)' <<<"$BODY"
check "no estimate without leases" jq -e '.estimate.fits_in_seconds == null and (.estimate.why | length) > 0' <<<"$BODY"
http POST '/ask?reason=true' -d '{"task":"encode","complexity":9}'
eq "capfox ask decides on the prediction too" "$BODY" '{"allowed":false,"reasons":["memory_overload"]}'
# A declared need wins over the prediction.
http POST /v1/ask -d '{"task":"encode","complexity":9,"needs":{"mem_bytes":"1G"}}'
eq "declared need wins" "$STATUS" 200
check "source declared" jq -e '.prediction.memory.source == "declared"' <<<"$BODY"

# ---- the reservation race with predicted needs -------------------------------------------------
# Complexity 3 holds about 32 % (24 % predicted plus its margin): from 20 % used, two fit under
# 85 %, not three.
pids=()
for i in $(seq 1 8); do
    curl -s -m 10 -o "$T/ask.$i" -w '%{http_code}\n' -X POST \
        -d '{"task":"encode","complexity":3,"reserve":true,"lease_seconds":4}' "$BASE/v1/ask" > "$T/code.$i" &
    pids+=($!)
done
wait "${pids[@]}"
eq "eight simultaneous asks admit two" "$(cat "$T"/code.* | grep -c '^200$')" 2
denied=$(grep -l '"allowed":false' "$T"/ask.* | head -1)
check "a denial says when the leases free enough" jq -e '.estimate.fits_in_seconds > 0 and
    .estimate.fits_in_seconds <= 4' "$denied"
http GET /v1/leases
check "two predicted leases" jq -e '(.leases | length) == 2 and .reserved.mem_pct > 47' <<<"$BODY"
wait_for "curl -s -m 2 '$BASE/v1/leases' | jq -e '(.leases | length) == 0'" 8 || fail "leases did not expire"

# ---- a notify takes its lease, which shrinks as the task's use shows ----------------------------
http POST /v1/ask -d '{"task":"encode","complexity":3,"reserve":true,"lease_seconds":30}'
lease=$(jq -r .lease.id <<<"$BODY")
held=$(jq .lease.holds.mem_pct <<<"$BODY")
http POST /task/notify -d "{\"task\":\"encode\",\"complexity\":3,\"lease\":\"$lease\"}"
eq "notify with a lease" "$(jq -r .lease <<<"$BODY")" "$lease"
inject '{"memory":30}'
check "lease remaining shrinks by the 10 % reached" wait_for "curl -s -m 2 '$BASE/v1/leases' | jq -e '.leases[0].holder == \"notify\" and
    (.leases[0].remaining.mem_pct - ($held - 10) | fabs) < 0.01'" 5
http POST /task/notify -d "{\"task\":\"encode\",\"lease\":\"$lease\"}"
eq "a lease is taken once" "$STATUS" 409
http POST /task/notify -d '{"task":"encode","lease":"bogus"}'
eq "a malformed lease is a bad request" "$STATUS" 400
http DELETE "/v1/leases/$lease"
inject '{"memory":20}'

# capfox's ask-then-notify: with reserve_on_ask_seconds the plain /ask holds a lease, and a notify
# of the same task takes it.
cat >> "$T/config.yaml" <<EOF
admission:
  reserve_on_ask_seconds: 30
EOF
kill -HUP "$DAEMON_PID"
wait_for "curl -s -m 2 '$BASE/metrics' | grep -q '^headroom_config_reloads_total 1'" 5 || fail "reload"
http POST /ask -d '{"task":"encode","complexity":3}'
eq "capfox ask admitted" "$STATUS" 200
http GET /v1/leases
eq "and holds a lease" "$(jq '.leases | length' <<<"$BODY")" 1
http POST /task/notify -d '{"task":"encode","complexity":3}'
check "the notify took it" jq -e '.lease | startswith("l-")' <<<"$BODY"

# ---- the notify window on a controlled series, and an overlapped one -------------------------
http GET /v1/models/encode
before=$(jq .observations <<<"$BODY")
wait_for "curl -s -m 2 '$BASE/v1/models/encode' | jq -e '.observations == $((before + 1))'" 6 ||
    fail "notify window not learnt"
# Baseline 20 (the last sample before the notify), 35 held over a tick, then 25: impact 15.
inject '{"memory":20}'
sleep 1.2
http POST /task/notify -d '{"task":"series","complexity":1}'
inject '{"memory":35}'
sleep 1.3
inject '{"memory":25}'
wait_for "curl -s -m 2 '$BASE/v1/models/series' | jq -e '.observations == 1'" 6 || fail "series not learnt"
http GET /v1/models/series
check "impact is the window's peak minus the baseline" jq -e '(.recent[0].memory - 15 | fabs) < 0.01 and
    .recent[0].overlapped == false and .recent[0].weight == 1' <<<"$BODY"
check "and the mean impact lies between baseline and peak" jq -e '.recent[0].mean.memory > 4.9 and
    .recent[0].mean.memory < 15.01 and .recent[0].mean.cpu != null' <<<"$BODY"
http POST /task/notify -d '{"task":"series","complexity":1}'
http POST /task/notify -d '{"task":"series","complexity":1}'
wait_for "curl -s -m 2 '$BASE/v1/models/series' | jq -e '.observations == 3'" 6 || fail "overlapped not learnt"
http GET /v1/models/series
check "overlapping windows are down-weighted and counted" jq -e '.overlapped == 2 and .recent[0].overlapped and
    .recent[0].weight == 0.5' <<<"$BODY"

# ---- admit and start in one request ---------------------------------------------------------------
inject '{"cpu":95}'
http POST /v1/tasks -d '{"task":"encode","complexity":1,"admit":true}'
eq "admit-and-start denied: 503" "$STATUS" 503
check "with /v1/ask's answer" jq -e '.allowed == false and .reasons == ["cpu_overload"]' <<<"$BODY"
http GET /v1/tasks
eq "and no task started" "$(jq '.tasks | length' <<<"$BODY")" 0
inject '{"cpu":10}'
http POST /v1/tasks -d '{"task":"encode","complexity":1,"admit":true}'
eq "admit-and-start allowed: 201" "$STATUS" 201
check "the task holds the lease of its admission" jq -e '(.lease | startswith("l-")) and .admission.allowed and
    .admission.lease.id == .lease' <<<"$BODY"
started=$(jq -r .id <<<"$BODY")
http GET /v1/leases
check "held by the task" jq -e '[.leases[] | select(.holder == "task")] | length == 1' <<<"$BODY"
http POST "/v1/tasks/$started/end" -d '{"exit_code":1}'
http POST /v1/tasks -d '{"task":"encode","admit":"yes"}'
eq "admit must be a boolean" "$STATUS" 400

# ---- persistence: kill -9, then the same models ------------------------------------------------
http GET '/v1/models/encode?complexity=5'
upper=$(jq .resources.memory.prediction.upper <<<"$BODY")
n=$(jq .observations <<<"$BODY")
http GET /v1/models
check "the list shows both types" jq -e '[.models[].task] == ["encode","series"] and .model == "ewls"' <<<"$BODY"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
start_daemon
http GET '/v1/models/encode?complexity=5'
eq "observations kept across kill -9" "$(jq .observations <<<"$BODY")" "$n"
eq "the same prediction, bit for bit" "$(jq .resources.memory.prediction.upper <<<"$BODY")" "$upper"
http GET /v1/leases
check "the capfox lease came back" jq -e '(.leases | length) >= 1' <<<"$BODY"

# ---- switching the model refits from the kept observations ---------------------------------------
cat > "$T/config.yaml" <<EOF
learning:
  observation_delay_sec: 3
  min_observations: 4
  model: moving_average
EOF
kill -HUP "$DAEMON_PID"
wait_for "curl -s -m 2 '$BASE/v1/models/encode' | jq -e '.model == \"moving_average\"'" 5 || fail "model switch"
http GET /v1/models/encode
eq "refit keeps every observation" "$(jq .resources.memory.n <<<"$BODY")" "$n"
check "moving average has no slope" jq -e '.resources.memory.slope == 0' <<<"$BODY"

# ---- bad input ----------------------------------------------------------------------------------
http GET /v1/models/nosuch
eq "unknown type" "$STATUS" 404
http GET '/v1/models/encode?complexity=-1'
eq "bad complexity" "$STATUS" 400
http POST /v1/tasks -d '{"complexity":1}'
eq "task start needs a task" "$STATUS" 400
http POST /v1/tasks -d '{"task":"x","lease":"l-0000000000000001"}'
eq "task start with an unknown lease" "$STATUS" 404
http POST /v1/tasks/t-0000000000000001/end -d '{}'
eq "end of an unknown task" "$STATUS" 404
http POST /v1/tasks/zzz/end -d '{}'
eq "malformed task id" "$STATUS" 404
http POST /v1/tasks -d '{"task":"x","bogus":1}'
eq "unknown field" "$STATUS" 400

finish
