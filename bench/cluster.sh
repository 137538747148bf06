#!/bin/sh
# The cluster's performance (docs/cluster.md) on one private PostgreSQL server started
# here (Unix socket in a temporary directory, fsync on, as the postgres account when run
# as root; pg_stat_statements preloaded), stopped and removed at the end however the
# script ends.  Four parts, one table each (bench/README.md, "The cluster"):
#   1  jobs/s of 1, 2 and 4 workers (16 threads in all) on echo3 and write3, against a
#      local `provost batch --jobs 16` of the same jobs in the same run
#   2  statements (pg_stat_statements) and commits (pg_stat_database) per job, 16 threads
#   3  latency-bound scaling: jobs that sleep 5 ms, against the threads' ideal rate
#   4  bloat: SCALE jobs through 2 workers; dead and live rows and size of provost.jobs,
#      and the throughput of the first and last tenth of the jobs
# Every job is a row of `--call NS PROC --rows FILE.csv`; engines sync with
# PROVOST_SYNC=group (the default, set here so that write3's journal is what a
# production worker does).  Not part of CI.
#
# usage: PARTS="1 2 3 4" bench/cluster.sh BUILD_DIR [SCALE]
#   BUILD_DIR  a build with tools/provost (use a Release or RelWithDebInfo one)
#   SCALE      jobs of part 4 (default 1,000,000)
#   N1=50000   jobs per run of parts 1 and 2;  N3=32000  jobs of part 3 (4 workers)
# shellcheck disable=SC2046,SC2086 # query results are split into words on purpose
set -eu
BUILD=$(cd "${1:?usage: bench/cluster.sh BUILD_DIR [SCALE]}" && pwd)
SCALE=${2:-1000000}
PARTS=${PARTS:-1 2 3 4}
N1=${N1:-50000}
N3=${N3:-32000}
P=$BUILD/tools/provost
SRC=$(cd "$(dirname "$0")/.." && pwd)
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[ -x "$P" ] || { echo "no $P: build first (cmake --build $BUILD --target provost)" >&2; exit 2; }
export PROVOST_SYNC=group
T=$(mktemp -d "${TMPDIR:-/var/tmp}/provost-bench-cluster.XXXXXX")
chmod 755 "$T"
PGDIR=$T/pg
mkdir "$PGDIR"
PIDS=""
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$PGDIR"
cleanup() {
    for p in $PIDS; do kill -KILL "$p" 2>/dev/null || true; done
    [ -f "$PGDIR/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U provost >"$T/initdb.log" 2>&1 ||
    { cat "$T/initdb.log" >&2; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -o "-c listen_addresses='' \
    -c unix_socket_directories=$PGDIR -c max_connections=60 \
    -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.max=1000 \
    -c pg_stat_statements.track_planning=on" start >/dev/null ||
    { cat "$PGDIR/log" >&2; exit 1; }
C="host=$PGDIR user=provost dbname=postgres"
# this script's own statements carry /*cbench*/, so the counts leave them out
q() { psql -X -q -h "$PGDIR" -U provost -d postgres -v ON_ERROR_STOP=1 -At -F ' ' -c "/*cbench*/ $1"; }
MINE="query NOT LIKE '%cbench%' AND query NOT LIKE '%pg_stat%'"
q "CREATE EXTENSION pg_stat_statements" >/dev/null
cd "$T"

# Lat/Sleep5: one call of the test provider's Sleep, for data/ms milliseconds
cat >lat.xml <<'XML'
<namespace name="Lat" providerSource="test" version="1">
  <procedure name="Sleep" type="read"/>
  <procedure name="Sleep5" type="read" access="public">
    <execute namespace="Lat" procedure="Sleep"><before source="data" sourcePath="ms" destination="executeData"/></execute>
  </procedure>
</namespace>
XML
rows() { { echo n; seq 1 "$1"; } >"rows-$1.csv"; }       # N: rows-N.csv, <n> 1..N
sleeprows() { { echo ms; yes 5 | head -n "$1"; } >"sleep-$1.csv"; }

# a cluster made again, so that every run starts from empty tables
fresh() {
    q "DROP SCHEMA IF EXISTS provost CASCADE" >/dev/null 2>&1
    "$P" --cluster "$C" cluster init >/dev/null
    "$P" --cluster "$C" register "$SRC/bench/workloads.xml" >/dev/null
    "$P" --cluster "$C" register lat.xml >/dev/null
    rm -rf w1 w2 w3 w4
}

# run WORKERS THREADS NS PROC ROWS: enqueues the rows, starts the workers, waits for them
# to drain.  Sets ID, JOBS, SPAN (jobs/s from results.finished), WALL (jobs/s from the
# enqueued batch to the last worker's exit), STMTS and COMMITS (per job, the workers' own:
# pg_stat_statements calls and pg_stat_database commits from the enqueued batch to the
# workers' exit, the statements of this script left out).
run() {
    fresh
    ID=$("$P" batch --cluster "$C" --detach --call "$3" "$4" --rows "$5")
    c0=$(q "SELECT pg_stat_statements_reset(); SELECT xact_commit FROM pg_stat_database WHERE datname = 'postgres'" | tail -1)
    t0=$(date +%s.%N)
    PIDS=""
    i=1
    while [ $i -le "$1" ]; do
        "$P" --db "w$i" worker --cluster "$C" --threads "$2" --drain --quiet 2>"w$i.err" &
        PIDS="$PIDS $!"
        i=$((i + 1))
    done
    for p in $PIDS; do wait "$p" || { echo "a worker failed:" >&2; cat w*.err >&2; exit 1; }; done
    PIDS=""
    t1=$(date +%s.%N)
    sleep 1 # the backends' statistics, flushed as they ended
    c1=$(q "SELECT xact_commit FROM pg_stat_database WHERE datname = 'postgres'")
    set -- $(q "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE $MINE")
    calls=$1
    set -- $(q "WITH r AS (SELECT finished, status FROM provost.results WHERE batch = $ID),
        m AS (SELECT min(finished) a, max(finished) b FROM r)
        SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM r WHERE status = 'succeeded'),
        (SELECT count(*) FROM r, m WHERE r.finished > m.a) / greatest(extract(epoch FROM m.b - m.a), 1e-6)
        FROM m")
    JOBS=$1
    [ "$2" = "$JOBS" ] || { echo "batch $ID: $2 of $JOBS jobs succeeded" >&2; exit 1; }
    SPAN=$3
    WALL=$(awk -v n="$JOBS" -v a="$t0" -v b="$t1" 'BEGIN { print n / (b - a) }')
    STMTS=$(awk -v c="$calls" -v n="$JOBS" 'BEGIN { print c / n }')
    # this script's own transaction in between: the snapshot that read c0
    COMMITS=$(awk -v c="$((c1 - c0 - 1))" -v n="$JOBS" 'BEGIN { print c / n }')
}

# local NS PROC ROWS: the same jobs through `provost batch --jobs 16` on a fresh engine;
# LOCAL is its own rate ("this run", from its start to its last request)
local_() {
    rm -rf db
    "$P" --db db register "$SRC/bench/workloads.xml" >/dev/null
    "$P" --db db batch --jobs 16 --call "$1" "$2" --rows "$3" --out local.jsonl 2>local.err >/dev/null ||
        { cat local.err >&2; exit 1; }
    LOCAL=$(sed -n 's/.*this run: .*(\([0-9.]*\) requests\/s).*/\1/p' local.err)
}

part1() {
    rows "$N1"
    echo "1. jobs/s, 16 threads in all: cluster (from results.finished) against a local batch --jobs 16 (goal: echo3 >= 0.5)"
    printf '%-8s %8s %8s %8s %12s %14s %10s %8s\n' workload workers threads jobs "cluster/s" "from enqueue/s" "local/s" ratio
    for proc in Echo3 Write3; do
        local_ Bench $proc "rows-$N1.csv"
        for w in 1 2 4; do
            run $w $((16 / w)) Bench $proc "rows-$N1.csv"
            awk -v p=$proc -v w=$w -v n="$JOBS" -v s="$SPAN" -v e="$WALL" -v l="$LOCAL" \
                'BEGIN { printf "%-8s %8d %8d %8d %12.0f %14.0f %10.0f %8.2f\n", tolower(p), w, 16 / w, n, s, e, l, s / l }'
        done
    done
}

part2() {
    rows "$N1"
    echo "2. PostgreSQL statements and commits per job, 16 threads in all (goal: <= 0.2)"
    printf '%-8s %8s %8s %8s %12s %12s\n' workload workers threads jobs "stmts/job" "commits/job"
    for proc in Write3 Echo3; do # echo3 on 1 worker last: its statements are shown
        for w in 4 1; do
            run $w $((16 / w)) Bench $proc "rows-$N1.csv"
            awk -v p=$proc -v w=$w -v n="$JOBS" -v s="$STMTS" -v c="$COMMITS" \
                'BEGIN { printf "%-8s %8d %8d %8d %12.3f %12.3f\n", tolower(p), w, 16 / w, n, s, c }'
        done
    done
    echo "   echo3, 1 worker: calls per job, mean planning and execution time, statement"
    q "SELECT round(sum(calls)::numeric / $JOBS, 3), round((sum(total_plan_time) / sum(calls))::numeric, 3) || ' ms',
       round((sum(total_exec_time) / sum(calls))::numeric, 3) || ' ms',
       CASE WHEN query LIKE '%SET worker = \$1%' THEN 'claim' WHEN query LIKE 'WITH me AS%INSERT INTO provost.results%'
       THEN 'complete' ELSE left(regexp_replace(query, '\s+', ' ', 'g'), 60) END FROM pg_stat_statements
       WHERE $MINE GROUP BY query ORDER BY 1 DESC LIMIT 6" | sed 's/^/   /'
}

part3() {
    echo "3. latency-bound: jobs sleeping 5 ms (goal: rate / ideal >= 0.8)"
    printf '%8s %8s %8s %12s %10s %8s\n' workers threads jobs "cluster/s" "ideal/s" ratio
    for wt in "4 16 $N3" "1 16 $((N3 / 4))"; do
        set -- $wt
        sleeprows "$3"
        run "$1" "$2" Lat Sleep5 "sleep-$3.csv"
        awk -v w="$1" -v t="$2" -v n="$JOBS" -v s="$SPAN" \
            'BEGIN { i = w * t / 0.005; printf "%8d %8d %8d %12.0f %10.0f %8.2f\n", w, t, n, s, i, s / i }'
    done
}

part4() {
    rows "$SCALE"
    run 2 8 Bench Echo3 "rows-$SCALE.csv"
    q "SELECT pg_stat_force_next_flush()" >/dev/null
    sleep 2
    echo "4. bloat: $JOBS echo3 jobs through 2 workers x 8 threads (goal: last tenth >= 0.9 of the first)"
    printf '%12s %12s %12s %14s %12s %12s %8s\n' "dead tuples" "live tuples" "jobs MiB" "results MiB" "first 10%/s" "last 10%/s" ratio
    set -- $(q "SELECT n_dead_tup, n_live_tup, pg_total_relation_size('provost.jobs'),
        pg_total_relation_size('provost.results') FROM pg_stat_user_tables WHERE relid = 'provost.jobs'::regclass")
    dead=$1 live=$2 js=$3 rs=$4
    set -- $(q "WITH r AS (SELECT finished, row_number() OVER (ORDER BY finished) k FROM provost.results
        WHERE batch = $ID), t AS (SELECT $JOBS / 10 AS n),
        f AS (SELECT max(finished) - min(finished) d FROM r, t WHERE k <= n),
        l AS (SELECT max(finished) - min(finished) d FROM r, t WHERE k > $JOBS - n)
        SELECT n / greatest(extract(epoch FROM f.d), 1e-6), n / greatest(extract(epoch FROM l.d), 1e-6) FROM t, f, l")
    awk -v d="$dead" -v l="$live" -v j="$js" -v r="$rs" -v a="$1" -v b="$2" \
        'BEGIN { printf "%12d %12d %12.1f %14.1f %12.0f %12.0f %8.2f\n", d, l, j / 1048576, r / 1048576, a, b, b / a }'
    q "SELECT 'autovacuum of provost.jobs: ' || autovacuum_count || ' runs, autoanalyze: ' || autoanalyze_count
       FROM pg_stat_user_tables WHERE relid = 'provost.jobs'::regclass" | sed 's/^/   /'
}

for part in $PARTS; do
    "part$part"
    echo "   (load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
    echo
done
