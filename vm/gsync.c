/*
 * gsync.c -- group commit for the journal (gsync.h).  A write's ticket is taken after the
 * write returned, so a sync that starts after reading the ticket counter covers every
 * ticket up to the value read.  A waiter whose ticket is not durable yet either leads the
 * next sync, when none is running, or waits for the running one: a record appended while
 * a sync runs is covered by the next, which every writer that arrived meanwhile shares.
 *
 * Left at that, writers settle into two cohorts that alternate: those released by one sync
 * come back (their next record written) just after the next one started, and wait for the
 * one after it, so each sync carries half of them.  So a leader first gathers: it waits
 * for as many writers as the last sync served (or left waiting for this one) to be back,
 * at most as long as that sync took (on a busy machine the released writers need about
 * that long to get the CPU back): one thread alone never waits, busy threads share one
 * sync, and a writer pays at most one more sync's time for it.
 *
 * Who is back is counted by tickets (appended and not yet synced), not by threads inside
 * pvm_gsync_wait: on two cores most of the writers a sync released have not even run yet
 * when the next leader starts gathering, and counting them as waiting ended the gathering
 * at once, so that a sync carried 11 of 16 writers (bench/README.md).
 *
 * Every wake-up costs a core a context switch and a turn at the mutex, and the cores are
 * what the writers need to come back.  So the end of a sync wakes only the writers it
 * covered (they wait on the condition variable of its number) and one writer of the next
 * sync to lead it (the others of the next sync sleep on through); a writer arriving while
 * the leader gathers wakes it only when the last expected one is back.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gsync.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pvm_gsync_init(pvm_gsync *g, pvm_gsync_fn sync, void *ctx)
{
    memset(g, 0, sizeof *g);
    g->sync = sync;
    g->ctx = ctx;
    pthread_mutex_init(&g->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->done[0], NULL);
    pthread_cond_init(&g->done[1], NULL);
    pthread_cond_init(&g->back, &ca);
    pthread_condattr_destroy(&ca);
}

void pvm_gsync_destroy(pvm_gsync *g)
{
    pthread_cond_destroy(&g->back);
    pthread_cond_destroy(&g->done[1]);
    pthread_cond_destroy(&g->done[0]);
    pthread_mutex_destroy(&g->mu);
}

uint64_t pvm_gsync_appended(pvm_gsync *g)
{
    return atomic_fetch_add(&g->appended, 1) + 1;
}

/* Tickets appended and not covered by a sync that ended: the writers waiting for the next
 * sync, or about to (each writer holds at most one). */
static uint64_t pending(pvm_gsync *g)
{
    uint64_t settled = g->durable > g->failed ? g->durable : g->failed;
    return atomic_load(&g->appended) - settled;
}

/* The leader, before it syncs: until the writers of the last sync are back, or for at most
 * that sync's time. */
static void gather(pvm_gsync *g)
{
    if (pending(g) >= g->expect || !g->last_ns)
        return;
    uint64_t until = now_ns() + g->last_ns;
    struct timespec ts = {.tv_sec = (time_t)(until / 1000000000u), .tv_nsec = (long)(until % 1000000000u)};
    g->gathering = true;
    while (pending(g) < g->expect && pthread_cond_timedwait(&g->back, &g->mu, &ts) == 0)
        ;
    g->gathering = false;
}

/* Leads one sync (called and returning with the mutex held). */
static void lead(pvm_gsync *g)
{
    g->running = true;
    g->started++;
    gather(g);
    uint64_t covers = atomic_load(&g->appended), t0 = now_ns();
    g->covering = covers;
    pthread_mutex_unlock(&g->mu);
    char why[sizeof g->why];
    int src = g->sync(g->ctx, why, sizeof why);
    atomic_fetch_add(&g->syncs, 1);
    pthread_mutex_lock(&g->mu);
    g->last_ns = now_ns() - t0;
    g->running = false;
    /* those it served come back soon, to find those who came meanwhile waiting already */
    g->expect = pending(g);
    if (src == 0) {
        if (covers > g->durable)
            g->durable = covers;
    } else {
        if (covers > g->failed)
            g->failed = covers;
        memcpy(g->why, why, sizeof why);
    }
    pthread_cond_broadcast(&g->done[g->started % 2]);
    if (atomic_load(&g->appended) > covers)
        pthread_cond_signal(&g->done[(g->started + 1) % 2]); /* one of them leads the next */
}

int pvm_gsync_wait(pvm_gsync *g, uint64_t ticket, char *err, size_t errlen)
{
    pthread_mutex_lock(&g->mu);
    if (g->gathering && pending(g) >= g->expect)
        pthread_cond_signal(&g->back);
    int rc;
    for (;;) {
        if (g->durable >= ticket) {
            rc = 0;
            break;
        }
        if (g->failed >= ticket) {
            /* the sync that would have covered it failed: the record may not be on disk */
            snprintf(err, errlen, "%s", g->why);
            rc = -1;
            break;
        }
        if (!g->running) {
            lead(g); /* for every write whose ticket was handed out before it starts */
            continue;
        }
        /* a sync still gathering covers this ticket; one already syncing, only if it had
         * been handed out when the sync started */
        uint64_t mine = g->gathering || ticket <= g->covering ? g->started : g->started + 1;
        pthread_cond_wait(&g->done[mine % 2], &g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return rc;
}
