#!/bin/sh
# Two workers run a few thousand short write jobs while PostgreSQL is restarted (a fast
# restart: every session ended) mid-run.  The workers reconnect and go on: both are still
# running when the queue is empty, each says it reconnected, and a SIGTERM stops each with
# status 0.  Every job has exactly one result, and it succeeded; the workers' counts of done
# jobs add up to the jobs (a completion whose reply was lost and that was sent again counts
# once); nothing is left in jobs.
# Usage: restart.sh PROVOST
set -u
P=$1
. "$(dirname "$0")/lib.sh"
export PROVOST_SYNC=none
N=${RESTART_JOBS:-3000}

"$P" --cluster "$C" cluster init > /dev/null || { echo "FAIL: init"; exit 1; }
cat > "$T/ns.xml" <<'XML'
<namespace name="R" providerSource="test"><procedure name="Sleep" type="write" access="public"/></namespace>
XML
"$P" --cluster "$C" register "$T/ns.xml" > /dev/null || { echo "FAIL: register"; exit 1; }
{
    printf '<request>\n'
    awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++) printf "<data><n>%d</n><ms>2</ms></data>\n", i }'
    printf '<procedure><execute namespace="R" procedure="Sleep">'
    printf '<before source="data" destination="executeData" mode="merge"/></execute></procedure></request>\n'
} > "$T/jobs.xml"
id=$("$P" batch --cluster "$C" --detach "$T/jobs.xml") || { echo "FAIL: enqueue"; exit 1; }

# a lease far longer than a restart: the lease is not what this test is about
for k in 1 2; do
    "$P" --db "$T/db$k" worker --cluster "$C" --threads 4 --lease 20000 --quiet 2> "$T/err$k" &
    eval "W$k=$!"
    PIDS="$PIDS $!"
done
done_now() { q "SELECT count(*) FROM provost.results WHERE batch = $id"; }
alive() { kill -0 "$W1" 2> /dev/null && kill -0 "$W2" 2> /dev/null; }

while [ "$(done_now)" -lt $((N / 5)) ]; do sleep 0.1; done
before=$(done_now)
pg_restart || { echo "FAIL: the restart:"; cat "$T/pg_ctl.log"; exit 1; }
check "the restart came mid-run" 1 "$([ "$before" -lt "$N" ] && echo 1 || echo 0)"

# until every job is done, or a worker is gone (then it will never be)
while alive && [ "$(done_now)" -lt "$N" ]; do sleep 0.2; done
check "both workers still run after the restart" 1 "$(alive && echo 1 || echo 0)"
check "every job has one result" "$N" "$(done_now)"
check "every job succeeded" "$N" \
    "$(q "SELECT count(*) FROM provost.results WHERE batch = $id AND status = 'succeeded'")"
check "one result per position" "$N" "$(q "SELECT count(DISTINCT position) FROM provost.results WHERE batch = $id")"
check "nothing left in jobs" 0 "$(q "SELECT count(*) FROM provost.jobs")"
check "the workers counted each job once" "$N" "$(q "SELECT sum(done) FROM provost.workers")"
for k in 1 2; do
    eval "pid=\$W$k"
    kill -TERM "$pid" 2> /dev/null
    wait "$pid"
    check "worker $k stops with status 0" 0 $?
    contains "worker $k reconnected" "$T/err$k" "reconnected to the cluster"
done
check "both workers ended as stopped" 2 "$(q "SELECT count(*) FROM provost.workers WHERE ended = 'stopped'")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
