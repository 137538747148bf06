#!/bin/sh
# Retention: `batch --cluster C delete ID` drops a finished batch (its results, then its
# row) and refuses one with jobs queued or running, changing nothing; `cluster prune
# --older-than D` drops every finished batch whose last result is older, in chunks, and
# keeps the rest; a bad duration is one line and exit 2.
# Usage: retain.sh PROVOST
set -u
P=$1
. "$(dirname "$0")/lib.sh"
export PROVOST_SYNC=none

"$P" --cluster "$C" cluster init > /dev/null || { echo "FAIL: init"; exit 1; }
cat > "$T/ns.xml" <<'XML'
<namespace name="T" providerSource="test">
  <procedure name="Echo" type="write" access="public"/>
  <procedure name="Fail" type="write" access="public"/>
</namespace>
XML
"$P" --cluster "$C" register "$T/ns.xml" > /dev/null || { echo "FAIL: register"; exit 1; }
drain() { "$P" --db "$T/w" worker --cluster "$C" --drain --quiet 2> "$T/worker.err" || cat "$T/worker.err"; }
lines() { check "$1: one line" 1 "$(wc -l < "$T/err")"; }
results() { q "SELECT count(*) FROM provost.results WHERE batch = $1"; }
batches() { q "SELECT count(*) FROM provost.batches WHERE id = $1"; }

printf 'n\n1\n2\n3\n4\n5\n6\n' > "$T/six.csv"
printf 'n\n1\n2\n3\n' > "$T/three.csv"
a=$("$P" batch --cluster "$C" --detach --call T Echo --rows "$T/six.csv") || { echo "FAIL: enqueue"; exit 1; }

# queued: refused, and nothing of it is touched
"$P" batch --cluster "$C" delete "$a" > "$T/out" 2> "$T/err"; check "a queued batch is refused" 1 $?
lines "refused"; contains "refused says why" "$T/err" "still has 6 jobs queued or running"
check "its jobs are kept" 6 "$(q "SELECT count(*) FROM provost.jobs WHERE batch = $a")"
check "its row is kept" 1 "$(batches "$a")"

drain
b=$("$P" batch --cluster "$C" --detach --call T Echo --rows "$T/three.csv")
c=$("$P" batch --cluster "$C" --detach --call T Fail --rows "$T/three.csv")
drain
check "batch a finished" 6 "$(results "$a")"

"$P" batch --cluster "$C" delete "$a" > "$T/out" 2> "$T/err"; check "a finished batch is deleted" 0 $?
contains "delete says what" "$T/out" "deleted batch $a: 6 results"
check "its results are gone" 0 "$(results "$a")"
check "its row is gone" 0 "$(batches "$a")"
check "another batch's results are kept" 3 "$(results "$b")"
"$P" batch --cluster "$C" status "$a" > /dev/null 2> "$T/err"; check "a deleted batch is unknown" 2 $?
"$P" batch --cluster "$C" delete "$a" > /dev/null 2> "$T/err"; check "delete again" 2 $?
lines "delete again"; contains "delete again says why" "$T/err" "no such batch"

# prune: b and c finished two hours ago, e just now, d still queued (and made long ago)
d=$("$P" batch --cluster "$C" --detach --call T Echo --rows "$T/three.csv")
# a wait asks only whether a job is left (one probe of the hot table), and SIGTERM stops
# the wait, not the batch
"$P" batch --cluster "$C" wait "$d" > /dev/null 2> "$T/wait.err" &
wp=$!
PIDS="$PIDS $wp"
probes() { q "SELECT count(*) FROM pg_stat_activity
    WHERE query = 'SELECT EXISTS (SELECT 1 FROM provost.jobs WHERE batch = \$1)'"; }
n=0
while [ "$(probes)" = 0 ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n + 1)); done
check "the wait probes for a job left" 1 "$(probes)"
kill -TERM "$wp"; wait "$wp"; check "a wait stopped by SIGTERM" 143 $?
contains "... says the batch goes on" "$T/wait.err" "0/3 done; it goes on in the cluster"
"$P" --cluster "$C" cluster prune --older-than 1h > "$T/out" 2> "$T/err"; check "prune, nothing old" 0 $?
contains "nothing pruned" "$T/out" "pruned 0 batches, 0 results"
check "nothing pruned: b kept" 3 "$(results "$b")"
psql_ -c "UPDATE provost.results SET finished = now() - interval '2 hours' WHERE batch IN ($b, $c)"
psql_ -c "UPDATE provost.batches SET created = now() - interval '3 hours' WHERE id IN ($b, $c, $d)"
PROVOST_CLUSTER="$C" "$P" cluster prune --older-than 90m --chunk 2 > "$T/out" 2> "$T/err"
check "prune" 0 $?
contains "prune says what: b" "$T/out" "deleted batch $b: 3 results"
contains "prune says what: c" "$T/out" "deleted batch $c: 3 results"
contains "prune sums up" "$T/out" "pruned 2 batches, 6 results"
check "b's and c's results gone, in chunks of 2" 0 "$(q "SELECT count(*) FROM provost.results WHERE batch IN ($b, $c)")"
check "b's and c's rows gone" 0 "$(q "SELECT count(*) FROM provost.batches WHERE id IN ($b, $c)")"
check "a batch still queued is kept" 1 "$(batches "$d")"
check "... with its jobs" 3 "$(q "SELECT count(*) FROM provost.jobs WHERE batch = $d")"
e=$("$P" batch --cluster "$C" --detach --call T Echo --rows "$T/three.csv")
"$P" batch --cluster "$C" wait "$e" > /dev/null 2> "$T/wait.err" &
wp=$!
PIDS="$PIDS $wp"
drain
wait "$wp"; check "a wait ends when the batch is finished" 0 $?
contains "... with the summary" "$T/wait.err" "3 requests: 3 succeeded, 0 failed"
"$P" --cluster "$C" cluster prune --older-than 90m > "$T/out" 2> "$T/err"; check "prune again" 0 $?
contains "nothing more to prune" "$T/out" "pruned 0 batches"
check "a batch finished just now is kept" 3 "$(results "$e")"
"$P" --cluster "$C" cluster prune --older-than 0s > "$T/out" 2> "$T/err"; check "prune everything finished" 0 $?
check "... e is gone too" 0 "$(batches "$e")"
check "... and d, finished by now" 0 "$(batches "$d")"

# bad durations and options: one line, exit 2, nothing deleted
for bad in 7 7x -1d 1.5h d "" 36501d 99999999999999999999s "7 d"; do
    "$P" --cluster "$C" cluster prune --older-than "$bad" > /dev/null 2> "$T/err"
    check "duration '$bad' refused" 2 $?; lines "duration '$bad'"
    contains "duration '$bad' says why" "$T/err" "--older-than takes a duration such as 7d"
done
"$P" --cluster "$C" cluster prune > /dev/null 2> "$T/err"; check "no --older-than" 2 $?; lines "no --older-than"
"$P" --cluster "$C" cluster prune --older-than 1d --chunk 0 > /dev/null 2> "$T/err"; check "chunk 0" 2 $?
lines "chunk 0"
"$P" batch --cluster "$C" delete > /dev/null 2> "$T/err"; check "delete without an id" 2 $?; lines "no id"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
