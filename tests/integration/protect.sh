#!/usr/bin/env bash
# Supervision by level, with real processes: in protective mode, critical memory pressure suspends
# the lowest-priority job (never a P0 one), a task that asked for a checkpoint signal gets it
# first, and once pressure has stayed low for the hold-down time they are resumed, most important
# first; per-task limits give task:high-memory once per crossing; passive mode acts on nothing.
. "$(dirname "$0")/../harness/lib.sh"

write_config <<EOF
debug:
  enabled: true
  auth:
    token: "$DEBUG_TOKEN"
supervise:
  level: protective
  pressure_critical: 50
  pressure_low: 10
  hold_down_seconds: 2
  action_interval_seconds: 1
  task_memory_soft_percent: 0.001
EOF
start_daemon
inject '{"cpu":10,"memory":10,"memory_pressure":0}'
export HEADROOM_SERVER="unix:$SOCK"

hr() { "$HEADROOM" "$@"; }
job_field() { curl -s -m 5 --unix-socket "$SOCK" "http://x/v1/jobs/$1" | jq -r ".$2"; }
events() { curl -s -m 5 --unix-socket "$SOCK" "http://x/v1/events?limit=1000" | jq -c '.events[]'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

busy='while :; do :; done'
p0=$(hr submit --priority P0 --task vip -- sh -c "$busy")
p1=$(hr submit --priority P1 --task normal -- sh -c "$busy")
p2=$(hr submit --priority P2 --task batch --checkpoint-signal USR1 --checkpoint-grace 1s -- \
    sh -c "trap 'echo checkpointed > \"$T/ckpt\"' USR1; while :; do :; done")
for j in $p0 $p1 $p2; do wait_for "[ \"\$(job_field $j pid)\" != null ]" 10; done
wait_for "curl -s --unix-socket '$SOCK' 'http://x/v1/events?type=task:high-memory' | jq -e '.events | length >= 3'" 10
check "a task above its soft memory limit: task:high-memory" \
    sh -c "curl -s --unix-socket '$SOCK' 'http://x/v1/events?type=task:high-memory' | jq -e '.events | length >= 3'"
n_high=$(curl -s --unix-socket "$SOCK" 'http://x/v1/events?type=task:high-memory' | jq '.events | length')
sleep 1.5
eq "once per crossing, not every second" \
    "$(curl -s --unix-socket "$SOCK" 'http://x/v1/events?type=task:high-memory' | jq '.events | length')" "$n_high"

# A task's own limit, over the global ones: critical memory above 1 KiB.
own=$(curl -s --unix-socket "$SOCK" -X POST \
    -d "{\"argv\":[\"sleep\",\"5\"],\"cwd\":\"/\",\"priority\":\"P0\",\"limits\":{\"memory_hard_bytes\":1024}}" \
    http://x/v1/jobs | jq -r .id)
wait_for "curl -s --unix-socket '$SOCK' 'http://x/v1/events?type=task:critical-memory' | jq -e '.events | map(select(.job_id == $own)) | length == 1'" 10
check "a task above its own hard memory limit: task:critical-memory" \
    sh -c "curl -s --unix-socket '$SOCK' 'http://x/v1/events?type=task:critical-memory' | jq -e '.events | map(select(.job_id == $own and .limit_bytes == 1024)) | length == 1'"
eq "the others have no such limit" \
    "$(curl -s --unix-socket "$SOCK" 'http://x/v1/events?type=task:critical-memory' | jq ".events | map(select(.job_id != $own)) | length")" 0
eq "bad limits are refused" "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" -X POST \
    -d '{"argv":["true"],"cwd":"/","limits":{"memory_soft_bytes":10,"memory_hard_bytes":5}}' http://x/v1/jobs)" 400
hr cancel "$own" >/dev/null
hr run -q --task own-limit --critical-mem 1K -- sleep 2.5
eq "run --critical-mem: the same event, for a run" \
    "$(curl -s --unix-socket "$SOCK" 'http://x/v1/events?type=task:critical-memory' | jq '.events | map(select(.task == "own-limit" and .limit_bytes == 1024)) | length')" 1

# ---- critical pressure ----------------------------------------------------------------------------
inject '{"memory_pressure":80}'
wait_for "[ -s '$T/ckpt' ]" 10
check "the lowest-priority task gets its checkpoint signal first" grep -q checkpointed "$T/ckpt"
eq "task:checkpoint is told" "$(events | jq -s "map(select(.type == \"task:checkpoint\" and .job_id == $p2)) | length")" 1
wait_for "[ \"\$(job_field $p2 state)\" = suspended ]" 10
eq "then, after its grace, it is suspended" "$(job_field "$p2" state)" suspended
wait_for "[ \"\$(job_field $p1 state)\" = suspended ]" 10
eq "pressure stays critical: the next one goes" "$(job_field "$p1" state)" suspended
sleep 2.5
eq "P0 is never suspended" "$(job_field "$p0" state)" running
pid2=$(job_field "$p2" pid)
a=$(cpu_ticks "$pid2"); sleep 1; b=$(cpu_ticks "$pid2")
eq "a suspended task uses no CPU" "$b" "$a"
eq "task:suspended says protection did it" \
    "$(events | jq -s 'map(select(.type == "task:suspended" and .by == "protection")) | length')" 2

# ---- calm again -----------------------------------------------------------------------------------
inject '{"memory_pressure":30}'
sleep 3
eq "elevated but not low: nothing is resumed" "$(job_field "$p1" state)" suspended
inject '{"memory_pressure":0}'
wait_for "[ \"\$(job_field $p1 state)\" = running ]" 15
eq "after the hold-down, the most important is resumed first" "$(job_field "$p2" state)" suspended
wait_for "[ \"\$(job_field $p2 state)\" = running ]" 10
eq "then the next" "$(job_field "$p2" state)" running
a=$(cpu_ticks "$pid2"); sleep 1; b=$(cpu_ticks "$pid2")
check "and it runs again ($a → $b)" test "$b" -gt "$a"

# ---- a task the user suspended is left alone ------------------------------------------------------
hr suspend "$p1"
inject '{"memory_pressure":0}'
sleep 4
eq "protection does not resume what the user suspended" "$(job_field "$p1" state)" suspended
hr resume "$p1"

# ---- passive: nothing happens ---------------------------------------------------------------------
sed -i 's/level: protective/level: passive/' "$T/config.yaml"
kill -HUP "$DAEMON_PID"
sleep 1
inject '{"memory_pressure":90}'
sleep 3
eq "passive: nothing is suspended" "$(job_field "$p2" state)" running

for j in $p0 $p1 $p2; do hr cancel "$j" >/dev/null; done
for j in $p0 $p1 $p2; do wait_for "[ \"\$(job_field $j state)\" = cancelled ]" 15; done
finish
