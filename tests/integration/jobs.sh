#!/usr/bin/env bash
# Background jobs against the real daemon, with real processes: submit, logs, wait and the exit
# status, a job that runs as the user who submitted it, owner-only controls, a job queued while
# the machine is full and started once it has room, priorities under a concurrency maximum,
# cancel (queued and running), suspend and resume (CPU time stops and restarts), the queue across
# a daemon restart (a queued job waits again, a running one is adopted, a vanished one is lost),
# and bad submissions.
. "$(dirname "$0")/../harness/lib.sh"

USER_TOKEN=nobody-token-0123456789
printf '# user token\nnobody %s\n' "$USER_TOKEN" > "$T/tokens"
chmod 600 "$T/tokens"
write_config <<EOF
auth:
  user_tokens_file: "$T/tokens"
debug:
  enabled: true
  auth:
    token: "$DEBUG_TOKEN"
server:
  socket_mode: "0666"
jobs:
  hard_max: 2
EOF
# Another user must reach the socket and the jobs' files below $T.
chmod 755 "$T"
start_daemon
inject '{"cpu":10,"memory":10,"memory_pressure":0}'
export HEADROOM_SERVER="unix:$SOCK"

hr() { "$HEADROOM" "$@"; }
# job_field ID FIELD: one field of GET /v1/jobs/ID.
job_field() { curl -s -m 5 --unix-socket "$SOCK" "http://x/v1/jobs/$1" | jq -r ".$2"; }
job_state() { job_field "$1" state; }

# ---- submit, logs, wait ---------------------------------------------------------------------------
id=$(hr submit --task three -- sh -c 'echo to-stdout; echo to-stderr >&2; exit 3')
check "submit prints the job id ($id)" test -n "$id" -a "$id" -ge 1
hr wait "$id"
eq "wait exits with the job's own status" "$?" 3
eq "a job that exits 3 failed" "$(job_state "$id")" failed
eq "its exit code" "$(job_field "$id" exit_code)" 3
hr logs "$id" > "$T/log1"
check "its log holds stdout" grep -q to-stdout "$T/log1"
check "its log holds stderr" grep -q to-stderr "$T/log1"
check "its log ends with the supervisor's summary" grep -q "headroom: 'three' exited 3" "$T/log1"

id2=$(hr submit -- true)
hr wait "$id2"
eq "a job of true: wait exits 0" "$?" 0
eq "and it is done" "$(job_state "$id2")" done
eq "its task is named after the command" "$(job_field "$id2" task)" true

mkdir -p "$T/wd"
id3=$(cd "$T/wd" && FOO=bar-from-submit hr submit -- sh -c 'pwd; echo "FOO=$FOO JOB=$HEADROOM_JOB_ID TASK=$HEADROOM_TASK_ID"')
hr wait "$id3"
check "it runs in the directory it was submitted from" grep -qx "$T/wd" "$STATE/jobs/$id3.log"
check "with the submitter's environment and its ids" grep -Eq "^FOO=bar-from-submit JOB=$id3 TASK=t-[0-9a-f]{16}$" "$STATE/jobs/$id3.log"

# ---- the owner ----------------------------------------------------------------------------------
nobody=$(id -u nobody)
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
idn=$(cd /tmp && as_nobody "$HEADROOM" submit -- sh -c 'id -u; sleep 30')
check "another user can submit ($idn)" test -n "$idn"
wait_for "[ \"\$(job_state $idn)\" = running ]" 10
eq "it is theirs" "$(job_field "$idn" uid)" "$nobody"
wait_for "grep -qx $nobody '$STATE/jobs/$idn.log'" 10
check "and it runs as them, not as root" grep -qx "$nobody" "$STATE/jobs/$idn.log"
idr=$(hr submit -- sleep 30)
wait_for "[ \"\$(job_state $idr)\" = running ]" 10
as_nobody "$HEADROOM" cancel "$idr" 2>"$T/err"
check "they cannot cancel root's job (exit $?)" test "$?" -ne 0
eq "root's job runs on" "$(job_state "$idr")" running
as_nobody "$HEADROOM" logs "$idr" >/dev/null 2>&1
check "nor read its log" test "$?" -ne 0
# A pid named by a client is taken only when it is the client's own process: the root daemon
# signals and freezes the group it leads.
sleep 60 &
rootpid=$!
code=$(as_nobody curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X POST \
    -d "{\"task\":\"x\",\"pid\":$rootpid}" http://x/v1/tasks)
eq "another user's process cannot be registered as one's task" "$code" 403
tidn=$(job_field "$idn" task_id)
code=$(as_nobody curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X POST \
    -d "{\"pid\":$rootpid}" "http://x/v1/tasks/$tidn/usage")
check "nor reported as the process of one's job (HTTP $code)" test "$code" = 403 -o "$code" = 200
eq "the job keeps its own process" "$(job_field "$idn" pid)" "$(curl -s --unix-socket "$SOCK" http://x/v1/tasks/$tidn | jq .pid)"
tidr=$(job_field "$idr" task_id)
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/v1/tasks/$tidr/suspend")
eq "over TCP without a user's token, root's task cannot be suspended" "$code" 403
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/v1/tasks/$tidr/cancel")
eq "nor cancelled" "$code" 403
kill "$rootpid" 2>/dev/null
hr cancel "$idr"
eq "root cancels its own job" "$?" 0
hr cancel "$idn"
eq "root may cancel theirs" "$?" 0
wait_for "[ \"\$(job_state $idn)\" = cancelled ]" 15
eq "their job is cancelled" "$(job_state "$idn")" cancelled
wait_for "[ \"\$(job_state $idr)\" = cancelled ]" 15
eq "a cancelled running job ends by SIGTERM" "$(job_field "$idr" exit_code)" 143
curl -s -o /dev/null -w '%{http_code}' -X POST -d '{"argv":["true"],"cwd":"/"}' "$BASE/v1/jobs" > "$T/code"
eq "a submit over TCP to a root daemon is refused" "$(cat "$T/code")" 403
idt=$(hr submit --server "$BASE" --token "$USER_TOKEN" -- id -u)
check "over TCP with a user's own token, a submit is taken ($idt)" test -n "$idt"
hr wait "$idt"
eq "and runs as that user" "$(head -n 1 "$STATE/jobs/$idt.log")" "$nobody"
hr cancel --server "$BASE" --token "$USER_TOKEN" "$id2" 2>/dev/null
check "their token cannot act on root's job" test "$?" -ne 0
chmod 644 "$T/tokens"
"$HEADROOM" serve --config "$T/config.yaml" --state-dir "$T/state2" --socket "$T/s2.sock" --listen 127.0.0.1:0 \
    >"$T/bad-tokens.log" 2>&1
eq "a tokens file others can read is refused at start (78)" "$?" 78
check "and says why" grep -q "mode 0600" "$T/bad-tokens.log"
chmod 600 "$T/tokens"

# ---- cancel a job that ignores SIGTERM -------------------------------------------------------------
idk=$(hr submit --kill-after 1s -- sh -c 'trap "" TERM; while :; do sleep 0.2; done')
wait_for "[ \"\$(job_field $idk pid)\" != null ]" 10
start=$(date +%s%N)
hr cancel "$idk"
wait_for "[ \"\$(job_state $idk)\" = cancelled ]" 20
ms=$((($(date +%s%N) - start) / 1000000))
eq "one that ignores SIGTERM is killed after the grace" "$(job_field "$idk" exit_code)" 137
check "about a second later ($ms ms)" test "$ms" -ge 900 -a "$ms" -lt 8000

# ---- waiting for room -----------------------------------------------------------------------------
inject '{"memory":97}'
idq=$(hr submit --mem 1G -- true)
sleep 1.5
eq "a job that does not fit waits" "$(job_state "$idq")" queued
check "and says for what" sh -c "curl -s --unix-socket '$SOCK' http://x/v1/jobs/$idq | jq -e '.waiting | index(\"memory\")'"
hr cancel "$idq"
eq "a queued job is cancelled at once" "$(job_state "$idq")" cancelled
eq "without an exit code" "$(job_field "$idq" exit_code)" null
idq2=$(hr submit --mem 1G -- true)
sleep 1
eq "queued again" "$(job_state "$idq2")" queued
inject '{"memory":10}'
wait_for "[ \"\$(job_state $idq2)\" = done ]" 10
eq "it starts once there is room" "$(job_state "$idq2")" done

# ---- priorities under jobs.hard_max (2) -----------------------------------------------------------
: > "$T/order"
b1=$(hr submit -- sh -c "sleep 2; echo blocker1 >> '$T/order'")
b2=$(hr submit -- sh -c "sleep 4; echo blocker2 >> '$T/order'")
p2=$(hr submit --priority P2 -- sh -c "echo p2 >> '$T/order'")
p1=$(hr submit -- sh -c "echo p1 >> '$T/order'")
p0=$(hr submit --priority P0 -- sh -c "echo p0 >> '$T/order'")
sleep 0.5
eq "the hard maximum holds the third job" "$(job_state "$p2")" queued
eq "the P0 job is first in line" "$(job_field "$p0" position)" 1
eq "the P2 job is last" "$(job_field "$p2" position)" 3
hr wait "$p2" >/dev/null
order=$(grep -v blocker "$T/order" | tr '\n' ' ')
eq "they start by priority" "$order" "p0 p1 p2 "

# ---- run --wait waits in the same queue ---------------------------------------------------------------
inject '{"memory":97}'
: > "$T/order2"
hr run -q --wait --priority P2 --mem 12G -- sh -c "sleep 1; echo p2 >> '$T/order2'" &
w2=$!
sleep 0.5
hr run -q --wait --priority P0 --mem 12G -- sh -c "sleep 1; echo p0 >> '$T/order2'" &
w0=$!
wait_for "[ \"\$(curl -s --unix-socket '$SOCK' http://x/v1/waiters | jq '.waiters | length')\" = 2 ]" 10
eq "two runs wait in the daemon's queue" "$(curl -s --unix-socket "$SOCK" http://x/v1/waiters | jq '.waiters | length')" 2
eq "the P0 one is first" \
    "$(curl -s --unix-socket "$SOCK" http://x/v1/waiters | jq -r '.waiters | sort_by(.position) | .[0].priority')" P0
inject '{"memory":10}'
wait "$w0"
eq "the P0 run ran" "$?" 0
wait "$w2"
eq "the P2 run ran" "$?" 0
eq "one at a time, by priority (each needs most of the room)" "$(tr '\n' ' ' < "$T/order2")" "p0 p2 "
hr run -q --task ctl-end -- true
wait_for "curl -s --unix-socket '$SOCK' http://x/v1/models/ctl-end | jq -e '.observations == 1'" 5
check "a run's end, sent over the control socket without waiting, is learnt" \
    sh -c "curl -s --unix-socket '$SOCK' http://x/v1/models/ctl-end | jq -e '.observations == 1'"
eq "and its task and lease are gone" "$(curl -s --unix-socket "$SOCK" http://x/v1/tasks | jq '.tasks | length')" 0
inject '{"memory":97}'
hr run -q --wait=1s --mem 1G -- true 2>/dev/null
eq "run --wait=1s that never gets room: 75" "$?" 75
wait_for "[ \"\$(curl -s --unix-socket '$SOCK' http://x/v1/waiters | jq '.waiters | length')\" = 0 ]" 5
eq "and it left the queue" "$(curl -s --unix-socket "$SOCK" http://x/v1/waiters | jq '.waiters | length')" 0
inject '{"memory":10}'

# ---- suspend and resume ---------------------------------------------------------------------------
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ids=$(hr submit -- sh -c 'while :; do :; done')
wait_for "[ \"\$(job_field $ids pid)\" != null ]" 10
pid=$(job_field "$ids" pid)
tid=$(job_field "$ids" task_id)
wait_for "[ \"\$(curl -s --unix-socket '$SOCK' http://x/v1/tasks/$tid | jq '.history | length')\" -ge 2 ]" 10
curl -s --unix-socket "$SOCK" "http://x/v1/tasks/$tid" > "$T/task.json"
check "a task's metrics: its process, threads and fds" \
    jq -e '.metrics.processes >= 1 and .metrics.threads >= 1 and .metrics.fds >= 3 and .metrics.rss_bytes > 0' "$T/task.json"
check "and its history, a row per sample" jq -e '(.history | length) >= 2 and (.history[0] | length) == 8' "$T/task.json"
check "its CPU shows the busy loop" jq -e '.history[-1][2] > 10' "$T/task.json"
hr suspend "$ids"
eq "suspend" "$?" 0
eq "the job is suspended" "$(job_state "$ids")" suspended
sleep 0.3
a=$(cpu_ticks "$pid"); sleep 1; b=$(cpu_ticks "$pid")
eq "a suspended job uses no CPU time" "$b" "$a"
hr suspend "$ids" 2>/dev/null
check "suspending it again is refused" test "$?" -ne 0
hr resume "$ids"
eq "resume" "$?" 0
eq "the job runs again" "$(job_state "$ids")" running
a=$(cpu_ticks "$pid"); sleep 1; b=$(cpu_ticks "$pid")
check "and uses CPU time again ($a → $b)" test "$b" -gt "$a"
hr cancel "$ids"
wait_for "[ \"\$(job_state $ids)\" = cancelled ]" 15

# ---- the queue across a restart -------------------------------------------------------------------
inject '{"memory":10}'
ida=$(hr submit -- sh -c "sleep 3; echo adopted-ok")
wait_for "[ \"\$(job_field $ida pid)\" != null ]" 10
idl=$(hr submit -- sleep 60)
wait_for "[ \"\$(job_field $idl pid)\" != null ]" 10
lost_pid=$(job_field "$idl" pid)
lost_sup=$(job_field "$idl" supervisor_pid)
inject '{"memory":97}'
idw=$(hr submit --mem 1G -- true)
sleep 0.3
eq "before the restart: queued" "$(job_state "$idw")" queued
stop_daemon
# The overlay does not outlive the daemon: a threshold keeps the queued job waiting instead.
cp "$T/config.yaml" "$T/config.normal"
printf 'thresholds:\n  memory:\n    max_percent: 1\n' >> "$T/config.yaml"
# While the daemon is down, the supervisor of one job dies without a word.
kill -KILL "$lost_sup" "$lost_pid" 2>/dev/null
ps -o pid,stat,args -p "$lost_sup" "$lost_pid" > "$T/ps-lost" 2>&1
start_daemon
export HEADROOM_SERVER="unix:$SOCK"
# The machine's own load must not decide what follows (other tests may run beside this one).
inject '{"cpu":10,"memory":10,"memory_pressure":0}'
eq "after the restart: the queued job still waits" "$(job_state "$idw")" queued
eq "the running job is adopted" "$(job_state "$ida")" running
wait_for "[ \"\$(job_state $ida)\" = done ]" 15
eq "and its end is known" "$(job_state "$ida")" done
check "its output went on into its log" grep -q adopted-ok "$STATE/jobs/$ida.log"
wait_for "[ \"\$(job_state $idl)\" = lost ]" 5
cat "$T/ps-lost" >&2
eq "the job whose supervisor vanished is lost" "$(job_state "$idl")" lost
check "with the reason" sh -c "curl -s --unix-socket '$SOCK' http://x/v1/jobs/$idl | jq -e '.reason | test(\"restarted\")'"
cp "$T/config.normal" "$T/config.yaml"
kill -HUP "$DAEMON_PID"
wait_for "[ \"\$(job_state $idw)\" = done ]" 10
eq "the waiting job runs once there is room" "$(job_state "$idw")" done

# ---- bad submissions ------------------------------------------------------------------------------
post() { curl -s -m 5 -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X POST -d "$1" "http://x/v1/jobs"; }
eq "no argv: 400" "$(post '{"cwd":"/"}')" 400
eq "empty argv: 400" "$(post '{"argv":[],"cwd":"/"}')" 400
eq "a relative cwd: 400" "$(post '{"argv":["true"],"cwd":"tmp"}')" 400
eq "an unknown field: 400" "$(post '{"argv":["true"],"cwd":"/","bogus":1}')" 400
eq "a bad priority: 400" "$(post '{"argv":["true"],"cwd":"/","priority":"P7"}')" 400
eq "a bad env entry: 400" "$(post '{"argv":["true"],"cwd":"/","env":["NOEQUALS"]}')" 400
eq "a bad signal: 400" "$(post '{"argv":["true"],"cwd":"/","checkpoint_signal":"SIGNOPE"}')" 400
eq "not JSON: 400" "$(post '{"argv":')" 400
eq "no such job: 404" "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://x/v1/jobs/999999)" 404
eq "cancel a finished job: 409" \
    "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X POST "http://x/v1/jobs/$id2/cancel")" 409
hr logs 999999 2>/dev/null
check "logs of no such job fails" test "$?" -ne 0

finish
