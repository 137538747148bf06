/*
 * test_sync.c -- how many times the journal syncs its log, and that syncs are shared.
 * Only the records something later depends on are synced (docs/transactions.md): an
 * INTENT before its call, COMMIT before the commits, the END before the response (unless
 * a durable COMMIT decided the transaction already).  So a request of three write steps
 * syncs 4 times in every durable mode, and transactions waiting at the same moment share
 * one sync (vm/gsync.c, tested here on its own with a sync that holds its leader until
 * every other writer has appended).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provost/provost.h"
#include "vm/gsync.h"

static char dbroot[] = "/tmp/provost-sync-XXXXXX";
static int dbn;

static const char *const ns_xml =
    "<namespace name='S' providerSource='test'>"
    "<procedure name='W' type='write' saveDataForRollback='1'/>"
    "<procedure name='T' type='twoPhase'/>"
    "<procedure name='Fail' type='write'/>"
    "<procedure name='Write3' type='write' access='public'>"
    "<execute namespace='S' procedure='W'/><execute namespace='S' procedure='W'/>"
    "<execute namespace='S' procedure='W'/></procedure>"
    "<procedure name='TwoPhase' type='write' access='public'>"
    "<execute namespace='S' procedure='T'/><execute namespace='S' procedure='W'/>"
    "<execute namespace='S' procedure='T'/></procedure>"
    "<procedure name='FailThird' type='write' access='public'>"
    "<execute namespace='S' procedure='W'/><execute namespace='S' procedure='W'/>"
    "<execute namespace='S' procedure='Fail'/></procedure>"
    "</namespace>";

static provost_engine *fresh(int sync, const char *group_commit)
{
    char path[256];
    snprintf(path, sizeof path, "%s/db%d", dbroot, dbn++);
    if (group_commit)
        setenv("PROVOST_GROUP_COMMIT", group_commit, 1);
    else
        unsetenv("PROVOST_GROUP_COMMIT");
    provost_options o = {.db_path = path, .caller = "tester", .sync = sync};
    provost_engine *e = NULL;
    provost_error err;
    if (provost_open(&o, &e, &err) != 0)
        fprintf(stderr, "open: %s\n", err.message);
    unsetenv("PROVOST_GROUP_COMMIT");
    assert_non_null(e);
    assert_int_equal(provost_register(e, "s.xml", ns_xml, strlen(ns_xml), NULL, &err), 0);
    return e;
}

/* Calls S/proc; the syncs and the journal writes it made. */
static void call(provost_engine *e, const char *proc, int want_failed, uint64_t *syncs, uint64_t *writes)
{
    uint64_t s0 = provost_journal_syncs(e), w0 = provost_journal_writes(e);
    provost_response r;
    provost_error err;
    assert_int_equal(provost_call(e, "S", proc, NULL, 0, PROVOST_COMPACT, &r, &err), 0);
    if (r.failed != want_failed)
        fprintf(stderr, "%s: %s\n", proc, r.xml);
    assert_int_equal(r.failed, want_failed);
    provost_response_free(&r);
    *syncs = provost_journal_syncs(e) - s0;
    *writes = provost_journal_writes(e) - w0;
}

/* The same counts in every mode that syncs: the protocol decides them, not the mode. */
static void counts(int sync, const char *group_commit)
{
    provost_engine *e = fresh(sync, group_commit);
    uint64_t syncs, writes;
    bool durable = sync != PROVOST_SYNC_NONE;
    /* BEGIN, 3 INTENT, 3 DONE, END; synced: the INTENTs and the END */
    call(e, "Write3", 0, &syncs, &writes);
    assert_int_equal(writes, 8);
    assert_int_equal(syncs, durable ? 4 : 0);
    /* BEGIN, 3 INTENT, 3 DONE, 2 PREPARED, COMMIT, 2 COMMITTED, END; synced: the INTENTs
     * and COMMIT (before the first commit), not the END (a lost one leaves the COMMIT:
     * recovery commits again and ends it as committed) */
    call(e, "TwoPhase", 0, &syncs, &writes);
    assert_int_equal(writes, 13);
    assert_int_equal(syncs, durable ? 4 : 0);
    /* BEGIN, 3 INTENT, 2 DONE, FAILED, 2 ROLLED-BACK, END; synced: the INTENTs and the END */
    call(e, "FailThird", 1, &syncs, &writes);
    assert_int_equal(writes, 10);
    assert_int_equal(syncs, durable ? 4 : 0);
    provost_close(e);
}

static void test_counts_group(void **state)
{
    (void)state;
    counts(PROVOST_SYNC_GROUP, NULL);
}

static void test_counts_group_rocksdb(void **state)
{
    (void)state;
    counts(PROVOST_SYNC_GROUP, "rocksdb");
}

static void test_counts_always(void **state)
{
    (void)state;
    counts(PROVOST_SYNC_ALWAYS, NULL);
}

static void test_counts_none(void **state)
{
    (void)state;
    counts(PROVOST_SYNC_NONE, NULL);
}

/* Many threads at once: every request succeeds, none syncs more than alone. */
#define THREADS 16
#define EACH 8

static void *writer(void *arg)
{
    provost_engine *e = arg;
    for (int i = 0; i < EACH; i++) {
        provost_response r;
        provost_error err;
        if (provost_call(e, "S", "Write3", NULL, 0, PROVOST_COMPACT, &r, &err) != 0 || r.failed)
            return (void *)1;
        provost_response_free(&r);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    provost_engine *e = fresh(PROVOST_SYNC_GROUP, NULL);
    uint64_t s0 = provost_journal_syncs(e), w0 = provost_journal_writes(e);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, writer, e), 0);
    for (int i = 0; i < THREADS; i++) {
        void *rv;
        assert_int_equal(pthread_join(th[i], &rv), 0);
        assert_null(rv);
    }
    uint64_t syncs = provost_journal_syncs(e) - s0;
    assert_int_equal(provost_journal_writes(e) - w0, 8 * THREADS * EACH);
    assert_true(syncs >= 1 && syncs <= 4 * THREADS * EACH);
    /* nothing is left unfinished */
    provost_txn_info *v;
    size_t n;
    provost_error err;
    assert_int_equal(provost_txn_list(e, &v, &n, &err), 0);
    assert_int_equal(n, 0);
    provost_txn_info_free(v, n);
    provost_close(e);
}

/* ---- the leader and its followers, on their own -------------------------------------- */

typedef struct fake {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pvm_gsync *g;
    uint64_t hold_until; /* the first sync waits until this many tickets were handed out */
    int calls;
    int fail;            /* the next sync fails */
} fake;

static int fake_sync(void *ctx, char *err, size_t errlen)
{
    fake *f = ctx;
    pthread_mutex_lock(&f->mu);
    int call = ++f->calls;
    if (call == 1)
        while (atomic_load(&f->g->appended) < f->hold_until)
            pthread_cond_wait(&f->cv, &f->mu);
    int fail = f->fail;
    f->fail = 0;
    pthread_mutex_unlock(&f->mu);
    if (fail)
        snprintf(err, errlen, "journal sync failed: input/output error");
    return fail ? -1 : 0;
}

typedef struct waiter {
    fake *f;
    int rc;
    char err[256];
} waiter;

static void *append_and_wait(void *arg)
{
    waiter *w = arg;
    pthread_mutex_lock(&w->f->mu);
    uint64_t ticket = pvm_gsync_appended(w->f->g);
    pthread_cond_broadcast(&w->f->cv);
    pthread_mutex_unlock(&w->f->mu);
    w->rc = pvm_gsync_wait(w->f->g, ticket, w->err, sizeof w->err);
    return NULL;
}

/* The first writer leads a sync that covers only itself, held until the other 15 have
 * appended; they all wait for it, and one of them leads the second sync, which covers
 * every one of them: 16 writers, 2 syncs. */
static void test_leader_followers(void **state)
{
    (void)state;
    pvm_gsync g;
    fake f = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .g = &g, .hold_until = THREADS};
    pvm_gsync_init(&g, fake_sync, &f);
    pthread_t th[THREADS];
    waiter w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (waiter){.f = &f};
        assert_int_equal(pthread_create(&th[i], NULL, append_and_wait, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].rc, 0);
    }
    assert_true(f.calls <= 2);
    assert_int_equal(atomic_load(&g.syncs), (unsigned long)f.calls);
    /* a ticket already covered needs no sync */
    char err[256];
    assert_int_equal(pvm_gsync_wait(&g, THREADS, err, sizeof err), 0);
    assert_true(f.calls <= 2);
    pvm_gsync_destroy(&g);
}

/* A failed sync fails every write it would have made durable, and only those: the next
 * write leads a new sync. */
static void test_failed_sync(void **state)
{
    (void)state;
    pvm_gsync g;
    fake f = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .g = &g, .fail = 1};
    pvm_gsync_init(&g, fake_sync, &f);
    char err[256] = "";
    uint64_t a = pvm_gsync_appended(&g);
    assert_int_equal(pvm_gsync_wait(&g, a, err, sizeof err), -1);
    assert_non_null(strstr(err, "input/output error"));
    assert_int_equal(pvm_gsync_wait(&g, a, err, sizeof err), -1); /* it stays failed */
    uint64_t b = pvm_gsync_appended(&g);
    assert_int_equal(pvm_gsync_wait(&g, b, err, sizeof err), 0);
    assert_int_equal(f.calls, 2);
    assert_int_equal(pvm_gsync_wait(&g, a, err, sizeof err), 0); /* a later sync covered it */
    pvm_gsync_destroy(&g);
}

/* ---- many writers, many rounds: no write is told it is durable before a sync that began
 * after it returned has ended ------------------------------------------------------------ */

typedef struct witness {
    pvm_gsync *g;
    atomic_uint_fast64_t synced; /* the tickets handed out when the last ended sync began */
    atomic_int early;            /* waits that returned before their ticket was synced */
    atomic_ulong waits;
} witness;

/* A sync covers what was appended before it began: remember that, and publish it only
 * once the sync is over, as a disk would. */
static int witness_sync(void *ctx, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    witness *w = ctx;
    uint64_t covers = atomic_load(&w->g->appended);
    sched_yield(); /* let writers append while it runs: they belong to the next sync */
    uint64_t was = atomic_load(&w->synced);
    while (covers > was && !atomic_compare_exchange_weak(&w->synced, &was, covers))
        ;
    return 0;
}

#define ROUNDS 300

static void *witness_writer(void *arg)
{
    witness *w = arg;
    char err[256];
    for (int i = 0; i < ROUNDS; i++) {
        uint64_t ticket = pvm_gsync_appended(w->g);
        if (pvm_gsync_wait(w->g, ticket, err, sizeof err) != 0 || atomic_load(&w->synced) < ticket)
            atomic_fetch_add(&w->early, 1);
        atomic_fetch_add(&w->waits, 1);
        if (i % 7 == 0)
            sched_yield(); /* writers come back at different moments */
    }
    return NULL;
}

static void test_never_early(void **state)
{
    (void)state;
    pvm_gsync g;
    witness w = {.g = &g};
    pvm_gsync_init(&g, witness_sync, &w);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, witness_writer, &w), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(atomic_load(&w.early), 0);
    assert_int_equal(atomic_load(&w.waits), THREADS * ROUNDS);
    /* every writer was served, and syncs were shared (never more than one per wait) */
    assert_true(atomic_load(&g.syncs) >= 1 && atomic_load(&g.syncs) <= THREADS * ROUNDS);
    assert_int_equal(atomic_load(&w.synced), THREADS * ROUNDS);
    pvm_gsync_destroy(&g);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dbroot) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dbroot);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_group),
        cmocka_unit_test(test_counts_group_rocksdb),
        cmocka_unit_test(test_counts_always),
        cmocka_unit_test(test_counts_none),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_leader_followers),
        cmocka_unit_test(test_failed_sync),
        cmocka_unit_test(test_never_early),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
