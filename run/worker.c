/*
 * worker.c -- the queue worker behind `provost worker`: threads that run due jobs
 * (provost_queue_run_next) until the mode says to stop, sleeping until the next due time
 * when nothing is due.  It never prints: the front end gets each job through a callback.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provost/queue.h"

/* lock-free, so a signal handler may set it */
static atomic_int stop_asked;

void provost_worker_stop(void)
{
    atomic_store(&stop_asked, 1);
}

typedef struct wctx {
    provost_engine *e;
    provost_queue_worker *qw;
    const provost_worker_options *o;
    pthread_mutex_t lock; /* the summary, the callback, the first error */
    provost_worker_summary *s;
    provost_error err;
    bool failed;
    int64_t started;
} wctx;

static void count(wctx *w, const provost_queue_ran *ran)
{
    pthread_mutex_lock(&w->lock);
    w->s->ran++;
    if (ran->state == PROVOST_JOB_SUCCESS)
        w->s->succeeded++;
    else if (ran->state == PROVOST_JOB_QUEUED_FOR_RETRY)
        w->s->retried++;
    else
        w->s->failed++;
    if (w->o->on_job)
        w->o->on_job(w->o->ud, ran);
    pthread_mutex_unlock(&w->lock);
}

static void fail(wctx *w, const provost_error *err)
{
    pthread_mutex_lock(&w->lock);
    if (!w->failed)
        w->err = *err;
    w->failed = true;
    pthread_mutex_unlock(&w->lock);
    provost_worker_stop();
}

/* Nothing due now: whether to stop, else how long to sleep (until, ms since the epoch). */
static bool idle(wctx *w, int64_t now, int64_t next_due, int64_t *until)
{
    int64_t poll = w->o->poll_ms ? w->o->poll_ms : 250;
    if (w->o->mode == PROVOST_WORKER_ONCE)
        return true;
    if (w->o->mode == PROVOST_WORKER_DRAIN) {
        provost_error err;
        int busy = provost_queue_busy(w->e, &err);
        if (busy < 0) {
            fail(w, &err);
            return true;
        }
        if (!busy)
            return true;
    }
    *until = next_due >= 0 && next_due < now + poll ? next_due : now + poll;
    return false;
}

static void *loop(void *arg)
{
    wctx *w = arg;
    while (!atomic_load(&stop_asked)) {
        provost_queue_ran ran;
        /* --once: what was due when the worker started, not a retry that fell due since */
        int64_t next = -1, now = w->o->mode == PROVOST_WORKER_ONCE ? w->started : provost_now_ms(), until = 0;
        provost_error err;
        uint64_t gen = provost_queue_generation();
        size_t spooled = 0;
        if (w->o->spool_db &&
            provost_queue_ingest(w->e, w->o->spool_db, w->o->sync, w->o->on_reject, w->o->ud, &spooled, &err) != 0) {
            fail(w, &err);
            break;
        }
        int rc = provost_queue_run_next(w->qw, now, &ran, &next, &err);
        if (rc < 0) {
            fail(w, &err);
            break;
        }
        if (rc > 0) {
            count(w, &ran);
            continue;
        }
        if (idle(w, now, next, &until))
            break;
        provost_queue_wait(w->e, gen, until);
    }
    return NULL;
}

int provost_worker_run(provost_engine *e, const provost_worker_options *o, provost_worker_summary *s,
                       provost_error *err)
{
    memset(s, 0, sizeof *s);
    unsigned n = o->threads ? o->threads : 1;
    if (n > 256) {
        snprintf(err->message, sizeof err->message, "a worker runs 256 threads at most (not %u)", n);
        err->code = PROVOST_E_INVALIDARG;
        return -1;
    }
    atomic_store(&stop_asked, 0);
    wctx w = {.e = e, .o = o, .s = s, .started = provost_now_ms()};
    if (!(w.qw = provost_queue_worker_new(e, o->sync, err)))
        return -1;
    if (provost_queue_recover(w.qw, provost_now_ms(), &s->recovered, err) != 0) {
        provost_queue_worker_free(w.qw);
        return -1;
    }
    pthread_mutex_init(&w.lock, NULL);
    pthread_t *t = calloc(n, sizeof *t);
    unsigned started = 0;
    for (; t && started < n; started++)
        if (pthread_create(&t[started], NULL, loop, &w) != 0)
            break;
    if (o->on_ready)
        o->on_ready(o->ud);
    if (started == 0)
        loop(&w); /* no thread could start: this one runs the jobs */
    for (unsigned i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    free(t);
    pthread_mutex_destroy(&w.lock);
    provost_queue_worker_free(w.qw);
    if (w.failed) {
        *err = w.err;
        return -1;
    }
    return 0;
}
