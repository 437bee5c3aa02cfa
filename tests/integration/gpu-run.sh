#!/usr/bin/env bash
# headroom run --gpus N against three fake NVML GPUs: the GPUs with the most headroom go to the
# command in CUDA_VISIBLE_DEVICES (UUIDs) and HEADROOM_GPUS (indices), each held for it alone until
# it ends; too few free GPUs deny with 75 and say how many fit; without a daemon --gpus fails or
# runs unchanged as --on-unavailable says; thresholds.gpu.shareable lets tasks share.
. "$(dirname "$0")/../harness/lib.sh"

: "${FAKE_NVML:?FAKE_NVML must point at the fake libnvidia-ml.so.1}"
export HEADROOM_NVML_LIB="$FAKE_NVML"
export HEADROOM_FAKE_NVML_SCRIPT="$T/nvml.script"
GiB=$((1024 * 1024 * 1024))

# Headroom order: GPU 1 (util 10), GPU 2 (util 30), GPU 0 (util 50).
cat > "$HEADROOM_FAKE_NVML_SCRIPT" <<EOF
gpus 3
gpu 0 name=Fake A uuid=GPU-aaaa util=50 temp=50 mem_total=$((80 * GiB)) mem_used=$((8 * GiB)) mem_reserved=0
gpu 1 name=Fake B uuid=GPU-bbbb util=10 temp=50 mem_total=$((80 * GiB)) mem_used=$((8 * GiB)) mem_reserved=0
gpu 2 name=Fake C uuid=GPU-cccc util=30 temp=50 mem_total=$((80 * GiB)) mem_used=$((8 * GiB)) mem_reserved=0
EOF
config() {
    write_config <<EOF
monitoring:
  interval_ms: 200
thresholds:
  gpu:
    shareable: $1
debug:
  enabled: true
  auth:
    token: "$DEBUG_TOKEN"
EOF
}
config false
start_daemon
# CPU and memory held low, so that only the GPUs decide, however busy the test machine is.
inject '{"cpu":10,"memory":10,"memory_pressure":0}'

hr() { "$HEADROOM" "$@"; }
show='echo "$CUDA_VISIBLE_DEVICES $HEADROOM_GPUS"'

out=$(CUDA_VISIBLE_DEVICES=stale hr run -q --gpus 2 -- sh -c "$show")
eq "two GPUs, most headroom first" "$?" 0
eq "their UUIDs and indices" "$out" "GPU-bbbb,GPU-cccc 1,2"
out=$(hr run -q --gpus 1 --vram 8G -- sh -c "$show")
eq "one GPU with a VRAM need" "$out" "GPU-bbbb 1"

# A task holds GPUs 1 and 2 while it runs.
hr run -q --task holder --gpus 2 -- sleep 3 &
holder=$!
check "the holder is registered with its GPUs" wait_for \
    "curl -s '$BASE/v1/tasks' | jq -e '.tasks[] | select(.task == \"holder\") | .gpus == [1,2]'" 5
http GET /v1/tasks
check "GET /v1/tasks shows the GPU UUIDs" jq -e \
    '.tasks[] | select(.task == "holder") | .gpu_uuids == ["GPU-bbbb","GPU-cccc"]' <<<"$BODY"
hr run --gpus 2 -- true 2>"$T/err"
eq "two more GPUs: denied" "$?" 75
check "says how many fit" grep -q "1 of the 2 GPUs asked for fit" "$T/err"
out=$(hr run -q --gpus 1 -- sh -c "$show")
eq "one more GPU: the third" "$out" "GPU-aaaa 0"
http POST /v1/tasks -d '{"task":"direct","admit":true,"gpus":2}'
eq "API: denied" "$STATUS" 503
check "API: gpu_overload and gpus_fit 1" jq -e \
    '.reasons == ["gpu_overload","insufficient_data"] and .gpus_fit == 1' <<<"$BODY"
# /v1/ask places a GPU task on no GPU another task holds.
http POST /v1/ask -d '{"needs":{"gpu_pct":10}}'
eq "/v1/ask avoids held GPUs" "$(jq .gpu <<<"$BODY")" 0
wait "$holder"
eq "the holder exits 0" "$?" 0

check "its GPUs are free again" wait_for "[ \"\$(curl -s '$BASE/v1/tasks' | jq '.tasks | length')\" = 0 ]" 5
out=$(hr run -q --gpus 2 -- sh -c "$show")
eq "after it ended, two GPUs again" "$out" "GPU-bbbb,GPU-cccc 1,2"

hr run --gpus 4 -- true 2>"$T/err"
eq "four GPUs on three: 75" "$?" 75
check "says 3 of 4 fit" grep -q "3 of the 4 GPUs asked for fit" "$T/err"
hr run -q --gpus 17 -- true 2>/dev/null
eq "--gpus 17 is a usage error" "$?" 2

http POST /v1/tasks -d '{"task":"direct","gpus":1}'
eq "API: gpus without admit is a bad request" "$STATUS" 400
http POST /v1/tasks -d '{"task":"direct","admit":true,"gpus":1.5}'
eq "API: gpus must be whole" "$STATUS" 400

# No daemon: --gpus fails with --on-unavailable=fail, else runs with the environment unchanged.
HEADROOM_SERVER=http://127.0.0.1:1 hr run -q --gpus 1 --on-unavailable=fail -- true 2>/dev/null
eq "no daemon, fail: 75" "$?" 75
out=$(CUDA_VISIBLE_DEVICES=keep HEADROOM_SERVER=http://127.0.0.1:1 hr run --gpus 1 -- sh -c "$show" 2>"$T/err")
eq "no daemon: runs, CUDA_VISIBLE_DEVICES unchanged" "$out" "keep "
check "no daemon: warns about the GPUs" grep -q "without GPUs held" "$T/err"

# A background job gets its GPUs the same way, from the daemon, and holds them while it runs.
export HEADROOM_SERVER="unix:$SOCK"
jq_job() { curl -s -m 5 --unix-socket "$SOCK" "http://x/v1/jobs/$1" | jq -r "$2"; }
jg=$(hr submit --gpus 2 -- sh -c "$show; sleep 2")
wait_for "[ \"\$(jq_job $jg .state)\" = running ]" 10
check "the job's task holds GPUs 1 and 2" \
    sh -c "curl -s --unix-socket '$SOCK' http://x/v1/tasks | jq -e '.tasks[] | select(.job_id == $jg) | .gpus == [1,2]'"
out=$(hr run -q --gpus 2 -- true 2>&1)
eq "while it runs, two more GPUs are not there: 75" "$?" 75
hr wait "$jg"
eq "the GPU job succeeds" "$?" 0
eq "it was given the two GPUs with the most headroom" "$(head -n 1 "$STATE/jobs/$jg.log")" "GPU-bbbb,GPU-cccc 1,2"
jq2=$(hr submit --gpus 4 -- true)
sleep 1
eq "a job that needs four of three GPUs waits" "$(jq_job "$jq2" .state)" queued
check "for the GPUs" sh -c "curl -s --unix-socket '$SOCK' http://x/v1/jobs/$jq2 | jq -e '.waiting | length > 0'"
hr cancel "$jq2" >/dev/null
export HEADROOM_SERVER="$BASE"

# The VRAM a task's processes hold, as NVML lists them, is the task's: seen while it runs, learnt
# at its end.
export HEADROOM_SERVER="unix:$SOCK"
hr run -q --task vram-user --gpus 1 -- sh -c 'echo $$ > "$0/vram.pid"; sleep 3' "$T" &
vr=$!
wait_for "[ -s '$T/vram.pid' ]" 5
cp "$HEADROOM_FAKE_NVML_SCRIPT" "$T/nvml.saved"
echo "proc 1 $(cat "$T/vram.pid") $((4 * GiB))" >> "$HEADROOM_FAKE_NVML_SCRIPT"
wait_for "curl -s --unix-socket '$SOCK' http://x/v1/tasks | jq -e '.tasks[] | select(.task == \"vram-user\") | .vram_bytes == $((4 * GiB))'" 5
check "a task's GPU processes count as its VRAM" \
    sh -c "curl -s --unix-socket '$SOCK' http://x/v1/tasks | jq -e '.tasks[] | select(.task == \"vram-user\") | .vram_bytes == $((4 * GiB))'"
wait "$vr"
cp "$T/nvml.saved" "$HEADROOM_FAKE_NVML_SCRIPT"
check "and its peak is learnt (4 GiB of 80 is 5 %)" \
    sh -c "curl -s --unix-socket '$SOCK' http://x/v1/models/vram-user | jq -e '.recent[0].vram > 4.9 and .recent[0].vram < 5.1'"
export HEADROOM_SERVER="$BASE"

# Shareable GPUs: a second task gets GPUs the first holds.
stop_daemon
config true
start_daemon
inject '{"cpu":10,"memory":10,"memory_pressure":0}'
hr run -q --task holder --gpus 2 -- sleep 3 &
holder=$!
check "the holder is registered" wait_for \
    "curl -s '$BASE/v1/tasks' | jq -e '.tasks[] | select(.task == \"holder\") | .gpus == [1,2]'" 5
out=$(hr run -q --gpus 3 -- sh -c "$show")
eq "shareable: all three GPUs for the second task" "$out" "GPU-bbbb,GPU-cccc,GPU-aaaa 1,2,0"
wait "$holder"

finish
