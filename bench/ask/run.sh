#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# POST /ask latency and throughput: headroom beside a private nginx that answers the same JSON
# from a static `return 200`, on the same machine, with the same clients and connection counts.
#
# Clients, each run for DURATION seconds per cell:
#   wrk       TCP keep-alive, one thread (wrk cannot speak to a Unix socket)
#   uds-load  bench/ask/uds-load.c, one epoll thread, over TCP and over the Unix socket
# Targets, one at a time (the others are stopped while one is measured):
#   headroom     headroom serve, default configuration, answering on one thread
#   nginx-1      worker_processes 1: the fair comparison, one thread answering like headroom
#   nginx-auto   worker_processes auto: one worker per core, shown for scale
#
# Environment:
#   HEADROOM   the binary (default: build-bench/src/cli/headroom, else build/src/cli/headroom)
#   DURATION   seconds per cell (default 10)
#   WARMUP     seconds of discarded load before each target's cells (default 2)
#   CONNS      connection counts (default "1 8")
#   GOAL       required headroom/nginx throughput ratio (default 0.8)
#   OUT        a directory to keep the raw outputs and results.tsv in (default: discarded)
#
# Exit status: 0 when the measurement ran (whatever the verdict), 1 when it could not run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-"1 8"}
GOAL=${GOAL:-0.8}
OUT=${OUT:-}
if [ -z "${HEADROOM:-}" ]; then
    HEADROOM=$root/build-bench/src/cli/headroom
    [ -x "$HEADROOM" ] || HEADROOM=$root/build/src/cli/headroom
fi

die() { echo "ask-bench: $*" >&2; exit 1; }

[ -x "$HEADROOM" ] || die "no headroom binary at $HEADROOM (meson setup build-bench -Dtests=disabled --buildtype=release && ninja -C build-bench)"
for tool in wrk nginx cc curl; do
    command -v "$tool" >/dev/null || die "$tool is missing (scripts/deps.sh bench)"
done
NGINX=$(command -v nginx)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/headroom-ask-bench.XXXXXX")
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

cc -O2 -o "$tmp/uds-load" "$here/uds-load.c" || die "cannot compile uds-load.c"
load=$tmp/uds-load

# CPU time (utime + stime, clock ticks) of a process and its direct children: nginx's master and
# workers, or headroom alone. Field 14 and 15 of /proc/PID/stat, counted after the ")" that ends
# the command name, which may itself hold spaces (proc(5)).
cpu_ticks() {
    local total=0 p t
    for p in "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); do
        t=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }') || continue
        total=$((total + ${t:-0}))
    done
    echo "$total"
}
clk_tck=$(getconf CLK_TCK)

wait_http() {    # URL [curl options...]: until it answers 200, or 10 s
    local url=$1; shift
    for _ in $(seq 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" 2>/dev/null)" = 200 ] && return 0
        sleep 0.1
    done
    return 1
}

# The target being measured: its pid, TCP port and Unix socket.
srv_pid=
srv_port=
srv_sock=

start_headroom() {
    local d=$tmp/headroom
    mkdir -p "$d"
    "$HEADROOM" serve --state-dir "$d" --socket "$d/sock" --listen 127.0.0.1:0 >"$d/log" 2>&1 &
    srv_pid=$!
    pids+=("$srv_pid")
    for _ in $(seq 100); do
        [ -s "$d/port" ] && break
        sleep 0.1
    done
    [ -s "$d/port" ] || { cat "$d/log" >&2; die "headroom did not write $d/port"; }
    srv_port=$(cat "$d/port")
    srv_sock=$d/sock
    wait_http "http://127.0.0.1:$srv_port/ready" || { cat "$d/log" >&2; die "headroom never became ready"; }
}

start_nginx() {    # WORKERS (1 or auto)
    local workers=$1 d=$tmp/nginx-$1 try
    mkdir -p "$d/logs" "$d/tmp"
    for try in 1 2 3; do
        srv_port=$("$load" -P)
        srv_sock=$d/sock
        rm -f "$srv_sock"
        cat >"$d/nginx.conf" <<EOF
worker_processes $workers;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    # nginx closes a keep-alive connection after 1000 requests by default; headroom does not.
    keepalive_requests 100000000;
    server {
        listen 127.0.0.1:$srv_port;
        listen unix:$srv_sock;
        location = /ask {
            default_type application/json;
            return 200 '{"allowed":true}\n';
        }
    }
}
EOF
        "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" &
        srv_pid=$!
        pids+=("$srv_pid")
        if wait_http "http://127.0.0.1:$srv_port/ask" -X POST -d '{}'; then
            return 0
        fi
        stop_server
    done
    cat "$d/logs/error.log" >&2 || true
    die "nginx ($workers workers) did not start"
}

stop_server() {
    [ -n "$srv_pid" ] || return 0
    kill -TERM "$srv_pid" 2>/dev/null || true
    wait "$srv_pid" 2>/dev/null || true
    local keep=() p
    for p in "${pids[@]}"; do
        [ "$p" = "$srv_pid" ] || keep+=("$p")
    done
    pids=("${keep[@]}")
    srv_pid=
}

# "12.34us" / "1.2ms" / "1.00s" -> microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000; else if (v ~ /s$/) m = 1000000; else m = 1
        printf "%.1f", n * m }'
}

results=$tmp/results.tsv
printf 'target\tclient\ttransport\tconns\trps\tp50_us\tp99_us\trequests\tnon2xx\terrors\tsrv_cpu_pct\tcpu_us_per_req\n' >"$results"

# Runs one cell and appends a row to results.tsv.
measure() {    # TARGET CLIENT TRANSPORT CONNS
    local target=$1 client=$2 transport=$3 conns=$4
    local raw=$tmp/raw-$target-$client-$transport-c$conns.txt
    local t0 t1 rps p50 p99 requests non2xx errors
    t0=$(cpu_ticks "$srv_pid")
    if [ "$client" = wrk ]; then
        wrk -t1 -c"$conns" -d"${DURATION}s" --latency -s "$here/post.lua" \
            "http://127.0.0.1:$srv_port/ask" >"$raw" 2>&1
        t1=$(cpu_ticks "$srv_pid")
        rps=$(awk '/^Requests\/sec:/ { printf "%.1f", $2 }' "$raw")
        p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$raw")")
        p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$raw")")
        requests=$(awk '/requests in/ { print $1 }' "$raw")
        non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$raw")
        errors=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$raw")
    else
        local where
        if [ "$transport" = unix ]; then where=(-u "$srv_sock"); else where=(-t "127.0.0.1:$srv_port"); fi
        "$load" "${where[@]}" -c "$conns" -d "$DURATION" -w 0 -k >"$raw" 2>&1
        t1=$(cpu_ticks "$srv_pid")
        kv() { tr ' ' '\n' <"$raw" | awk -F= -v k="$1" '$1 == k { print $2 }'; }
        rps=$(kv rps); p50=$(kv p50_us); p99=$(kv p99_us); requests=$(kv requests)
        non2xx=$(( $(kv status_503) + $(kv status_other) )); errors=$(kv errors)
    fi
    [ -n "$rps" ] || { cat "$raw" >&2; die "no result from $client against $target"; }
    local cpu_pct cpu_us
    cpu_pct=$(awk -v d=$((t1 - t0)) -v hz="$clk_tck" -v s="$DURATION" 'BEGIN { printf "%.0f", 100 * d / hz / s }')
    cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$clk_tck" -v n="$requests" 'BEGIN { printf "%.2f", n ? 1e6 * d / hz / n : 0 }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$client" "$transport" "$conns" \
        "$rps" "$p50" "$p99" "${requests:-0}" "${non2xx:-0}" "${errors:-0}" "$cpu_pct" "$cpu_us" >>"$results"
    printf '  %-10s %-8s %-4s c=%-3s %10s req/s  p50 %8s us  p99 %8s us  server CPU %3s%%\n' \
        "$target" "$client" "$transport" "$conns" "$rps" "$p50" "$p99" "$cpu_pct" >&2
}

run_target() {    # TARGET
    local target=$1 conns
    case $target in
        headroom) start_headroom ;;
        nginx-1) start_nginx 1 ;;
        nginx-auto) start_nginx auto ;;
    esac
    # Warm up caches, allocators and the daemon's first samples; not recorded.
    "$load" -t "127.0.0.1:$srv_port" -c 8 -d "$WARMUP" -w 0 -k >/dev/null 2>&1 || true
    for conns in $CONNS; do
        measure "$target" wrk tcp "$conns"
        measure "$target" uds-load tcp "$conns"
        measure "$target" uds-load unix "$conns"
    done
    if [ "$target" = nginx-auto ]; then
        nginx_auto_workers=$(ps -o pid= --ppid "$srv_pid" | wc -l)
    fi
    stop_server
}

nginx_auto_workers=?
cells=$(( $(wc -w <<<"$CONNS") * 3 * 3 ))
echo "ask-bench: $cells cells of ${DURATION}s; headroom $("$HEADROOM" version 2>/dev/null | head -n1 || true)" >&2
for target in headroom nginx-1 nginx-auto; do
    run_target "$target"
done

# The report: one row per client, transport and connection count.
echo
echo "POST /ask, ${DURATION} s per cell, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
     "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r)"
echo "nginx-1: worker_processes 1; nginx-auto: worker_processes auto ($nginx_auto_workers workers)."
echo "Latencies in microseconds; ratio = headroom req/s / nginx req/s."
echo
awk -F'\t' -v goal="$GOAL" '
    NR == 1 { next }
    {
        key = $2 "\t" $3 "\t" $4
        if (!(key in seen)) { seen[key] = 1; order[++n] = key }
        rps[$1, key] = $5; p50[$1, key] = $6; p99[$1, key] = $7
        cpuus[$1, key] = $12; cpupct[$1, key] = $11; non2xx[$1, key] = $9; req[$1, key] = $8
    }
    END {
        printf "| client | transport | conns | headroom req/s | p50 | p99 | nginx-1 req/s | p50 | p99 |"
        printf " nginx-auto req/s | p50 | p99 | ratio vs nginx-1 | ratio vs nginx-auto |\n"
        printf "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        min1 = minA = 1e9
        for (i = 1; i <= n; i++) {
            k = order[i]; split(k, f, "\t")
            r1 = rps["nginx-1", k] > 0 ? rps["headroom", k] / rps["nginx-1", k] : 0
            rA = rps["nginx-auto", k] > 0 ? rps["headroom", k] / rps["nginx-auto", k] : 0
            printf "| %s | %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f |\n",
                f[1], f[2], f[3], rps["headroom", k], p50["headroom", k], p99["headroom", k],
                rps["nginx-1", k], p50["nginx-1", k], p99["nginx-1", k],
                rps["nginx-auto", k], p50["nginx-auto", k], p99["nginx-auto", k], r1, rA
            if (f[1] == "wrk") {
                if (r1 < min1) { min1 = r1; min1k = k }
                if (rA < minA) { minA = rA; minAk = k }
            }
        }
        print ""
        print "Server CPU: microseconds of user+system time per answered request, and busy % of one core (all server processes)."
        print ""
        printf "| client | transport | conns | headroom us/req | busy %% | nginx-1 us/req | busy %% |"
        printf " nginx-auto us/req | busy %% | headroom 503 share |\n"
        printf "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        for (i = 1; i <= n; i++) {
            k = order[i]; split(k, f, "\t")
            printf "| %s | %s | %s | %.2f | %d | %.2f | %d | %.2f | %d | %.0f %% |\n", f[1], f[2], f[3],
                cpuus["headroom", k], cpupct["headroom", k], cpuus["nginx-1", k], cpupct["nginx-1", k],
                cpuus["nginx-auto", k], cpupct["nginx-auto", k],
                req["headroom", k] ? 100 * non2xx["headroom", k] / req["headroom", k] : 0
        }
        print ""
        gsub("\t", " ", min1k); gsub("\t", " ", minAk)
        printf "Goal: headroom >= %.2f x nginx throughput (wrk, TCP keep-alive).\n", goal
        printf "VERDICT vs nginx-1 (fair: one answering thread each): lowest ratio %.2f (%s conns) -> %s\n",
            min1, min1k, min1 >= goal ? "PASS" : "FAIL"
        printf "VERDICT vs nginx-auto (one worker per core):          lowest ratio %.2f (%s conns) -> %s\n",
            minA, minAk, minA >= goal ? "PASS" : "FAIL"
    }' "$results"
