#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# POST /ask latency and throughput: headroom beside a private nginx that answers the same JSON
# from a static `return 200`, on the same machine, with the same clients and connection counts.
#
# Clients, each run for DURATION seconds per cell:
#   wrk       TCP keep-alive, one thread (wrk cannot speak to a Unix socket)
#   uds-load  bench/ask/uds-load.c, one epoll thread, over TCP and over the Unix socket
# Targets, all started at once and measured in turn, cell by cell, so that a slow minute on a
# shared host hits all of them alike (an idle nginx costs nothing; an idle headroom samples once
# a second, see bench/idle):
#   headroom     headroom serve, default configuration, answering on one thread
#   nginx-1      worker_processes 1: the fair comparison, one thread answering like headroom
#   nginx-auto   worker_processes auto: one worker per core, shown for scale
#
# Environment:
#   HEADROOM   the binary (default: build-bench/headroom, else build/headroom)
#   DURATION   seconds per cell (default 10)
#   ROUNDS     repetitions of the whole matrix; the report shows the median (default 3)
#   WARMUP     seconds of discarded load against each target first (default 2)
#   CONNS      connection counts (default "1 8")
#   PIN        1: client on CPU 0, headroom and nginx-1 on the other CPUs (default 0)
#   GOAL       required headroom/nginx throughput ratio (default 0.8)
#   NGINX      the nginx binary (default: nginx on PATH, else /usr/sbin/nginx)
#   OUT        a directory to keep the raw outputs, meta.txt and results.tsv in (default: discarded)
#   REPORT     a directory an earlier run kept with OUT: print its report again, measure nothing
#
# Exit status: 0 when the measurement ran (whatever the verdict), 1 when it could not run.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-"1 8"}
PIN=${PIN:-0}
GOAL=${GOAL:-0.8}
OUT=${OUT:-}
if [ -z "${HEADROOM:-}" ]; then
    # The first that exists; the binary sits at the top of the build directory (older trees
    # built it under src/cli/).
    for HEADROOM in "$root"/build-bench/headroom "$root"/build-bench/src/cli/headroom \
                    "$root"/build/headroom "$root"/build/src/cli/headroom; do
        [ -x "$HEADROOM" ] && break
    done
fi

die() { echo "ask-bench: $*" >&2; exit 1; }

# nginx lives in /usr/sbin, which is not on every user's PATH.
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
if [ -z "${REPORT:-}" ]; then
    [ -x "$HEADROOM" ] || die "no headroom binary at $HEADROOM (meson setup build-bench -Dtests=disabled --buildtype=release && ninja -C build-bench)"
    [ -x "$NGINX" ] || die "nginx is missing (scripts/deps.sh bench)"
    for tool in wrk cc curl ps; do
        command -v "$tool" >/dev/null || die "$tool is missing (scripts/deps.sh bench)"
    done
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/headroom-ask-bench.XXXXXX")
pids=()

cleanup() {
    local pid
    for pid in ${client_pid:-} "${pids[@]}"; do
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

load=$tmp/uds-load
if [ -z "${REPORT:-}" ]; then
    cc -O2 -o "$load" "$here/uds-load.c" || die "cannot compile uds-load.c"
fi

# CPU time (utime + stime, clock ticks) of a process and its direct children: nginx's master and
# workers, or headroom alone. Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends
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
    local url=$1
    shift
    for _ in $(seq 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$@" "$url" 2>/dev/null)" = 200 ] && return 0
        sleep 0.1
    done
    return 1
}

# PIN=1: the client on CPU 0, headroom and nginx-1 on the other CPUs, nginx-auto unpinned (it is
# meant to spread over every core). Placement then no longer changes from run to run; without it
# the scheduler decides, and one-connection cells swing with whether client and server happen to
# share a core.
cli_pin=()
srv_pin=()
ncpu=$(nproc)
if [ "$PIN" = 1 ]; then
    [ "$ncpu" -ge 2 ] || die "PIN=1 needs at least 2 CPUs"
    command -v taskset >/dev/null || die "taskset is missing (util-linux)"
    cli_pin=(taskset -c 0)
    srv_pin=(taskset -c "1-$((ncpu - 1))")
fi

declare -A tpid tport tsock

start_headroom() {
    local d=$tmp/headroom
    mkdir -p "$d"
    "${srv_pin[@]}" "$HEADROOM" serve --state-dir "$d" --socket "$d/sock" --listen 127.0.0.1:0 >"$d/log" 2>&1 &
    tpid[headroom]=$!
    pids+=("$!")
    for _ in $(seq 100); do
        [ -s "$d/port" ] && break
        sleep 0.1
    done
    [ -s "$d/port" ] || { cat "$d/log" >&2; die "headroom did not write $d/port"; }
    tport[headroom]=$(cat "$d/port")
    tsock[headroom]=$d/sock
    wait_http "http://127.0.0.1:${tport[headroom]}/ready" || { cat "$d/log" >&2; die "headroom never became ready"; }
}

write_nginx_conf() {    # DIR WORKERS PORT
    local d=$1 workers=$2 port=$3
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
        listen 127.0.0.1:$port;
        listen unix:$d/sock;
        location = /ask {
            default_type application/json;
            return 200 '{"allowed":true}\n';
        }
    }
}
EOF
}

start_nginx() {    # NAME WORKERS PIN (yes: as headroom under PIN=1, no: never)
    local name=$1 workers=$2 d=$tmp/$1 port pid
    local pin=()
    [ "$3" = yes ] && pin=("${srv_pin[@]}")
    mkdir -p "$d/logs" "$d/tmp"
    for _ in 1 2 3; do
        port=$("$load" -P)
        rm -f "$d/sock"
        write_nginx_conf "$d" "$workers" "$port"
        "${pin[@]}" "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" &
        pid=$!
        pids+=("$pid")
        if wait_http "http://127.0.0.1:$port/ask" -X POST -d '{}'; then
            tpid[$name]=$pid
            tport[$name]=$port
            tsock[$name]=$d/sock
            return 0
        fi
        # Most likely the free port was taken in between: try another one.
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    cat "$d/logs/error.log" >&2 || true
    die "nginx ($workers workers) did not start"
}

# Runs a load client in the background and waits for it, so that a signal reaches the cleanup
# trap at once instead of after the client's whole duration; the trap stops the client too.
client_pid=
run_client() {    # OUTPUT COMMAND...
    local out=$1
    shift
    "$@" >"$out" 2>&1 &
    client_pid=$!
    wait "$client_pid" || true
    client_pid=
}

# "12.34us" / "1.2ms" / "1.00s" -> microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000; else if (v ~ /s$/) m = 1000000; else m = 1
        printf "%.1f", n * m }'
}

results=$tmp/results.tsv
printf 'round\ttarget\tclient\ttransport\tconns\trps\tp50_us\tp99_us\trequests\tnon2xx\terrors\tsrv_cpu_pct\tcpu_us_per_req\n' >"$results"

# Runs one cell and appends a row to results.tsv.
measure() {    # ROUND TARGET CLIENT TRANSPORT CONNS
    local round=$1 target=$2 client=$3 transport=$4 conns=$5
    local raw=$tmp/raw-r$round-$target-$client-$transport-c$conns.txt
    local pid=${tpid[$target]} port=${tport[$target]}
    local t0 t1 rps p50 p99 requests non2xx errors
    t0=$(cpu_ticks "$pid")
    if [ "$client" = wrk ]; then
        run_client "$raw" "${cli_pin[@]}" wrk -t1 -c"$conns" -d"${DURATION}s" --latency -s "$here/post.lua" \
            "http://127.0.0.1:$port/ask"
        t1=$(cpu_ticks "$pid")
        rps=$(awk '/^Requests\/sec:/ { printf "%.1f", $2 }' "$raw")
        p50=$(to_us "$(awk '$1 == "50%" { print $2 }' "$raw")")
        p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$raw")")
        requests=$(awk '/requests in/ { print $1 }' "$raw")
        non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$raw")
        errors=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$raw")
    else
        local where
        if [ "$transport" = unix ]; then where=(-u "${tsock[$target]}"); else where=(-t "127.0.0.1:$port"); fi
        run_client "$raw" "${cli_pin[@]}" "$load" "${where[@]}" -c "$conns" -d "$DURATION" -w 0 -k
        t1=$(cpu_ticks "$pid")
        kv() { tr ' ' '\n' <"$raw" | awk -F= -v k="$1" '$1 == k { print $2 }'; }
        rps=$(kv rps)
        p50=$(kv p50_us)
        p99=$(kv p99_us)
        requests=$(kv requests)
        non2xx=$(( $(kv status_503) + $(kv status_other) ))
        errors=$(kv errors)
    fi
    [ -n "$rps" ] || { cat "$raw" >&2; die "no result from $client against $target"; }
    local cpu_pct cpu_us
    cpu_pct=$(awk -v d=$((t1 - t0)) -v hz="$clk_tck" -v s="$DURATION" 'BEGIN { printf "%.0f", 100 * d / hz / s }')
    cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$clk_tck" -v n="${requests:-0}" \
        'BEGIN { printf "%.2f", n ? 1e6 * d / hz / n : 0 }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$target" "$client" "$transport" \
        "$conns" "$rps" "$p50" "$p99" "${requests:-0}" "${non2xx:-0}" "${errors:-0}" "$cpu_pct" "$cpu_us" \
        >>"$results"
    printf '  r%s %-10s %-8s %-4s c=%-3s %10s req/s  p50 %8s us  p99 %8s us  server CPU %3s%%\n' \
        "$round" "$target" "$client" "$transport" "$conns" "$rps" "$p50" "$p99" "$cpu_pct" >&2
}

if [ -n "${REPORT:-}" ]; then
    if [ ! -s "$REPORT/results.tsv" ] || [ ! -s "$REPORT/meta.txt" ]; then
        die "no results.tsv and meta.txt in $REPORT"
    fi
    cp "$REPORT/results.tsv" "$REPORT/meta.txt" "$tmp"/
    OUT=
else
    targets=(headroom nginx-1 nginx-auto)
    start_headroom
    start_nginx nginx-1 1 yes
    start_nginx nginx-auto auto no
    nginx_auto_workers=$(ps -o pid= --ppid "${tpid[nginx-auto]}" | wc -l)

    cells=$(( $(wc -w <<<"$CONNS") * 3 * ${#targets[@]} ))
    echo "ask-bench: $ROUNDS round(s) of $cells cells of ${DURATION} s; $("$HEADROOM" version 2>/dev/null | head -n1 || true)" >&2
    # Warm up caches, allocators and the daemon's first samples; not recorded.
    for target in "${targets[@]}"; do
        run_client /dev/null "${cli_pin[@]}" "$load" -t "127.0.0.1:${tport[$target]}" -c 8 -d "$WARMUP" -w 0 -k
    done
    for round in $(seq "$ROUNDS"); do
        for conns in $CONNS; do
            for cell in "wrk tcp" "uds-load tcp" "uds-load unix"; do
                for target in "${targets[@]}"; do
                    # shellcheck disable=SC2086 # $cell is two words on purpose
                    measure "$round" "$target" $cell "$conns"
                done
            done
        done
    done

    {
        echo "POST /ask, median of $ROUNDS round(s) of ${DURATION} s per cell, $(date -u '+%Y-%m-%d %H:%M UTC'), ${ncpu} CPUs," \
             "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), kernel $(uname -r), PIN=$PIN"
        echo "headroom: $HEADROOM ($("$HEADROOM" version 2>/dev/null | head -n1 || true)," \
             "source tree $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown))"
        echo "nginx-1: worker_processes 1; nginx-auto: worker_processes auto ($nginx_auto_workers workers)."
    } >"$tmp/meta.txt"
fi

# The report: the median over rounds of each figure, one row per client, transport and connection
# count. mawk has no sort, so the medians come from sort(1) first.
medians=$tmp/medians.tsv
tail -n +2 "$results" | sort -t$'\t' -k5,5n -k3,3r -k4,4 -k2,2 |
awk -F'\t' '
    function median(list,    a, n, i, j, t) {
        n = split(list, a, " ")
        for (i = 2; i <= n; i++)    # insertion sort: a handful of rounds
            for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    {
        key = $2 "\t" $3 "\t" $4 "\t" $5
        if (!(key in seen)) { seen[key] = 1; order[++n] = key }
        for (c = 6; c <= 13; c++) v[key, c] = v[key, c] " " $c
    }
    END {
        for (i = 1; i <= n; i++) {
            k = order[i]
            line = k
            for (c = 6; c <= 13; c++) line = line "\t" median(v[k, c])
            print line
        }
    }' >"$medians"

echo
cat "$tmp/meta.txt"
echo "Latencies in microseconds; ratio = headroom req/s / nginx req/s."
echo
awk -F'\t' -v goal="$GOAL" '
    {
        # target client transport conns rps p50 p99 requests non2xx errors cpu_pct cpu_us
        key = $2 "\t" $3 "\t" $4
        if (!(key in seen)) { seen[key] = 1; order[++n] = key }
        rps[$1, key] = $5; p50[$1, key] = $6; p99[$1, key] = $7
        req[$1, key] = $8; non2xx[$1, key] = $9; err[$1, key] = $10
        cpupct[$1, key] = $11; cpuus[$1, key] = $12
    }
    END {
        printf "| client | transport | conns | headroom req/s | p50 | p99 | nginx-1 req/s | p50 | p99 |"
        printf " nginx-auto req/s | p50 | p99 | ratio vs nginx-1 | ratio vs nginx-auto |\n"
        printf "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        min1 = 1e9; minA = 1e9
        for (i = 1; i <= n; i++) {
            k = order[i]
            split(k, f, "\t")
            r1 = rps["nginx-1", k] > 0 ? rps["headroom", k] / rps["nginx-1", k] : 0
            rA = rps["nginx-auto", k] > 0 ? rps["headroom", k] / rps["nginx-auto", k] : 0
            printf "| %s | %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f |\n",
                f[1], f[2], f[3], rps["headroom", k], p50["headroom", k], p99["headroom", k],
                rps["nginx-1", k], p50["nginx-1", k], p99["nginx-1", k],
                rps["nginx-auto", k], p50["nginx-auto", k], p99["nginx-auto", k], r1, rA
            if (f[1] == "wrk") {
                if (r1 < min1) { min1 = r1; min1k = f[3] }
                if (rA < minA) { minA = rA; minAk = f[3] }
            }
        }
        print ""
        print "Server CPU: microseconds of user+system time per answer, and busy % of one core"
        print "(all server processes: nginx master and workers). 503 share: headroom answers that were 503."
        print ""
        printf "| client | transport | conns | headroom us/req | busy %% | nginx-1 us/req | busy %% |"
        printf " nginx-auto us/req | busy %% | headroom 503 share | errors (h/n1/nA) |\n"
        printf "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n"
        for (i = 1; i <= n; i++) {
            k = order[i]
            split(k, f, "\t")
            printf "| %s | %s | %s | %.2f | %d | %.2f | %d | %.2f | %d | %.0f %% | %d/%d/%d |\n", f[1], f[2], f[3],
                cpuus["headroom", k], cpupct["headroom", k], cpuus["nginx-1", k], cpupct["nginx-1", k],
                cpuus["nginx-auto", k], cpupct["nginx-auto", k],
                req["headroom", k] ? 100 * non2xx["headroom", k] / req["headroom", k] : 0,
                err["headroom", k], err["nginx-1", k], err["nginx-auto", k]
        }
        print ""
        printf "Goal: headroom >= %.2f x nginx throughput (wrk, TCP keep-alive).\n", goal
        v1 = (min1 >= goal) ? "PASS" : "FAIL"
        vA = (minA >= goal) ? "PASS" : "FAIL"
        printf "VERDICT vs nginx-1 (the fair one, one answering thread each): lowest ratio %.2f (at %s conns): %s\n",
            min1, min1k, v1
        printf "VERDICT vs nginx-auto (one worker per core, for scale):       lowest ratio %.2f (at %s conns): %s\n",
            minA, minAk, vA
    }' "$medians"
