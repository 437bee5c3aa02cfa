#!/usr/bin/env bash
# The daemon's life: refusing bad configs with file:line:column, SIGHUP reload (a bad file keeps
# the running config), graceful SIGTERM, stale and live sockets, and observations that survive
# kill -9.
. "$(dirname "$0")/../harness/lib.sh"

# An invalid config is refused with its position, never replaced by defaults (capfox's fault).
write_config <<EOF
server:
  port: 9329
thresholds:
  cpu:
    max_percent: 150
EOF
"$HEADROOM" serve --config "$T/config.yaml" --state-dir "$STATE" --socket none --listen 127.0.0.1:0 >"$T/bad.log" 2>&1
eq "invalid config exits 78" "$?" 78
check "position in the message" grep -q "config.yaml:5:" "$T/bad.log"
check "names the key" grep -q "max_percent" "$T/bad.log"
"$HEADROOM" serve --config "$T/missing.yaml" --state-dir "$STATE" --socket none --listen 127.0.0.1:0 >"$T/missing.log" 2>&1
eq "missing config exits 78" "$?" 78
"$HEADROOM" serve --bogus >/dev/null 2>&1
eq "unknown option exits 2" "$?" 2
"$HEADROOM" serve --listen nonsense >/dev/null 2>&1
eq "bad --listen exits 2" "$?" 2

# SIGHUP: a valid change applies at once (capfox case 20).
write_config <<EOF
debug:
  enabled: true
  auth:
    token: "$DEBUG_TOKEN"
thresholds:
  cpu:
    max_percent: 80
learning:
  observation_delay_sec: 1
EOF
start_daemon
inject '{"cpu":85,"memory":10,"memory_pressure":0}'
http POST /ask -d '{"task":"t"}'
eq "cpu 85 over 80" "$STATUS" 503
sed -i 's/max_percent: 80/max_percent: 90/' "$T/config.yaml"
kill -HUP "$DAEMON_PID"
check "reload applies" wait_for "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' $BASE/ask)\" = 200 ]" 5

# A broken file on SIGHUP keeps the running config (thresholds and auth stay as they were).
printf 'thresholds:\n  cpu:\n    max_percent: [oops\n' > "$T/config.yaml"
kill -HUP "$DAEMON_PID"
check "reload refusal logged with position" wait_for "grep -q 'reload refused.*config.yaml:[0-9]*:[0-9]*: YAML syntax error' '$T/daemon.log'" 5
http POST /ask -d '{"task":"t"}'
eq "still the old config after a bad reload" "$STATUS" 200
check "daemon alive" kill -0 "$DAEMON_PID"
check "reload failure counted" grep -q '^headroom_config_reload_failures_total 1$' <(curl -s "$BASE/metrics")

# A second daemon on the same socket is refused; the first one keeps it.
"$HEADROOM" serve --state-dir "$T/state2" --socket "$SOCK" --listen 127.0.0.1:0 >"$T/second.log" 2>&1
eq "second daemon on a live socket exits 69" "$?" 69
check "first daemon still answers on the socket" curl -sf --unix-socket "$SOCK" http://localhost/health

# Acknowledged notifications survive kill -9: three observations complete, then the daemon dies.
for i in 1 2 3; do
    curl -sf -o /dev/null -X POST -d "{\"task\":\"encode\",\"complexity\":$((i * 10))}" "$BASE/task/notify"
done
check "observations stored" wait_for "[ \"\$(curl -s '$BASE/stats?task=encode' | jq .count)\" = 3 ]" 6
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
check "socket file left behind" test -S "$SOCK"

# Restart on the stale socket: replaced, and the three observations are still there.
printf 'learning:\n  observation_delay_sec: 1\n' > "$T/config.yaml"
start_daemon
http GET '/stats?task=encode'
eq "observations after kill -9" "$(jq .count <<<"$BODY")" 3

# A pending observation is stored, not dropped, on a graceful stop.
curl -sf -o /dev/null -X POST -d '{"task":"short","complexity":1}' "$BASE/task/notify"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
eq "SIGTERM exits 0" "$?" 0
DAEMON_PID=
check "socket removed on stop" test ! -e "$SOCK"
start_daemon
http GET '/stats?task=short'
eq "pending observation kept across a stop" "$(jq .count <<<"$BODY")" 1
finish
