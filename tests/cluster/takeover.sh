#!/bin/sh
# The journal of a cluster job lives in the cluster.
# 1. A worker killed forever in the middle of a transaction, its disk removed: another
#    worker takes its transaction over and rolls it back, newest step first, through its
#    own provider calls; then the job ends as its retry policy says (here: failed).
# 2. A worker paused (SIGSTOP) past its lease in the middle of a transaction: another worker
#    rolls that transaction back and runs the job's next attempt; the paused worker, once
#    continued, writes nothing more -- not its next step's journal record, so it never
#    makes that call -- and exits 2, fenced.
# Usage: takeover.sh PROVOST
set -u
P=$1
. "$(dirname "$0")/lib.sh"

"$P" --cluster "$C" cluster init > /dev/null || { echo "FAIL: init"; exit 1; }
cat > "$T/ns.xml" <<'XML'
<namespace name="T" providerSource="test">
  <procedure name="Put" type="write"/>
  <procedure name="Sleep" type="write"/>
  <procedure name="Go" type="write" access="public">
    <execute namespace="T" procedure="Put"><before source="data" destination="executeData" mode="merge"/></execute>
    <execute namespace="T" procedure="Sleep"><before source="data" destination="executeData" mode="merge"/></execute>
    <execute namespace="T" procedure="Put"><before source="data" destination="executeData" mode="merge"/></execute>
  </procedure>
</namespace>
XML
"$P" --cluster "$C" register "$T/ns.xml" > /dev/null || { echo "FAIL: register"; exit 1; }
job() { # N MS RETRIES: a batch of one job
    printf '<request><data><n>%s</n><ms>%s</ms></data><context><queueContext retryCount="%s" retryInterval="0"/></context>' "$1" "$2" "$3"
    printf '<procedure><execute namespace="T" procedure="Go"><before source="data" destination="executeData" mode="merge"/></execute></procedure></request>\n'
}
worker() { # NAME [ARGS]: a worker in the background, its trace and stderr named after it
    name=$1; shift
    PROVOST_TEST_TRACE="$T/$name.trace" "$P" --db "$T/$name" worker --cluster "$C" --threads 1 --lease 1500 \
        --name "$name" "$@" > /dev/null 2> "$T/$name.err" &
}
wait_for() { # WHAT CONDITION: polls a shell condition for up to 60 s
    n=0
    while ! eval "$2"; do
        sleep 0.05; n=$((n + 1))
        if [ $n -gt 1200 ]; then echo "FAIL: timed out waiting for $1"; fail=$((fail + 1)); return 1; fi
    done
}
traced() { grep -c "^$1	T/$2	.*<n>$3</n>" "$T/$4.trace" 2> /dev/null || true; }
# a rollback receives the data saved for it, none here: counted by procedure alone
rolled() { grep -c "^rollback	T/$1	" "$T/$2.trace" 2> /dev/null || true; }

# ---- 1. killed forever -----------------------------------------------------------------
job 1 600000 0 > "$T/j1.xml"
b1=$("$P" batch --cluster "$C" --detach "$T/j1.xml") || { echo "FAIL: enqueue"; exit 1; }
worker a; A=$!; PIDS="$PIDS $A"
wait_for "the first worker's sleep" '[ "$(traced process Sleep 1 a)" = 1 ]'
aid=$(q "SELECT id FROM provost.workers WHERE name = 'a'")
check "its transaction is journaled in the cluster, not on its disk" 1 \
    "$([ "$(q "SELECT count(*) FROM provost.journal WHERE worker = $aid")" -ge 2 ] && echo 1 || echo 0)"
kill -KILL $A; wait $A 2> /dev/null
rm -rf "$T/a" # the machine is gone: nothing on it can be recovered
worker b --drain; B=$!; PIDS="$PIDS $B"
wait $B; check "the other worker drains the queue" 0 $?
bid=$(q "SELECT id FROM provost.workers WHERE name = 'b'")
check "the killed worker was taken over by it" "taken over by worker $bid|t" \
    "$(q "SELECT ended, settled FROM provost.workers WHERE id = $aid")"
check "its in-doubt sleep rolled back by the other worker" 1 "$(rolled Sleep b)"
check "its first step rolled back by the other worker" 1 "$(rolled Put b)"
check "newest first" "rollback	T/Sleep rollback	T/Put" \
    "$(grep '^rollback' "$T/b.trace" | cut -f1,2 | tr '\n' ' ' | sed 's/ $//')"
check "the taken-over transaction is gone from the journal" 0 "$(q "SELECT count(*) FROM provost.journal")"
check "the job failed (no retries), as its transaction ended" "failed|2147500036|1" \
    "$(q "SELECT status, code, attempts FROM provost.results WHERE batch = $b1")"
contains "the worker says what it took over" "$T/b.err" "1 transaction finished"
check "no outcome left behind" 0 "$(q "SELECT count(*) FROM provost.outcomes")"

# ---- 2. paused past its lease ------------------------------------------------------------
job 2 3000 1 > "$T/j2.xml"
b2=$("$P" batch --cluster "$C" --detach "$T/j2.xml") || { echo "FAIL: enqueue"; exit 1; }
worker c; Cw=$!; PIDS="$PIDS $Cw"
wait_for "the paused worker's sleep" '[ "$(traced process Sleep 2 c)" = 1 ]'
kill -STOP $Cw
cid=$(q "SELECT id FROM provost.workers WHERE name = 'c'")
worker d; D=$!; PIDS="$PIDS $D"
wait_for "the job's second attempt" '[ "$(q "SELECT count(*) FROM provost.results WHERE batch = $b2")" = 1 ]'
kill -CONT $Cw
wait $Cw; check "the paused worker exits 2" 2 $?
contains "it says it was fenced" "$T/c.err" "fenced"
check "it never made its next call" 1 "$(traced process Put 2 c)"
check "nor any rollback" 0 "$(grep -c '^rollback' "$T/c.trace")"
check "its transaction was rolled back by the other worker" "1 1" \
    "$(rolled Sleep d) $(rolled Put d)"
check "the second attempt succeeded, on the other worker" "succeeded|2|$(q "SELECT id FROM provost.workers WHERE name = 'd'")" \
    "$(q "SELECT status, attempts, worker FROM provost.results WHERE batch = $b2")"
check "no record of the fenced worker in the journal" 0 "$(q "SELECT count(*) FROM provost.journal")"
kill -TERM $D; wait $D

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
