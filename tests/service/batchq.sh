#!/bin/sh
# Batches and the queue of the HTTP service, through curl against real `provost serve`
# processes on 127.0.0.1 (port 0), each stopped by the trap whatever happens.  Groups:
#   batch    200 requests posted, polled to the end, results streamed and counted, the
#            failed one reported; CSV and JSON Lines rows with ?call; malformed bodies
#            answered 400 with nothing stored
#   owner    a batch is its principal's: another user gets 403, an unknown id 404
#   resume   kill -9 of the service in the middle of a batch, then a restart: the batch is
#            resumed and finishes, every request run once (the test provider's trace);
#            SIGTERM stops a batch resumably
#   queue    submit, list, status, results with --worker; suspended + activate; retry of
#            a job awaiting its operator; delete; refused without the trusted right
# usage: batchq.sh GROUP PROVOST
set -u
GROUP=$1
P=$2
. "$(dirname "$0")/lib.sh"

cat >"$T/ns.xml" <<'EOF'
<namespace name="T" providerSource="test">
  <procedure name="Echo" type="read" access="public"/>
  <procedure name="Sleep" type="write" access="public"/>
  <procedure name="Fail" type="read" access="public"/>
  <procedure name="Hidden" type="read"/>
</namespace>
EOF
"$P" register "$T/ns.xml" >/dev/null 2>&1; check "register" 0 $?
"$P" user add anon >/dev/null 2>&1; check "user add" 0 $?

# req NAME STATUS CURL-ARGS...: the response's status is STATUS; body in $T/body
req() {
    name=$1
    want=$2
    shift 2
    got=$(curl -s -g -o "$T/body" -D "$T/head" -w '%{http_code}' "$@")
    check "$name" "$want" "$got"
}

# field NAME FILE: a number or string field of the one JSON object in FILE
field() {
    sed -n -e "s/.*\"$1\": \"\([^\"]*\)\".*/\1/p" -e t -e "s/.*\"$1\": \([^,}]*\).*/\1/p" "$2"
}

# finish ID [ARGS]: polls GET /batch/ID until it is no longer queued or running
finish() {
    id=$1
    shift
    i=0
    while [ $i -lt 1200 ]; do
        curl -s -o "$T/status" "$@" "$U/batch/$id"
        case $(field state "$T/status") in queued | running) ;; *) return ;; esac
        sleep 0.1
        i=$((i + 1))
    done
}

lacks() { # lacks NAME FILE TEXT
    if grep -qF -- "$3" "$2"; then fail=$((fail + 1)); echo "FAIL: $1: '$3' in $2"; else pass=$((pass + 1)); fi
}

batches() { ls "$T/db/service-batches" 2>/dev/null | wc -l | tr -d ' '; }

# rows N MS: a CSV of N rows n,ms
rows() {
    echo "n,ms"
    i=1
    while [ $i -le "$1" ]; do
        echo "$i,$2"
        i=$((i + 1))
    done
}

case $GROUP in
batch)
    start batch --allow-anonymous anon --batch-jobs 2
    {
        echo "<requests>"
        i=1
        while [ $i -le 200 ]; do
            if [ $i = 77 ]; then
                echo "<request><procedure><execute namespace='T' procedure='Fail'/></procedure><data/></request>"
            else
                echo "<request><procedure><execute namespace='T' procedure='Echo'/></procedure><data><n>$i</n></data></request>"
            fi
            i=$((i + 1))
        done
        echo "</requests>"
    } >"$T/reqs.xml"
    req "a batch of 200 posted" 202 -X POST -H 'Content-Type: application/xml' --data-binary @"$T/reqs.xml" "$U/batch"
    ID=$(field id "$T/body")
    contains "its status URL" "$T/body" "\"status\": \"/batch/$ID\""
    contains "Location" "$T/head" "Location: /batch/$ID"
    finish "$ID"
    contains "done" "$T/status" '"state": "done"'
    contains "200 done" "$T/status" '"done": 200, "total": 200, "failed": 1'
    contains "by status" "$T/status" '"by_status": {"succeeded": 199, "failed": 1, "stuck": 0, "invalid": 0}'
    contains "the failure by code" "$T/status" '"failures": [{"code": "0x80004005", "count": 1}]'
    req "results" 200 "$U/batch/$ID/results"
    contains "as JSON Lines" "$T/head" "Content-Type: application/x-ndjson"
    check "200 result lines" 200 "$(wc -l <"$T/body" | tr -d ' ')"
    check "each position once" 200 "$(sed 's/,.*//' "$T/body" | sort -u | wc -l | tr -d ' ')"
    check "one failed line" 1 "$(grep -c '"status":"failed"' "$T/body")"
    contains "the failed part" "$T/body" '"position":77,'
    contains "its description" "$T/body" '"description":"Test failure"'
    # rows: CSV and JSON Lines, with ?call
    printf 'n,description\n1,a\n2,b\n3,c\n' >"$T/rows.csv"
    req "CSV rows" 202 -X POST -H 'Content-Type: text/csv' --data-binary @"$T/rows.csv" "$U/batch?call=T/Echo"
    CSV=$(field id "$T/body")
    finish "$CSV"
    contains "CSV done" "$T/status" '"state": "done"'
    contains "3 rows run" "$T/status" '"done": 3, "total": 3, "failed": 0'
    contains "it says what it called" "$T/status" '"call": "T/Echo", "format": "csv"'
    printf '{"description":"x"}\n{"description":"y"}\n' >"$T/rows.jsonl"
    req "JSON Lines rows" 202 -X POST -H 'Content-Type: application/x-ndjson' --data-binary @"$T/rows.jsonl" "$U/batch?call=T/Fail"
    JL=$(field id "$T/body")
    finish "$JL"
    contains "2 rows, both failed" "$T/status" '"done": 2, "total": 2, "failed": 2'
    req "their results" 200 "$U/batch/$JL/results"
    contains "the row's description" "$T/body" '"description":"y"'
    # malformed: 400, nothing stored
    n=$(batches)
    req "malformed XML" 400 -X POST --data-binary '<requests><request>' "$U/batch"
    contains "says where" "$T/body" 'malformed batch: 1:'
    req "empty body" 400 -X POST "$U/batch"
    req "rows without ?call" 400 -X POST -H 'Content-Type: text/csv' --data-binary @"$T/rows.csv" "$U/batch"
    req "a bad ?call" 400 -X POST -H 'Content-Type: text/csv' --data-binary @"$T/rows.csv" "$U/batch?call=T"
    req "a bad CSV header" 400 -X POST -H 'Content-Type: text/csv' --data-binary '1bad,x
1,2' "$U/batch?call=T/Echo"
    req "an unknown procedure" 404 -X POST -H 'Content-Type: text/csv' --data-binary @"$T/rows.csv" "$U/batch?call=T/Nope"
    req "a private procedure" 403 -X POST -H 'Content-Type: text/csv' --data-binary @"$T/rows.csv" "$U/batch?call=T/Hidden"
    check "nothing stored for the refused ones" "$n" "$(batches)"
    check "no half-made directory" 0 "$(ls -a "$T/db/service-batches" | grep -c '^\.new')"
    req "unknown batch" 404 "$U/batch/0123456789abcdef0123456789abcdef"
    req "unknown batch's results" 404 "$U/batch/0123456789abcdef0123456789abcdef/results"
    kill -TERM "$SP"; wait "$SP"; check "SIGTERM: exit 0" 0 $?
    # a finished batch is still there after a restart, and not run again
    start again --allow-anonymous anon
    req "after a restart" 200 "$U/batch/$ID"
    contains "still done" "$T/body" '"done": 200, "total": 200, "failed": 1'
    lacks "nothing resumed" "$T/again.log" "resume"
    kill -TERM "$SP"; wait "$SP"
    ;;
owner)
    "$P" user add alice >/dev/null 2>&1 && "$P" user add bob >/dev/null 2>&1
    "$P" grant alice execute --namespace T >/dev/null 2>&1; check "grant alice" 0 $?
    "$P" grant bob execute --namespace T >/dev/null 2>&1; check "grant bob" 0 $?
    "$P" user add adm >/dev/null 2>&1 && "$P" grant adm admin >/dev/null 2>&1; check "an administrator" 0 $?
    printf '<namespace name="U" providerSource="test"><procedure name="Echo" type="read" access="public"/></namespace>' >"$T/u.xml"
    "$P" register "$T/u.xml" >/dev/null 2>&1; check "register U" 0 $?
    "$P" token create --user adm >"$T/adm.tok" 2>/dev/null; check "token for adm" 0 $?
    "$P" token create --user alice >"$T/alice.tok" 2>/dev/null; check "token for alice" 0 $?
    "$P" token create --user bob >"$T/bob.tok" 2>/dev/null; check "token for bob" 0 $?
    ALICE="Authorization: Bearer $(cat "$T/alice.tok")"
    BOB="Authorization: Bearer $(cat "$T/bob.tok")"
    start owner
    req "no token" 401 -X POST --data-binary '<requests/>' "$U/batch"
    printf 'n\n1\n2\n' >"$T/rows.csv"
    req "alice posts a batch" 202 -H "$ALICE" -X POST -H 'Content-Type: text/csv' --data-binary @"$T/rows.csv" "$U/batch?call=T/Echo"
    ID=$(field id "$T/body")
    finish "$ID" -H "$ALICE"
    contains "alice sees it" "$T/status" '"principal": "alice"'
    contains "run for alice" "$T/status" '"done": 2, "total": 2, "failed": 0'
    req "bob may not see it" 403 -H "$BOB" "$U/batch/$ID"
    contains "says whose" "$T/body" "another principal's"
    req "nor its results" 403 -H "$BOB" "$U/batch/$ID/results"
    req "bob: unknown id" 404 -H "$BOB" "$U/batch/ffffffffffffffffffffffffffffffff"
    # each request runs for the poster: bob's rights refuse a procedure of another namespace
    req "bob posts calls he may not make" 202 -H "$BOB" -X POST -H 'Content-Type: text/csv' --data-binary @"$T/rows.csv" "$U/batch?call=U/Echo"
    B=$(field id "$T/body")
    finish "$B" -H "$BOB"
    contains "refused for bob" "$T/status" '"failures": [{"code": "0x80070005", "count": 2}]'
    req "an administrator sees bob's batch" 200 -H "Authorization: Bearer $(cat "$T/adm.tok")" "$U/batch/$B"
    req "and its results" 200 -H "Authorization: Bearer $(cat "$T/adm.tok")" "$U/batch/$B/results"
    check "two lines" 2 "$(wc -l <"$T/body" | tr -d ' ')"
    kill -TERM "$SP"; wait "$SP"; check "SIGTERM" 0 $?
    ;;
resume)
    rows 200 30 >"$T/slow.csv"
    export PROVOST_TEST_TRACE="$T/trace"
    start resume --allow-anonymous anon --sync none --batch-jobs 2
    req "a slow batch" 202 -X POST -H 'Content-Type: text/csv' --data-binary @"$T/slow.csv" "$U/batch?call=T/Sleep"
    ID=$(field id "$T/body")
    R="$T/db/service-batches/$ID/results.jsonl"
    i=0
    while [ "$(wc -l <"$R" 2>/dev/null || echo 0)" -lt 20 ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
    kill -9 "$SP"; wait "$SP" 2>/dev/null
    n=$(wc -l <"$R" | tr -d ' ')
    [ "$n" -lt 200 ]; check "killed in the middle ($n of 200 written)" 0 $?
    start resume2 --allow-anonymous anon --sync none --batch-jobs 2
    contains "it resumes" "$T/resume2.log" "1 unfinished batch to resume"
    finish "$ID"
    contains "finished after the restart" "$T/status" '"state": "done"'
    contains "200 done" "$T/status" '"done": 200, "total": 200'
    req "results" 200 "$U/batch/$ID/results"
    check "200 result lines" 200 "$(wc -l <"$T/body" | tr -d ' ')"
    check "each position once" 200 "$(sed 's/,.*//' "$T/body" | sort -u | wc -l | tr -d ' ')"
    grep "^process	T/Sleep" "$T/trace" | sed 's/.*<n>\([0-9]*\)<.*/\1/' | sort -n >"$T/ran"
    check "no request ran twice" 0 "$(uniq -d "$T/ran" | wc -l | tr -d ' ')"
    ran=$(wc -l <"$T/ran" | tr -d ' ')
    # a request whose start was journaled but whose call had not begun at the kill is
    # ended by recovery without running: at most one per batch thread
    [ "$ran" -ge 198 ] && [ "$ran" -le 200 ]; check "every request ran once ($ran)" 0 $?
    # SIGTERM in the middle: the running requests finish, the batch stays resumable
    req "another" 202 -X POST -H 'Content-Type: text/csv' --data-binary @"$T/slow.csv" "$U/batch?call=T/Sleep"
    ID2=$(field id "$T/body")
    R2="$T/db/service-batches/$ID2/results.jsonl"
    i=0
    while [ "$(wc -l <"$R2" 2>/dev/null || echo 0)" -lt 10 ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
    kill -TERM "$SP"; wait "$SP"; check "SIGTERM mid-batch: exit 0" 0 $?
    contains "stopped resumable" "$T/resume2.log" "batch $ID2: stopped, resumable"
    "$P" txn list >"$T/txn" 2>&1
    contains "nothing left running" "$T/txn" "no transaction in the journal"
    start resume3 --allow-anonymous anon --sync none --batch-jobs 2
    finish "$ID2"
    contains "the second finished too" "$T/status" '"done": 200, "total": 200, "failed": 0'
    grep "^process	T/Sleep" "$T/trace" | sed 's/.*<n>\([0-9]*\)<.*/\1/' | sort -n | uniq -c | awk '$1 > 2' >"$T/twice"
    check "no request of the second ran twice" 0 "$(wc -l <"$T/twice" | tr -d ' ')"
    kill -TERM "$SP"; wait "$SP"
    ;;
queue)
    "$P" user add ops >/dev/null 2>&1 && "$P" user add bob >/dev/null 2>&1
    "$P" grant ops trusted >/dev/null 2>&1; check "grant ops trusted" 0 $?
    "$P" grant ops execute --namespace T >/dev/null 2>&1 && "$P" grant bob execute --namespace T >/dev/null 2>&1
    "$P" token create --user ops >"$T/ops.tok" 2>/dev/null; check "token for ops" 0 $?
    "$P" token create --user bob >"$T/bob.tok" 2>/dev/null; check "token for bob" 0 $?
    OPS="Authorization: Bearer $(cat "$T/ops.tok")"
    BOB="Authorization: Bearer $(cat "$T/bob.tok")"
    OK="<request><procedure><execute namespace='T' procedure='Echo'/></procedure><data><q>1</q></data></request>"
    FAIL="<request><procedure><execute namespace='T' procedure='Fail'/></procedure><context><queueContext retryCount='0' onFailure='queueToOperator'/></context></request>"
    # without a worker, a job waits
    start nowork
    req "submit" 201 -H "$OPS" -X POST --data-binary "$OK" "$U/queue"
    A=$(field id "$T/body")
    case $A in 1:\{*-*-*-*-*\}) r=0 ;; *) r=1 ;; esac; check "the id looks like 1:{UUID}: $A" 0 $r
    req "refused without trusted" 403 -H "$BOB" -X POST --data-binary "$OK" "$U/queue"
    contains "names the right" "$T/body" "principal 'bob' lacks the right trusted"
    req "bob may not list" 403 -H "$BOB" "$U/queue"
    req "not a trusted request" 400 -H "$OPS" -X POST --data-binary '<request><data/></request>' "$U/queue"
    req "bad priority" 400 -H "$OPS" -X POST --data-binary "$OK" "$U/queue?priority=x"
    req "status" 200 -H "$OPS" "$U/queue/$A"
    contains "pending" "$T/body" '"state_name": "PENDING"'
    req "no results yet" 404 -H "$OPS" "$U/queue/$A/results"
    kill -TERM "$SP"; wait "$SP"; check "SIGTERM" 0 $?
    # --worker runs it
    export PROVOST_TEST_TRACE="$T/trace"
    start work --worker
    i=0
    while [ $i -lt 600 ]; do
        curl -s -g -o "$T/st" -H "$OPS" "$U/queue/$A"
        grep -q '"state_name": "SUCCESS"' "$T/st" && break
        sleep 0.05
        i=$((i + 1))
    done
    contains "the worker ran it" "$T/st" '"state_name": "SUCCESS"'
    req "its results" 200 -H "$OPS" "$U/queue/$A/results"
    contains "the response" "$T/body" "<q>1</q>"
    "$P" audit --principal ops >"$T/audit" 2>&1
    req "list" 200 -H "$OPS" "$U/queue"
    contains "lists it" "$T/body" "\"id\": \"$A\""
    # suspended, then activated
    req "submit suspended" 201 -H "$OPS" -X POST --data-binary "$OK" "$U/queue?suspended=1&priority=-60"
    S=$(field id "$T/body")
    req "list SUSPENDED" 200 -H "$OPS" "$U/queue?state=SUSPENDED"
    contains "the suspended one" "$T/body" "\"id\": \"$S\""
    lacks "not the finished one" "$T/body" "\"id\": \"$A\""
    req "bad state" 400 -H "$OPS" "$U/queue?state=NOPE"
    req "activate" 200 -H "$OPS" -X POST "$U/queue/$S/activate"
    i=0
    while [ $i -lt 600 ]; do
        curl -s -g -o "$T/st" -H "$OPS" "$U/queue/$S"
        grep -q '"state_name": "SUCCESS"' "$T/st" && break
        sleep 0.05
        i=$((i + 1))
    done
    contains "activated, it ran" "$T/st" '"state_name": "SUCCESS"'
    req "activate again" 409 -H "$OPS" -X POST "$U/queue/$S/activate"
    # a failure for the operator, retried
    req "submit a failing job" 201 -H "$OPS" -X POST --data-binary "$FAIL" "$U/queue"
    F=$(field id "$T/body")
    i=0
    while [ $i -lt 600 ]; do
        curl -s -g -o "$T/st" -H "$OPS" "$U/queue/$F"
        grep -q '"state_name": "FAILED_AWAITING_OPERATOR"' "$T/st" && break
        sleep 0.05
        i=$((i + 1))
    done
    contains "awaits its operator" "$T/st" '"state_name": "FAILED_AWAITING_OPERATOR"'
    contains "with its code" "$T/st" '"code": "0x80004005"'
    check "it ran once" 1 "$(grep -c "^process	T/Fail" "$T/trace")"
    due=$(field due_ms "$T/st")
    req "retry" 200 -H "$OPS" -X POST "$U/queue/$F/retry"
    curl -s -g -o "$T/st" -H "$OPS" "$U/queue/$F"
    [ "$(field due_ms "$T/st")" -gt "$due" ]; check "retried: due again, now" 0 $?
    i=0
    while [ "$(grep -c "^process	T/Fail" "$T/trace")" -lt 2 ] && [ $i -lt 600 ]; do
        sleep 0.05
        i=$((i + 1))
    done
    check "retried: it ran again" 2 "$(grep -c "^process	T/Fail" "$T/trace")"
    req "retry of a job that is not awaiting its operator" 409 -H "$OPS" -X POST "$U/queue/$A/retry"
    # delete
    req "submit later" 201 -H "$OPS" -X POST --data-binary "$OK" "$U/queue?delay=3600"
    L=$(field id "$T/body")
    req "bob may not delete" 403 -H "$BOB" -X DELETE "$U/queue/$L"
    req "delete" 200 -H "$OPS" -X DELETE "$U/queue/$L"
    req "deleted" 404 -H "$OPS" "$U/queue/$L"
    req "unknown job" 404 -H "$OPS" "$U/queue/1:%7B00000000-0000-0000-0000-000000000000%7D"
    kill -TERM "$SP"; wait "$SP"; check "SIGTERM stops the worker: exit 0" 0 $?
    contains "says it stopped" "$T/work.log" "provost serve: stopped"
    ;;
*)
    echo "unknown group $GROUP"
    exit 2
    ;;
esac
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
