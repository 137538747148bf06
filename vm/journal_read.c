/*
 * journal_read.c -- the journal as recovery, `txn list` and resolve read it: every
 * transaction's records decoded into a view (pvm_journal_scan), sealed values opened with
 * the transaction's key, and the one look the open makes for anything sealed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/vec.h"
#include "journal_int.h"

/* ---- decoding ------------------------------------------------------------------------ */

typedef struct rd {
    const unsigned char *p;
    size_t n;
    bool bad;
} rd;

static uint32_t get_u32(rd *r)
{
    if (r->bad || r->n < 4) {
        r->bad = true;
        return 0;
    }
    uint32_t v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
    r->p += 4;
    r->n -= 4;
    return v;
}

static uint8_t get_u8(rd *r)
{
    if (r->bad || r->n < 1) {
        r->bad = true;
        return 0;
    }
    r->n--;
    return *r->p++;
}

static const unsigned char *get_bytes(rd *r, size_t *n)
{
    *n = get_u32(r);
    if (r->bad || r->n < *n) {
        r->bad = true;
        *n = 0;
        return NULL;
    }
    const unsigned char *v = r->p;
    r->p += *n;
    r->n -= *n;
    return v;
}

static char *get_str(rd *r)
{
    size_t n;
    const unsigned char *v = get_bytes(r, &n);
    if (r->bad)
        return NULL;
    char *s = malloc(n + 1);
    if (!s) {
        r->bad = true;
        return NULL;
    }
    memcpy(s, v, n);
    s[n] = 0;
    return s;
}
/* ---- reading ------------------------------------------------------------------------ */

typedef struct scan {
    pvm_journal *j;
    pvm_jview *v;
    size_t n, cap;
    size_t need_key, counted; /* transactions needing the master key; views[counted - 1] counted last */
    char err[256];
} scan;

static pvm_jcall *call_of(pvm_jview *v, uint32_t seq)
{
    for (size_t i = 0; i < v->ncalls; i++)
        if (v->calls[i].seq == seq)
            return &v->calls[i];
    return NULL;
}

static char *open_secret(pvm_jview *v, rd *r, bool sealed)
{
    size_t n;
    const unsigned char *p = get_bytes(r, &n);
    if (r->bad)
        return NULL;
    unsigned char *out = NULL;
    size_t m;
    /* A value never sealed is written empty (an INTENT without journaled executeData);
     * anything sealed holds at least a nonce and a tag. */
    if (!sealed || n == 0) {
        out = malloc(n + 1);
        if (!out)
            return NULL;
        memcpy(out, p, n);
        out[n] = 0;
        return (char *)out;
    }
    if (!v->has_key || pvm_unseal(v->key, p, n, &out, &m) != 0) {
        if (!v->error)
            v->error = strdup("sealed data cannot be opened (is master.key the database's own?)");
        return NULL;
    }
    return (char *)out;
}

/* The transaction's key cannot be unwrapped: it waits for the database's own master key. */
static void needs_key(scan *s, pvm_jview *v)
{
    if (s->counted != s->n) {
        s->counted = s->n;
        s->need_key++;
    }
    if (v->error)
        return;
    char why[8600];
    if (!s->j->mk.ok)
        snprintf(why, sizeof why, "needs the master key: %s; restore it, then provost recover", s->j->mk.problem);
    else
        snprintf(why, sizeof why,
                 "needs the master key: %s does not open this transaction's key (not the key its data was sealed "
                 "under); restore that one, then provost recover",
                 s->j->mk.path);
    v->error = strdup(why);
}

static int record(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    scan *s = ud;
    if (klen != 42)
        return 0; /* not a journal record */
    uint32_t seq = (uint32_t)(unsigned char)key[38] << 24 | (uint32_t)(unsigned char)key[39] << 16 |
                   (uint32_t)(unsigned char)key[40] << 8 | (unsigned char)key[41];
    pvm_jview *v = s->n ? &s->v[s->n - 1] : NULL;
    if (!v || memcmp(v->txid, key, 38) != 0) {
        if (PU_GROW(s->v, s->cap, s->n + 1) != 0) {
            snprintf(s->err, sizeof s->err, "out of memory");
            return 1;
        }
        v = &s->v[s->n++];
        memset(v, 0, sizeof *v);
        memcpy(v->txid, key, 38);
        v->txid[38] = 0;
    }
    if (seq + 1 > v->next)
        v->next = seq + 1;
    rd r = {.p = (const unsigned char *)val, .n = vlen};
    int type = get_u8(&r);
    uint32_t ref = get_u32(&r);
    switch (type) {
    case PVM_J_BEGIN: {
        char *client = get_str(&r);
        uint64_t hi = get_u32(&r), lo = get_u32(&r);
        size_t wn;
        const unsigned char *wrapped = get_bytes(&r, &wn);
        char *okey = r.n && !r.bad ? get_str(&r) : NULL; /* the submission's key */
        if (!v->outcome_key && okey && *okey)
            v->outcome_key = okey;
        else
            free(okey);
        if (!v->client && client && *client)
            v->client = client;
        else
            free(client);
        if (!v->began)
            v->began = hi << 32 | lo;
        if (wn && !r.bad) {
            unsigned char *k = NULL;
            size_t kn;
            if (s->j->mk.ok && pvm_unseal(s->j->mk.key, wrapped, wn, &k, &kn) == 0 && kn == 32) {
                memcpy(v->key, k, 32);
                v->has_key = true;
            } else {
                needs_key(s, v);
            }
            if (k)
                OPENSSL_cleanse(k, 32);
            free(k);
        }
        break;
    }
    case PVM_J_INTENT: {
        pvm_jcall *nc = realloc(v->calls, (v->ncalls + 1) * sizeof *nc);
        if (!nc) {
            snprintf(s->err, sizeof s->err, "out of memory");
            return 1;
        }
        v->calls = nc;
        pvm_jcall *c = &v->calls[v->ncalls++];
        memset(c, 0, sizeof *c);
        c->seq = seq;
        c->exec_id = get_u32(&r);
        c->type = get_u8(&r);
        uint8_t flags = get_u8(&r);
        c->ns = get_str(&r);
        c->proc = get_str(&r);
        c->provider = get_str(&r);
        char *data = open_secret(v, &r, flags & 2);
        if (flags & 1)
            c->data = data;
        else
            free(data);
        break;
    }
    case PVM_J_DONE: {
        pvm_jcall *c = call_of(v, ref);
        bool sealed = get_u8(&r) != 0;
        uint32_t n = get_u32(&r);
        if (!c || r.bad)
            break;
        c->done = true;
        if (n > 100000)
            n = 0;
        c->kv = calloc((size_t)n * 2 + 1, sizeof *c->kv);
        for (uint32_t i = 0; c->kv && i < n && !r.bad; i++) {
            c->kv[c->nkv] = get_str(&r);
            c->kv[c->nkv + 1] = open_secret(v, &r, sealed);
            if (!c->kv[c->nkv] || !c->kv[c->nkv + 1]) {
                free(c->kv[c->nkv]);
                free(c->kv[c->nkv + 1]);
                break;
            }
            c->nkv += 2;
        }
        break;
    }
    case PVM_J_FAILED:
    case PVM_J_PREPARED:
    case PVM_J_COMMITTED:
    case PVM_J_ROLLEDBACK: {
        pvm_jcall *c = call_of(v, ref);
        if (c) {
            c->failed |= type == PVM_J_FAILED;
            c->prepared |= type == PVM_J_PREPARED;
            c->committed |= type == PVM_J_COMMITTED;
            c->rolled_back |= type == PVM_J_ROLLEDBACK;
        }
        break;
    }
    case PVM_J_COMMIT:
        v->commit_decided = true;
        break;
    case PVM_J_ROLLBACK:
        v->rollback_decided = true;
        break;
    case PVM_J_STUCK:
        free(v->stuck);
        v->stuck = get_str(&r);
        break;
    case PVM_J_QUEUED: {
        char *job = get_str(&r);
        char **q = job ? realloc(v->queued, (v->nqueued + 1) * sizeof *q) : NULL;
        if (!q) {
            free(job);
            break;
        }
        v->queued = q;
        v->queued[v->nqueued++] = job;
        break;
    }
    default:
        r.bad = true;
    }
    if (r.bad && !v->error)
        v->error = strdup("a journal record is corrupt");
    return 0;
}

int pvm_journal_scan(pvm_journal *j, pvm_jview **out, size_t *n, char *err, size_t errlen)
{
    scan s = {.j = j};
    int rc = j->external ? j->store.each(j->store.ctx, record, &s, err, errlen)
                         : pvm_db_each(j->db, PVM_CF_JOURNAL, record, &s, err, errlen);
    if (rc == 1) {
        snprintf(err, errlen, "%s", s.err);
        rc = -1;
    }
    if (rc != 0) {
        pvm_journal_views_free(s.v, s.n);
        return -1;
    }
    atomic_store(&j->need_key, s.need_key);
    *out = s.v;
    *n = s.n;
    return 0;
}

void pvm_journal_views_free(pvm_jview *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        for (size_t k = 0; k < v[i].ncalls; k++) {
            pvm_jcall *c = &v[i].calls[k];
            free(c->ns);
            free(c->proc);
            free(c->provider);
            free(c->data);
            for (size_t m = 0; m < c->nkv; m++)
                free(c->kv[m]);
            free(c->kv);
        }
        free(v[i].calls);
        for (size_t k = 0; k < v[i].nqueued; k++)
            free(v[i].queued[k]);
        free(v[i].queued);
        free(v[i].client);
        free(v[i].outcome_key);
        free(v[i].stuck);
        free(v[i].error);
    }
    free(v);
}

void pvm_journal_resume(const pvm_jview *v, pvm_jtxn *t)
{
    memset(t, 0, sizeof *t);
    memcpy(t->txid, v->txid, sizeof t->txid);
    t->next = v->next;
    t->begun = true;
    t->sensitive_key = v->has_key;
    t->outcome_key = v->outcome_key;
    if (v->has_key)
        memcpy(t->key, v->key, 32);
}
/* ---- open --------------------------------------------------------------------------- */

int pvm_jr_is_sealed(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
{
    rd r = {.p = (const unsigned char *)val, .n = vlen};
    if (klen != 42 || get_u8(&r) != PVM_J_BEGIN)
        return 0;
    get_u32(&r);
    free(get_str(&r));
    get_u32(&r);
    get_u32(&r);
    size_t wn;
    get_bytes(&r, &wn);
    *(bool *)ud = !r.bad && wn > 0;
    return *(bool *)ud;
}
