#!/bin/sh
# provost token: create (printed once), list (text and JSON, never a secret), revoke; every
# refusal with exit status 2 and one line; only an administrator creates or revokes; it
# works while another process holds the database; a tokens file others may read is refused;
# no secret is anywhere in the database's directory; concurrent creates lose nothing.
# usage: token.sh PROVOST
set -u
P=$1
T=$(mktemp -d)
WORKER=
trap '[ -n "$WORKER" ] && kill "$WORKER" 2>/dev/null; wait; rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"
DB="$T/db"
one_line() { # one_line NAME FILE
    [ "$(wc -l <"$2")" = 1 ]; check "$1: one line" 0 $?
}

"$P" --db "$DB" user add alice >/dev/null 2>&1; check "user add alice" 0 $?
"$P" --db "$DB" user add bob >/dev/null 2>&1; check "user add bob" 0 $?
"$P" --db "$DB" token create --user alice --expires 30d >"$T/tok" 2>"$T/err"; check "create" 0 $?
one_line "create prints the token" "$T/tok"
one_line "create's note" "$T/err"
TOK=$(cat "$T/tok")
ID=$(echo "$TOK" | cut -d_ -f2)
SECRET=$(echo "$TOK" | cut -d_ -f3)
case "$TOK" in pvt_*_*) check "the token's shape" 0 0 ;; *) check "the token's shape: $TOK" 0 1 ;; esac
contains "the note names the id and user" "$T/err" "token $ID for user alice"
"$P" --db "$DB" token create --user ALICE --expires 2099-01-01 >"$T/tok2" 2>/dev/null
check "a user's name without case, a date" 0 $?
"$P" --db "$DB" token list >"$T/list" 2>&1; check "list" 0 $?
contains "list shows the token" "$T/list" "$ID  alice"
contains "list shows its state" "$T/list" "active"
contains "list shows the date" "$T/list" "2099-01-01T00:00:00Z"
"$P" --db "$DB" token list --json >"$T/json" 2>&1; check "list --json" 0 $?
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert len(v)==2 and v[0]["user"]=="alice" and v[0]["state"]=="active", v' "$T/json"
check "list --json is JSON with the tokens" 0 $?

# refusals: exit 2, one line
for args in "create" "create --user" "create --user nobody" "create --user alice --expires soon" \
            "create --user alice --expires 2000-01-01" "create --user alice extra" "revoke" \
            "revoke 0123456789ab" "revoke a b" "list extra" "frobnicate"; do
    # shellcheck disable=SC2086
    "$P" --db "$DB" token $args >"$T/out" 2>&1
    check "token $args is refused" 2 $?
    one_line "token $args" "$T/out"
done
"$P" --db "$T/none" token list >"$T/out" 2>&1; check "list without a database" 2 $?
one_line "list without a database" "$T/out"
"$P" --db "$DB" token create --user nobody >"$T/out" 2>&1
contains "an unknown user is named" "$T/out" "unknown user 'nobody'"

# revoke
"$P" --db "$DB" token revoke "$ID" >"$T/out" 2>&1; check "revoke" 0 $?
"$P" --db "$DB" token list >"$T/list" 2>&1
grep "^$ID " "$T/list" | grep -q revoked; check "list shows it revoked" 0 $?

# only an administrator: once a right is granted, bob is not one
"$P" --db "$DB" grant bob execute >/dev/null 2>&1; check "grant" 0 $?
"$P" --db "$DB" --as bob token create --user bob >"$T/out" 2>&1; check "bob may not create" 2 $?
contains "access denied" "$T/out" "access denied: principal 'bob' lacks the right admin"
"$P" --db "$DB" --as bob token revoke "$ID" >"$T/out" 2>&1; check "bob may not revoke" 2 $?
one_line "bob may not revoke" "$T/out"

# while another process holds the database (a worker, as a service would)
# (the probe that waits for the worker to hold the database opens it too: a worker that
# starts while a probe has it open is refused and ends, and is started again)
"$P" --db "$DB" worker --quiet >"$T/worker.out" 2>&1 &
WORKER=$!
i=0
while [ $i -lt 600 ] && "$P" --db "$DB" user list >/dev/null 2>&1; do
    if ! kill -0 "$WORKER" 2>/dev/null; then
        wait "$WORKER" 2>/dev/null
        "$P" --db "$DB" worker --quiet >"$T/worker.out" 2>&1 &
        WORKER=$!
    fi
    sleep 0.1
    i=$((i + 1))
done
"$P" --db "$DB" user list >"$T/out" 2>&1
contains "the worker holds the database" "$T/out" "in use"
"$P" --db "$DB" token create --user bob >"$T/tok3" 2>/dev/null; check "create while the database is held" 0 $?
"$P" --db "$DB" token revoke "$(cut -d_ -f2 "$T/tok3")" >/dev/null 2>&1; check "revoke while it is held" 0 $?
kill "$WORKER"; wait "$WORKER" 2>/dev/null; WORKER=

# concurrent creates from several processes lose nothing
for i in 1 2 3 4 5 6 7 8; do
    "$P" --db "$DB" token create --user bob >"$T/c$i" 2>/dev/null &
done
wait
"$P" --db "$DB" token list >"$T/list" 2>&1
[ "$(grep -c ' bob ' "$T/list")" = 9 ]; check "9 tokens of bob after 8 concurrent creates" 0 $?
for i in 1 2 3 4 5 6 7 8; do
    grep -q "^$(cut -d_ -f2 "$T/c$i") " "$T/list"; check "concurrent create $i is listed" 0 $?
done

# no secret in the database's directory (the file keeps hashes) nor in the listings
if grep -rqF -e "$SECRET" "$DB" "$T/list" "$T/json"; then
    fail=$((fail + 1)); echo "FAIL: a secret is in clear in:"; grep -rlF -e "$SECRET" "$DB" "$T/list" "$T/json"
else pass=$((pass + 1)); fi
for i in 1 2 3 4 5 6 7 8; do
    if grep -rqF -e "$(cut -d_ -f3 "$T/c$i")" "$DB"; then fail=$((fail + 1)); echo "FAIL: secret $i in $DB"
    else pass=$((pass + 1)); fi
done
[ "$(stat -c %a "$DB/tokens")" = 600 ]; check "the file is owner-only" 0 $?

# a file others may read is refused, with the reason
chmod 644 "$DB/tokens"
"$P" --db "$DB" token list >"$T/out" 2>&1; check "a readable tokens file is refused" 2 $?
one_line "refused" "$T/out"
contains "why" "$T/out" "mode 0644"
"$P" --db "$DB" token create --user bob >"$T/out" 2>&1; check "and not written to" 2 $?
chmod 600 "$DB/tokens"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
