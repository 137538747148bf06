#!/bin/sh
# The http provider against a real local HTTP service (tests/http/scim_server.py): forward
# calls and the JSON mapping, rollback, rollback in doubt and recovery after kill -9, bad
# input, transport failures and statuses, TLS verification, and that the bearer token
# never leaks.
# usage: run.sh GROUP PROVOST SOURCE_DIR PLUGIN_DIR
#   GROUP: forward | rollback | crash | input | errors | threads
set -u
GROUP=$1
P=$2
SRC=$3
PLUG=$4
. "$SRC/tests/http/lib.sh"

# ---- forward: Request and Get, headers, the JSON <-> XML mapping ---------------------------
forward() {
    "$P" compile --check "$SRC/providers/http/http.xml" >"$T/ref.out" 2>&1
    check "the reference namespace compiles" 0 $?
    register Scim "$BASE/"
    run create "$(create alice)"
    check "create: exit" 0 $rc
    check "create: status" 201 "$(xp "$T/create.out" //data/status)"
    check "create: json/id" u1 "$(xp "$T/create.out" //data/json/id)"
    check "create: Location header" "$BASE/Users/u1" "$(xp "$T/create.out" "//data/header[@name='location']")"
    check "create: boolean back" "true|boolean" \
        "$(xp "$T/create.out" //data/json/active)|$(xp "$T/create.out" //data/json/active/@type)"
    check "create: one-item array marked" true "$(xp "$T/create.out" //data/json/schemas/@array)"
    check "create: the request's json is replaced by the response's" 1 "$(xp "$T/create.out" 'count(//data/json)')"
    requests >"$T/reqs"
    contains "create: one POST with key TXID:1" "$T/reqs" "POST /Users {"
    contains "create: key ends with the procedureExecId" "$T/reqs" "}:1 201"
    python3 - "$T/log" <<'PY' || bad "create: the JSON body sent"
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert r["auth"] == "ok", r
assert r["headers"]["content-type"] == "application/json", r
assert json.loads(r["body"]) == {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                 "userName": "alice", "active": True}, r["body"]
PY

    # members that are not XML names, empty containers, null, numbers, nested arrays
    J='<member name="urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"><department>R&amp;D</department></member>'
    J="$J<member name=\"\$ref\">x</member><nick type=\"null\"/><tags type=\"array\"/><meta type=\"object\"/>"
    J="$J<score type=\"number\">1.5e3</score><big type=\"number\">12345678901234567</big>"
    J="$J<grid type=\"array\"><item type=\"array\"><item type=\"number\">1</item></item><item type=\"array\"/></grid>"
    J="$J<emails><value>a@x</value></emails><emails><value>b@x</value></emails><empty></empty>"
    run patch "$(step Scim Request "<method>PATCH</method><path>/Users/u1</path><json>$J</json><undo><none/></undo>")"
    check "patch: exit" 0 $rc
    python3 - "$T/log" <<'PY' || bad "patch: the JSON sent"
import json, sys
r = json.loads(open(sys.argv[1]).readlines()[-1])
b = json.loads(r["body"])
assert b == {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"},
             "$ref": "x", "nick": None, "tags": [], "meta": {}, "score": 1500, "big": 12345678901234567,
             "grid": [[1], []], "emails": [{"value": "a@x"}, {"value": "b@x"}], "empty": ""}, b
assert '"big": 12345678901234567' in r["body"] or '"big":12345678901234567' in r["body"], r["body"]
PY
    run get "$(step Scim Get "<path>/Users/u1</path>")"
    check "get: exit" 0 $rc
    check "get: status" 200 "$(xp "$T/get.out" //data/status)"
    check "get: member name not an XML name" "R&D" \
        "$(xp "$T/get.out" "//data/json/member[@name='urn:ietf:params:scim:schemas:extension:enterprise:2.0:User']/department")"
    check "get: \$ref" x "$(xp "$T/get.out" "//data/json/member[@name='\$ref']")"
    check "get: null" "null|" "$(xp "$T/get.out" //data/json/nick/@type)|$(xp "$T/get.out" //data/json/nick)"
    check "get: empty array" array "$(xp "$T/get.out" //data/json/tags/@type)"
    check "get: empty object" object "$(xp "$T/get.out" //data/json/meta/@type)"
    check "get: number" "1500|number" "$(xp "$T/get.out" //data/json/score)|$(xp "$T/get.out" //data/json/score/@type)"
    check "get: big integer exact" 12345678901234567 "$(xp "$T/get.out" //data/json/big)"
    check "get: nested arrays" "1|array|0" \
        "$(xp "$T/get.out" "//data/json/grid[1]/item")|$(xp "$T/get.out" "//data/json/grid[2]/@type")|$(xp "$T/get.out" "count(//data/json/grid[2]/*)")"
    check "get: repeated array items" "2|b@x" \
        "$(xp "$T/get.out" "count(//data/json/emails[@array='true'])")|$(xp "$T/get.out" "//data/json/emails[2]/value")"
    check "get: empty string" "1|" "$(xp "$T/get.out" "count(//data/json/empty[not(@type)])")|$(xp "$T/get.out" //data/json/empty)"
    requests "$(log_lines)" >"$T/reqs"
    contains "get: sent without an Idempotency-Key" "$T/reqs" "GET /Users/u1 None 200"
    # two calls of one process share the connection (the handle pool keeps it alive)
    run twice "$(step Scim Get "<path>/Users/u1</path>")" "$(step Scim Get "<path>/Users</path>")"
    python3 - "$T/log" <<'PY' || bad "keep-alive: two calls, one connection"
import json, sys
a, b = [json.loads(l) for l in open(sys.argv[1]).readlines()[-2:]]
assert a["path"] == "/Users/u1" and b["path"] == "/Users" and a["peer"] == b["peer"], (a, b)
PY

    # headers are passed; a text and a binary answer
    run echo "$(step Scim Request "<method>put</method><path>/echo?a=1&amp;b=%20</path><header name=\"X-Trace\">abc def</header><body>plain text</body><undo><none/></undo>")"
    check "echo: exit" 0 $rc
    check "echo: header sent" "abc def" "$(xp "$T/echo.out" //data/json/headers/x-trace)"
    check "echo: method upper-cased" PUT "$(xp "$T/echo.out" //data/json/method)"
    check "echo: query kept" "/echo?a=1&b=%20" "$(xp "$T/echo.out" //data/json/path)"
    check "echo: text body and its type" "plain text|text/plain; charset=utf-8" \
        "$(xp "$T/echo.out" //data/json/body)|$(xp "$T/echo.out" //data/json/headers/content-type)"
    run text "$(step Scim Get "<path>/notjson</path>")"
    check "text answer" "plain <text> & more" "$(xp "$T/text.out" //data/body)"
    run binary "$(step Scim Get "<path>/binary</path>")"
    check "binary answer in base64" "AAH+/w==|base64" "$(xp "$T/binary.out" //data/body)|$(xp "$T/binary.out" //data/body/@encoding)"
    check "state: alice only" 1 "$(state | python3 -c 'import json,sys; print(json.load(sys.stdin)["totalResults"])')"
}

# ---- rollback: a later step fails ------------------------------------------------------------
rollback() {
    register Scim "$BASE"
    before=$(state)
    from=$(($(log_lines) + 1))
    run rb "$(create bob)" "$(create carol '<undo><method>DELETE</method><path>/Users/{json:/id}</path></undo>')" "$FAIL_STEP"
    check "rollback: exit" 1 $rc
    check "rollback: the failing step's error" 0x80004005 "$(code_of rb)"
    check "rollback: the service is as before" "$before" "$(state)"
    requests "$from" >"$T/reqs"
    contains "rollback: carol undone first, with its id" "$T/reqs" "DELETE /Users/u2 {"
    contains "rollback: bob undone, by its Location" "$T/reqs" "DELETE /Users/u1 {"
    contains "rollback: the undo's key" "$T/reqs" "}:1:undo 204"
    check "rollback: newest first" "DELETE /Users/u2|DELETE /Users/u1" \
        "$(grep DELETE "$T/reqs" | cut -d' ' -f1-2 | paste -sd'|')"

    # absent is success: the user is already gone when its undo comes
    from=$(($(log_lines) + 1))
    run gone "$(create dave)" "$(step Scim Request "<method>DELETE</method><path>/Users/u3</path><undo><none/></undo>")" "$FAIL_STEP"
    check "gone: the failing step's error, not the undo's" 0x80004005 "$(code_of gone)"
    requests "$from" >"$T/reqs"
    contains "gone: undo got 404" "$T/reqs" "DELETE /Users/u3 {"
    contains "gone: 404" "$T/reqs" ":undo 404"
    "$P" txn list --stuck >"$T/stuck" 2>&1
    lacks "gone: nothing stuck" "$T/stuck" "STUCK"
    check "gone: the service is as before" "$before" "$(state)"

    # 410 Gone is as good as 404
    from=$(($(log_lines) + 1))
    run gone410 "$(create gus '<undo><method>DELETE</method><path>/gone</path></undo>')" "$FAIL_STEP"
    check "410: the failing step's error, not the undo's" 0x80004005 "$(code_of gone410)"
    requests "$from" >"$T/reqs"
    contains "410: the undo got it" "$T/reqs" "DELETE /gone {"
    "$P" txn list --stuck >"$T/stuck" 2>&1
    lacks "410: nothing stuck" "$T/stuck" "STUCK"
    # gus stays: the undo went elsewhere (on purpose); remove him so the state compares
    python3 - "$BASE" "$TOKEN" <<'PY' || bad "410: removing gus"
import json, sys, urllib.request
base, token = sys.argv[1:]
auth = {"Authorization": "Bearer " + token}
users = json.load(urllib.request.urlopen(urllib.request.Request(base + "/Users", headers=auth)))["Resources"]
for u in users:
    if u["userName"] == "gus":
        urllib.request.urlopen(urllib.request.Request(base + "/Users/" + u["id"], method="DELETE", headers=auth))
PY
    check "410: the service is as before" "$before" "$(state)"

    # a Request without undo is refused before anything is sent
    from=$(log_lines)
    run noundo "$(step Scim Request "<method>POST</method><path>/Users</path><json><userName>eve</userName></json>")"
    check "no undo: refused" 0x80070057 "$(code_of noundo)"
    contains "no undo: says so" "$T/noundo.out" "undo is missing"
    check "no undo: nothing sent" "$from" "$(log_lines)"
    # an undo whose placeholder the answer cannot fill: the write stays, and the error says so
    run nofill "$(create frank '<undo><method>DELETE</method><path>/Users/{json:/nothere}</path></undo>')"
    check "unfillable undo: fails" 0x80004005 "$(code_of nofill)"
    contains "unfillable undo: says why" "$T/nofill.out" "has nothing at"
    secrets rollback
}

# The token is sent (the service says "ok", or "wrong" for the namespace given another) and
# never appears in what provost leaves.
secrets() {
    grep -rlF -- "$TOKEN" "$T/db" "$T"/*.out "$T"/*.err "$T/log" >"$T/leaks" 2>/dev/null
    check "$1: the token appears nowhere" "" "$(cat "$T/leaks")"
    python3 - "$T/log" <<'PY' || bad "$1: every request was authorized"
import json, sys
auth = [json.loads(l)["auth"] for l in open(sys.argv[1])]
assert "none" not in auth and "ok" in auth, auth
PY
}

# ---- crash: kill -9 at every journal point, then provost recover --------------------------
crash() {
    register Scim "$BASE"
    before=$(state)
    n=1
    while [ $n -le 40 ]; do
        from=$(($(log_lines) + 1))
        mkreq "c$n" "$(create "user$n")" "$FAIL_STEP"
        PROVOST_CRASH_POINT=$n "$P" run "$T/c$n.req" >"$T/c$n.out" 2>"$T/c$n.err"
        rc=$?
        [ $rc -ne 137 ] && break # ran to its end: every point was visited
        "$P" recover >"$T/r$n.out" 2>&1
        check "crash at point $n: recover" 0 $?
        # the service is as before, and every user created has been deleted by its id, with
        # the key of the call's undo; one Python for all of it (each process start counts)
        python3 - "$T/log" "$from" "$BASE/Users" "$TOKEN" "$before" >"$T/reqs.$n" <<'PY' || bad "crash at point $n"
import json, sys, urllib.request
log, start, url, token, before = sys.argv[1:]
req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
now = urllib.request.urlopen(req, timeout=10).read().decode().strip()
assert now == before.strip(), ("the service changed", now)
lines = [json.loads(l) for l in open(log).readlines()[int(start) - 1:]]
posts = [r for r in lines if r["method"] == "POST"]
created = {r["location"].split("/", 3)[3]: r["key"] for r in posts if r["status"] == 201 and not r.get("replayed")}
for path, key in created.items():
    undo = [r for r in lines if r["method"] == "DELETE" and r["path"] == "/" + path]
    assert undo and undo[0]["key"] == key + ":undo", (path, key, undo)
assert len(created) <= 1, created
assert len({r["key"] for r in posts}) <= 1, posts  # a write sent again carries the same key
for r in lines:
    print(r["method"], r["path"], r["key"], r.get("status"), "replayed" if r.get("replayed") else "")
PY
        n=$((n + 1))
    done
    check "crash: the last run ended by itself" 1 $rc
    [ $n -gt 3 ] || bad "crash: only $n journal points"
    # one of the kills fell after the POST and before its DONE: recovery re-sent it with
    # the same key, the service replayed its answer (no second user), and it was undone
    cat "$T"/reqs.* >"$T/allreqs" 2>/dev/null
    grep -q "^POST .* replayed" "$T/allreqs" && ok || bad "crash: no in-doubt write was re-sent and replayed"
    check "crash: the service is as before" "$before" "$(state)"
    "$P" txn list >"$T/txns" 2>&1
    lacks "crash: nothing left in the journal" "$T/txns" "{"

    # inDoubt="manual": the same kill leaves the transaction to an operator, stuck
    indoubt=$(grep -l "^POST .* replayed" "$T"/reqs.* | head -1 | sed 's/.*reqs\.//')
    EXTRA='inDoubt="manual"' register Manual "$BASE"
    mkreq manual "$(NS=Manual create mallory)" "$FAIL_STEP"
    PROVOST_CRASH_POINT=$indoubt "$P" run "$T/manual.req" >"$T/manual.out" 2>&1
    check "manual: killed" 137 $?
    "$P" recover >"$T/mrec.out" 2>&1
    check "manual: recover leaves it stuck" 1 $?
    "$P" txn list --stuck >"$T/mstuck" 2>&1
    contains "manual: says why" "$T/mstuck" "inDoubt"
    contains "manual: names the key" "$T/mstuck" "Idempotency-Key {"
    check "manual: sent once, not again by recovery" 1 "$(grep '"POST"' "$T/log" | grep -c mallory)"
    # the operator removes the user and marks the transaction rolled back
    id=$(grep -o '^{[0-9A-F-]*}' "$T/mstuck" | head -1)
    python3 - "$BASE" "$TOKEN" <<'PY' || bad "manual: removing the user by hand"
import json, sys, urllib.request
base, token = sys.argv[1:]
auth = {"Authorization": "Bearer " + token}
users = json.load(urllib.request.urlopen(urllib.request.Request(base + "/Users", headers=auth)))["Resources"]
uid = [u["id"] for u in users if u["userName"] == "mallory"][0]
urllib.request.urlopen(urllib.request.Request(base + "/Users/" + uid, method="DELETE", headers=auth))
PY
    "$P" txn resolve "$id" --rolled-back >"$T/mres.out" 2>&1
    check "manual: resolved" 0 $?
    check "manual: the service is as before" "$before" "$(state)"
    secrets crash
}

# ---- input: refused before anything is sent -------------------------------------------------
input() {
    register Scim "$BASE"
    register Ftp "ftp://127.0.0.1:$PORT/"
    register Userinfo "http://user:pw@127.0.0.1:$PORT/"
    sent=$(log_lines)
    i=0
    refuse() { # refuse WHAT NS PROC DATA TEXT
        i=$((i + 1))
        run "in$i" "$(step "$2" "$3" "$4")"
        check "$1: refused" 0x80070057 "$(code_of "in$i")"
        contains "$1: says why" "$T/in$i.out" "$5"
    }
    U='<undo><none/></undo>'
    refuse "no method" Scim Request "<path>/Users</path>$U" "method is missing"
    refuse "no path" Scim Request "<method>GET</method>$U" "path is missing"
    refuse "another host by //" Scim Request "<method>GET</method><path>//evil.example/x</path>$U" "another host"
    refuse "an absolute URL" Scim Request "<method>GET</method><path>http://other/</path>$U" "must start with"
    refuse "a Get to another host" Scim Get "<path>http://other/x</path>" "must start with"
    refuse "a Get by @" Scim Get "<path>@evil.example/x</path>" "must start with"
    refuse "dot segments" Scim Get "<path>/a/../../x</path>" "segment"
    refuse "encoded dot segments" Scim Get "<path>/a/%2e%2E/x</path>" "segment"
    refuse "a space" Scim Get "<path>/a b</path>" "percent-encode"
    refuse "a backslash" Scim Get "<path>/\\evil.example</path>" "percent-encode"
    refuse "CR LF in a header" Scim Get "<path>/echo</path><header name=\"X-A\">a&#13;&#10;X-Injected: 1</header>" "control character"
    refuse "LF in a header" Scim Get "<path>/echo</path><header name=\"X-A\">a&#10;b</header>" "control character"
    refuse "a header name with a colon" Scim Get "<path>/echo</path><header name=\"X-A: b\">c</header>" "HTTP token"
    refuse "Authorization in executeData" Scim Get "<path>/echo</path><header name=\"authorization\">Basic eA==</header>" "set by the provider"
    refuse "Idempotency-Key in executeData" Scim Request "<method>POST</method><path>/echo</path><header name=\"Idempotency-Key\">k</header>$U" "set by the provider"
    refuse "CR LF in the method" Scim Request "<method>GET /x HTTP/1.1&#13;&#10;</method><path>/echo</path>$U" "not an HTTP method"
    refuse "body and json" Scim Request "<method>POST</method><path>/echo</path><body>a</body><json><a>1</a></json>$U" "not both"
    refuse "a bad number" Scim Request "<method>POST</method><path>/echo</path><json><a type=\"number\">12abc</a></json>$U" "not a JSON number"
    refuse "an unknown type" Scim Request "<method>POST</method><path>/echo</path><json><a type=\"int\">1</a></json>$U" "it may be number"
    refuse "mixed content" Scim Request "<method>POST</method><path>/echo</path><json><a>x<b>1</b></a></json>$U" "mixes text"
    refuse "an undo to another host" Scim Request "<method>POST</method><path>/Users</path><json><userName>x</userName></json><undo><method>DELETE</method><path>//evil/{json:/id}</path></undo>" "undo: path"
    refuse "an undo without method" Scim Request "<method>POST</method><path>/Users</path><undo><path>/x</path></undo>" "undo: method is missing"
    refuse "ftp baseURL" Ftp Get "<path>/x</path>" "not an http:// or https:// URL"
    refuse "credentials in baseURL" Userinfo Get "<path>/x</path>" "user name or password"
    check "input: nothing was sent" "$sent" "$(log_lines)"
    run noproc "$(step Scim Delete "<path>/x</path>")"
    check "an unknown procedure" 0x80070002 "$(code_of noproc)"
}

# ---- errors: statuses, an unreachable or hanging service ----------------------------------
errors() {
    register Scim "$BASE"
    status() { # status NAME PATH CODE
        run "$1" "$(step Scim Get "<path>$2</path>")"
        check "$1: code" "$3" "$(code_of "$1")"
    }
    status s500 /fail500 0x8007054F
    contains "500: the body in the description" "$T/s500.out" "database exploded: table users is locked  retry later"
    contains "500: the method and URL" "$T/s500.out" "GET $BASE/fail500: status 500"
    status big /big500 0x8007054F
    A64=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
    A512=$A64$A64$A64$A64$A64$A64$A64$A64
    contains "500: the first 512 bytes of the body" "$T/big.out" "status 500: $A512\""
    lacks "500: no more" "$T/big.out" "TAIL"
    status s409 /conflict 0x800700B7
    status s401 /unauthorized 0x80070005
    status s404 /Users/nobody 0x80070002
    status s404b /no-such-route 0x80070002
    run s400 "$(step Scim Request "<method>POST</method><path>/Users</path><body>not json</body><undo><none/></undo>")"
    check "400: invalid argument" 0x80070057 "$(code_of s400)"
    run dup "$(create alice)"
    run dup2 "$(create alice)"
    check "409 on a second create" 0x800700B7 "$(code_of dup2)"
    contains "409: the service's message" "$T/dup2.out" "userName alice exists"

    # a wrong token: the service says 401
    printf 'not-the-token\n' >"$T/wrong"
    chmod 600 "$T/wrong"
    sed "s|$T/token|$T/wrong|; s|name=\"Scim\"|name=\"Wrong\"|" "$T/ns-Scim.xml" >"$T/ns-Wrong.xml"
    "$P" register "$T/ns-Wrong.xml" >/dev/null
    run wrong "$(step Wrong Get "<path>/Users</path>")"
    check "wrong token: 401" 0x80070005 "$(code_of wrong)"
    lacks "wrong token: not in the error" "$T/wrong.out" "not-the-token"
    # a password file others may read is refused before anything is sent
    chmod 644 "$T/wrong"
    sent=$(log_lines)
    run open "$(step Wrong Get "<path>/Users</path>")"
    check "readable password file: refused" 0x80070005 "$(code_of open)"
    check "readable password file: nothing sent" "$sent" "$(log_lines)"

    # the token from the engine's credential store instead of a file: the service accepts
    # it; a credential that does not exist is refused before anything is sent
    printf '%s\n' "$TOKEN" | "$P" credential set scim.token --user provost --password-stdin >/dev/null \
        || bad "credential set"
    sed "s|passwordFile=\"$T/token\"|credential=\"scim.token\"|; s|name=\"Scim\"|name=\"ByCredential\"|" \
        "$T/ns-Scim.xml" >"$T/ns-ByCredential.xml"
    "$P" register "$T/ns-ByCredential.xml" >/dev/null || bad "register ByCredential"
    run bycred "$(step ByCredential Get "<path>/Users</path>")"
    check "credential: the service accepts its token" "" "$(code_of bycred)"
    sed "s|scim.token|no.such|; s|ByCredential|NoCredential|" "$T/ns-ByCredential.xml" >"$T/ns-NoCredential.xml"
    "$P" register "$T/ns-NoCredential.xml" >/dev/null || bad "register NoCredential"
    sent=$(log_lines)
    run nocred "$(step NoCredential Get "<path>/Users</path>")"
    check "a missing credential: refused" 0x80070490 "$(code_of nocred)"
    contains "a missing credential: named" "$T/nocred.out" "no.such"
    check "a missing credential: nothing sent" "$sent" "$(log_lines)"

    # nothing listens: the port of a socket just closed
    free=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    register Down "http://127.0.0.1:$free"
    run down "$(step Down Get "<path>/Users</path>")"
    check "server down" 0x800704CF "$(code_of down)"
    run down2 "$(step Down Request "<method>POST</method><path>/Users</path><json><userName>x</userName></json>$CREATE_UNDO")"
    check "server down: a write" 0x800704CF "$(code_of down2)"

    # a service that never answers: a timeout, not a hang
    TMO=300 register Slow "$BASE"
    run hang "$(step Slow Get "<path>/hang</path>")"
    check "hanging: timeout" 0x800705B4 "$(code_of hang)"
    contains "hanging: names the limit" "$T/hang.out" "timeoutMs=300"
    run hangw "$(step Slow Request "<method>POST</method><path>/hang</path><json><a>1</a></json><undo><method>DELETE</method><path>{location}</path></undo>")"
    check "hanging write: timeout" 0x800705B4 "$(code_of hangw)"
    contains "hanging write: its outcome is unknown" "$T/hangw.out" "may have been applied"
    # a write carried out but answered too late: the provider sends it again with its key,
    # gets the service's first answer, and undoes it before failing
    before=$(state)
    from=$(($(log_lines) + 1))
    TMO=3000 register Late "$BASE"
    run late "$(step Late Request "<method>POST</method><path>/Users</path><header name=\"X-Delay-First\">60000</header><json><userName>late</userName></json>$CREATE_UNDO")"
    check "late answer: timeout" 0x800705B4 "$(code_of late)"
    contains "late answer: settled" "$T/late.out" "sent again with the same Idempotency-Key and undone"
    check "late answer: the service is as before" "$before" "$(state)"
    requests "$from" >"$T/reqs"
    check "late answer: POST, the same POST replayed, DELETE" "POST 201 |POST 201 replayed|DELETE 204 " \
        "$(grep -v '^GET' "$T/reqs" | awk '{print $1, $4, $5}' | paste -sd'|')"

    # TLS is verified: a certificate nobody vouches for is refused, unless caFile trusts it
    start_tls_server
    register Tls "$TLSBASE"
    run tls "$(step Tls Get "<path>/Users</path>")"
    check "TLS: an untrusted certificate" 0x80090325 "$(code_of tls)"
    check "TLS: nothing reached the service" 0 "$(wc -l <"$T/tls.log" | tr -d ' ')"
    EXTRA="caFile=\"$T/cert.pem\"" register TlsCa "$TLSBASE"
    run tlsca "$(step TlsCa Get "<path>/Users</path>")"
    check "TLS: trusted through caFile" "0|200" "$rc|$(xp "$T/tlsca.out" //data/status)"

    # basic authorization: a user name and the secret as password
    AUTH=basic EXTRA='user="scim-admin"' register Basic "$BASE"
    run basic "$(step Basic Get "<path>/Users</path>")"
    check "basic: exit" 0 $rc
    check "basic: the service saw the user and the password" "ok basic scim-admin" \
        "$(tail -1 "$T/log" | python3 -c 'import json, sys; print(json.load(sys.stdin)["auth"])')"
    secrets errors
}

# ---- threads: one provider, many transactions at once ---------------------------------------
# provost batch runs the requests from 4 worker threads through one provider instance and its
# pool of handles: every write is made once with its own key, and every rollback undoes its
# own.  (Label "threads": it runs again under ThreadSanitizer.)
threads() {
    register Scim "$BASE"
    before=$(state)
    mk() { # mk FILE FIRST LAST [STEP]: a batch, one data per user, each creating it
        {
            echo "<request>"
            i=$2
            while [ "$i" -le "$3" ]; do
                echo "<data><method>POST</method><path>/Users</path><json><userName>t$i</userName></json>$CREATE_UNDO</data>"
                i=$((i + 1))
            done
            echo "<procedure><execute namespace=\"Scim\" procedure=\"Request\">"
            echo "<before source=\"data\" destination=\"executeData\" mode=\"merge\"/></execute>"
            echo "<execute namespace=\"Scim\" procedure=\"Get\"><executeData><path>/Users</path></executeData></execute>"
            echo "${4:-}</procedure></request>"
        } >"$1"
    }
    mk "$T/fail.xml" 1 24 "$FAIL_STEP"
    "$P" batch -q -j 4 -o "$T/fail.jsonl" "$T/fail.xml" >"$T/fail.out" 2>&1
    check "threads: every request failed" 24 "$(grep -c '"status":"failed"' "$T/fail.jsonl")"
    check "threads: every create was undone" "$before" "$(state)"
    mk "$T/ok.xml" 25 48
    "$P" batch -q -j 4 -o "$T/ok.jsonl" "$T/ok.xml" >"$T/ok.out" 2>&1
    check "threads: every request succeeded" 24 "$(grep -c '"status":"succeeded"' "$T/ok.jsonl")"
    python3 - "$T/log" "$BASE/Users" "$TOKEN" <<'PY' || bad "threads: one user per request, one key per write"
import json, sys, urllib.request
log, url, token = sys.argv[1:]
lines = [json.loads(l) for l in open(log)]
posts = [r for r in lines if r["method"] == "POST"]
assert len(posts) == 48 and len({r["key"] for r in posts}) == 48, len(posts)
deletes = [r for r in lines if r["method"] == "DELETE"]
first = {r["key"]: r for r in posts}
for d in deletes:  # each undo removed the user its own write made
    post = first[d["key"][: -len(":undo")]]
    assert post["location"].endswith(d["path"]), (post, d)
assert len(deletes) == 24, len(deletes)
req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
users = json.load(urllib.request.urlopen(req, timeout=10))["Resources"]
assert sorted(u["userName"] for u in users) == sorted("t%d" % i for i in range(25, 49)), users
PY
    secrets threads
}

start_server
case "$GROUP" in
forward | rollback | crash | input | errors | threads) "$GROUP" ;;
*) echo "unknown group $GROUP"; exit 2 ;;
esac
finish
