#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Checks the admission simulator on small seeded traces:
#   - the same seed gives the same table, byte for byte;
#   - the oracle never causes an OOM-equivalent and finishes every task;
#   - on the bursty trace, static admission (capfox) causes more OOM-equivalents than
#     predictive+reservations;
#   - a trace written with --trace-out replays to the same numbers with --trace-in;
#   - malformed CSV input is refused with the line number of the fault.
#
# Usage: test-admission-sim.sh PATH-TO-headroom-admission-sim
set -eu

sim=${1:?usage: $0 headroom-admission-sim}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

args="--seed 7 --tasks 300 --format tsv"

# shellcheck disable=SC2086
"$sim" $args >"$tmp/a.tsv"
# shellcheck disable=SC2086
"$sim" $args >"$tmp/b.tsv"
cmp -s "$tmp/a.tsv" "$tmp/b.tsv" || fail "two runs with the same seed differ"

# Every trace × policy is there: 3 traces × 4 policies and the header.
rows=$(wc -l <"$tmp/a.tsv")
[ "$rows" -eq 13 ] || fail "expected 13 lines of TSV, got $rows"

# A column by its header name, for the row of a trace and policy.
col() {
    awk -F '\t' -v t="$2" -v p="$3" -v c="$4" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
        $1 == t && $2 == p { print $k; found = 1 }
        END { if (!found || !k) exit 1 }' "$1"
}

for trace in steady bursty heavy; do
    oom=$(col "$tmp/a.tsv" "$trace" oracle oom_kills) || fail "no oracle row for $trace"
    [ "${oom:-x}" = 0 ] || fail "oracle caused $oom OOM-equivalents on $trace"
    done_n=$(col "$tmp/a.tsv" "$trace" oracle tasks_done) || fail "no oracle row for $trace"
    [ "${done_n:-x}" = 300 ] || fail "oracle finished $done_n of 300 tasks on $trace"
done

static_oom=$(col "$tmp/a.tsv" bursty static oom_kills) || fail "no static row for bursty"
reserve_oom=$(col "$tmp/a.tsv" bursty predictive+reservations oom_kills) || fail "no reservations row for bursty"
[ "${static_oom:-0}" -gt "${reserve_oom:-0}" ] ||
    fail "bursty: static OOM-equivalents ($static_oom) not above predictive+reservations ($reserve_oom)"
[ "${static_oom:-0}" -gt 0 ] || fail "bursty: static caused no OOM-equivalent; the trace puts no pressure on admission"

# Replay: the written trace gives the same numbers (the trace column names the file instead).
"$sim" --seed 7 --tasks 300 --trace bursty --trace-out "$tmp/bursty.csv" --format tsv >"$tmp/gen.tsv"
"$sim" --trace-in "$tmp/bursty.csv" --format tsv >"$tmp/replay.tsv"
cut -f 2- "$tmp/gen.tsv" >"$tmp/gen.cut"
cut -f 2- "$tmp/replay.tsv" >"$tmp/replay.cut"
cmp -s "$tmp/gen.cut" "$tmp/replay.cut" || fail "replaying the written trace gives other numbers"
head -n 1 "$tmp/bursty.csv" | grep -qx 'arrival_s,type,complexity,true_peak_mem_pct,true_cpu_pct,duration_s' ||
    fail "the written trace has an unexpected header"
lines=$(wc -l <"$tmp/bursty.csv")
[ "$lines" -eq 301 ] || fail "the written trace has $lines lines, expected 301"

# Columns are found by name: the same trace with its columns reordered replays the same.
awk -F, -v OFS=, '{ print $6, $5, $4, $3, $2, $1 }' "$tmp/bursty.csv" >"$tmp/reordered.csv"
"$sim" --trace-in "$tmp/reordered.csv" --format tsv | cut -f 2- >"$tmp/reordered.cut"
cmp -s "$tmp/gen.cut" "$tmp/reordered.cut" || fail "a trace with reordered columns replays differently"

# Malformed input: refused, exit status 1, the line named.
expect_error() {
    name=$1 pattern=$2
    if "$sim" --trace-in "$tmp/$name" --format tsv >"$tmp/out" 2>"$tmp/err"; then
        fail "$name: accepted"
        return
    fi
    grep -q -- "$pattern" "$tmp/err" || fail "$name: expected '$pattern' in: $(cat "$tmp/err")"
    [ ! -s "$tmp/out" ] || fail "$name: printed a table anyway"
}

printf 'arrival_s,type,complexity,true_peak_mem_pct,true_cpu_pct,duration_s\n0,a,1,5,5,60\n3,a,x,5,5,60\n' \
    >"$tmp/bad-number.csv"
expect_error bad-number.csv 'bad-number.csv:3: complexity'

printf 'arrival_s,type,complexity,true_peak_mem_pct,true_cpu_pct\n0,a,1,5,5\n' >"$tmp/missing-column.csv"
expect_error missing-column.csv ":1: missing column 'duration_s'"

printf '# comment\narrival_s,type,complexity,true_peak_mem_pct,true_cpu_pct,duration_s\n0,a,1,5,5,60,7\n' \
    >"$tmp/extra-field.csv"
expect_error extra-field.csv 'extra-field.csv:3: expected 6 fields'

printf 'arrival_s,type,complexity,true_peak_mem_pct,true_cpu_pct,duration_s\n0,a,1,80,5,60\n' >"$tmp/too-big.csv"
expect_error too-big.csv 'too-big.csv:2: true_peak_mem_pct'

printf 'arrival_s,type,complexity,true_peak_mem_pct,true_cpu_pct,duration_s,duration_s\n' >"$tmp/duplicate.csv"
expect_error duplicate.csv ":1: duplicate column 'duration_s'"

printf 'arrival_s,type,complexity,true_peak_mem_pct,true_cpu_pct,duration_s\n' >"$tmp/empty.csv"
expect_error empty.csv 'no tasks'

{
    printf 'arrival_s,type,complexity,true_peak_mem_pct,true_cpu_pct,duration_s\n'
    printf '0,%s,1,5,5,60\n' "$(awk 'BEGIN { while (n++ < 1100) printf "x" }')"
} >"$tmp/long-line.csv"
expect_error long-line.csv 'long-line.csv:2: line longer than'

if [ "$fails" -gt 0 ]; then
    echo "$fails check(s) failed" >&2
    exit 1
fi
echo "all admission simulator checks passed"
