/*
 * journal.c -- the write-ahead journal.  Records are small, keyed by transaction id and
 * sequence number.  Every record reaches the WAL (the OS's page cache) when it is written,
 * which a process crash cannot lose; only the records something later depends on are
 * synced, and a sync carries every record written before it (docs/transactions.md):
 * INTENT before its provider call, COMMIT before the first commit, ROLLBACK and STUCK
 * before what they license, QUEUED (its job is durable already), and the END before the
 * response.  BEGIN, DONE, FAILED, PREPARED, COMMITTED and ROLLED-BACK ride on the next
 * sync.  The engine's sync mode says how a sync is made:
 *
 *   always  each on its own (writers take turns);
 *   group   concurrent transactions share each fsync: the record is written unsynced and
 *           one waiter syncs the log for everyone who appended before it started (gsync.c;
 *           PROVOST_GROUP_COMMIT=rocksdb uses RocksDB's own write groups of synced writes
 *           instead, for comparison: bench/README.md);
 *   none    never (safe against a process crash, not against power loss).
 *
 * Journaled executeData and rollback values of a sensitive call are sealed (vm/seal.c)
 * under a per-transaction key; that key is stored in BEGIN sealed under the database's
 * master key (a 0600 file beside the database).  The master key is made only while the
 * journal holds nothing sealed: a lost or changed key leaves the transactions that need it
 * in the journal, listed, until the key is restored; nothing new is sealed meanwhile.
 *
 * Test hooks, read once: PROVOST_CRASH_POINT=N kills the process with SIGKILL at the Nth
 * journal point (points 2k-1 and 2k are just before and just after the kth write);
 * PROVOST_JOURNAL_FAIL=N makes the Nth write fail as a full disk would;
 * PROVOST_JOURNAL_FULL=N makes every write from the Nth on fail (a disk that stays full);
 * PROVOST_JOURNAL_SYNC_FAIL=N lets the Nth write reach the log unsynced and then fail as a
 * failed fsync would (the record is there, the caller is told it may not be).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util/vec.h"
#include "db.h"
#include "journal.h"
#include "seal.h"
#include "credential.h"
#include "gsync.h"
#include "counters.h"

struct pvm_journal {
    pvm_db *db;
    int sync;
    pthread_mutex_t serial; /* sync=always: one write at a time */
    pvm_masterkey mk;
    atomic_size_t need_key;   /* transactions the last scan found sealed under another key */
    char warning[8600];
    atomic_ulong writes;    /* for the test hooks */
    atomic_ulong synced;    /* writes synced on their own (always, or RocksDB's groups) */
    bool rocksdb_groups;    /* group: synced writes grouped by RocksDB, not gsync */
    pvm_gsync gs;           /* group: shared syncs */
    unsigned long crash_point, fail_at, full_from, sync_fail_at;
    struct pvm_counters *pub; /* where the syncs and writes are published, or NULL */
    atomic_bool pub_taken;    /* their slots are taken (at the first write: taking them makes
                               * the counters file, which an engine that writes nothing
                               * leaves as the last one that did) */
    atomic_int pub_syncs, pub_writes;
};

/* ---- encoding ------------------------------------------------------------------------ */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
    bool oom;
} buf;

static void put(buf *b, const void *v, size_t n)
{
    if (b->oom)
        return;
    if (PU_GROW(b->p, b->cap, b->n + n) != 0) {
        b->oom = true;
        return;
    }
    memcpy(b->p + b->n, v, n);
    b->n += n;
}

static void put_u8(buf *b, uint8_t v) { put(b, &v, 1); }

static void put_u32(buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
    put(b, x, 4);
}

static void put_u64(buf *b, uint64_t v)
{
    put_u32(b, (uint32_t)(v >> 32));
    put_u32(b, (uint32_t)v);
}

static void put_bytes(buf *b, const void *v, size_t n)
{
    put_u32(b, (uint32_t)n);
    put(b, v, n);
}

static void put_str(buf *b, const char *s)
{
    put_bytes(b, s ? s : "", s ? strlen(s) : 0);
}

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

/* ---- writing ------------------------------------------------------------------------- */

static void key_of(const char *txid, uint32_t seq, char out[42])
{
    memcpy(out, txid, 38);
    out[38] = (char)(seq >> 24);
    out[39] = (char)(seq >> 16);
    out[40] = (char)(seq >> 8);
    out[41] = (char)seq;
}

static void hook(pvm_journal *j, unsigned long point)
{
    if (j->crash_point && point == j->crash_point)
        kill(getpid(), SIGKILL);
}

/* One journal write: a record (key, value) appended, or a transaction's end (its key
 * range deleted, an outcome put).  Every write goes through guarded(). */
typedef struct jwrite {
    const char *key, *val;       /* record */
    size_t klen, vlen;
    const char *from, *to;       /* end: the range, or NULL */
    const char *okey, *oval;     /* end or record: the outcome, or NULL */
    const pvm_db_op *extra;      /* end: more puts (audit records) */
    size_t nextra;
    bool sync;
} jwrite;

static int sync_log(void *ctx, char *err, size_t errlen)
{
    return pvm_db_sync_wal(ctx, err, errlen);
}

/* The journal's totals into the engine-wide counters: two relaxed stores a write. */
static void publish(pvm_journal *j)
{
    if (!j->pub)
        return;
    if (!atomic_load_explicit(&j->pub_taken, memory_order_acquire)) {
        /* finding a slot by name is idempotent, so threads racing here agree */
        atomic_store(&j->pub_syncs, pvm_counters_engine_slot(j->pub, "provost_journal_syncs_total", PVM_ENGINE_COUNTER));
        atomic_store(&j->pub_writes,
                     pvm_counters_engine_slot(j->pub, "provost_journal_writes_total", PVM_ENGINE_COUNTER));
        atomic_store_explicit(&j->pub_taken, true, memory_order_release);
    }
    pvm_counters_engine_set(j->pub, atomic_load_explicit(&j->pub_syncs, memory_order_relaxed), pvm_journal_syncs(j));
    pvm_counters_engine_set(j->pub, atomic_load_explicit(&j->pub_writes, memory_order_relaxed), pvm_journal_writes(j));
}

/* The test hooks around the write (the point after it is after its sync, or where a
 * record that needs none, or a mode that makes none, skips it), the injected fault, and
 * how a record that must be durable is synced. */
static int guarded(pvm_journal *j, const jwrite *w, char *err, size_t errlen)
{
    unsigned long k = atomic_fetch_add(&j->writes, 1) + 1;
    hook(j, 2 * k - 1);
    int rc;
    if ((j->fail_at && k == j->fail_at) || (j->full_from && k >= j->full_from)) {
        snprintf(err, errlen, "journal write failed: no space left on device (injected)");
        rc = -1;
    } else {
        bool sync_fails = j->sync_fail_at && k == j->sync_fail_at && w->sync;
        bool durable = w->sync && j->sync != PROVOST_SYNC_NONE && !sync_fails;
        bool serial = durable && j->sync == PROVOST_SYNC_ALWAYS;
        bool shared = durable && j->sync == PROVOST_SYNC_GROUP && !j->rocksdb_groups;
        int sync = durable && !shared; /* synced by the write itself */
        if (serial)
            pthread_mutex_lock(&j->serial);
        if (w->key && w->okey)
            rc = pvm_db_append_with(j->db, PVM_CF_JOURNAL, w->key, w->klen, w->val, w->vlen, PVM_CF_OUTCOMES, w->okey,
                                    strlen(w->okey), w->oval, strlen(w->oval), sync, err, errlen);
        else if (w->key)
            rc = pvm_db_append(j->db, PVM_CF_JOURNAL, w->key, w->klen, w->val, w->vlen, sync, err, errlen);
        else
            rc = pvm_db_end(j->db, PVM_CF_JOURNAL, w->from, 42, w->to, 42, PVM_CF_OUTCOMES, w->okey,
                            w->okey ? strlen(w->okey) : 0, w->oval, w->oval ? strlen(w->oval) : 0, w->extra, w->nextra,
                            sync, err, errlen);
        if (serial)
            pthread_mutex_unlock(&j->serial);
        if (rc == 0 && sync)
            atomic_fetch_add(&j->synced, 1);
        if (rc == 0 && shared)
            rc = pvm_gsync_wait(&j->gs, pvm_gsync_appended(&j->gs), err, errlen);
        if (rc == 0 && sync_fails) {
            snprintf(err, errlen, "journal sync failed: input/output error (injected)");
            rc = -1;
        }
    }
    publish(j);
    hook(j, 2 * k);
    return rc;
}

/* A record of transaction t; a failure marks t broken. */
static int append_with(pvm_journal *j, pvm_jtxn *t, uint32_t seq, buf *b, bool sync, const char *okey,
                       const char *oval, char *err, size_t errlen)
{
    const char *txid = t->txid;
    if (b->oom) {
        snprintf(err, errlen, "out of memory");
        free(b->p);
        t->broken = true;
        return -1;
    }
    char key[42];
    key_of(txid, seq, key);
    jwrite w = {.key = key, .klen = sizeof key, .val = (const char *)b->p, .vlen = b->n, .sync = sync,
                .okey = okey && oval ? okey : NULL, .oval = oval};
    int rc = guarded(j, &w, err, errlen);
    free(b->p);
    if (rc != 0)
        t->broken = true;
    return rc;
}

static int append(pvm_journal *j, pvm_jtxn *t, uint32_t seq, buf *b, bool sync, char *err, size_t errlen)
{
    return append_with(j, t, seq, b, sync, NULL, NULL, err, errlen);
}

/* Whether sensitive data may be sealed: under a key that opens what the journal already
 * holds sealed, never under a second one. */
static bool sealing_allowed(pvm_journal *j, char *err, size_t errlen)
{
    if (!j->mk.ok) {
        snprintf(err, errlen, "sensitive data cannot be sealed: %s", j->mk.problem);
        return false;
    }
    size_t n = atomic_load(&j->need_key);
    if (n) {
        snprintf(err, errlen,
                 "sensitive data is not sealed under %s: it does not open the %zu transaction%s in the journal "
                 "sealed under another key (restore that key, then provost recover)",
                 j->mk.path, n, n == 1 ? "" : "s");
        return false;
    }
    return true;
}

static int begin(pvm_journal *j, pvm_jtxn *t, bool sensitive, char *err, size_t errlen)
{
    if (t->begun && (!sensitive || t->sensitive_key))
        return 0;
    buf b = {0};
    put_u8(&b, PVM_J_BEGIN);
    put_u32(&b, 0);
    put_str(&b, t->client);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    put_u64(&b, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    if (sensitive) {
        if (!sealing_allowed(j, err, errlen)) {
            free(b.p);
            return -1;
        }
        unsigned char *wrapped;
        size_t wn;
        if (getrandom(t->key, sizeof t->key, 0) != (ssize_t)sizeof t->key ||
            pvm_seal(j->mk.key, t->key, sizeof t->key, &wrapped, &wn) != 0) {
            snprintf(err, errlen, "cannot make a transaction key");
            free(b.p);
            return -1;
        }
        put_bytes(&b, wrapped, wn);
        free(wrapped);
    } else {
        put_bytes(&b, "", 0);
    }
    /* recovery records the submission's outcome when it ends the transaction */
    put_str(&b, t->outcome_key);
    /* a later BEGIN (the first sensitive call of a transaction) carries the key; either
     * rides on the sync of the INTENT (or QUEUED) that follows it */
    if (append(j, t, t->next++, &b, false, err, errlen) != 0)
        return -1;
    t->begun = true;
    t->sensitive_key = sensitive || t->sensitive_key;
    return 0;
}

static void put_secret(buf *b, const pvm_jtxn *t, bool sealed, const char *v)
{
    if (!sealed || !v) {
        put_str(b, v);
        return;
    }
    unsigned char *s;
    size_t n;
    if (pvm_seal(t->key, (const unsigned char *)v, strlen(v), &s, &n) != 0) {
        b->oom = true;
        return;
    }
    put_bytes(b, s, n);
    free(s);
}

int pvm_journal_intent(pvm_journal *j, pvm_jtxn *t, bool sensitive, uint32_t exec_id, int type, const char *ns,
                       const char *proc, const char *provider, const char *data, uint32_t *seq, char *err,
                       size_t errlen)
{
    if (begin(j, t, sensitive, err, errlen) != 0)
        return -1;
    buf b = {0};
    put_u8(&b, PVM_J_INTENT);
    put_u32(&b, 0);
    put_u32(&b, exec_id);
    put_u8(&b, (uint8_t)type);
    put_u8(&b, (uint8_t)((data ? 1 : 0) | (sensitive ? 2 : 0)));
    put_str(&b, ns);
    put_str(&b, proc);
    put_str(&b, provider);
    put_secret(&b, t, sensitive, data);
    *seq = t->next;
    /* durable before the call: with it, BEGIN and every record before it */
    return append(j, t, t->next++, &b, true, err, errlen);
}

int pvm_journal_done(pvm_journal *j, pvm_jtxn *t, uint32_t intent, char *const *kv, size_t nkv, char *err,
                     size_t errlen)
{
    buf b = {0};
    put_u8(&b, PVM_J_DONE);
    put_u32(&b, intent);
    put_u8(&b, t->sensitive_key ? 1 : 0);
    put_u32(&b, (uint32_t)(nkv / 2));
    for (size_t i = 0; i + 1 < nkv; i += 2) {
        put_str(&b, kv[i]);
        put_secret(&b, t, t->sensitive_key, kv[i + 1]);
    }
    /* rides on the next INTENT or the END: lost only with a power loss before them, when
     * the call is in doubt and rolled back from its saved executeData */
    return append(j, t, t->next++, &b, false, err, errlen);
}

int pvm_journal_mark(pvm_journal *j, pvm_jtxn *t, int type, uint32_t intent, char *err, size_t errlen)
{
    buf b = {0};
    put_u8(&b, (uint8_t)type);
    put_u32(&b, intent);
    /* Only decisions need durability of their own: COMMIT before any commit is made,
     * ROLLBACK before the first rollback it licenses.  The rest rides on the next sync:
     * losing a FAILED (to a power loss) means an extra rollback of something absent, a
     * PREPARED nothing (recovery rolls back what was not decided), a COMMITTED or
     * ROLLED-BACK that commit or rollback made again, as after a crash right after it. */
    return append(j, t, t->next++, &b, type == PVM_J_COMMIT || type == PVM_J_ROLLBACK, err, errlen);
}

int pvm_journal_queued(pvm_journal *j, pvm_jtxn *t, const char *job, char *err, size_t errlen)
{
    if (begin(j, t, false, err, errlen) != 0)
        return -1;
    buf b = {0};
    put_u8(&b, PVM_J_QUEUED);
    put_u32(&b, 0);
    put_str(&b, job);
    /* the job is durable already (a synced write): so is the record that settles it */
    return append(j, t, t->next++, &b, true, err, errlen);
}

int pvm_journal_stuck(pvm_journal *j, pvm_jtxn *t, const char *reason, const char *outcome, char *err,
                      size_t errlen)
{
    buf b = {0};
    put_u8(&b, PVM_J_STUCK);
    put_u32(&b, 0);
    put_str(&b, reason);
    return append_with(j, t, t->next++, &b, true, t->outcome_key, outcome, err, errlen);
}

static int end_write(pvm_journal *j, const char *txid, const char *okey, const char *oval, const pvm_jtxn *t,
                     char *err, size_t errlen)
{
    char from[42], to[42];
    if (txid) {
        key_of(txid, 0, from);
        key_of(txid, 0xFFFFFFFFu, to); /* sequence numbers never reach it */
    }
    jwrite w = {.from = txid ? from : NULL, .to = to, .okey = okey, .oval = oval, .extra = t->extra,
                .nextra = t->nextra, .sync = true};
    return guarded(j, &w, err, errlen);
}

int pvm_journal_end(pvm_journal *j, pvm_jtxn *t, const char *outcome, char *err, size_t errlen)
{
    if (!t->begun && !t->outcome_key)
        return 0; /* nothing was written: a read-only transaction */
    int rc = end_write(j, t->begun ? t->txid : NULL, t->outcome_key, t->outcome_key ? outcome : NULL, t, err, errlen);
    if (rc != 0)
        t->broken = true;
    return rc;
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
    int rc = pvm_db_each(j->db, PVM_CF_JOURNAL, record, &s, err, errlen);
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

/* ---- open ----------------------------------------------------------------------------- */

/* pvm_db_each: stops (1) at the first BEGIN that carries a sealed transaction key. */
static int is_sealed(void *ud, const char *key, size_t klen, const char *val, size_t vlen)
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

pvm_journal *pvm_journal_open(pvm_db *db, int sync, char *err, size_t errlen)
{
    pvm_journal *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    j->db = db;
    j->sync = sync;
    pthread_mutex_init(&j->serial, NULL);
    pvm_gsync_init(&j->gs, sync_log, db);
    const char *gc = getenv("PROVOST_GROUP_COMMIT");
    j->rocksdb_groups = gc && strcmp(gc, "rocksdb") == 0;
    const char *cp = getenv("PROVOST_CRASH_POINT"), *fa = getenv("PROVOST_JOURNAL_FAIL");
    j->crash_point = cp ? strtoul(cp, NULL, 10) : 0;
    j->fail_at = fa ? strtoul(fa, NULL, 10) : 0;
    const char *ff = getenv("PROVOST_JOURNAL_FULL"), *sf = getenv("PROVOST_JOURNAL_SYNC_FAIL");
    j->full_from = ff ? strtoul(ff, NULL, 10) : 0;
    j->sync_fail_at = sf ? strtoul(sf, NULL, 10) : 0;
    snprintf(j->mk.path, sizeof j->mk.path, "%s/master.key", pvm_db_path(db));
    bool missing, sealed = false;
    if (pvm_masterkey_read(&j->mk, &missing) != 0 && missing) {
        /* made with the database, or again when nothing sealed under a lost one remains:
         * no sealed transaction, no credential */
        int rc = pvm_db_each(db, PVM_CF_JOURNAL, is_sealed, &sealed, err, errlen);
        if (rc == 0 && (pvm_credential_any(db, &sealed, err, errlen) != 0 || sealed))
            rc = sealed ? 1 : -1;
        if (rc < 0 || (rc == 0 && pvm_masterkey_create(&j->mk, err, errlen) != 0)) {
            pvm_journal_close(j);
            return NULL;
        }
    }
    return j;
}

const char *pvm_journal_warning(pvm_journal *j)
{
    size_t n = atomic_load(&j->need_key), k = 0;
    j->warning[0] = 0;
    if (n && j->mk.ok)
        k += (size_t)snprintf(j->warning, sizeof j->warning,
                              "%zu transaction%s in the journal need%s another master key: %s does not open the "
                              "data sealed under it; restore the database's own key, then provost recover (provost "
                              "txn list shows %s)",
                              n, n == 1 ? "" : "s", n == 1 ? "s" : "", j->mk.path, n == 1 ? "it" : "them");
    else if (n)
        k += (size_t)snprintf(j->warning, sizeof j->warning,
                              "%zu transaction%s in the journal need%s the master key: %s; restore it, then provost "
                              "recover (provost txn list shows %s)",
                              n, n == 1 ? "" : "s", n == 1 ? "s" : "", j->mk.problem, n == 1 ? "it" : "them");
    else if (!j->mk.ok)
        k += (size_t)snprintf(j->warning, sizeof j->warning, "%s: sensitive requests fail until it is restored",
                              j->mk.problem);
    if (j->mk.mode[0] && k < sizeof j->warning)
        snprintf(j->warning + k, sizeof j->warning - k, "%s%s", k ? "; " : "", j->mk.mode);
    return j->warning[0] ? j->warning : NULL;
}

const pvm_masterkey *pvm_journal_masterkey(const pvm_journal *j)
{
    return &j->mk;
}

unsigned long pvm_journal_syncs(pvm_journal *j)
{
    return atomic_load(&j->synced) + atomic_load(&j->gs.syncs);
}

unsigned long pvm_journal_writes(pvm_journal *j)
{
    return atomic_load(&j->writes);
}

void pvm_journal_publish(pvm_journal *j, struct pvm_counters *c)
{
    j->pub = c;
}

void pvm_journal_set_sync(pvm_journal *j, int sync)
{
    j->sync = sync;
}

void pvm_journal_close(pvm_journal *j)
{
    if (!j)
        return;
    pthread_mutex_destroy(&j->serial);
    pvm_gsync_destroy(&j->gs);
    OPENSSL_cleanse(j->mk.key, sizeof j->mk.key);
    free(j);
}
