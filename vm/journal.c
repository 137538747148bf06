/*
 * journal.c -- the write-ahead journal's writer (journal_read.c decodes what it wrote).
 * Records are small, keyed by transaction id and sequence number.  Every record reaches
 * the WAL (the OS's page cache) when it is written, which a process crash cannot lose;
 * only the records something later depends on are synced, and a sync carries every record
 * written before it (docs/transactions.md):
 * INTENT before its provider call, COMMIT before the first commit, ROLLBACK and STUCK
 * before what they license, QUEUED (its job is durable already), and the END before the
 * response, unless a durable COMMIT has decided the transaction already.  BEGIN, DONE,
 * FAILED, PREPARED, COMMITTED and ROLLED-BACK ride on the next sync.  The engine's sync
 * mode says how a sync is made:
 *
 *   always  each on its own (writers take turns);
 *   group   concurrent transactions share each fsync: the record is written unsynced and
 *           one waiter syncs the log for everyone who appended before it started (gsync.c;
 *           PROVOST_GROUP_COMMIT=rocksdb uses RocksDB's own write groups of synced writes
 *           instead, for comparison: bench/README.md);
 *   none    never (safe against a process crash, not against power loss).
 *
 * An attached store (provost/jstore.h: a cluster worker's, in PostgreSQL) takes the
 * records instead of the database: each write is handed to it with whether it must be
 * durable, and the store makes it so its own way; the sync mode does not apply.
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
#include "journal_int.h"
#include "seal.h"
#include "credential.h"
#include "gsync.h"
#include "counters.h"


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

/* A write to an attached store.  The audit records of an end go to the engine's own
 * database after the end (they are the engine's, not the store's). */
static int external(pvm_journal *j, const jwrite *w, bool durable, char *err, size_t errlen)
{
    if (w->key)
        return j->store.append(j->store.ctx, w->key, w->klen, w->val, w->vlen, w->okey, w->oval, durable, err,
                               errlen);
    int rc = j->store.end(j->store.ctx, w->from, w->okey, w->oval, durable, err, errlen);
    if (rc == 0 && w->nextra &&
        pvm_db_end(j->db, PVM_CF_JOURNAL, NULL, 0, NULL, 0, PVM_CF_OUTCOMES, NULL, 0, NULL, 0, w->extra, w->nextra,
                   0, err, errlen) != 0)
        return 0; /* the end stands: only its audit records are lost */
    return rc;
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
        bool serial = durable && j->sync == PROVOST_SYNC_ALWAYS && !j->external;
        /* a store makes its own durability (sync=none still means a process crash loses nothing) */
        bool shared = durable && j->sync == PROVOST_SYNC_GROUP && !j->rocksdb_groups && !j->external;
        int sync = durable && !shared; /* synced by the write itself */
        if (serial)
            pthread_mutex_lock(&j->serial);
        if (j->external)
            rc = external(j, w, w->sync && !sync_fails, err, errlen);
        else if (w->key && w->okey)
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
        if (rc == 0 && sync && !j->external)
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
    int rc = append(j, t, t->next++, &b, type == PVM_J_COMMIT || type == PVM_J_ROLLBACK, err, errlen);
    if (rc == 0 && type == PVM_J_COMMIT)
        t->decided = true;
    return rc;
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
    /* After a durable COMMIT the response is true whether the END survives or not: an END
     * lost to a power loss leaves the COMMIT, and recovery finishes the commits (each
     * participant's is idempotent), then ends the transaction with the same outcome. */
    /* With a store, the outcome of a transaction that journaled nothing rides on the next
     * statement too: nothing needs recovery, and the worker sends what waits before it
     * reports the job (cluster/worker.c). */
    jwrite w = {.from = txid ? from : NULL, .to = to, .okey = okey, .oval = oval, .extra = t->extra,
                .nextra = t->nextra, .sync = !t->decided && (txid || !j->external)};
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

/* ---- open ----------------------------------------------------------------------------- */


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
        int rc = pvm_db_each(db, PVM_CF_JOURNAL, pvm_jr_is_sealed, &sealed, err, errlen);
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
    unsigned long s = atomic_load(&j->synced) + atomic_load(&j->gs.syncs);
    return j->external && j->store.syncs ? s + j->store.syncs(j->store.ctx) : s;
}

void pvm_journal_attach(pvm_journal *j, const provost_jstore *s)
{
    j->external = s != NULL;
    if (s)
        j->store = *s;
}

int pvm_journal_outcome(pvm_journal *j, const char *key, char **val)
{
    char why[300];
    return j->store.outcome(j->store.ctx, key, val, why, sizeof why);
}

bool pvm_journal_external(const pvm_journal *j)
{
    return j && j->external;
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
