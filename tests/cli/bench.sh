#!/bin/sh
# `provost bench` as an operator meets it: a short run on a tiny namespace writes a
# summary, well-formed JSON and a well-formed SVG; bad input is refused.  Behaviour only:
# no figure is compared with anything.
# usage: bench.sh PROVOST JSON_CHECK SOURCE_DIR
set -u
P=$1
JSON_CHECK=$2
SRC=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
export PROVOST_DB="$T/db" PROVOST_SYNC=none

cat >"$T/tiny.xml" <<'XML'
<namespace name="Tiny" providerSource="test" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <procedure name="Store" type="write"/>
  <procedure name="Fail" type="read"/>
  <procedure name="Hidden" type="read"/>
  <procedure name="Two" type="write" access="public">
    <execute namespace="Tiny" procedure="Store">
      <before source="data" destination="executeData">
        <xsl:template match="user"><name><xsl:value-of select="@name"/></name></xsl:template>
      </before>
    </execute>
    <execute namespace="Tiny" procedure="Store"/>
  </procedure>
  <procedure name="Broken" type="read" access="public">
    <execute namespace="Tiny" procedure="Fail"/>
  </procedure>
</namespace>
XML
echo '<data><user name="ann"/></data>' >"$T/data.xml"
"$P" register "$T/tiny.xml" >"$T/out" 2>&1; check "register" 0 $?

"$P" bench Tiny Two "$T/data.xml" --requests 40 --threads 2 --warmup 0 --json "$T/b.json" --svg "$T/b.svg" \
    >"$T/out" 2>"$T/err"; check "bench runs" 0 $?
for t in "requests     40 (40 succeeded, 0 failed)" "throughput" "p50" "p99.9" "max" "Tiny/Two" "Tiny/Store"; do
    contains "summary shows $t" "$T/out" "$t"
done
"$JSON_CHECK" "$T/b.json"; check "JSON is well formed" 0 $?
for k in '"requests": 40' '"latency_us"' '"p999"' '"histogram"' '"series"' '"procedures"' '"procedure": "Store"' \
         '"count": 80'; do
    contains "JSON holds $k" "$T/b.json" "$k"
done
contains "summary counts the journal's writes" "$T/out" "journal      0 syncs (0.00 per request), 240 writes"
contains "JSON counts the journal's syncs" "$T/b.json" '"journal_syncs": 0'

# the journal syncs only what must be durable: two INTENTs and the end, per request
PROVOST_SYNC=group "$P" bench Tiny Two "$T/data.xml" --requests 10 --warmup 0 >"$T/out" 2>"$T/err"
check "bench with sync group" 0 $?
contains "3 syncs per request" "$T/out" "journal      30 syncs (3.00 per request), 60 writes"
PROVOST_SYNC=group "$P" call Tiny Two "$T/data.xml" --stats >"$T/out" 2>"$T/err"
check "call --stats" 0 $?
contains "--stats shows the journal's syncs" "$T/err" "journal: 3 syncs, 6 writes"
xmllint --noout "$T/b.svg"; check "SVG is well formed" 0 $?
[ "$(xmllint --xpath 'name(/*)' "$T/b.svg")" = svg ]; check "SVG root is <svg>" 0 $?
for t in "Latency distribution" "Latency over time" "Throughput" "polyline" "<rect"; do
    contains "SVG draws $t" "$T/b.svg" "$t"
done

# a trusted request, by duration, JSON on standard output
cat >"$T/req.xml" <<'XML'
<request><data/><procedure><execute namespace="Tiny" procedure="Store"/></procedure></request>
XML
"$P" bench --request "$T/req.xml" --duration 0.2 --warmup 0.1 --json - >"$T/r.json" 2>"$T/err"
check "bench --request" 0 $?
"$JSON_CHECK" "$T/r.json"; check "JSON on stdout is well formed" 0 $?
contains "request named" "$T/r.json" '"request": "'

# failures are counted by code, and the status says so
"$P" bench Tiny Broken --requests 5 --warmup 0 --json "$T/f.json" >"$T/out" 2>&1; check "failing procedure" 1 $?
contains "errors by code" "$T/out" "0x80004005 x 5"
"$JSON_CHECK" "$T/f.json"; check "JSON of failures is well formed" 0 $?

# bad input
"$P" bench Tiny Hidden --requests 1 >"$T/out" 2>&1; check "private procedure" 2 $?
contains "private message" "$T/out" "is private"
"$P" bench Tiny Nope --requests 1 >"$T/out" 2>&1; check "unknown procedure" 2 $?
"$P" bench Tiny Two --requests 1 --duration 1 >"$T/out" 2>&1; check "requests and duration" 2 $?
"$P" bench Tiny Two --threads 0 >"$T/out" 2>&1; check "zero threads" 2 $?
echo '<data><unclosed></data>' >"$T/bad.xml"
"$P" bench Tiny Two "$T/bad.xml" --requests 1 >"$T/out" 2>&1; check "malformed data" 2 $?
contains "malformed data located" "$T/out" "bad.xml:1:"
"$P" bench --help >"$T/out" 2>&1; check "bench --help" 0 $?
for opt in --threads --requests --duration --warmup --sync --json --svg --request; do
    contains "help describes $opt" "$T/out" "$opt"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
