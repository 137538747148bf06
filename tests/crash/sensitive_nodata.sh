#!/bin/sh
# A sensitive step whose procedure journals no executeData (no saveDataForRollback): a kill
# at every journal point of its request, then provost recover, must finish the transaction
# (rolled back or committed), never park it as stuck because a value that was never sealed
# cannot be unsealed.
# usage: sensitive_nodata.sh PROVOST
set -u
P=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat >"$T/ns.xml" <<XML
<namespace name="S" providerSource="test">
  <procedure name="Put" type="write"/>
  <procedure name="Go" type="write" access="public">
    <execute namespace="S" procedure="Put" sensitive="1">
      <before source="data" sourcePath="*" destination="executeData"/>
    </execute>
    <execute namespace="S" procedure="Put"/>
  </procedure>
</namespace>
XML
"$P" --db "$T/db" register "$T/ns.xml" >/dev/null || exit 1
echo '<data><v>x</v></data>' >"$T/d.xml"
fail=0 killed=0
for pt in 1 2 3 4 5 6 7 8 9 10 11 12; do
    rm -rf "$T/run"
    cp -r "$T/db" "$T/run"
    PROVOST_SYNC=none PROVOST_CRASH_POINT=$pt "$P" --db "$T/run" call S Go "$T/d.xml" >/dev/null 2>&1
    [ $? -eq 137 ] || continue
    killed=$((killed + 1))
    "$P" --db "$T/run" recover >"$T/rec" 2>&1
    rc=$?
    if [ $rc -ne 0 ] || ! grep -q '; 0 stuck' "$T/rec"; then
        echo "FAIL: kill at journal point $pt, then recover (exit $rc):"; cat "$T/rec"
        "$P" --db "$T/run" txn list --stuck
        fail=1
    fi
done
[ $killed -ge 6 ] || { echo "FAIL: only $killed kills: the request no longer reaches its journal points"; fail=1; }
[ $fail -eq 0 ] && echo "ok: $killed kills, every one recovered"
exit $fail
