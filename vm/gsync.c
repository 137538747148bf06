/*
 * gsync.c -- group commit for the journal (gsync.h).  A write's ticket is taken after the
 * write returned, so a sync that starts after reading the ticket counter covers every
 * ticket up to the value read.  A waiter whose ticket is not durable yet either leads the
 * next sync, when none is running, or waits for the running one: a record appended while
 * a sync runs is covered by the next, which every writer that arrived meanwhile shares.
 */
#include <stdio.h>
#include <string.h>

#include "gsync.h"

void pvm_gsync_init(pvm_gsync *g, pvm_gsync_fn sync, void *ctx)
{
    memset(g, 0, sizeof *g);
    g->sync = sync;
    g->ctx = ctx;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
}

void pvm_gsync_destroy(pvm_gsync *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

uint64_t pvm_gsync_appended(pvm_gsync *g)
{
    return atomic_fetch_add(&g->appended, 1) + 1;
}

int pvm_gsync_wait(pvm_gsync *g, uint64_t ticket, char *err, size_t errlen)
{
    pthread_mutex_lock(&g->mu);
    for (;;) {
        if (g->durable >= ticket) {
            pthread_mutex_unlock(&g->mu);
            return 0;
        }
        if (g->failed >= ticket) {
            /* the sync that would have covered it failed: the record may not be on disk */
            snprintf(err, errlen, "%s", g->why);
            pthread_mutex_unlock(&g->mu);
            return -1;
        }
        if (g->running) {
            pthread_cond_wait(&g->cv, &g->mu);
            continue;
        }
        /* lead: sync for every write whose ticket was handed out before now */
        uint64_t covers = atomic_load(&g->appended);
        g->running = true;
        pthread_mutex_unlock(&g->mu);
        char why[sizeof g->why];
        int rc = g->sync(g->ctx, why, sizeof why);
        atomic_fetch_add(&g->syncs, 1);
        pthread_mutex_lock(&g->mu);
        g->running = false;
        if (rc == 0) {
            if (covers > g->durable)
                g->durable = covers;
        } else {
            if (covers > g->failed)
                g->failed = covers;
            memcpy(g->why, why, sizeof why);
        }
        pthread_cond_broadcast(&g->cv);
    }
}
