/*
 * jstore.c -- the journal of a cluster worker's transactions, kept in the cluster
 * (provost.journal, provost.outcomes) so that a worker that dies forever leaves them where
 * another worker can finish them (workers.c, takeover).  The engine writes through it as
 * through its own journal (provost/jstore.h).
 *
 * Concurrent transactions share round trips and commits: a record that must be durable
 * waits until a flush carries it, and one of the waiters (the leader) sends everything
 * pending -- records, ends, outcomes of every thread -- in one statement, one commit.  A
 * record that need not be durable waits in memory for the next flush, as a local record
 * waits in the page cache for the next fsync (docs/transactions.md says which records those
 * are and why losing them is safe).  Every flush checks the worker's epoch and lease in the
 * same statement: once the worker has been fenced, nothing it sends is written, and the
 * store refuses every write after.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provost/jstore.h"
#include "util/vec.h"
#include "pcl.h"

/* One write waiting for a flush: a record ('a') or an end ('e'). */
typedef struct jop {
    struct jop *next;
    char kind;
    char txid[39];
    uint32_t seq;
    char *rec; /* hex */
    char *okey, *oval;
    bool waited; /* a durable write: its writer waits on it (and owns it) */
    bool done;
    int rc;
    char err[300];
} jop;

/* An outcome this process wrote, until the worker reads it after the job. */
typedef struct memo {
    struct memo *next;
    char *key, *val;
} memo;

#define MEMO_BUCKETS 1024
#define RESEND_MS 10000 /* how long a flush is sent again while the cluster cannot be reached */

struct pcl_jstore {
    provost_jstore api;
    char *conninfo;
    PGconn *pg; /* the flushes', the scans' and the lookups' (under conn) */
    pthread_mutex_t conn;
    int64_t worker, epoch; /* 0 until bound: no record is owned */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    jop *head, **tail;
    bool busy; /* a leader is flushing */
    bool fenced;
    bool broken; /* a flush may or may not have committed: nothing more is written */
    memo *memo[MEMO_BUCKETS];
    atomic_ulong flushes, ops;
};

static void free_op(jop *o)
{
    free(o->rec);
    free(o->okey);
    free(o->oval);
    if (!o->waited)
        free(o);
}

/* An op that was never queued. */
static void drop(jop *o)
{
    o->waited = true; /* so that free_op leaves o to the free below */
    free_op(o);
    free(o);
}

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % MEMO_BUCKETS;
}

/* Under mu. */
static void memo_put(pcl_jstore *s, const char *key, const char *val)
{
    memo *m = malloc(sizeof *m);
    if (!m)
        return; /* a lookup will ask the cluster */
    m->key = strdup(key);
    m->val = strdup(val);
    if (!m->key || !m->val) {
        free(m->key);
        free(m->val);
        free(m);
        return;
    }
    unsigned h = hash(key);
    m->next = s->memo[h];
    s->memo[h] = m;
}

/* Under mu: the value (taken: the memo forgets it), or NULL. */
static char *memo_take(pcl_jstore *s, const char *key)
{
    for (memo **p = &s->memo[hash(key)]; *p; p = &(*p)->next)
        if (strcmp((*p)->key, key) == 0) {
            memo *m = *p;
            char *v = m->val;
            *p = m->next;
            free(m->key);
            free(m);
            return v;
        }
    return NULL;
}

/* ---- the flush ------------------------------------------------------------------------ */

static bool ends_in(const jop *list, const char *txid)
{
    for (const jop *o = list; o; o = o->next)
        if (o->kind == 'e' && o->txid[0] && strcmp(o->txid, txid) == 0)
            return true;
    return false;
}

static bool put_later(const jop *o, const char *key)
{
    for (o = o->next; o; o = o->next)
        if (o->okey && strcmp(o->okey, key) == 0)
            return true;
    return false;
}

static int connected(pcl_jstore *s, char *err, size_t errlen)
{
    if (s->pg && PQstatus(s->pg) == CONNECTION_OK)
        return 0;
    if (s->pg)
        PQreset(s->pg);
    else {
        provost_error perr;
        s->pg = pcl_connect(s->conninfo, false, &perr);
        if (!s->pg) {
            snprintf(err, errlen, "the cluster's journal: %s", perr.message);
            return -1;
        }
    }
    if (PQstatus(s->pg) != CONNECTION_OK) {
        const char *m = PQerrorMessage(s->pg);
        snprintf(err, errlen, "the cluster's journal: cannot connect: %.*s", (int)strcspn(m, "\n"), m);
        return -1;
    }
    return 0;
}

/* One question whose answer tells whether a statement that carried list committed (it
 * is all or nothing): a record it appended is there, or the end it made took its
 * transaction's records away.  1 yes, 0 no, -1 unknown. */
static int ask(PGconn *pg, const jop *list)
{
    for (const jop *o = list; o; o = o->next) {
        if (o->kind != 'a' && !(o->kind == 'e' && o->txid[0]))
            continue;
        if (o->kind == 'a' && ends_in(list, o->txid))
            continue; /* not sent */
        char seq[16];
        snprintf(seq, sizeof seq, "%" PRIu32, o->seq);
        const char *p[2] = {o->txid, seq};
        PGresult *r = PQexecParams(pg,
                                   o->kind == 'a'
                                       ? "SELECT EXISTS (SELECT 1 FROM provost.journal WHERE txid = $1 AND seq = $2::integer)"
                                       : "SELECT NOT EXISTS (SELECT 1 FROM provost.journal WHERE txid = $1)",
                                   o->kind == 'a' ? 2 : 1, NULL, p, NULL, NULL, 0);
        int v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0)[0] == 't' : -1;
        PQclear(r);
        return v;
    }
    /* only outcomes (and flush markers): put again, the same values, whatever happened */
    return 0;
}

/* Under conn, after the connection was lost during a flush: reconnects (for up to about
 * ten seconds) and asks.  1 it committed, 0 it did not, -1 unknown. */
static int probe(pcl_jstore *s, const jop *list)
{
    unsigned nap = 100;
    for (int i = 0; i < 16; i++) {
        PQreset(s->pg);
        if (PQstatus(s->pg) == CONNECTION_OK) {
            int v = ask(s->pg, list);
            if (v >= 0)
                return v;
        }
        struct timespec ts = {nap / 1000, (long)(nap % 1000) * 1000000};
        nanosleep(&ts, NULL);
        nap = nap < 1000 ? nap * 2 : 1000;
    }
    return -1;
}

/* Sends the ops of list in one statement: 0, 1 fenced, 2 unknown (the store is broken),
 * or -1 with err. */
static int send(pcl_jstore *s, const jop *list, char *err, size_t errlen)
{
    pcl_arr c[6] = {{0}};
    int rc = -1;
    for (const jop *o = list; o; o = o->next) {
        char seq[16];
        snprintf(seq, sizeof seq, "%" PRIu32, o->seq);
        /* records of a transaction that ends in this flush would outlive its end (the
           statement's parts do not see one another's rows): they are not sent */
        if (o->kind == 'a' && !ends_in(list, o->txid) &&
            (pcl_arr_add(&c[0], o->txid) || pcl_arr_add(&c[1], seq) || pcl_arr_add(&c[2], o->rec)))
            goto oom;
        if (o->kind == 'e' && o->txid[0] && pcl_arr_add(&c[3], o->txid))
            goto oom;
        /* one row may be put once per statement: the last put wins */
        if (o->okey && !put_later(o, o->okey) && (pcl_arr_add(&c[4], o->okey) || pcl_arr_add(&c[5], o->oval)))
            goto oom;
    }
    char a[24], b[24];
    snprintf(a, sizeof a, "%" PRId64, s->worker);
    snprintf(b, sizeof b, "%" PRId64, s->epoch);
    const char *p[8] = {a,
                        b,
                        pcl_arr_text(&c[0]),
                        pcl_arr_text(&c[1]),
                        pcl_arr_text(&c[2]),
                        pcl_arr_text(&c[3]),
                        pcl_arr_text(&c[4]),
                        pcl_arr_text(&c[5])};
    /* a server restarting or a connection lost: sent again, for a while, when it surely
       did not commit (the lease decides how long that may go on: a late one is fenced) */
    PGresult *r = NULL;
    provost_error perr = {0};
    for (unsigned nap = 100, waited = 0;; waited += nap, nap = nap < 1000 ? 2 * nap : 1000) {
        if (waited) {
            struct timespec ts = {nap / 1000, (long)(nap % 1000) * 1000000};
            nanosleep(&ts, NULL);
        }
        pthread_mutex_lock(&s->conn);
        if (connected(s, err, errlen) != 0) {
            pthread_mutex_unlock(&s->conn);
            if (waited < RESEND_MS)
                continue;
            goto out;
        }
        r = pcl_query_named(
            s->pg, "provost_journal", "the cluster's journal",
            "WITH me AS (SELECT id FROM provost.workers WHERE id = $1 AND epoch = $2 AND ended IS NULL"
            "  AND lease_until > now() FOR SHARE),"
            " a AS (INSERT INTO provost.journal (worker, txid, seq, rec) SELECT $1, t, q, decode(r, 'hex')"
            "  FROM me, unnest($3::text[], $4::integer[], $5::text[]) AS u(t, q, r)),"
            " d AS (DELETE FROM provost.journal j USING me WHERE j.txid = ANY ($6::text[])),"
            " o AS (INSERT INTO provost.outcomes (key, value) SELECT k, v FROM me, unnest($7::text[], $8::text[])"
            "  AS u(k, v) ON CONFLICT (key) DO UPDATE SET value = excluded.value)"
            " SELECT count(*) FROM me",
            8, p, &perr);
        /* the connection lost with the statement: it may have committed or not */
        bool lost = !r && PQstatus(s->pg) != CONNECTION_OK;
        int known = lost ? probe(s, list) : 0;
        pthread_mutex_unlock(&s->conn);
        atomic_fetch_add(&s->flushes, 1);
        if (known == 1) {
            rc = 0;
            goto out;
        }
        if (known < 0) {
            rc = 2;
            snprintf(err, errlen,
                     "%.120s; whether the cluster wrote it is unknown, so the journal writes nothing more (the "
                     "worker's takeover settles its transactions)",
                     perr.message);
            goto out;
        }
        if (!lost || waited >= RESEND_MS)
            break;
        waited = waited ? waited : 1; /* surely not written: sent again after a pause */
    }
    if (!r) {
        snprintf(err, errlen, "%.280s", perr.message);
        goto out;
    }
    rc = atoi(PQgetvalue(r, 0, 0)) == 1 ? 0 : 1;
    PQclear(r);
    if (rc == 1)
        snprintf(err, errlen,
                 "fenced: worker %" PRId64 "'s lease (epoch %" PRId64 ") is no longer held; the journal write was "
                 "refused",
                 s->worker, s->epoch);
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    for (int k = 0; k < 6; k++)
        pcl_arr_free(&c[k]);
    return rc;
}

/* Queues o; a waited op returns once a flush carried it.  0, or -1 with err. */
static int submit(pcl_jstore *s, jop *o, char *err, size_t errlen)
{
    pthread_mutex_lock(&s->mu);
    if (s->fenced || s->broken || !s->worker) {
        pthread_mutex_unlock(&s->mu);
        snprintf(err, errlen, s->fenced   ? "fenced: this worker's lease was taken over; nothing more is written"
                              : s->broken ? "the cluster's journal lost track of a write: nothing more is written"
                                          : "the cluster's journal has no worker yet");
        free_op(o);
        return -1;
    }
    o->next = NULL;
    *s->tail = o;
    s->tail = &o->next;
    atomic_fetch_add(&s->ops, 1);
    if (!o->waited) {
        /* the worker reads a job's outcome right after it: an end that rides on a later
           flush (a decided commit's) is known here already */
        if (o->okey)
            memo_put(s, o->okey, o->oval);
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    while (!o->done) {
        if (s->busy) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        s->busy = true;
        jop *list = s->head;
        s->head = NULL;
        s->tail = &s->head;
        pthread_mutex_unlock(&s->mu);
        char why[300] = "";
        int rc = send(s, list, why, sizeof why);
        pthread_mutex_lock(&s->mu);
        if (rc == 1)
            s->fenced = true;
        if (rc == 2)
            s->broken = true;
        for (jop *x = list, *next; x; x = next) {
            next = x->next;
            if (rc == 0 && x->okey && x->waited)
                memo_put(s, x->okey, x->oval);
            x->rc = rc == 0 ? 0 : -1;
            snprintf(x->err, sizeof x->err, "%s", why);
            x->done = true;
            free_op(x); /* a waited op keeps itself: its writer reads it */
        }
        s->busy = false;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    if (o->rc != 0)
        snprintf(err, errlen, "%s", o->err);
    return o->rc;
}

/* ---- provost_jstore -------------------------------------------------------------------- */

static jop *new_op(char kind, const char *txid, const char *okey, const char *oval, int durable)
{
    jop *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->kind = kind;
    if (txid)
        memcpy(o->txid, txid, 38);
    o->waited = durable != 0;
    if (okey && oval && (!(o->okey = strdup(okey)) || !(o->oval = strdup(oval)))) {
        drop(o);
        return NULL;
    }
    return o;
}

static int js_append(void *ctx, const char *key, size_t klen, const char *val, size_t vlen, const char *okey,
                     const char *oval, int durable, char *err, size_t errlen)
{
    if (klen != PROVOST_JSTORE_KEY) {
        snprintf(err, errlen, "a journal key of %zu bytes", klen);
        return -1;
    }
    jop *o = new_op('a', key, okey, oval, durable);
    char *hex = o ? malloc(2 * vlen + 1) : NULL;
    if (!hex) {
        if (o)
            drop(o);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < vlen; i++) {
        hex[2 * i] = "0123456789abcdef"[(unsigned char)val[i] >> 4];
        hex[2 * i + 1] = "0123456789abcdef"[(unsigned char)val[i] & 15];
    }
    hex[2 * vlen] = 0;
    o->rec = hex;
    const unsigned char *q = (const unsigned char *)key + 38;
    o->seq = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
    int rc = submit(ctx, o, err, errlen);
    if (durable)
        free(o);
    return rc;
}

static int js_end(void *ctx, const char *txid, const char *okey, const char *oval, int durable, char *err,
                  size_t errlen)
{
    jop *o = new_op('e', txid, okey, oval, durable);
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = submit(ctx, o, err, errlen);
    if (durable)
        free(o);
    return rc;
}

static int js_each(void *ctx, provost_jstore_each_fn fn, void *ud, char *err, size_t errlen)
{
    pcl_jstore *s = ctx;
    if (!s->worker)
        return 0; /* a worker owns no record before it has an id */
    char a[24];
    snprintf(a, sizeof a, "%" PRId64, s->worker);
    const char *p[1] = {a};
    pthread_mutex_lock(&s->conn);
    if (connected(s, err, errlen) != 0) {
        pthread_mutex_unlock(&s->conn);
        return -1;
    }
    PGresult *r = PQexecParams(s->pg,
                               "SELECT txid, seq, rec FROM provost.journal WHERE worker = $1::bigint ORDER BY txid, seq",
                               1, NULL, p, NULL, NULL, 1);
    pthread_mutex_unlock(&s->conn);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *m = PQresultErrorMessage(r);
        snprintf(err, errlen, "the cluster's journal: %.*s", (int)strcspn(m, "\n"), m);
        PQclear(r);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        char key[PROVOST_JSTORE_KEY];
        if (PQgetlength(r, i, 0) != 38 || PQgetlength(r, i, 1) != 4)
            continue; /* not a record this store wrote */
        memcpy(key, PQgetvalue(r, i, 0), 38);
        memcpy(key + 38, PQgetvalue(r, i, 1), 4); /* integer, network order: the key's own */
        rc = fn(ud, key, sizeof key, PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2));
    }
    PQclear(r);
    return rc;
}

static int js_outcome(void *ctx, const char *key, char **val, char *err, size_t errlen)
{
    pcl_jstore *s = ctx;
    pthread_mutex_lock(&s->mu);
    *val = memo_take(s, key);
    pthread_mutex_unlock(&s->mu);
    if (*val)
        return 1;
    const char *p[1] = {key};
    pthread_mutex_lock(&s->conn);
    PGresult *r = NULL;
    if (connected(s, err, errlen) == 0)
        r = PQexecParams(s->pg, "SELECT value FROM provost.outcomes WHERE key = $1", 1, NULL, p, NULL, NULL, 0);
    pthread_mutex_unlock(&s->conn);
    if (!r)
        return -1;
    int found = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        found = PQntuples(r) == 1;
        if (found && !(*val = strdup(PQgetvalue(r, 0, 0))))
            found = -1;
    } else {
        const char *m = PQresultErrorMessage(r);
        snprintf(err, errlen, "the cluster's journal: %.*s", (int)strcspn(m, "\n"), m);
    }
    PQclear(r);
    return found;
}

static unsigned long js_syncs(void *ctx)
{
    return atomic_load(&((pcl_jstore *)ctx)->flushes);
}

/* ---- life ------------------------------------------------------------------------------ */

pcl_jstore *pcl_jstore_new(const char *conninfo)
{
    pcl_jstore *s = calloc(1, sizeof *s);
    if (!s || !(s->conninfo = strdup(conninfo))) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->conn, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->tail = &s->head;
    s->api = (provost_jstore){.ctx = s, .append = js_append, .end = js_end, .each = js_each,
                              .outcome = js_outcome, .syncs = js_syncs};
    return s;
}

const provost_jstore *pcl_jstore_api(pcl_jstore *s)
{
    return &s->api;
}

void pcl_jstore_bind(pcl_jstore *s, int64_t worker, int64_t epoch)
{
    pthread_mutex_lock(&s->mu);
    s->worker = worker;
    s->epoch = epoch;
    pthread_mutex_unlock(&s->mu);
}

int pcl_jstore_flush(pcl_jstore *s, char *err, size_t errlen)
{
    pthread_mutex_lock(&s->mu);
    bool idle = !s->head;
    pthread_mutex_unlock(&s->mu);
    if (idle)
        return 0;
    jop o = {.kind = 'f', .waited = true};
    return submit(s, &o, err, errlen);
}

bool pcl_jstore_fenced(pcl_jstore *s)
{
    pthread_mutex_lock(&s->mu);
    bool f = s->fenced;
    pthread_mutex_unlock(&s->mu);
    return f;
}

bool pcl_jstore_broken(pcl_jstore *s)
{
    pthread_mutex_lock(&s->mu);
    bool b = s->broken;
    pthread_mutex_unlock(&s->mu);
    return b;
}

void pcl_jstore_counts(pcl_jstore *s, unsigned long *flushes, unsigned long *ops)
{
    *flushes = atomic_load(&s->flushes);
    *ops = atomic_load(&s->ops);
}

void pcl_jstore_free(pcl_jstore *s)
{
    if (!s)
        return;
    for (jop *o = s->head, *next; o; o = next) {
        next = o->next;
        free_op(o);
    }
    for (size_t i = 0; i < MEMO_BUCKETS; i++)
        for (memo *m = s->memo[i], *next; m; m = next) {
            next = m->next;
            free(m->key);
            free(m->val);
            free(m);
        }
    PQfinish(s->pg);
    pthread_mutex_destroy(&s->conn);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->conninfo);
    free(s);
}
