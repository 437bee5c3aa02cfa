#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# What a prediction costs on the hot path: POST /ask for a task type with a learnt model (70
# supervised runs, so every resource's prediction is computed on each ask) against the same ask
# for a type never seen and an ask without a task, on one headroom, with wrk, in alternation.
#
# Environment:
#   HEADROOM   the binary (default: build-bench/headroom, else build/headroom)
#   DURATION   seconds per cell (default 5)
#   ROUNDS     rounds of the three cells; the report shows the median (default 3)
#   CONNS      wrk connections (default 8)
#
# Exit status: 0 when the measurement ran, 1 when it could not run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-8}
HEADROOM=${HEADROOM:-}
if [ -z "$HEADROOM" ]; then
    for b in "$root/build-bench/headroom" "$root/build/headroom"; do
        [ -x "$b" ] && HEADROOM=$b && break
    done
fi
[ -x "${HEADROOM:-}" ] || { echo "no headroom binary (set HEADROOM)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is needed (scripts/deps.sh bench)" >&2; exit 1; }

tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

"$HEADROOM" serve --state-dir "$tmp/state" --socket "$tmp/sock" --listen 127.0.0.1:0 >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/state/port" ] && break; sleep 0.1; done
base="http://127.0.0.1:$(cat "$tmp/state/port")"
for _ in $(seq 100); do curl -sf -m 1 "$base/ready" >/dev/null && break; sleep 0.1; done

# 70 runs of "learnt": memory 0.3 % per unit of complexity with noise, 1–5 CPU seconds in 10 s.
total=$(curl -s -m 5 "$base/status" | jq .memory.total_bytes)
for i in $(seq 1 70); do
    c=$((i % 8 + 1))
    id=$(curl -s -m 5 "$base/v1/tasks" -d "{\"task\":\"learnt\",\"complexity\":$c}" | jq -r .id)
    curl -s -m 5 -o /dev/null "$base/v1/tasks/$id/end" \
        -d "{\"duration_sec\":10,\"cpu_sec\":$((i % 5 + 1)),\"peak_rss_bytes\":$((total / 1000 * (c * 3 + i % 5)))}"
done
curl -s -m 5 "$base/v1/models/learnt" | jq -e '.sufficient' >/dev/null || { echo "model not learnt" >&2; exit 1; }

for name in learnt unseen none; do
    case $name in
        learnt) body='{"task":"learnt","complexity":5}' ;;
        unseen) body='{"task":"never-seen","complexity":5}' ;;
        none) body='{}' ;;
    esac
    cat > "$tmp/$name.lua" <<EOF
wrk.method = "POST"
wrk.path = "/ask"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
EOF
done

for r in $(seq "$ROUNDS"); do
    for name in learnt unseen none; do
        rps=$(wrk -t1 -c"$CONNS" -d"$DURATION" -s "$tmp/$name.lua" "$base" | awk '/Requests\/sec/ {print $2}')
        echo "$name $rps" >> "$tmp/results"
    done
done

echo "POST /ask, wrk -t1 -c$CONNS, ${DURATION}s × $ROUNDS rounds, median req/s:"
for name in learnt unseen none; do
    med=$(awk -v n="$name" '$1 == n {print $2}' "$tmp/results" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '  %-8s %10.0f req/s  (%.2f µs per answer)\n' "$name" "$med" "$(echo "1000000 / $med" | bc -l)"
done
