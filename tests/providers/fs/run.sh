#!/bin/sh
# The fs provider through the provost command, on real files in a temporary directory:
#   run.sh PROVOST PLUGIN_DIR SOURCE_DIR GROUP
# GROUP is forward (every procedure), rollback (every write undone when a later step
# fails, the tree compared before and after), indoubt (a kill -9 inside each write's call:
# recovery's rollback without rollback data), crash (a kill -9 at every journal point of a
# request that commits and of one that rolls back, then provost recover), delete (the two
# phases), badinput (refusals, nothing written outside the root), unwritable (a root the
# engine's user may not write to) or concurrent (many transactions at once in one engine).
set -u
P=$1
PLUGINS=$2
SRC=$3
GROUP=$4
export PROVOST_PROVIDER_PATH="$PLUGINS"
unset PROVOST_CRASH_POINT PROVOST_TEST_TRACE PROVOST_DB
# a killed process is what these tests make: records in the log survive it unsynced
export PROVOST_SYNC=none
T=$(mktemp -d /tmp/provost-fs.XXXXXX)
trap 'chmod -R u+w "$T" 2>/dev/null; rm -rf "$T"' EXIT INT TERM
chmod 755 "$T"
cd "$T" || exit 2
R=$T/root
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() {
    fail=$((fail + 1))
    echo "FAIL: $*"
}
check() { # check DESCRIPTION COMMAND...
    d=$1
    shift
    if "$@"; then ok; else bad "$d"; fi
}

# ---- the namespaces ------------------------------------------------------------------------
mkdir -p "$R"
sed "s#/srv/provost#$R#" "$SRC/providers/fs/fs.xml" >fs.xml
cat >t.xml <<'EOF'
<namespace name="T" providerSource="test">
  <procedure name="Fail" type="write"/>
</namespace>
EOF
"$P" --db db register fs.xml t.xml >/dev/null || {
    echo "cannot register the namespaces"
    exit 2
}

# req FILE STEP... : a request of the given steps; a step is PROC|FIELDS (executeData's XML),
# or FAIL (the test provider's Fail, last: the request then rolls back).
req() {
    f=$1
    shift
    {
        echo '<request><data/><procedure>'
        for s in "$@"; do
            if [ "$s" = FAIL ]; then
                echo '<execute namespace="T" procedure="Fail"/>'
            else
                echo "<execute namespace=\"fs\" procedure=\"${s%%|*}\"><executeData>${s#*|}</executeData><after source=\"executeData\" destination=\"data\" mode=\"merge\"/></execute>"
            fi
        done
        echo '</procedure></request>'
    } >"$f"
}

# run STEP... : runs a request of those steps; the response in $T/out, the status in $rc.
run() {
    req r.xml "$@"
    "$P" --db db run r.xml >out 2>err
    rc=$?
}
run_ok() {
    run "$@"
    if [ $rc -eq 0 ]; then ok; else bad "expected success: $* -> $rc $(cat out err)"; fi
}
# run_err CODE TEXT STEP... : the request fails with CODE and a description holding TEXT.
run_err() {
    code=$1
    text=$2
    shift 2
    run "$@"
    text=$(printf '%s' "$text" | sed 's/&/\&amp;/g; s/"/\&quot;/g; s/</\&lt;/g') # as the response has it
    if [ $rc -eq 1 ] && grep -q "code=\"$code\"" out && grep -qF -- "$text" out; then
        ok
    else
        bad "expected $code \"$text\": $* -> $rc $(cat out err)"
    fi
}

# The tree beneath the root: every entry's type, mode, owner, group, link target, and each
# file's size and content; the quarantine apart (quarantine_empty checks it).
listing() {
    (cd "$1" && find . -path ./.provost-quarantine -prune -o -printf '%P %y %m %u %g %l\n' | sort &&
        find . -path ./.provost-quarantine -prune -o -type f -printf '%P %s ' -exec md5sum {} \; | sort)
}
differs() { ! cmp -s "$1" "$2"; }
quarantine_empty() { [ -z "$(ls -A "$R/.provost-quarantine" 2>/dev/null)" ]; }
no_temp_files() { [ -z "$(find "$R" -name '.provost-*.tmp*')" ]; }
same_tree() { # same_tree BEFORE DESCRIPTION
    listing "$R" >now.lst
    if cmp -s "$1" now.lst; then ok; else bad "$2: the tree differs:" && diff "$1" now.lst; fi
}

# A tree to work on: files with particular modes and owners, a subtree, links.
populate() {
    rm -rf "$R"
    mkdir -p "$R/etc/conf.d" "$R/home/alice/mail" "$R/srv"
    printf 'old content\n' >"$R/etc/app.conf"
    chmod 0640 "$R/etc/app.conf"
    chown daemon:daemon "$R/etc/app.conf" 2>/dev/null
    printf '\000\001\002binary\377' >"$R/etc/blob"
    printf 'x=1\n' >"$R/etc/conf.d/x.conf"
    printf 'hello\n' >"$R/home/alice/mail/inbox"
    chmod 0700 "$R/home/alice"
    ln -s ../etc/app.conf "$R/srv/conf-link"
}

stat_of() { stat -c '%a %U %G' "$R/$1"; }

# ---- groups --------------------------------------------------------------------------------
forward() {
    populate
    run_ok 'CreateDirectory|<path>home/bob</path><mode>0750</mode><owner>daemon</owner><group>1</group>'
    check "CreateDirectory mode/owner/group" [ "$(stat_of home/bob)" = "750 daemon daemon" ]
    run_ok 'CreateDirectory|<path>home/carol</path>'
    check "CreateDirectory default mode 0755" [ "$(stat_of home/carol)" = "755 root root" ]
    # re-driven identically: nothing to do; asked otherwise: refused
    run_ok 'CreateDirectory|<path>home/bob</path><mode>0750</mode><owner>1</owner>'
    run_err 0x800700B7 "home/bob: exists with mode 0750" 'CreateDirectory|<path>home/bob</path><mode>0700</mode>'
    run_err 0x800700B7 "etc/app.conf: exists and is not a directory" 'CreateDirectory|<path>etc/app.conf</path>'
    run_err 0x80070002 "nodir/x: No such file or directory" 'CreateDirectory|<path>nodir/x</path>'

    run_ok 'WriteFile|<path>home/bob/notes</path><content>line 1&#10;line 2 &lt;&amp;&gt;</content>'
    check "WriteFile text" [ "$(printf 'line 1\nline 2 <&>')" = "$(cat "$R/home/bob/notes")" ]
    check "WriteFile default mode 0644" [ "$(stat_of home/bob/notes)" = "644 root root" ]
    run_ok 'WriteFile|<path>home/bob/bin</path><base64>AAEC/w==</base64><mode>0600</mode><owner>daemon</owner>'
    check "WriteFile base64" [ "$(od -An -tx1 "$R/home/bob/bin" | tr -d ' ')" = "000102ff" ]
    check "WriteFile mode/owner" [ "$(stat_of home/bob/bin)" = "600 daemon root" ]
    # replacing keeps what is not asked for
    run_ok 'WriteFile|<path>etc/app.conf</path><content>new</content>'
    check "WriteFile replaces" [ "$(cat "$R/etc/app.conf")" = new ]
    check "WriteFile keeps mode and owner" [ "$(stat_of etc/app.conf)" = "640 daemon daemon" ]
    run_ok 'WriteFile|<path>etc/app.conf</path><content>new</content>'

    run_ok 'SetPermissions|<path>etc/app.conf</path><mode>0600</mode><owner>root</owner><group>daemon</group>'
    check "SetPermissions" [ "$(stat_of etc/app.conf)" = "600 root daemon" ]
    run_ok 'SetPermissions|<path>home/bob</path><mode>2770</mode>'
    check "SetPermissions set-gid directory" [ "$(stat_of home/bob)" = "2770 daemon daemon" ]

    run_ok 'Move|<from>home/bob/notes</from><to>srv/notes</to>'
    check "Move" [ "$(ls "$R/srv/notes" "$R/home/bob/notes" 2>/dev/null)" = "$R/srv/notes" ]
    run_ok 'Move|<from>home/bob/notes</from><to>srv/notes</to>' # re-driven: done already
    run_err 0x800700B7 "the destination exists" 'Move|<from>etc/blob</from><to>srv/notes</to>'
    run_err 0x80070002 "home/nobody: No such file" 'Move|<from>home/nobody</from><to>srv/x</to>'

    run_ok 'Stat|<path>home/bob/bin</path>'
    check "Stat" grep -q '<stat type="file" mode="0600" owner="daemon" group="root" size="4"/>' out
    run_ok 'Stat|<path>home/bob</path>'
    check "Stat directory" grep -q '<stat type="directory" mode="2770" owner="daemon" group="daemon"' out
    run_ok 'Stat|<path>srv/conf-link</path>'
    check "Stat symlink" grep -q '<stat type="symlink" .* target="../etc/app.conf"/>' out
    run_err 0x80070002 "Stat home/zed: No such file or directory" 'Stat|<path>home/zed</path>'
    run_ok 'ReadFile|<path>home/alice/mail/inbox</path>'
    check "ReadFile" grep -q '<content>hello' out
    run_ok 'ReadFile|<path>etc/blob</path>'
    check "ReadFile binary as base64" grep -q "<base64>$(base64 -w0 "$R/etc/blob")</base64>" out

    run_ok 'Delete|<path>home/alice</path>' 'Delete|<path>etc/blob</path>'
    check "Delete tree and file" [ -z "$(ls -d "$R/home/alice" "$R/etc/blob" 2>/dev/null)" ]
    run_ok 'Delete|<path>home/alice</path>' # gone already
    check "no temporary files" no_temp_files
    check "quarantine empty after commit" quarantine_empty
}

rollback() {
    populate
    listing "$R" >before.lst
    for step in 'CreateDirectory|<path>home/bob</path><mode>0700</mode><owner>daemon</owner>' \
        'WriteFile|<path>etc/app.conf</path><content>replaced</content><mode>0666</mode><owner>root</owner>' \
        'WriteFile|<path>etc/new.conf</path><content>new</content>' \
        'SetPermissions|<path>etc/app.conf</path><mode>4755</mode><owner>nobody</owner><group>nogroup</group>' \
        'Move|<from>home/alice</from><to>srv/alice</to>' \
        'Delete|<path>home</path>'; do
        run_err 0x80004005 "Test failure" "$step" FAIL
        same_tree before.lst "rollback of ${step%%|*}"
    done
    # all of them in one request, each acting on what the one before did
    run_err 0x80004005 "Test failure" \
        'CreateDirectory|<path>home/bob</path>' \
        'WriteFile|<path>home/bob/a</path><content>1</content>' \
        'WriteFile|<path>home/bob/a</path><content>2</content><mode>0600</mode>' \
        'WriteFile|<path>etc/app.conf</path><base64>AAAA</base64>' \
        'SetPermissions|<path>home/bob/a</path><mode>0444</mode>' \
        'Move|<from>home/bob/a</from><to>srv/a</to>' \
        'Move|<from>etc/conf.d</from><to>home/bob/conf.d</to>' \
        'Delete|<path>home/bob</path>' \
        'Delete|<path>srv</path>' FAIL
    same_tree before.lst "rollback of a request of every write"
    check "quarantine empty after rollback" quarantine_empty
    check "no temporary files after rollback" no_temp_files
}

# kill_at POINT STEP... : runs the request killed at journal point POINT; rc 137 if killed.
kill_at() {
    pt=$1
    shift
    req r.xml "$@"
    PROVOST_CRASH_POINT=$pt "$P" --db db run r.xml >out 2>err
    rc=$?
}
recover() {
    "$P" --db db recover >rec.out 2>&1 || bad "provost recover: $(cat rec.out)"
}
records() { ls "$R/.provost-quarantine" 2>/dev/null | grep -c '\.undo$'; }

indoubt() {
    # Journal points 2k-1 and 2k surround the kth journal write: BEGIN (1), the call's
    # INTENT (2), its DONE (3).  Point 5, just before DONE, kills the process after the
    # call returned: recovery rolls it back in doubt, with no rollback data.
    for step in 'CreateDirectory|<path>home/bob</path><mode>0700</mode>' \
        'WriteFile|<path>etc/app.conf</path><content>replaced</content><mode>0600</mode>' \
        'WriteFile|<path>etc/new.conf</path><content>new</content>' \
        'SetPermissions|<path>etc/app.conf</path><mode>0777</mode><owner>nobody</owner>' \
        'Move|<from>home/alice</from><to>srv/alice</to>' \
        'Delete|<path>home</path>'; do
        populate
        listing "$R" >before.lst
        kill_at 5 "$step"
        check "killed in ${step%%|*}" [ $rc -eq 137 ]
        listing "$R" >during.lst
        check "${step%%|*} had changed the tree when killed" differs before.lst during.lst
        check "${step%%|*} left its undo record" [ "$(records)" = 1 ]
        recover
        same_tree before.lst "in-doubt rollback of ${step%%|*}"
        check "quarantine empty after in-doubt rollback of ${step%%|*}" quarantine_empty
        check "no temporary files after in-doubt rollback of ${step%%|*}" no_temp_files
        # point 4: after INTENT, before the call: in doubt too, and nothing was done
        kill_at 4 "$step"
        recover
        same_tree before.lst "in-doubt rollback of ${step%%|*} never called"
    done
    # re-driven: a call whose work is done already records nothing, so an in-doubt rollback
    # of it removes nothing that was there before
    populate
    mkdir "$R/home/bob"
    listing "$R" >before.lst
    kill_at 5 'CreateDirectory|<path>home/bob</path><mode>0755</mode>'
    check "killed in a re-driven CreateDirectory" [ $rc -eq 137 ]
    check "a re-driven call records nothing" [ "$(records)" = 0 ]
    recover
    same_tree before.lst "in-doubt rollback of a re-driven CreateDirectory"
}

# Every journal point of REQUEST from FIRST on, killed there, then recovered: the tree is
# as before (rolled back) or as after a clean run (committed), never anything else.
sweep() {
    name=$1
    pt=$2
    shift 2
    populate
    listing "$R" >before.lst
    run "$@"
    listing "$R" >after.lst
    kills=0
    while :; do
        populate
        kill_at $pt "$@"
        [ $rc -eq 137 ] || break
        kills=$((kills + 1))
        recover
        listing "$R" >now.lst
        if cmp -s now.lst before.lst; then
            check "$name point $pt: rolled back, quarantine empty" quarantine_empty
        elif cmp -s now.lst after.lst; then
            check "$name point $pt: committed, nothing left quarantined" \
                [ -z "$(ls "$R/.provost-quarantine" 2>/dev/null | grep -v '\.undo$')" ]
        else
            bad "$name point $pt: the tree is neither as before nor as after" && diff before.lst now.lst
        fi
        check "$name point $pt: no temporary files" no_temp_files
        pt=$((pt + 1))
    done
    check "$name: killed at $kills points" [ $kills -ge 10 ]
}

# Each of a request's journal writes is a point before and one after it (2k-1, 2k).  Every
# kind of write is killed in its call by the indoubt group; here a request of three, one
# of them two-phase, is killed at every point of the way to its commit, and the same
# request made to fail at every point of its rollback (the points before are the same as
# the committing one's: BEGIN, then INTENT and DONE per call, 14 points).
crash() {
    set -- 'WriteFile|<path>etc/app.conf</path><content>replaced</content><mode>0600</mode>' \
        'Move|<from>home/alice/mail</from><to>etc/mail</to>' \
        'Delete|<path>srv</path>'
    sweep "committing request" 1 "$@"
    sweep "failing request" 15 "$@" FAIL
}

delete() {
    populate
    listing "$R" >before.lst
    # process quarantines, commit removes: observe each state by killing the request at
    # every point and recovering
    pt=1
    seen_quarantined=0 seen_restored=0 seen_removed=0
    while :; do
        populate
        kill_at $pt 'Delete|<path>home/alice</path>'
        [ $rc -eq 137 ] || break
        if [ ! -e "$R/home/alice" ] && [ -f "$R/.provost-quarantine/"*.deleted/mail/inbox ]; then
            q=1
            seen_quarantined=$((seen_quarantined + 1))
        else
            q=0
        fi
        recover
        if [ -f "$R/home/alice/mail/inbox" ]; then
            [ $q = 1 ] && seen_restored=1
            same_tree before.lst "Delete killed at point $pt, restored"
        else
            [ $q = 1 ] && seen_removed=1
        fi
        check "Delete killed at point $pt: nothing left quarantined" \
            [ -z "$(ls "$R/.provost-quarantine" 2>/dev/null | grep -v '\.undo$')" ]
        pt=$((pt + 1))
    done
    check "Delete: seen quarantined" [ $seen_quarantined -gt 0 ]
    check "Delete: a quarantined tree put back by rollback" [ $seen_restored = 1 ]
    check "Delete: a quarantined tree removed by the commit recovery finished" [ $seen_removed = 1 ]
    # rolled back in the request itself, and committed
    populate
    run_err 0x80004005 "Test failure" 'Delete|<path>home/alice</path>' 'Delete|<path>etc/app.conf</path>' FAIL
    same_tree before.lst "Delete rolled back"
    run_ok 'Delete|<path>home/alice</path>'
    check "Delete committed" [ ! -e "$R/home/alice" ]
    check "Delete committed: quarantine empty" quarantine_empty
    # a path deleted again in the same request, after being re-created
    populate
    run_err 0x80004005 "Test failure" 'Delete|<path>etc/app.conf</path>' \
        'WriteFile|<path>etc/app.conf</path><content>other</content>' 'Delete|<path>etc/app.conf</path>' FAIL
    same_tree before.lst "Delete, re-create, Delete rolled back"
}

badinput() {
    populate
    mkdir -p outside
    printf 'keep\n' >outside/secret
    ln -s "$T/outside/secret" "$R/etc/escape"
    ln -s "$T/outside" "$R/etc/outdir"
    ln -s /etc "$R/sysetc"
    mkdir -m 700 "$R/.provost-quarantine"
    listing "$R" >before.lst
    listing outside >outside.lst
    sum=$(md5sum /etc/passwd)
    E=0x80070057
    A=0x80070005
    run_err $E "CreateDirectory: executeData/path is missing" 'CreateDirectory|<mode>0755</mode>'
    run_err $E "WriteFile: executeData/content (or base64) is missing" 'WriteFile|<path>x</path>'
    run_err $E "both content and base64" 'WriteFile|<path>x</path><content>a</content><base64>YQ==</base64>'
    run_err $E "executeData/base64 is not base64" 'WriteFile|<path>x</path><base64>@@@</base64>'
    run_err $E 'executeData/mode "abc" is not an octal mode' 'WriteFile|<path>x</path><content>a</content><mode>abc</mode>'
    run_err $E 'executeData/mode "0999" is not an octal mode' 'CreateDirectory|<path>x</path><mode>0999</mode>'
    run_err $E 'executeData/mode "17777" is not an octal mode' 'SetPermissions|<path>etc</path><mode>17777</mode>'
    run_err $E "SetPermissions: executeData/mode is missing" 'SetPermissions|<path>etc</path>'
    run_err $E "Move: executeData/to is missing" 'Move|<from>etc</from>'
    run_err $E "Move: executeData/from is missing" 'Move|<to>etc</to>'
    run_err 0x80070534 'owner "no-such-user": no such user' 'WriteFile|<path>x</path><content>a</content><owner>no-such-user</owner>'
    run_err 0x80070534 'group "no-such-group": no such group' 'CreateDirectory|<path>x</path><group>no-such-group</group>'
    run_err $E 'the path must name a file or directory' 'CreateDirectory|<path></path>'
    # each way out with a different procedure (resolution is the same code for all)
    set -- 'WriteFile|<content>pwned</content>' 'CreateDirectory|' 'ReadFile|' 'Delete|' \
        'SetPermissions|<mode>0777</mode>' 'Stat|' 'WriteFile|<base64>AA==</base64>'
    for p in ../x ../../../../etc/passwd /etc/passwd etc/../../x sysetc/passwd etc/outdir/new etc/outdir/secret; do
        run_err $A "$p: access denied: the path leads outside the root" "${1%%|*}|<path>$p</path>${1#*|}"
        shift
    done
    run_err $A "etc/escape: access denied: a symbolic link leading outside the root" 'WriteFile|<path>etc/escape</path><content>pwned</content>'
    run_err $A "etc/escape: access denied: a symbolic link leading outside the root" 'SetPermissions|<path>etc/escape</path><mode>0777</mode>'
    run_err $A "etc/escape: access denied: a symbolic link leading outside the root" 'ReadFile|<path>etc/escape</path>'
    run_err $A "etc/escape: access denied: a symbolic link leading outside the root" 'CreateDirectory|<path>etc/escape</path>'
    run_err $A "srv/conf-link: access denied: a symbolic link (WriteFile does not write through links)" 'WriteFile|<path>srv/conf-link</path><content>x</content>'
    run_err $A "Move etc/outdir/stolen: access denied: the path leads outside the root" 'Move|<from>etc/app.conf</from><to>etc/outdir/stolen</to>'
    run_err $A "Move ../x: access denied: the path leads outside the root" 'Move|<from>../x</from><to>y</to>'
    run_err $A "access denied: a path may not end in \"..\"" 'Delete|<path>etc/..</path>'
    run_err $A ".provost-quarantine belongs to the provider" 'ReadFile|<path>.provost-quarantine</path>'
    run_err $A ".provost-quarantine belongs to the provider" 'WriteFile|<path>.provost-quarantine/x</path><content>x</content>'
    # the first steps succeed, the bad one fails, everything is rolled back
    run_err $A "etc/outdir/x: access denied" 'WriteFile|<path>ok</path><content>1</content>' \
        'WriteFile|<path>etc/outdir/x</path><content>pwned</content>'
    same_tree before.lst "bad input: the root"
    listing outside >now.lst
    check "bad input: nothing written outside the root" cmp -s outside.lst now.lst
    check "bad input: /etc/passwd untouched" [ "$(md5sum /etc/passwd)" = "$sum" ]

    # the namespace's configuration
    for ctx in '' 'root=""' 'root="relative/dir"'; do
        printf '<namespace name="B" providerSource="fs"><providerContext %s/><procedure name="Stat" type="read"/></namespace>' "$ctx" >b.xml
        "$P" --db db register b.xml >/dev/null
        printf '<request><data/><procedure><execute namespace="B" procedure="Stat"><executeData><path>x</path></executeData></execute></procedure></request>' >b-req.xml
        "$P" --db db run b-req.xml >out 2>&1
        check "providerContext [$ctx] refused" grep -q 'code="0x80070057" description="Stat: the namespace.s providerContext needs a root attribute, an absolute directory' out
    done
    printf '<namespace name="B" providerSource="fs"><providerContext root="%s/missing"/><procedure name="Stat" type="read"/><procedure name="Format" type="write"/></namespace>' "$T" >b.xml
    "$P" --db db register b.xml >/dev/null
    "$P" --db db run b-req.xml >out 2>&1
    check "a missing root" grep -q "code=\"0x80070002\" description=\"Stat root $T/missing: No such file or directory\"" out
    sed 's/"Stat"/"Format"/' b-req.xml >b2-req.xml
    "$P" --db db run b2-req.xml >out 2>&1
    check "an unknown procedure" grep -q 'code="0x80070002" description="the fs provider has no procedure &quot;Format&quot;' out
}

unwritable() {
    populate
    chmod 0755 "$R"
    listing "$R" >before.lst
    mkdir udb && chown nobody udb
    "$P" --db udb register fs.xml >/dev/null 2>&1 || true
    as=""
    if [ "$(id -u)" = 0 ]; then
        chown -R nobody "$T/udb"
        as="setpriv --reuid=nobody --regid=nogroup --clear-groups"
    else
        chmod 0555 "$R" "$R/etc" # not root: the modes alone keep us out
    fi
    req r.xml 'WriteFile|<path>x</path><content>a</content>'
    $as "$P" --db udb register fs.xml >/dev/null 2>err || bad "register as an unprivileged user: $(cat err)"
    $as "$P" --db udb run r.xml >out 2>err
    check "unwritable root: WriteFile refused" grep -q "code=\"0x80070005\" description=\"WriteFile x: Permission denied" out
    req r.xml 'CreateDirectory|<path>etc/new</path>'
    $as "$P" --db udb run r.xml >out 2>err
    check "unwritable directory: CreateDirectory refused" grep -q "code=\"0x80070005\" description=\"CreateDirectory etc/new: Permission denied" out
    req r.xml 'ReadFile|<path>etc/app.conf</path>'
    $as "$P" --db udb run r.xml >out 2>err
    if [ -n "$as" ]; then
        check "unreadable file: ReadFile refused" grep -q "code=\"0x80070005\" description=\"ReadFile etc/app.conf: Permission denied\"" out
    fi
    chmod 0755 "$R" "$R/etc"
    same_tree before.lst "unwritable root"
}

# Many transactions at once in one engine (provost batch, 4 workers): each makes its own
# directory and files and replaces one of the shared ones; every other one fails at its end
# and is rolled back while the others run.
concurrent() {
    populate
    mkdir "$R/shared"
    i=1
    while [ $i -le 40 ]; do
        printf 'v0\n' >"$R/shared/f$i"
        i=$((i + 1))
    done
    listing "$R" >before.lst
    i=1
    {
        echo '<requests>'
        while [ $i -le 40 ]; do
            last=""
            [ $((i % 2)) = 1 ] && last=FAIL
            req one.xml "CreateDirectory|<path>u$i</path>" "WriteFile|<path>u$i/f</path><content>$i</content>" \
                "WriteFile|<path>shared/f$i</path><content>v$i</content>" "Move|<from>u$i/f</from><to>u$i/g</to>" $last
            cat one.xml
            i=$((i + 1))
        done
        echo '</requests>'
    } >many.xml
    "$P" --db db batch -q --jobs 4 many.xml >results.jsonl 2>err
    counts="$(grep -c '"status":"succeeded"' results.jsonl) $(grep -c '"status":"failed"' results.jsonl)"
    check "batch: 20 succeeded, 20 failed ($counts)" [ "$counts" = "20 20" ]
    i=1
    good=0
    while [ $i -le 40 ]; do
        if [ $((i % 2)) = 0 ]; then
            [ "$(cat "$R/u$i/g")" = "$i" ] && [ ! -e "$R/u$i/f" ] && [ "$(cat "$R/shared/f$i")" = "v$i" ] &&
                good=$((good + 1))
        else
            [ ! -e "$R/u$i" ] && [ "$(cat "$R/shared/f$i")" = v0 ] && good=$((good + 1))
        fi
        i=$((i + 1))
    done
    i=2
    while [ $i -le 40 ]; do
        rm -rf "$R/u$i"
        printf 'v0\n' >"$R/shared/f$i"
        i=$((i + 2))
    done
    check "batch: every request's effect is there, or undone ($good of 40)" [ $good = 40 ]
    same_tree before.lst "batch: the committed ones removed again"
    check "batch: quarantine empty" quarantine_empty
    check "batch: no temporary files" no_temp_files
}

case $GROUP in
forward | rollback | indoubt | crash | delete | badinput | unwritable | concurrent) $GROUP ;;
*)
    echo "unknown group $GROUP"
    exit 2
    ;;
esac
echo "$GROUP: $pass passed, $fail failed"
[ $fail -eq 0 ]
