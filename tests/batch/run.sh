#!/bin/sh
# The tests of `provost batch`, one group per ctest entry.
# usage: run.sh GROUP PROVOST BATCH_TOOL SOURCE_DIR [sanitized]
#
#   results  10,000 rows (CSV), 10,000 requests (one XML file) and 2,000 JSON Lines rows,
#            failures and malformed ones mixed in: exactly the expected results
#   resume   a batch killed twice (SIGKILL inside a journal write, then kill -9 from
#            outside) and resumed: every request has one result and, by the test
#            provider's trace, ran once; one running at a kill was rolled back by recovery
#            and is not run again; resuming a finished batch runs nothing
#   rows     CSV and JSON Lines: quotes, embedded line breaks, paths, bad column names,
#            short and long rows, bad JSON
#   errors   malformed requests in the middle, --stop-on-error, directories, stdin,
#            batch requests, bad usage
#   signal   SIGINT stops taking requests, lets the running ones finish, prints the
#            summary and leaves a batch --resume finishes
#   sweep    a batch killed at (a sample of) every journal point, then resumed: each
#            row's provider effects happen once, as its recorded outcome says
#   memory   the maximum RSS of 200,000 requests against 10,000 (skipped under ASan)
#   corpus   the files of tests/batch/corpus (malformed, mistyped, garbage, truncated):
#            exactly the result lines of their .expected
#   parsing  one parser configuration: a request `run` accepts, `batch` accepts, and one
#            it refuses, `batch` refuses with the same message
#
# Nothing here is timed: a wait is for a file to reach a number of lines.
set -u
GROUP=$1
P=$2
BT=$3
SRC=$4
SANITIZED=${5:-}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
pass=0
fail=0
if [ -n "$SANITIZED" ]; then
    # every report of the sanitizers goes to a file: none may be written (exit statuses
    # alone would hide a leak in a run that exits 1 for its failed requests)
    mkdir "$T/san"
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$T/san/asan"
    UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$T/san/ubsan"
    TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS:}log_path=$T/san/tsan"
    export ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS
fi

check() { # check NAME EXPECTED_STATUS ACTUAL_STATUS
    if [ "$2" = "$3" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1 (exit $3, expected $2)"; fi
}
ok() { # ok NAME COMMAND...: the command succeeds
    name=$1
    shift
    if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $name"; fi
}
contains() { # contains NAME FILE TEXT
    if grep -qF -- "$3" "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1: '$3' not in:"; cat "$2"; fi
}
lacks() { # lacks NAME FILE TEXT
    if grep -qF -- "$3" "$2"; then fail=$((fail + 1)); echo "FAIL: $1: '$3' in:"; cat "$2"; else pass=$((pass + 1)); fi
}
lines() { # lines FILE: its number of lines
    wc -l <"$1" | tr -d ' '
}
newdb() { # newdb DIR: a database with the Batch namespace
    rm -rf "$1"
    "$P" --db "$1" register "$SRC/tests/batch/batch.xml" >/dev/null || { echo "FAIL: register"; exit 1; }
}

case "$GROUP" in
results)
    newdb db
    "$BT" rows csv 10000 rows.csv rows.expected
    "$P" --db db batch -q --sync none --call Batch Write3 --rows rows.csv --out rows.jsonl 2>err
    check "10,000 CSV rows with failures" 1 $?
    ok "CSV results as expected" "$BT" compare rows.jsonl rows.expected
    contains "summary counts" err "provost batch: 10000 requests: 8840 succeeded, 1160 failed"
    contains "summary by code" err "0x80004005: 762, 0x80070005: 295, 0x80070057: 103"
    contains "summary: rolled back and invalid" err "failed: 1057 rolled back, 103 invalid (never ran), 0 stuck"
    contains "summary: throughput and latency" err "requests/s); latency p50"
    contains "invalid rows reported with their line" err "rows.csv:101: request 97: the row has 1 field, the header 5"
    contains "the state file says finished" rows.jsonl.state "finished 1"

    "$BT" requests 10000 requests.xml requests.expected
    "$P" --db db batch -q --sync none --jobs 3 requests.xml --out out/ 2>err
    check "10,000 requests in one XML file" 1 $?
    ok "XML results as expected" "$BT" compare out/results.jsonl requests.expected
    ok "--out DIR keeps its state inside" test -s out/batch.state
    contains "a malformed request is reported with its line" err "requests.xml:102: request 97: malformed XML at line 102, column 31"

    "$BT" rows jsonl 2000 rows.jsonl rows.jsonl.expected
    # the default durability (group): each transaction's end is synced
    "$P" --db db batch -q --jobs 4 --call Batch Write3 --rows rows.jsonl --out j.jsonl 2>err
    check "2,000 JSON Lines rows (sync group)" 1 $?
    ok "JSONL results as expected" "$BT" compare j.jsonl rows.jsonl.expected

    # without --out: results on standard output, the summary on standard error
    "$BT" rows csv 300 small.csv small.expected
    "$P" --db db batch -q --sync none --call Batch Write3 --rows small.csv >stdout.jsonl 2>err
    check "results on stdout" 1 $?
    ok "stdout results as expected" "$BT" compare stdout.jsonl small.expected
    contains "summary on stderr" err "provost batch: 300 requests"
    "$P" --db db batch -q --sync none --responses --call Batch Write3 --rows small.csv >resp.jsonl 2>err
    contains "--responses adds the response" resp.jsonl '"response":"<response><data><n>1</n><user name=\"u1, jr\"/></data></response>"'
    ;;

resume)
    newdb db
    N=3000
    JOBS=4
    "$BT" rows csv $N rows.csv rows.expected 2000
    # 1. killed by SIGKILL inside a journal write (the engine's crash hook), mid-batch
    PROVOST_TEST_TRACE="$T/trace" PROVOST_CRASH_POINT=14007 "$P" --db db batch -q --jobs $JOBS --sync none \
        --call Batch Write3 --rows rows.csv --out res.jsonl >/dev/null 2>&1
    check "killed inside a journal write" 137 $?
    contains "the state is not finished" res.jsonl.state "finished 0"
    # 2. resumed, and killed again from outside while request 2000 is surely running (it
    #    sleeps 3 s in a write step: the trace shows when it started)
    PROVOST_TEST_TRACE="$T/trace" "$P" --db db batch -q --jobs $JOBS --resume --out res.jsonl >/dev/null 2>err &
    pid=$!
    "$BT" wait-text trace "process	Batch/Sleep	<executeData><n>2000</n>"
    kill -9 $pid
    wait $pid
    check "kill -9 during the resumed batch" 137 $?
    # 3. resumed to the end
    PROVOST_TEST_TRACE="$T/trace" "$P" --db db batch -q --jobs $JOBS --resume --out res.jsonl 2>err
    check "resumed to the end" 1 $?
    # the requests running at each kill were rolled back by recovery: failed, 0x80004004
    contains "resume summary" err "provost batch: $N requests: "
    contains "resume says what was done before" err "already in the results"
    contains "the state is finished" res.jsonl.state "finished 1"
    ok "results as expected, but for the requests running at a kill" "$BT" compare res.jsonl rows.expected
    ok "every request once, by the trace; none submitted again" "$BT" trace trace res.jsonl $N $((2 * JOBS))
    "$P" --db db txn list >out 2>&1
    contains "nothing left in the journal" out "no transaction in the journal"
    # resuming a finished batch runs nothing
    cp trace trace.before
    PROVOST_TEST_TRACE="$T/trace" "$P" --db db batch -q --resume --out res.jsonl 2>err
    check "resuming a finished batch" 1 $?
    ok "nothing ran again" cmp -s trace trace.before
    ok "no line added" test "$(lines res.jsonl)" = $N
    contains "all of it was done before" err "resumed: $N already in the results"
    # a new batch over finished results starts again (new id: everything runs)
    "$P" --db db batch -q --sync none --call Batch Write3 --rows rows.csv --out res.jsonl 2>err
    check "a new batch over a finished one" 1 $?
    lacks "a new batch runs everything" err "already in the results"
    ok "new results as expected" "$BT" compare res.jsonl rows.expected
    # a torn last line and garbage: dropped on resume, written again from the outcomes
    head -c -40 res.jsonl >torn.jsonl && printf 'garbage\n' >>torn.jsonl
    sed -i 's/^finished 1$/finished 0/' res.jsonl.state
    mv torn.jsonl res.jsonl
    "$P" --db db batch -q --resume --out res.jsonl 2>err
    check "resume over a torn line" 1 $?
    contains "the torn line is reported" err "1 incomplete line dropped"
    ok "results whole again" "$BT" compare res.jsonl rows.expected
    ;;

rows)
    newdb db
    show() { # show NAME FORMAT: run the rows in FILE through Batch/Show with responses
        "$P" --db db batch -q --sync none --jobs 1 --responses --call Batch Show --rows "$1" >out 2>err
    }
    printf '\357\273\277n,user/@name,user/address,user/address,note\r\n1,"Smith, Ann",a@x,,"said ""hi""\r\nthen left"\r\n\r\n2,Bo,b@x,b2@x,""\r\n' >q.csv
    show q.csv
    check "quotes, embedded line breaks, paths, a BOM" 0 $?
    contains "a quoted comma and a path" out '<data><n>1</n><user name=\"Smith, Ann\"><address>a@x</address></user><note>said \"hi\"&#13;\nthen left</note></data>'
    contains "repeated columns repeat elements" out '<user name=\"Bo\"><address>b@x</address><address>b2@x</address></user>'
    contains "an empty quoted field is an empty element" out '<note/>'
    contains "line of a row after an embedded line break" out '"position":2,"input":"q.csv","line":5'
    printf 'n,first name\n1,x\n' >bad.csv
    show bad.csv
    check "a column that is not an XML name" 2 $?
    contains "the bad column is named" err "bad.csv:1: column 2 'first name' cannot name an element"
    printf 'n,1st\n1,x\n' >bad2.csv
    show bad2.csv
    check "a column starting with a digit" 2 $?
    contains "the digit column is named" err "column 2 '1st'"
    printf 'n,a/@b/c\n1,x\n' >bad3.csv
    show bad3.csv
    check "an attribute in the middle of a path" 2 $?
    printf 'a,b,c\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n' >short.csv
    show short.csv
    check "short and long rows fail" 1 $?
    contains "a short row" out '"position":2,"input":"short.csv","line":3,"clientTransactionId":null,"transactionId":null,"status":"invalid","code":"0x80070057","description":"the row has 2 fields, the header 3"'
    contains "a long row" out '"description":"the row has 4 fields, the header 3"'
    contains "the rows after run" out '<data><a>10</a><b>11</b><c>12</c></data>'
    printf 'a,b\n1,x"y\n2,"z"w\n3,ok\n4,"never closed\n5,x\n' >quotes.csv
    show quotes.csv
    check "malformed quoting" 1 $?
    contains "a stray quote" out 'field 2 has a quote inside a value that is not quoted'
    contains "text after a closing quote" out 'field 2 has text after its closing quote'
    contains "an unclosed quote swallows the rest" out 'a quoted field that starts on line 5 is never closed'
    contains "good rows between bad ones run" out '<data><a>3</a><b>ok</b></data>'
    printf 'a,b\n1,\001\n' >ctl.csv
    show ctl.csv
    check "a control character" 1 $?
    contains "a control character is refused" out "the value of 'b' cannot be used: it holds a control character"
    : >empty.csv
    show empty.csv
    check "an empty CSV file" 2 $?
    contains "an empty CSV file says why" err "header row"

    printf '{"n":1,"user/@name":"a&b","tags":["x","y"],"ok":true,"count":2.5,"none":null,"e":""}\n\n  \n{"n":2,"nested":{"a":1}}\n{"n":3,"bad key":1}\n{"n":4\n[1]\n{"n":5,"n":6}\n' >j.jsonl
    show j.jsonl
    check "JSON Lines" 1 $?
    contains "scalars, arrays and an empty string" out '<data><n>1</n><user name=\"a&amp;b\"/><tags>x</tags><tags>y</tags><ok>true</ok><count>2.5</count><e/></data>'
    contains "a nested object" out "rows are flat"
    contains "a bad key is named" out "key 'bad key' cannot name an element"
    contains "malformed JSON with its line" out '"line":6,"clientTransactionId":null,"transactionId":null,"status":"invalid","code":"0x80070057","description":"malformed JSON'
    contains "not an object" out '"line":7,'
    contains "a duplicate key" out 'duplicate object key'
    printf '{"n":1}\n' >rows.txt
    show rows.txt
    check "JSON Lines found by its first character" 0 $?
    "$P" --db db batch -q --sync none --call Batch Show --format csv --rows - <q.csv >out 2>err
    check "rows from standard input" 0 $?
    contains "stdin is named" out '"input":"<stdin>"'
    ;;

errors)
    newdb db
    proc='<procedure><execute namespace="Batch" procedure="Write3"><before source="data" destination="executeData" mode="merge"/></execute></procedure>'
    {
        echo '<requests>'
        for i in 1 2 3; do echo "<request><data><n>$i</n></data>$proc</request>"; done
        echo "<request><data><n>4</n><x></data>$proc</request>"
        echo "<request><data><n>5</n></data>$proc</request><request><data><n>6</n></data>$proc</request>"
        echo "<request><data><n>7</n></data><procedure><execute namespace=\"Batch\" procedure=\"Nope\"/></procedure></request>"
        echo "<data><n>8</n></data>"
        echo "<request><data><n>9</n><code>0x80004005</code></data>$proc</request>"
        echo "<request><data><n>10</n></data>$proc</request>"
        echo '</requests>'
    } >mixed.xml
    "$P" --db db batch -q --sync none --jobs 2 mixed.xml --out mixed.jsonl 2>err
    check "malformed requests in the middle" 1 $?
    "$BT" normalise mixed.jsonl >n.jsonl
    ok "every position has a line" test "$(lines n.jsonl)" = 10
    contains "the broken request, with its line and column" n.jsonl '"position":4,"input":"mixed.xml","line":5,"clientTransactionId":null,"transactionId":null,"status":"invalid","code":"0x80070057","description":"malformed XML at line 5, column 34: Opening and ending tag mismatch: x and data"'
    contains "two requests on one line" n.jsonl '"position":6,"input":"mixed.xml","line":6,'
    contains "a procedure that does not compile" n.jsonl '"position":7,"input":"mixed.xml","line":7,'
    contains "a data outside a request" n.jsonl 'a <data> outside a <request>'
    contains "a failure after them" n.jsonl '"position":9,"input":"mixed.xml","line":9,"clientTransactionId":null,"transactionId":"X","status":"failed","code":"0x80004005"'
    contains "the last one ran" n.jsonl '"position":10,"input":"mixed.xml","line":10,"clientTransactionId":null,"transactionId":"X","status":"succeeded"'
    contains "malformed reported on stderr" err "mixed.xml:5: request 4: malformed XML at line 5"
    # --stop-on-error with one worker: positions 1..3 ran, 4 failed, nothing after it
    "$P" --db db batch -q --sync none --jobs 1 --stop-on-error mixed.xml --out stop.jsonl 2>err
    check "--stop-on-error" 1 $?
    ok "nothing after the first failure" test "$(lines stop.jsonl)" = 4
    contains "stopped, resumable" err "stopped at the first failure (--stop-on-error)"
    contains "how to go on" err "continue with: provost batch --resume --out stop.jsonl"
    "$P" --db db batch -q --sync none --jobs 1 --resume --out stop.jsonl 2>err
    check "resume after --stop-on-error" 1 $?
    ok "then every position" test "$(lines stop.jsonl)" = 10
    "$P" --db db batch -q --sync none mixed.xml --out stop.jsonl 2>err
    check "a new batch over a finished one" 1 $?

    # a directory, a request with several data and globalData, stdin
    mkdir dir
    for i in 3 1 2; do echo "<request><data><n>$i</n></data>$proc</request>" >dir/r$i.xml; done
    echo "not xml" >dir/notes.txt
    printf '<request>\n<globalData><g>1</g></globalData>\n<data><n>11</n></data>\n<data><n>12</n></data>\n<data><n>13</n></data>\n<context><clientContext clientTransactionId="many"/></context>\n%s</request>\n' "$proc" >dir/z-batch.xml
    PROVOST_TEST_TRACE="$T/trace" "$P" --db db batch -q --sync none --jobs 1 dir --out dir.jsonl 2>err
    check "a directory" 0 $?
    "$BT" normalise dir.jsonl >n.jsonl
    contains "its files in name order" n.jsonl '"position":1,"input":"dir/r1.xml"'
    contains "a request with several data: one per data" n.jsonl '"position":6,"input":"dir/z-batch.xml","line":5,"clientTransactionId":"many"'
    contains "globalData goes to each part" trace "process	Batch/W1	<executeData><n>13</n></executeData>"
    "$P" --db db batch -q --sync none - <dir/r1.xml >out 2>err
    check "a request on standard input" 0 $?
    contains "stdin is named" out '"input":"<stdin>"'

    # bad usage
    "$P" --db db batch --resume dir >out 2>&1
    check "--resume without --out" 2 $?
    contains "--resume without --out says why" out "--resume needs --out"
    "$P" --db db batch --resume --out nothing.jsonl >out 2>&1
    check "nothing to resume" 2 $?
    "$P" --db db batch --call Batch Nope --rows x.csv >out 2>&1
    check "a missing rows file" 2 $?
    printf 'n\n1\n' >one.csv
    "$P" --db db batch --call Batch Nope --rows one.csv >out 2>&1
    check "an unknown procedure" 2 $?
    contains "unknown procedure named" out "namespace 'Batch' has no procedure 'Nope'"
    "$P" --db db batch --call Batch W1 --rows one.csv >out 2>&1
    check "a private procedure" 2 $?
    "$P" --db db batch --bogus dir >out 2>&1
    check "an unknown option" 2 $?
    "$P" --db db batch --jobs 0 dir >out 2>&1
    check "--jobs 0" 2 $?
    "$P" --db db batch >out 2>&1
    check "no input" 2 $?
    "$P" --db db batch missing.xml >out 2>&1
    check "a missing input" 2 $?
    # an unfinished batch is not overwritten
    "$P" --db db batch -q --sync none --jobs 1 --stop-on-error mixed.xml --out keep.jsonl 2>/dev/null
    "$P" --db db batch -q --sync none mixed.xml --out keep.jsonl >out 2>&1
    check "an unfinished batch is kept" 2 $?
    contains "it says how to go on" out "holds an unfinished batch"
    "$P" --db db batch -q --sync none dir --resume --out keep.jsonl >out 2>&1
    check "resume with other inputs" 2 $?
    contains "other inputs refused" out "not the inputs the batch was started with"
    "$P" --db other.db batch -q --resume --out keep.jsonl >out 2>&1
    check "resume on another database" 2 $?
    contains "the database is named" out "give --db"

    # help describes every option
    "$P" batch --help >out 2>&1
    check "batch --help" 0 $?
    for opt in --jobs --sync --out --responses --continue --stop-on-error --resume --call --rows --format \
        --progress-every --quiet; do
        contains "batch --help describes $opt" out "$opt"
    done
    "$P" --help >out 2>&1
    contains "provost --help lists batch" out "  batch"
    ;;

signal)
    newdb db
    N=400
    { echo "n,ms"; i=1; while [ $i -le $N ]; do echo "$i,40"; i=$((i + 1)); done; } >slow.csv
    PROVOST_TEST_TRACE="$T/trace" "$P" --db db batch --progress-every 0 --jobs 2 --call Batch Slow --rows slow.csv \
        --out slow.jsonl 2>err &
    pid=$!
    "$BT" wait-lines slow.jsonl 1
    kill -INT $pid
    wait $pid
    check "SIGINT" 130 $?
    contains "it says it stops" err "stopping: no new requests"
    contains "a summary" err "provost batch: "
    contains "interrupted, resumable" err "interrupted (SIGINT)"
    contains "how to resume" err "continue with: provost batch --resume --out slow.jsonl"
    contains "the state is unfinished" slow.jsonl.state "finished 0"
    done_then=$(lines slow.jsonl)
    ok "stopped before the end" test "$done_then" -lt $N
    "$P" --db db txn list >out 2>&1
    contains "the running ones finished: nothing in the journal" out "no transaction in the journal"
    lacks "nothing was rolled back" trace "rollback	"
    PROVOST_TEST_TRACE="$T/trace" "$P" --db db batch -q --jobs 16 --resume --out slow.jsonl 2>err
    check "resumed after SIGINT" 0 $?
    "$BT" normalise slow.jsonl >n.jsonl
    ok "every request once" test "$(lines n.jsonl)" = $N
    ok "no position twice" test "$(cut -d, -f1 n.jsonl | sort -u | wc -l | tr -d ' ')" = $N
    ok "each request's first step ran once" test "$(grep -c "process	Batch/W1" trace)" = $N
    lacks "still nothing rolled back" trace "rollback	"
    ;;

corpus)
    newdb db
    for f in "$SRC"/tests/batch/corpus/*.xml; do
        cf=$(basename "$f" .xml)
        rm -f c.jsonl c.jsonl.state
        cp "$f" "$cf.xml"
        "$P" --db db batch -q --sync none --jobs 2 "$cf.xml" --out c.jsonl 2>err
        st=$?
        "$BT" normalise c.jsonl >n.jsonl
        ok "$cf: one line per result" test "$(lines n.jsonl)" = "$(lines "$SRC/tests/batch/corpus/$cf.expected")"
        i=0
        while read -r pos line status desc; do
            i=$((i + 1))
            got=$(sed -n "${i}p" n.jsonl)
            want="\"position\":$pos,\"input\":\"$cf.xml\",\"line\":$line,"
            case "$got" in
            *"$want"*"\"status\":\"$status\""*"$desc"*) pass=$((pass + 1)) ;;
            *) fail=$((fail + 1)); echo "FAIL: $cf: expected $pos $line $status $desc, got: $got" ;;
            esac
        done <"$SRC/tests/batch/corpus/$cf.expected"
        if grep -q invalid "$SRC/tests/batch/corpus/$cf.expected"; then check "$cf: exit status" 1 $st; else check "$cf: exit status" 0 $st; fi
    done
    ;;

parsing)
    newdb db
    show='<procedure><execute namespace="Batch" procedure="Show"><before source="data" destination="executeData" mode="merge"/></execute></procedure>'
    same() { # same NAME FILE RUN_STATUS BATCH_STATUS: run and batch agree on FILE
        "$P" --db db run "$2" >run.out 2>run.err
        check "$1: run" "$3" $?
        rm -f same.jsonl same.jsonl.state
        "$P" --db db batch -q --sync none "$2" --out same.jsonl 2>batch.err
        check "$1: batch" "$4" $?
        ok "$1: one result line" test "$(lines same.jsonl)" = 1
    }
    # a 15 MB text node: accepted by both
    { printf '<request><data><n>1</n><t>'; head -c 15728640 /dev/zero | tr '\0' x; printf '</t></data>%s</request>' "$show"; } >huge.xml
    same "a 15 MB text node" huge.xml 0 0
    contains "batch ran the 15 MB text node" same.jsonl '"status":"succeeded"'
    # malformed: refused by both
    printf '<request><data><n>1</n><a></data>%s</request>' "$show" >bad.xml
    same "a malformed request" bad.xml 2 1
    contains "batch says malformed" same.jsonl '"status":"invalid"'
    contains "run says malformed" run.err 'malformed XML'
    # a DTD: refused by both (its entities would reach a provider unexpanded), with the
    # same reason, and nothing runs
    printf '<!DOCTYPE request [<!ENTITY org "Example">]><request><data><n>1</n><o>&org;</o></data>%s</request>' "$show" >dtd.xml
    PROVOST_TEST_TRACE="$T/trace" same "an internal DTD" dtd.xml 2 1
    contains "run names the DTD" run.err 'DOCTYPE not allowed'
    contains "batch names the DTD" same.jsonl 'DOCTYPE not allowed'
    ok "no provider saw the entity" test ! -e trace
    "$P" --db db call Batch Show dtd.xml >out 2>err
    check "call refuses a DTD" 2 $?
    contains "call names the DTD" err 'DOCTYPE not allowed'
    printf '<!DOCTYPE request SYSTEM "http://127.0.0.1:9/request.dtd"><request><data><n>1</n></data>%s</request>' "$show" >ext.xml
    same "an external DTD" ext.xml 2 1
    contains "run names the external DTD" run.err 'DOCTYPE not allowed'
    # in a file of many requests, every request is refused, one line each
    { printf '<!DOCTYPE requests [<!ENTITY org "Example">]>\n<requests>\n'
      for i in 1 2 3; do printf '<request><data><n>%s</n><o>&org;</o></data>%s</request>\n' $i "$show"; done
      printf '</requests>\n'; } >dtds.xml
    rm -f dtds.jsonl dtds.jsonl.state trace
    PROVOST_TEST_TRACE="$T/trace" "$P" --db db batch -q --sync none dtds.xml --out dtds.jsonl 2>err
    check "a many-request file with a DTD" 1 $?
    ok "one line per request" test "$(lines dtds.jsonl)" = 3
    ok "each refused for its DTD" test "$(grep -c 'DOCTYPE not allowed' dtds.jsonl)" = 3
    ok "none ran" test ! -e trace
    # an entity bomb: refused before anything is expanded (under ASan, an expansion would
    # not fit in memory)
    { printf '<!DOCTYPE requests [\n<!ENTITY a0 "lollollollollollollollollollol">\n'
      i=1; while [ $i -le 12 ]; do p=$((i - 1)); printf '<!ENTITY a%s "&a%s;&a%s;&a%s;&a%s;&a%s;&a%s;&a%s;&a%s;&a%s;&a%s;">\n' $i $p $p $p $p $p $p $p $p $p $p; i=$((i + 1)); done
      printf ']>\n<requests>\n'
      for i in 1 2; do printf '<request><data><n>%s &a12;</n></data>%s</request>\n' $i "$show"; done
      printf '</requests>\n'; } >bomb.xml
    rm -f bomb.jsonl bomb.jsonl.state
    "$P" --db db batch -q --sync none bomb.xml --out bomb.jsonl 2>err
    check "an entity bomb in a batch" 1 $?
    ok "the bomb's requests refused, one line each" test "$(grep -c 'DOCTYPE not allowed' bomb.jsonl)" = 2
    sed -n '1,15p' bomb.xml >bomb1.xml
    printf '<request><data><n>&a12;</n></data>%s</request>\n' "$show" >>bomb1.xml
    "$P" --db db run bomb1.xml >out 2>err
    check "an entity bomb run" 2 $?
    contains "the bomb is refused for its DTD" err 'DOCTYPE not allowed'
    # a namespace with a DTD is refused by the compiler too
    printf '<!DOCTYPE namespace [<!ENTITY p "test">]><namespace name="D" providerSource="&p;"/>' >ns.xml
    "$P" compile --check ns.xml >out 2>&1
    check "compile refuses a DTD" 2 $?
    contains "compile names the DTD" out 'DOCTYPE not allowed'
    ;;

sweep)
    # The crash sweep of a batch: a --jobs 2 batch of keyed twoPhase, write-then-fail,
    # FailRollback (stuck) and plain rows killed at a journal point, then resumed; every
    # row's provider effects must happen once, as its recorded result says, and nothing
    # may be submitted again.  With two workers the points interleave differently from run
    # to run, so a stride samples them (every third point by default, both sides of a
    # write; PROVOST_SWEEP_STRIDE=1 takes every one), which keeps this to about a minute
    # under the sanitizers.
    "$BT" sweep-rows rows.csv
    rm -rf tmpl
    "$P" --db tmpl register "$SRC/tests/batch/sweep.xml" >/dev/null || { echo "FAIL: register"; exit 1; }
    stride=${PROVOST_SWEEP_STRIDE:-3}
    point=1
    points=0
    while [ $point -lt 1000 ]; do
        rm -rf db res.jsonl res.jsonl.state run.trace after.trace
        cp -r tmpl db
        PROVOST_CRASH_POINT=$point PROVOST_TEST_TRACE="$T/run.trace" "$P" --db db batch -q --jobs 2 --sync none \
            --call Sweep Row --rows rows.csv --out res.jsonl >/dev/null 2>&1
        st=$?
        killed=0
        if [ $st = 137 ]; then
            killed=1
            points=$((points + 1))
            PROVOST_TEST_TRACE="$T/after.trace" "$P" --db db batch -q --jobs 2 --resume --out res.jsonl \
                >/dev/null 2>err
            check "resumed after a kill at journal point $point" 1 $?
        else
            check "past the last journal point ($point)" 1 $st
        fi
        nstuck=$("$P" --db db txn list --stuck | grep -c 'STUCK$')
        ok "kill at journal point $point, then resume: every row's effects once" \
            "$BT" sweep-judge run.trace after.trace res.jsonl $killed "$nstuck"
        [ $killed = 1 ] || break
        point=$((point + stride))
    done
    echo "killed at $points journal points (one in $stride), each then resumed"
    ok "the sweep reached the end of the batch" test $killed = 0
    ok "the sweep killed the batch often" test $points -gt 10
    ;;

memory)
    if [ -n "$SANITIZED" ]; then
        echo "skipped: under AddressSanitizer the resident memory is its quarantine's, not Provost's"
        exit 77
    fi
    "$BT" rows csv 10000 small.csv small.expected
    "$BT" rows csv 200000 big.csv big.expected
    newdb db1
    "$BT" maxrss rss.small "$P" --db db1 batch -q --sync none --call Batch Write3 --rows small.csv --out s.jsonl 2>/dev/null
    check "10,000 rows" 1 $?
    newdb db2
    "$BT" maxrss rss.big "$P" --db db2 batch -q --sync none --call Batch Write3 --rows big.csv --out b.jsonl 2>/dev/null
    check "200,000 rows" 1 $?
    ok "200,000 results" test "$(lines b.jsonl)" = 200000
    small=$(cat rss.small)
    big=$(cat rss.big)
    echo "max RSS: 10,000 rows $small KiB, 200,000 rows $big KiB"
    # flat: twenty times the requests, less than 1.5 times the memory (+16 MiB for the
    # engine's memtables filling up: they are bounded, at 4 MiB each)
    ok "memory stays flat (CSV)" test "$big" -lt $((small * 3 / 2 + 16384))
    "$BT" requests 10000 small.xml small.xml.expected
    "$BT" requests 200000 big.xml big.xml.expected
    newdb db3
    "$BT" maxrss rss.small "$P" --db db3 batch -q --sync none small.xml --out s.jsonl 2>/dev/null
    newdb db4
    "$BT" maxrss rss.big "$P" --db db4 batch -q --sync none big.xml --out b.jsonl 2>/dev/null
    small=$(cat rss.small)
    big=$(cat rss.big)
    echo "max RSS: 10,000 requests $small KiB, 200,000 requests $big KiB"
    ok "memory stays flat (XML)" test "$big" -lt $((small * 3 / 2 + 16384))
    ;;

*)
    echo "unknown group '$GROUP'"
    exit 2
    ;;
esac

if [ -n "$SANITIZED" ] && [ -n "$(ls "$T/san")" ]; then
    fail=$((fail + 1))
    echo "FAIL: sanitizer reports:"
    cat "$T"/san/*
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
