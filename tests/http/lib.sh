# lib.sh -- what the http provider's tests share: a temporary directory, the SCIM-like
# service (tests/http/scim_server.py) started on 127.0.0.1 and stopped on any exit, the
# namespaces that reach it, and the checks.  Sourced by run.sh with P (provost), SRC (the
# source tree) and PLUG (the directory of libprovost-http.so) set.

T=$(mktemp -d)
SPID=""
TLSPID=""
pass=0
fail=0
cleanup() {
    for pid in $SPID $TLSPID; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
# a proxy from the environment would take loopback requests elsewhere
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY
unset PROVOST_CRASH_POINT PROVOST_TEST_TRACE
export PROVOST_PROVIDER_PATH="$PLUG" PROVOST_DB="$T/db"
TOKEN="bearer-secret-$$-7Qx9"
printf '%s\n' "$TOKEN" >"$T/token"
chmod 600 "$T/token"

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() { # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then ok; else bad "$1: got '$3', expected '$2'"; fi
}
contains() { # contains NAME FILE TEXT
    if grep -qF -- "$3" "$2"; then ok; else bad "$1: '$3' not in:"; cat "$2"; fi
}
lacks() { # lacks NAME FILE TEXT
    if grep -qF -- "$3" "$2"; then bad "$1: '$3' found in:"; cat "$2"; else ok; fi
}
xp() { # xp FILE XPATH: the string value
    xmllint --xpath "string($2)" "$1" 2>/dev/null
}
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit $?
}

wait_port() { # wait_port PID FILE
    i=0
    while [ ! -s "$2" ]; do
        if ! kill -0 "$1" 2>/dev/null || [ $i -ge 600 ]; then
            echo "FAIL: the test service did not start"
            exit 1
        fi
        sleep 0.1
        i=$((i + 1))
    done
}

start_server() {
    python3 "$SRC/tests/http/scim_server.py" --port-file "$T/port" --log "$T/log" --token "$TOKEN" &
    SPID=$!
    wait_port "$SPID" "$T/port"
    PORT=$(cat "$T/port")
    BASE="http://127.0.0.1:$PORT"
}

# A second service over TLS, with a certificate for 127.0.0.1 made here: $TLSBASE, its
# certificate $T/cert.pem, its log $T/tls.log.
start_tls_server() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null ||
        bad "openssl could not make a certificate"
    python3 "$SRC/tests/http/scim_server.py" --port-file "$T/tls.port" --log "$T/tls.log" --token "$TOKEN" \
        --tls "$T/cert.pem" "$T/key.pem" &
    TLSPID=$!
    wait_port "$TLSPID" "$T/tls.port"
    TLSBASE="https://127.0.0.1:$(cat "$T/tls.port")"
}

# The service's users, as it lists them (read directly, not through the provider).
state() {
    python3 - "$BASE/Users" "$TOKEN" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
print(urllib.request.urlopen(req, timeout=10).read().decode())
PY
}

# The lines of the service's log as "METHOD PATH KEY STATUS", one a line, from line FROM on.
requests() {
    python3 - "$T/log" "${1:-1}" <<'PY'
import json, sys
for i, line in enumerate(open(sys.argv[1]), 1):
    if i >= int(sys.argv[2]):
        r = json.loads(line)
        print(r["method"], r["path"], r["key"], r.get("status"), "replayed" if r.get("replayed") else "")
PY
}
log_lines() { wc -l <"$T/log" | tr -d ' '; }

# register NAME BASEURL: a namespace (authorization $AUTH, default bearer; timeoutMs $TMO,
# default 10000; more attributes $EXTRA) on the http provider, and T on the
# test provider (Fail, to make a transaction fail after the http steps).
register() {
    cat >"$T/ns-$1.xml" <<EOF
<namespace name="$1" providerSource="http">
  <providerContext baseURL="$2" authorization="${AUTH:-bearer}" passwordFile="$T/token" timeoutMs="${TMO:-10000}" ${EXTRA:-}/>
  <procedure name="Request" type="write" saveDataForRollback="1"/>
  <procedure name="Get" type="read"/>
</namespace>
EOF
    "$P" register "$T/ns-$1.xml" >/dev/null || bad "register $1"
    if [ ! -f "$T/ns-T.xml" ]; then
        cat >"$T/ns-T.xml" <<'EOF'
<namespace name="T" providerSource="test">
  <procedure name="Fail" type="write"/>
</namespace>
EOF
        "$P" register "$T/ns-T.xml" >/dev/null || bad "register T"
    fi
}

# mkreq NAME STEPS...: $T/NAME.req, a trusted request of the steps (XML text) in order.
mkreq() {
    name=$1
    shift
    {
        echo "<request><data/><procedure>"
        for s in "$@"; do printf '%s\n' "$s"; done
        echo "</procedure></request>"
    } >"$T/$name.req"
}

# run NAME STEPS...: runs that request; the response in $T/NAME.out, the exit status in $rc.
run() {
    mkreq "$@"
    "$P" run "$T/$1.req" >"$T/$1.out" 2>"$T/$1.err"
    rc=$?
}

# step NS PROC EXECUTEDATA-CONTENT: one execute whose executeData ends up in the data.
step() {
    printf '%s\n' "<execute namespace=\"$1\" procedure=\"$2\"><executeData>$3</executeData>"
    echo "<after source=\"executeData\" destination=\"data\" mode=\"merge\"/></execute>"
}
FAIL_STEP='<execute namespace="T" procedure="Fail"><executeData><code>0x80004005</code><description>a later step failed</description></executeData></execute>'
CREATE_UNDO='<undo><method>DELETE</method><path>{location}</path></undo>'
create() { # create USERNAME [UNDO]: a Request of namespace $NS (default Scim) that makes a user
    step "${NS:-Scim}" Request "<method>POST</method><path>/Users</path><json><schemas array=\"true\">urn:ietf:params:scim:schemas:core:2.0:User</schemas><userName>$1</userName><active type=\"boolean\">true</active></json>${2:-$CREATE_UNDO}"
}
code_of() { xp "$T/$1.out" "/response/errorContext/@code"; }
desc_of() { xp "$T/$1.out" "/response/errorContext/@description"; }
