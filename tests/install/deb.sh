#!/bin/sh
# Deployment as an operator does it, from a build tree:
#   deb.sh BUILD_DIR SOURCE_DIR
# 1. `cmake --install --prefix` into a temporary prefix: the layout, units naming that
#    prefix, and the installed command running a request through the fs plug-in it finds
#    beside itself (PROVOST_PROVIDER_PATH unset).
# 2. As root only (else skipped, 77): the .deb from `cpack -G DEB`, installed with dpkg -i:
#    the layout under /usr, the user provost and /var/lib/provost, /usr/bin/provost running
#    the same request, `systemd-analyze verify` on the units where it runs; installed again
#    over itself (an upgrade: the changed options file and the database kept); then dpkg -r
#    (files gone, the options file and the state kept) and dpkg -P (those gone too).
set -u
B=$1
SRC=$2
. "$SRC/tests/cli/lib.sh"
unset PROVOST_PROVIDER_PATH PROVOST_DB PROVOST_SYNC PROVOST_VALIDATE
T=$(mktemp -d /tmp/provost-install.XXXXXX)
chmod 755 "$T" # the user provost reads the bundle from here
installed=0
cleanup() {
    [ $installed -eq 1 ] && dpkg -P provost >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

have() { # have FILE...: each exists
    for f in "$@"; do
        if [ -e "$f" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $f is missing"; fi
    done
}
gone() { # gone FILE...: none exists
    for f in "$@"; do
        if [ -e "$f" ]; then fail=$((fail + 1)); echo "FAIL: $f is still there"; else pass=$((pass + 1)); fi
    done
}

# provision P DIR: compiles the example's Homes namespace (fs provider) with the command P,
# registers it in DIR/db and runs a request making a home directory and a file in it.
provision() {
    P=$1
    D=$2
    mkdir -p "$D/home"
    sed "s|@DIR@|$D|g" "$3/examples/users/homes.xml" >"$D/homes.xml"
    "$P" compile "$D/homes.xml" -o "$D/homes.pvb" >"$D/out" 2>&1
    check "$P compile" 0 $?
    "$P" --db "$D/db" register "$D/homes.pvb" >"$D/out" 2>&1
    check "$P register" 0 $?
    cat >"$D/request.xml" <<'XML'
<request><data/><procedure>
  <execute namespace="Homes" procedure="CreateDirectory"><executeData><path>alice</path></executeData></execute>
  <execute namespace="Homes" procedure="WriteFile"><executeData><path>alice/welcome.txt</path><content>hello alice</content></executeData></execute>
</procedure></request>
XML
    "$P" --db "$D/db" run "$D/request.xml" >"$D/out" 2>&1
    check "$P run (fs plug-in found beside the command)" 0 $?
    contains "$P wrote through the fs plug-in" "$D/home/alice/welcome.txt" "hello alice"
}

# ---- 1. cmake --install into a prefix ------------------------------------------------------
PFX=$T/prefix
cmake --install "$B" --prefix "$PFX" >"$T/install.log" 2>&1
check "cmake --install" 0 $?
have "$PFX/bin/provost" "$PFX/lib/provost/libprovost-fs.so" "$PFX/lib/provost/libprovost-sql.so" \
    "$PFX/lib/provost/libprovost-http.so" "$PFX/lib/provost/libprovost-ldap.so" \
    "$PFX/share/provost/schemas/request.xsd" "$PFX/share/doc/provost/README.md" \
    "$PFX/share/doc/provost/deploy.md" "$PFX/share/doc/provost/examples/users/homes.xml" \
    "$PFX/lib/systemd/system/provost-serve.service" "$PFX/lib/systemd/system/provost-worker.service" \
    "$PFX/lib/sysusers.d/provost.conf" "$PFX/etc/default/provost"
contains "the unit runs the installed command" "$PFX/lib/systemd/system/provost-worker.service" \
    "ExecStart=$PFX/bin/provost worker"
contains "the unit reads the prefix's options file" "$PFX/lib/systemd/system/provost-serve.service" \
    "EnvironmentFile=-$PFX/etc/default/provost"
if [ -x "$PFX/share/doc/provost/examples/users/setup.sh" ]; then ok=1; else ok=0; fi
check "the example's setup script stays runnable" 1 $ok
provision "$PFX/bin/provost" "$T/p1" "$PFX/share/doc/provost"
if command -v systemd-sysusers >/dev/null 2>&1; then # the user, as a plain install makes it
    mkdir -p "$T/root/etc"
    systemd-sysusers --root="$T/root" "$PFX/lib/sysusers.d/provost.conf" >"$T/out" 2>&1
    check "systemd-sysusers reads provost.conf" 0 $?
    contains "systemd-sysusers makes the user provost" "$T/root/etc/passwd" "provost:x:"
fi
# an install over an operator's options file keeps it
echo "PROVOST_LISTEN=0.0.0.0:9000" >"$PFX/etc/default/provost"
cmake --install "$B" --prefix "$PFX" >"$T/install.log" 2>&1
contains "a second install keeps the options file" "$PFX/etc/default/provost" "0.0.0.0:9000"

# ---- 2. the .deb, as root ------------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
    echo "$pass passed, $fail failed"
    echo "SKIP: installing the .deb needs root (dpkg -i); only cmake --install was checked"
    [ "$fail" -eq 0 ] || exit 1
    exit 77
fi
for tool in cpack dpkg dpkg-shlibdeps adduser; do
    if ! command -v $tool >/dev/null 2>&1; then
        echo "SKIP: $tool is not installed (scripts/deps installs dpkg-dev and adduser)"
        exit 77
    fi
done
if dpkg-query -W -f='${Status}' provost 2>/dev/null | grep -q installed || [ -e /usr/bin/provost ]; then
    echo "SKIP: this machine already has a provost installed: it is not the test's to replace"
    exit 77
fi

mkdir "$T/pkg"
cpack -G DEB --config "$B/CPackConfig.cmake" -B "$T/pkg" >"$T/cpack.log" 2>&1
check "cpack -G DEB" 0 $?
deb=$(ls "$T"/pkg/provost_*.deb 2>/dev/null | head -1)
if [ -z "$deb" ]; then
    echo "FAIL: no package built:"; cat "$T/cpack.log"
    exit 1
fi
dpkg-deb -f "$deb" Depends >"$T/depends"
contains "shlibdeps found the engine's libraries" "$T/depends" "librocksdb"
contains "the package needs adduser for its user" "$T/depends" "adduser"

installed=1
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$T/dpkg.log" 2>&1
check "dpkg -i" 0 $?
files="/usr/bin/provost /usr/lib/provost/libprovost-fs.so /usr/lib/provost/libprovost-sql.so
       /usr/lib/provost/libprovost-http.so /usr/lib/provost/libprovost-ldap.so
       /usr/share/provost/schemas/request.xsd /usr/share/doc/provost/README.md
       /usr/share/doc/provost/deploy.md /usr/share/doc/provost/examples/users/homes.xml
       /usr/lib/systemd/system/provost-serve.service /usr/lib/systemd/system/provost-worker.service
       /usr/lib/sysusers.d/provost.conf"
# shellcheck disable=SC2086
have $files /etc/default/provost
dpkg-query -W -f='${Conffiles}\n' provost >"$T/conffiles"
contains "the options file is a conffile" "$T/conffiles" "/etc/default/provost"
contains "the unit runs /usr/bin/provost" /usr/lib/systemd/system/provost-serve.service \
    'ExecStart=/usr/bin/provost serve --listen ${PROVOST_LISTEN}'
contains "the unit reads /etc/default/provost" /usr/lib/systemd/system/provost-worker.service \
    "EnvironmentFile=-/etc/default/provost"
getent passwd provost >"$T/user"
check "the user provost exists" 0 $?
stat -c '%U %a' /var/lib/provost >"$T/state" 2>&1
contains "/var/lib/provost belongs to provost" "$T/state" "provost 750"

provision /usr/bin/provost "$T/p2" /usr/share/doc/provost
# the services' user can open a database in the state directory
runuser -u provost -- /usr/bin/provost --db /var/lib/provost/provost.db register "$T/p2/homes.pvb" \
    >"$T/out" 2>&1
check "the user provost registers into /var/lib/provost" 0 $?

if systemd-analyze --version >/dev/null 2>&1; then
    systemd-analyze verify /usr/lib/systemd/system/provost-serve.service \
        /usr/lib/systemd/system/provost-worker.service >"$T/verify" 2>&1
    check "systemd-analyze verify" 0 $?
    # where no systemd runs (a container) verify may complain about the host, never the units
    if grep -i "provost-\(serve\|worker\)\.service" "$T/verify"; then
        fail=$((fail + 1)); echo "FAIL: systemd-analyze verify:"; cat "$T/verify"
    fi
else
    echo "note: systemd-analyze not installed; the units were not verified"
fi

# an upgrade (the same package again: prerm upgrade, postinst configure OLD-VERSION) keeps
# the operator's options and the database
echo "PROVOST_SERVE_OPTS=--threads 4" >>/etc/default/provost
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$T/dpkg.log" 2>&1
check "dpkg -i over the installed package" 0 $?
contains "an upgrade keeps the changed options file" /etc/default/provost "PROVOST_SERVE_OPTS=--threads 4"
runuser -u provost -- /usr/bin/provost --db /var/lib/provost/provost.db list >"$T/out" 2>&1
contains "an upgrade keeps the database" "$T/out" "Homes"

dpkg -r provost >"$T/dpkg.log" 2>&1
check "dpkg -r" 0 $?
# shellcheck disable=SC2086
gone $files /usr/lib/provost /usr/share/provost /usr/share/doc/provost
have /etc/default/provost /var/lib/provost/provost.db # kept until a purge
dpkg -P provost >"$T/dpkg.log" 2>&1
check "dpkg -P" 0 $?
installed=0
gone /etc/default/provost /var/lib/provost
dpkg-query -W -f='${Status}' provost >"$T/status" 2>&1
if grep -q "ok installed\|config-files" "$T/status"; then
    fail=$((fail + 1)); echo "FAIL: dpkg still knows provost: $(cat "$T/status")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
