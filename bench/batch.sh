#!/bin/sh
# Batch throughput: `provost batch` against the same requests run one `provost run`
# process at a time (what a shell loop does), for echo3 (3 read steps on the test
# provider) and write3 (3 write steps), at 1 and 2 jobs; and, with --memory, the maximum
# resident memory of batches of 10,000, 200,000 and 1,000,000 CSV rows.  See
# bench/README.md ("Batch").
#
# usage: bench/batch.sh [--memory] [BUILD_DIR] [N] [M]
#   BUILD_DIR  a build with tools/provost and tests/batch/batch_tool (default: build)
#   N          requests per batch run (default 5,000)
#   M          requests run by the one-process-per-request loop (default 100)
set -eu
MEMORY=
if [ "${1:-}" = "--memory" ]; then
    MEMORY=1
    shift
fi
BUILD=$(cd "${1:-build}" && pwd)
N=${2:-5000}
M=${3:-100}
P=$BUILD/tools/provost
BT=$BUILD/tests/batch/batch_tool
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$P" ] || { echo "no $P: build first (cmake --build $BUILD)" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/var/tmp}/provost-bench-batch.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"

now() { date +%s.%N; }
newdb() {
    rm -rf db
    "$P" --db db register "$SRC/tests/batch/batch.xml" >/dev/null
}

if [ -n "$MEMORY" ]; then
    [ -x "$BT" ] || { echo "no $BT: build the tests first" >&2; exit 2; }
    printf '%-10s %-8s %10s %12s %12s\n' "rows" "proc" "seconds" "requests/s" "max RSS MiB"
    for rows in 1000 10000 200000 1000000; do
        for proc in Echo3 Write3; do
            { echo n; seq 1 $rows; } >rows.csv
            newdb
            t0=$(now)
            "$BT" maxrss rss "$P" --db db batch -q --sync none --call Batch $proc --rows rows.csv --out r.jsonl \
                2>/dev/null || true
            t1=$(now)
            [ "$(wc -l <r.jsonl)" -eq $rows ] || { echo "$rows rows: $(wc -l <r.jsonl) results" >&2; exit 1; }
            awk -v n=$rows -v p=$proc -v a="$t0" -v b="$t1" -v k="$(cat rss)" \
                'BEGIN { printf "%-10d %-8s %10.2f %12.0f %12.1f\n", n, p, b - a, n / (b - a), k / 1024 }'
        done
    done
    exit 0
fi

# the same requests: N in one file for the batch, M of them as files for the loop
for proc in Echo3 Write3; do
    {
        echo "<requests>"
        i=1
        while [ $i -le $N ]; do
            echo "<request><data><n>$i</n></data><procedure><execute namespace=\"Batch\" procedure=\"$proc\"><before source=\"data\" destination=\"executeData\" mode=\"merge\"/></execute></procedure></request>"
            i=$((i + 1))
        done
        echo "</requests>"
    } >$proc.xml
    mkdir -p files-$proc
    i=1
    while [ $i -le $M ]; do
        echo "<request><data><n>$i</n></data><procedure><execute namespace=\"Batch\" procedure=\"$proc\"><before source=\"data\" destination=\"executeData\" mode=\"merge\"/></execute></procedure></request>" >files-$proc/$i.xml
        i=$((i + 1))
    done
done

printf '%-8s %-26s %-6s %9s %9s %11s %9s\n' "workload" "how" "sync" "requests" "seconds" "requests/s" "vs loop"
row() { # row WORKLOAD HOW SYNC REQUESTS SECONDS LOOP_RATE
    awk -v w="$1" -v h="$2" -v s="$3" -v n="$4" -v t="$5" -v l="$6" \
        'BEGIN { r = n / t; printf "%-8s %-26s %-6s %9d %9.2f %11.0f %8.1fx\n", w, h, s, n, t, r, (l > 0 ? r / l : 1) }'
}
for proc in Echo3 Write3; do
    w=$(echo $proc | tr 'EW' 'ew')
    for sync in group none; do
        newdb
        t0=$(now)
        for f in files-$proc/*.xml; do
            "$P" --db db --sync $sync run "$f" >/dev/null
        done
        t1=$(now)
        loop=$(awk -v n=$M -v a="$t0" -v b="$t1" 'BEGIN { print n / (b - a) }')
        row $w "provost run, one per req" $sync $M "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" 0
        for jobs in 1 2; do
            newdb
            t0=$(now)
            "$P" --db db batch -q --sync $sync --jobs $jobs $proc.xml --out r.jsonl 2>/dev/null
            t1=$(now)
            [ "$(wc -l <r.jsonl)" -eq $N ] || { echo "batch: $(wc -l <r.jsonl) results of $N" >&2; exit 1; }
            row $w "batch --jobs $jobs" $sync $N "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$loop"
        done
        if [ $sync = group ] && [ $proc = Write3 ]; then
            newdb
            t0=$(now)
            "$P" --db db batch -q --sync $sync --jobs 16 $proc.xml --out r.jsonl 2>/dev/null
            t1=$(now)
            row $w "batch --jobs 16" $sync $N "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$loop"
        fi
    done
done
