# lib.sh -- sourced by the cluster tests: counted assertions (tests/cli/lib.sh), a scratch
# directory, and a private PostgreSQL server started in it (a Unix socket there, no TCP;
# as the postgres account when run as root, since PostgreSQL refuses root), stopped with
# every worker the test started when the script exits, however it exits.
# Sets T (the directory), PGDIR, C (the cluster's conninfo); pg_start, pg_stop, pg_restart,
# psql_.
. "$(dirname "$0")/../cli/lib.sh"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
T=$(mktemp -d)
chmod 755 "$T"
PGDIR=$T/pg
mkdir "$PGDIR"
PIDS=""
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" -eq 0 ] && chown postgres "$PGDIR"
cleanup() {
    for p in $PIDS; do kill -CONT "$p" 2> /dev/null; kill -KILL "$p" 2> /dev/null; done
    [ -f "$PGDIR/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop > /dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
pg_start() {
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -o "-c listen_addresses='' \
        -c unix_socket_directories=$PGDIR -c fsync=off -c max_connections=60" start > "$T/pg_ctl.log" 2>&1
}
pg_stop() {
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop > /dev/null 2>&1
}
# a fast restart, as an operator's: every session is ended, the options kept
pg_restart() {
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -m fast -w restart > "$T/pg_ctl.log" 2>&1
}
if ! as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U provost > "$T/initdb.log" 2>&1; then
    echo "FAIL: initdb could not make a cluster in $PGDIR/data:"; cat "$T/initdb.log"; exit 1
fi
if ! pg_start; then
    echo "FAIL: the PostgreSQL server did not start:"; cat "$T/pg_ctl.log" "$PGDIR/log"; exit 1
fi
C="host=$PGDIR user=provost dbname=postgres"
psql_() { psql -X -q -h "$PGDIR" -U provost -d postgres -v ON_ERROR_STOP=1 -At "$@"; }
# the number of a query's single value
q() { psql_ -c "$1"; }
