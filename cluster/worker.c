/*
 * worker.c -- `provost worker --cluster`: one dispatcher thread claims due jobs in batches,
 * hands them to job threads that run them through a local engine, and completes what they
 * finished in batches; a heartbeat thread renews the lease.  The dispatcher also loads new
 * namespace revisions between claims (LISTEN provost_bundles), sleeps on LISTEN
 * provost_jobs when idle (and polls, for jobs scheduled later), and fences expired workers.
 * Once fenced -- its own lease taken over -- the worker writes nothing more and stops.
 * A lost connection (PostgreSQL restarted, the network gone) is made again, and the
 * statement that found it lost is sent again.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "provost/jstore.h"
#include "pcl.h"
#include "util/vec.h"
#include "wrun.h"

static atomic_int stop_asked;

void provost_cluster_worker_stop(void)
{
    atomic_store(&stop_asked, 1);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Jobs claimed and not yet run (todo), and run and not yet completed (done). */
typedef struct jlist {
    pcl_job **v;
    size_t n, cap;
} jlist;

static int jl_push(jlist *l, pcl_job *j)
{
    if (PU_GROW(l->v, l->cap, l->n + 1) != 0)
        return -1;
    l->v[l->n++] = j;
    return 0;
}

typedef struct cw {
    const provost_cluster_worker_options *o;
    provost_cluster_worker_summary *s;
    PGconn *pg, *hb;
    int64_t id, epoch;
    pthread_mutex_t m;
    pthread_cond_t work, finished;
    jlist todo, done;
    pcl_jstore *js; /* the journal of its transactions, in the cluster */
    pcl_job **run; /* the jobs running, one slot per job thread */
    pcl_job **got; /* jobs just claimed, not yet in todo (ngot of them) */
    size_t ngot;
    size_t running;
    jlist kept; /* jobs whose transaction stays unfinished: held until the worker is taken over */
    atomic_int fenced, quit, hb_stop, hb_failed;
    atomic_llong renewed; /* now_ms() when the last renewal that succeeded was sent */
    provost_error hb_err;
    wrun_bundles known;
    char cluster[64]; /* the cluster's id: outcome keys of another cluster never match */
    bool attached;    /* the engine journals in js */
} cw;

/* A job whose transaction the journal could not finish (the cluster unreachable for a
 * moment) is finished by recovery before it completes: otherwise its next attempt could
 * run beside the rollback of this one.  Tried until it works, or the worker is fenced or
 * stops; then the job stays claimed and the worker's lease is left to run out, so that a
 * takeover recovers the transaction first. */
static void settle(cw *w, pcl_job *j)
{
    unsigned nap = 100;
    while (j->left && !atomic_load(&w->fenced) && !pcl_jstore_fenced(w->js) && !pcl_jstore_broken(w->js)) {
        provost_error perr;
        if (wrun_settle(w->o->engine, w->cluster, j, &perr) == 0 || atomic_load(&stop_asked))
            return;
        struct timespec ts = {nap / 1000, (long)(nap % 1000) * 1000000};
        nanosleep(&ts, NULL);
        nap = nap < 2000 ? nap * 2 : 2000;
    }
}

static void *job_thread(void *arg)
{
    cw *w = arg;
    pthread_mutex_lock(&w->m);
    for (;;) {
        while (!w->todo.n && !atomic_load(&w->quit))
            pthread_cond_wait(&w->work, &w->m);
        /* once stopping, no new job starts: finish() gives the rest back to the queue */
        if (!w->todo.n || atomic_load(&w->quit) || atomic_load(&w->fenced))
            break;
        pcl_job *j = w->todo.v[0];
        memmove(w->todo.v, w->todo.v + 1, --w->todo.n * sizeof *w->todo.v);
        size_t slot = 0;
        while (w->run[slot])
            slot++;
        w->run[slot] = j;
        w->running++;
        pthread_mutex_unlock(&w->m);
        wrun_job(w->o->engine, w->cluster, j);
        settle(w, j);
        if (pcl_jstore_fenced(w->js))
            atomic_store(&w->fenced, 1); /* its journal refused: nothing more is written */
        if (pcl_jstore_broken(w->js))
            atomic_store(&stop_asked, 1); /* leave, for a takeover to settle what it ran */
        pthread_mutex_lock(&w->m);
        w->run[slot] = NULL;
        w->running--;
        if (j->left) {
            /* stays claimed: the takeover of this worker recovers and re-drives it */
            if (jl_push(&w->kept, j) != 0)
                pcl_job_free(j);
        } else if (jl_push(&w->done, j) != 0)
            pcl_job_free(j); /* left claimed: takeover re-drives it */
        pthread_cond_signal(&w->finished);
    }
    pthread_mutex_unlock(&w->m);
    return NULL;
}

static void *heartbeat(void *arg)
{
    cw *w = arg;
    unsigned every = w->o->lease_ms / 3, retry = 100;
    int64_t next = now_ms() + every;
    /* its own stop: the lease must hold until the last complete() of a stopping worker */
    while (!atomic_load(&w->hb_stop) && !atomic_load(&w->fenced)) {
        struct timespec nap = {0, 20 * 1000000};
        nanosleep(&nap, NULL);
        if (now_ms() < next)
            continue;
        int64_t sent = now_ms();
        next = sent + every;
        int rc = pcl_worker_renew(w->hb, w->id, w->epoch, &w->hb_err);
        if (rc == 0) {
            atomic_store(&w->fenced, 1);
        } else if (rc > 0) {
            atomic_store(&w->renewed, sent);
            retry = 100;
        } else if (PQstatus(w->hb) != CONNECTION_OK) {
            /* the lease decides: renewed in time, or fenced; so renew at once when the
               connection is back, and until then, try again soon */
            PQreset(w->hb);
            if (PQstatus(w->hb) == CONNECTION_OK) {
                next = now_ms();
            } else {
                next = now_ms() + (retry < every ? retry : every);
                retry = retry < every ? 2 * retry : every;
            }
        }
    }
    pthread_mutex_lock(&w->m);
    pthread_cond_broadcast(&w->finished);
    pthread_mutex_unlock(&w->m);
    return NULL;
}

static int redial(cw *w, provost_error *err);

/* Puts jobs whose completion did not get through back before those finished since. */
static int undone(cw *w, jlist *d, provost_error *err)
{
    pthread_mutex_lock(&w->m);
    int rc = PU_GROW(d->v, d->cap, d->n + w->done.n);
    if (rc == 0) {
        for (size_t i = 0; i < w->done.n; i++)
            d->v[d->n++] = w->done.v[i];
        free(w->done.v);
        w->done = *d;
    }
    pthread_mutex_unlock(&w->m);
    return rc == 0 ? 0 : pcl_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
}

/* Completes what the job threads finished.  0, or -1 (fenced or an error: err). */
static int complete(cw *w, provost_error *err)
{
    jlist d;
    size_t retried = 0;
    int rc;
    for (;;) {
        pthread_mutex_lock(&w->m);
        d = w->done;
        w->done = (jlist){0};
        pthread_mutex_unlock(&w->m);
        if (!d.n) {
            free(d.v);
            return 0;
        }
        /* the ends that wait in memory go first: a result never precedes its journal's end */
        char why[300];
        if (pcl_jstore_flush(w->js, why, sizeof why) != 0) {
            if (pcl_jstore_fenced(w->js)) {
                rc = 0;
                break;
            }
            provost_error keep;
            if (undone(w, &d, &keep) != 0 || pcl_jstore_broken(w->js))
                return pcl_fail(err, PROVOST_E_JOURNAL, "%s", why);
            return 0; /* tried again with the next completion */
        }
        rc = pcl_complete(w->pg, w->id, w->epoch, d.v, d.n, &retried, err);
        if (rc >= 0 || !pcl_lost(w->pg))
            break;
        /* sent again once reconnected, it completes only what this one did not: a job it
           did complete is no longer held by this worker under its epoch */
        provost_error again = *err;
        if (undone(w, &d, err) != 0)
            break;
        *err = again;
        if (!redial(w, err))
            return -1; /* the jobs stay in done, for finish() */
    }
    if (rc == 0) {
        atomic_store(&w->fenced, 1);
    } else if (rc > 0) {
        size_t ok = 0;
        for (size_t i = 0; i < d.n; i++) {
            pcl_job *j = d.v[i];
            ok += strcmp(j->status, "succeeded") == 0;
            if (w->o->on_job)
                w->o->on_job(w->o->ud, j->batch, j->pos, j->attempt, j->status, j->code);
        }
        /* which failed ones went back to the queue was the database's decision */
        w->s->ran += d.n;
        w->s->succeeded += ok;
        w->s->retried += retried;
        w->s->failed += d.n - ok - retried;
    }
    for (size_t i = 0; i < d.n; i++)
        pcl_job_free(d.v[i]);
    free(d.v);
    return rc > 0 ? 0 : -1;
}

/* Notifications read with the last statement: a new bundle revision is loaded now. */
static int notifications(cw *w, provost_error *err)
{
    bool bundles = false;
    PGnotify *n;
    while ((n = PQnotifies(w->pg))) {
        bundles |= strcmp(n->relname, "provost_bundles") == 0;
        PQfreemem(n);
    }
    if (!bundles || wrun_load_bundles(w->pg, w->o, &w->known, &w->s->bundles, err) == 0)
        return 0;
    return redial(w, err) ? 0 : -1; /* once reconnected, every newer revision is loaded */
}

/* Sleeps until a notification, a finished job, or the poll interval (jobs due later). */
static void idle_wait(cw *w, size_t inflight)
{
    if (inflight) {
        pthread_mutex_lock(&w->m);
        if (!w->done.n && !atomic_load(&w->fenced)) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 20 * 1000000;
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&w->finished, &w->m, &until);
        }
        pthread_mutex_unlock(&w->m);
        return;
    }
    int fd = PQsocket(w->pg);
    fd_set rd;
    FD_ZERO(&rd);
    if (fd >= 0)
        FD_SET(fd, &rd);
    struct timeval tv = {0, 250 * 1000};
    select(fd >= 0 ? fd + 1 : 0, &rd, NULL, NULL, &tv);
    PQconsumeInput(w->pg);
}

/* Whether to stop trying to reach the cluster: fenced, or stopping once its lease ran out
 * by its own clock (counted from before its last renewal was sent), when nothing it could
 * write would count any more. */
static bool give_up(void *arg)
{
    cw *w = arg;
    if (atomic_load(&w->fenced))
        return true;
    return (atomic_load(&stop_asked) || atomic_load(&w->quit)) &&
           now_ms() - atomic_load(&w->renewed) > (int64_t)w->o->lease_ms;
}

/* On a new connection: listens again, loads the revisions registered meanwhile, and gives
 * back what this worker holds but does not know of (a claim whose rows were lost). */
static int resume(cw *w, provost_error *err)
{
    if (pcl_exec(w->pg, "listen", "LISTEN provost_jobs; LISTEN provost_bundles", 0, NULL, err) != 0 ||
        wrun_load_bundles(w->pg, w->o, &w->known, &w->s->bundles, err) != 0)
        return -1;
    jlist held = {0};
    pthread_mutex_lock(&w->m);
    int rc = PU_GROW(held.v, held.cap, w->todo.n + w->done.n + w->o->threads + w->ngot + w->kept.n);
    for (size_t i = 0; rc == 0 && i < w->kept.n; i++)
        held.v[held.n++] = w->kept.v[i];
    for (size_t i = 0; rc == 0 && i < w->ngot; i++)
        held.v[held.n++] = w->got[i];
    for (size_t i = 0; rc == 0 && i < w->todo.n; i++)
        held.v[held.n++] = w->todo.v[i];
    for (size_t i = 0; rc == 0 && i < w->done.n; i++)
        held.v[held.n++] = w->done.v[i];
    for (size_t i = 0; rc == 0 && i < w->o->threads; i++)
        if (w->run[i])
            held.v[held.n++] = w->run[i];
    pthread_mutex_unlock(&w->m);
    if (rc == 0)
        rc = pcl_release_others(w->pg, w->id, w->epoch, held.v, held.n, err);
    else
        pcl_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    free(held.v);
    return rc;
}

/* After a statement on the dispatcher's connection failed (err): when the connection was
 * lost, connects again (with backoff), resumes, and returns 1: the caller sends its
 * statement again.  0 for any other error, or when it gave up (err says why). */
static int redial(cw *w, provost_error *err)
{
    if (!pcl_lost(w->pg))
        return 0;
    char why[sizeof err->message];
    snprintf(why, sizeof why, "%s", err->message);
    int rc;
    do {
        PGconn *pg = pcl_reconnect(w->o->conninfo, give_up, w, err);
        if (!pg)
            return 0;
        PQfinish(w->pg);
        w->pg = pg;
    } while ((rc = resume(w, err)) != 0 && pcl_lost(w->pg));
    if (rc != 0)
        return 0;
    w->s->reconnects++;
    if (w->o->on_reconnect)
        w->o->on_reconnect(w->o->ud, why);
    return 1;
}

/* Finishes, through this worker's engine, the transactions of the workers it took over,
 * as local recovery does: in-doubt steps rolled back newest first, decided commits
 * finished.  One that stays stuck stays in the cluster's journal for an operator. */
static void recover_adopted(cw *w, char **txids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        provost_error perr;
        if (provost_txn_resolve(w->o->engine, txids[i], PROVOST_RESOLVE_RETRY, &perr) == 0)
            w->s->recovered++;
        else if (w->o->on_stuck)
            w->o->on_stuck(w->o->ud, txids[i], perr.message);
        free(txids[i]);
    }
    free(txids);
}

/* The takeover sweep (docs/cluster.md): fence the expired, adopt their journal, recover
 * it, then re-drive their jobs -- never before their transactions are settled, so a job's
 * next attempt never runs beside a rollback of its last one.  0, or -1 with err. */
static int sweep(cw *w, provost_error *err)
{
    size_t nw = 0, nj = 0, nt = 0;
    char **txids = NULL;
    int rc = pcl_worker_fence(w->pg, w->id, w->epoch, &nw, err);
    if (rc == 0)
        rc = pcl_worker_adopt(w->pg, w->id, w->epoch, &txids, &nt, err);
    if (rc == 0) {
        recover_adopted(w, txids, nt);
        if (pcl_jstore_fenced(w->js)) {
            atomic_store(&w->fenced, 1);
            return -1;
        }
        rc = pcl_worker_settle(w->pg, w->id, w->epoch, err);
    }
    if (rc == 0)
        rc = pcl_worker_redrive(w->pg, w->id, &nj, err);
    if (rc != 0) {
        /* a deadlock or serialization failure with another sweep, or a lost connection:
           the next sweep redoes it; anything else is a real error */
        const char *st = pcl_sqlstate();
        if (strcmp(st, "40P01") != 0 && strcmp(st, "40001") != 0 && !redial(w, err))
            return -1;
    }
    w->s->taken_over += nw;
    if ((nw || nj || nt) && w->o->on_takeover)
        w->o->on_takeover(w->o->ud, nw, nt, nj);
    return 0;
}

static int dispatch(cw *w, provost_error *err)
{
    unsigned threads = w->o->threads ? w->o->threads : 1;
    int64_t next_sweep = 0;
    while (!atomic_load(&stop_asked) && !atomic_load(&w->fenced)) {
        if (now_ms() >= next_sweep) {
            if (sweep(w, err) != 0)
                return atomic_load(&w->fenced) ? 0 : -1;
            next_sweep = now_ms() + w->o->lease_ms / 3;
        }
        if (notifications(w, err) != 0 || complete(w, err) != 0)
            return atomic_load(&w->fenced) ? 0 : -1;
        pthread_mutex_lock(&w->m);
        size_t inflight = w->todo.n + w->running + w->done.n;
        pthread_mutex_unlock(&w->m);
        size_t want = 2 * (size_t)threads > inflight ? 2 * (size_t)threads - inflight : 0;
        pcl_job **got = NULL;
        size_t n = 0;
        if (want && pcl_claim(w->pg, w->id, w->epoch, (unsigned)(want < 256 ? want : 256), &got, &n, err) != 0) {
            if (redial(w, err))
                continue; /* a claim that committed unseen was given back by then */
            return -1;
        }
        /* a revision registered before these jobs were enqueued is known by now: the
           server sends a notification before the result of the next statement */
        w->got = got; /* held, though no job thread has them yet: see resume() */
        w->ngot = n;
        int nrc = n ? notifications(w, err) : 0;
        w->ngot = 0;
        if (nrc != 0) {
            for (size_t i = 0; i < n; i++)
                pcl_job_free(got[i]);
            free(got);
            return -1;
        }
        size_t unheld = 0; /* got[0..unheld): no room in todo, given back below */
        pthread_mutex_lock(&w->m);
        for (size_t i = 0; i < n; i++)
            if (jl_push(&w->todo, got[i]) != 0)
                got[unheld++] = got[i];
        if (n)
            pthread_cond_broadcast(&w->work);
        pthread_mutex_unlock(&w->m);
        int rel = pcl_release(w->pg, w->id, w->epoch, got, unheld, err);
        for (size_t i = 0; i < unheld; i++)
            pcl_job_free(got[i]);
        free(got);
        if (rel != 0 && !redial(w, err))
            return -1;
        if (n || rel != 0)
            continue;
        if (w->o->drain && !inflight) {
            int busy = pcl_busy(w->pg, err);
            if (busy < 0 && redial(w, err))
                continue;
            if (busy <= 0)
                return busy;
        }
        idle_wait(w, inflight);
    }
    return 0;
}

/* After the loop: let the job threads finish what they run, complete it (unless fenced). */
static int finish(cw *w, pthread_t *t, unsigned started, pthread_t hb, bool hb_started, provost_error *err)
{
    pthread_mutex_lock(&w->m);
    atomic_store(&w->quit, 1);
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->m);
    for (unsigned i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    int rc = 0;
    if (!atomic_load(&w->fenced))
        rc = complete(w, err);
    /* claimed, never started: back to the queue now rather than after a takeover */
    while (!atomic_load(&w->fenced) && rc == 0 &&
           (rc = pcl_release(w->pg, w->id, w->epoch, w->todo.v, w->todo.n, err)) != 0 && redial(w, err))
        rc = 0;
    /* the heartbeat stops only now, so the lease held through the final writes; ending
       the worker after it stopped keeps a late renewal from reading the end as a fence */
    atomic_store(&w->hb_stop, 1);
    if (hb_started)
        pthread_join(hb, NULL);
    if (!atomic_load(&w->fenced) && rc == 0 && w->kept.n)
        rc = pcl_fail(err, PROVOST_E_JOURNAL,
                      "%zu transaction%s could not be finished (the cluster's journal failed): the worker leaves "
                      "its lease to run out, and the worker that takes it over finishes %s",
                      w->kept.n, w->kept.n == 1 ? "" : "s", w->kept.n == 1 ? "it" : "them");
    while (!atomic_load(&w->fenced) && rc == 0 && (rc = pcl_worker_end(w->pg, w->id, w->epoch, err)) != 0 &&
           redial(w, err))
        rc = 0;
    for (size_t i = 0; i < w->todo.n; i++)
        pcl_job_free(w->todo.v[i]);
    for (size_t i = 0; i < w->done.n; i++)
        pcl_job_free(w->done.v[i]);
    for (size_t i = 0; i < w->kept.n; i++)
        pcl_job_free(w->kept.v[i]);
    free(w->todo.v);
    free(w->done.v);
    free(w->kept.v);
    return rc;
}

static int start(cw *w, provost_error *err)
{
    int64_t sent = now_ms();
    if (!(w->pg = pcl_connect(w->o->conninfo, true, err)) || !(w->hb = pcl_connect(w->o->conninfo, true, err)))
        return -1;
    if (pcl_exec(w->pg, "listen", "LISTEN provost_jobs; LISTEN provost_bundles", 0, NULL, err) != 0 ||
        pcl_cluster_id(w->pg, w->cluster, sizeof w->cluster, err) != 0 ||
        wrun_load_bundles(w->pg, w->o, &w->known, &w->s->bundles, err) != 0 ||
        pcl_worker_register(w->pg, w->o->name, w->o->threads, w->o->lease_ms, &w->id, &w->epoch, err) != 0)
        return -1;
    if (!(w->js = pcl_jstore_new(w->o->conninfo)))
        return pcl_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    pcl_jstore_bind(w->js, w->id, w->epoch);
    if (provost_journal_attach(w->o->engine, pcl_jstore_api(w->js), err) != 0) {
        provost_error ignored;
        pcl_worker_end(w->pg, w->id, w->epoch, &ignored);
        w->id = 0; /* nothing to finish */
        return -1;
    }
    w->attached = true;
    atomic_store(&w->renewed, sent);
    if (w->o->on_ready)
        w->o->on_ready(w->o->ud, w->id, w->epoch);
    return 0;
}

int provost_cluster_worker_run(const provost_cluster_worker_options *o, provost_cluster_worker_summary *s,
                               provost_error *err)
{
    memset(s, 0, sizeof *s);
    unsigned n = o->threads ? o->threads : 1;
    if (n > 256)
        return pcl_fail(err, PROVOST_E_INVALIDARG, "a worker runs 256 threads at most (not %u)", n);
    provost_cluster_worker_options opts = *o;
    opts.threads = n;
    opts.lease_ms = o->lease_ms ? o->lease_ms : 10000;
    atomic_store(&stop_asked, 0);
    cw w = {.o = &opts, .s = s};
    pthread_mutex_init(&w.m, NULL);
    pthread_cond_init(&w.work, NULL);
    pthread_cond_init(&w.finished, NULL);
    int rc = start(&w, err);
    pthread_t *t = rc == 0 ? calloc(n, sizeof *t) : NULL, hb;
    w.run = rc == 0 ? calloc(n, sizeof *w.run) : NULL;
    unsigned started = 0;
    bool hb_started = false;
    if (rc == 0 && (!t || !w.run))
        rc = pcl_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    if (rc == 0)
        hb_started = pthread_create(&hb, NULL, heartbeat, &w) == 0;
    for (; rc == 0 && started < n; started++)
        if (pthread_create(&t[started], NULL, job_thread, &w) != 0)
            break;
    if (rc == 0 && (!started || !hb_started))
        rc = pcl_fail(err, PROVOST_E_FAIL, "cannot start the worker's threads");
    if (rc == 0)
        rc = dispatch(&w, err);
    provost_error ferr;
    if (w.pg && w.id && finish(&w, t, started, hb, hb_started, &ferr) != 0 && rc == 0) {
        *err = ferr;
        rc = -1;
    }
    free(t);
    if (w.attached) /* the engine outlives the store */
        provost_journal_attach(o->engine, NULL, &ferr);
    pcl_jstore_free(w.js);
    free(w.run);
    wrun_bundles_free(&w.known);
    PQfinish(w.pg);
    PQfinish(w.hb);
    pthread_cond_destroy(&w.work);
    pthread_cond_destroy(&w.finished);
    pthread_mutex_destroy(&w.m);
    if (atomic_load(&w.fenced)) {
        s->fenced = 1;
        return pcl_fail(err, PROVOST_E_ABORTED,
                        "fenced: worker %" PRId64 "'s lease (epoch %" PRId64 ") was taken over; it wrote nothing after"
                        " and stopped",
                        w.id, w.epoch);
    }
    return rc;
}
