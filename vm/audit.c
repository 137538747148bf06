/*
 * audit.c -- the records a transaction leaves in the audit trail (SPEC §9), and the level
 * that decides them.  A transaction gathers its audited calls while it runs; its records
 * are encoded just before its end is written and ride in that write (journal.c's END
 * batch), so the record of a transaction and its end are durable together or not at all.
 * A transaction that journaled nothing (read-only calls) has no end to ride on: its
 * records are written alone, without waiting for the disk.
 *
 * Secrets stay out: request data is kept only at level full, and never for a request that
 * is sensitive or could reach a sensitive step (its data may hold what that step seals),
 * nor for a call made sensitive; credentials and securityContext are never recorded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provost/audit.h"
#include "util/vec.h"
#include "util/xmlout.h"
#include "db.h"
#include "vm.h"

#define SETTING "setting/auditLevel"

static const char *const level_names[] = {NULL, "none", "failures", "enabled", "full"};

const char *provost_audit_level_name(int level)
{
    return level >= PROVOST_AUDIT_NONE && level <= PROVOST_AUDIT_FULL ? level_names[level] : NULL;
}

int provost_audit_level_parse(const char *name)
{
    for (int l = PROVOST_AUDIT_NONE; name && l <= PROVOST_AUDIT_FULL; l++)
        if (strcmp(name, level_names[l]) == 0)
            return l;
    return -1;
}

static int stored_level(provost_engine *e, char *err, size_t errlen)
{
    size_t n = 0;
    err[0] = 0;
    char *v = pvm_db_get(e->db, PVM_CF_CONFIG, SETTING, strlen(SETTING), &n, err, errlen);
    if (!v)
        return err[0] ? -1 : PROVOST_AUDIT_DEFAULT;
    char name[16] = "";
    if (n < sizeof name)
        memcpy(name, v, n);
    free(v);
    int l = provost_audit_level_parse(name);
    return l > 0 ? l : PROVOST_AUDIT_DEFAULT; /* a value this engine does not know: the default */
}

int pvm_audit_open(provost_engine *e, int forced, char *err, size_t errlen)
{
    if (forced && !provost_audit_level_name(forced)) {
        snprintf(err, errlen, "audit level %d is not one of none, failures, enabled, full", forced);
        return -1;
    }
    int stored = forced ? forced : stored_level(e, err, errlen);
    if (stored < 0)
        return -1;
    e->audit_forced = forced;
    atomic_store(&e->audit_level, stored ? stored : PROVOST_AUDIT_FAILURES);
    return 0;
}

int provost_audit_level(provost_engine *e, int *stored)
{
    if (stored) {
        char why[300];
        int s = stored_level(e, why, sizeof why);
        *stored = s < 0 ? PROVOST_AUDIT_DEFAULT : s;
    }
    return atomic_load(&e->audit_level);
}

int provost_audit_set_level(provost_engine *e, int level, provost_error *err)
{
    char why[600];
    const char *name = provost_audit_level_name(level);
    if (level != PROVOST_AUDIT_DEFAULT && !name)
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "audit level %d is not one of none, failures, enabled, full",
                            level);
    int rc = name ? pvm_db_put(e->db, PVM_CF_CONFIG, SETTING, strlen(SETTING), name, strlen(name), why, sizeof why)
                  : pvm_db_delete(e->db, PVM_CF_CONFIG, SETTING, strlen(SETTING), why, sizeof why);
    if (rc != 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "%s", why);
    if (!e->audit_forced)
        atomic_store(&e->audit_level, name ? level : PROVOST_AUDIT_FAILURES);
    return 0;
}

/* ---- gathering ------------------------------------------------------------------------ */

static uint64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char *dump(xmlNodePtr n)
{
    size_t len;
    return n ? pu_xml_string(n, 0, &len) : NULL;
}

/* Whether a call the procedures of ns make (and theirs, through links) is sensitive="1".
 * Namespaces already seen are skipped; past 64 of them the answer is yes. */
static bool reaches_sensitive(const pvm_ns *ns, const pvm_target *links, const pvm_ns **seen, size_t *nseen)
{
    for (size_t i = 0; i < *nseen; i++)
        if (seen[i] == ns)
            return false;
    if (*nseen == 64)
        return true;
    seen[(*nseen)++] = ns;
    const pvm_bundle *b = ns->bundle;
    for (size_t i = 0; i < b->ncalls; i++)
        if (b->calls_v[i].sensitive == 1)
            return true;
    for (size_t i = 0; links && i < b->ncalls; i++)
        if (links[i].ns && reaches_sensitive(links[i].ns, links[i].links, seen, nseen))
            return true;
    return false;
}

void pvm_audit_begin(pvm_req *r, const pvm_ns *ns, uint32_t proc, const pvm_target *links)
{
    pvm_audit_txn *a = &r->audit;
    a->level = atomic_load(&r->e->audit_level);
    if (a->level <= PROVOST_AUDIT_NONE)
        return;
    a->start = wall_ns();
    a->ns = ns->name;
    a->proc = pvm_bundle_str(ns->bundle, ns->bundle->procs_v[proc].name);
    a->audited = (ns->bundle->procs_v[proc].flags & PROVOST_PROC_AUDIT) != 0;
    if (a->level < PROVOST_AUDIT_FULL)
        return;
    if (!links && ns->name)
        for (size_t i = 0; i < r->cat->nns; i++)
            if (r->cat->ns[i] == ns)
                links = r->cat->links[i];
    const pvm_ns *seen[64];
    size_t nseen = 0;
    a->withhold = r->root_sensitive == 1 || reaches_sensitive(ns, links, seen, &nseen);
    if (!a->withhold)
        a->data = dump(r->data);
}

size_t pvm_audit_call(pvm_req *r, const pvm_ns *ns, uint32_t proc, xmlNodePtr exec, int sensitive)
{
    pvm_audit_txn *a = &r->audit;
    if (a->level < PROVOST_AUDIT_ENABLED || !(ns->bundle->procs_v[proc].flags & PROVOST_PROC_AUDIT))
        return 0;
    if (PU_GROW(a->calls, a->cap, a->ncalls + 1) != 0)
        return 0;
    pvm_acall *c = &a->calls[a->ncalls++];
    *c = (pvm_acall){.start = wall_ns(), .ns = ns->name,
                     .proc = pvm_bundle_str(ns->bundle, ns->bundle->procs_v[proc].name)};
    if (sensitive == 1)
        a->withhold = true;
    else if (a->level == PROVOST_AUDIT_FULL && !a->withhold)
        c->data = dump(exec);
    return a->ncalls;
}

void pvm_audit_called(pvm_req *r, size_t handle, int rc)
{
    if (!handle || handle > r->audit.ncalls)
        return;
    pvm_acall *c = &r->audit.calls[handle - 1];
    uint64_t now = wall_ns();
    c->duration = now > c->start ? now - c->start : 0;
    c->failed = rc != 0;
    c->code = rc != 0 ? (r->err.code ? r->err.code : PROVOST_E_FAIL) : 0;
}

/* ---- the records ---------------------------------------------------------------------- */

void pvm_audit_time_key(uint64_t t, char out[8])
{
    for (int i = 7; i >= 0; i--, t >>= 8)
        out[i] = (char)(t & 0xFF);
}

static size_t put_str(unsigned char *p, const char *s)
{
    uint32_t n = s ? (uint32_t)strlen(s) : 0;
    p[0] = (unsigned char)(n >> 24);
    p[1] = (unsigned char)(n >> 16);
    p[2] = (unsigned char)(n >> 8);
    p[3] = (unsigned char)n;
    if (n)
        memcpy(p + 4, s, n);
    return 4 + (size_t)n;
}

static size_t put_be(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)(v & 0xFF);
    return (size_t)bytes;
}

/* value: version 1, flags (1 failed, 2 data, 4 recovered), code, duration, then client,
 * principal, namespace, procedure and (flag 2) data, each a 4-byte length and its bytes */
int pvm_audit_encode(const provost_audit_record *r, pvm_db_op *kv)
{
    const char *s[5] = {r->client, r->principal, r->ns, r->proc, r->data};
    size_t len = PVM_AUDIT_KEYLEN + 14;
    for (int i = 0; i < 5; i++)
        len += 4 + (s[i] ? strlen(s[i]) : 0);
    unsigned char *p = malloc(len);
    if (!p)
        return -1;
    size_t k = put_be(p, r->time, 8);
    memset(p + k, 0, 38);
    memcpy(p + k, r->txid, strnlen(r->txid, 38));
    k += 38;
    k += put_be(p + k, r->seq, 2);
    unsigned char *v = p + k;
    v[0] = 1;
    v[1] = (unsigned char)((r->failed ? 1 : 0) | (r->data ? 2 : 0) | (r->recovered ? 4 : 0));
    size_t n = 2;
    n += put_be(v + n, r->code, 4);
    n += put_be(v + n, r->duration, 8);
    for (int i = 0; i < 5; i++)
        if (i < 4 || r->data)
            n += put_str(v + n, s[i]);
    *kv = (pvm_db_op){.cf = PVM_CF_AUDIT, .key = (const char *)p, .klen = PVM_AUDIT_KEYLEN,
                      .val = (const char *)v, .vlen = n};
    return 0;
}

static uint64_t get_be(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

int pvm_audit_decode(const char *key, size_t klen, const char *val, size_t vlen, provost_audit_record *r,
                     char **scratch, size_t *cap)
{
    const unsigned char *k = (const unsigned char *)key, *v = (const unsigned char *)val;
    if (klen != PVM_AUDIT_KEYLEN || vlen < 14 || v[0] != 1)
        return -1;
    if (PU_GROW(*scratch, *cap, vlen + 5) != 0)
        return -1;
    memset(r, 0, sizeof *r);
    r->time = get_be(k, 8);
    memcpy(r->txid, k + 8, 38);
    r->txid[38] = 0;
    r->seq = (uint16_t)get_be(k + 46, 2);
    r->failed = v[1] & 1;
    r->recovered = (v[1] & 4) != 0;
    r->code = (uint32_t)get_be(v + 2, 4);
    r->duration = get_be(v + 6, 8);
    const char **s[5] = {&r->client, &r->principal, &r->ns, &r->proc, &r->data};
    size_t at = 14, out = 0;
    for (int i = 0; i < ((v[1] & 2) ? 5 : 4); i++) {
        if (vlen - at < 4)
            return -1;
        size_t n = (size_t)get_be(v + at, 4);
        at += 4;
        if (vlen - at < n)
            return -1;
        memcpy(*scratch + out, v + at, n);
        (*scratch)[out + n] = 0;
        *s[i] = *scratch + out;
        out += n + 1;
        at += n;
    }
    return 0;
}

static void free_kv(pvm_audit_txn *a)
{
    for (size_t i = 0; i < a->nkv; i++)
        free((void *)a->kv[i].key);
    free(a->kv);
    a->kv = NULL;
    a->nkv = 0;
}

static void add(pvm_audit_txn *a, const provost_audit_record *rec)
{
    if (pvm_audit_encode(rec, &a->kv[a->nkv]) == 0)
        a->nkv++;
}

void pvm_audit_seal(pvm_req *r, bool ok)
{
    pvm_audit_txn *a = &r->audit;
    free_kv(a);
    r->jt.extra = NULL;
    r->jt.nextra = 0;
    bool top = a->level >= PROVOST_AUDIT_FAILURES && (!ok || (a->level >= PROVOST_AUDIT_ENABLED && a->audited));
    if (a->level < PROVOST_AUDIT_FAILURES || (!top && !a->ncalls))
        return;
    if (!a->recovered && !a->start)
        return; /* never begun */
    a->kv = calloc(a->ncalls + 1, sizeof *a->kv);
    if (!a->kv)
        return;
    uint32_t code = ok ? 0 : r->err.code ? r->err.code : PROVOST_E_FAIL;
    uint64_t now = wall_ns();
    provost_audit_record rec = {.time = a->start, .client = a->client ? a->client : r->jt.client,
                                .principal = a->recovered ? "" : pvm_req_principal(r), .ns = a->ns ? a->ns : "",
                                .proc = a->proc ? a->proc : "", .failed = !ok, .code = code,
                                .duration = now > a->start ? now - a->start : 0, .recovered = a->recovered,
                                .data = a->withhold ? NULL : a->data};
    memcpy(rec.txid, r->txid, sizeof rec.txid);
    if (top)
        add(a, &rec);
    for (size_t i = 0; i < a->ncalls && i < 0xFFFF; i++) {
        const pvm_acall *c = &a->calls[i];
        rec.seq = (uint16_t)(i + 1);
        rec.time = c->start;
        rec.ns = c->ns ? c->ns : "";
        rec.proc = c->proc ? c->proc : "";
        rec.failed = c->failed || !ok;
        rec.code = c->failed ? c->code : code;
        rec.duration = c->duration;
        rec.data = a->withhold ? NULL : c->data;
        add(a, &rec);
    }
    r->jt.extra = a->kv;
    r->jt.nextra = a->nkv;
}

void pvm_audit_sealed(pvm_req *r, int rc)
{
    pvm_audit_txn *a = &r->audit;
    if (rc == 0 && a->nkv && !r->jt.begun && !r->jt.outcome_key) {
        /* nothing journaled, so no end to ride on; lost only with the machine */
        char why[300];
        pvm_db_end(r->e->db, 0, NULL, 0, NULL, 0, 0, NULL, 0, NULL, 0, a->kv, a->nkv, 0, why, sizeof why);
    }
    free_kv(a);
    r->jt.extra = NULL;
    r->jt.nextra = 0;
}

void pvm_audit_recovered(pvm_req *r, pvm_catalog *cat, const pvm_jview *v, bool committed)
{
    pvm_audit_txn *a = &r->audit;
    a->level = atomic_load(&r->e->audit_level);
    a->recovered = true;
    a->start = v->began;
    a->client = v->client;
    /* the journal names the calls that wrote, not the request's procedure: the first of them */
    a->ns = v->ncalls ? v->calls[0].ns : NULL;
    a->proc = v->ncalls ? v->calls[0].proc : NULL;
    pvm_ns *ns = committed && cat && a->ns ? pvm_catalog_find(cat, a->ns, NULL) : NULL;
    uint32_t p = ns ? pvm_find_proc(ns, a->proc) : PROVOST_NONE;
    a->audited = p != PROVOST_NONE && (ns->bundle->procs_v[p].flags & PROVOST_PROC_AUDIT);
}

void pvm_audit_clear(pvm_audit_txn *a)
{
    free_kv(a);
    for (size_t i = 0; i < a->ncalls; i++)
        free(a->calls[i].data);
    free(a->calls);
    free(a->data);
    memset(a, 0, sizeof *a);
}
