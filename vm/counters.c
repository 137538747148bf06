/*
 * counters.c -- per-procedure counters.  Each thread writes its own shard (no atomic
 * read-modify-write, no lock: relaxed loads and stores of its own cells), readers sum the
 * shards.  Latency goes into the house's log-linear histogram (util/hist.h), its buckets
 * kept here as atomic cells: 8 buckets per power of two of nanoseconds, so any percentile
 * is within 12.5% and the max is exact.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/hist.h"
#include "util/str.h"
#include "util/vec.h"
#include "counters.h"

#define SUB_BITS 3
#define NBUCKETS PU_HIST_NBUCKETS(SUB_BITS)
#define CHUNK 64          /* cells per chunk */
#define MAX_CHUNKS 65536  /* 4M procedure ids */

#define RATE_WINDOW 10 /* seconds: SPEC §9's rate is per second over the last 10 s */

typedef struct cell {
    _Atomic uint64_t count, ok, failed, in_doubt, sum, max;
    _Atomic int64_t executing;
    _Atomic uint64_t rate_sec[RATE_WINDOW], rate_n[RATE_WINDOW]; /* calls ended in each second */
    _Atomic uint64_t hist[NBUCKETS];
} cell;

typedef struct shard {
    _Atomic(cell *) chunks[MAX_CHUNKS];
    struct shard *next;
} shard;

typedef struct name {
    char *ns, *proc;
    bool perf;
} name;

struct pvm_counters {
    pthread_key_t key;
    pthread_mutex_t lock; /* shards list and names */
    shard *shards;
    name *names;
    size_t nnames, capnames;
};

/* Seconds, from a clock cheap enough to read on every call (a few ms of resolution). */
static uint64_t coarse_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec;
}

uint64_t pvm_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

pvm_counters *pvm_counters_new(void)
{
    pvm_counters *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (pthread_key_create(&c->key, NULL) != 0) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void pvm_counters_free(pvm_counters *c)
{
    if (!c)
        return;
    for (shard *s = c->shards, *next; s; s = next) {
        next = s->next;
        for (size_t i = 0; i < MAX_CHUNKS; i++)
            free(atomic_load(&s->chunks[i]));
        free(s);
    }
    for (size_t i = 0; i < c->nnames; i++) {
        free(c->names[i].ns);
        free(c->names[i].proc);
    }
    free(c->names);
    pthread_key_delete(c->key);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

uint32_t pvm_counters_reserve(pvm_counters *c, const char *ns, const pvm_bundle *b)
{
    pthread_mutex_lock(&c->lock);
    uint32_t base = (uint32_t)c->nnames;
    size_t need = c->nnames + b->nprocs;
    if (need > (size_t)CHUNK * MAX_CHUNKS) {
        pthread_mutex_unlock(&c->lock);
        return PROVOST_NONE;
    }
    if (PU_GROW(c->names, c->capnames, need) != 0) {
        pthread_mutex_unlock(&c->lock);
        return PROVOST_NONE;
    }
    for (size_t i = 0; i < b->nprocs; i++) {
        const char *pn = pvm_bundle_str(b, b->procs_v[i].name);
        c->names[c->nnames++] = (name){.ns = strdup(ns), .proc = strdup(pn ? pn : "(request)"),
                                      .perf = (b->procs_v[i].flags & PROVOST_PROC_PERF) != 0};
    }
    pthread_mutex_unlock(&c->lock);
    return base;
}

static cell *cell_of(pvm_counters *c, uint32_t id)
{
    if (id == PROVOST_NONE)
        return NULL;
    shard *s = pthread_getspecific(c->key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return NULL;
        pthread_mutex_lock(&c->lock);
        s->next = c->shards;
        c->shards = s;
        pthread_mutex_unlock(&c->lock);
        pthread_setspecific(c->key, s);
    }
    cell *chunk = atomic_load_explicit(&s->chunks[id / CHUNK], memory_order_acquire);
    if (!chunk) {
        chunk = calloc(CHUNK, sizeof *chunk);
        if (!chunk)
            return NULL;
        atomic_store_explicit(&s->chunks[id / CHUNK], chunk, memory_order_release);
    }
    return &chunk[id % CHUNK];
}

/* Only the owning thread writes a cell: a relaxed load and store is enough. */
#define BUMP(field, by) \
    atomic_store_explicit(&(field), atomic_load_explicit(&(field), memory_order_relaxed) + (by), \
                          memory_order_relaxed)

void pvm_counters_begin(pvm_counters *c, uint32_t id)
{
    cell *x = cell_of(c, id);
    if (x)
        BUMP(x->executing, 1);
}

void pvm_counters_end(pvm_counters *c, uint32_t id, int outcome, uint64_t elapsed)
{
    cell *x = cell_of(c, id);
    if (!x)
        return;
    BUMP(x->executing, -1);
    BUMP(x->count, 1);
    if (outcome == PVM_OUTCOME_OK)
        BUMP(x->ok, 1);
    else if (outcome == PVM_OUTCOME_FAILED)
        BUMP(x->failed, 1);
    else
        BUMP(x->in_doubt, 1);
    BUMP(x->sum, elapsed);
    if (elapsed > atomic_load_explicit(&x->max, memory_order_relaxed))
        atomic_store_explicit(&x->max, elapsed, memory_order_relaxed);
    BUMP(x->hist[pu_hist_bucket(SUB_BITS, elapsed)], 1);
    uint64_t sec = coarse_sec();
    unsigned slot = (unsigned)(sec % RATE_WINDOW);
    if (atomic_load_explicit(&x->rate_sec[slot], memory_order_relaxed) != sec) {
        atomic_store_explicit(&x->rate_n[slot], 0, memory_order_relaxed);
        atomic_store_explicit(&x->rate_sec[slot], sec, memory_order_relaxed);
    }
    BUMP(x->rate_n[slot], 1);
}

typedef struct total {
    uint64_t count, ok, failed, in_doubt, sum, max, recent;
    int64_t executing;
    uint64_t hist[NBUCKETS];
} total;

/* In microseconds: the top of the bucket the value falls in, at most the exact max. */
static double percentile(const total *t, double q)
{
    size_t b = pu_hist_rank(t->hist, NBUCKETS, t->count, q);
    if (b == NBUCKETS)
        return (double)t->max / 1000.0;
    uint64_t low, top;
    pu_hist_bucket_range(SUB_BITS, b, &low, &top);
    return (double)(top < t->max ? top : t->max) / 1000.0;
}

int pvm_counters_read(pvm_counters *c, provost_proc_stats **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&c->lock);
    /* procedures re-registered under the same name are reported once */
    size_t ngroups = 0;
    size_t *group = calloc(c->nnames ? c->nnames : 1, sizeof *group);
    total *t = calloc(c->nnames ? c->nnames : 1, sizeof *t);
    if (!group || !t) {
        pthread_mutex_unlock(&c->lock);
        free(group);
        free(t);
        return -1;
    }
    size_t *first = calloc(c->nnames ? c->nnames : 1, sizeof *first);
    if (!first) {
        pthread_mutex_unlock(&c->lock);
        free(group);
        free(t);
        return -1;
    }
    for (size_t i = 0; i < c->nnames; i++) {
        size_t g = ngroups;
        for (size_t k = 0; k < ngroups; k++)
            if (pu_strieq(c->names[first[k]].ns, c->names[i].ns) &&
                pu_strieq(c->names[first[k]].proc, c->names[i].proc))
                g = k;
        if (g == ngroups)
            first[ngroups++] = i;
        group[i] = g;
    }
    uint64_t now = coarse_sec();
    for (shard *s = c->shards; s; s = s->next)
        for (size_t i = 0; i < c->nnames; i++) {
            cell *chunk = atomic_load_explicit(&s->chunks[i / CHUNK], memory_order_acquire);
            if (!chunk)
                continue;
            cell *x = &chunk[i % CHUNK];
            total *g = &t[group[i]];
            g->count += atomic_load_explicit(&x->count, memory_order_relaxed);
            g->ok += atomic_load_explicit(&x->ok, memory_order_relaxed);
            g->failed += atomic_load_explicit(&x->failed, memory_order_relaxed);
            g->in_doubt += atomic_load_explicit(&x->in_doubt, memory_order_relaxed);
            g->sum += atomic_load_explicit(&x->sum, memory_order_relaxed);
            g->executing += atomic_load_explicit(&x->executing, memory_order_relaxed);
            uint64_t m = atomic_load_explicit(&x->max, memory_order_relaxed);
            if (m > g->max)
                g->max = m;
            for (size_t b = 0; b < NBUCKETS; b++)
                g->hist[b] += atomic_load_explicit(&x->hist[b], memory_order_relaxed);
            for (unsigned k = 0; k < RATE_WINDOW; k++) /* the last 10 whole seconds and this one */
                if (now - atomic_load_explicit(&x->rate_sec[k], memory_order_relaxed) < RATE_WINDOW)
                    g->recent += atomic_load_explicit(&x->rate_n[k], memory_order_relaxed);
        }
    size_t used = 0;
    for (size_t g = 0; g < ngroups; g++)
        used += t[g].count || t[g].executing;
    provost_proc_stats *v = calloc(used ? used : 1, sizeof *v);
    int rc = v ? 0 : -1;
    for (size_t g = 0, k = 0; v && g < ngroups; g++) {
        if (!t[g].count && !t[g].executing)
            continue;
        const name *nm = &c->names[first[g]];
        v[k] = (provost_proc_stats){
            .ns = strdup(nm->ns), .proc = strdup(nm->proc), .perf_enabled = nm->perf,
            .count = t[g].count, .succeeded = t[g].ok, .failed = t[g].failed, .in_doubt = t[g].in_doubt,
            .executing = t[g].executing, .p50 = percentile(&t[g], 0.50), .p90 = percentile(&t[g], 0.90),
            .p99 = percentile(&t[g], 0.99), .p999 = percentile(&t[g], 0.999),
            .max = (double)t[g].max / 1000.0, .rate = (double)t[g].recent / RATE_WINDOW,
            .mean = t[g].count ? (double)t[g].sum / (double)t[g].count / 1000.0 : 0};
        k++;
    }
    pthread_mutex_unlock(&c->lock);
    free(group);
    free(first);
    free(t);
    *out = v;
    *n = v ? used : 0;
    return rc;
}
