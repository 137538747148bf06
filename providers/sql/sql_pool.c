/*
 * sql_pool.c -- the sql provider's connections: one bounded pool per database (driver,
 * path or conninfo, credential, timeout), kept in the provider's state from init and
 * shared by every thread.  A call that finds every connection lent waits, at most its
 * timeout; a connection that failed is closed, never lent again, and a new one is made.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sql.h"

int sq_pool_init(sq_pool *p)
{
    if (pthread_mutex_init(&p->mu, NULL) != 0)
        return -1;
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) != 0)
        goto fail;
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&p->cv, &a);
    pthread_condattr_destroy(&a);
    if (rc == 0)
        return 0;
fail:
    pthread_mutex_destroy(&p->mu);
    return -1;
}

static void conn_close(sq_conn *conn)
{
    if (conn->target->driver == SQ_SQLITE)
        sq_lite_close(conn);
    else
        sq_pg_close(conn);
    free(conn);
}

void sq_pool_fini(sq_pool *p)
{
    for (sq_target *t = p->targets, *next; t; t = next) {
        next = t->next;
        for (sq_conn *c = t->idle, *cn; c; c = cn) {
            cn = c->next;
            conn_close(c);
        }
        free(t->key);
        free(t);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
}

static sq_target *find_target(sq_pool *p, const sq_conf *f)
{
    for (sq_target *t = p->targets; t; t = t->next)
        if (strcmp(t->key, f->key) == 0)
            return t;
    sq_target *t = calloc(1, sizeof *t);
    if (!t || !(t->key = strdup(f->key))) {
        free(t);
        return NULL;
    }
    t->driver = f->driver;
    t->next = p->targets;
    p->targets = t;
    return t;
}

uint32_t sq_acquire(sq_call *k, sq_conn **out, int *reused)
{
    sq_pool *p = provost_provider_state(k->c);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += k->conf.timeout_ms / 1000;
    deadline.tv_nsec += (long)(k->conf.timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    *out = NULL;
    *reused = 0;
    pthread_mutex_lock(&p->mu);
    sq_target *t = find_target(p, &k->conf);
    if (!t) {
        pthread_mutex_unlock(&p->mu);
        return sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
    }
    while (!t->idle && t->open >= k->conf.pool_size) {
        if (pthread_cond_timedwait(&p->cv, &p->mu, &deadline) == ETIMEDOUT && !t->idle &&
            t->open >= k->conf.pool_size) {
            pthread_mutex_unlock(&p->mu);
            return sq_fail(k, SQ_E_TIMEOUT, "all %d connections of the pool stayed busy for %d ms",
                           k->conf.pool_size, k->conf.timeout_ms);
        }
    }
    sq_conn *c = t->idle;
    if (c) {
        t->idle = c->next;
        c->next = NULL;
        pthread_mutex_unlock(&p->mu);
        *out = c;
        *reused = 1;
        return 0;
    }
    t->open++; /* a place for the connection made below, outside the lock */
    pthread_mutex_unlock(&p->mu);
    c = calloc(1, sizeof *c);
    uint32_t rc = c ? 0 : sq_fail(k, SQ_E_OUTOFMEMORY, "out of memory");
    if (c) {
        c->target = t;
        rc = t->driver == SQ_SQLITE ? sq_lite_connect(k, c) : sq_pg_connect(k, c);
    }
    if (rc) {
        if (c && c->handle)
            conn_close(c);
        else
            free(c);
        pthread_mutex_lock(&p->mu);
        t->open--;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    *out = c;
    return 0;
}

void sq_release(sq_call *k, sq_conn *c)
{
    if (!c)
        return;
    sq_pool *p = provost_provider_state(k->c);
    sq_target *t = c->target;
    if (c->broken) {
        conn_close(c);
        pthread_mutex_lock(&p->mu);
        t->open--;
    } else {
        pthread_mutex_lock(&p->mu);
        c->next = t->idle;
        t->idle = c;
    }
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}
