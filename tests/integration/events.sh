#!/usr/bin/env bash
# The event log of supervised tasks: GET /v1/events as JSON (after, limit, type) and as
# Server-Sent Events (an event emitted while connected, Last-Event-ID, the bound on streams),
# events kept across a restart, a hook run with the event on its stdin, and a hook that outlives
# its timeout killed with its process group.
. "$(dirname "$0")/../harness/lib.sh"

# The config expands ${VAR} and reads $$ as a literal $, so the shell's $$ is $$$$ there (each $
# escaped here for the here-document).
write_config <<EOF
events:
  max_stored: 100
hooks:
  timeout_seconds: 2
  max_running: 4
  task_finished: "cat > '$T/hook.json'; echo \"\$HEADROOM_EVENT\" > '$T/hook.type'"
  task_progress: "echo \$\$\$\$ > '$T/sleeper.pid'; sleep 1000 & wait"
EOF
start_daemon

SSE_PIDS=()
stop_streams() {
    local p
    for p in "${SSE_PIDS[@]}"; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    SSE_PIDS=()
}

# start_task NAME: registers a supervised task held by this shell; its id goes to $TASK_ID.
start_task() {
    http POST /v1/tasks -d "{\"task\":\"$1\",\"pid\":$$}"
    [ "$STATUS" = 201 ] || [ "$STATUS" = 200 ] || fail "POST /v1/tasks for $1: $STATUS $BODY"
    TASK_ID=$(jq -r .id <<<"$BODY")
}

# ---- the JSON form ----------------------------------------------------------------------------
http GET /v1/events
eq "GET /v1/events on a fresh log" "$STATUS" 200
eq "no events yet" "$(jq -c .events <<<"$BODY")" "[]"
eq "last_seq 0" "$(jq .last_seq <<<"$BODY")" 0

start_task encode
id=$TASK_ID
http POST "/v1/tasks/$id/progress" -d '{"pct":50,"phase":"pass 1"}'
eq "progress accepted" "$STATUS" 200
# Its hook (hooks.task_progress) never ends on its own; look at it while it runs.
check "the task:progress hook started" wait_for "[ -s '$T/sleeper.pid' ]" 5
hook_pid=$(cat "$T/sleeper.pid" 2>/dev/null)
hook_pid=${hook_pid:-0}
check "the hook runs in its own process group" \
    test "$(cut -d' ' -f5 "/proc/$hook_pid/stat" 2>/dev/null)" = "$hook_pid"
http POST "/v1/tasks/$id/end" -d '{"exit_code":3,"duration_sec":2}'
eq "end accepted" "$STATUS" 200

http GET /v1/events
eq "three events" "$(jq '.events | length' <<<"$BODY")" 3
eq "in order, with their types" "$(jq -c '[.events[] | [.seq, .type]]' <<<"$BODY")" \
    '[[1,"task:started"],[2,"task:progress"],[3,"task:finished"]]'
eq "last_seq is the newest" "$(jq .last_seq <<<"$BODY")" 3
eq "each names the task" "$(jq -c '[.events[] | .task_id == "'"$id"'" and .task == "encode"] | all' <<<"$BODY")" true
eq "no job" "$(jq -c '[.events[] | .job_id == null] | all' <<<"$BODY")" true
check "times are RFC 3339 UTC with milliseconds" jq -e \
    '[.events[].time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")] | all' \
    <<<"$BODY"
eq "the end's figures" "$(jq -c '.events[2] | [.exit_code, .duration_sec]' <<<"$BODY")" "[3,2]"
eq "the progress" "$(jq -c '.events[1].pct' <<<"$BODY")" 50

http GET "/v1/events?after=1"
eq "after=1: the two after it" "$(jq -c '[.events[].seq]' <<<"$BODY")" "[2,3]"
http GET "/v1/events?limit=1"
eq "limit=1: the oldest" "$(jq -c '[.events[].seq]' <<<"$BODY")" "[1]"
eq "limit=1: last_seq says where to go on" "$(jq .last_seq <<<"$BODY")" 1
http GET "/v1/events?after=1&limit=1"
eq "after and limit together" "$(jq -c '[.events[].seq]' <<<"$BODY")" "[2]"
http GET "/v1/events?type=task:finished"
eq "type filters" "$(jq -c '[.events[] | [.seq, .type]]' <<<"$BODY")" '[[3,"task:finished"]]'
http GET "/v1/events?after=3"
eq "nothing after the newest" "$(jq -c .events <<<"$BODY")" "[]"
eq "nothing after the newest: last_seq" "$(jq .last_seq <<<"$BODY")" 3
for bad in "type=task:nope" "limit=0" "limit=1001" "limit=x" "after=-1" "after=abc"; do
    http GET "/v1/events?$bad"
    eq "$bad is refused" "$STATUS" 400
    check "$bad: an error object" jq -e '.error | type == "string"' <<<"$BODY"
done
http HEAD /v1/events -I
eq "HEAD /v1/events" "$STATUS" 200
http POST /v1/events -d '{}'
eq "POST /v1/events: method not allowed" "$STATUS" 405

# ---- hooks --------------------------------------------------------------------------------------
check "the task:finished hook ran" wait_for "[ -s '$T/hook.json' ] && [ -s '$T/hook.type' ]" 5
check "it got the event on stdin" jq -e '.seq == 3 and .type == "task:finished" and .exit_code == 3' "$T/hook.json"
eq "HEADROOM_EVENT names the type" "$(cat "$T/hook.type" 2>/dev/null)" "task:finished"

# The task:progress hook is killed at hooks.timeout_seconds (2 s), with what it started.
check "the hook is killed at its timeout" wait_for "! kill -0 $hook_pid" 6
check "its children are killed too" wait_for "! pgrep -g $hook_pid" 3
check "the timeout is logged" wait_for "grep -q 'timed out' '$T/daemon.log'" 3

# ---- Server-Sent Events -------------------------------------------------------------------------
http GET /v1/events
last=$(jq .last_seq <<<"$BODY")
curl -sN -m 20 -H 'Accept: text/event-stream' "$BASE/v1/events?after=$last" > "$T/sse" 2>/dev/null &
SSE_PIDS+=($!)
check "the stream opens" wait_for "grep -q '^: headroom events' '$T/sse'" 5
start_task live
live=$TASK_ID
check "an event emitted while connected arrives" wait_for "grep -q '^event: task:started' '$T/sse'" 5
eq "its id is the next seq" "$(grep -m1 '^id: ' "$T/sse" | cut -d' ' -f2)" "$((last + 1))"
check "its data is the event's JSON" \
    jq -e ".seq == $((last + 1)) and .type == \"task:started\" and .task_id == \"$live\"" \
    <<<"$(grep -m1 '^data: ' "$T/sse" | cut -c7-)"
http POST "/v1/tasks/$live/end" -d '{"exit_code":0,"duration_sec":1}'
check "the next arrives on the same stream" wait_for "grep -q '^event: task:finished' '$T/sse'" 5
stop_streams

# Last-Event-ID (an EventSource reconnecting) wins over after.
curl -sN -m 2 -H 'Last-Event-ID: 2' "$BASE/v1/events?stream=1&after=0" > "$T/sse2" 2>/dev/null
eq "Last-Event-ID: resumes after it" "$(grep '^id: ' "$T/sse2" | head -2 | cut -d' ' -f2 | tr '\n' ' ')" "3 4 "
curl -sN -m 2 "$BASE/v1/events?stream=1&type=task:finished" > "$T/sse3" 2>/dev/null
eq "a stream filters by type too" "$(grep '^event: ' "$T/sse3" | sort -u)" "event: task:finished"
http GET "/v1/events?stream=1" -H 'Last-Event-ID: x'
eq "a bad Last-Event-ID is refused" "$STATUS" 400

# At most 64 streams: one more gets 503, and a closed one frees its place.
for i in $(seq 1 64); do
    curl -sN -m 30 "$BASE/v1/events?stream=1&after=1000000" > "$T/s.$i" 2>/dev/null &
    SSE_PIDS+=($!)
done
check "64 streams open" wait_for "[ \$(grep -l '^: headroom events' '$T'/s.* | wc -l) -eq 64 ]" 15
http GET "/v1/events?stream=1"
eq "the 65th stream: 503" "$STATUS" 503
http GET /v1/events
eq "the JSON form still answers" "$STATUS" 200
stop_streams
check "a place is free again" wait_for \
    "curl -s -m 1 -o /dev/null -w '%{http_code}' '$BASE/v1/events?stream=1' > '$T/code'; grep -q 200 '$T/code'" 5

# ---- kept across a restart ----------------------------------------------------------------------
http GET "/v1/events?limit=1000"
before=$(jq -c '[.events[] | [.seq, .type]]' <<<"$BODY")
n_before=$(jq '.events | length' <<<"$BODY")
last=$(jq .last_seq <<<"$BODY")
stop_daemon
start_daemon
http GET "/v1/events?limit=1000"
eq "the events survive a restart" "$(jq -c '[.events[] | [.seq, .type]]' <<<"$BODY")" "$before"
eq "last_seq too" "$(jq .last_seq <<<"$BODY")" "$last"
start_task again
again=$TASK_ID
http GET "/v1/events?after=$last"
eq "numbering goes on after a restart" "$(jq -c '[.events[] | [.seq, .type]]' <<<"$BODY")" \
    "[[$((last + 1)),\"task:started\"]]"
# A stream after a restart reads the older events from the store.
curl -sN -m 2 "$BASE/v1/events?stream=1" > "$T/sse4" 2>/dev/null
eq "a stream from the start replays the stored events" "$(grep -c '^id: ' "$T/sse4")" "$((n_before + 1))"
http POST "/v1/tasks/$again/end" -d '{"exit_code":0,"duration_sec":1}'

finish
