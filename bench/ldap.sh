#!/bin/sh
# bench/ldap.sh -- what the engine costs over plain LDAP tools on the same work: N users
# (default 10,000), each an AddEntry plus an AddMember to one of 100 groups, run by
# `provost batch` (one transaction per user, journaled) with --jobs 1, 4 and 16, against
# one `ldapmodify -a` stream of the same entries and member additions.  Each run starts
# from the same directory: a private slapd (tests/ldap/slapd.sh, back-mdb) reloaded
# before every run.  Prints seconds, users per second and the ratio to ldapmodify.
# usage: bench/ldap.sh [BUILD_DIR [N]]   BUILD_DIR: a Release build (default build-bench)
# SYNC=group|always|none picks provost's journal durability (default group); the test
# slapd runs with dbnosync, so the directory's own writes are not synced in either case.
set -eu
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build-bench}
N=${2:-10000}
SYNC=${SYNC:-group}
P=$BUILD/tools/provost
[ -x "$P" ] && [ -f "$BUILD/lib/provost/libprovost-ldap.so" ] || {
    echo "bench/ldap.sh: build provost and provost-ldap in $BUILD first" >&2
    exit 2
}
PATH=$PATH:/usr/sbin
T=$(mktemp -d)
trap 'slapd_stop; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
. "$SRC/tests/ldap/slapd.sh"
export PROVOST_PROVIDER_PATH="$BUILD/lib/provost"
cd "$T"
slapd_setup
PEOPLE="ou=people,$SUFFIX"
auth() { "$@" -x -H "$URI" -D "$ROOTDN" -y "$T/admin.pw"; }

# 100 groups, each starting with one member (groupOfNames needs one)
g=0
while [ $g -lt 100 ]; do
    printf 'dn: cn=g%d,ou=groups,%s\nobjectClass: groupOfNames\ncn: g%d\nmember: uid=bob,%s\n\n' $g "$SUFFIX" $g "$PEOPLE"
    g=$((g + 1))
done >groups.ldif
# the same users, as CSV rows for provost and as LDIF for ldapmodify
awk -v n="$N" -v people="$PEOPLE" -v suffix="$SUFFIX" 'BEGIN {
    print "uid,cn,sn,group" > "users.csv"
    for (i = 1; i <= n; i++) {
        uid = sprintf("user%05d", i); grp = sprintf("cn=g%d,ou=groups,%s", i % 100, suffix)
        printf "%s,User %d,Number%d,\"%s\"\n", uid, i, i, grp > "users.csv"
        printf "dn: uid=%s,%s\nchangetype: add\nobjectClass: inetOrgPerson\nuid: %s\ncn: User %d\nsn: Number%d\n\n", uid, people, uid, i, i > "users.ldif"
        printf "dn: %s\nchangetype: modify\nadd: member\nmember: uid=%s,%s\n-\n\n", grp, uid, people > "users.ldif"
    } }'
perl -0pe 's#<providerContext .*?/>#<providerContext uri="'"$URI"'" bindDN="'"$ROOTDN"'" passwordFile="'"$T"'/admin.pw" baseDN="'"$SUFFIX"'" poolSize="16"/>#s' \
    "$SRC/providers/ldap/ldap.xml" >ldap.xml
X='xmlns:xsl="http://www.w3.org/1999/XSL/Transform"'
cat >users.xml <<XML
<namespace name="Users">
  <procedure name="Add" type="write" access="public">
    <execute namespace="LDAP" procedure="AddEntry">
      <executeData><parent>$PEOPLE</parent><attr name="objectClass">inetOrgPerson</attr></executeData>
      <before source="data" sourcePath="uid" destination="executeData"><xsl:template $X match="uid"><rdn name="uid"><xsl:value-of select="."/></rdn><attr name="uid"><xsl:value-of select="."/></attr></xsl:template></before>
      <before source="data" sourcePath="cn|sn" destination="executeData"><xsl:template $X match="*"><attr name="{local-name()}"><xsl:value-of select="."/></attr></xsl:template></before>
    </execute>
    <execute namespace="LDAP" procedure="AddMember">
      <before source="data" sourcePath="group" destination="executeData"/>
      <before source="data" sourcePath="uid" destination="executeData"><xsl:template $X match="uid"><member>uid=<xsl:value-of select="."/>,$PEOPLE</member></xsl:template></before>
    </execute>
  </procedure>
</namespace>
XML

fresh() {
    slapd_reset
    auth ldapadd -f groups.ldif >/dev/null
}
now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }

fresh
t0=$(now)
auth ldapmodify -a -f users.ldif >/dev/null
t1=$(now)
base=$(calc "$t1 - $t0")
[ "$(auth ldapsearch -LLL -b "$PEOPLE" '(uid=user*)' 1.1 | grep -c '^dn:')" -eq "$N" ]
printf '%-28s %9s %10s %8s\n' "run ($N users)" seconds users/s ratio
printf '%-28s %9.2f %10.0f %8s\n' "ldapmodify -a (1 stream)" "$base" "$(calc "$N / $base")" 1.00
for jobs in 1 4 16; do
    fresh
    rm -rf db out.jsonl
    "$P" --db db register ldap.xml users.xml >/dev/null
    t0=$(now)
    "$P" --db db batch -q --sync "$SYNC" --jobs $jobs --call Users Add --rows users.csv --out out.jsonl >/dev/null 2>batch.log
    t1=$(now)
    s=$(calc "$t1 - $t0")
    [ "$(auth ldapsearch -LLL -b "$PEOPLE" '(uid=user*)' 1.1 | grep -c '^dn:')" -eq "$N" ]
    printf '%-28s %9.2f %10.0f %8.2f\n' "provost batch --jobs $jobs" "$s" "$(calc "$N / $s")" "$(calc "$s / $base")"
done
