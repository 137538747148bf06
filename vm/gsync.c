/*
 * gsync.c -- group commit for the journal (gsync.h).  A write's ticket is taken after the
 * write returned, so a sync that starts after reading the ticket counter covers every
 * ticket up to the value read.  A waiter whose ticket is not durable yet either leads the
 * next sync, when none is running, or waits for the running one: a record appended while
 * a sync runs is covered by the next, which every writer that arrived meanwhile shares.
 *
 * Left at that, writers settle into two cohorts that alternate: those released by one sync
 * come back (their next record written) just after the next one started, and wait for the
 * one after it, so each sync carries half of them.  So a leader first waits for as many
 * writers as were waiting when the last sync ended to be back, at most as long as that
 * sync took (on a busy machine the released writers need about that long to get the CPU
 * back; half of it was not enough): one thread alone never waits, busy threads share one
 * sync, and a writer pays at most one more sync's time for it.
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
    pthread_cond_init(&g->cv, NULL);
    pthread_cond_init(&g->back, &ca);
    pthread_condattr_destroy(&ca);
}

void pvm_gsync_destroy(pvm_gsync *g)
{
    pthread_cond_destroy(&g->back);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

uint64_t pvm_gsync_appended(pvm_gsync *g)
{
    return atomic_fetch_add(&g->appended, 1) + 1;
}

/* The leader, before it syncs: until the writers of the last sync are back, or for at most
 * that sync's time. */
static void gather(pvm_gsync *g)
{
    if (g->waiting >= g->expect || !g->last_ns)
        return;
    uint64_t until = now_ns() + g->last_ns;
    struct timespec ts = {.tv_sec = (time_t)(until / 1000000000u), .tv_nsec = (long)(until % 1000000000u)};
    g->gathering = true;
    while (g->waiting < g->expect && pthread_cond_timedwait(&g->back, &g->mu, &ts) == 0)
        ;
    g->gathering = false;
}

int pvm_gsync_wait(pvm_gsync *g, uint64_t ticket, char *err, size_t errlen)
{
    pthread_mutex_lock(&g->mu);
    g->waiting++;
    if (g->gathering)
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
        if (g->running) {
            pthread_cond_wait(&g->cv, &g->mu);
            continue;
        }
        /* lead: sync for every write whose ticket was handed out before now */
        g->running = true;
        gather(g);
        uint64_t covers = atomic_load(&g->appended), t0 = now_ns();
        pthread_mutex_unlock(&g->mu);
        char why[sizeof g->why];
        int src = g->sync(g->ctx, why, sizeof why);
        atomic_fetch_add(&g->syncs, 1);
        pthread_mutex_lock(&g->mu);
        g->last_ns = now_ns() - t0;
        g->running = false;
        g->expect = g->waiting; /* every writer waiting now comes back soon */
        if (src == 0) {
            if (covers > g->durable)
                g->durable = covers;
        } else {
            if (covers > g->failed)
                g->failed = covers;
            memcpy(g->why, why, sizeof why);
        }
        pthread_cond_broadcast(&g->cv);
    }
    g->waiting--;
    pthread_mutex_unlock(&g->mu);
    return rc;
}
