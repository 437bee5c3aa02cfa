#!/usr/bin/env bash
# Container awareness end to end: the daemon reads a fixture root (--root) of a cgroup v2
# container with memory.max 2 GiB and cpu.max 1.5 CPUs on a 16 GiB host; capacity is the limit,
# asks are decided against it, and a systemd-style readiness notification is sent.
. "$(dirname "$0")/../harness/lib.sh"

: "${FIXTURES:?FIXTURES must point at tests/fixtures}"
root="$T/root"
mkdir -p "$root"
ln -s "$FIXTURES/proc/container-v2-5.10" "$root/proc"
ln -s "$FIXTURES/sys/container-v2-5.10" "$root/sys"
GiB=$((1024 * 1024 * 1024))

# Readiness under systemd (Type=notify): a datagram socket stands in for systemd's.
if [ -x /usr/bin/python3 ]; then
    /usr/bin/python3 - "$T/notify.sock" > "$T/notify.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
try:
    while True:
        msg = s.recv(4096).decode()
        print(msg.replace("\n", ";"), flush=True)
        if "READY=1" in msg:
            break
except socket.timeout:
    pass
PY
    notify_pid=$!
    wait_for "[ -S '$T/notify.sock' ]" 5
    export NOTIFY_SOCKET="$T/notify.sock"
fi

start_daemon --root "$root"
unset NOTIFY_SOCKET

http GET /status
check "memory capacity is the cgroup limit" jq -e '.memory.total_bytes == 2147483648' <<<"$BODY"
check "cgroup reported" jq -e '.cgroup.memory_mode == "v2" and .cgroup.memory_limit_bytes == 2147483648' <<<"$BODY"
check "cpu quota reported" jq -e '.cgroup.cpu_quota_cores == 1.5 and .cpu.capacity_cores == 1.5' <<<"$BODY"
used_pct=$(jq .memory.usage_percent <<<"$BODY")

# 1 GiB more would pass the 85 % threshold of the 2 GiB limit (though the host has 16 GiB).
http POST /v1/ask -d '{"task":"t","needs":{"mem_bytes":"1G"}}'
eq "1 GiB denied inside the limit" "$STATUS" 503
check "explained against the limit" jq -e '.checks[] | select(.resource == "memory") | .total_bytes == 2147483648 and .ok == false' <<<"$BODY"
http POST /v1/ask -d '{"task":"t","needs":{"mem_bytes":"100M"}}'
eq "100 MiB allowed" "$STATUS" 200
check "usage from the cgroup" awk -v p="$used_pct" 'BEGIN { exit !(p > 40 && p < 85) }'

if [ -n "${notify_pid:-}" ]; then
    wait "$notify_pid"
    check "READY=1 sent" grep -q 'READY=1' "$T/notify.out"
fi
finish
