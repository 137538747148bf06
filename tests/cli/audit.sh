#!/bin/sh
# provost audit: what each level records, the filters, export, purge, the level stored in
# the database, bad input (one line, exit 2), no secret in any record or file, and a crash
# at every journal point of an audited transaction: after recovery it ended with its
# records, or it was rolled back with recovery's failure record -- never one without the
# other.
# usage: audit.sh PROVOST JSON_CHECK
set -u
P=$1
JSON_CHECK=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
DB="$T/db"

cat >"$T/ns.xml" <<'EOF'
<namespace name="Acct" providerSource="test">
  <procedure name="Echo" type="read" access="public" auditEnabled="1"/>
  <procedure name="Write" type="write" access="public" auditEnabled="1"/>
  <procedure name="Fail" type="write" access="public"/>
  <procedure name="Plain" type="read" access="public"/>
  <procedure name="Make" type="write" access="public" auditEnabled="1">
    <execute namespace="Acct" procedure="Write"><executeData><x/></executeData></execute>
    <execute namespace="Acct" procedure="Echo"><executeData><y/></executeData></execute>
  </procedure>
  <procedure name="MakeThenFail" type="write" access="public">
    <execute namespace="Acct" procedure="Write"><executeData><x/></executeData></execute>
    <execute namespace="Acct" procedure="Fail"><executeData/></execute>
  </procedure>
</namespace>
EOF
# sensitive steps in a namespace of their own: level full keeps no data of a request
# that could reach one
cat >"$T/secure.xml" <<'EOF'
<namespace name="Secure" providerSource="test">
  <procedure name="Write" type="write" access="public"/>
  <procedure name="Fail" type="write" access="public"/>
  <procedure name="Signup" type="write" access="public" auditEnabled="1">
    <execute namespace="Secure" procedure="Write" sensitive="1">
      <before source="data" destination="executeData" mode="merge"/>
    </execute>
  </procedure>
  <procedure name="SignupFails" type="write" access="public" auditEnabled="1">
    <execute namespace="Secure" procedure="Fail"><executeData/></execute>
    <execute namespace="Secure" procedure="Write" sensitive="1">
      <before source="data" destination="executeData" mode="merge"/>
    </execute>
  </procedure>
</namespace>
EOF
req() { # req CLIENT_ID: a simple request's document carrying a client transaction id
    printf '<request><data><v>1</v></data><context><clientContext clientTransactionId="%s"/></context></request>\n' "$1"
}
count() { # count FILE TEXT: lines of FILE holding TEXT
    grep -cF -- "$2" "$1"
}
"$P" --db "$DB" register "$T/ns.xml" "$T/secure.xml" >/dev/null 2>&1; check "register" 0 $?

# ---- levels ---------------------------------------------------------------------------
"$P" --db "$DB" audit level >"$T/out" 2>&1; check "audit level" 0 $?
contains "failures by default" "$T/out" "failures (the default)"
req c-ok >"$T/r"; "$P" --db "$DB" call Acct Make "$T/r" >/dev/null; check "an audited call" 0 $?
req c-fail >"$T/r"; "$P" --db "$DB" call Acct Fail "$T/r" >/dev/null; check "a failed call" 1 $?
req c-plainfail >"$T/r"; "$P" --db "$DB" call Acct MakeThenFail "$T/r" >/dev/null; check "a rolled-back call" 1 $?
"$P" --db "$DB" audit export --jsonl >"$T/all"; check "export" 0 $?
[ "$(wc -l <"$T/all")" = 2 ]; check "failures: one record per failed transaction, nothing else" 0 $?
contains "the failure" "$T/all" '"client":"c-fail","principal":"'
contains "its procedure and code" "$T/all" '"namespace":"Acct","procedure":"Fail","outcome":"failed","code":"0x80004005"'
contains "the rolled-back one" "$T/all" '"client":"c-plainfail"'

"$P" --db "$DB" --audit-level none call Acct Fail "$T/r" >/dev/null
"$P" --db "$DB" audit export --jsonl >"$T/all"
[ "$(wc -l <"$T/all")" = 2 ]; check "none: nothing recorded" 0 $?

"$P" --db "$DB" audit level enabled >"$T/out" 2>&1; check "set the level" 0 $?
contains "stored" "$T/out" "enabled (the database's setting)"
"$P" --db "$DB" audit level >"$T/out" 2>&1
contains "kept by the database" "$T/out" "enabled (the database's setting)"
req c-en >"$T/r"; "$P" --db "$DB" call Acct Make "$T/r" >/dev/null
"$P" --db "$DB" call Acct Plain "$T/r" >/dev/null
"$P" --db "$DB" audit export --jsonl >"$T/all"
[ "$(count "$T/all" '"client":"c-en"')" = 3 ]; check "enabled: the procedure and both audited calls it made" 0 $?
contains "the nested call" "$T/all" '"client":"c-en","principal":"'
contains "a nested audited call" "$T/all" '"procedure":"Write","outcome":"ok"'
[ "$(count "$T/all" '"procedure":"Plain"')" = 0 ]; check "a procedure not audited that succeeds leaves nothing" 0 $?
if grep -qF '"data":' "$T/all"; then fail=$((fail + 1)); echo "FAIL: data below level full"; else pass=$((pass + 1)); fi
# a trusted request's own procedure calling an audited one
cat >"$T/trusted.xml" <<'EOF'
<request><data/><context><clientContext clientTransactionId="c-trusted"/></context>
<procedure><execute namespace="Acct" procedure="Write"><executeData><t/></executeData></execute></procedure></request>
EOF
"$P" --db "$DB" run "$T/trusted.xml" >/dev/null; check "a trusted request" 0 $?
"$P" --db "$DB" audit export --jsonl >"$T/all"
[ "$(count "$T/all" '"client":"c-trusted"')" = 1 ]; check "its audited call recorded" 0 $?
"$P" --db "$DB" --audit-level full call Acct Make "$T/r" >/dev/null
"$P" --db "$DB" audit export --jsonl --since -1m --procedure Acct/Make >"$T/all"
contains "full: the request data" "$T/all" '"data":"<data><v>1</v></data>"'
"$P" --db "$DB" audit level default >"$T/out" 2>&1
contains "the setting removed" "$T/out" "failures (the default)"

# ---- queries --------------------------------------------------------------------------
"$P" --db "$DB" audit >"$T/out"; check "the table" 0 $?
contains "a header" "$T/out" "TIME"
contains "a row" "$T/out" "Acct/Fail"
"$P" --db "$DB" audit --json >"$T/out"; check "--json" 0 $?
"$JSON_CHECK" "$T/out"; check "--json is one JSON document" 0 $?
"$P" --db "$DB" audit --json --since 2000-01-01 --until 2000-01-02 >"$T/out"
"$JSON_CHECK" "$T/out"; check "an empty --json is a JSON document" 0 $?
contains "an empty array" "$T/out" "[]"
"$P" --db "$DB" audit export --jsonl --outcome ok >"$T/out"
[ "$(count "$T/out" '"outcome":"failed"')" = 0 ] && [ "$(count "$T/out" '"outcome":"ok"')" -gt 0 ]
check "--outcome ok" 0 $?
"$P" --db "$DB" audit export --jsonl --outcome failed >"$T/out"
[ "$(count "$T/out" '"outcome":"ok"')" = 0 ] && [ "$(count "$T/out" '"outcome":"failed"')" -gt 0 ]
check "--outcome failed" 0 $?
"$P" --db "$DB" audit export --jsonl --procedure acct/fail >"$T/out"
[ "$(wc -l <"$T/out")" = "$(count "$T/out" '"procedure":"Fail"')" ] && [ -s "$T/out" ]
check "--procedure, without case" 0 $?
"$P" --db "$DB" audit export --jsonl --procedure 'Acct/*' >"$T/a"
"$P" --db "$DB" audit export --jsonl >"$T/b"
cmp -s "$T/a" "$T/b"; check "--procedure NS/*" 0 $?
"$P" --db "$DB" audit export --jsonl --principal nobody-at-all >"$T/out"
[ ! -s "$T/out" ]; check "--principal that ran nothing" 0 $?
"$P" --db "$DB" audit export --jsonl --since -1h --until now >"$T/out"
cmp -s "$T/out" "$T/b"; check "--since -1h --until now takes all of them" 0 $?
"$P" --db "$DB" audit export --jsonl --since 2999-01-01T00:00:00+02:00 >"$T/out"
[ ! -s "$T/out" ]; check "--since in the future: nothing" 0 $?

# ---- bad input: one line, exit 2 -------------------------------------------------------
for args in "--since yesterday" "--since -1y" "--since 2026-13-01" "--since 2026-02-30" "--until 2026-01-01T25:00:00Z" \
            "--since now --until -1h" "--outcome maybe" "--procedure NoSlash" "--since" "--bogus" "extra" \
            "export" "export --json" "purge" "purge --before" "purge --before soon" "level loud" "level a b"; do
    # shellcheck disable=SC2086
    "$P" --db "$DB" audit $args >"$T/out" 2>&1
    check "audit $args is refused" 2 $?
    [ "$(wc -l <"$T/out")" = 1 ]; check "audit $args: one line" 0 $?
done
"$P" --db "$DB" --audit-level loud audit >"$T/out" 2>&1; check "--audit-level loud is refused" 2 $?

# ---- purge ----------------------------------------------------------------------------
n=$(wc -l <"$T/b")
"$P" --db "$DB" audit purge --before 2000-01-01 >"$T/out"; check "purge of nothing" 0 $?
contains "says so" "$T/out" "removed 0 records"
"$P" --db "$DB" audit purge --before now >"$T/out"; check "purge" 0 $?
contains "counts them" "$T/out" "removed $n records"
"$P" --db "$DB" audit export --jsonl >"$T/out"
[ ! -s "$T/out" ]; check "nothing left" 0 $?

# ---- secrets --------------------------------------------------------------------------
SECRET="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '<data><password>%s</password></data>\n' "$SECRET" >"$T/s"
"$P" --db "$DB" --audit-level full call Secure Signup "$T/s" >/dev/null 2>&1; check "a sensitive step" 0 $?
"$P" --db "$DB" --audit-level full call Secure SignupFails "$T/s" >/dev/null 2>&1
check "one failing before its sensitive step" 1 $?
printf '<request><data><v>%s</v></data><context><securityContext sensitive="1"><authentication><basic username="u" password="%s"/></authentication></securityContext></context><procedure><execute namespace="Acct" procedure="Make"><before source="data" destination="executeData" mode="merge"/></execute></procedure></request>\n' "$SECRET" "$SECRET" >"$T/sr"
"$P" --db "$DB" --audit-level full run "$T/sr" >/dev/null 2>&1; check "a sensitive trusted request" 0 $?
"$P" --db "$DB" audit export --jsonl >"$T/out"
[ "$(count "$T/out" '"procedure":"Signup"')" = 1 ] && [ "$(count "$T/out" '"procedure":"SignupFails"')" = 1 ]
check "recorded" 0 $?
"$P" --db "$DB" audit >>"$T/out"
"$P" --db "$DB" audit --json >>"$T/out"
if grep -rqF -e "$SECRET" "$DB" "$T/out"; then
    fail=$((fail + 1)); echo "FAIL: the secret is in clear in:"; grep -rlF -e "$SECRET" "$DB" "$T/out"
else pass=$((pass + 1)); fi

# ---- a crash at every journal point ----------------------------------------------------
# Each point on a fresh database: the command is killed there, the next one recovers (the
# crash tests of tests/crash show that recovery empties the journal).
"$P" --db "$T/template" register "$T/ns.xml" >/dev/null 2>&1
k=1
while [ "$k" -lt 60 ]; do
    D="$T/crash$k"
    cp -r "$T/template" "$D"
    req "k$k" >"$T/r"
    PROVOST_CRASH_POINT=$k PROVOST_TEST_TRACE="$T/trace$k" "$P" --db "$D" --audit-level enabled call Acct Make "$T/r" \
        >/dev/null 2>&1
    st=$?
    PROVOST_TEST_TRACE="$T/trace$k" "$P" --db "$D" --audit-level enabled audit export --jsonl >"$T/rec" 2>&1
    rm -rf "$D"
    recs=$(count "$T/rec" '"client":"k'"$k"'"')
    if grep -q '^rollback' "$T/trace$k" 2>/dev/null; then
        # rolled back (by recovery): its one record says so
        [ "$recs" = 1 ] && [ "$(count "$T/rec" '"outcome":"failed","code":"0x80004004"')" = 1 ] &&
            [ "$(count "$T/rec" '"recovered":true')" = 1 ]
        check "point $k: rolled back, with recovery's failure record" 0 $?
    elif [ -s "$T/trace$k" ] && grep -q "Echo" "$T/trace$k"; then
        # it ended: all three records, none of them failed
        [ "$recs" = 3 ] && [ "$(count "$T/rec" '"outcome":"ok"')" = 3 ]
        check "point $k: ended, with its records" 0 $?
    else
        # no call was made: nothing journaled, or a BEGIN alone that recovery ended
        [ "$recs" = 0 ] || { [ "$recs" = 1 ] && [ "$(count "$T/rec" '"recovered":true')" = 1 ]; }
        check "point $k: no call made, at most recovery's record" 0 $?
    fi
    [ "$st" = 0 ] && break
    k=$((k + 1))
done
[ "$k" -gt 3 ] && [ "$k" -lt 60 ]; check "the sweep reached the end of the request (point $k)" 0 $?

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
