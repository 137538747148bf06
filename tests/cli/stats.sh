#!/bin/sh
# `provost stats` from another process: nothing yet on a new database; the counts of a
# running `provost batch` rising between two reads (polled: no time is asserted), in the
# Prometheus text format as the Prometheus client library parses it and in JSON of the
# documented shape; the last values and the writer's state once it exited or was killed;
# --watch; the duration histogram's count equal to the calls once the writer ended; failed
# requests counted by code and their rollbacks; a damaged or truncated counters file, or
# one of an older format, refused in one line; bad options.
# usage: stats.sh PROVOST SOURCE_DIR
set -u
P=$1
SRC=$2
T=$(mktemp -d)
B=
trap '[ -n "$B" ] && kill -9 $B 2>/dev/null; rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
export PROVOST_DB="$T/db" PROVOST_SYNC=none
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3 # the Debian one, with python3-prometheus-client
CHECKS=$(dirname "$0")

one_line() { # one_line NAME FILE: the file holds exactly one line
    if [ "$(wc -l <"$2")" -eq 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1: not one line:"; cat "$2"; fi
}
calls() { # the calls of Batch/Slow in a Prometheus read (empty before the first)
    "$P" stats --prometheus >"$T/prom.txt" 2>&1 && $PY "$CHECKS/prom_check.py" "$T/prom.txt" >"$T/calls.txt" &&
        sed -n 's|^Batch/Slow ||p' "$T/calls.txt"
}

# ---- nothing has run ----
"$P" stats >"$T/out" 2>&1
check "stats, no counters" 0 $?
contains "stats, no counters" "$T/out" "no counters yet"
"$P" stats --json >"$T/none.json" 2>&1
check "stats --json, no counters" 0 $?
$PY "$CHECKS/json_stats.py" "$T/none.json" none
check "stats --json shape, no counters" 0 $?
"$P" register "$SRC/tests/batch/batch.xml" >/dev/null
check "register" 0 $?
"$P" list >/dev/null
[ -e "$T/db/counters" ]
check "a command that runs nothing makes no counters file" 1 $?

# ---- a running batch ----
{ echo n,ms; i=1; while [ $i -le 2000 ]; do echo $i,40; i=$((i + 1)); done; } >"$T/rows.csv"
"$P" batch --call Batch Slow --rows "$T/rows.csv" --jobs 2 --out "$T/out.jsonl" 2>"$T/batch.err" &
B=$!
c1=
while kill -0 $B 2>/dev/null; do
    c1=$(calls)
    [ -n "$c1" ] && break
done
c2=$c1
while [ -n "$c1" ] && kill -0 $B 2>/dev/null; do
    c2=$(calls)
    [ "$c2" != "$c1" ] && break
done
[ -n "$c1" ] && [ -n "$c2" ] && [ "$c2" -gt "$c1" ]
check "stats --prometheus: the calls rise during the batch ($c1, then $c2)" 0 $?
contains "stats --prometheus: the writer runs" "$T/prom.txt" "provost_counters_writer_live 1"
"$P" stats --json >"$T/live.json" 2>&1
$PY "$CHECKS/json_stats.py" "$T/live.json" live
check "stats --json shape, live" 0 $?
: >"$T/watch.json"
"$P" stats --json --watch 0.1 >>"$T/watch.json" 2>&1 &
W=$!
while [ "$(wc -l <"$T/watch.json")" -lt 2 ] && kill -0 $W 2>/dev/null; do sleep 0.1; done
kill $W 2>/dev/null
wait $W 2>/dev/null
head -n 2 "$T/watch.json" >"$T/watch2.json" # (the kill may cut a third short)
$PY "$CHECKS/json_stats.py" "$T/watch2.json" live
check "stats --json --watch: snapshots, one a line" 0 $?
kill -INT $B
wait $B
B=
"$P" stats >"$T/out" 2>&1
check "stats after the batch" 0 $?
contains "stats: the writer exited" "$T/out" "exited (its last values)"
done=$(grep -c '"status":"succeeded"' "$T/out.jsonl")
[ "$(awk '$1 == "Batch/Slow" { print $2 }' "$T/out")" = "$done" ]
check "stats: the last values are the batch's ($done calls)" 0 $?
"$P" stats --prometheus >"$T/prom.txt" 2>&1
$PY "$CHECKS/prom_check.py" "$T/prom.txt" settled >"$T/calls.txt"
check "stats --prometheus after the batch: parses, each histogram's count is the calls" 0 $?
contains "stats --prometheus: every procedure" "$T/calls.txt" "Batch/W1 $done"
contains "stats --prometheus: the writer ended" "$T/prom.txt" "provost_counters_writer_live 0"
w=$(sed -n 's/^provost_journal_writes_total //p' "$T/prom.txt")
[ -n "$w" ] && [ "$w" -ge "$done" ]
check "stats --prometheus: the journal's writes are published (${w:-none} for $done requests)" 0 $?
contains "stats --prometheus: the journal's syncs are published" "$T/prom.txt" "provost_journal_syncs_total 0"
contains "stats --prometheus: calls by outcome" "$T/prom.txt" \
    "provost_procedure_calls_total{namespace=\"Batch\",procedure=\"W1\",outcome=\"succeeded\"} $done"
contains "stats --prometheus: no rollback yet" "$T/prom.txt" "provost_rollbacks_total 0"

# ---- failures by code ----
echo "<data><n>1</n><code>0x80070005</code><description>denied</description></data>" >"$T/fail.xml"
"$P" call Batch Write3 "$T/fail.xml" >/dev/null 2>&1
check "a request that fails" 1 $?
"$P" stats --prometheus >"$T/prom.txt" 2>&1
$PY "$CHECKS/prom_check.py" "$T/prom.txt" settled >/dev/null
check "stats --prometheus after a failure: parses" 0 $?
contains "stats --prometheus: the failure by its code" "$T/prom.txt" 'provost_failures_total{code="0x80070005"} 1'
contains "stats --prometheus: its rollback" "$T/prom.txt" "provost_rollbacks_total 1"
contains "stats --prometheus: the failed call" "$T/prom.txt" \
    'provost_procedure_calls_total{namespace="Batch",procedure="Write3",outcome="failed"} 1'
contains "stats --prometheus: its duration" "$T/prom.txt" \
    'provost_procedure_duration_seconds_count{namespace="Batch",procedure="Write3"} 1'

# ---- a writer killed ----
"$P" batch --call Batch Slow --rows "$T/rows.csv" --jobs 2 --out "$T/out2.jsonl" 2>/dev/null &
B=$!
# until the new batch writes its own counters (the first batch's stay until then)
while kill -0 $B 2>/dev/null; do
    calls >/dev/null
    grep -q '^provost_counters_generation 3$' "$T/prom.txt" && grep -q '^provost_counters_writer_live 1$' "$T/prom.txt" &&
        break
done
kill -9 $B
wait $B 2>/dev/null
B=
"$P" stats >"$T/out" 2>&1
check "stats, writer killed" 0 $?
contains "stats: a killed writer is reported" "$T/out" "died without closing (its last values)"
contains "stats: a new generation (the call's was the second)" "$T/out" "generation 3"
"$P" stats --json >"$T/died.json" 2>&1
$PY "$CHECKS/json_stats.py" "$T/died.json" died
check "stats --json, writer killed" 0 $?

# ---- damage ----
cp "$T/db/counters" "$T/good"
head -c 100 "$T/good" >"$T/db/counters"
"$P" stats >"$T/out" 2>&1
check "stats, truncated file" 2 $?
contains "stats, truncated file" "$T/out" "counters: truncated"
one_line "stats, truncated file" "$T/out"
{ printf 'NOTCOUNT'; tail -c +9 "$T/good"; } >"$T/db/counters"
"$P" stats --prometheus >"$T/out" 2>&1
check "stats, bad magic" 2 $?
contains "stats, bad magic" "$T/out" "not a counters file"
one_line "stats, bad magic" "$T/out"
{ head -c 4096 "$T/good"; head -c 300 /dev/urandom; } >"$T/db/counters"
"$P" stats --json >"$T/out" 2>&1
check "stats, garbage after the header" 2 $?
one_line "stats, garbage after the header" "$T/out"
{ head -c 8 "$T/good"; printf '\001\000\000\000'; tail -c +13 "$T/good"; } >"$T/db/counters"
"$P" stats >"$T/out" 2>&1
check "stats, an older format" 2 $?
contains "stats, an older format" "$T/out" "format version 1, an older provost's"
one_line "stats, an older format" "$T/out"
rm "$T/db/counters"
mkdir "$T/db/counters"
"$P" stats >"$T/out" 2>&1
check "stats, a directory" 2 $?
contains "stats, a directory" "$T/out" "not a regular file"
rmdir "$T/db/counters"

# ---- bad options ----
"$P" stats --watch 0 >"$T/out" 2>&1
check "stats --watch 0" 2 $?
contains "stats --watch 0" "$T/out" "--watch takes seconds"
"$P" stats --xml >"$T/out" 2>&1
check "stats --xml" 2 $?
"$P" stats --help >"$T/out" 2>&1
contains "stats --help" "$T/out" "--prometheus"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
