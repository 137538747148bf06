#!/bin/sh
# No libxml2 or libxslt message ever reaches the terminal: every command is run on inputs
# that make libxml2 or libxslt complain (malformed XML, undefined entities, DTDs, bad XSL
# at compile time and at run time, a journaled executeData that no longer parses during
# recovery), and standard error may hold only Provost's own one-line errors.  libxml2's
# default handler prints the offending line of the document, so every document carries
# the secret s3cr3t, which must never be printed.
# usage: xml_errors.sh PROVOST SOURCE_DIR
set -u
P=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
pass=0
fail=0

# clean NAME: err (the command's stderr) holds no secret and nothing in libxml2's formats
clean() {
    if grep -q 's3cr3t' err || grep -Eq ' (error|warning) : |^ *\^$|compilation error|runtime error|XPath error|^xslt|^xml[A-Z]' err; then
        fail=$((fail + 1))
        echo "FAIL: $1: libxml2 or libxslt wrote to stderr:"
        cat err
    else
        pass=$((pass + 1))
    fi
}
# each FILE...: for every file, run each command that reads a document of its kind
run_all() {
    for f in "$@"; do
        "$P" --db db run "$f" >/dev/null 2>err
        clean "run $f"
        "$P" --db db call Batch Show "$f" >/dev/null 2>err
        clean "call $f"
        rm -f b.jsonl b.jsonl.state
        "$P" --db db batch -q --sync none "$f" --out b.jsonl >/dev/null 2>err
        clean "batch $f"
        rm -f b.jsonl b.jsonl.state
        "$P" --db db batch -q --sync none --call Batch Show "$f" --out b.jsonl >/dev/null 2>err
        clean "batch --call $f"
        "$P" compile --check "$f" >/dev/null 2>err
        clean "compile $f"
        "$P" disasm "$f" >/dev/null 2>err
        clean "disasm $f"
        "$P" --db db register "$f" >/dev/null 2>err
        clean "register $f"
    done
}

"$P" --db db register "$SRC/tests/batch/batch.xml" >/dev/null || { echo "FAIL: register"; exit 1; }
show='<procedure><execute namespace="Batch" procedure="Show"><before source="data" destination="executeData" mode="merge"/></execute></procedure>'
write='<procedure><execute namespace="Batch" procedure="Write3"><before source="data" destination="executeData" mode="merge"/></execute></procedure>'
xsl='xmlns:xsl="http://www.w3.org/1999/XSL/Transform"'

printf '<request><data><n>1</n><pw>s3cr3t</pw><a></data>%s</request>' "$show" >malformed.xml
printf '<request><data><n>1</n><pw>s3cr3t &undefined;</pw></data>%s</request>' "$show" >entity.xml
printf '<!DOCTYPE request [<!ENTITY pw "s3cr3t">]><request><data><n>1 &pw;</n><pw>s3cr3t</pw></data>%s</request>' "$show" >dtd.xml
printf '<!DOCTYPE request SYSTEM "http://127.0.0.1:9/x.dtd"><request><data><pw>s3cr3t</pw></data>%s</request>' "$show" >external.xml
printf '<requests><request><data><n>1</n><pw>s3cr3t</pw></data>%s</request><request><data><pw>s3cr3t</pw><x></data></request></requests>' "$show" >many.xml
printf '\357\273\277<request><data><pw>s3cr3t\377\376</pw></data></request>' >encoding.xml
printf '<request %s><data><pw>s3cr3t</pw></data><procedure><transform><before source="data" destination="data"><xsl:stylesheet version="1.0"><xsl:template match="/"><xsl:message terminate="yes">s3cr3t<xsl:value-of select="//pw"/></xsl:message></xsl:template></xsl:stylesheet></before></transform></procedure></request>' "$xsl" >xsl-message.xml
printf '<request %s><data><pw>s3cr3t</pw></data><procedure><transform><before source="data" destination="data"><xsl:stylesheet version="1.0"><xsl:template match="/"><xsl:value-of select="document(&quot;/etc/passwd&quot;)"/><xsl:element name="{//pw} x"/></xsl:template></xsl:stylesheet></before></transform></procedure></request>' "$xsl" >xsl-runtime.xml
printf '<request %s><data><pw>s3cr3t</pw></data><procedure><transform><before source="data" destination="data"><xsl:stylesheet version="1.0"><xsl:template match="/"><xsl:bogus/><xsl:value-of select="((pw"/></xsl:template></xsl:stylesheet></before></transform></procedure></request>' "$xsl" >xsl-compile.xml
printf '<namespace name="N" providerSource="test"><procedure name="P" type="read" access="public"><execute namespace="N" procedure="Q"><when source="data" sourcePath="((pw"/></execute></procedure><procedure name="Q" type="read"/></namespace>' >xpath.xml
printf '<!DOCTYPE namespace [<!ENTITY n "s3cr3t">]><namespace name="&n;" providerSource="test"/>' >ns-dtd.xml
printf '<namespace name="N" providerSource="test"><pw>s3cr3t</pw></namespac>' >ns-malformed.xml
run_all malformed.xml entity.xml dtd.xml external.xml many.xml encoding.xml xsl-message.xml xsl-runtime.xml \
    xsl-compile.xml xpath.xml ns-dtd.xml ns-malformed.xml

# recovery: a write request killed after its first write step is journaled; the commands
# that open the database afterwards roll it back from the journaled executeData
for f in dtd.xml entity.xml; do
    sed "s#$show#$write#" "$f" >w-$f
    for point in 4 6; do
        rm -rf rdb
        "$P" --db rdb register "$SRC/tests/batch/batch.xml" >/dev/null
        PROVOST_CRASH_POINT=$point "$P" --db rdb run w-$f >/dev/null 2>err
        clean "run w-$f killed at journal point $point"
        "$P" --db rdb list >/dev/null 2>err
        clean "recovery after w-$f killed at journal point $point"
    done
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
