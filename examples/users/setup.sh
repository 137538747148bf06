#!/bin/sh
# Sets up the example for one machine: the application database DIR/users.sqlite (made from
# schema.sql), the home directories' root DIR/home, and the namespaces, with @DIR@ filled in,
# compiled and registered in $PROVOST_DB (or ./provost.db).  With PROVOST_DEMO_LDAP_URI set
# (and PROVOST_DEMO_LDAP_BIND_DN, PROVOST_DEMO_LDAP_BASE_DN, PROVOST_DEMO_LDAP_PASSWORD_FILE)
# also the directory: the bind password becomes the engine's credential "directory", and
# Directory and DirectoryUsers are registered.
# usage: examples/users/setup.sh PROVOST DIR
set -eu
P=$1
D=$2
here=$(dirname "$0")
mkdir -p "$D/home"
sqlite3 "$D/users.sqlite" <"$here/schema.sql"
fill() { # NS -> DIR/NS.pvb
    sed -e "s|@DIR@|$D|g" -e "s|@LDAP_URI@|${PROVOST_DEMO_LDAP_URI:-}|g" \
        -e "s|@LDAP_BIND_DN@|${PROVOST_DEMO_LDAP_BIND_DN:-}|g" \
        -e "s|@LDAP_BASE_DN@|${PROVOST_DEMO_LDAP_BASE_DN:-}|g" "$here/$1.xml" >"$D/$1.xml"
    "$P" compile "$D/$1.xml" -o "$D/$1.pvb"
}
set -- userdb homes users
if [ -n "${PROVOST_DEMO_LDAP_URI:-}" ]; then
    "$P" credential set directory --user "$PROVOST_DEMO_LDAP_BIND_DN" \
        --password-file "$PROVOST_DEMO_LDAP_PASSWORD_FILE" >/dev/null
    set -- "$@" directory directory-users
fi
for ns in "$@"; do
    fill "$ns"
    "$P" register "$D/$ns.pvb"
done
