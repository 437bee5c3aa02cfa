#!/usr/bin/env bash
# GPUs through the real NVML code path against the fake libnvidia-ml.so.1, changed while the
# daemon runs; and GET /metrics checked by promtool.
. "$(dirname "$0")/../harness/lib.sh"

: "${FAKE_NVML:?FAKE_NVML must point at the fake libnvidia-ml.so.1}"
export HEADROOM_NVML_LIB="$FAKE_NVML"
export HEADROOM_FAKE_NVML_SCRIPT="$T/nvml.script"
GiB=$((1024 * 1024 * 1024))

cat > "$HEADROOM_FAKE_NVML_SCRIPT" <<EOF
gpus 2
gpu 0 name=Fake H100 uuid=GPU-aaaa util=95 temp=60 mem_total=$((80 * GiB)) mem_used=$((8 * GiB)) mem_reserved=0
proc 0 4242 $((6 * GiB))
gpu 1 name=Fake L4 uuid=GPU-bbbb util=10 temp=40 mem_total=$((24 * GiB)) mem_used=$((2 * GiB)) mem_reserved=0
noprocs 1
EOF
write_config <<EOF
monitoring:
  interval_ms: 200
debug:
  enabled: true
  auth:
    token: "$DEBUG_TOKEN"
EOF
start_daemon
# CPU and memory held low, so that only the GPUs decide, however busy the test machine is.
inject '{"cpu":10,"memory":10,"memory_pressure":0}'

http GET /status
check "two GPUs" jq -e '.gpus | length == 2' <<<"$BODY"
check "gpu 0 figures" jq -e '.gpus[0] | .name == "Fake H100" and .uuid == "GPU-aaaa" and .vendor == "nvidia"
    and .usage_percent == 95 and .temperature == 60 and .vram_total_bytes == 85899345920
    and .vram_used_bytes == 8589934592' <<<"$BODY"
check "per-process VRAM" jq -e '.gpus[0].processes == [{"pid":4242,"vram_used_bytes":6442450944}]' <<<"$BODY"
check "gpu 1 figures" jq -e '.gpus[1] | .name == "Fake L4" and .usage_percent == 10' <<<"$BODY"

# A task fits on the idle L4, so GPU 0 being busy does not deny it; the answer names the GPU.
http POST /v1/ask -d '{"task":"render","needs":{"vram_bytes":"8G"}}'
eq "fits on gpu 1" "$STATUS" 200
eq "chosen gpu" "$(jq .gpu <<<"$BODY")" 1
http POST /v1/ask -d '{"task":"render","needs":{"vram_bytes":"40G"}}'
eq "too big for any gpu" "$STATUS" 503
eq "vram reason" "$(jq -c .reasons <<<"$BODY")" '["vram_overload","insufficient_data"]'

# VRAM leases: the L4 has 2 of 24 GiB used, 85 % is 20.4 GiB: one 9 GiB reservation fits, the
# second (2 + 9 + 9 = 20 GiB) too, a third does not; GPU 0 stays out because it is busy. Four at
# once admit two, both on GPU 1, and each holds its VRAM there.
pids=()
for i in 1 2 3 4; do
    curl -s -m 10 -o "$T/gask.$i" -w '%{http_code}\n' -X POST \
        -d '{"task":"train","needs":{"vram_bytes":"9G"},"reserve":true}' "$BASE/v1/ask" > "$T/gcode.$i" &
    pids+=($!)
done
wait "${pids[@]}"
eq "four VRAM asks at once admit two" "$(cat "$T"/gcode.* | grep -c '^200$')" 2
http GET /v1/leases
check "both leases on GPU 1" jq -e '[.leases[].gpu] == [1, 1]' <<<"$BODY"
http POST /v1/ask -d '{"task":"train","needs":{"vram_bytes":"9G"}}'
check "a third sees the held VRAM" jq -e '.allowed == false and
    (.checks[] | select(.resource == "vram" and .index == 1) | .reserved > 74 and .reserved < 76)' <<<"$BODY"
for id in $(jq -r '.leases[].id' <<<"$(curl -s -m 5 "$BASE/v1/leases")"); do
    curl -s -m 5 -o /dev/null -X DELETE "$BASE/v1/leases/$id"
done

# Both GPUs busy: capfox's gpu_overload.
sed -i 's/util=10/util=97/' "$HEADROOM_FAKE_NVML_SCRIPT"
check "change seen at the next samples" wait_for \
    "[ \"\$(curl -s -X POST '$BASE/ask?reason=true' -d '{}' | jq -c .reasons)\" = '[\"gpu_overload\"]' ]" 10

# A GPU that falls off the bus is reported as lost and never chosen.
sed -i 's/util=97/util=5/' "$HEADROOM_FAKE_NVML_SCRIPT"
echo "lost 1" >> "$HEADROOM_FAKE_NVML_SCRIPT"
check "lost gpu reported" wait_for "curl -s '$BASE/status' | jq -e '.gpus[1].lost == true'" 10
http POST '/ask?reason=true' -d '{}'
eq "busy gpu 0 and lost gpu 1" "$BODY" '{"allowed":false,"reasons":["gpu_overload"]}'

# Prometheus text format 0.0.4, validated by promtool when it is available.
curl -s -D "$T/metrics.h" -o "$T/metrics" "$BASE/metrics"
check "metrics content type" grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/metrics.h"
check "gpu series" grep -q '^headroom_gpu_memory_total_bytes{gpu="0"} 85899345920$' "$T/metrics"
check "gpu info" grep -q '^headroom_gpu_info{gpu="0",name="Fake H100",uuid="GPU-aaaa",vendor="nvidia"} 1$' "$T/metrics"
check "cpu series" grep -q '^headroom_cpu_usage_ratio ' "$T/metrics"
check "ends with a newline" test "$(tail -c 1 "$T/metrics" | od -An -c | tr -d ' ')" = '\n'
dups=$(grep -v '^#' "$T/metrics" | sed 's/ [^ ]*$//' | sort | uniq -d)
eq "every series once" "$dups" ""
if [ -x "${PROMTOOL:-}" ]; then
    "$PROMTOOL" check metrics < "$T/metrics" > "$T/promtool.out" 2>&1
    rc=$?
    eq "promtool check metrics" "$rc" 0
    [ "$rc" -eq 0 ] || cat "$T/promtool.out" >&2
else
    echo "promtool not available: format check skipped (scripts/deps.sh test installs it)"
fi
finish
