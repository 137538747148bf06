#!/bin/sh
# provost queue and provost worker: submit (--delay, --priority, --after, --suspended),
# status, results, list, activate, delete, the operator's retry, the worker's --once,
# --drain and --threads, a SIGTERM that stops a worker running forever, looking at the
# queue and submitting (through the spool) while it runs, a spooled file stored once, and every
# refusal with exit status 2 and one line.
# usage: queue.sh PROVOST
set -u
P=$1
T=$(mktemp -d)
WPID=
trap '[ -n "$WPID" ] && kill "$WPID" 2>/dev/null; rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
export PROVOST_DB="$T/db" PROVOST_SYNC=none
cat >"$T/ns.xml" <<'EOF'
<namespace name='Q' providerSource='test'>
  <procedure name='Echo' type='write'/><procedure name='Fail' type='write'/>
</namespace>
EOF
cat >"$T/ok.xml" <<'EOF'
<request><procedure><execute namespace='Q' procedure='Echo'/></procedure></request>
EOF
cat >"$T/fail.xml" <<'EOF'
<request><procedure><execute namespace='Q' procedure='Fail'/></procedure>
<context><queueContext retryCount='1' retryInterval='10' onFailure='queueToOperator'/></context></request>
EOF
"$P" register "$T/ns.xml" >/dev/null; check "register" 0 $?

A=$("$P" queue submit "$T/ok.xml"); check "submit" 0 $?
case $A in 1:\{*-*-*-*-*\}) r=0 ;; *) r=1 ;; esac; check "the id looks like 1:{UUID}: $A" 0 $r
L=$("$P" queue submit "$T/ok.xml" --delay 1h); check "submit --delay" 0 $?
F=$("$P" queue submit "$T/fail.xml" --priority -60); check "submit --priority" 0 $?
C=$("$P" queue submit "$T/ok.xml" --after "$F"); check "submit --after" 0 $?
S=$("$P" queue submit "$T/ok.xml" --suspended); check "submit --suspended" 0 $?
"$P" queue status "$C" >"$T/out"; check "status" 0 $?
contains "waits for its prerequisite" "$T/out" "11 WITH_INCOMPLETE_PREREQ"
contains "names it" "$T/out" "after        $F"
"$P" queue list --state SUSPENDED >"$T/out"; check "list --state NAME" 0 $?
contains "the suspended job" "$T/out" "$S  13  SUSPENDED"

# --once: what is due now (the high priority job first); its retry is not due yet
"$P" worker --once >"$T/out" 2>"$T/err"; check "worker --once" 0 $?
[ "$(head -1 "$T/out")" = "$F attempt 1: QUEUED_FOR_RETRY (0x80004005)" ]; check "high priority first" 0 $?
contains "then the medium one" "$T/out" "$A attempt 1: SUCCESS"
contains "a summary" "$T/err" "provost worker: 2 runs: 1 succeeded, 1 to retry, 0 failed"
"$P" queue results "$A" >"$T/out"; check "results" 0 $?
contains "the response" "$T/out" "<response><data/></response>"
"$P" queue results "$L" >"$T/out" 2>&1; check "results of a job not run" 2 $?

# --drain: runs the retry, parks F for the operator; C waits for the operator's decision
"$P" worker --drain --threads 2 >"$T/out" 2>&1; check "worker --drain" 0 $?
contains "retried, then parked" "$T/out" "$F attempt 2: FAILED_AWAITING_OPERATOR (0x80004005)"
"$P" queue status "$F" >"$T/out"; contains "state 15" "$T/out" "15 FAILED_AWAITING_OPERATOR"
contains "attempts" "$T/out" "2 of 2"
contains "the error" "$T/out" "0x80004005 Test failure"
"$P" queue retry "$F"; check "retry" 0 $?
"$P" queue list --state 10 >"$T/out"; contains "queued for retry" "$T/out" "$F  10  QUEUED_FOR_RETRY"
PROVOST_TEST_TRACE="$T/retry.trace" "$P" worker --drain >"$T/out" 2>&1
contains "runs again with its retries anew" "$T/out" "$F attempt 2: FAILED_AWAITING_OPERATOR"
check "the operator's retry ran the request again, twice" 2 "$(grep -c "^process	Q/Fail" "$T/retry.trace" 2>/dev/null)"
"$P" queue delete "$F"; check "delete" 0 $?
"$P" queue status "$F" >"$T/out" 2>&1; check "deleted" 2 $?
"$P" queue status "$C" >"$T/out"; contains "the dependent stops waiting" "$T/out" "12 WITH_COMPLETE_PREREQ"
"$P" queue activate "$S"; check "activate" 0 $?
"$P" worker --drain >"$T/out" 2>&1; check "drain" 0 $?
contains "the dependent ran" "$T/out" "$C attempt 1: SUCCESS"
contains "the activated ran" "$T/out" "$S attempt 1: SUCCESS"
"$P" queue status "$L" >"$T/out"; contains "--drain leaves a job due later" "$T/out" "4 PENDING"

# running forever, stopped by SIGTERM after it ran what was due; meanwhile status, list
# and results read the database read-only (as it is at that moment)
R=$("$P" queue submit "$T/ok.xml")
"$P" worker >"$T/out" 2>&1 &
WPID=$!
i=0; while ! "$P" queue status "$R" 2>"$T/err" | grep -q "0 SUCCESS" && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
"$P" queue status "$R" >"$T/st" 2>&1; check "status while the worker runs" 0 $?
contains "shows the job done" "$T/st" "0 SUCCESS"
"$P" queue list >"$T/st" 2>&1; check "list while the worker runs" 0 $?
contains "lists it" "$T/st" "$R  0   SUCCESS"
"$P" queue results "$R" >"$T/st" 2>&1; check "results while the worker runs" 0 $?
contains "its response" "$T/st" "<response><data/></response>"
# a submit while it runs goes to the spool, and the worker stores and runs it; a spool
# file that does not parse is moved aside and the worker keeps going
mkdir -p "$T/db/queue-spool"
printf 'not a spooled submit\n' >"$T/db/queue-spool/broken.job"
G=$("$P" queue submit "$T/ok.xml" --priority 5); check "submit while the worker runs" 0 $?
i=0; while ! "$P" queue status "$G" 2>/dev/null | grep -q "0 SUCCESS" && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
"$P" queue status "$G" >"$T/st" 2>&1; contains "the spooled job ran" "$T/st" "0 SUCCESS"
contains "with its options" "$T/st" "priority     5"
[ -f "$T/db/queue-spool/rejected/broken.job" ]; check "the broken file is moved aside" 0 $?
[ -z "$(ls "$T/db/queue-spool" | grep -v rejected)" ]; check "the spool is empty" 0 $?
"$P" queue activate "$G" >"$T/st" 2>&1; check "a change is refused while the worker runs" 2 $?
contains "as in use" "$T/st" "in use by another process"
kill -TERM "$WPID"; wait "$WPID"; check "SIGTERM stops the worker" 143 $?
WPID=
contains "it ran the job" "$T/out" "attempt 1: SUCCESS"
contains "and summed up" "$T/out" "provost worker: 2 runs: 2 succeeded"
contains "the rejected file is named with why" "$T/out" "broken.job: rejected, moved to rejected/: it does not start with"

# a spool file whose job is stored already (a worker stopped between storing it and
# removing the file) makes no second job: it is removed, nothing runs again
printf 'provost-queue-spool 1\nid %s\ndue 0\n\n' "$G" >"$T/db/queue-spool/again.job"
cat "$T/ok.xml" >>"$T/db/queue-spool/again.job"
n=$("$P" queue list | wc -l)
"$P" worker --once >"$T/out" 2>&1; check "worker --once with a stored job's file" 0 $?
contains "runs nothing" "$T/out" "provost worker: 0 runs"
[ ! -f "$T/db/queue-spool/again.job" ]; check "the file is removed" 0 $?
[ "$("$P" queue list | wc -l)" = "$n" ]; check "no second job" 0 $?
"$P" queue status "$G" >"$T/st"; contains "the job is as it was" "$T/st" "1 of 1"

# refusals: one line, exit 2
printf '<request><data/></request>' >"$T/noproc.xml"
printf '<request><procedure/><context><queueContext retryType="sometimes"/></context></request>' >"$T/badctx.xml"
printf '<request><procedure/><data/><data/></request>' >"$T/two.xml"
printf '<request>' >"$T/broken.xml"
for args in "submit $T/noproc.xml" "submit $T/badctx.xml" "submit $T/two.xml" "submit $T/broken.xml" \
            "submit $T/ok.xml --delay soon" "submit $T/ok.xml --at yesterday" "submit $T/ok.xml --priority x" \
            "submit $T/ok.xml --after 1:{00000000-0000-4000-8000-000000000000}" "submit" \
            "status 1:{nope}" "activate $A" "retry $A" "list --state DONE" "frobnicate" "status"; do
    # shellcheck disable=SC2086
    "$P" queue $args >"$T/out" 2>&1
    check "queue $args is refused" 2 $?
    [ "$(wc -l <"$T/out")" = 1 ]; check "queue $args: one line" 0 $?
done
"$P" worker --threads 0 >"$T/out" 2>&1; check "worker --threads 0 is refused" 2 $?

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
