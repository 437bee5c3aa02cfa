#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# What an idle headroom costs: CPU and memory of `headroom serve` with the default configuration
# (one sample a second), nobody asking.
#
# It starts the daemon on a private state directory, socket and free port, waits until /ready
# answers 200, then reads utime + stime from /proc/PID/stat (fields 14 and 15, clock ticks, see
# proc(5)) at t0 and at t0 + DURATION, and the memory figures from /proc/PID/status at the end.
# Where perf works, `perf stat` counts task-clock over the same window with nanosecond resolution,
# since a clock tick (10 ms) is 8 % of the CPU goal's whole budget over 60 s.
#
# Environment:
#   HEADROOM   the binary (default: build-bench/headroom, else build/headroom)
#   DURATION   seconds measured (default 60)
#   PERF       auto (default: use perf stat when it works), 0 (never), 1 (required)
#   CPU_GOAL   percent of one core (default 0.2)
#   RSS_GOAL   MiB of resident memory (default 8)
#   OUT        a directory to keep the daemon's log and the raw figures in (default: discarded)
#
# Exit status: 0 when the measurement ran (whatever the verdict), 1 when it could not run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

DURATION=${DURATION:-60}
PERF=${PERF:-auto}
CPU_GOAL=${CPU_GOAL:-0.2}
RSS_GOAL=${RSS_GOAL:-8}
OUT=${OUT:-}
if [ -z "${HEADROOM:-}" ]; then
    # The first that exists; the binary sits at the top of the build directory (older trees
    # built it under src/cli/).
    for HEADROOM in "$root"/build-bench/headroom "$root"/build-bench/src/cli/headroom \
                    "$root"/build/headroom "$root"/build/src/cli/headroom; do
        [ -x "$HEADROOM" ] && break
    done
fi

die() { echo "idle-bench: $*" >&2; exit 1; }

[ -x "$HEADROOM" ] || die "no headroom binary at $HEADROOM (meson setup build-bench -Dtests=disabled --buildtype=release && ninja -C build-bench)"
command -v curl >/dev/null || die "curl is missing (scripts/deps.sh bench)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/headroom-idle-bench.XXXXXX")
pids=()

cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$OUT" ]; then
        mkdir -p "$OUT"
        cp -r "$tmp"/. "$OUT"/ 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The daemon's own config: none, so the built-in defaults apply (monitoring.interval_ms 1000).
env -u HEADROOM_CONFIG "$HEADROOM" serve --state-dir "$tmp/state" --socket "$tmp/sock" \
    --listen 127.0.0.1:0 >"$tmp/log" 2>&1 &
pid=$!
pids+=("$pid")

for _ in $(seq 100); do
    [ -s "$tmp/state/port" ] && break
    sleep 0.1
done
[ -s "$tmp/state/port" ] || { cat "$tmp/log" >&2; die "headroom did not write its port file"; }
port=$(cat "$tmp/state/port")
ready=
for _ in $(seq 100); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ready")" = 200 ]; then
        ready=1
        break
    fi
    sleep 0.1
done
[ -n "$ready" ] || { cat "$tmp/log" >&2; die "headroom never became ready"; }

# CPU time of the whole process (all threads), in clock ticks; the command name ends at the last
# ")" and may hold spaces.
ticks() { sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }'; }
status_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/status"; }
io_field() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/io" 2>/dev/null || echo 0; }
ctxt() { echo $(( $(status_kib voluntary_ctxt_switches) + $(status_kib nonvoluntary_ctxt_switches) )); }

use_perf=0
if [ "$PERF" != 0 ] && command -v perf >/dev/null &&
   perf stat -e task-clock -o /dev/null true >/dev/null 2>&1; then
    use_perf=1
fi
[ "$PERF" = 1 ] && [ "$use_perf" = 0 ] && die "PERF=1 but perf stat does not work here"

echo "idle-bench: headroom pid $pid ready; measuring ${DURATION} s" >&2
t0=$(ticks)
rss0=$(status_kib VmRSS)
c0=$(ctxt)
w0=$(io_field write_bytes)
r0=$(io_field read_bytes)
if [ "$use_perf" = 1 ]; then
    perf stat -x, -e task-clock,context-switches,page-faults -p "$pid" -o "$tmp/perf.csv" \
        -- sleep "$DURATION" >/dev/null 2>&1 || use_perf=0
else
    sleep "$DURATION"
fi
t1=$(ticks)
c1=$(ctxt)
w1=$(io_field write_bytes)
r1=$(io_field read_bytes)
kill -0 "$pid" 2>/dev/null || die "headroom exited during the measurement"

hz=$(getconf CLK_TCK)
rss=$(status_kib VmRSS)
hwm=$(status_kib VmHWM)
anon=$(status_kib RssAnon)
file=$(status_kib RssFile)
threads=$(status_kib Threads)
# Proportional set size: shared library pages count once per process sharing them, which is what
# the daemon adds to a machine that already runs other programs (see proc(5), smaps_rollup).
rollup_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0; }
pss=$(rollup_kib Pss)
priv=$(( $(rollup_kib Private_Clean) + $(rollup_kib Private_Dirty) ))
# Resident memory per mapping (file name, or [heap], [stack], [anon]), largest first.
awk '
    $1 ~ /^[0-9a-f]+-[0-9a-f]+$/ { name = NF >= 6 ? $6 : "[anon]"; next }
    $1 == "Rss:" { rss[name] += $2 }
    END { for (n in rss) if (rss[n] > 0) printf "%d\t%s\n", rss[n], n }
' "/proc/$pid/smaps" | sort -rn >"$tmp/mappings.tsv"
nlibs=$(awk -F'\t' '$2 ~ /\.so/' "$tmp/mappings.tsv" | wc -l)
db_bytes=$(du -sb "$tmp/state" | awk '{ print $1 }')

cpu_pct=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$DURATION" 'BEGIN { printf "%.3f", 100 * d / hz / s }')
perf_pct=
if [ "$use_perf" = 1 ]; then
    # task-clock is in milliseconds in perf's CSV output.
    perf_pct=$(awk -F, -v s="$DURATION" '$3 == "task-clock" || $3 ~ /^task-clock/ { printf "%.3f", 100 * $1 / 1000 / s }' \
        "$tmp/perf.csv")
fi

mib() { awk -v k="$1" 'BEGIN { printf "%.2f", k / 1024 }'; }

echo
echo "headroom serve idle, default configuration, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
     "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r)"
echo
echo "| measure | value |"
echo "|---|---:|"
echo "| window | ${DURATION} s after /ready |"
echo "| CPU, utime+stime (${hz} Hz ticks) | $((t1 - t0)) ticks = ${cpu_pct} % of one core |"
if [ -n "$perf_pct" ]; then
    echo "| CPU, perf stat task-clock | ${perf_pct} % of one core |"
fi
echo "| wakeups (context switches) | $((c1 - c0)) = $(awk -v n=$((c1 - c0)) -v s="$DURATION" 'BEGIN { printf "%.1f", n / s }')/s |"
echo "| VmRSS at t0 | $(mib "$rss0") MiB |"
echo "| VmRSS at the end | $(mib "$rss") MiB (anon $(mib "$anon"), file $(mib "$file")) |"
echo "| VmHWM (peak RSS) | $(mib "$hwm") MiB |"
echo "| Pss (proportional) / private | $(mib "$pss") MiB / $(mib "$priv") MiB |"
echo "| shared libraries mapped | $nlibs |"
echo "| threads | $threads |"
echo "| disk written (/proc/PID/io write_bytes) | $((w1 - w0)) bytes = $(( (w1 - w0) / DURATION )) B/s |"
echo "| disk read (read_bytes) | $((r1 - r0)) bytes |"
echo "| state directory at the end | $db_bytes bytes |"
echo

echo "Largest resident mappings at the end (KiB):"
echo
head -n 12 "$tmp/mappings.tsv" | awk -F'\t' '{ printf "    %6d  %s\n", $1, $2 }'
echo

# The verdict uses the more precise CPU figure when there is one.
cpu_v=${perf_pct:-$cpu_pct}
awk -v c="$cpu_v" -v g="$CPU_GOAL" 'BEGIN {
    printf "VERDICT CPU: %.3f %% of one core, goal <= %s %%: %s\n", c, g, (c <= g) ? "PASS" : "FAIL" }'
awk -v r="$rss" -v h="$hwm" -v g="$RSS_GOAL" 'BEGIN {
    printf "VERDICT RSS: %.2f MiB (peak %.2f MiB), goal <= %s MiB: %s\n", r / 1024, h / 1024, g,
        (r / 1024 <= g && h / 1024 <= g) ? "PASS" : "FAIL" }'
