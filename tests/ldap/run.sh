#!/bin/sh
# The ldap provider against a real OpenLDAP slapd that this script starts in a temporary
# directory (tests/ldap/slapd.sh) and stops on every exit.  The namespace under test is
# providers/ldap/ldap.xml itself, its providerContext pointed at that server.
# usage: run.sh PROVOST PLUGIN_DIR SOURCE_DIR GROUP [POOL_CHECK]
#   GROUP procs     every procedure forward, retries, bad input, escaping
#         rollback  a request whose last step fails leaves the directory as it was; the
#                   two phases of DeleteEntry; undo after a crash keeps concurrent changes
#         crash     kill -9 at every journal point of a request of every write, then
#                   provost recover: the directory as it was at every point, no
#                   transaction stuck, no undo entry left
#         errors    wrong password, open password file, server down, server hanging
#         pool      one engine (POOL_CHECK): 8 threads on a pool of 2 connections; the
#                   server restarted, stopped, started again between calls
# Every group finally checks that the bind password is nowhere in the database files,
# the responses or the error output.  Exit 77 (skipped) when slapd is not installed.
set -u
P=$1
PLUG=$2
SRC=$3
GROUP=$4
POOL_CHECK=${5:-}
command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ] || { echo "slapd not installed: skipped"; exit 77; }
PATH=$PATH:/usr/sbin
T=$(mktemp -d)
trap 'slapd_stop; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
. "$SRC/tests/ldap/slapd.sh"
export PROVOST_PROVIDER_PATH="$PLUG"
unset PROVOST_CRASH_POINT PROVOST_DB
cd "$T" || exit 1
pass=0
fail=0
B=$SUFFIX
PEOPLE="ou=people,$B"
STAFF="cn=staff,ou=groups,$B"
n_out=0

ok() { pass=$((pass + 1)); }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*"
    [ -f out ] && sed 's/^/  response: /' out | head -5
}
# expect NAME CONDITION...: the condition (a command) holds
expect() {
    name=$1
    shift
    if "$@"; then ok; else bad "$name"; fi
}
has() { grep -q -- "$1" out; }
quiet() { "$@" >/dev/null 2>&1; }
code_is() { grep -q "code=\"$1\"" out; }
# every response and error output is kept for the final password check
keep() {
    n_out=$((n_out + 1))
    cp out "responses.$n_out" 2>/dev/null
    cp err "stderr.$n_out" 2>/dev/null
}
# call NS PROC XML: a simple request; the response in out
call() {
    printf '%s' "$3" >in.xml
    timeout 60 "$P" --db db call "$1" "$2" in.xml >out 2>err
    rc=$?
    keep
    return $rc
}
# run XML [ENV...]: a trusted request; the response in out, the status in $rc
run() {
    printf '%s' "$1" >req.xml
    shift
    env "$@" timeout 60 "$P" --db db run req.xml >out 2>err
    rc=$?
    keep
    return 0
}
# nothing under quarantineDN but the container itself: no undo entry, no deleted entry
no_undo_entries() {
    [ "$(search -b "ou=provost-quarantine,$B" dn | grep -c '^dn:')" -le 1 ]
}
# an entry right under quarantineDN matches the filter $1
undo_has() { search -b "ou=provost-quarantine,$B" -s one "$1" dn | grep -q '^dn:'; }
search() { ldapsearch -x -LLL -o ldif-wrap=no -H "$URI" -D "$ROOTDN" -y "$T/admin.pw" "$@" 2>&1; }

# the reference namespace as NAME, with its providerContext given in $2
namespace() {
    perl -0pe 's#<providerContext .*?/>#'"$2"'#s; s#name="LDAP"#name="'"$1"'"#; s#namespace="LDAP"#namespace="'"$1"'"#g' \
        "$SRC/providers/ldap/ldap.xml" >"$1.xml"
    "$P" --db db register "$1.xml" >/dev/null || { echo "FAIL: register $1"; exit 1; }
}
ctx() { # URI PASSWORDFILE TIMEOUT
    echo "<providerContext uri=\"$1\" bindDN=\"$ROOTDN\" passwordFile=\"$2\" baseDN=\"$B\" timeoutMs=\"$3\"/>"
}

slapd_setup || exit 1
setup_db() {
    rm -rf db
    namespace LDAP "$(ctx "$URI" "$T/admin.pw" 5000)"
    printf '%s' '<namespace name="T" providerSource="test"><procedure name="Fail" type="write"/><procedure name="FailPrepare" type="twoPhase"/><procedure name="Crash" type="write"/></namespace>' >t.xml
    "$P" --db db register t.xml >/dev/null || { echo "FAIL: register T"; exit 1; }
}
setup_db

ALICE="<dn>uid=alice,$PEOPLE</dn><attr name=\"objectClass\">inetOrgPerson</attr><attr name=\"uid\">alice</attr><attr name=\"cn\">Alice</attr><attr name=\"sn\">Smith</attr><attr name=\"mail\">a@example.org</attr><attr name=\"mail\">alice@example.org</attr>"
DAVE="<rdn name=\"uid\">dave</rdn><parent>$PEOPLE</parent><attr name=\"objectClass\">inetOrgPerson</attr><attr name=\"uid\">dave</attr><attr name=\"cn\">Dave</attr><attr name=\"sn\">Doe</attr>"
step() { echo "<execute namespace=\"$1\" procedure=\"$2\"><executeData>$3</executeData></execute>"; }
FAIL_STEP=$(step T Fail '<code>0x80004005</code><description>the last step fails</description>')
# one request with every write: AddEntry, AddMember (one member new, one already there,
# spelled in another case), ModifyEntry, RenameEntry, DeleteEntry, SetPassword
EVERY_WRITE="$(step LDAP AddEntry "$DAVE")$(step LDAP AddMember "<group>$STAFF</group><member>uid=dave,$PEOPLE</member><member>UID=Bob,$PEOPLE</member>")$(step LDAP ModifyEntry "<dn>uid=bob,$PEOPLE</dn><replace name=\"mail\">b2@example.org</replace><add name=\"description\">new</add><delete name=\"telephoneNumber\"/>")$(step LDAP RenameEntry "<dn>uid=carol,$PEOPLE</dn><newRDN>uid=caroline</newRDN><newSuperior>ou=groups,$B</newSuperior>")$(step LDAP DeleteEntry "<dn>uid=erin,$PEOPLE</dn>")$(step LDAP SetPassword "<dn>uid=bob,$PEOPLE</dn><password>N3w-User-Pw-41</password>")"

group_procs() {

    # AddEntry: entryUUID handed back, and it is the entry's
    call LDAP AddEntry "<data>$ALICE</data>"
    uuid=$(sed -n 's/.*<entryUUID>\([^<]*\)<.*/\1/p' out)
    expect "AddEntry returns the entryUUID" [ -n "$uuid" ]
    expect "AddEntry made the entry" sh -c "ldapsearch -x -LLL -H '$URI' -D '$ROOTDN' -y '$T/admin.pw' -b 'uid=alice,$PEOPLE' -s base entryUUID mail | grep -q 'entryUUID: $uuid'"
    # the same AddEntry again (a retry): success, the same entry, no second one
    call LDAP AddEntry "<data>$ALICE</data>"
    expect "AddEntry retried succeeds" [ $rc -eq 0 ]
    expect "AddEntry retried returns the same entryUUID" has "<entryUUID>$uuid</entryUUID>"
    # an entry already there with other attributes
    call LDAP AddEntry "<data><dn>uid=bob,$PEOPLE</dn><attr name=\"objectClass\">inetOrgPerson</attr><attr name=\"uid\">bob</attr><attr name=\"cn\">Other</attr><attr name=\"sn\">Other</attr></data>"
    expect "AddEntry over another entry: 0x800700B7" code_is 0x800700B7
    expect "AddEntry over another entry names the DN" has "uid=bob,$PEOPLE"
    # rdn@name + parent: the value is escaped, never read as DN syntax
    call LDAP AddEntry "<data><rdn name=\"uid\">x,dc=evil</rdn><parent>$PEOPLE</parent><attr name=\"objectClass\">inetOrgPerson</attr><attr name=\"uid\">x,dc=evil</attr><attr name=\"cn\">x</attr><attr name=\"sn\">x</attr></data>"
    expect "AddEntry escapes an RDN value" [ $rc -eq 0 ]
    search -b "$PEOPLE" -s one '(uid=x,dc=evil)' dn >e
    expect "the escaped entry is one level under people" grep -qiF "dn: uid=x\\2Cdc\\3Devil,$PEOPLE" e
    # DNs outside baseDN, missing, malformed
    call LDAP AddEntry "<data><dn>cn=x,dc=evil</dn><attr name=\"objectClass\">person</attr><attr name=\"cn\">x</attr><attr name=\"sn\">x</attr></data>"
    expect "a DN outside baseDN: 0x80070005" code_is 0x80070005
    expect "a DN outside baseDN says so" has "outside baseDN"
    call LDAP AddEntry "<data><dn>cn=x,dc=evil,dc=org</dn><attr name=\"cn\">x</attr></data>"
    expect "a DN under another suffix: 0x80070005" code_is 0x80070005
    call LDAP GetEntry "<data/>"
    expect "missing dn: 0x80070057" code_is 0x80070057
    expect "missing dn says so" has "executeData/dn is missing"
    call LDAP GetEntry "<data><dn>not a DN at all</dn></data>"
    expect "a malformed DN: 0x80070057" code_is 0x80070057
    call LDAP GetEntry "<data><dn>uid=nobody,$PEOPLE</dn></data>"
    expect "GetEntry of nothing: 0x80070002" code_is 0x80070002
    expect "noSuchObject names the DN" has "uid=nobody,$PEOPLE"
    # ModifyEntry
    call LDAP ModifyEntry "<data><dn>uid=bob,$PEOPLE</dn><replace name=\"mail\">b2@example.org</replace><add name=\"description\">d1</add><add name=\"description\">d2</add><delete name=\"telephoneNumber\"/></data>"
    search -b "uid=bob,$PEOPLE" -s base mail description telephoneNumber >e
    expect "ModifyEntry applied" sh -c "grep -q 'mail: b2@example.org' e && grep -q 'description: d2' e && ! grep -q 'telephoneNumber' e && ! grep -q 'bob@example.org' e"
    # AddMember: one new, one already there (another spelling)
    call LDAP AddMember "<data><group>$STAFF</group><member>uid=alice,$PEOPLE</member><member>UID=BOB,$PEOPLE</member></data>"
    search -b "$STAFF" -s base member >e
    expect "AddMember added the new member once" sh -c "[ \$(grep -c '^member:' e) -eq 2 ] && grep -q 'uid=alice' e"
    call LDAP RemoveMember "<data><group>$STAFF</group><member>uid=alice,$PEOPLE</member></data>"
    search -b "$STAFF" -s base member >e
    expect "RemoveMember removed it" sh -c "! grep -q 'uid=alice' e && grep -q 'uid=bob' e"
    call LDAP AddMember "<data><group>$STAFF</group><member>not a dn</member></data>"
    expect "AddMember of a non-DN: 0x80070057" code_is 0x80070057
    # RenameEntry: the new DN handed back
    call LDAP RenameEntry "<data><dn>uid=carol,$PEOPLE</dn><newRDN>uid=caroline</newRDN></data>"
    expect "RenameEntry returns the new dn" has "<dn>uid=caroline,$PEOPLE</dn>"
    expect "RenameEntry renamed" sh -c "ldapsearch -x -LLL -H '$URI' -D '$ROOTDN' -y '$T/admin.pw' -b '$PEOPLE' '(uid=caroline)' dn | grep -q caroline"
    # SetPassword: the user can bind with it; the response does not carry it
    call LDAP SetPassword "<data><dn>uid=bob,$PEOPLE</dn><password>N3w-User-Pw-41</password></data>"
    expect "SetPassword succeeds" [ $rc -eq 0 ]
    expect "the response has no password" sh -c "! grep -q N3w-User-Pw-41 out"
    expect "bob binds with the new password" quiet ldapwhoami -x -H "$URI" -D "uid=bob,$PEOPLE" -w N3w-User-Pw-41
    # GetEntry with a selection
    call LDAP GetEntry "<data><dn>uid=alice,$PEOPLE</dn><attr name=\"cn\"/></data>"
    expect "GetEntry returns the selected attribute" has "<entry dn=\"uid=alice,$PEOPLE\"><attr name=\"cn\">Alice</attr></entry>"
    expect "GetEntry returns only it" sh -c "! grep -q 'name=\"mail\"' out"
    # Search: a parameter is a value, never filter syntax
    call LDAP Search "<data><base>$PEOPLE</base><filter>(uid={u})</filter><param name=\"u\">*)(uid=*</param><scope>one</scope></data>"
    expect "Search with *)( in a value finds nothing" sh -c "[ $rc -eq 0 ] && ! grep -q '<entry' out"
    call LDAP Search "<data><base>$PEOPLE</base><filter>(uid={u})</filter><param name=\"u\">bob</param><scope>sub</scope><attr>uid</attr></data>"
    expect "Search with a parameter finds bob" has "<entry dn=\"uid=bob,$PEOPLE\"><attr name=\"uid\">bob</attr></entry>"
    call LDAP Search "<data><base>$PEOPLE</base><filter>(objectClass=inetOrgPerson)</filter><sizeLimit>1</sizeLimit></data>"
    expect "Search with sizeLimit 1 returns one entry, truncated" sh -c "[ \$(grep -o '<entry ' out | wc -l) -eq 1 ] && grep -q '<truncated>1</truncated>' out"
    call LDAP Search "<data><base>$PEOPLE</base><filter>(uid={missing})</filter></data>"
    expect "a placeholder without param: 0x80070057" code_is 0x80070057
    call LDAP Search "<data><base>$PEOPLE</base><filter>(uid=bob</filter></data>"
    expect "a malformed filter: 0x80070057" code_is 0x80070057
    # DeleteEntry, committed: gone, and nothing left in the quarantine
    call LDAP DeleteEntry "<data><dn>uid=alice,$PEOPLE</dn></data>"
    expect "DeleteEntry succeeds" [ $rc -eq 0 ]
    expect "DeleteEntry deleted" sh -c "! ldapsearch -x -LLL -H '$URI' -D '$ROOTDN' -y '$T/admin.pw' -b '$B' '(uid=alice)' dn | grep -q dn"
    expect "the quarantine is empty" sh -c "[ \$(ldapsearch -x -LLL -H '$URI' -D '$ROOTDN' -y '$T/admin.pw' -b 'ou=provost-quarantine,$B' dn | grep -c '^dn:') -eq 1 ]"
    call LDAP DeleteEntry "<data><dn>ou=people,$B</dn></data>"
    expect "DeleteEntry of a non-leaf: 0x80070091" code_is 0x80070091
    call LDAP DeleteEntry "<data><dn>uid=alice,$PEOPLE</dn></data>"
    expect "DeleteEntry of nothing: 0x80070002" code_is 0x80070002
    # many requests at once through one engine: the pool is shared by the workers
    i=0
    while [ $i -lt 40 ]; do
        echo "uid$i,u$i"
        i=$((i + 1))
    done | { echo "uid,cn"; cat; } >rows.csv
    printf '%s' "<namespace name=\"Users\" providerSource=\"test\"><procedure name=\"Add\" type=\"write\" access=\"public\"><execute namespace=\"LDAP\" procedure=\"AddEntry\"><executeData><parent>$PEOPLE</parent><attr name=\"objectClass\">inetOrgPerson</attr><attr name=\"sn\">x</attr></executeData><before source=\"data\" sourcePath=\"uid\" destination=\"executeData\"><xsl:template xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\" match=\"uid\"><rdn name=\"uid\"><xsl:value-of select=\".\"/></rdn><attr name=\"uid\"><xsl:value-of select=\".\"/></attr></xsl:template></before><before source=\"data\" sourcePath=\"cn\" destination=\"executeData\"><xsl:template xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\" match=\"cn\"><attr name=\"cn\"><xsl:value-of select=\".\"/></attr></xsl:template></before></execute><execute namespace=\"LDAP\" procedure=\"AddMember\"><executeData><group>$STAFF</group></executeData><before source=\"data\" sourcePath=\"uid\" destination=\"executeData\"><xsl:template xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\" match=\"uid\"><member>uid=<xsl:value-of select=\".\"/>,$PEOPLE</member></xsl:template></before></execute></procedure></namespace>" >users.xml
    "$P" --db db register users.xml >/dev/null || bad "register users.xml"
    "$P" --db db batch -q --jobs 4 --call Users Add --rows rows.csv --out batch.jsonl >out 2>err
    rc=$?
    keep
    cp batch.jsonl "responses.batch"
    expect "a batch of 40 users through 4 workers succeeds" [ $rc -eq 0 ]
    expect "the 40 users are members" sh -c "[ \$(ldapsearch -x -LLL -H '$URI' -D '$ROOTDN' -y '$T/admin.pw' -b '$STAFF' -s base member | grep -c '^member: uid=uid') -eq 40 ]"
}

group_rollback() {
    dump before
    run "<request><data/><procedure>$EVERY_WRITE$FAIL_STEP</procedure></request>"
    expect "the request fails with the last step's error" code_is 0x80004005
    dump after
    expect "every write rolled back: the directory as before" cmp -s before after
    [ -s after ] || bad "empty dump"
    # the same writes without the failing step: all applied
    run "<request><data/><procedure>$EVERY_WRITE</procedure></request>"
    expect "every write succeeds" [ $rc -eq 0 ]
    dump applied
    expect "the writes changed the directory" sh -c "! cmp -s before applied && grep -q 'uid=caroline' applied && grep -q 'description: new' applied"
    expect "bob was a member already and stays one, once" sh -c "grep '^dn: cn=staff' applied | grep -c 'member: uid=bob' | grep -qx 1"
    expect "a committed request leaves no undo entry" no_undo_entries
    slapd_reset || exit 1
    setup_db

    # DeleteEntry's phases: while the transaction runs, the entry is in the quarantine;
    # a prepare that fails (another provider's) brings it back
    dump before
    run "<request><data/><procedure>$(step LDAP DeleteEntry "<dn>uid=carol,$PEOPLE</dn>")$(step T Crash '')</procedure></request>"
    search -b "ou=provost-quarantine,$B" '(uid=carol)' dn >e
    expect "process moves the entry into the quarantine" grep -q "^dn: uid=carol,ou={" e
    expect "and it is gone from its place" sh -c "! ldapsearch -x -LLL -H '$URI' -D '$ROOTDN' -y '$T/admin.pw' -b '$PEOPLE' '(uid=carol)' dn | grep -q dn"
    "$P" --db db recover >out 2>err
    keep
    dump after
    expect "recovery moves it back" cmp -s before after
    run "<request><data/><procedure>$(step LDAP DeleteEntry "<dn>uid=carol,$PEOPLE</dn>")$(step T FailPrepare '')</procedure></request>"
    expect "a failing prepare fails the request" code_is 0x8004D00E
    dump after
    expect "a failing prepare brings the deleted entry back" cmp -s before after

    # undo keeps what others changed meanwhile: the process dies after ModifyEntry and
    # AddMember, someone else changes the same attributes, recovery undoes only ours
    run "<request><data/><procedure>$(step LDAP ModifyEntry "<dn>uid=bob,$PEOPLE</dn><add name=\"mail\">ours@example.org</add><replace name=\"description\">ours</replace>")$(step LDAP AddMember "<group>$STAFF</group><member>uid=carol,$PEOPLE</member>")$(step T Crash '')</procedure></request>"
    expect "the process ended in the middle" [ $rc -eq 86 ]
    search -b "ou=provost-quarantine,$B" -s one dn >e
    expect "the process ended with an undo entry for each value change" sh -c "[ \$(grep -c '^dn: ou=.*\\.undo,' e) -eq 2 ]"
    expect "the undo entry of ModifyEntry says to delete the value it added" undo_has '(description=op.*mail*=ours@example.org)'
    printf 'dn: uid=bob,%s\nchangetype: modify\nadd: mail\nmail: theirs@example.org\n-\n\ndn: %s\nchangetype: modify\nadd: member\nmember: uid=alice,%s\n' \
        "$PEOPLE" "$STAFF" "$PEOPLE" | ldapmodify -x -H "$URI" -D "$ROOTDN" -y "$T/admin.pw" >/dev/null
    "$P" --db db recover >out 2>err
    rc=$?
    keep
    expect "recover succeeds" [ $rc -eq 0 ]
    search -b "uid=bob,$PEOPLE" -s base mail description >e
    search -b "$STAFF" -s base member >>e
    expect "our mail is gone, theirs and the old one stay" sh -c "! grep -q ours@ e && grep -q theirs@ e && grep -q bob@example.org e"
    expect "the description is gone again" sh -c "! grep -q '^description' e"
    expect "our member is gone, theirs stays" sh -c "! grep -q 'uid=carol' e && grep -q 'uid=alice' e && grep -q 'uid=bob' e"
    expect "recover removed the undo entries" no_undo_entries
    # SetPassword's undo entry keeps the previous value as the directory returned it (here
    # a hash), as its own userPassword, and never the new password
    run "<request><data/><procedure>$(step LDAP SetPassword "<dn>uid=bob,$PEOPLE</dn><password>N3w-User-Pw-41</password>")$(step T Crash '')</procedure></request>"
    expect "the undo entry of SetPassword holds the old hash" undo_has '(userPassword={SSHA}oldhasholdhasholdhasholdhash)'
    expect "and not the new password" sh -c "! ldapsearch -x -LLL -H '$URI' -D '$ROOTDN' -y '$T/admin.pw' -b 'ou=provost-quarantine,$B' '(userPassword=N3w-User-Pw-41)' dn | grep -q dn"
    "$P" --db db recover >out 2>err
    keep
    expect "recover puts the old hash back" sh -c "ldapsearch -x -LLL -H '$URI' -D '$ROOTDN' -y '$T/admin.pw' -b 'uid=bob,$PEOPLE' '(userPassword={SSHA}oldhasholdhasholdhasholdhash)' dn | grep -q dn"
    expect "and removes the undo entry" no_undo_entries
    # AddEntry's undo deletes only the entry it made: one deleted and made again by
    # someone else (another entryUUID) is left alone
    run "<request><data/><procedure>$(step LDAP AddEntry "$DAVE")$(step T Crash '')</procedure></request>"
    ldapdelete -x -H "$URI" -D "$ROOTDN" -y "$T/admin.pw" "uid=dave,$PEOPLE"
    printf 'dn: uid=dave,%s\nobjectClass: inetOrgPerson\nuid: dave\ncn: Dave\nsn: Doe\n' "$PEOPLE" |
        ldapadd -x -H "$URI" -D "$ROOTDN" -y "$T/admin.pw" >/dev/null
    "$P" --db db recover >out 2>err
    keep
    expect "an entry another made at the same DN survives our undo" sh -c "ldapsearch -x -LLL -H '$URI' -D '$ROOTDN' -y '$T/admin.pw' -b '$PEOPLE' '(uid=dave)' dn | grep -q dave"
}

group_crash() {
    req="<request><data/><procedure>$EVERY_WRITE$FAIL_STEP</procedure></request>"
    dump before
    point=1
    stuck=0
    while [ $point -lt 200 ]; do
        run "$req" PROVOST_CRASH_POINT=$point
        [ $rc -eq 137 ] || break
        "$P" --db db recover >out 2>err
        rc=$?
        keep
        dump after
        if [ $rc -eq 0 ]; then
            expect "killed at journal point $point, recovered: the directory as before" cmp -s before after
            expect "killed at journal point $point, recovered: no undo entry left" no_undo_entries
        else
            stuck=$((stuck + 1))
            bad "killed at journal point $point: recover failed"
            "$P" --db db txn list --stuck 2>&1 | head -5
            cat err
            slapd_reset || exit 1
            setup_db
        fi
        point=$((point + 1))
    done
    expect "the request ran to its end at point $point" code_is 0x80004005
    dump after
    expect "not killed: rolled back" cmp -s before after
    expect "no transaction is stuck (were $stuck)" [ $stuck -eq 0 ]
    echo "crash points: $((point - 1)); stuck for an operator: $stuck"
}

group_errors() {
    (umask 077 && printf 'wrong-password' >wrong.pw)
    (umask 022 && printf '%s' "$ADMINPW" >open.pw)
    namespace Wrong "$(ctx "$URI" "$T/wrong.pw" 5000)"
    namespace Open "$(ctx "$URI" "$T/open.pw" 5000)"
    namespace Down "$(ctx "ldap://127.0.0.1:1" "$T/admin.pw" 5000)"
    namespace Hang "$(ctx "$URI" "$T/admin.pw" 1500)"
    call Wrong GetEntry "<data><dn>uid=bob,$PEOPLE</dn></data>"
    expect "a wrong bind password: 0x80070005" code_is 0x80070005
    expect "it names the bind DN and the server's reason" sh -c "grep -q 'bind as $ROOTDN' out && grep -q 'Invalid credentials' out"
    call Open GetEntry "<data><dn>uid=bob,$PEOPLE</dn></data>"
    expect "a password file others can read: 0x80070005" code_is 0x80070005
    call Down AddEntry "<data>$ALICE</data>"
    expect "a server that is down: 0x800704CF" code_is 0x800704CF
    # a server that accepts connections and never answers
    kill -STOP "$(cat "$T/slapd.pid")"
    call Hang GetEntry "<data><dn>uid=bob,$PEOPLE</dn></data>"
    expect "a hanging server: 0x800705B4" code_is 0x800705B4
    call Hang AddEntry "<data>$ALICE</data>"
    expect "a hanging server on a write: 0x800705B4, not a hang" code_is 0x800705B4
    kill -CONT "$(cat "$T/slapd.pid")"
    call LDAP GetEntry "<data><dn>uid=bob,$PEOPLE</dn></data>"
    expect "the server answers again" [ $rc -eq 0 ]
}

group_pool() {
    namespace Pool "<providerContext uri=\"$URI\" bindDN=\"$ROOTDN\" passwordFile=\"$T/admin.pw\" baseDN=\"$B\" timeoutMs=\"5000\" poolSize=\"2\"/>"
    sed 's/name="Pool"/name="LDAP"/; s/namespace="Pool"/namespace="LDAP"/g' Pool.xml >pool.xml
    rm -rf pooldb
    again=". '$SRC/tests/ldap/slapd.sh'; T='$T'; URI='$URI'"
    "$POOL_CHECK" pooldb pool.xml "uid=bob,$PEOPLE" 8 "$again; slapd_stop; slapd_start" "$again; slapd_stop" \
        "$again; slapd_start" >out 2>err
    keep
    expect "8 threads share 2 connections" grep -qx "threads: OK" out
    expect "a restarted server: the stale connection is replaced" sh -c "sed -n 2p out | grep -q 'slapd_start: 0x00000000$'"
    expect "a stopped server: 0x800704CF" sh -c "sed -n 3p out | grep -q 'slapd_stop: 0x800704CF$'"
    expect "started again: connected again" sh -c "sed -n 4p out | grep -q 'slapd_start: 0x00000000$'"
    [ "$fail" -eq 0 ] || cat out err
}

case $GROUP in
procs) group_procs ;;
rollback) group_rollback ;;
crash) group_crash ;;
errors) group_errors ;;
pool) group_pool ;;
*) echo "unknown group $GROUP"; exit 2 ;;
esac

# the bind password: nowhere in the engine's files, responses or error output; the new
# user password of SetPassword nowhere in the database files (journaled sealed)
if grep -rqF "$ADMINPW" db responses.* stderr.* 2>/dev/null; then
    bad "the bind password appears in: $(grep -rlF "$ADMINPW" db responses.* stderr.* | tr '\n' ' ')"
else
    ok
fi
if grep -rqF "N3w-User-Pw-41" db 2>/dev/null; then bad "a user password in clear in the database files"; else ok; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
