#!/usr/bin/env bash
# headroom run with real processes against the real daemon: exit codes (0, 42, 126, 127, a
# signal, a timeout with and without KILL escalation), a denial that starts nothing, --wait,
# signal forwarding, stdio passed through, its own process group, the daemon unreachable, the
# task's figures reported and learnt, and its lease taken and released.
. "$(dirname "$0")/../harness/lib.sh"

write_config <<EOF
debug:
  enabled: true
  auth:
    token: "$DEBUG_TOKEN"
EOF
start_daemon
inject '{"cpu":10,"memory":10,"memory_pressure":0}'

hr() { "$HEADROOM" "$@"; }

# ---- exit codes ---------------------------------------------------------------------------------
hr run -q -- true
eq "true exits 0" "$?" 0
hr run -q -- sh -c 'exit 42'
eq "the command's own code" "$?" 42
printf '#!/bin/sh\necho hi\n' > "$T/noexec"
chmod 644 "$T/noexec"
hr run -q -- "$T/noexec" 2>"$T/err"
eq "not executable: 126" "$?" 126
hr run -q -- /nonexistent/command 2>"$T/err"
eq "not found: 127" "$?" 127
check "not found says so" grep -q "command not found" "$T/err"
hr run -q nosuchcommand-anywhere 2>/dev/null
eq "not found on PATH: 127" "$?" 127
hr run -q -- sh -c 'kill -TERM $$'
eq "killed by SIGTERM: 143, as the shell sees it" "$?" 143
start=$(date +%s%N)
hr run -q --timeout 1s -- sleep 30
eq "timeout: 124" "$?" 124
ms=$((($(date +%s%N) - start) / 1000000))
check "timeout took about 1 s ($ms ms)" test "$ms" -ge 900 -a "$ms" -lt 5000
start=$(date +%s%N)
hr run -q --timeout 1s --kill-after 1s -- sh -c 'trap "" TERM; sleep 30 & wait; sleep 30'
eq "a command that ignores SIGTERM: still 124" "$?" 124
ms=$((($(date +%s%N) - start) / 1000000))
check "SIGKILL after the grace ($ms ms)" test "$ms" -ge 1900 -a "$ms" -lt 6000
hr run --bogus-option -- true 2>/dev/null
eq "a bad option is a usage error" "$?" 2
hr run 2>/dev/null
eq "no command is a usage error" "$?" 2

# ---- stdio, process group, environment ------------------------------------------------------------
out=$(echo hello | hr run -q -- cat)
eq "stdin and stdout pass through" "$out" "hello"
hr run -q -- sh -c 'echo $$ > "$0/pid"; cut -d" " -f5 /proc/$$/stat > "$0/pgrp"' "$T"
eq "the command leads its own process group" "$(cat "$T/pgrp")" "$(cat "$T/pid")"
hr run -q --task envcheck -- sh -c 'echo "$HEADROOM_TASK $HEADROOM_TASK_ID" > "$0/env"' "$T"
check "HEADROOM_TASK and HEADROOM_TASK_ID are set" grep -Eq '^envcheck t-[0-9a-f]{16}$' "$T/env"
(trap '' HUP; exec "$HEADROOM" run -q -- sh -c 'kill -HUP $$; echo alive > "$0/nohup"' "$T")
check "a signal the caller ignores stays ignored (nohup)" grep -q alive "$T/nohup"
hr run -- true 2>"$T/summary"
check "a summary line on stderr" grep -Eq "^headroom: 'true' exited 0 after [0-9.]+ s; peak .*, CPU [0-9.]+ s; " "$T/summary"

# ---- admission ------------------------------------------------------------------------------------
inject '{"cpu":95}'
hr run -- touch "$T/ran" 2>"$T/err"
eq "denied: 75" "$?" 75
check "denied: nothing started" test ! -e "$T/ran"
check "denied: the reasons are printed" grep -q "cpu_overload" "$T/err"
start=$(date +%s%N)
hr run -q --wait=2s -- touch "$T/ran" 2>/dev/null
eq "--wait that runs out: 75" "$?" 75
ms=$((($(date +%s%N) - start) / 1000000))
check "after the wait ($ms ms)" test "$ms" -ge 1900
"$HEADROOM" run --wait=20s -- touch "$T/ran" 2>"$T/waited" &
waiter=$!
sleep 1.5
inject '{"cpu":10}'
wait "$waiter"
eq "--wait then admitted: 0" "$?" 0
check "the command ran after the wait" test -e "$T/ran"
check "it said it was waiting" grep -Eq "waits in the queue|waiting for capacity" "$T/waited"

# ---- signals are forwarded --------------------------------------------------------------------------
"$HEADROOM" run -q -- sh -c 'trap "echo got-term > \"$0/sig\"; exit 7" TERM; sleep 30 & wait' "$T" &
runner=$!
wait_for "curl -s -m 2 '$BASE/v1/tasks' | jq -e '.tasks[0].pid > 0'" 5 || fail "task not registered"
sleep 0.3
kill -TERM "$runner"
wait "$runner"
eq "SIGTERM forwarded, the command's code returned" "$?" 7
check "the command got SIGTERM" grep -q got-term "$T/sig"

# ---- reporting and learning ---------------------------------------------------------------------------
hr run -q --task alloc --complexity 3 -- perl -e '$x = "a" x (80 * 1024 * 1024); sleep 1'
eq "alloc ran" "$?" 0
http GET /v1/models/alloc
check "the run is learnt with its own figures" jq -e '.observations == 1 and .recent[0].source == "run" and
    .recent[0].duration_ms >= 900 and .recent[0].complexity == 3' <<<"$BODY"
total=$(curl -s -m 5 "$BASE/status" | jq .memory.total_bytes)
check "peak memory of the tree (>= 80 MiB)" jq -e ".recent[0].memory >= (80 * 1048576 * 100 / $total)" <<<"$BODY"
http GET /v1/leases
eq "no lease left behind" "$(jq '.leases | length' <<<"$BODY")" 0
http GET /v1/tasks
eq "no supervised task left behind" "$(jq '.tasks | length' <<<"$BODY")" 0

# ---- limits ------------------------------------------------------------------------------------------
hr run -q --max-mem 64M -- perl -e '$x = "a" x (300 * 1024 * 1024); print "survived\n"' >"$T/limited" 2>"$T/err"
rc=$?
if grep -q "cannot apply" "$T/err"; then
    eq "no cgroup for limits here: 125" "$rc" 125
else
    check "over --max-mem: killed, not finished (rc $rc)" test "$rc" -ne 0
    check "it did not survive" test ! -s "$T/limited"
fi

# ---- progress and stalls -------------------------------------------------------------------------------
"$HEADROOM" run -q --task prog -- sh -c '"$1" progress 40 --phase encode && sleep 3' sh "$HEADROOM" &
runner=$!
check "progress shows in /v1/tasks" wait_for "curl -s -m 2 '$BASE/v1/tasks' | jq -e '.tasks[0].progress_pct == 40 and
    .tasks[0].phase == \"encode\" and .tasks[0].expected_end_at != null'" 5
wait "$runner"
eq "the task with progress ends 0" "$?" 0
hr progress 50 2>/dev/null
eq "progress outside run is a usage error" "$?" 2
HEADROOM_TASK_ID=t-0000000000000001 hr progress 150 2>/dev/null
eq "progress above 100 is a usage error" "$?" 2
start=$(date +%s%N)
hr run --stall 2s --on-stall=kill --kill-after 1s -- sleep 30 2>"$T/stall"
eq "a silent sleeper is stopped as stalled: 124" "$?" 124
ms=$((($(date +%s%N) - start) / 1000000))
check "after about 2 s of silence ($ms ms)" test "$ms" -ge 1900 -a "$ms" -lt 8000
check "it says it stalled" grep -q "stalled: no output and no CPU time" "$T/stall"
hr run -q --stall 2s --on-stall=kill --timeout 4s -- sh -c 'while :; do echo x; sleep 0.3; done' >/dev/null 2>"$T/talker"
eq "a talker is not stalled (stopped by its timeout: 124)" "$?" 124
check "no stall for the talker" test ! -s "$T/talker"
hr run --stall 2s --on-stall=kill --timeout 4s -- sh -c 'while :; do :; done' 2>"$T/busy"
eq "a busy loop is not stalled (stopped by its timeout: 124)" "$?" 124
check "no stall for the busy loop" sh -c "! grep -q 'stalled:' '$T/busy'"
hr run --stall 1s -- sleep 2.5 2>"$T/warn"
eq "a stall without --on-stall=kill only warns" "$?" 0
check "the warning" grep -q "stalled" "$T/warn"

# ---- no daemon --------------------------------------------------------------------------------------
HEADROOM_SERVER="unix:$T/nobody.sock" hr run -- true 2>"$T/err"
eq "daemon unreachable: runs anyway" "$?" 0
check "with one warning" grep -q "cannot reach the daemon" "$T/err"
HEADROOM_SERVER="unix:$T/nobody.sock" hr run --on-unavailable=fail -- touch "$T/ran2" 2>/dev/null
eq "--on-unavailable=fail: 75" "$?" 75
check "and nothing ran" test ! -e "$T/ran2"

finish
