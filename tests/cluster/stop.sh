#!/bin/sh
# A worker stopped by SIGTERM while it runs jobs longer than its lease: it keeps its lease
# until their outcomes are written, exits 0, records each as run once, and gives the jobs
# it claimed but never started back to the queue, where the next worker runs them once.
# A cluster made again over the same database is not mistaken for the old one.
# Usage: stop.sh PROVOST
set -u
P=$1
. "$(dirname "$0")/lib.sh"
export PROVOST_SYNC=none

"$P" --cluster "$C" cluster init > /dev/null || { echo "FAIL: init"; exit 1; }
cat > "$T/ns.xml" <<'XML'
<namespace name="S" providerSource="test"><procedure name="Sleep" type="write" access="public"/></namespace>
XML
"$P" --cluster "$C" register "$T/ns.xml" > /dev/null || { echo "FAIL: register"; exit 1; }
{
    printf '<request>\n'
    for i in 1 2 3 4; do printf '<data><n>%d</n><ms>4000</ms></data>\n' $i; done
    printf '<procedure><execute namespace="S" procedure="Sleep">'
    printf '<before source="data" destination="executeData" mode="merge"/></execute></procedure></request>\n'
} > "$T/jobs.xml"
id=$("$P" batch --cluster "$C" --detach "$T/jobs.xml") || { echo "FAIL: enqueue"; exit 1; }

# two threads claim all four jobs (twice their number) and start two of them
PROVOST_TEST_TRACE="$T/w1.trace" "$P" --db "$T/w1" worker --cluster "$C" --threads 2 --lease 3000 \
    > "$T/w1.out" 2> "$T/w1.err" &
W1=$!
PIDS="$W1"
while [ "$(q "SELECT count(*) FROM provost.jobs WHERE worker IS NOT NULL")" -lt 4 ]; do sleep 0.05; done
# the job threads start their first jobs (traced before they sleep); the rest wait in memory
n=0
while [ "$(grep -c '^process' "$T/w1.trace" 2> /dev/null || true)" != 2 ] && [ $n -lt 600 ]; do
    sleep 0.05; n=$((n + 1))
done
kill -TERM "$W1"; wait "$W1"; check "SIGTERM: exit 0 (not fenced)" 0 $?
grep -q fenced "$T/w1.err" && { echo "FAIL: the worker says it was fenced:"; cat "$T/w1.err"; fail=$((fail + 1)); }
check "the running jobs' outcomes recorded" 2 "$(q "SELECT count(*) FROM provost.results WHERE batch = $id")"
check "... succeeded, one attempt each" 2 \
    "$(q "SELECT count(*) FROM provost.results WHERE batch = $id AND status = 'succeeded' AND attempts = 1")"
check "the unstarted jobs are back in the queue" 2 \
    "$(q "SELECT count(*) FROM provost.jobs WHERE worker IS NULL AND epoch IS NULL AND attempt = 0")"
check "the worker ended cleanly" "stopped" "$(q "SELECT ended FROM provost.workers WHERE id = 1")"

"$P" --db "$T/w2" worker --cluster "$C" --threads 2 --lease 3000 --drain > "$T/w2.out" 2> "$T/w2.err"
check "the next worker drains the queue" 0 $?
check "every job has one result" 4 "$(q "SELECT count(*) FROM provost.results WHERE batch = $id")"
check "each position once" 4 "$(q "SELECT count(DISTINCT position) FROM provost.results WHERE batch = $id")"
check "all succeeded at their first attempt" 4 \
    "$(q "SELECT count(*) FROM provost.results WHERE batch = $id AND status = 'succeeded' AND attempts = 1")"
check "nothing retried" 0 "$(q "SELECT coalesce(sum(retried), 0) FROM provost.workers")"

# the cluster dropped and made again: batch ids start over, and the same worker database
# still holds the outcomes of the first cluster's batch 1, which must not be taken for
# the second's
psql_ -c "DROP SCHEMA provost CASCADE" > /dev/null
"$P" --cluster "$C" cluster init > /dev/null || { echo "FAIL: init again"; exit 1; }
cat > "$T/f.xml" <<'XML'
<namespace name="F" providerSource="test"><procedure name="Fail" type="write" access="public"/></namespace>
XML
"$P" --cluster "$C" register "$T/f.xml" > /dev/null || { echo "FAIL: register F"; exit 1; }
printf '<request><procedure><execute namespace="F" procedure="Fail"/></procedure></request>\n' > "$T/f1.xml"
id2=$("$P" batch --cluster "$C" --detach "$T/f1.xml")
check "batch ids start over" "$id" "$id2"
"$P" --db "$T/w1" worker --cluster "$C" --drain > /dev/null 2>&1; check "the first worker again" 0 $?
check "the new batch ran, not the old outcome" failed \
    "$(q "SELECT status FROM provost.results WHERE batch = $id2 AND position = 1")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
