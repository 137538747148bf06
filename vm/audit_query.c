/*
 * audit_query.c -- reading the audit trail: queries by time range (the keys begin with the
 * record's time, so a range is one seek and a read of the range alone), purges by age,
 * records written directly, and the times an operator types.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "provost/audit.h"
#include "util/str.h"
#include "db.h"
#include "vm.h"

typedef struct query {
    const provost_audit_filter *f;
    provost_audit_fn fn;
    void *ud;
    provost_audit_stats st;
    char *scratch;
    size_t cap;
} query;

static bool same(const char *want, const char *have)
{
    return !want || pu_strieq(want, have);
}

static int one(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    query *q = ud;
    q->st.keys_read++;
    provost_audit_record r;
    if (pvm_audit_decode(key, klen, val, vlen, &r, &q->scratch, &q->cap) != 0)
        return 0; /* not a record this engine can read */
    const provost_audit_filter *f = q->f;
    if (!same(f->ns, r.ns) || !same(f->proc, r.proc) || (f->outcome >= 0 && r.failed != f->outcome) ||
        (f->principal && strcmp(f->principal, r.principal) != 0))
        return 0;
    q->st.matched++;
    return q->fn(q->ud, &r);
}

int provost_audit_query(provost_engine *e, const provost_audit_filter *f, provost_audit_fn fn, void *ud,
                        provost_audit_stats *stats, provost_error *err)
{
    provost_audit_filter any = {.outcome = -1};
    query q = {.f = f ? f : &any, .fn = fn, .ud = ud};
    char from[8], to[8], why[600];
    pvm_audit_time_key(q.f->since, from);
    pvm_audit_time_key(q.f->until, to);
    int rc = pvm_db_range(e->db, PVM_CF_AUDIT, q.f->since ? from : NULL, sizeof from, q.f->until ? to : NULL,
                          sizeof to, one, &q, why, sizeof why);
    free(q.scratch);
    if (stats)
        *stats = q.st;
    if (rc < 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    return rc;
}

static int count(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    (void)key, (void)klen, (void)val, (void)vlen;
    ++*(uint64_t *)ud;
    return 0;
}

int provost_audit_purge(provost_engine *e, uint64_t before, uint64_t *removed, provost_error *err)
{
    char from[8] = {0}, to[8], why[600];
    uint64_t n = 0;
    pvm_audit_time_key(before, to);
    if (pvm_db_range(e->db, PVM_CF_AUDIT, NULL, 0, to, sizeof to, count, &n, why, sizeof why) < 0 ||
        (n && pvm_db_delete_range(e->db, PVM_CF_AUDIT, from, sizeof from, to, sizeof to, why, sizeof why) != 0))
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    if (removed)
        *removed = n;
    return 0;
}

int provost_audit_append(provost_engine *e, const provost_audit_record *v, size_t n, int sync, provost_error *err)
{
    pvm_db_op *kv = calloc(n ? n : 1, sizeof *kv);
    size_t k = 0;
    while (kv && k < n && pvm_audit_encode(&v[k], &kv[k]) == 0)
        k++;
    char why[600] = "out of memory";
    int rc = kv && k == n ? pvm_db_end(e->db, 0, NULL, 0, NULL, 0, 0, NULL, 0, NULL, 0, kv, n, sync, why, sizeof why)
                          : -1;
    for (size_t i = 0; i < k; i++)
        free((void *)kv[i].key);
    free(kv);
    return rc == 0 ? 0 : pvm_api_fail(err, kv ? PROVOST_E_JOURNAL : PROVOST_E_OUTOFMEMORY, "%s", why);
}

/* ---- times ---------------------------------------------------------------------------- */

static int bad_time(const char *s, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "'%s' is not a time: give RFC 3339 (2026-12-05T08:00:00Z), a date (2026-12-05), now, or -N with a "
             "unit s, m, h, d or w (-1h)",
             s);
    return -1;
}

static int relative(const char *s, uint64_t now, uint64_t *out, char *err, size_t errlen)
{
    char *end;
    unsigned long long n = strtoull(s + 1, &end, 10);
    static const struct {
        char unit;
        uint64_t ns;
    } units[] = {{'s', 1000000000ull}, {'m', 60000000000ull}, {'h', 3600000000000ull},
                 {'d', 86400000000000ull}, {'w', 604800000000000ull}};
    if (end == s + 1 || !end[0] || end[1] || s[1] == '-' || s[1] == '+')
        return bad_time(s, err, errlen);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (*end == units[i].unit) {
            if (n > now / units[i].ns) {
                snprintf(err, errlen, "'%s' reaches back before 1970", s);
                return -1;
            }
            *out = now - n * units[i].ns;
            return 0;
        }
    return bad_time(s, err, errlen);
}

static bool digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int provost_audit_time(const char *s, uint64_t now, uint64_t *out, char *err, size_t errlen)
{
    if (!s || !*s)
        return bad_time(s ? s : "", err, errlen);
    if (strcmp(s, "now") == 0) {
        *out = now;
        return 0;
    }
    if (s[0] == '-')
        return relative(s, now, out, err, errlen);
    /* YYYY-MM-DD, then optionally [Tt ]HH:MM:SS[.frac](Z|z|+HH:MM|-HH:MM) */
    if (strlen(s) < 10 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
        return bad_time(s, err, errlen);
    struct tm tm = {.tm_year = num(s, 4) - 1900, .tm_mon = num(s + 5, 2) - 1, .tm_mday = num(s + 8, 2)};
    const char *p = s + 10;
    uint64_t frac = 0;
    long offset = 0;
    if (*p) {
        if ((*p != 'T' && *p != 't' && *p != ' ') || strlen(p) < 9 || !digits(p + 1, 2) || p[3] != ':' ||
            !digits(p + 4, 2) || p[6] != ':' || !digits(p + 7, 2))
            return bad_time(s, err, errlen);
        tm.tm_hour = num(p + 1, 2);
        tm.tm_min = num(p + 4, 2);
        tm.tm_sec = num(p + 7, 2);
        p += 9;
        if (*p == '.') {
            uint64_t scale = 100000000;
            if (!digits(++p, 1))
                return bad_time(s, err, errlen);
            for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
                frac += (uint64_t)(*p - '0') * scale;
        }
        if ((*p == 'Z' || *p == 'z') && !p[1]) {
            offset = 0;
        } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && digits(p + 1, 2) && p[3] == ':' &&
                   digits(p + 4, 2) && num(p + 1, 2) < 24 && num(p + 4, 2) < 60) {
            offset = (*p == '-' ? -1 : 1) * (num(p + 1, 2) * 3600L + num(p + 4, 2) * 60L);
        } else {
            return bad_time(s, err, errlen);
        }
    }
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return bad_time(s, err, errlen);
    int mday = tm.tm_mday, mon = tm.tm_mon;
    time_t t = timegm(&tm);
    if (tm.tm_mday != mday || tm.tm_mon != mon) { /* 2026-02-30 normalised into March */
        snprintf(err, errlen, "'%s' is not a date: the month has no such day", s);
        return -1;
    }
    if (t == (time_t)-1 || t - offset < 0) {
        snprintf(err, errlen, "'%s' is before 1970", s);
        return -1;
    }
    *out = (uint64_t)(t - offset) * 1000000000u + frac;
    return 0;
}
