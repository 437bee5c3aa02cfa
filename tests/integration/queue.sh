#!/usr/bin/env bash
# The queue's policy with real jobs, on short clocks: aging (a P2 job that waited long enough
# starts before a later P0 one), backfill (a small job passes a large one that does not fit, but
# only for jobs.backfill_limit_seconds, after which the large one is not passed any more), and the
# stall of a silent job reported as task:stalled.
. "$(dirname "$0")/../harness/lib.sh"

write_config <<EOF
debug:
  enabled: true
  auth:
    token: "$DEBUG_TOKEN"
jobs:
  aging_seconds: 1
  backfill_limit_seconds: 3
EOF
start_daemon
inject '{"cpu":10,"memory":10,"memory_pressure":0}'
export HEADROOM_SERVER="unix:$SOCK"

hr() { "$HEADROOM" "$@"; }
job_field() { curl -s -m 5 --unix-socket "$SOCK" "http://x/v1/jobs/$1" | jq -r ".$2"; }

# ---- backfill, bounded ---------------------------------------------------------------------------
# 24 GiB machines and larger: a need of 90 % of the memory never fits while 10 % is in use.
total=$(curl -s --unix-socket "$SOCK" http://x/status | jq .memory.total_bytes)
big=$((total * 9 / 10))
head=$(hr submit --priority P0 --mem "$big" -- true)
small=$(hr submit --priority P2 --mem 1M -- true)
hr wait "$small" >/dev/null
eq "a small job that fits passes the large head that does not" "$(job_field "$small" state)" done
eq "the head still waits, for memory" "$(job_field "$head" state) $(job_field "$head" 'waiting[0]')" "queued memory"
sleep 3.5
late=$(hr submit --priority P2 --mem 1M -- true)
sleep 1.5
eq "after the backfill limit, nothing passes the head" "$(job_field "$late" state)" queued
check "and it says why" sh -c "curl -s --unix-socket '$SOCK' http://x/v1/jobs/$late | jq -e '.waiting[0] | test(\"passed for too long\")'"
hr cancel "$head" >/dev/null
hr wait "$late" >/dev/null
eq "once the head is gone, the held job runs" "$(job_field "$late" state)" done

# ---- aging -----------------------------------------------------------------------------------------
stop_daemon
cat >> "$T/config.yaml" <<EOF
  hard_max: 1
EOF
start_daemon
export HEADROOM_SERVER="unix:$SOCK"
inject '{"cpu":10,"memory":10,"memory_pressure":0}'
: > "$T/order"
blocker=$(hr submit -- sleep 4)
old=$(hr submit --priority P2 -- sh -c "echo aged-p2 >> '$T/order'")
sleep 3
new=$(hr submit --priority P0 -- sh -c "echo fresh-p0 >> '$T/order'")
hr wait "$new" >/dev/null
hr wait "$old" >/dev/null
eq "a P2 job aged past a later P0 one starts first" "$(tr '\n' ' ' < "$T/order")" "aged-p2 fresh-p0 "

# ---- a silent job stalls -----------------------------------------------------------------------------
quiet=$(hr submit --stall 1s -- sleep 4)
wait_for "curl -s --unix-socket '$SOCK' 'http://x/v1/events?type=task:stalled' | jq -e '.events | map(select(.job_id == $quiet)) | length == 1'" 10
check "a job without output or CPU time: task:stalled" \
    sh -c "curl -s --unix-socket '$SOCK' 'http://x/v1/events?type=task:stalled' | jq -e '.events | map(select(.job_id == $quiet)) | length == 1'"
check "its task says so" sh -c "curl -s --unix-socket '$SOCK' http://x/v1/tasks | jq -e '.tasks[] | select(.job_id == $quiet) | .stalled'"
hr wait "$quiet" >/dev/null
eq "a stall does not kill unless asked: it ends well" "$(job_field "$quiet" state)" done

finish
