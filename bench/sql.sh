#!/bin/sh
# PostgreSQL throughput of the sql provider: `provost batch` of N requests, each one
# Execute (twoPhase: BEGIN, the INSERT, PREPARE TRANSACTION, COMMIT PREPARED, and the
# journal), at 1, 4 and 16 jobs, against pgbench -- a libpq loop -- running the same
# INSERT, its parameter bound (-M extended), one autocommitted transaction each, with as
# many clients.  Both against one private server started here (Unix socket in a
# temporary directory, fsync on, as the postgres account when run as root).  See
# bench/README.md ("sql").
#
# usage: bench/sql.sh [BUILD_DIR] [N]
#   BUILD_DIR  a build with tools/provost and providers/sql (default: build; use a Release one)
#   N          requests per run (default 10,000)
set -eu
BUILD=$(cd "${1:-build}" && pwd)
N=${2:-10000}
P=$BUILD/tools/provost
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
[ -x "$P" ] || { echo "no $P: build first (cmake --build $BUILD)" >&2; exit 2; }
export PROVOST_PROVIDER_PATH=$BUILD/lib/provost
T=$(mktemp -d "${TMPDIR:-/var/tmp}/provost-bench-sql.XXXXXX")
chmod 755 "$T"
PGDIR=$T/pg
mkdir "$PGDIR"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$PGDIR"
trap 'as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1; rm -rf "$T"' EXIT
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U provost >"$T/initdb.log" 2>&1 ||
    { cat "$T/initdb.log" >&2; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -o "-c listen_addresses='' \
    -c unix_socket_directories=$PGDIR -c max_prepared_transactions=40 -c max_connections=60" start >/dev/null ||
    { cat "$PGDIR/log" >&2; exit 1; }
psql_() { psql -X -q -h "$PGDIR" -U provost -d postgres -v ON_ERROR_STOP=1 -At "$@"; }
cd "$T"
cat >ns.xml <<XML
<namespace name="Bench" providerSource="sql">
  <providerContext driver="postgresql" conninfo="host=$PGDIR user=provost dbname=postgres" poolSize="16"/>
  <procedure name="Execute" type="twoPhase" access="public"/>
</namespace>
XML
{
    echo '<requests>'
    i=1
    while [ $i -le "$N" ]; do
        printf '<request><procedure><execute namespace="Bench" procedure="Execute"><executeData><statement>INSERT INTO items(v) VALUES (:v)</statement><param name="v">%d</param></executeData></execute></procedure></request>\n' $i
        i=$((i + 1))
    done
    echo '</requests>'
} >requests.xml
printf '\\set v random(1, 1000000)\nINSERT INTO items(v) VALUES (:v);\n' >insert.sql
# the same two-phase commit driven directly: what PostgreSQL itself allows (a statement a
# round trip, -M simple, since PREPARE TRANSACTION takes its name as a literal)
cat >twophase.sql <<'SQL'
\set v random(1, 1000000)
\set g random(1, 2000000000)
BEGIN;
INSERT INTO items(v) VALUES (:v);
PREPARE TRANSACTION 'b:client_id.:g';
COMMIT PREPARED 'b:client_id.:g';
SQL
fresh() { psql_ -c "DROP TABLE IF EXISTS items; CREATE TABLE items(id bigserial PRIMARY KEY, v text); CHECKPOINT"; }
now() { date +%s.%N; }

printf '%-6s %14s %14s %8s %14s %8s\n' jobs "provost/s" "libpq/s" ratio "libpq 2pc/s" "ratio"
for jobs in 1 4 16; do
    fresh
    rm -rf db
    "$P" --db db register ns.xml >/dev/null
    t0=$(now)
    "$P" --db db batch -j "$jobs" -q -o results.jsonl requests.xml >batch.log 2>&1 || { cat batch.log >&2; exit 1; }
    t1=$(now)
    [ "$(psql_ -c 'SELECT count(*) FROM items')" = "$N" ] || { echo "provost: not $N rows" >&2; exit 1; }
    [ "$(psql_ -c 'SELECT count(*) FROM pg_prepared_xacts')" = 0 ] || { echo "provost: prepared left" >&2; exit 1; }
    fresh
    per=$((N / jobs))
    t2=$(now)
    pgbench -n -M extended -h "$PGDIR" -U provost -c "$jobs" -j "$jobs" -t "$per" -f insert.sql postgres \
        >pgbench.log 2>&1 || { cat pgbench.log >&2; exit 1; }
    t3=$(now)
    done_pg=$((per * jobs))
    fresh
    t4=$(now)
    pgbench -n -M simple -h "$PGDIR" -U provost -c "$jobs" -j "$jobs" -t "$per" -f twophase.sql postgres \
        >pgbench2.log 2>&1 || { cat pgbench2.log >&2; exit 1; }
    t5=$(now)
    [ "$(psql_ -c 'SELECT count(*) FROM items')" = "$done_pg" ] || { echo "pgbench: not $done_pg rows" >&2; exit 1; }
    [ "$(psql_ -c 'SELECT count(*) FROM pg_prepared_xacts')" = 0 ] || { echo "pgbench: prepared left" >&2; exit 1; }
    awk -v n="$N" -v m="$done_pg" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v e="$t4" -v f="$t5" -v j="$jobs" 'BEGIN {
        p = n / (b - a); l = m / (d - c); t = m / (f - e);
        printf "%-6d %14.0f %14.0f %8.2f %14.0f %8.2f\n", j, p, l, p / l, t, p / t }'
done
