#!/bin/sh
# A real Prometheus server scrapes `provost serve`'s /metrics: after N calls of a procedure,
# Prometheus's query API returns N for that procedure's call count.  Prometheus and the
# service run on loopback ports in a temporary directory and are stopped on exit.
#
# usage: prometheus.sh PROVOST SOURCE_DIR
set -u
P=$1
SRC=$2
. "$SRC/tests/cli/lib.sh"
command -v prometheus >/dev/null || { echo "no prometheus (apt-get install prometheus): skipped"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/provost-prom.XXXXXX")
spid=
ppid_=
cleanup() {
    [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
    [ -n "$ppid_" ] && kill "$ppid_" 2>/dev/null && wait "$ppid_" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$T"

freeport() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

"$P" --db db register "$SRC/tests/batch/batch.xml" >/dev/null && "$P" --db db user add scraper >/dev/null
check "register" 0 $?
: >serve.err
"$P" --db db serve --listen 127.0.0.1:0 --allow-anonymous scraper --public-metrics 2>serve.err &
spid=$!
url=
i=0
while [ $i -lt 300 ] && [ -z "$url" ]; do
    url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' serve.err | head -1)
    kill -0 "$spid" 2>/dev/null || break
    [ -n "$url" ] || sleep 0.1
    i=$((i + 1))
done
[ -n "$url" ] || { echo "FAIL: the service did not start"; cat serve.err; exit 1; }
target=${url#http://}

pport=$(freeport)
cat >prometheus.yml <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: provost
    static_configs:
      - targets: ['$target']
YML
prometheus --config.file=prometheus.yml --storage.tsdb.path="$T/data" \
    --web.listen-address="127.0.0.1:$pport" >prom.log 2>&1 &
ppid_=$!

N=7
n=1
while [ $n -le $N ]; do
    curl -sf -X POST --data "<data><n>$n</n></data>" "$url/call/Batch/Echo3" >/dev/null
    check "call $n" 0 $?
    n=$((n + 1))
done

# Prometheus scrapes every second; wait for a sample holding all N calls (at most 2
# minutes, so a broken scrape fails the test instead of hanging it)
q='sum(provost_procedure_calls_total{namespace="Batch",procedure="Echo3"})'
got=
i=0
while [ $i -lt 240 ]; do
    got=$(curl -sf --get --data-urlencode "query=$q" "http://127.0.0.1:$pport/api/v1/query" |
          python3 -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null)
    [ "$got" = "$N" ] && break
    kill -0 "$ppid_" 2>/dev/null || { echo "prometheus exited:"; cat prom.log; break; }
    sleep 0.5
    i=$((i + 1))
done
if [ "$got" = "$N" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: Prometheus says '$got' calls, expected $N"; fi

# the target is healthy as Prometheus sees it
up=$(curl -sf --get --data-urlencode 'query=up{job="provost"}' "http://127.0.0.1:$pport/api/v1/query" |
     python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")')
if [ "$up" = "1" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: up is '$up'"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
