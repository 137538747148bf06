#!/bin/sh
# The HTTP service (`provost serve`) through curl, against real server processes on
# 127.0.0.1 (port 0: the port bound is read from the "listening on" line), each stopped by
# the trap whatever happens.  One group per ctest entry:
#   endpoints  every endpoint and its status codes, malformed input, Idempotency-Key
#   auth       anonymous and not, two principals with different rights (200 and 403)
#   limits     413 over the maximum body, 503 + Retry-After over the requests in flight,
#              a stalled client cut off while others are answered
#   tls        HTTPS with a self-signed certificate made here by openssl
#   signals    SIGTERM with a request in flight (it completes, exit 0), SIGHUP
#   idempotency  Idempotency-Key: the first answer replayed byte for byte, across a
#              restart; 422 for another payload, 409 while it runs, two users' keys apart
#   deploy     PUT and DELETE /namespaces/{name} while serving: admin only, the compiler's
#              line for bad XML, the new namespace and revision used by the next call
# usage: run.sh GROUP PROVOST
set -u
GROUP=$1
P=$2
. "$(dirname "$0")/lib.sh"

cat >"$T/ns.xml" <<'EOF'
<namespace name="T" providerSource="test">
  <procedure name="Whoami" type="read" access="public"/>
  <procedure name="Echo" type="read" access="public"/>
  <procedure name="Sleep" type="read" access="public"/>
  <procedure name="Fail" type="read" access="public"/>
  <procedure name="Hidden" type="read"/>
</namespace>
EOF
"$P" register "$T/ns.xml" >/dev/null 2>&1; check "register" 0 $?
"$P" user add anon >/dev/null 2>&1; check "user add" 0 $?

# sleeper MS NAME: (in the background) a request sleeping MS ms in the engine, sent again
# while it is refused with 503 (a probe of busy may hold the one slot for a moment);
# its final status in $T/NAME.code, its body in $T/NAME
sleeper() {
    while
        curl -s -o "$T/$2" -w '%{http_code}' -X POST --data-binary "<data><ms>$1</ms><v/></data>" "$U/call/T/Sleep" >"$T/$2.code"
        [ "$(cat "$T/$2.code")" = 503 ]
    do sleep 0.01; done
}

# busy: waits until a POST /call is refused with 503 (a server with --max-inflight 1
# whose one slot a sleeping request holds); its headers in $T/head, body in $T/body
busy() {
    i=0
    while [ "$(curl -s -o "$T/body" -D "$T/head" -w '%{http_code}' -X POST "$U/call/T/Echo")" != 503 ] && [ $i -lt 200 ]; do
        sleep 0.05
        i=$((i + 1))
    done
}

# stop: SIGTERM, and the exit status it ends with in $?
stop() {
    kill -TERM "$SP"
    wait "$SP"
}

# req NAME STATUS CURL-ARGS...: the response's status is STATUS; body in $T/body,
# headers in $T/head
req() {
    name=$1
    want=$2
    shift 2
    got=$(curl -s -o "$T/body" -D "$T/head" -w '%{http_code}' "$@")
    check "$name" "$want" "$got"
}

case $GROUP in
endpoints)
    start endpoints --allow-anonymous anon --threads 4
    req "healthz" 200 "$U/healthz"
    contains "healthz says ok" "$T/body" "ok"
    req "readyz" 200 "$U/readyz"
    req "HEAD healthz" 200 -I "$U/healthz"
    req "unknown path" 404 "$U/nope"
    contains "404 is one line of JSON" "$T/body" '{"error": "no such endpoint: /nope"}'
    req "too many segments" 404 "$U/a/b/c/d/e/f/g/h/i/j"
    req "bad method" 405 -X DELETE "$U/healthz"
    contains "405 has Allow" "$T/head" "Allow: GET"
    req "GET on a POST route" 405 "$U/call/T/Echo"
    contains "Allow: POST" "$T/head" "Allow: POST"
    req "unknown method" 405 -X FROB "$U/namespaces"
    # /call
    req "call" 200 -X POST --data-binary '<data><x>1</x></data>' "$U/call/T/Echo"
    contains "call answers the response" "$T/body" "<response><data><x>1</x></data></response>"
    contains "as XML" "$T/head" "Content-Type: application/xml"
    req "call with empty data" 200 -X POST "$U/call/T/Echo"
    contains "empty data" "$T/body" "<response><data/></response>"
    req "call runs as the principal" 200 -X POST --data-binary '<request><data/><context><securityContext impersonate="1"/></context></request>' "$U/call/T/Whoami"
    req "a failed request" 422 -X POST --data-binary '<data><description>no luck</description></data>' "$U/call/T/Fail"
    contains "422 holds the response document" "$T/body" 'description="no luck"'
    req "malformed XML" 400 -X POST --data-binary '<data><x>' "$U/call/T/Echo"
    contains "LINE:COL" "$T/body" 'description="1:10: malformed XML'
    req "not a data document" 400 -X POST --data-binary '<other/>' "$U/call/T/Echo"
    req "unknown procedure" 404 -X POST "$U/call/T/Nope"
    contains "names it" "$T/body" "namespace 'T' has no procedure 'Nope'"
    req "unknown namespace" 404 -X POST "$U/call/Z/Echo"
    req "private procedure" 403 -X POST "$U/call/T/Hidden"
    # /request
    printf '<request><procedure><execute namespace="T" procedure="Echo"/></procedure><data><y/></data></request>' >"$T/trusted.xml"
    req "trusted request" 200 -X POST --data-binary @"$T/trusted.xml" "$U/request"
    contains "trusted response" "$T/body" "<response><data><y/></data></response>"
    req "empty request" 400 -X POST "$U/request"
    req "request without procedure" 400 -X POST --data-binary '<request><data/></request>' "$U/request"
    req "malformed request" 400 -X POST --data-binary '<request' "$U/request"
    # Idempotency-Key: the second answers from the outcome, nothing runs again
    req "keyed call" 200 -X POST -H 'Idempotency-Key: k-1' --data-binary '<data><z/></data>' "$U/call/T/Echo"
    contains "keyed call ran" "$T/body" "<response><data><z/></data></response>"
    req "keyed repeat" 200 -X POST -H 'Idempotency-Key: k-1' --data-binary '<data><z/></data>' "$U/call/T/Echo"
    contains "replayed" "$T/body" "<response><data><z/></data></response>"
    contains "replayed header" "$T/head" "Idempotent-Replayed: true"
    req "keyed failure" 422 -X POST -H 'Idempotency-Key: k-2' "$U/call/T/Fail"
    req "keyed failure repeated" 422 -X POST -H 'Idempotency-Key: k-2' "$U/call/T/Fail"
    contains "its code" "$T/body" 'code="0x80004005"'
    req "same key, another payload" 422 -X POST -H 'Idempotency-Key: k-1' --data-binary '<data><other/></data>' "$U/call/T/Echo"
    contains "says so" "$T/body" "this Idempotency-Key was used with another request"
    req "same key, another procedure" 422 -X POST -H 'Idempotency-Key: k-1' --data-binary '<data><z/></data>' "$U/call/T/Whoami"
    # two at once with one key: one runs, the other is refused while it runs
    K=""
    for n in 1 2; do
        curl -s -o "$T/k3.$n" -w '%{http_code}\n' -X POST -H 'Idempotency-Key: k-3' --data-binary '<data><ms>1500</ms></data>' "$U/call/T/Sleep" >"$T/k3.code.$n" &
        K="$K $!"
    done
    wait $K
    cat "$T/k3.code.1" "$T/k3.code.2" | sort >"$T/k3.codes"
    printf '200\n409\n' | cmp -s - "$T/k3.codes"; check "one ran, one was refused with 409" 0 $?
    cat "$T/k3.1" "$T/k3.2" >"$T/body"
    contains "409 says why" "$T/body" "a request with this Idempotency-Key is still running"
    req "then its outcome answers" 200 -X POST -H 'Idempotency-Key: k-3' --data-binary '<data><ms>1500</ms></data>' "$U/call/T/Sleep"
    contains "replayed after" "$T/body" "<response><data><ms>1500</ms></data></response>"
    req "bad key" 400 -X POST -H 'Idempotency-Key: a b' "$U/call/T/Echo"
    # a request line that is not HTTP is answered 400, and the server goes on
    python3 - "$U" >"$T/garbage" 2>&1 <<'EOF'
import socket, sys
host, port = sys.argv[1].split("//")[1].split(":")
s = socket.create_connection((host, int(port)))
s.sendall(b"\x01\x02 garbage \xff\r\nHost x\r\n\r\n")
s.settimeout(10)
print(s.recv(200).split(b"\r\n")[0].decode(errors="replace"))
EOF
    contains "garbage answered 400" "$T/garbage" "400"
    # /namespaces
    req "namespaces" 200 "$U/namespaces"
    contains "lists T" "$T/body" '"name": "T"'
    contains "as JSON" "$T/head" "Content-Type: application/json"
    req "namespace" 200 "$U/namespaces/T"
    contains "its procedures" "$T/body" '{"name": "Hidden", "type": "read", "access": "private", "description": null}'
    req "unknown namespace listed" 404 "$U/namespaces/Z"
    # a request line and headers over the memory limit are refused, and the server goes on
    long=$(head -c 70000 /dev/zero | tr '\0' a)
    got=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Long: $long" "$U/healthz")
    [ "$got" -ge 400 ] 2>/dev/null; check "headers too large refused ($got)" 0 $?
    req "still answering" 200 "$U/healthz"
    stop; check "SIGTERM: exit 0" 0 $?
    contains "says it stopped" "$T/endpoints.log" "provost serve: stopped"
    ;;
auth)
    "$P" user add alice >/dev/null 2>&1 && "$P" user add bob >/dev/null 2>&1
    "$P" grant alice execute --namespace T >/dev/null 2>&1; check "grant alice" 0 $?
    "$P" token create --user alice >"$T/alice.tok" 2>/dev/null; check "token for alice" 0 $?
    "$P" token create --user bob >"$T/bob.tok" 2>/dev/null; check "token for bob" 0 $?
    ALICE="Authorization: Bearer $(cat "$T/alice.tok")"
    BOB="Authorization: Bearer $(cat "$T/bob.tok")"
    start noanon
    req "no token" 401 -X POST "$U/call/T/Echo"
    contains "challenge" "$T/head" "WWW-Authenticate: Bearer"
    req "not a bearer" 401 -X POST -H 'Authorization: Basic YTpi' "$U/call/T/Echo"
    req "bad token" 401 -X POST -H 'Authorization: Bearer nope' "$U/call/T/Echo"
    contains "invalid_token" "$T/head" 'error="invalid_token"'
    req "namespaces need a token" 401 "$U/namespaces"
    req "healthz needs none" 200 "$U/healthz"
    req "readyz needs none" 200 "$U/readyz"
    # two tokens, two users, one engine: each request decided for its token's user
    req "alice's token: allowed" 200 -X POST -H "$ALICE" --data-binary '<data><a/></data>' "$U/call/T/Echo"
    contains "alice's answer" "$T/body" "<response><data><a/></data></response>"
    req "bob's token: refused" 403 -X POST -H "$BOB" "$U/call/T/Echo"
    contains "refused as bob" "$T/body" "principal 'bob' lacks the right execute on procedure T/Echo"
    req "alice's token again" 200 -X POST -H "$ALICE" "$U/call/T/Whoami"
    req "namespaces with a token" 200 -H "$BOB" "$U/namespaces"
    # tokens made and revoked while the service runs: read again when their file changes
    "$P" token create --user bob >"$T/bob2.tok" 2>/dev/null; check "a token made while serving" 0 $?
    i=0
    while [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$T/bob2.tok")" "$U/namespaces")" != 200 ] && [ $i -lt 100 ]; do
        sleep 0.05; i=$((i + 1))
    done
    req "the new token is taken" 200 -H "Authorization: Bearer $(cat "$T/bob2.tok")" "$U/namespaces"
    "$P" token revoke "$(cut -d_ -f2 "$T/alice.tok")" >/dev/null 2>&1; check "revoke alice's token while serving" 0 $?
    i=0
    while [ "$(curl -s -o /dev/null -w '%{http_code}' -H "$ALICE" "$U/namespaces")" != 401 ] && [ $i -lt 100 ]; do
        sleep 0.05; i=$((i + 1))
    done
    req "a revoked token is refused" 401 -X POST -H "$ALICE" "$U/call/T/Echo"
    contains "says revoked" "$T/body" "revoked"
    contains "the reload was said" "$T/noanon.log" "tokens reloaded"
    stop; check "stopped" 0 $?
    "$P" audit --principal bob >"$T/audit" 2>&1; check "audit" 0 $?
    contains "the audit trail names bob" "$T/audit" "bob"
    # anonymous requests run for the principal named: its rights decide
    start alice --allow-anonymous alice
    req "alice is allowed" 200 -X POST "$U/call/T/Echo"
    req "alice's keyed call" 200 -X POST -H 'Idempotency-Key: shared' "$U/call/T/Echo"
    req "alice lacks trusted" 403 -X POST --data-binary '<request><procedure><execute namespace="T" procedure="Echo"/></procedure></request>' "$U/request"
    contains "the engine's refusal" "$T/body" "principal 'alice' lacks the right trusted"
    stop
    start bob --allow-anonymous bob
    req "bob is refused" 403 -X POST "$U/call/T/Echo"
    contains "names bob" "$T/body" "principal 'bob' lacks the right execute on procedure T/Echo"
    req "bob's key of the same text is his own: it runs" 403 -X POST -H 'Idempotency-Key: shared' "$U/call/T/Echo"
    grep -q "Idempotent-Replayed" "$T/head"; check "not answered from alice's outcome" 1 $?
    stop
    start nobody --allow-anonymous mallory
    req "not a user" 403 -X POST "$U/call/T/Echo"
    contains "says so" "$T/body" "'mallory' is not a user of this database"
    stop
    ;;
limits)
    start limits --allow-anonymous anon --max-body 1K --threads 1 --max-inflight 1 --idle-timeout 1
    head -c 2000 /dev/zero | tr '\0' x >"$T/big"
    req "body over the maximum" 413 -X POST --data-binary @"$T/big" "$U/call/T/Echo"
    contains "413 says why" "$T/body" "larger than the service takes (1024 bytes)"
    req "chunked body over the maximum" 413 -X POST -H 'Transfer-Encoding: chunked' --data-binary @"$T/big" "$U/call/T/Echo"
    req "after 413, still answering" 200 -X POST --data-binary '<data/>' "$U/call/T/Echo"
    # one request sleeps in the engine; a second is refused while it runs
    sleeper 3000 slow &
    C=$!
    busy
    contains "503 has Retry-After" "$T/head" "Retry-After: 1"
    contains "503 says why" "$T/body" "too many requests in flight (1)"
    # one thread, busy in the engine: the connection threads still answer everyone else
    req "health while full, on one thread" 200 "$U/healthz"
    req "namespaces while full" 200 "$U/namespaces"
    wait $C
    contains "the sleeping request completed" "$T/slow.code" "200"
    # a client that sends half a request and stalls is cut off; others are answered
    python3 - "$U" >"$T/stall" 2>&1 <<'EOF' &
import socket, sys, time
host, port = sys.argv[1].split("//")[1].split(":")
s = socket.create_connection((host, int(port)))
s.sendall(b"POST /call/T/Echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n<data>")
s.settimeout(30)
start = time.time()
try:
    got = s.recv(1000)
except socket.timeout:
    got = b"still open"
print("closed" if got == b"" or b"HTTP/1.1" in got else got.decode())
EOF
    S=$!
    req "others answered while one stalls" 200 "$U/healthz"
    wait $S
    contains "the stalled client was cut off" "$T/stall" "closed"
    req "still answering after" 200 "$U/healthz"
    stop; check "stopped" 0 $?
    # a body that trickles in: cut off once the request is older than --request-timeout
    start trickle --allow-anonymous anon --request-timeout 1 --idle-timeout 10
    python3 - "$U" >"$T/trickle" 2>&1 <<'EOF'
import socket, sys, time
host, port = sys.argv[1].split("//")[1].split(":")
s = socket.create_connection((host, int(port)))
s.sendall(b"POST /call/T/Echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n<data>")
s.settimeout(20)
try:
    for _ in range(40):
        time.sleep(0.25)
        s.sendall(b" ")
    print("never cut off")
except (BrokenPipeError, ConnectionResetError):
    print("closed")
EOF
    contains "the trickling client was cut off" "$T/trickle" "closed"
    contains "and it was said" "$T/trickle.log" "took longer than 1 s"
    req "still answering" 200 "$U/healthz"
    stop; check "stopped" 0 $?
    ;;
tls)
    command -v openssl >/dev/null 2>&1 || { echo "openssl is not installed"; exit 77; }
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
        -subj /CN=127.0.0.1 >/dev/null 2>&1; check "self-signed certificate" 0 $?
    start tls --allow-anonymous anon --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
    case $U in https://*) check "https URL" 0 0 ;; *) check "https URL ($U)" 0 1 ;; esac
    req "healthz over TLS" 200 --cacert "$T/cert.pem" "$U/healthz"
    req "call over TLS" 200 --cacert "$T/cert.pem" -X POST --data-binary '<data><t/></data>' "$U/call/T/Echo"
    contains "its answer" "$T/body" "<response><data><t/></data></response>"
    plain=$(echo "$U" | sed 's/^https/http/')
    curl -s -o /dev/null "$plain/healthz"; [ $? -ne 0 ]; check "plain HTTP to the TLS port is not answered as HTTP" 0 $?
    req "still answering TLS" 200 --cacert "$T/cert.pem" "$U/healthz"
    stop; check "stopped" 0 $?
    "$P" serve --listen 127.0.0.1:0 --tls-cert "$T/cert.pem" >"$T/out" 2>&1; check "cert without key" 2 $?
    contains "one line" "$T/out" "--tls-cert and --tls-key go together"
    "$P" serve --listen 127.0.0.1:0 --tls-cert "$T/nope" --tls-key "$T/key.pem" >"$T/out" 2>&1
    check "missing cert" 2 $?
    contains "names it" "$T/out" "$T/nope"
    ;;
signals)
    start drain --allow-anonymous anon --max-inflight 1
    sleeper 1500 slow &
    C=$!
    busy # the request runs in the engine
    contains "in flight" "$T/head" "503"
    kill -TERM "$SP"
    wait "$SP"; check "SIGTERM with a request in flight: exit 0" 0 $?
    wait $C
    contains "the request in flight completed" "$T/slow.code" "200"
    contains "with its answer" "$T/slow" "<response><data><ms>1500</ms><v/></data></response>"
    contains "it waited for it" "$T/drain.log" "to finish (up to 30 s)"
    "$P" txn list >"$T/txn" 2>&1; check "the database opens after" 0 $?
    # a request that outlives the drain deadline: exit 1 at once, the journal finishes it
    start late --allow-anonymous anon --max-inflight 1 --drain-timeout 1
    sleeper 4000 late &
    C=$!
    busy
    kill -TERM "$SP"
    wait "$SP"; check "SIGTERM, a request still running at the deadline: exit 1" 1 $?
    contains "says what it left" "$T/late.log" "stopped with 1 request still running"
    wait $C
    "$P" txn list >"$T/txn" 2>&1; check "the database opens after, recovered" 0 $?
    "$P" call T Echo >/dev/null 2>&1; check "and runs requests" 0 $?
    start hup
    # nothing changed: only SIGHUP reads the tokens again
    kill -HUP "$SP"
    i=0; while ! grep -q "tokens reloaded" "$T/hup.log" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    contains "SIGHUP reloads the tokens" "$T/hup.log" "tokens reloaded"
    "$P" token create --user anon >"$T/anon.tok" 2>/dev/null; check "token" 0 $?
    kill -HUP "$SP"
    i=0
    while [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$T/anon.tok")" "$U/namespaces")" != 200 ] && [ $i -lt 100 ]; do
        sleep 0.05; i=$((i + 1))
    done
    req "serving after SIGHUP, with the token made" 200 -H "Authorization: Bearer $(cat "$T/anon.tok")" "$U/namespaces"
    kill -INT "$SP"; wait "$SP"; check "SIGINT: exit 0" 0 $?
    # bad options: one line, exit 2
    "$P" serve --listen nowhere >"$T/out" 2>&1; check "bad --listen" 2 $?
    contains "says so" "$T/out" "--listen takes ADDR:PORT"
    "$P" serve --threads 0 >"$T/out" 2>&1; check "bad --threads" 2 $?
    "$P" serve --frob >"$T/out" 2>&1; check "unknown option" 2 $?
    ;;
idempotency)
    "$P" user add alice >/dev/null 2>&1 && "$P" user add bob >/dev/null 2>&1
    "$P" grant alice execute --namespace T >/dev/null 2>&1 && "$P" grant bob execute --namespace T >/dev/null 2>&1
    check "users and rights" 0 $?
    "$P" token create --user alice >"$T/alice.tok" 2>/dev/null && "$P" token create --user bob >"$T/bob.tok" 2>/dev/null
    check "tokens" 0 $?
    ALICE="Authorization: Bearer $(cat "$T/alice.tok")"
    BOB="Authorization: Bearer $(cat "$T/bob.tok")"
    start idem --threads 4
    req "keyed call" 200 -X POST -H "$ALICE" -H 'Idempotency-Key: k-1' --data-binary '<data><z n="1"/></data>' "$U/call/T/Echo"
    cp "$T/body" "$T/first"
    grep -q "Idempotent-Replayed" "$T/head"; check "the first is not a replay" 1 $?
    req "repeat" 200 -X POST -H "$ALICE" -H 'Idempotency-Key: k-1' --data-binary '<data><z n="1"/></data>' "$U/call/T/Echo"
    cmp -s "$T/first" "$T/body"; check "the repeat is the first answer, byte for byte" 0 $?
    contains "marked replayed" "$T/head" "Idempotent-Replayed: true"
    req "keyed failure" 422 -X POST -H "$ALICE" -H 'Idempotency-Key: k-2' --data-binary '<data><description>no luck</description></data>' "$U/call/T/Fail"
    cp "$T/body" "$T/failed"
    req "failure repeated" 422 -X POST -H "$ALICE" -H 'Idempotency-Key: k-2' --data-binary '<data><description>no luck</description></data>' "$U/call/T/Fail"
    cmp -s "$T/failed" "$T/body"; check "the failure's document, byte for byte" 0 $?
    contains "with its description" "$T/body" 'description="no luck"'
    # two users, one key text: two keys
    req "bob's key of the same text runs" 200 -X POST -H "$BOB" -H 'Idempotency-Key: k-1' --data-binary '<data><b/></data>' "$U/call/T/Echo"
    contains "bob's own answer" "$T/body" "<response><data><b/></data></response>"
    grep -q "Idempotent-Replayed" "$T/head"; check "not alice's answer" 1 $?
    req "bob's repeat is his" 200 -X POST -H "$BOB" -H 'Idempotency-Key: k-1' --data-binary '<data><b/></data>' "$U/call/T/Echo"
    contains "his answer replayed" "$T/body" "<response><data><b/></data></response>"
    # while it runs: 409 to the other
    for n in 1 2; do
        curl -s -o "$T/k3.$n" -w '%{http_code}\n' -X POST -H "$ALICE" -H 'Idempotency-Key: k-3' --data-binary '<data><ms>1500</ms></data>' "$U/call/T/Sleep" >"$T/k3.code.$n" &
        eval "C$n=\$!"
    done
    wait "$C1" "$C2"
    cat "$T/k3.code.1" "$T/k3.code.2" | sort >"$T/k3.codes"
    printf '200\n409\n' | cmp -s - "$T/k3.codes"; check "one ran, one was refused with 409" 0 $?
    cat "$T/k3.1" "$T/k3.2" >"$T/body"
    contains "409 says why" "$T/body" "a request with this Idempotency-Key is still running"
    # the answers are the owner's only
    ls "$PROVOST_DB/service-keys" >"$T/files"
    check "one file per key" 4 "$(wc -l <"$T/files")"
    check "owner-only" "600" "$(stat -c %a "$PROVOST_DB/service-keys/$(head -1 "$T/files")")"
    check "directory owner-only" "700" "$(stat -c %a "$PROVOST_DB/service-keys")"
    stop; check "stopped" 0 $?
    # a new process answers the same
    start again --threads 2
    req "repeat after a restart" 200 -X POST -H "$ALICE" -H 'Idempotency-Key: k-1' --data-binary '<data><z n="1"/></data>' "$U/call/T/Echo"
    cmp -s "$T/first" "$T/body"; check "byte for byte after a restart" 0 $?
    contains "marked replayed after a restart" "$T/head" "Idempotent-Replayed: true"
    req "another body after a restart" 422 -X POST -H "$ALICE" -H 'Idempotency-Key: k-1' --data-binary '<data><z n="2"/></data>' "$U/call/T/Echo"
    contains "says so" "$T/body" "this Idempotency-Key was used with another request"
    req "another procedure after a restart" 422 -X POST -H "$ALICE" -H 'Idempotency-Key: k-1' --data-binary '<data><z n="1"/></data>' "$U/call/T/Whoami"
    req "the slow one after a restart" 200 -X POST -H "$ALICE" -H 'Idempotency-Key: k-3' --data-binary '<data><ms>1500</ms></data>' "$U/call/T/Sleep"
    contains "its answer" "$T/body" "<response><data><ms>1500</ms></data></response>"
    # an answer never stored (the process died after the engine recorded the outcome):
    # the outcome answers
    f="$PROVOST_DB/service-keys/$(printf 'http/alice/k-1' | sha256sum | cut -c1-64)"
    [ -f "$f" ]; check "the file is named by the key and its principal" 0 $?
    printf 'provost-idem 1\nnot an answer' >"$f"
    req "a damaged answer: the outcome answers" 200 -X POST -H "$ALICE" -H 'Idempotency-Key: k-1' --data-binary '<data><z n="1"/></data>' "$U/call/T/Echo"
    contains "synthesised" "$T/body" '<response replayed="1"/>'
    contains "still marked replayed" "$T/head" "Idempotent-Replayed: true"
    contains "the damage is said" "$T/again.log" "is not a stored answer: ignored"
    rm -f "$PROVOST_DB"/service-keys/*
    req "no stored answer of a failure" 422 -X POST -H "$ALICE" -H 'Idempotency-Key: k-2' --data-binary '<data><description>no luck</description></data>' "$U/call/T/Fail"
    contains "synthesised from the outcome" "$T/body" '<response replayed="1"><errorContext code="0x80004005"'
    stop; check "stopped again" 0 $?
    ;;
deploy)
    "$P" user add ops >/dev/null 2>&1 && "$P" user add bob >/dev/null 2>&1
    "$P" grant ops admin >/dev/null 2>&1; check "grant ops admin" 0 $?
    "$P" grant bob execute --namespace T >/dev/null 2>&1; check "grant bob" 0 $?
    "$P" token create --user ops >"$T/ops.tok" 2>/dev/null && "$P" token create --user bob >"$T/bob.tok" 2>/dev/null
    check "tokens" 0 $?
    OPS="Authorization: Bearer $(cat "$T/ops.tok")"
    BOB="Authorization: Bearer $(cat "$T/bob.tok")"
    printf '<namespace name="U" providerSource="test">\n  <procedure name="Echo" type="read" access="public"/>\n</namespace>\n' >"$T/u1.xml"
    printf '<namespace name="U" providerSource="test">\n  <procedure name="Whoami" type="read" access="public"/>\n  <procedure name="Sleep" type="read" access="public"/>\n</namespace>\n' >"$T/u2.xml"
    start deploy
    req "not yet deployed" 404 -X POST -H "$OPS" "$U/call/U/Echo"
    req "a user without admin" 403 -X PUT -H "$BOB" --data-binary @"$T/u1.xml" "$U/namespaces/U"
    contains "says which right" "$T/body" "principal 'bob' lacks the right admin"
    req "deployed" 201 -X PUT -H "$OPS" --data-binary @"$T/u1.xml" "$U/namespaces/U"
    contains "its name, revision and procedures" "$T/body" '{"name": "U", "revision": 1, "procedures": 1}'
    req "called at once" 200 -X POST -H "$OPS" --data-binary '<data><u/></data>' "$U/call/U/Echo"
    contains "its answer" "$T/body" "<response><data><u/></data></response>"
    req "listed" 200 -H "$OPS" "$U/namespaces"
    contains "U listed" "$T/body" '"name": "U"'
    req "replaced" 200 -X PUT -H "$OPS" --data-binary @"$T/u2.xml" "$U/namespaces/U"
    contains "revision 2" "$T/body" '{"name": "U", "revision": 2, "procedures": 2}'
    req "the next call runs the new revision" 200 -X POST -H "$OPS" "$U/call/U/Whoami"
    req "the old procedure is gone" 404 -X POST -H "$OPS" "$U/call/U/Echo"
    printf '<namespace name="U" providerSource="test">\n  <procedure name="Echo" type="read" access="public">\n</namespace>\n' >"$T/bad.xml"
    req "bad XML" 400 -X PUT -H "$OPS" --data-binary @"$T/bad.xml" "$U/namespaces/U"
    contains "the compiler's line" "$T/body" "body:3:"
    req "still revision 2" 200 -X POST -H "$OPS" "$U/call/U/Whoami"
    req "another name than the path" 409 -X PUT -H "$OPS" --data-binary @"$T/u1.xml" "$U/namespaces/V"
    contains "names both" "$T/body" "holds namespace 'U', not 'V'"
    req "V was not made" 404 -H "$OPS" "$U/namespaces/V"
    req "an empty body" 400 -X PUT -H "$OPS" "$U/namespaces/U"
    req "a user without admin cannot remove" 403 -X DELETE -H "$BOB" "$U/namespaces/U"
    req "removed" 204 -X DELETE -H "$OPS" "$U/namespaces/U"
    req "its calls are gone" 404 -X POST -H "$OPS" "$U/call/U/Whoami"
    req "removed again" 404 -X DELETE -H "$OPS" "$U/namespaces/U"
    "$P" compile "$T/u2.xml" -o "$T/u2.pvb" >/dev/null 2>&1; check "compiled" 0 $?
    req "a bundle deployed" 201 -X PUT -H "$OPS" -H 'Content-Type: application/octet-stream' --data-binary @"$T/u2.pvb" "$U/namespaces/U"
    contains "the bundle's procedures" "$T/body" '{"name": "U", "revision": 1, "procedures": 2}'
    req "and called" 200 -X POST -H "$OPS" "$U/call/U/Whoami"
    stop; check "stopped" 0 $?
    "$P" list >"$T/list" 2>&1; check "the database opens after" 0 $?
    contains "the deployed namespace was stored" "$T/list" "U"
    ;;
*)
    echo "unknown group $GROUP"
    exit 2
    ;;
esac
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
