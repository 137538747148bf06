# lib.sh -- sourced by the service's shell tests (run.sh, batchq.sh, metrics.sh): a scratch
# directory holding the database ($T, $PROVOST_DB), the counted checks of tests/cli/lib.sh,
# and `start`, which runs `provost serve` ($P) in the background.  Every server started is
# killed and the directory removed on exit, whatever happens.
T=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../cli/lib.sh"
export PROVOST_DB="$T/db"
command -v curl >/dev/null 2>&1 || { echo "curl is not installed"; exit 77; }

# start NAME ARGS...: a server in the background; sets U (its URL) and SP (its pid)
start() {
    name=$1
    shift
    : >"$T/$name.log"
    "$P" serve --listen 127.0.0.1:0 "$@" 2>"$T/$name.log" &
    SP=$!
    PIDS="$PIDS $SP"
    i=0
    while ! grep -q "listening on" "$T/$name.log" && kill -0 $SP 2>/dev/null && [ $i -lt 600 ]; do
        sleep 0.05
        i=$((i + 1))
    done
    U=$(sed -n 's/.*listening on \(https*:\/\/[0-9.]*:[0-9]*\).*/\1/p' "$T/$name.log")
    [ -n "$U" ] || { echo "FAIL: $name did not start:"; cat "$T/$name.log"; exit 1; }
}
