#!/bin/sh
# The command finds the project's plug-ins by itself, in lib/provost beside its own
# directory (the build tree has the installed shape), with PROVOST_PROVIDER_PATH unset;
# and the same search fails with its list of places when the plug-in is not there.
# usage: plugins.sh PROVOST
set -u
P=$1
unset PROVOST_PROVIDER_PATH
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
mkdir "$T/root"
cat >"$T/ns.xml" <<XML
<namespace name="Files" providerSource="fs">
  <providerContext root="$T/root"/>
  <procedure name="CreateDirectory" type="write" access="public"/>
</namespace>
XML
cat >"$T/sql.xml" <<XML
<namespace name="Db" providerSource="sql">
  <providerContext driver="sqlite" path="$T/db.sqlite"/>
  <procedure name="Query" type="read" access="public"/>
</namespace>
XML
"$P" --db "$T/db" register "$T/ns.xml" "$T/sql.xml" >"$T/out" 2>&1 || { cat "$T/out"; fail=1; }
echo '<data><path>made</path></data>' >"$T/d.xml"
if ! "$P" --db "$T/db" call Files CreateDirectory "$T/d.xml" >"$T/out" 2>&1 || [ ! -d "$T/root/made" ]; then
    echo "FAIL: the fs plug-in was not found beside the command:"; cat "$T/out"; fail=1
fi
echo '<data><statement>SELECT 6 * 7 AS answer</statement></data>' >"$T/q.xml"
if ! "$P" --db "$T/db" call Db Query "$T/q.xml" >"$T/out" 2>&1 || ! grep -q '>42<' "$T/out"; then
    echo "FAIL: the sql plug-in was not found beside the command:"; cat "$T/out"; fail=1
fi
sed 's/providerSource="fs"/providerSource="nosuchplugin"/; s/name="Files"/name="Missing"/' "$T/ns.xml" >"$T/missing.xml"
"$P" --db "$T/db" register "$T/missing.xml" >/dev/null 2>&1
"$P" --db "$T/db" call Missing CreateDirectory "$T/d.xml" >"$T/out" 2>&1
if ! grep -q 'lib/provost/libprovost-nosuchplugin.so' "$T/out"; then
    echo "FAIL: a missing plug-in's error does not list lib/provost:"; cat "$T/out"; fail=1
fi
[ $fail -eq 0 ] && echo "ok"
exit $fail
