#!/bin/sh
# provost user, group, grant, revoke, acl and --as: principals and rights from the command
# line, every refusal one line with exit status 2, a refused call exit status 1 with
# 0x80070005.  The database's owner (the user running this) is its administrator; run as
# root, the checks of a caller who is not the owner run too (the directory is given away).
# usage: rights.sh PROVOST
set -u
P=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
DB="$T/db"
export PROVOST_DB="$DB"

cat >"$T/ns.xml" <<'EOF'
<namespace name="T" providerSource="test">
  <procedure name="Whoami" type="read" access="public"/>
  <procedure name="Echo" type="read" access="public"/>
  <procedure name="Hidden" type="read"/>
</namespace>
EOF
cat >"$T/trusted.xml" <<'EOF'
<request><procedure><execute namespace="T" procedure="Hidden"/></procedure></request>
EOF
"$P" register "$T/ns.xml" >/dev/null 2>&1; check "register" 0 $?
"$P" acl >"$T/out" 2>&1; check "acl of a database without rights" 0 $?
contains "nothing enforced" "$T/out" "nothing is enforced"

"$P" group add ops >"$T/out" 2>&1; check "group add" 0 $?
"$P" user add alice --group ops >"$T/out" 2>&1; check "user add with a group" 0 $?
contains "says so" "$T/out" "user alice is a member of group ops"
"$P" user add bob >/dev/null 2>&1; check "user add" 0 $?
"$P" user list >"$T/out" 2>&1; check "user list" 0 $?
contains "alice and her group" "$T/out" "alice	groups=ops"
contains "bob" "$T/out" "bob	groups="
"$P" group list >"$T/out" 2>&1; check "group list" 0 $?
contains "members" "$T/out" "ops	members=alice"
# users alone enforce nothing
"$P" --as bob call T Echo >/dev/null 2>&1; check "before any grant, anyone calls" 0 $?

"$P" grant ops execute --namespace T >/dev/null 2>&1; check "grant to a group" 0 $?
"$P" grant alice execute --namespace T --procedure Echo --deny >"$T/out" 2>&1; check "deny" 0 $?
contains "deny said" "$T/out" "alice: denied execute on T/Echo"
"$P" acl T >"$T/out" 2>&1; check "acl T" 0 $?
contains "allow listed" "$T/out" "ops                      execute            allow  T"
contains "deny listed" "$T/out" "alice                    execute            deny   T/Echo"

"$P" --as alice call T Whoami >"$T/out" 2>&1; check "allowed through her group" 0 $?
"$P" --as alice call T Echo >"$T/out" 2>&1; check "deny beats allow" 1 $?
contains "names principal, right, procedure" "$T/out" \
    "code=\"0x80070005\" description=\"access denied: principal 'alice' is denied the right execute on procedure T/Echo\""
"$P" --as bob call T Whoami >"$T/out" 2>&1; check "bob holds nothing" 1 $?
contains "lacks" "$T/out" "principal 'bob' lacks the right execute on procedure T/Whoami"
"$P" --as alice run "$T/trusted.xml" >"$T/out" 2>&1; check "trusted request without trusted" 1 $?
contains "lacks trusted" "$T/out" "lacks the right trusted"
"$P" --as alice queue submit "$T/trusted.xml" >"$T/out" 2>&1; check "queueing a request without trusted" 2 $?
contains "queue submit needs trusted" "$T/out" "principal 'alice' lacks the right trusted (queue submit)"
"$P" grant alice trusted >/dev/null 2>&1 && "$P" grant ops executePrivate --namespace T >/dev/null 2>&1
check "grant trusted and executePrivate" 0 $?
"$P" --as alice queue submit "$T/trusted.xml" >"$T/out" 2>&1; check "queueing a request with trusted" 0 $?
"$P" --as alice run "$T/trusted.xml" >"$T/out" 2>&1; check "trusted request calling a private procedure" 0 $?
"$P" revoke ops executePrivate --namespace T >/dev/null 2>&1; check "revoke" 0 $?
"$P" --as alice run "$T/trusted.xml" >"$T/out" 2>&1; check "private again refused" 1 $?
contains "lacks executePrivate" "$T/out" "lacks the right executePrivate on procedure T/Hidden"
"$P" acl T Echo --no-inherit >"$T/out" 2>&1; check "acl --no-inherit" 0 $?
contains "setting shown" "$T/out" "procedure T/Echo: inherit=no execute-as=-"

# a non-administrator changes nothing
"$P" --as alice grant bob execute >"$T/out" 2>&1; check "grant by a non-admin" 2 $?
contains "why" "$T/out" "principal 'alice' lacks the right admin"
"$P" --as alice register "$T/ns.xml" >"$T/out" 2>&1; check "register by a non-admin" 2 $?

# refusals: one line, status 2
for args in "--as carol call T Echo" "grant alice frobnicate" "grant nobody execute" "grant alice" \
            "grant alice admin --namespace T" "grant alice execute --procedure Echo" "revoke bob execute" \
            "user add bad/name" "user add alice" "user remove nobody" "group add alice" "user frob" \
            "acl --no-inherit" "--as alice --as bob acl"; do
    # shellcheck disable=SC2086
    "$P" $args >"$T/out" 2>&1
    check "$args is refused" 2 $?
    [ "$(wc -l <"$T/out")" = 1 ]; check "$args: one line" 0 $?
done
contains "--as twice" "$T/out" "--as is given twice"
"$P" grant alice frobnicate >"$T/out" 2>&1
contains "bad right" "$T/out" "unknown right 'frobnicate'"
"$P" --as carol call T Echo >"$T/out" 2>&1
contains "unknown principal" "$T/out" "unknown principal 'carol'"

# a caller who does not own the database may not act as another
if [ "$(id -u)" = 0 ]; then
    chown 65534 "$DB"
    "$P" --as alice call T Whoami >"$T/out" 2>&1; check "non-admin --as" 2 $?
    [ "$(wc -l <"$T/out")" = 1 ]; check "non-admin --as: one line" 0 $?
    contains "refused" "$T/out" "lacks the right admin, which acting as 'alice' needs"
    chown 0 "$DB"
fi

"$P" user remove alice >/dev/null 2>&1; check "user remove" 0 $?
"$P" acl >"$T/out" 2>&1
if grep -q alice "$T/out"; then fail=$((fail + 1)); echo "FAIL: alice's entries outlive her"; cat "$T/out"
else pass=$((pass + 1)); fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
