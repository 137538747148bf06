#!/bin/sh
# The provost command as an operator meets it: help for every command, exit statuses,
# the FILE:LINE:COL error format, stdin, and that a failed compile writes nothing.
# usage: run.sh PROVOST SOURCE_DIR
set -u
P=$1
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

# help
"$P" --help >"$T/out" 2>&1; check "--help" 0 $?
for c in compile disasm version help; do
    contains "--help lists $c" "$T/out" "  $c"
done
for c in compile disasm; do
    "$P" $c --help >"$T/out" 2>&1; check "$c --help" 0 $?
    contains "$c --help usage" "$T/out" "usage: provost $c"
done
"$P" compile --help >"$T/out"
for opt in -o --output --check --quiet --werror; do contains "compile --help describes $opt" "$T/out" "$opt"; done
"$P" help compile >"$T/out" 2>&1; check "help compile" 0 $?
"$P" >"$T/out" 2>&1; check "no command" 2 $?
"$P" frobnicate >"$T/out" 2>&1; check "unknown command" 2 $?
contains "unknown command message" "$T/out" "unknown command 'frobnicate'"
"$P" compile --bogus x.xml >"$T/out" 2>&1; check "unknown option" 2 $?
"$P" version >"$T/out" 2>&1; check "version" 0 $?
contains "version text" "$T/out" "bundle format"

# compile: success writes NS.pvb beside NS.xml, or -o
cp "$SRC/examples/mailbox.xml" "$T/mailbox.xml"
"$P" compile "$T/mailbox.xml" >"$T/out" 2>&1; check "compile example" 0 $?
[ -s "$T/mailbox.pvb" ]; check "default output written" 0 $?
"$P" compile "$T/mailbox.xml" -o "$T/other.pvb" >"$T/out" 2>&1; check "compile -o" 0 $?
cmp -s "$T/mailbox.pvb" "$T/other.pvb"; check "compiling twice gives the same bundle" 0 $?
"$P" compile --check - <"$T/mailbox.xml" >"$T/out" 2>&1; check "compile from stdin" 0 $?
"$P" compile - <"$T/mailbox.xml" >"$T/out" 2>&1; check "stdin needs -o" 2 $?

# compile -o never replaces what is not a regular file (a device, a fifo, a directory,
# a symbolic link): it refuses, and the destination stays what it was
mkfifo "$T/fifo"
"$P" compile "$T/mailbox.xml" -o "$T/fifo" >"$T/out" 2>&1; check "compile -o FIFO refused" 2 $?
contains "compile -o FIFO says why" "$T/out" "not a regular file"
[ -p "$T/fifo" ]; check "the fifo is still a fifo" 0 $?
mkdir "$T/dir.pvb"
"$P" compile "$T/mailbox.xml" -o "$T/dir.pvb" >"$T/out" 2>&1; check "compile -o DIR refused" 2 $?
[ -d "$T/dir.pvb" ]; check "the directory is still a directory" 0 $?
ln -s /dev/null "$T/null.pvb"
"$P" compile "$T/mailbox.xml" -o "$T/null.pvb" >"$T/out" 2>&1; check "compile -o SYMLINK refused" 2 $?
[ -L "$T/null.pvb" ]; check "the link is still a link" 0 $?
[ -c /dev/null ]; check "/dev/null is still a device" 0 $?
[ -z "$(ls "$T" | grep tmp)" ]; check "no temporary file left by a refused -o" 0 $?

# disasm: of the XML and of the bundle, identical
"$P" disasm "$T/mailbox.xml" >"$T/a" 2>"$T/err"; check "disasm xml" 0 $?
"$P" disasm "$T/mailbox.pvb" >"$T/b" 2>"$T/err"; check "disasm pvb" 0 $?
cmp -s "$T/a" "$T/b"; check "disasm xml = disasm pvb" 0 $?
contains "disasm shows a call" "$T/a" 'CALL      "Mailbox"/"CreateMailbox"'
contains "disasm shows source lines" "$T/a" "; line "

# errors: FILE:LINE:COL, exit 2, several errors, nothing written
cat >"$T/bad.xml" <<'XML'
<namespace name="Bad" providerSource="test">
  <procedure name="P" type="write">
    <execute namespace="Bad" procedure="Q">
      <before source="data" destination="executeData" mode="move"/>
    </execute>
    <exeucte namespace="X" procedure="Y"/>
  </procedure>
  <procedure name="Q" type="sometimes"/>
</namespace>
XML
"$P" compile "$T/bad.xml" >"$T/out" 2>&1; check "bad namespace" 2 $?
contains "move error located" "$T/out" "$T/bad.xml:4:55: error: mode=\"move\" needs a 'sourcePath'"
contains "typo error located" "$T/out" "$T/bad.xml:6:5: error: unknown element <exeucte>"
contains "bad type located" "$T/out" "$T/bad.xml:8:23: error: type=\"sometimes\""
contains "error count" "$T/out" "3 errors"
[ ! -e "$T/bad.pvb" ]; check "no bundle written on error" 0 $?
cp "$T/mailbox.pvb" "$T/keep.pvb"
"$P" compile "$T/bad.xml" -o "$T/keep.pvb" >"$T/out" 2>&1
cmp -s "$T/mailbox.pvb" "$T/keep.pvb"; check "existing bundle untouched on error" 0 $?
printf '<namespace name="N"><procedure name="P"' >"$T/trunc.xml"
"$P" compile "$T/trunc.xml" >"$T/out" 2>&1; check "truncated" 2 $?
contains "truncated located" "$T/out" "$T/trunc.xml:1:"
head -c 300 /dev/urandom >"$T/garbage.xml"; printf '\0' >>"$T/garbage.xml"
"$P" compile "$T/garbage.xml" >"$T/out" 2>&1; check "binary garbage" 2 $?
"$P" compile "$T/missing.xml" >"$T/out" 2>&1; check "missing file" 2 $?
contains "missing file message" "$T/out" "No such file"
"$P" compile "$T" >"$T/out" 2>&1; check "directory" 2 $?
"$P" disasm "$T/garbage.xml" >"$T/out" 2>&1; check "disasm garbage" 2 $?
head -c 100 "$T/mailbox.pvb" >"$T/short.pvb"
"$P" disasm "$T/short.pvb" >"$T/out" 2>&1; check "disasm truncated bundle" 2 $?
contains "truncated bundle message" "$T/out" "truncated"

# warnings: exit 0, --werror makes them fatal, --quiet hides them
cat >"$T/warn.xml" <<'XML'
<namespace name="W" providerSource="test"><procedure name="P" colour="blue"/></namespace>
XML
"$P" compile --check "$T/warn.xml" >"$T/out" 2>&1; check "warnings only" 0 $?
contains "warning format" "$T/out" "$T/warn.xml:1:63: warning: unknown attribute 'colour'"
"$P" compile --check --werror "$T/warn.xml" >"$T/out" 2>&1; check "--werror" 2 $?
"$P" compile --check --quiet "$T/warn.xml" >"$T/out" 2>&1; check "--quiet" 0 $?
[ ! -s "$T/out" ]; check "--quiet prints nothing" 0 $?

# the engine: register, list, export, run, call
DB="$T/db"
for c in register unregister list export run call; do
    "$P" $c --help >"$T/out" 2>&1; check "$c --help" 0 $?
    contains "$c --help usage" "$T/out" "usage: provost"
done
"$P" --db "$DB" register "$SRC/examples/mailbox.xml" >"$T/out" 2>&1; check "register" 0 $?
contains "register says what" "$T/out" "registered Mailbox (revision 1, 4 procedures)"
"$P" --db "$DB" register "$SRC/examples/mailbox.xml" >"$T/out" 2>&1; check "re-register" 0 $?
contains "re-register bumps the revision" "$T/out" "revision 2"
PROVOST_DB="$DB" "$P" list >"$T/out" 2>&1; check "list (PROVOST_DB)" 0 $?
contains "list shows Mailbox" "$T/out" "Mailbox"
contains "list shows the Error Provider" "$T/out" "Error Provider"
"$P" --db "$DB" list Mailbox >"$T/out" 2>&1; check "list NS" 0 $?
contains "list NS shows flags" "$T/out" "provider saveDataForRollback"
"$P" --db "$DB" export Mailbox >"$T/out" 2>&1; check "export" 0 $?
cmp -s "$T/out" "$SRC/examples/mailbox.xml"; check "export gives the registered text back" 0 $?
"$P" --db "$DB" register "$T/bad.xml" >"$T/out" 2>&1; check "register a bad namespace" 2 $?
contains "register reports the location" "$T/out" "bad.xml:4:55: error:"
"$P" --db "$DB" unregister "Error Provider" >"$T/out" 2>&1; check "unregister read-only" 2 $?
contains "read-only message" "$T/out" "read-only"
"$P" --db "$DB" run "$SRC/examples/provision-user.xml" >"$T/out" 2>&1; check "run" 0 $?
contains "run prints the response" "$T/out" "<response><data>"
"$P" --db "$DB" run --pretty - <"$SRC/examples/provision-user.xml" >"$T/out" 2>&1; check "run from stdin, pretty" 0 $?
contains "pretty response is indented" "$T/out" "  <data>"
"$P" --db "$DB" call Mailbox ProvisionUser "$SRC/examples/user.xml" --stats >"$T/out" 2>"$T/err"; check "call" 0 $?
contains "call prints the response" "$T/out" '<mailbox owner="joe" address="joe@example.com" type="user"/>'
contains "--stats prints the counters" "$T/err" "Mailbox/CreateMailbox"
"$P" --db "$DB" call Mailbox CreateMailbox >"$T/out" 2>&1; check "call a private procedure" 1 $?
contains "access denied" "$T/out" 'code="0x80070005"'
"$P" --db "$DB" call Mailbox Nothing >"$T/out" 2>&1; check "call an unknown procedure" 1 $?
contains "not found" "$T/out" 'code="0x80070002"'
printf '<request><procedure><execute namespace="Error Provider" procedure="SetError"><executeData><hr>0x80070005</hr><desc>no</desc></executeData></execute></procedure></request>' >"$T/fail.xml"
"$P" --db "$DB" run "$T/fail.xml" >"$T/out" 2>&1; check "a failing request" 1 $?
contains "failure response" "$T/out" '<errorContext code="0x80070005" description="no"'
printf '<request><data><a></data></request>' >"$T/malformed.xml"
"$P" --db "$DB" run "$T/malformed.xml" >"$T/out" 2>&1; check "malformed request" 2 $?
contains "malformed request located" "$T/out" "$T/malformed.xml:1:"
"$P" --db "$DB" call Mailbox ProvisionUser "$T/malformed.xml" >"$T/out" 2>&1; check "malformed data" 2 $?
"$P" --db "$DB" run "$T/missing.xml" >"$T/out" 2>&1; check "run a missing file" 2 $?

# disasm --explain: over bundles of the round-trip namespaces, which together use every
# opcode, each instruction is followed by its opcode's meaning as bytecode.h's opcode list
# gives it (the same text wherever the opcode appears); without the meanings the output is
# plain disasm's
: >"$T/explained"
for f in "$SRC"/tests/roundtrip/*.xml; do
    "$P" compile -q "$f" -o "$T/rt.pvb" >/dev/null 2>&1 || { check "compile $f" 0 $?; continue; }
    "$P" disasm --explain "$T/rt.pvb" >"$T/rt.explain" 2>&1; check "disasm --explain $(basename "$f")" 0 $?
    "$P" disasm "$T/rt.pvb" >"$T/rt.plain" 2>&1
    grep -v '^                ; ' "$T/rt.explain" | cmp -s - "$T/rt.plain"
    check "disasm --explain of $(basename "$f") is disasm plus meanings" 0 $?
    cat "$T/rt.explain" >>"$T/explained"
done
# NAME<TAB>the meaning on one line, for each instruction
awk '/^  +[0-9]+  [A-Z]+/ { if (op != "") print op "\t" m; op = $2; m = ""; next }
     /^                ; / && op != "" { sub(/^                ; /, ""); m = m (m == "" ? "" : " ") $0; next }
     { if (op != "") print op "\t" m; op = "" }
     END { if (op != "") print op "\t" m }' "$T/explained" | sort -u >"$T/meanings"
# the opcode list's first words of each meaning: X(NAME, kinds..., then the string on the next line
awk '/^    X\([A-Z]+, +.[-a-zA-Z].,/ { name = $1; sub(/^X\(/, "", name); sub(/,$/, "", name); want = 1; next }
     want { s = $0; sub(/^ *"/, "", s); print name "\t" substr(s, 1, 40); want = 0 }' \
    "$SRC/include/provost/bytecode.h" >"$T/opcodes"
nops=$(wc -l <"$T/opcodes" | tr -d ' ')
[ "$nops" -gt 10 ]; check "the opcode list read from bytecode.h ($nops opcodes)" 0 $?
[ "$(cut -f1 "$T/meanings" | sort -u | wc -l | tr -d ' ')" = "$nops" ]
check "the sample bundles use every opcode" 0 $?
[ "$(wc -l <"$T/meanings" | tr -d ' ')" = "$nops" ]; check "each opcode has one meaning wherever it appears" 0 $?
while IFS="$(printf '\t')" read -r op start; do
    grep -qF -- "$op	$start" "$T/meanings"; check "disasm --explain gives $op its meaning from bytecode.h" 0 $?
done <"$T/opcodes"
contains "FOREACH's snapshot explained" "$T/meanings" "The snapshot is fixed"

# --validate (and $PROVOST_VALIDATE=1) holds for every command that runs requests: a row
# whose executeData breaks a procedure's input schema is refused by batch exactly as by
# call, and a valid one is accepted by both
cat >"$T/v.xml" <<'EOF'
<namespace name="V" providerSource="test" xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <procedure name="Get" type="read">
    <Schema name="inputSchema">
      <xs:schema><xs:element name="executeData"><xs:complexType><xs:sequence>
        <xs:element name="path" type="xs:string"/>
      </xs:sequence></xs:complexType></xs:element></xs:schema>
    </Schema>
  </procedure>
  <procedure name="Check" type="read" access="public">
    <execute namespace="V" procedure="Get"><before source="data" sourcePath="*" destination="executeData"/></execute>
  </procedure>
</namespace>
EOF
VDB="$T/vdb"
"$P" --db "$VDB" register "$T/v.xml" >"$T/out" 2>&1; check "register a namespace with a schema" 0 $?
printf '<data><nopath>x</nopath></data>' >"$T/vbad.xml"
printf '<data><path>x</path></data>' >"$T/vgood.xml"
printf 'nopath\nx\n' >"$T/vbad.csv"
printf 'path\nx\n' >"$T/vgood.csv"
"$P" --db "$VDB" --validate call V Check "$T/vbad.xml" >"$T/out" 2>&1; check "--validate call refuses bad data" 1 $?
contains "call: the schema error" "$T/out" 'code="0xC00CE014"'
"$P" --db "$VDB" --validate call V Check "$T/vgood.xml" >"$T/out" 2>&1; check "--validate call accepts good data" 0 $?
"$P" --db "$VDB" call V Check "$T/vbad.xml" >"$T/out" 2>&1; check "without --validate call runs bad data" 0 $?
for how in flag env; do
    rm -f "$T/vb.jsonl" "$T/vb.jsonl.state" "$T/vg.jsonl" "$T/vg.jsonl.state"
    if [ $how = flag ]; then set -- --validate; else set --; fi
    PROVOST_VALIDATE=$([ $how = env ] && echo 1) "$P" --db "$VDB" "$@" batch -q --sync none --call V Check \
        --rows "$T/vbad.csv" --out "$T/vb.jsonl" >"$T/out" 2>&1
    check "validate ($how): batch refuses the bad row" 1 $?
    contains "validate ($how): batch: the schema error" "$T/vb.jsonl" '"code":"0xC00CE014"'
    PROVOST_VALIDATE=$([ $how = env ] && echo 1) "$P" --db "$VDB" "$@" batch -q --sync none --call V Check \
        --rows "$T/vgood.csv" --out "$T/vg.jsonl" >"$T/out" 2>&1
    check "validate ($how): batch accepts the good row" 0 $?
    contains "validate ($how): batch: the good row succeeded" "$T/vg.jsonl" '"status":"succeeded"'
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
