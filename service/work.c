/*
 * work.c -- the threads that run requests in the engine.  libmicrohttpd's threads only
 * read and write connections: a request for the engine is handed over here and its
 * connection suspended until the answer is ready, so a long request never holds up the
 * other connections a pool thread serves (a health check stuck behind a provisioning
 * call would make a load balancer drop a healthy service).  The queue never holds more
 * than --max-inflight jobs: the server refuses the others before they come here.
 */
#include <pthread.h>
#include <stdlib.h>

#include "svc.h"

struct svc_work {
    pthread_mutex_t lock;
    pthread_cond_t more;
    void **ring;
    size_t cap, head, n;
    bool stopping;
    svc_work_fn fn;
    pthread_t *threads;
    unsigned nthreads;
};

static void *worker(void *arg)
{
    svc_work *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        while (!w->n && !w->stopping)
            pthread_cond_wait(&w->more, &w->lock);
        if (!w->n) {
            pthread_mutex_unlock(&w->lock);
            return NULL;
        }
        void *job = w->ring[w->head];
        w->head = (w->head + 1) % w->cap;
        w->n--;
        pthread_mutex_unlock(&w->lock);
        w->fn(job);
    }
}

svc_work *svc_work_start(unsigned threads, size_t cap, svc_work_fn fn)
{
    svc_work *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->ring = calloc(cap, sizeof *w->ring);
    w->threads = calloc(threads, sizeof *w->threads);
    if (!w->ring || !w->threads) {
        free(w->ring);
        free(w->threads);
        free(w);
        return NULL;
    }
    w->cap = cap;
    w->fn = fn;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->more, NULL);
    for (; w->nthreads < threads; w->nthreads++)
        if (pthread_create(&w->threads[w->nthreads], NULL, worker, w) != 0)
            break;
    if (!w->nthreads) {
        svc_work_stop(w);
        return NULL;
    }
    return w;
}

int svc_work_push(svc_work *w, void *job)
{
    pthread_mutex_lock(&w->lock);
    int rc = -1;
    if (w->n < w->cap && !w->stopping) {
        w->ring[(w->head + w->n) % w->cap] = job;
        w->n++;
        rc = 0;
        pthread_cond_signal(&w->more);
    }
    pthread_mutex_unlock(&w->lock);
    return rc;
}

void svc_work_stop(svc_work *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_broadcast(&w->more);
    pthread_mutex_unlock(&w->lock);
    for (unsigned i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->more);
    free(w->ring);
    free(w->threads);
    free(w);
}
