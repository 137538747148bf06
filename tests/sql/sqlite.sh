#!/bin/sh
# The sql provider on SQLite, through the provost command: every procedure forward, a
# failed transaction leaving the database exactly as before (.dump compared), kills at
# every journal point followed by provost recover (in-doubt rollbacks included), and bad
# input: a missing statement, parameters that do not match, an injection attempt stored
# literally, a bad path, a locked database (a timeout error, not a hang).
# Usage: sqlite.sh PROVOST PLUGIN_DIR
set -u
PROVOST=$1
export PROVOST_PROVIDER_PATH=$2
export PROVOST_SYNC=none # a kill -9 loses nothing the log holds; no fsync makes the sweep quick
T=$(mktemp -d)
LOCKER=""
cleanup() {
    [ -n "$LOCKER" ] && kill "$LOCKER" 2>/dev/null
    exec 3>&- 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
dump() { sqlite3 "$T/app.db" .dump; }

cat > "$T/ns.xml" <<XML
<namespace name="App" providerSource="sql">
  <providerContext driver="sqlite" path="$T/app.db" timeoutMs="300"/>
  <procedure name="Execute" type="twoPhase" access="public"/>
  <procedure name="ExecuteWithUndo" type="write" access="public" saveDataForRollback="1"/>
  <procedure name="Query" type="read" access="public"/>
</namespace>
XML
cat > "$T/bad.xml" <<XML
<namespace name="Bad" providerSource="sql">
  <providerContext driver="sqlite" path="$T/no/such/dir/app.db"/>
  <procedure name="Execute" type="twoPhase" access="public"/>
</namespace>
XML
cat > "$T/t.xml" <<'XML'
<namespace name="T" providerSource="test"><procedure name="Fail" type="write" access="public"/></namespace>
XML
"$PROVOST" --db "$T/db" register "$T/ns.xml" "$T/bad.xml" "$T/t.xml" >/dev/null || fail "register"

call() { # PROC DATA -> response in $T/out, status in $rc
    printf '%s' "$2" > "$T/in.xml"
    "$PROVOST" --db "$T/db" call App "$1" "$T/in.xml" > "$T/out" 2>&1
    rc=$?
    # 0 or 1 (the request failed), never a crash or a sanitizer's report
    if [ $rc -gt 1 ] || grep -q 'Sanitizer\|runtime error' "$T/out"; then
        fail "$1: status $rc: $(cat "$T/out")"
    fi
}
expect_ok() { [ "$rc" -eq 0 ] || fail "$1: status $rc: $(cat "$T/out")"; }
expect_code() { # CODE WHAT
    grep -q "code=\"$1\"" "$T/out" || fail "$2: expected $1, got: $(cat "$T/out")"
}

# ---- forward -----------------------------------------------------------------------------
call Execute '<data><statement>CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, note TEXT)</statement></data>'
expect_ok "create table"
call Execute "<data><statement>INSERT INTO users(name, note) VALUES(:name, :note) RETURNING id, name</statement><param name=\"name\">alice</param><param name=\"note\">x'); DROP TABLE users; --</param></data>"
expect_ok "Execute insert"
grep -q '<row><col name="id">1</col><col name="name">alice</col></row><rowsAffected>1</rowsAffected>' "$T/out" ||
    fail "Execute's row and rowsAffected: $(cat "$T/out")"
call Query '<data><statement>SELECT note FROM users WHERE name = :n</statement><param name="n">alice</param></data>'
expect_ok "Query"
grep -q "<col name=\"note\">x'); DROP TABLE users; --</col>" "$T/out" || fail "injection not stored literally: $(cat "$T/out")"
call Query '<data><statement>SELECT note FROM users WHERE name = :n</statement><param name="n" null="1"/></data>'
grep -q '<row>' "$T/out" && fail "a NULL parameter matched a row"
call ExecuteWithUndo '<data><statement>INSERT INTO users(name) VALUES(:n) RETURNING id</statement><param name="n">bob</param><undo>DELETE FROM users WHERE id = :id</undo></data>'
expect_ok "ExecuteWithUndo"
[ "$(sqlite3 "$T/app.db" "SELECT count(*) FROM users")" = 2 ] || fail "forward: not two users"

# ---- rollback: the last step fails, the database is exactly as before ----------------------
dump > "$T/before"
cat > "$T/req.xml" <<'XML'
<request><procedure>
  <execute namespace="App" procedure="ExecuteWithUndo"><executeData>
    <statement>UPDATE users SET note = :note WHERE name = :n RETURNING id, note</statement>
    <param name="n">bob</param><param name="note">changed</param><param name="old" null="1"/>
    <undo>UPDATE users SET note = :old WHERE name = :n</undo></executeData></execute>
  <execute namespace="App" procedure="Execute"><executeData>
    <statement>INSERT INTO users(name) VALUES(:n)</statement><param name="n">carol</param></executeData></execute>
  <execute namespace="App" procedure="ExecuteWithUndo"><executeData>
    <statement>INSERT INTO users(name) VALUES(:n) RETURNING id</statement><param name="n">dave</param>
    <undo>DELETE FROM users WHERE id = :id</undo></executeData></execute>
  <execute namespace="App" procedure="Query"><executeData>
    <statement>SELECT count(*) AS n FROM users</statement></executeData></execute>
  <execute namespace="T" procedure="Fail"><executeData><code>0x80004005</code></executeData></execute>
</procedure></request>
XML
"$PROVOST" --db "$T/db" run "$T/req.xml" > "$T/out" 2>&1 && fail "the failing request succeeded"
dump > "$T/after"
cmp -s "$T/before" "$T/after" || fail "rollback: the database changed: $(diff "$T/before" "$T/after")"

# ---- kill -9 at every journal point, then provost recover ---------------------------------
# The request without its failing step commits; killed at point N, recovery must leave the
# database as before (rolled back, some steps in doubt) or as committed, never between,
# and once the commit is decided every later point is committed.
grep -v 'namespace="T"' "$T/req.xml" > "$T/ok.xml"
cp -a "$T/db" "$T/db.base"
cp "$T/app.db" "$T/app.base"
"$PROVOST" --db "$T/db" run "$T/ok.xml" > "$T/out" 2>&1 || fail "the request without its failure: $(cat "$T/out")"
dump > "$T/committed"
cmp -s "$T/before" "$T/committed" && fail "the request changed nothing"
n=1 seen_commit=0 rolled=0 committed=0 undone=0 stuck=0
while [ $n -lt 80 ]; do
    rm -rf "$T/db" && cp -a "$T/db.base" "$T/db" && cp "$T/app.base" "$T/app.db"
    PROVOST_CRASH_POINT=$n "$PROVOST" --db "$T/db" run "$T/ok.xml" > "$T/out" 2>&1
    st=$?
    [ $st -eq 137 ] || break # past the last point: the request ran to its end
    dump > "$T/killed"
    "$PROVOST" --db "$T/db" recover > "$T/rec" 2>&1
    rst=$?
    dump > "$T/recovered"
    : > "$T/stuck"
    [ $rst -eq 1 ] && "$PROVOST" --db "$T/db" txn list --stuck > "$T/stuck" 2>&1
    if [ $rst -eq 1 ] && grep -q "SQLite has no prepared transactions" "$T/stuck"; then
        stuck=$((stuck + 1)) # between the decision and SQLite's COMMIT: an operator's call
        seen_commit=1
    elif [ $rst -eq 1 ] && grep -q "rollback in doubt: the undo needs a column of the row" "$T/stuck"; then
        # dave's undo takes the id the INSERT returned: in doubt nothing proves which row
        # is ours, so it is left to an operator, with every older step held back
        stuck=$((stuck + 1))
        grep -q "step 3 App/ExecuteWithUndo: intended" "$T/stuck" || fail "point $n: stuck on another step: $(cat "$T/stuck")"
    elif [ $rst -ne 0 ]; then
        fail "point $n: recover status $rst: $(cat "$T/rec")"
    elif cmp -s "$T/recovered" "$T/before"; then
        [ $seen_commit -eq 1 ] && fail "point $n: rolled back after a point that committed"
        rolled=$((rolled + 1))
        cmp -s "$T/killed" "$T/before" || undone=$((undone + 1))
    elif cmp -s "$T/recovered" "$T/committed"; then
        seen_commit=1
        committed=$((committed + 1))
    else
        fail "point $n: the database is neither as before nor as committed: $(diff "$T/before" "$T/recovered")"
    fi
    n=$((n + 1))
done
[ $n -lt 80 ] || fail "the request was killed at 80 points: PROVOST_CRASH_POINT ignored?"
[ $rolled -ge 4 ] || fail "only $rolled kill points rolled back"
[ $committed -ge 1 ] || fail "no kill point after the commit decision"
[ $undone -ge 1 ] || fail "no kill point left a write for recovery to undo"
echo "kill points: $((n - 1)); rolled back $rolled (undone by recovery $undone), committed $committed, stuck $stuck"

# ---- bad input -------------------------------------------------------------------------------
rm -rf "$T/db" && cp -a "$T/db.base" "$T/db" && cp "$T/app.base" "$T/app.db"
call Execute '<data><param name="n">x</param></data>'
expect_code 0x80070057 "missing statement"
grep -q 'executeData/statement is missing' "$T/out" || fail "missing statement: $(cat "$T/out")"
call Execute '<data><statement>INSERT INTO users(name) VALUES(:n)</statement><param name="m">x</param></data>'
expect_code 0x80070057 "unknown parameter"
grep -q 'parameter :n has no param' "$T/out" || fail "unknown parameter: $(cat "$T/out")"
call Execute '<data><statement>INSERT INTO users(name) VALUES(:n)</statement><param name="n">x</param><param name="extra">secret-value</param></data>'
expect_code 0x80070057 "unused parameter"
call Execute '<data><statement>INSERT INTO users(name) VALUES(:n)</statement><param name="n">alice</param></data>'
expect_code 0x800700B7 "unique violation"
grep -q 'UNIQUE constraint failed: users.name' "$T/out" || fail "unique violation message: $(cat "$T/out")"
call Execute '<data><statement>INSERT INTO nosuch(x) VALUES(1)</statement></data>'
expect_code 0x80070002 "no such table"
call Execute '<data><statement>COMMIT</statement></data>'
expect_code 0x80070057 "transaction control"
call Execute '<data><statement>DELETE FROM users; DELETE FROM users</statement></data>'
expect_code 0x80070057 "two statements"
printf '<data><statement>SELECT 1</statement></data>' > "$T/in.xml"
"$PROVOST" --db "$T/db" call Bad Execute "$T/in.xml" > "$T/out" 2>&1
expect_code 0x80070003 "bad path"
grep -q "$T/no/such/dir/app.db" "$T/out" || fail "bad path not named: $(cat "$T/out")"
cmp -s "$T/before" "$(dump > "$T/now"; echo "$T/now")" || fail "bad input changed the database"

# A database another process holds locked: the call fails with the timeout code.
mkfifo "$T/fifo"
sqlite3 "$T/app.db" < "$T/fifo" > /dev/null 2>&1 &
LOCKER=$!
exec 3> "$T/fifo"
printf '.timeout 10000\nBEGIN EXCLUSIVE;\n' >&3 # waits out the probes below
i=0
while sqlite3 -cmd ".timeout 0" "$T/app.db" "SELECT 1 FROM users LIMIT 1" > /dev/null 2>&1 && [ $i -lt 500 ]; do
    i=$((i + 1)) # until the lock is held
done
[ $i -lt 500 ] || fail "the locking sqlite3 never took its lock"
call Execute '<data><statement>INSERT INTO users(name) VALUES(:n)</statement><param name="n">eve</param></data>'
expect_code 0x800705B4 "locked database"
grep -q 'still locked after 300 ms' "$T/out" || fail "locked database message: $(cat "$T/out")"
echo "ROLLBACK;" >&3
exec 3>&-
wait "$LOCKER"
LOCKER=""
call Execute '<data><statement>INSERT INTO users(name) VALUES(:n)</statement><param name="n">eve</param></data>'
expect_ok "after the lock is released"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "sqlite: all passed"
