#!/usr/bin/env bash
# The headroom CLI against the real daemon: exit codes (0, 75, 69, 2, 1), the explanations it
# prints, notify/stats, status, capfox's --host/--port, and the local config command.
. "$(dirname "$0")/../harness/lib.sh"

write_config <<EOF
debug:
  enabled: true
  auth:
    token: "$DEBUG_TOKEN"
learning:
  observation_delay_sec: 1
EOF
start_daemon
hr() { "$HEADROOM" "$@"; }

# Allowed: exit 0 and capfox's line.
inject '{"cpu":20,"memory":40,"memory_pressure":0}'
out=$(hr ask encode --complexity 30)
eq "ask allowed exits 0" "$?" 0
check "allowed line" grep -q "^✓ Task 'encode' is ALLOWED" <<<"$out"
check "tightest resource shown" grep -q 'tightest: memory' <<<"$out"

# A declared need is used: 40 % used + 60 % of memory > 85 %.
total=$(curl -s "$BASE/status" | jq .memory.total_bytes)
need=$((total * 60 / 100))
out=$(hr ask encode --mem "$need")
eq "ask with --mem denied exits 75" "$?" 75
check "denied line" grep -q "^✗ Task 'encode' is DENIED" <<<"$out"
check "reason with numbers" grep -q 'memory_overload: 40.0% used' <<<"$out"
hr ask encode --mem 1G >/dev/null
eq "small --mem allowed" "$?" 0

# Denied by CPU, and --json prints the daemon's answer unchanged.
inject '{"cpu":95}'
hr ask encode --json > "$T/ask.json"
eq "denied exits 75" "$?" 75
check "json answer" jq -e '.allowed == false and .reasons == ["cpu_overload","insufficient_data"] and .binding == "cpu"' "$T/ask.json"
hr ask encode -q
eq "quiet denied still exits 75" "$?" 75
inject '{"cpu":20}'

# Usage errors: exit 2, nothing sent.
hr ask >/dev/null 2>&1
eq "missing task" "$?" 2
hr ask t --mem 12Q >/dev/null 2>&1
eq "bad size" "$?" 2
hr ask t --complexity -1 >/dev/null 2>&1
eq "negative complexity" "$?" 2
hr ask t --bogus >/dev/null 2>&1
eq "unknown option" "$?" 2
hr --host 127.0.0.1 --port 70000 status >/dev/null 2>&1
eq "bad port" "$?" 2
hr frobnicate >/dev/null 2>&1
eq "unknown command" "$?" 2

# capfox's --host/--port reach the daemon too.
env -u HEADROOM_SERVER "$HEADROOM" --host 127.0.0.1 --port "$PORT" ask t >/dev/null
eq "--host/--port" "$?" 0
hr --server "unix:$SOCK" ask t >/dev/null
eq "--server unix:" "$?" 0

# notify and stats
out=$(hr notify render --complexity 40)
eq "notify exits 0" "$?" 0
check "notify line" grep -q "^✓ Task 'render' notification received" <<<"$out"
check "stats after the window" wait_for "'$HEADROOM' stats render --json | jq -e '.observations == 1'" 5
out=$(hr stats)
check "stats header" grep -q '=== Task Statistics ===' <<<"$out"
check "stats total" grep -q 'Total observations: 1' <<<"$out"
hr stats nosuchtask >/dev/null 2>&1
eq "stats unknown task exits 1" "$?" 1
hr notify "bad
name" --complexity 1 >/dev/null 2>&1
eq "control character in task" "$?" 2

# ask --reserve holds a lease, notify --lease takes it.
out=$(hr ask train --mem 1G --reserve 30s)
eq "ask --reserve exits 0" "$?" 0
lease=$(grep -o 'l-[0-9a-f]\{16\}' <<<"$out" | head -1)
check "the lease is printed" test -n "$lease"
check "and held" sh -c "curl -s -m 5 '$BASE/v1/leases' | jq -e '.leases[0].needs.mem_bytes == 1073741824'"
out=$(hr notify train --lease "$lease")
eq "notify --lease exits 0" "$?" 0
check "notify says it took the lease" grep -q "lease $lease now holds only" <<<"$out"
hr notify train --lease "$lease" >/dev/null 2>&1
eq "a taken lease is an error" "$?" 1
hr ask train --reserve 0s >/dev/null 2>&1
eq "--reserve 0s is a usage error" "$?" 2
hr notify train --lease nonsense >/dev/null 2>&1
eq "a malformed --lease is a usage error" "$?" 2

# status
out=$(hr status)
eq "status exits 0" "$?" 0
check "status shows memory" grep -qi 'memory' <<<"$out"
check "status json" jq -e '.memory.total_bytes > 0' <(hr status --json)

# The local config command: valid, invalid with its position, masked secrets.
printf 'auth:\n  token: "super-secret-token"\nthresholds:\n  cpu:\n    max_percent: 70\n' > "$T/good.yaml"
out=$(hr config --validate "$T/good.yaml")
eq "config --validate good" "$?" 0
check "valid line" grep -q 'Configuration is valid' <<<"$out"
check "secret masked" grep -q 'token: "\*\*\*\*\*\*\*\*"' <<<"$out"
check "secret not printed" test -z "$(grep super-secret <<<"$out")"
printf 'thresholds:\n  cpu:\n    max_percent: abc\n' > "$T/bad.yaml"
hr config --validate "$T/bad.yaml" 2> "$T/err" >/dev/null
eq "config --validate bad exits 1" "$?" 1
check "error has file:line:column" grep -q 'bad.yaml:3:18' "$T/err"

# The daemon gone: exit 69, for ask and status alike.
stop_daemon
hr ask t >/dev/null 2>&1
eq "unreachable over TCP" "$?" 69
hr --server "unix:$T/nothing.sock" status >/dev/null 2>&1
eq "unreachable over a missing socket" "$?" 69
# Nobody there is told without loading the HTTP library (libcurl costs more than an answer).
n=$(LD_DEBUG=files "$HEADROOM" ask t 2>&1 | grep -c 'file=libcurl')
eq "a refused loopback port loads no libcurl" "$n" 0
n=$(LD_DEBUG=files "$HEADROOM" --server "unix:$T/nothing.sock" ask t 2>&1 | grep -c 'file=libcurl')
eq "a missing socket loads no libcurl" "$n" 0
finish
