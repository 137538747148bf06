#!/bin/sh
# `provost batch forget BATCH`: removes exactly that batch's recorded outcomes (another
# batch's stay), says how many; refuses while a transaction of the batch is stuck in the
# journal, and works once it is resolved; a batch with no outcomes and a malformed id are
# refused in one line.  `provost config set outcome-retention`: a batch older than it is
# forgotten when an engine next opens the database, a younger one and one with a stuck
# transaction are kept; bad settings are refused.
# usage: forget.sh PROVOST
set -u
P=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
export PROVOST_DB="$T/db" PROVOST_SYNC=none

cat >"$T/forget.xml" <<'XML'
<namespace name="Forget" providerSource="test">
  <procedure name="W1" type="write" saveDataForRollback="1"/>
  <procedure name="FailRollback" type="write" saveDataForRollback="1"/>
  <procedure name="Fail" type="write"/>
  <procedure name="Ok" type="write" access="public">
    <execute namespace="Forget" procedure="W1"><before source="data" sourcePath="n" destination="executeData"/></execute>
  </procedure>
  <procedure name="Stuck" type="write" access="public">
    <execute namespace="Forget" procedure="FailRollback"/>
    <execute namespace="Forget" procedure="Fail"><before source="data" sourcePath="code" destination="executeData"/></execute>
  </procedure>
</namespace>
XML
"$P" register "$T/forget.xml" >/dev/null
check "register" 0 $?
batch_id() { sed -n 's/.*(batch \([0-9a-f]*\)).*/\1/p' "$1"; }

printf 'n\n1\n2\n3\n' >"$T/three.csv"
printf 'n\n1\n2\n' >"$T/two.csv"
"$P" batch -q --call Forget Ok --rows "$T/three.csv" --out "$T/b1.jsonl" 2>"$T/b1.err"
check "batch 1" 0 $?
"$P" batch -q --call Forget Ok --rows "$T/two.csv" --out "$T/b2.jsonl" 2>"$T/b2.err"
check "batch 2" 0 $?
B1=$(batch_id "$T/b1.err")
B2=$(batch_id "$T/b2.err")
[ ${#B1} -eq 32 ] && [ ${#B2} -eq 32 ] && [ "$B1" != "$B2" ]
check "batch ids in the summaries" 0 $?

"$P" batch forget "$B1" >"$T/out" 2>&1
check "forget batch 1" 0 $?
contains "forget batch 1: its three outcomes" "$T/out" "forgot batch $B1: 3 outcomes removed"
"$P" batch forget "$B1" >"$T/out" 2>&1
check "forget batch 1 again" 2 $?
contains "forget batch 1 again" "$T/out" "batch $B1 has no recorded outcomes"
"$P" batch forget "$B2" >"$T/out" 2>&1
check "forget batch 2: untouched by batch 1's" 0 $?
contains "forget batch 2: its two outcomes" "$T/out" "forgot batch $B2: 2 outcomes removed"

# a stuck transaction of the batch keeps its outcomes until it is resolved
printf 'code\n0x80004005\n' >"$T/stuck.csv"
"$P" batch -q --call Forget Stuck --rows "$T/stuck.csv" --out "$T/b3.jsonl" 2>"$T/b3.err"
check "batch 3 (stuck)" 1 $?
contains "batch 3 is stuck" "$T/b3.jsonl" '"status":"stuck"'
B3=$(batch_id "$T/b3.err")
"$P" batch forget "$B3" >"$T/out" 2>&1
check "forget a batch with a stuck transaction" 2 $?
contains "forget a batch with a stuck transaction" "$T/out" "has 1 transaction still in the journal"
[ "$(wc -l <"$T/out")" -eq 1 ]
check "forget a batch with a stuck transaction: one line" 0 $?
TX=$(sed -n 's/.*"transactionId":"\([^"]*\)".*/\1/p' "$T/b3.jsonl")
"$P" txn resolve "$TX" --rolled-back >/dev/null 2>&1
check "resolve the stuck transaction" 0 $?
"$P" batch forget "$B3" >"$T/out" 2>&1
check "forget batch 3 once resolved" 0 $?
contains "forget batch 3 once resolved" "$T/out" "1 outcome removed"

# retention
"$P" config get outcome-retention >"$T/out" 2>&1
check "config get, default" 0 $?
contains "config get, default" "$T/out" "forever"
for bad in 10x -1 d 99999999999d; do
    "$P" config set outcome-retention "$bad" >"$T/out" 2>&1
    check "config set outcome-retention $bad" 2 $?
    contains "config set outcome-retention $bad" "$T/out" "takes a duration"
done
"$P" config set nothing 1 >"$T/out" 2>&1
check "config set an unknown setting" 2 $?
"$P" config set outcome-retention 1s >/dev/null
check "config set outcome-retention 1s" 0 $?
"$P" config get outcome-retention >"$T/out" 2>&1
contains "config get outcome-retention" "$T/out" "1s"
"$P" batch -q --call Forget Ok --rows "$T/two.csv" --out "$T/b4.jsonl" 2>"$T/b4.err"
B4=$(batch_id "$T/b4.err")
"$P" batch -q --call Forget Stuck --rows "$T/stuck.csv" --out "$T/b5.jsonl" 2>"$T/b5.err"
B5=$(batch_id "$T/b5.err")
sleep 2 # until both are older than the retention
"$P" config set outcome-retention 1h >/dev/null # (opening the database forgets batch 4 first)
"$P" batch -q --call Forget Ok --rows "$T/two.csv" --out "$T/b6.jsonl" 2>"$T/b6.err"
B6=$(batch_id "$T/b6.err")
"$P" list >/dev/null
"$P" batch forget "$B4" >"$T/out" 2>&1
check "retention: an expired batch was forgotten at open" 2 $?
contains "retention: an expired batch was forgotten at open" "$T/out" "has no recorded outcomes"
"$P" batch forget "$B5" >"$T/out" 2>&1
check "retention: a batch with a stuck transaction is kept" 2 $?
contains "retention: a batch with a stuck transaction is kept" "$T/out" "still in the journal"
"$P" batch forget "$B6" >"$T/out" 2>&1
check "retention: a younger batch is kept" 0 $?
contains "retention: a younger batch is kept" "$T/out" "2 outcomes removed"
"$P" config set outcome-retention forever >/dev/null
"$P" config get outcome-retention >"$T/out" 2>&1
contains "config set outcome-retention forever" "$T/out" "forever"

# bad ids
for bad in xyz 0123456789ABCDEF0123456789ABCDEF 0123456789abcdef0123456789abcde; do
    "$P" batch forget "$bad" >"$T/out" 2>&1
    check "forget '$bad'" 2 $?
    contains "forget '$bad'" "$T/out" "is not a batch id"
done
"$P" batch forget >"$T/out" 2>&1
check "forget without an id" 2 $?
contains "forget without an id" "$T/out" "usage: provost"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
