#!/bin/sh
# The HTTP service against the engine in process: `wrk` posts /call/Bench/Echo3 to
# `provost serve` over keep-alive connections on loopback (2 and 16 connections), and
# `provost bench` calls the same procedure in process from as many threads, in the same
# run on the same database.  Prints requests/s and p99 of both and the ratio (goal: the
# service at least 0.6 of in process).  See bench/README.md ("The HTTP service").
#
# usage: bench/serve.sh [BUILD_DIR] [SECONDS]
#   BUILD_DIR  a build with tools/provost, Release for figures worth keeping (default: build)
#   SECONDS    measured time of each run (default 10)
set -eu
BUILD=$(cd "${1:-build}" && pwd)
D=${2:-10}
P=$BUILD/tools/provost
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$P" ] || { echo "no $P: build first (cmake --build $BUILD)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "no wrk: apt-get install wrk" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/var/tmp}/provost-bench-serve.XXXXXX")
spid=
cleanup() {
    [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$T"
"$P" --db db register "$SRC/bench/workloads.xml" >/dev/null
"$P" --db db user add bench >/dev/null

# in process: the same procedure, the same sync mode, N threads
inproc() { # inproc THREADS -> "RATE P99_US"
    "$P" --db db bench Bench Echo3 -t "$1" -d "$D" --warmup 1 --sync none --json - 2>/dev/null |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["throughput_rps"], d["latency_us"]["p99"])'
}
r2=$(inproc 2)
r16=$(inproc 16)

# the service: one process, the engine's threads are MHD's
: >serve.err
"$P" --db db --sync none serve --listen 127.0.0.1:0 --allow-anonymous bench 2>serve.err &
spid=$!
url=
i=0
while [ $i -lt 100 ]; do
    url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' serve.err | head -1)
    [ -n "$url" ] && break
    kill -0 "$spid" 2>/dev/null || { cat serve.err >&2; exit 1; }
    sleep 0.1
    i=$((i + 1))
done
[ -n "$url" ] || { echo "the service did not start" >&2; cat serve.err >&2; exit 1; }
curl -sf -X POST --data '<data/>' "$url/call/Bench/Echo3" >/dev/null || { echo "a call failed" >&2; exit 1; }

viahttp() { # viahttp CONNECTIONS -> "RATE P99_US ERRORS REQUESTS"
    wrk -t 2 -c "$1" -d 1 -s "$SRC/bench/serve.lua" "$url" >/dev/null
    wrk -t 2 -c "$1" -d "$D" -s "$SRC/bench/serve.lua" "$url" | sed -n 's/^WRK //p'
}
w2=$(viahttp 2)
w16=$(viahttp 16)

printf '%-12s %14s %10s %14s %10s %7s\n' connections "http req/s" "http p99" "in-proc req/s" "p99" ratio
for c in 2 16; do
    if [ $c = 2 ]; then w=$w2; r=$r2; else w=$w16; r=$r16; fi
    echo "$c $w $r" | awk '{
        if ($5 != 0) { printf "%d of %d requests failed\n", $5, $6 > "/dev/stderr"; bad = 1 }
        printf "%-12d %14.0f %8.2fms %14.0f %8.2fms %7.2f\n", $1, $2, $4 / 1000, $7, $8 / 1000, $2 / $7
    } END { exit bad }'
done
