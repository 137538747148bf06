#!/bin/sh
# The HTTP service against the engine in process: `wrk` posts /call/Bench/Echo3 to
# `provost serve` over keep-alive connections on loopback (2 and 16 connections), and
# `provost bench` calls the same procedure in process from as many threads, in the same
# run on the same database.  Prints requests/s and p99 of both and the ratio (goal: the
# service at least 0.6 of in process), and the CPU time each spends per request: wrk runs
# on the same cores, so the rate ratio also pays for the client, the CPU ratio does not;
# and the rate of GET /healthz, the HTTP path without the engine, as the ceiling.
# See bench/README.md ("The HTTP service").
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
inproc() { # inproc THREADS -> "RATE P99_US CPU_US_PER_REQUEST"
    "$P" --db db bench Bench Echo3 -t "$1" -d 1 --warmup 0 --sync none >/dev/null 2>&1
    python3 - "$P" "$1" "$D" <<'PY'
import json, resource, subprocess, sys
p, threads, secs = sys.argv[1:]
out = subprocess.run([p, "--db", "db", "bench", "Bench", "Echo3", "-t", threads, "-d", secs, "--warmup", "0",
                      "--sync", "none", "--json", "-"], capture_output=True, text=True, check=True).stdout
d = json.loads(out)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(d["throughput_rps"], d["latency_us"]["p99"], (r.ru_utime + r.ru_stime) * 1e6 / d["requests"])
PY
}
r2=$(inproc 2)
r16=$(inproc 16)

# the service: one process, the engine's threads are MHD's
: >serve.err
# as many requests may wait for an engine thread as wrk has connections
"$P" --db db --sync none serve --listen 127.0.0.1:0 --allow-anonymous bench --max-inflight 64 2>serve.err &
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

cpu_ticks() { # the service's user + system time so far, in clock ticks
    awk '{ print $14 + $15 }' "/proc/$spid/stat"
}
viahttp() { # viahttp CONNECTIONS -> "RATE P99_US ERRORS REQUESTS CPU_US_PER_REQUEST"
    wrk -t 2 -c "$1" -d 1 -s "$SRC/bench/serve.lua" "$url" >/dev/null
    t0=$(cpu_ticks)
    w=$(wrk -t 2 -c "$1" -d "$D" -s "$SRC/bench/serve.lua" "$url" | sed -n 's/^WRK //p')
    t1=$(cpu_ticks)
    echo "$w" | awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" '{ print $0, t / hz * 1e6 / $5 }'
}
w2=$(viahttp 2)
w16=$(viahttp 16)
# the HTTP path alone, no engine: GET /healthz over as many connections (the ceiling)
h2=$(wrk -t 2 -c 2 -d "$D" "$url/healthz" | awk '/^Requests\/sec/ { print $2 }')
h16=$(wrk -t 2 -c 16 -d "$D" "$url/healthz" | awk '/^Requests\/sec/ { print $2 }')

printf '%-6s %11s %9s %9s   %11s %9s %9s   %6s %6s   %11s\n' conns "http req/s" "http p99" "CPU/req" \
    "inproc r/s" "p99" "CPU/req" ratio "CPU" "healthz r/s"
for c in 2 16; do
    if [ $c = 2 ]; then w=$w2; r=$r2; h=$h2; else w=$w16; r=$r16; h=$h16; fi
    # fields: c | rate p50 p99 errors requests cpu | rate p99 cpu | healthz rate
    echo "$c $w $r $h" | awk '{
        if ($5 != 0) { printf "%d of %d requests failed\n", $5, $6 > "/dev/stderr"; bad = 1 }
        printf "%-6d %11.0f %7.2fms %7.1fus   %11.0f %7.2fms %7.1fus   %6.2f %6.2f   %11.0f\n",
            $1, $2, $4 / 1000, $7, $8, $9 / 1000, $10, $2 / $8, $10 / $7, $11
    } END { exit bad }'
done
