#!/bin/sh
# A cluster on a private PostgreSQL: init (idempotent, a newer schema refused), register
# and a running worker loading a new revision without a restart, batches enqueued from
# request files and from rows and their results, status and exit statuses, a retry
# policy, and bad input (bad conninfo, server down, no schema, unknown batch): one line
# and a non-zero exit each.
# Usage: basic.sh PROVOST
set -u
P=$1
. "$(dirname "$0")/lib.sh"
export PROVOST_SYNC=none

"$P" --cluster "$C" cluster init > "$T/out" 2>&1; check "init" 0 $?
contains "init says so" "$T/out" "cluster initialised"
PROVOST_CLUSTER="$C" "$P" cluster init > "$T/out" 2>&1; check "init again" 0 $?
contains "init again changes nothing" "$T/out" "already initialised"
check "one version row" 1 "$(q "SELECT count(*) FROM provost.meta WHERE key = 'schema_version'")"

cat > "$T/t1.xml" <<'XML'
<namespace name="T" providerSource="test">
  <procedure name="Echo" type="write" access="public"/>
  <procedure name="Fail" type="write" access="public"/>
</namespace>
XML
sed 's#</namespace>#  <procedure name="Second" type="write" access="public"/></namespace>#' "$T/t1.xml" > "$T/t2.xml"
"$P" --cluster "$C" register "$T/t1.xml" > "$T/out" 2>&1; check "register" 0 $?
contains "revision 1" "$T/out" "registered T in the cluster (revision 1)"

# a worker that runs the whole test: it must load revision 2 while it runs
"$P" --db "$T/w1" worker --cluster "$C" --threads 2 --lease 2000 > "$T/w1.out" 2> "$T/w1.err" &
W1=$!
PIDS="$W1"

req() { # NS PROC N [QUEUECONTEXT]
    printf '<request><data><n>%s</n></data><context>%s</context><procedure><execute namespace="%s" procedure="%s">' \
        "$3" "${4:-}" "$1" "$2"
    printf '<before source="data" destination="executeData" mode="merge"/></execute></procedure></request>\n'
}
mkdir "$T/in"
for i in 1 2 3 4 5 6; do req T Echo "$i" > "$T/in/$i.xml"; done
"$P" batch --cluster "$C" "$T/in" > "$T/out" 2> "$T/err"; check "batch waits and succeeds" 0 $?
contains "summary as a local batch's" "$T/err" "provost batch: 6 requests: 6 succeeded, 0 failed"
id=$("$P" batch --cluster "$C" --detach "$T/in"); check "detach prints an id" 0 $?
"$P" batch --cluster "$C" wait "$id" -q 2> "$T/err"; check "wait" 0 $?
"$P" batch --cluster "$C" results "$id" > "$T/res"; check "results" 0 $?
check "one result line per request" 6 "$(grep -c '"status":"succeeded"' "$T/res")"
contains "results by position" "$T/res" '{"position":1,"input":"'

# a new revision reaches the running worker
"$P" --cluster "$C" register "$T/t2.xml" > "$T/out" 2>&1; check "register again" 0 $?
contains "revision 2" "$T/out" "registered T in the cluster (revision 2)"
req T Second 7 > "$T/second.xml"
"$P" batch --cluster "$C" -q "$T/second.xml" 2> "$T/err"; check "the new procedure runs without a restart" 0 $?
contains "the worker loaded it" "$T/w1.err" "namespace T revision 2 loaded"
check "the worker was never restarted" 1 "$(grep -c 'provost worker: worker ' "$T/w1.err")"

# rows, and failures: exit 1 with the codes, as a local batch
printf 'n\n1\n2\n3\n' > "$T/rows.csv"
"$P" batch --cluster "$C" --call T Fail --rows "$T/rows.csv" > "$T/out" 2> "$T/err"; check "failed rows: exit 1" 1 $?
contains "failures counted" "$T/err" "3 requests: 0 succeeded, 3 failed"
"$P" batch --cluster "$C" --call T Echo --rows "$T/rows.csv" -q 2> "$T/err"; check "rows succeed" 0 $?

# a retry policy: two retries, so three attempts, then failed
req T Fail 9 '<queueContext retryCount="2" retryInterval="10"/>' > "$T/retry.xml"
id=$("$P" batch --cluster "$C" --detach "$T/retry.xml")
"$P" batch --cluster "$C" wait "$id" -q 2> /dev/null; check "retried, then failed" 1 $?
"$P" batch --cluster "$C" results "$id" > "$T/res"
contains "three attempts" "$T/res" '"attempts":3}'
# as in the local queue, any attempt that did not succeed is retried (invalid too), and
# queueToOperator decides the state before invalid or stuck does
bad() { printf '<request><context>%s</context><procedure><bogus/></procedure></request>\n' "$1"; }
bad '<queueContext retryCount="1" retryInterval="10"/>' > "$T/inv.xml"
inv=$("$P" batch --cluster "$C" --detach "$T/inv.xml")
"$P" batch --cluster "$C" wait "$inv" -q 2> /dev/null
check "an invalid attempt is retried" "invalid 2" \
    "$(q "SELECT status || ' ' || attempts FROM provost.results WHERE batch = $inv")"
bad '<queueContext onFailure="queueToOperator"/>' > "$T/op.xml"
op=$("$P" batch --cluster "$C" --detach "$T/op.xml")
"$P" batch --cluster "$C" wait "$op" -q 2> /dev/null
check "queueToOperator before invalid" 15 "$(q "SELECT state FROM provost.results WHERE batch = $op")"
# an attempt the engine cannot run at all, with no retry left: invalid with the engine's
# code as a local batch reports it, and state 1 (ERROR) as the local queue ends it
bad '' > "$T/err.xml"
ev=$("$P" batch --cluster "$C" --detach "$T/err.xml")
"$P" batch --cluster "$C" wait "$ev" -q 2> /dev/null
check "an engine error, no retries: invalid, state 1, one attempt" "invalid 1 1" \
    "$(q "SELECT status || ' ' || state || ' ' || attempts FROM provost.results WHERE batch = $ev")"
"$P" batch --cluster "$C" results "$ev" | sed 's/.*"status"/"status"/; s/,"description".*//' > "$T/cl.res"
"$P" --db "$T/local" batch -q "$T/err.xml" 2> /dev/null | sed 's/.*"status"/"status"/; s/,"description".*//' \
    > "$T/lo.res"
check "... as a local batch's status and code" "$(cat "$T/lo.res")" "$(cat "$T/cl.res")"
"$P" --db "$T/local" queue submit "$T/err.xml" > /dev/null
"$P" --db "$T/local" worker --drain --quiet 2> /dev/null
"$P" --db "$T/local" queue list > "$T/out"; contains "... as the local queue's state" "$T/out" " 1   ERROR"
# a policy the local queue refuses is refused here with the queue's words (an invalid
# result at once, never run), and one it takes at its bounds is taken
policy() { # NAME QUEUECONTEXT-ATTRIBUTES EXPECTED-STATUS EXPECTED-DESCRIPTION
    req T Echo 1 "<queueContext $2/>" > "$T/policy.xml"
    "$P" --db "$T/local" queue submit "$T/policy.xml" > /dev/null 2> "$T/local.err"
    pid=$("$P" batch --cluster "$C" --detach "$T/policy.xml")
    "$P" batch --cluster "$C" wait "$pid" -q 2> /dev/null
    check "$1" "$3 $4" "$(q "SELECT status || ' ' || attempts || ' ' || coalesce(description, '')
        FROM provost.results WHERE batch = $pid")"
    [ -z "$4" ] || contains "$1: the local queue's words" "$T/local.err" "$4"
}
policy "retryCount negative" 'retryCount="-1"' "invalid 0" "queueContext/@retryCount is not a number from 0 to 65535"
policy "retryCount huge" 'retryCount="65536"' "invalid 0" "queueContext/@retryCount is not a number from 0 to 65535"
policy "retryCount not a number" 'retryCount="3x"' "invalid 0" "queueContext/@retryCount is not a number from 0 to 65535"
policy "retryInterval negative" 'retryInterval="-10"' "invalid 0" \
    "queueContext/@retryInterval is not a number from 0 to 4294967295"
policy "retryInterval huge" 'retryInterval="4294967296"' "invalid 0" \
    "queueContext/@retryInterval is not a number from 0 to 4294967295"
policy "retryStopOnFailure not a code" 'retryStopOnFailure="oops"' "invalid 0" \
    "queueContext/@retryStopOnFailure is not a number from 0 to 4294967295 (an HRESULT such as 0x80070057)"
policy "retryType unknown" 'retryType="sometimes"' "invalid 0" \
    "queueContext/@retryType is 'sometimes': it takes fixed or exponential"
policy "onFailure unknown" 'onFailure="retry"' "invalid 0" \
    "queueContext/@onFailure is 'retry': it takes continue or queueToOperator"
policy "bounds taken" 'retryCount="65535" retryInterval="4294967295" retryStopOnFailure="0xFFFFFFFF"' \
    "succeeded 1" ""
# the policy is context/queueContext's, as in the local queue: not an element of the data
printf '<request><data><queueContext retryCount="oops"/></data><procedure><execute namespace="T" procedure="Echo"/>
</procedure></request>\n' > "$T/dataqc.xml"
"$P" batch --cluster "$C" -q "$T/dataqc.xml" 2> /dev/null; check "a queueContext in the data is data" 0 $?
"$P" batch --cluster "$C" status "$id" > "$T/out"; check "status of a failed batch" 1 $?
contains "status line" "$T/out" "1/1 done: 0 succeeded, 1 failed"

"$P" --cluster "$C" cluster status > "$T/out" 2>&1; check "cluster status" 0 $?
contains "the worker is alive" "$T/out" "alive, epoch"
contains "jobs by state" "$T/out" "0 running"
contains "throughput" "$T/out" "jobs in the last minute"
contains "the journal" "$T/out" "journal: 0 unfinished transactions"

# SIGTERM: the worker stops after its jobs, and ends its row
kill -TERM "$W1"; wait "$W1"; check "SIGTERM stops the worker" 0 $?
check "the worker ended" "stopped" "$(q "SELECT ended FROM provost.workers WHERE id = 1")"

# bad input: one line, non-zero
lines() { check "$1: one line" 1 "$(wc -l < "$T/err")"; }
"$P" --cluster "host=$PGDIR user=provost dbname=postgres nonsense" cluster status > /dev/null 2> "$T/err"
check "bad conninfo" 2 $?; lines "bad conninfo"; contains "bad conninfo says so" "$T/err" "nonsense"
"$P" --cluster "$C" batch status 999 > /dev/null 2> "$T/err"
check "unknown batch" 2 $?; lines "unknown batch"; contains "unknown batch says so" "$T/err" "no such batch"
"$P" batch --cluster "$C" wait x12 > /dev/null 2> "$T/err"; check "a bad batch id" 2 $?; lines "bad id"
psql_ -c "CREATE DATABASE empty" > /dev/null
"$P" --cluster "host=$PGDIR user=provost dbname=empty" worker > /dev/null 2> "$T/err"
check "not initialised" 2 $?; lines "not initialised"; contains "not initialised says so" "$T/err" "provost cluster init"
psql_ -c "UPDATE provost.meta SET value = '99' WHERE key = 'schema_version'"
"$P" --cluster "$C" cluster init > /dev/null 2> "$T/err"; check "a newer schema is refused" 2 $?; lines "newer"
contains "newer says so" "$T/err" "newer than this provost's"
"$P" --cluster "$C" cluster status > /dev/null 2> "$T/err"; check "a newer schema, status" 2 $?
psql_ -c "UPDATE provost.meta SET value = '1' WHERE key = 'schema_version'"
"$P" cluster status > /dev/null 2> "$T/err"; check "no cluster given" 2 $?; lines "no cluster"
pg_stop
"$P" --cluster "$C" cluster status > /dev/null 2> "$T/err"
check "server down" 2 $?; lines "server down"; contains "server down says so" "$T/err" "cannot connect"
"$P" batch --cluster "$C" "$T/in" > /dev/null 2> "$T/err"; check "enqueue, server down" 2 $?; lines "enqueue down"
# a password never reaches a message, however the conninfo gives it
hidden() {
    check "$1: fails" 2 "$2"; contains "$1: says why" "$T/err" "cannot connect"
    if grep -q s3cretpw "$T/err"; then fail=$((fail + 1)); echo "FAIL: $1: the password is shown:"; cat "$T/err"
    else pass=$((pass + 1)); fi
}
"$P" --cluster "$C password=s3cretpw" cluster status > /dev/null 2> "$T/err"; hidden "key=value password" $?
contains "the rest of the conninfo is shown" "$T/err" "dbname=postgres"
"$P" --cluster "postgresql://provost:s3cretpw@/postgres?host=$PGDIR" cluster status > /dev/null 2> "$T/err"
hidden "URI password" $?

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
