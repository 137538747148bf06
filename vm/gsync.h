/*
 * gsync.h -- shared syncs of the journal's log (group commit): writers append without a
 * sync, and a writer that needs its records durable waits for one sync that started after
 * they were appended.  One waiter at a time leads (syncs for everyone), the others follow
 * (wait for it), so transactions writing at the same moment share one fsync.
 */
#ifndef PVM_GSYNC_H
#define PVM_GSYNC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The sync itself: 0, or -1 with a reason. */
typedef int (*pvm_gsync_fn)(void *ctx, char *err, size_t errlen);

typedef struct pvm_gsync {
    pvm_gsync_fn sync;
    void *ctx;
    pthread_mutex_t mu;
    /* the followers of sync number n wait on done[n % 2]: its end wakes only them */
    pthread_cond_t done[2];
    atomic_uint_fast64_t appended; /* tickets handed out: writes that have reached the log */
    uint64_t durable;             /* every ticket up to this one is synced */
    uint64_t failed;              /* the last sync that failed covered tickets up to this one */
    uint64_t started;             /* syncs led so far, the running or gathering one included */
    uint64_t covering;            /* the running sync covers tickets up to this one */
    bool running;                 /* a leader is syncing (or gathering writers first) */
    pthread_cond_t back;          /* the writers the leader gathers are back */
    bool gathering;
    uint64_t expect;              /* writers that needed the last sync or the next one */
    uint64_t last_ns;             /* how long the last sync took */
    char why[256];                /* why that sync failed */
    atomic_ulong syncs;           /* syncs made */
} pvm_gsync;

void pvm_gsync_init(pvm_gsync *g, pvm_gsync_fn sync, void *ctx);
void pvm_gsync_destroy(pvm_gsync *g);
/* After a write returned: its ticket, for pvm_gsync_wait. */
uint64_t pvm_gsync_appended(pvm_gsync *g);
/* Returns once a sync that started after the write of ticket returned has succeeded (0),
 * or failed (-1 with its reason).  A leader may first wait, at most as long as the last sync
 * took, for the writers of the last sync to be back, so that they share this one. */
int pvm_gsync_wait(pvm_gsync *g, uint64_t ticket, char *err, size_t errlen);

#endif
