#!/bin/sh
# The example of scripts/demo, examples/users, as an operator runs it: alice provisioned
# into SQLite and a home directory; bob, whose quota breaks the last step, leaves nothing;
# then with a private slapd (tests/ldap/slapd.sh) and the bind password as the engine's
# credential: dave gets an entry and a group membership too, and carol, whose entry the
# directory already holds, leaves no row and no home behind (the directory's refusal undoes
# the database and the files).
# usage: users.sh PROVOST SOURCE_DIR
set -u
P=$1
SRC=$2
T=$(mktemp -d)
trap 'slapd_stop 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
fail=0
bad() { echo "FAIL: $*"; fail=1; }
q() { sqlite3 "$T/d/users.sqlite" "$1"; }
export PROVOST_DB="$T/db"
unset PROVOST_PROVIDER_PATH

"$SRC/examples/users/setup.sh" "$P" "$T/d" >"$T/setup.out" 2>&1 || { cat "$T/setup.out"; exit 1; }
"$P" call Users ProvisionUser "$SRC/examples/users/alice.xml" >"$T/alice.out" 2>&1 || bad "alice: $(cat "$T/alice.out")"
[ "$(q "SELECT name || '|' || mail FROM users")" = "alice|alice@example.org" ] || bad "alice's row"
[ "$(q "SELECT mb FROM quotas WHERE name = 'alice'")" = 2048 ] || bad "alice's quota"
grep -q '^Welcome, Alice Liddell!$' "$T/d/home/alice/welcome.txt" || bad "alice's welcome file"
[ "$(stat -c %a "$T/d/home/alice")" = 750 ] || bad "alice's home mode"

ls -la "$T/d/home" >"$T/home.before"
"$P" call Users ProvisionUser "$SRC/examples/users/bob.xml" >"$T/bob.out" 2>&1
[ $? -eq 1 ] || bad "bob's request should fail"
grep -q 'CHECK constraint failed' "$T/bob.out" || bad "bob: the constraint is the reason: $(cat "$T/bob.out")"
[ "$(q "SELECT count(*) FROM users WHERE name = 'bob'")" = 0 ] || bad "bob's row was not rolled back"
[ ! -e "$T/d/home/bob" ] || bad "bob's home was not removed"
ls -la "$T/d/home" | diff "$T/home.before" - >/dev/null || bad "the home root changed"

. "$SRC/tests/ldap/slapd.sh"
slapd_setup || exit 1
export PROVOST_DEMO_LDAP_URI="$URI" PROVOST_DEMO_LDAP_BIND_DN="$ROOTDN" PROVOST_DEMO_LDAP_BASE_DN="$SUFFIX"
export PROVOST_DEMO_LDAP_PASSWORD_FILE="$T/admin.pw"
"$SRC/examples/users/setup.sh" "$P" "$T/d" >"$T/setup2.out" 2>&1 || { cat "$T/setup2.out"; exit 1; }
"$P" call DirectoryUsers ProvisionUser "$SRC/examples/users/dave.xml" >"$T/dave.out" 2>&1 || bad "dave: $(cat "$T/dave.out")"
ldapsearch -x -LLL -H "$URI" -D "$ROOTDN" -y "$T/admin.pw" -b "$SUFFIX" "(uid=dave)" mail >"$T/dave.ldif" 2>&1
grep -q '^mail: dave@example.org$' "$T/dave.ldif" || bad "dave's entry: $(cat "$T/dave.ldif")"
ldapsearch -x -LLL -H "$URI" -D "$ROOTDN" -y "$T/admin.pw" -b "cn=staff,ou=groups,$SUFFIX" -s base member >"$T/staff" 2>&1
grep -q '^member: uid=dave,ou=people,dc=example,dc=org$' "$T/staff" || bad "dave is not in staff: $(cat "$T/staff")"
[ -d "$T/d/home/dave" ] && [ "$(q "SELECT count(*) FROM users WHERE name = 'dave'")" = 1 ] || bad "dave's row and home"

dump "$T/dir.before"
printf '<data><user name="carol" fullName="Carol Jones" mail="carol@example.org" quotaMB="100"/></data>' >"$T/carol.xml"
"$P" call DirectoryUsers ProvisionUser "$T/carol.xml" >"$T/carol.out" 2>&1
rc=$?; [ $rc -eq 1 ] || bad "carol's request should fail (exit $rc): the directory has her entry: $(cat "$T/carol.out")"
grep -q 'code="0x800700B7"' "$T/carol.out" || bad "carol: the entry exists: $(cat "$T/carol.out")"
[ "$(q "SELECT count(*) FROM users WHERE name = 'carol'")" = 0 ] || bad "carol's row was not rolled back"
[ ! -e "$T/d/home/carol" ] || bad "carol's home was not removed"
dump "$T/dir.after"
diff "$T/dir.before" "$T/dir.after" >/dev/null || bad "the directory changed: $(diff "$T/dir.before" "$T/dir.after")"

# the bind password is nowhere in the engine's files or the outputs
if grep -rqF -- "$ADMINPW" "$T/db" "$T"/*.out; then bad "the bind password is in clear"; fi
[ $fail -eq 0 ] && echo ok
exit $fail
