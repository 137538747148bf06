#!/bin/sh
# Three workers run thousands of jobs of a write step on the test provider, under random
# kill -9 (the killed worker's slot recovered and restarted), one SIGSTOP past the lease
# followed by SIGCONT, and one restart of PostgreSQL (the workers reconnect; one that
# exits on its own all the same, its lease run out while the server was down, is
# restarted as its service manager would).  At the end: every job has exactly one result,
# and it succeeded; the attempt that succeeded called the write step exactly once (the
# trace of the worker process that recorded it) and never rolled it back; no job is left
# queued, running or held by a dead worker; and the stopped worker's late completions
# were refused: it exits 2 saying it was fenced, and no result of it appeared after its
# stop.  CHAOS_JOBS: the number of jobs (the full test is 20000); CHAOS_MS: how long the
# write step of each takes (ms).
# Usage: chaos.sh PROVOST
set -u
P=$1
. "$(dirname "$0")/lib.sh"
export PROVOST_SYNC=none
N=${CHAOS_JOBS:-3000}
MS=${CHAOS_MS:-100}

"$P" --cluster "$C" cluster init > /dev/null || { echo "FAIL: init"; exit 1; }
cat > "$T/ns.xml" <<'XML'
<namespace name="Chaos" providerSource="test"><procedure name="Sleep" type="write" access="public"/></namespace>
XML
"$P" --cluster "$C" register "$T/ns.xml" > /dev/null || { echo "FAIL: register"; exit 1; }
{
    printf '<request>\n'
    awk -v n="$N" -v ms="$MS" 'BEGIN { for (i = 1; i <= n; i++) printf "<data><n>%d</n><ms>%d</ms></data>\n", i, ms }'
    printf '<context><queueContext retryCount="100" retryInterval="0"/></context>\n'
    printf '<procedure><execute namespace="Chaos" procedure="Sleep">'
    printf '<before source="data" destination="executeData" mode="merge"/></execute></procedure></request>\n'
} > "$T/jobs.xml"
id=$("$P" batch --cluster "$C" --detach "$T/jobs.xml") || { echo "FAIL: enqueue"; exit 1; }

# slot K: its own database; each process its own trace, named by its pid; its own stderr
start() {
    PROVOST_TEST_TRACE="$T/recover.trace" "$P" --db "$T/db$1" recover > /dev/null 2>&1
    sh -c 'PROVOST_TEST_TRACE="$1/trace.$$" exec "$2" --db "$1/db$3" worker --cluster "$4" --threads 4 \
        --lease 2000 --quiet' sh "$T" "$P" "$1" "$C" 2> "$T/err$1.$(date +%s%N)" &
    eval "W$1=$!"
    PIDS="$PIDS $!"
}
start 0; start 1; start 2
done_now() { q "SELECT count(*) FROM provost.results WHERE batch = $id"; }
# alive and not yet reaped: /proc/PID/stat's third field is its state (Z once it exited)
alive() { s=$(cut -d' ' -f3 "/proc/$1/stat" 2> /dev/null); [ -n "$s" ] && [ "$s" != Z ]; }
exits=0
# waits until the three workers registered, so that a kill, stop or restart finds them
# running; false when one of them is gone first
ready() {
    while alive "$W0" && alive "$W1" && alive "$W2"; do
        [ "$(q "SELECT count(*) FROM provost.workers WHERE ended IS NULL AND pid IN ($W0, $W1, $W2)")" -eq 3 ] &&
            return 0
        sleep 0.1
    done
    return 1
}
rand() { echo $(( $(od -An -N2 -tu2 /dev/urandom) % $1 )); }

# wait for the first results, then the chaos
while [ "$(done_now)" -lt 30 ]; do sleep 0.1; done
kills=0
stopped=""
restarted=0
round=0
while [ "$(done_now)" -lt "$N" ] && [ $round -lt $((600 + N / 10)) ]; do
    round=$((round + 1))
    sleep 0.3
    for k in 0 1 2; do # a worker that exited on its own
        eval "pid=\$W$k"
        if ! alive "$pid"; then wait "$pid"; exits=$((exits + 1)); start $k; fi
    done
    ready || continue
    if [ $restarted -eq 0 ] && [ -n "$stopped" ]; then # restart PostgreSQL under the workers
        pg_restart || { echo "FAIL: the restart:"; cat "$T/pg_ctl.log"; exit 1; }
        restarted=1
    elif [ -z "$stopped" ]; then # SIGSTOP slot 0 past its lease, then SIGCONT
        stopped=$W0
        kill -STOP "$stopped"
        sleep 0.5 # a statement it sent before the stop may still be committing
        wid=$(q "SELECT id FROM provost.workers WHERE pid = $stopped")
        # a result its attempt earned but it had not recorded is completed by the worker
        # that took it over, which says so: those are not the stopped worker's writes
        own="SELECT count(*) FROM provost.results WHERE worker = $wid AND coalesce(description, '') NOT LIKE 'completed by worker %'"
        before=$(q "$own")
        sleep 3.5
        kill -CONT "$stopped"
        wait "$stopped"
        check "the stopped worker exits 2" 2 $?
        cat "$T"/err0.* > "$T/stopped.err"
        contains "it says it was fenced" "$T/stopped.err" "fenced"
        check "no result of the fenced worker after its stop" "$before" "$(q "$own")"
        check "no journal record of the fenced worker left (its records were taken over)" 0 \
            "$(q "SELECT count(*) FROM provost.journal WHERE worker = $wid")"
        rm -f "$T"/err0.*
        start 0
    elif [ $kills -lt 4 ]; then # kill -9 slot 1 or 2, restart it
        k=$(( $(rand 2) + 1 ))
        eval "pid=\$W$k"
        # only a worker that has registered: one killed before it has nothing to take over
        [ "$(q "SELECT count(*) FROM provost.workers WHERE pid = $pid AND ended IS NULL")" = 1 ] || continue
        kill -KILL "$pid"
        wait "$pid" 2> /dev/null
        kills=$((kills + 1))
        start $k
    fi
done
check "the stop happened" 1 "$([ -n "$stopped" ] && echo 1 || echo 0)"
check "the restart happened mid-run" 1 "$restarted"
cat "$T"/err* > "$T/all.err"
contains "workers reconnected after the restart" "$T/all.err" "reconnected to the cluster"
check "workers were killed" 1 "$([ $kills -ge 2 ] && echo 1 || echo 0)"
check "every job has one result" "$N" "$(done_now)"
check "every job succeeded" "$N" "$(q "SELECT count(*) FROM provost.results WHERE batch = $id AND status = 'succeeded'")"
check "no job left queued or running" 0 "$(q "SELECT count(*) FROM provost.jobs")"
sleep 3 # a lease and a sweep (a third of it): the live workers fence the last killed one
for k in 0 1 2; do eval "kill -TERM \$W$k"; eval "wait \$W$k"; done
check "no worker left alive or holding a lease" 0 "$(q "SELECT count(*) FROM provost.workers WHERE ended IS NULL")"
check "killed workers were taken over" 1 \
    "$(q "SELECT count(*) >= 2 FROM provost.workers WHERE ended LIKE 'taken over%'" | sed 's/t/1/;s/f/0/')"

# the attempt that succeeded: one call of the write step in its process's trace, no rollback
q "SELECT r.position, w.pid FROM provost.results r JOIN provost.workers w ON w.id = r.worker
   WHERE r.batch = $id" > "$T/succeeded"
for f in "$T"/trace.*; do
    pid=${f##*.}
    sed -n "s#^\\([a-z]*\\)\\tChaos/Sleep\\t.*<n>\\([0-9]*\\)</n>.*#$pid \\1 \\2#p" "$f"
done > "$T/calls"
bad=$(awk 'NR == FNR { c[$1 " " $2 " " $3]++; next }
           { split($0, a, "|"); k = a[2] " process " a[1]; r = a[2] " rollback " a[1];
             if (c[k] != 1 || c[r] != 0) { n++; if (n < 5) print "job " a[1] " worker pid " a[2] ": " c[k]+0 " calls, " c[r]+0 " rollbacks" > "/dev/stderr" } }
           END { print n + 0 }' "$T/calls" "$T/succeeded")
check "each succeeded attempt called the write step once, never rolled back" 0 "$bad"

echo "$pass passed, $fail failed ($N jobs, $kills kills, $exits exits on their own, $(wc -l < "$T/calls") calls traced)"
[ "$fail" -eq 0 ]
