# slapd.sh -- sourced by the ldap provider's tests: a private OpenLDAP slapd (back-mdb,
# suffix dc=example,dc=org) in the test's temporary directory $T, listening only on
# 127.0.0.1:$PORT, with its rootdn's password in $T/admin.pw (mode 0600) and only its
# {SSHA} hash in slapd.conf.  The caller sets a trap that runs slapd_stop.
#   slapd_setup      write slapd.conf, base.ldif, the password file; pick a port; start
#   slapd_reset      stop, load base.ldif into an empty database, start again
#   slapd_stop       stop the server (SIGCONT first, in case a test stopped it)
#   dump FILE        the subtree, user attributes only, one entry per line, sorted
SUFFIX="dc=example,dc=org"
ROOTDN="cn=admin,$SUFFIX"
ADMINPW="Adm1n-pw-9f3a7c"

slapd_setup() {
    mkdir -p "$T/slapd-db"
    (umask 077 && printf '%s' "$ADMINPW" >"$T/admin.pw")
    hash=$(slappasswd -s "$ADMINPW") || return 1
    cat >"$T/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile $T/slapd.pid
argsfile $T/slapd.args
database mdb
maxsize 268435456
suffix "$SUFFIX"
rootdn "$ROOTDN"
rootpw $hash
directory $T/slapd-db
dbnosync
index objectClass eq
index uid,member eq
CONF
    cat >"$T/base.ldif" <<LDIF
dn: $SUFFIX
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,$SUFFIX
objectClass: organizationalUnit
ou: people

dn: ou=groups,$SUFFIX
objectClass: organizationalUnit
ou: groups

dn: uid=bob,ou=people,$SUFFIX
objectClass: inetOrgPerson
uid: bob
cn: Bob Builder
sn: Builder
mail: bob@example.org
telephoneNumber: +1 555 0100
userPassword: {SSHA}oldhasholdhasholdhasholdhash

dn: uid=carol,ou=people,$SUFFIX
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: Jones

dn: uid=erin,ou=people,$SUFFIX
objectClass: inetOrgPerson
uid: erin
cn: Erin
sn: Lee
description: to be deleted

dn: cn=staff,ou=groups,$SUFFIX
objectClass: groupOfNames
cn: staff
member: uid=bob,ou=people,$SUFFIX
LDIF
    i=0
    while [ $i -lt 20 ]; do
        PORT=$((20000 + ($$ * 7 + i * 131) % 40000))
        URI="ldap://127.0.0.1:$PORT"
        slapd_reset && return 0
        i=$((i + 1))
    done
    echo "FAIL: slapd did not start" >&2
    return 1
}

slapd_start() {
    # a port another server holds makes slapd exit at once with an error
    slapd -h "$URI/" -f "$T/slapd.conf" -n provost-test 2>>"$T/slapd.log" || return 1
    n=0
    while [ $n -lt 100 ]; do
        [ -s "$T/slapd.pid" ] && ldapsearch -x -H "$URI" -b "" -s base -LLL 1.1 >/dev/null 2>&1 && return 0
        sleep 0.1
        n=$((n + 1))
    done
    return 1
}

slapd_stop() {
    if [ -f "$T/slapd.pid" ]; then
        pid=$(cat "$T/slapd.pid")
        kill -CONT "$pid" 2>/dev/null || :
        kill "$pid" 2>/dev/null || :
        n=0
        while kill -0 "$pid" 2>/dev/null && [ $n -lt 200 ]; do
            sleep 0.05
            n=$((n + 1))
        done
        kill -9 "$pid" 2>/dev/null || :
        rm -f "$T/slapd.pid"
    fi
}

slapd_reset() {
    slapd_stop
    rm -rf "$T/slapd-db" && mkdir -p "$T/slapd-db" || return 1
    slapadd -q -f "$T/slapd.conf" -l "$T/base.ldif" 2>>"$T/slapd.log" || return 1
    slapd_start
}

dump() {
    ldapsearch -x -LLL -o ldif-wrap=no -H "$URI" -D "$ROOTDN" -y "$T/admin.pw" -b "$SUFFIX" '(objectClass=*)' '*' 2>&1 |
        awk 'BEGIN { RS = ""; FS = "\n" } { n = split($0, l, "\n"); s = l[1]; delete l[1];
             m = 0; for (i = 2; i <= n; i++) a[++m] = l[i];
             # attribute lines sorted within the entry, so value order does not matter
             for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
             for (i = 1; i <= m; i++) s = s " | " a[i]; print s; delete a }' |
        grep -v '^dn: ou=provost-quarantine,' | sort >"$1"
}
