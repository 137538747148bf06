#!/bin/sh
# provost credential: set from a file and from standard input, list without secrets,
# remove, every refusal with exit status 2, and no secret anywhere an operator or an
# attacker could read it: the database's files, the command's output, its errors.
# usage: credential.sh PROVOST
set -u
P=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
DB="$T/db"
SECRET="pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
OTHER="other-$SECRET"
printf '%s\nsecond line is not part of it\n' "$SECRET" >"$T/pw"

"$P" --db "$DB" credential set ldapadmin --user "cn=admin,dc=example,dc=org" --password-file "$T/pw" >>"$T/all" 2>&1
check "set from a file" 0 $?
printf '%s\n' "$OTHER" | "$P" --db "$DB" credential set app.db_owner --user app --password-stdin >>"$T/all" 2>&1
check "set from stdin" 0 $?
"$P" --db "$DB" credential list >"$T/list" 2>&1; check "list" 0 $?
contains "list names the first" "$T/list" "ldapadmin	user=cn=admin,dc=example,dc=org	updated="
contains "list names the second" "$T/list" "app.db_owner	user=app	updated="
cat "$T/list" >>"$T/all"
# replacing keeps one entry
printf '%s\n' "$OTHER" | "$P" --db "$DB" credential set ldapadmin --user admin2 --password-stdin >>"$T/all" 2>&1
check "set again replaces" 0 $?
"$P" --db "$DB" credential list >"$T/list" 2>&1
[ "$(grep -c '^ldapadmin' "$T/list")" = 1 ]; check "one entry after replacing" 0 $?
contains "the new user" "$T/list" "ldapadmin	user=admin2"

# refusals
for args in "set bad/name --user u --password-stdin" "set x --password-stdin" \
            "set x --user u" "set x --user u --password-stdin --password-file $T/pw" \
            "set x --user u --password-file $T/none" "remove nothere" "frobnicate" "list extra"; do
    # shellcheck disable=SC2086
    printf '%s\n' "$SECRET" | "$P" --db "$DB" credential $args >"$T/out" 2>&1
    check "credential $args is refused" 2 $?
    [ "$(wc -l <"$T/out")" = 1 ]; check "credential $args: one line" 0 $?
    cat "$T/out" >>"$T/all"
done
: | "$P" --db "$DB" credential set x --user u --password-stdin >"$T/out" 2>&1
check "an empty secret is refused" 2 $?
contains "why" "$T/out" "no secret to store"

# nothing holds a secret in clear
if grep -rqF -e "$SECRET" -e "$OTHER" "$DB" "$T/all"; then
    fail=$((fail + 1)); echo "FAIL: a secret is in clear in:"; grep -rlF -e "$SECRET" -e "$OTHER" "$DB" "$T/all"
else pass=$((pass + 1)); fi

# a lost master key: nothing new is sealed, no second key is made behind the operator's back
mv "$DB/master.key" "$T/master.key"
printf '%s\n' "$SECRET" | "$P" --db "$DB" credential set y --user u --password-stdin >"$T/out" 2>&1
check "set without the master key is refused" 2 $?
contains "it names the key" "$T/out" "master.key"
[ ! -e "$DB/master.key" ]; check "no new master key while credentials are sealed under the old" 0 $?
mv "$T/master.key" "$DB/master.key"
"$P" --db "$DB" credential remove ldapadmin app.db_owner >"$T/out" 2>&1; check "remove" 0 $?
"$P" --db "$DB" credential list >"$T/list" 2>&1
[ ! -s "$T/list" ]; check "nothing left" 0 $?

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
