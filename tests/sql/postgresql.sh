#!/bin/sh
# The sql provider on PostgreSQL, against a private server this test starts in a temporary
# directory (a Unix socket there, no TCP; as the postgres account when run as root, since
# PostgreSQL refuses root) and stops on exit: every procedure forward, a failed
# transaction leaving the database as before (pg_dump compared), two-phase commit, kills
# at every journal point followed by provost recover (pg_prepared_xacts left empty, the
# data as the journal decided), a server down, a statement that outlives timeoutMs.
# Usage: postgresql.sh PROVOST PLUGIN_DIR
set -u
PROVOST=$1
export PROVOST_PROVIDER_PATH=$2
export PROVOST_SYNC=none # a kill -9 loses nothing the log holds; no fsync makes the sweep quick
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
T=$(mktemp -d)
chmod 755 "$T"
PGDIR=$T/pg
mkdir "$PGDIR"
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" -eq 0 ] && chown postgres "$PGDIR"
cleanup() {
    [ -f "$PGDIR/data/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop > /dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

if ! as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U provost > "$T/initdb.log" 2>&1; then
    echo "FAIL: initdb could not make a cluster in $PGDIR/data:"; cat "$T/initdb.log"; exit 1
fi
# the test's superuser without a password, the role "app" with one (passwordFile)
printf 'local all provost trust\nlocal all app scram-sha-256\n' > "$T/hba"
as_pg cp "$T/hba" "$PGDIR/data/pg_hba.conf"
if ! as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -o "-c listen_addresses='' \
        -c unix_socket_directories=$PGDIR -c max_prepared_transactions=10 -c fsync=off \
        -c log_statement=all" start > "$T/pg_ctl.log" 2>&1; then
    echo "FAIL: the PostgreSQL server did not start:"; cat "$T/pg_ctl.log" "$PGDIR/log"; exit 1
fi
psql_() { psql -X -q -h "$PGDIR" -U provost -d postgres -v ON_ERROR_STOP=1 -At "$@"; }
# (pg_dump's \restrict lines carry a random key of each run)
dump() { pg_dump -h "$PGDIR" -U provost -d postgres --no-owner | grep -Ev '^\\(un)?restrict '; }
prepared() { psql_ -c "SELECT count(*) FROM pg_prepared_xacts"; }
reset_data() {
    psql_ -c "DROP TABLE IF EXISTS users; CREATE TABLE users(name text PRIMARY KEY, note text);
              INSERT INTO users VALUES ('bob', NULL)" || fail "reset"
}

ns() { # NAME CONNINFO TIMEOUT
    cat <<XML
<namespace name="$1" providerSource="sql">
  <providerContext driver="postgresql" conninfo="$2" timeoutMs="$3"/>
  <procedure name="Execute" type="twoPhase" access="public"/>
  <procedure name="ExecuteWithUndo" type="write" access="public" saveDataForRollback="1"/>
  <procedure name="Query" type="read" access="public"/>
</namespace>
XML
}
ns App "host=$PGDIR user=provost dbname=postgres" 5000 > "$T/app.xml"
psql_ -c "CREATE ROLE app LOGIN PASSWORD 'app-secret-pw'" || fail "create role app"
printf 'app-secret-pw\n' > "$T/pw" && chmod 600 "$T/pw"
printf 'wrong-secret-pw\n' > "$T/wrongpw" && chmod 600 "$T/wrongpw"
printf 'app-secret-pw\n' > "$T/openpw" && chmod 640 "$T/openpw"
for v in pw wrongpw openpw; do
    ns "Pw$v" "host=$PGDIR user=app dbname=postgres" 5000 | sed "s#timeoutMs=#passwordFile=\"$T/$v\" timeoutMs=#" > "$T/ns-$v.xml"
done
ns Slow "host=$PGDIR user=provost dbname=postgres" 500 > "$T/slow.xml"
cat > "$T/t.xml" <<'XML'
<namespace name="T" providerSource="test"><procedure name="Fail" type="write" access="public"/></namespace>
XML
"$PROVOST" --db "$T/db" register "$T/app.xml" "$T/slow.xml" "$T/t.xml" "$T/ns-pw.xml" "$T/ns-wrongpw.xml" \
    "$T/ns-openpw.xml" > /dev/null || fail "register"

call() { # NS PROC DATA
    printf '%s' "$3" > "$T/in.xml"
    "$PROVOST" --db "$T/db" call "$1" "$2" "$T/in.xml" > "$T/out" 2>&1
    rc=$?
    # 0 or 1 (the request failed), never a crash or a sanitizer's report
    if [ $rc -gt 1 ] || grep -q 'Sanitizer\|runtime error' "$T/out"; then
        fail "$1 $2: status $rc: $(cat "$T/out")"
    fi
}
expect_ok() { [ "$rc" -eq 0 ] || fail "$1: status $rc: $(cat "$T/out")"; }
expect_code() { grep -q "code=\"$1\"" "$T/out" || fail "$2: expected $1, got: $(cat "$T/out")"; }

# ---- forward -------------------------------------------------------------------------------
reset_data
call App Execute "<data><statement>INSERT INTO users VALUES (:name, :note) RETURNING name, note::text AS note</statement><param name=\"name\">alice</param><param name=\"note\">x'); DROP TABLE users; --</param></data>"
expect_ok "Execute insert"
grep -q "<row><col name=\"name\">alice</col><col name=\"note\">x'); DROP TABLE users; --</col></row><rowsAffected>1</rowsAffected>" "$T/out" ||
    fail "Execute's row: $(cat "$T/out")"
call App Query '<data><statement>SELECT note FROM users WHERE name = :n</statement><param name="n">alice</param></data>'
grep -q "<col name=\"note\">x'); DROP TABLE users; --</col>" "$T/out" || fail "injection not stored literally: $(cat "$T/out")"
call App ExecuteWithUndo '<data><statement>UPDATE users SET note = :note WHERE name = :n RETURNING name AS who</statement><param name="n">bob</param><param name="note">b</param><undo>UPDATE users SET note = NULL WHERE name = :who</undo></data>'
expect_ok "ExecuteWithUndo"
[ "$(psql_ -c "SELECT note FROM users WHERE name = 'bob'")" = b ] || fail "ExecuteWithUndo did not update"
[ "$(prepared)" = 0 ] || fail "forward: a prepared transaction is left"
grep -q "PREPARE TRANSACTION 'provost:{" "$PGDIR/log" || fail "Execute was not prepared"
grep -q "COMMIT PREPARED 'provost:{" "$PGDIR/log" || fail "Execute was not committed as prepared"

# an undo that takes a column the statement returned, run when the request fails
dump > "$T/before"
cat > "$T/undo.xml" <<'XML'
<request><procedure>
  <execute namespace="App" procedure="ExecuteWithUndo"><executeData>
    <statement>INSERT INTO users VALUES (:n, NULL) RETURNING name AS who</statement><param name="n">erin</param>
    <undo>DELETE FROM users WHERE name = :who</undo></executeData></execute>
  <execute namespace="T" procedure="Fail"><executeData><code>0x80004005</code></executeData></execute>
</procedure></request>
XML
"$PROVOST" --db "$T/db" run "$T/undo.xml" > "$T/out" 2>&1 && fail "the failing request succeeded"
dump > "$T/after"
cmp -s "$T/before" "$T/after" || fail "undo by a returned column: $(diff "$T/before" "$T/after")"

# the password comes from passwordFile, only when its owner alone may read it, and never
# reaches an error
call Pwpw Query '<data><statement>SELECT current_user AS who</statement></data>'
grep -q '<col name="who">app</col>' "$T/out" || fail "passwordFile: $(cat "$T/out")"
call Pwwrongpw Query '<data><statement>SELECT 1</statement></data>'
expect_code 0x80070005 "a wrong password"
grep -q 'wrong-secret-pw' "$T/out" && fail "the password reached the error: $(cat "$T/out")"
call Pwopenpw Query '<data><statement>SELECT 1</statement></data>'
expect_code 0x80070005 "a password file others can read"

# ---- two-phase commit of several calls, and rollback -----------------------------------------
reset_data
dump > "$T/before"
cat > "$T/req.xml" <<'XML'
<request><procedure>
  <execute namespace="App" procedure="ExecuteWithUndo"><executeData>
    <statement>UPDATE users SET note = :note WHERE name = :n</statement>
    <param name="n">bob</param><param name="note">changed</param>
    <undo>UPDATE users SET note = NULL WHERE name = :n</undo></executeData></execute>
  <execute namespace="App" procedure="Execute"><executeData>
    <statement>INSERT INTO users VALUES (:n, NULL)</statement><param name="n">carol</param></executeData></execute>
  <execute namespace="App" procedure="Execute"><executeData>
    <statement>INSERT INTO users VALUES (:n, NULL)</statement><param name="n">bob</param></executeData></execute>
  <execute namespace="App" procedure="Execute"><executeData>
    <statement>UPDATE users SET note = 'c' WHERE name = :n</statement><param name="n">carol</param></executeData></execute>
  <execute namespace="App" procedure="ExecuteWithUndo"><executeData>
    <statement>INSERT INTO users VALUES (:n, NULL) RETURNING name AS who</statement><param name="n">dave</param>
    <undo>DELETE FROM users WHERE name = :n</undo></executeData></execute>
  <execute namespace="App" procedure="Query"><executeData>
    <statement>SELECT count(*) AS n FROM users</statement></executeData></execute>
  <execute namespace="T" procedure="Fail"><executeData><code>0x80004005</code></executeData></execute>
</procedure></request>
XML
# the third step fails (bob exists): without a catch the request fails there
"$PROVOST" --db "$T/db" run "$T/req.xml" > "$T/out" 2>&1 && fail "the failing request succeeded"
grep -q 'code="0x800700B7"' "$T/out" || fail "duplicate key: expected 0x800700B7: $(cat "$T/out")"
grep -q 'table users' "$T/out" || fail "the unique violation does not name the table: $(cat "$T/out")"
dump > "$T/after"
cmp -s "$T/before" "$T/after" || fail "rollback: the database changed: $(diff "$T/before" "$T/after")"
[ "$(prepared)" = 0 ] || fail "rollback: a prepared transaction is left"

# without the duplicate, it fails only at its last step: everything is rolled back
awk 'BEGIN{skip=0} /procedure="Execute"><executeData>$/{buf=$0; getline; if ($0 ~ /param name="n">bob</) next; print buf} {print}' "$T/req.xml" > "$T/req2.xml"
"$PROVOST" --db "$T/db" run "$T/req2.xml" > "$T/out" 2>&1 && fail "the request failing at its end succeeded"
grep -q 'code="0x80004005"' "$T/out" || fail "expected the last step's failure: $(cat "$T/out")"
dump > "$T/after"
cmp -s "$T/before" "$T/after" || fail "rollback at the end: the database changed: $(diff "$T/before" "$T/after")"
[ "$(prepared)" = 0 ] || fail "rollback at the end: a prepared transaction is left"

# and without its failing step it commits, two-phase
grep -v 'namespace="T"' "$T/req2.xml" > "$T/ok.xml"
cp -a "$T/db" "$T/db.base"
"$PROVOST" --db "$T/db" run "$T/ok.xml" > "$T/out" 2>&1 || fail "two-phase commit: $(cat "$T/out")"
[ "$(psql_ -c "SELECT string_agg(name || '=' || coalesce(note, '-'), ',' ORDER BY name) FROM users")" = "bob=changed,carol=c,dave=-" ] ||
    fail "two-phase commit: $(psql_ -c 'SELECT * FROM users')"
[ "$(prepared)" = 0 ] || fail "two-phase commit: a prepared transaction is left"
dump > "$T/committed"

# ---- kill -9 at every journal point, then provost recover -----------------------------------
n=1 seen_commit=0 rolled=0 committed=0 held=0
while [ $n -lt 80 ]; do
    reset_data
    rm -rf "$T/db" && cp -a "$T/db.base" "$T/db"
    PROVOST_CRASH_POINT=$n "$PROVOST" --db "$T/db" run "$T/ok.xml" > "$T/out" 2>&1
    [ $? -eq 137 ] || break
    [ "$(prepared)" = 0 ] || held=$((held + 1)) # killed after PREPARE TRANSACTION
    "$PROVOST" --db "$T/db" recover > "$T/rec" 2>&1 || fail "point $n: recover: $(cat "$T/rec")"
    [ "$(prepared)" = 0 ] || fail "point $n: recovery left a prepared transaction: $(psql_ -c 'SELECT gid FROM pg_prepared_xacts')"
    dump > "$T/recovered"
    if cmp -s "$T/recovered" "$T/before"; then
        [ $seen_commit -eq 1 ] && fail "point $n: rolled back after a point that committed"
        rolled=$((rolled + 1))
    elif cmp -s "$T/recovered" "$T/committed"; then
        seen_commit=1
        committed=$((committed + 1))
    else
        fail "point $n: neither as before nor as committed: $(diff "$T/before" "$T/recovered")"
    fi
    n=$((n + 1))
done
[ $n -lt 80 ] || fail "killed at 80 points: PROVOST_CRASH_POINT ignored?"
[ $held -ge 1 ] || fail "no kill point fell after PREPARE TRANSACTION"
[ $rolled -ge 4 ] && [ $committed -ge 2 ] || fail "rolled back $rolled, committed $committed"
echo "kill points: $((n - 1)); rolled back $rolled, committed $committed; $held left a prepared transaction for recovery"

# ---- the pool: a pooled connection the server ended is replaced -------------------------------
# One engine (a batch, one job): the first request leaves a connection of App in the pool,
# the second (App with another timeout: another pool) ends every other session of
# "provost", the third takes App's dead connection, finds it dead, and goes on with a new one.
# Then the same for an Execute, whose lock, BEGIN and statement go out together: sent
# again on a new connection, once.
ns Killer "host=$PGDIR user=provost dbname=postgres" 4000 > "$T/killer.xml"
"$PROVOST" --db "$T/db" register "$T/killer.xml" > /dev/null || fail "register Killer"
q() { printf '<request><procedure><execute namespace="%s" procedure="%s"><executeData><statement>%s</statement></executeData></execute></procedure></request>\n' "$@"; }
psql_ -c "CREATE TABLE ended(n int)" || fail "create table ended"
{
    echo '<requests>'
    q App Query "SELECT 1"
    q Killer Execute "INSERT INTO ended SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'provost' AND pid &lt;&gt; pg_backend_pid()"
    q App Query "SELECT 2"
    q Killer Execute "INSERT INTO ended SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'provost' AND pid &lt;&gt; pg_backend_pid()"
    q App Execute "INSERT INTO ended VALUES (10)"
    echo '</requests>'
} > "$T/pool.xml"
"$PROVOST" --db "$T/db" batch -j 1 -q "$T/pool.xml" > "$T/out" 2>&1 || fail "pool: $(cat "$T/out")"
grep -q '5 succeeded' "$T/out" || fail "pool: no new connection after the old one died: $(cat "$T/out")"
[ "$(psql_ -c "SELECT string_agg(n::text, ',' ORDER BY n) FROM ended")" = "1,1,10" ] ||
    fail "pool: the pooled connections were not ended, or the Execute ran other than once: $(psql_ -c 'SELECT n FROM ended')"
[ "$(prepared)" = 0 ] || fail "pool: a prepared transaction is left"

# ---- bad input, timeouts, a server down -------------------------------------------------------
call App Execute '<data><statement>SELECT :a::int</statement><param name="a">not-a-number</param></data>'
expect_code 0x8007000D "bad value"
grep -q 'not-a-number' "$T/out" && fail "a parameter's value reached the error text: $(cat "$T/out")"
call App Execute '<data><statement>INSERT INTO users VALUES (:n, $1)</statement><param name="n">x</param></data>'
expect_code 0x80070057 "positional parameter"
call App Query '<data><statement>SELECT * FROM nosuch</statement></data>'
expect_code 0x80070002 "no such table"
call Slow Query '<data><statement>SELECT pg_sleep(30)</statement></data>'
expect_code 0x800705B4 "a statement beyond timeoutMs"
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop > /dev/null 2>&1 || fail "pg_ctl stop"
call App Execute '<data><statement>SELECT 1</statement></data>'
expect_code 0x800704CF "server down"
grep -q 'cannot connect' "$T/out" || fail "server down: $(cat "$T/out")"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "postgresql: all passed"
