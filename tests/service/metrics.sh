#!/bin/sh
# GET /metrics and GET /stats of `provost serve`, through curl against a real server on
# 127.0.0.1 (port 0, read from its "listening on" line), stopped by the trap whatever
# happens: after real calls (successes and a failure), /metrics parses with the Prometheus
# client library's parser with the contract's families (the duration histogram cumulative,
# its count the calls), /stats is one line of the dashboard's exact JSON shape with the
# failure in it; both need a token, and --public-metrics opens /metrics (only).
# usage: metrics.sh PROVOST SOURCE_DIR
set -u
P=$1
SRC=$2
. "$(dirname "$0")/lib.sh"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3 # the Debian one, with python3-prometheus-client
CHECKS="$SRC/tests/cli"

cat >"$T/ns.xml" <<'EOF'
<namespace name="T" providerSource="test">
  <procedure name="Echo" type="read" access="public"/>
  <procedure name="Fail" type="read" access="public"/>
</namespace>
EOF
"$P" register "$T/ns.xml" >/dev/null 2>&1; check "register" 0 $?
"$P" user add anon >/dev/null 2>&1; check "user add" 0 $?

# req NAME STATUS CURL-ARGS...: the status is STATUS; body in $T/body, headers in $T/head
req() {
    name=$1
    want=$2
    shift 2
    got=$(curl -s -o "$T/body" -D "$T/head" -w '%{http_code}' "$@")
    check "$name" "$want" "$got"
}

start anon --allow-anonymous anon
for i in 1 2 3; do
    req "call $i" 200 -X POST --data-binary "<data><i>$i</i></data>" "$U/call/T/Echo"
done
req "a failed call" 422 -X POST --data-binary '<data><description>no luck</description></data>' "$U/call/T/Fail"

req "GET /metrics" 200 "$U/metrics"
contains "the exposition format's type" "$T/head" "Content-Type: text/plain; version=0.0.4"
cp "$T/body" "$T/metrics.txt"
$PY "$CHECKS/prom_check.py" "$T/metrics.txt" settled engine >"$T/calls.txt"
check "/metrics parses, with every family of the contract" 0 $?
contains "/metrics: the calls" "$T/calls.txt" "T/Echo 3"
contains "/metrics: calls by outcome" "$T/metrics.txt" \
    'provost_procedure_calls_total{namespace="T",procedure="Fail",outcome="failed"} 1'
contains "/metrics: the histogram" "$T/metrics.txt" \
    'provost_procedure_duration_seconds_bucket{namespace="T",procedure="Echo",le="+Inf"} 3'
contains "/metrics: the failure by code" "$T/metrics.txt" 'provost_failures_total{code="0x80004005"} 1'
contains "/metrics: the writer is this server" "$T/metrics.txt" "provost_counters_writer_live 1"
contains "/metrics: no transaction stuck" "$T/metrics.txt" "provost_transactions_stuck 0"
contains "/metrics: the queue" "$T/metrics.txt" 'provost_queue_jobs{state="PENDING"} 0'

req "GET /stats" 200 "$U/stats"
contains "/stats is JSON" "$T/head" "Content-Type: application/json"
cp "$T/body" "$T/stats.json"
$PY "$CHECKS/json_stats.py" "$T/stats.json" dashboard
check "/stats: the dashboard's shape" 0 $?
contains "/stats: the writer runs" "$T/stats.json" '"writer":{"state":"running"'
contains "/stats: failures by code" "$T/stats.json" '"failures":[{"code":"0x80004005","count":1}]'
contains "/stats: the last failure" "$T/stats.json" '"principal":"anon","namespace":"T","procedure":"Fail","code":"0x80004005","message":"no luck"'
req "HEAD /metrics" 200 -I "$U/metrics"
req "POST /metrics" 405 -X POST "$U/metrics"
kill -TERM "$SP"; wait "$SP"; check "stopped" 0 $?

# tokens: both need one; --public-metrics opens /metrics, not /stats
start closed
req "/metrics needs a token" 401 "$U/metrics"
req "/stats needs a token" 401 "$U/stats"
kill -TERM "$SP"; wait "$SP"
# an older provost's counters file: answered from the engine alone until the first call
{ head -c 8 "$T/db/counters"; printf '\001\000\000\000'; tail -c +13 "$T/db/counters"; } >"$T/old" &&
    mv "$T/old" "$T/db/counters"
"$P" stats >/dev/null 2>&1; check "the file is an older format" 2 $?
start public --public-metrics
req "/metrics with --public-metrics" 200 "$U/metrics"
$PY "$CHECKS/prom_check.py" "$T/body" engine >/dev/null
check "public /metrics parses, with an older counters file" 0 $?
contains "the engine's part" "$T/body" "provost_transactions_stuck 0"
req "/stats still needs a token" 401 "$U/stats"
kill -TERM "$SP"; wait "$SP"; check "stopped" 0 $?

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
