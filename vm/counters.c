/*
 * counters.c -- per-procedure counters.  Each thread writes its own shard (no atomic
 * read-modify-write, no lock: relaxed loads and stores of its own cells), readers sum the
 * shards.  Latency goes into the house's log-linear histogram (util/hist.h), its buckets
 * kept here as atomic cells: 8 buckets per power of two of nanoseconds, so any percentile
 * is within 12.5% and the max is exact.  Beside it, the durations are counted exactly in
 * the fixed bounds of provost_latency_bounds_ns (for Prometheus' histogram): decimal
 * bounds fall inside the log-linear buckets, which could not be summed into them exactly.
 *
 * A shard's cells come in chunks of 64 ids, taken from the database's counters file
 * (cfile.c) once the engine has one, so that another process can read them while this
 * one runs; only the taking of a chunk (once per thread per 64 ids) is slower for it.
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

#define MAX_CHUNKS (PVM_CF_MAX_IDS / PVM_CHUNK)

const uint64_t provost_latency_bounds_ns[PROVOST_LATENCY_BOUNDS] = {
    100000,    500000,    1000000,   2500000,   5000000,    10000000,
    25000000,  100000000, 250000000, 1000000000, 10000000000, 60000000000};

typedef struct shard {
    _Atomic(pvm_cell *) chunks[MAX_CHUNKS];
    uint32_t number;
    struct shard *next;
} shard;

typedef struct name {
    char *ns, *proc;
    bool perf;
} name;

struct pvm_counters {
    pthread_key_t key;
    pthread_mutex_t lock; /* shards list, names, the file */
    shard *shards;
    uint32_t nshards;
    name *names;
    size_t nnames, capnames;
    char *dir;              /* where the counters file goes, or NULL */
    pvm_cfile *file;        /* once made */
    bool file_failed;       /* could not be made: memory only, not tried again */
    _Atomic(pvm_cf_engine *) engine; /* the engine-wide slots: the file's or mem_engine */
    pvm_cf_engine mem_engine[PVM_CF_ENGINE_SLOTS];
    _Atomic(pvm_cf_fails *) fails; /* failures by code: the file's or mem_fails */
    pvm_cf_fails mem_fails;
    _Atomic int rollbacks; /* the slot of provost_rollbacks_total, -1 until taken */
    pthread_mutex_t recent_lock;
    provost_failure_event recent[PVM_RECENT]; /* a ring: the next goes at recent_next */
    size_t recent_next, nrecent;
};

/* Seconds, from a clock cheap enough to read on every call (a few ms of resolution), and
 * the same in every process of the machine (readers of the file compute rates with it). */
static inline uint64_t coarse_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec;
}

uint64_t pvm_coarse_sec(void)
{
    return coarse_sec();
}

uint64_t pvm_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void event_clear(provost_failure_event *v)
{
    free(v->principal);
    free(v->ns);
    free(v->proc);
    free(v->message);
    memset(v, 0, sizeof *v);
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
    pthread_mutex_init(&c->recent_lock, NULL);
    atomic_init(&c->rollbacks, -1);
    return c;
}

void pvm_counters_free(pvm_counters *c)
{
    if (!c)
        return;
    for (shard *s = c->shards, *next; s; s = next) {
        next = s->next;
        for (size_t i = 0; i < MAX_CHUNKS; i++) {
            pvm_cell *chunk = atomic_load(&s->chunks[i]);
            if (!pvm_cfile_owns(c->file, chunk))
                free(chunk);
        }
        free(s);
    }
    pvm_cfile_close(c->file);
    for (size_t i = 0; i < c->nnames; i++) {
        free(c->names[i].ns);
        free(c->names[i].proc);
    }
    free(c->names);
    for (size_t i = 0; i < PVM_RECENT; i++)
        event_clear(&c->recent[i]);
    pthread_mutex_destroy(&c->recent_lock);
    free(c->dir);
    pthread_key_delete(c->key);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int pvm_counters_set_dir(pvm_counters *c, const char *dir)
{
    char *d = strdup(dir);
    if (!d)
        return -1;
    pthread_mutex_lock(&c->lock);
    free(c->dir);
    c->dir = d;
    pthread_mutex_unlock(&c->lock);
    return 0;
}

/* Writes names [from, to) into the file (lock held). */
static void file_names(pvm_counters *c, size_t from, size_t to)
{
    for (size_t i = from; i < to;) {
        pvm_named v[64];
        size_t n = 0;
        for (; i < to && n < 64; i++, n++)
            v[n] = (pvm_named){.ns = c->names[i].ns, .proc = c->names[i].proc, .perf = c->names[i].perf};
        if (pvm_cfile_names(c->file, (uint32_t)(i - n), v, n) != 0)
            return;
    }
}

/* The file, made on first use (lock held), or NULL: memory only. */
static pvm_cfile *file_of(pvm_counters *c)
{
    if (c->file || c->file_failed || !c->dir)
        return c->file;
    char why[512];
    c->file = pvm_cfile_create(c->dir, why, sizeof why);
    if (!c->file) {
        c->file_failed = true;
        return NULL;
    }
    file_names(c, 0, c->nnames);
    return c->file;
}

uint32_t pvm_counters_reserve(pvm_counters *c, const char *ns, const pvm_bundle *b)
{
    pthread_mutex_lock(&c->lock);
    uint32_t base = (uint32_t)c->nnames;
    size_t need = c->nnames + b->nprocs;
    if (need > (size_t)PVM_CHUNK * MAX_CHUNKS) {
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
    if (c->file)
        file_names(c, base, c->nnames);
    pthread_mutex_unlock(&c->lock);
    return base;
}

/* A new chunk for shard s at chunk index k: in the file when there is one (lock held).
 * Once per thread per 64 ids: kept out of the hot path's code. */
__attribute__((noinline, cold)) static pvm_cell *new_chunk(pvm_counters *c, shard *s, size_t k)
{
    pvm_cfile *f = file_of(c);
    pvm_cell *chunk = f ? pvm_cfile_cells(f, s->number, (uint32_t)(k * PVM_CHUNK)) : NULL;
    if (!chunk) {
        chunk = aligned_alloc(_Alignof(pvm_cell), PVM_CHUNK * sizeof *chunk);
        if (chunk)
            memset(chunk, 0, PVM_CHUNK * sizeof *chunk);
    }
    return chunk;
}

/* The calling thread's shard, made on its first call (lock taken once). */
__attribute__((noinline, cold)) static shard *new_shard(pvm_counters *c)
{
    shard *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_lock(&c->lock);
    s->number = c->nshards++;
    s->next = c->shards;
    c->shards = s;
    pthread_mutex_unlock(&c->lock);
    pthread_setspecific(c->key, s);
    return s;
}

__attribute__((noinline, cold)) static pvm_cell *chunk_for(pvm_counters *c, shard *s, uint32_t id)
{
    pthread_mutex_lock(&c->lock);
    pvm_cell *chunk = new_chunk(c, s, id / PVM_CHUNK);
    pthread_mutex_unlock(&c->lock);
    if (chunk)
        atomic_store_explicit(&s->chunks[id / PVM_CHUNK], chunk, memory_order_release);
    return chunk;
}

static inline pvm_cell *cell_of(pvm_counters *c, uint32_t id)
{
    if (id == PROVOST_NONE)
        return NULL;
    shard *s = pthread_getspecific(c->key);
    if (!s && !(s = new_shard(c)))
        return NULL;
    pvm_cell *chunk = atomic_load_explicit(&s->chunks[id / PVM_CHUNK], memory_order_acquire);
    if (!chunk && !(chunk = chunk_for(c, s, id)))
        return NULL;
    return &chunk[id % PVM_CHUNK];
}

/* Only the owning thread writes a cell: a relaxed load and store is enough. */
#define BUMP(field, by) \
    atomic_store_explicit(&(field), atomic_load_explicit(&(field), memory_order_relaxed) + (by), \
                          memory_order_relaxed)

void pvm_counters_begin(pvm_counters *c, uint32_t id)
{
    pvm_cell *x = cell_of(c, id);
    if (x)
        BUMP(x->executing, 1);
}

void pvm_counters_end(pvm_counters *c, uint32_t id, int outcome, uint64_t elapsed)
{
    pvm_cell *x = cell_of(c, id);
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
    BUMP(x->hist[pu_hist_bucket(PVM_SUB_BITS, elapsed)], 1);
    unsigned le = 0;
    while (le < PROVOST_LATENCY_BOUNDS && elapsed > provost_latency_bounds_ns[le])
        le++;
    BUMP(x->le[le], 1);
    uint64_t sec = coarse_sec();
    unsigned slot = (unsigned)(sec % PVM_RATE_WINDOW);
    if (atomic_load_explicit(&x->rate_sec[slot], memory_order_relaxed) != sec) {
        atomic_store_explicit(&x->rate_n[slot], 0, memory_order_relaxed);
        atomic_store_explicit(&x->rate_sec[slot], sec, memory_order_relaxed);
    }
    BUMP(x->rate_n[slot], 1);
}

/* ---- engine-wide counters --------------------------------------------------------------- */

int pvm_counters_engine_slot(pvm_counters *c, const char *nm, int kind)
{
    if (strlen(nm) >= sizeof c->mem_engine[0].name)
        return -1;
    pthread_mutex_lock(&c->lock);
    pvm_cf_engine *v = atomic_load_explicit(&c->engine, memory_order_relaxed);
    if (!v) {
        pvm_cfile *f = file_of(c);
        v = f ? pvm_cfile_engine(f) : c->mem_engine;
        atomic_store_explicit(&c->engine, v, memory_order_release);
    }
    int slot = -1;
    for (int i = 0; i < PVM_CF_ENGINE_SLOTS && slot < 0; i++) {
        if (!atomic_load_explicit(&v[i].in_use, memory_order_relaxed)) {
            memset(v[i].name, 0, sizeof v[i].name);
            strcpy(v[i].name, nm);
            v[i].kind = (uint32_t)kind;
            atomic_store_explicit(&v[i].in_use, 1, memory_order_release);
            slot = i;
        } else if (strcmp(v[i].name, nm) == 0) {
            slot = i;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return slot;
}

void pvm_counters_engine_add(pvm_counters *c, int slot, uint64_t by)
{
    pvm_cf_engine *v = atomic_load_explicit(&c->engine, memory_order_acquire);
    if (v && slot >= 0 && slot < PVM_CF_ENGINE_SLOTS)
        atomic_fetch_add_explicit(&v[slot].value, by, memory_order_relaxed);
}

void pvm_counters_engine_set(pvm_counters *c, int slot, uint64_t value)
{
    pvm_cf_engine *v = atomic_load_explicit(&c->engine, memory_order_acquire);
    if (v && slot >= 0 && slot < PVM_CF_ENGINE_SLOTS)
        atomic_store_explicit(&v[slot].value, value, memory_order_relaxed);
}

/* Rarer than calls: an atomic add into the slot of the code, claimed by its first failure. */
static void tally(pvm_counters *c, uint32_t code)
{
    pvm_cf_fails *v = atomic_load_explicit(&c->fails, memory_order_acquire);
    if (!v) {
        pthread_mutex_lock(&c->lock);
        v = atomic_load_explicit(&c->fails, memory_order_relaxed);
        if (!v) {
            pvm_cfile *f = file_of(c);
            v = f ? pvm_cfile_fails(f) : &c->mem_fails;
            atomic_store_explicit(&c->fails, v, memory_order_release);
        }
        pthread_mutex_unlock(&c->lock);
    }
    if (code == 0)
        return;
    for (int i = 0; i < PVM_CF_FAIL_SLOTS; i++) {
        uint32_t have = atomic_load_explicit(&v->slot[i].code, memory_order_acquire);
        if (have == 0) {
            uint32_t none = 0;
            if (atomic_compare_exchange_strong_explicit(&v->slot[i].code, &none, code, memory_order_acq_rel,
                                                        memory_order_acquire))
                have = code;
            else
                have = none; /* another thread claimed it meanwhile: for this code, or not */
        }
        if (have == code) {
            atomic_fetch_add_explicit(&v->slot[i].count, 1, memory_order_relaxed);
            return;
        }
    }
    atomic_fetch_add_explicit(&v->other, 1, memory_order_relaxed);
}

void pvm_counters_rolled_back(pvm_counters *c)
{
    int slot = atomic_load_explicit(&c->rollbacks, memory_order_acquire);
    if (slot < 0) { /* finding a slot by name is idempotent: racing threads agree */
        slot = pvm_counters_engine_slot(c, "provost_rollbacks_total", PVM_ENGINE_COUNTER);
        atomic_store_explicit(&c->rollbacks, slot, memory_order_release);
    }
    pvm_counters_engine_add(c, slot, 1);
}

static char *dup_cut(const char *s, size_t max)
{
    return strndup(s ? s : "", max);
}

void pvm_counters_failed(pvm_counters *c, uint32_t code, const char *principal, const char *ns, const char *proc,
                         const char *message)
{
    tally(c, code);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    provost_failure_event v = {.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
                               .principal = dup_cut(principal, 256), .ns = dup_cut(ns, 256),
                               .proc = dup_cut(proc, 256), .code = code, .message = dup_cut(message, 200)};
    if (!v.principal || !v.ns || !v.proc || !v.message) {
        event_clear(&v);
        return;
    }
    pthread_mutex_lock(&c->recent_lock);
    provost_failure_event old = c->recent[c->recent_next];
    c->recent[c->recent_next] = v;
    c->recent_next = (c->recent_next + 1) % PVM_RECENT;
    if (c->nrecent < PVM_RECENT)
        c->nrecent++;
    pthread_mutex_unlock(&c->recent_lock);
    event_clear(&old);
}

int pvm_counters_recent(pvm_counters *c, provost_failure_event **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    provost_failure_event *v = calloc(PVM_RECENT, sizeof *v);
    if (!v)
        return -1;
    int rc = 0;
    pthread_mutex_lock(&c->recent_lock);
    size_t k = 0;
    for (; rc == 0 && k < c->nrecent; k++) {
        const provost_failure_event *e = &c->recent[(c->recent_next + PVM_RECENT - 1 - k) % PVM_RECENT];
        v[k] = (provost_failure_event){.time_ms = e->time_ms, .principal = strdup(e->principal),
                                       .ns = strdup(e->ns), .proc = strdup(e->proc), .code = e->code,
                                       .message = strdup(e->message)};
        if (!v[k].principal || !v[k].ns || !v[k].proc || !v[k].message)
            rc = -1;
    }
    pthread_mutex_unlock(&c->recent_lock);
    if (rc != 0) {
        provost_failure_events_free(v, k);
        return -1;
    }
    *out = v;
    *n = k;
    return 0;
}

void provost_failure_events_free(provost_failure_event *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        event_clear(&v[i]);
    free(v);
}

/* ---- reading ------------------------------------------------------------------------------ */

void pvm_total_add(pvm_total *t, const pvm_cell *x, uint64_t now)
{
    t->count += atomic_load_explicit(&x->count, memory_order_relaxed);
    t->ok += atomic_load_explicit(&x->ok, memory_order_relaxed);
    t->failed += atomic_load_explicit(&x->failed, memory_order_relaxed);
    t->in_doubt += atomic_load_explicit(&x->in_doubt, memory_order_relaxed);
    t->sum += atomic_load_explicit(&x->sum, memory_order_relaxed);
    t->executing += atomic_load_explicit(&x->executing, memory_order_relaxed);
    uint64_t m = atomic_load_explicit(&x->max, memory_order_relaxed);
    if (m > t->max)
        t->max = m;
    for (size_t b = 0; b < PVM_NBUCKETS; b++)
        t->hist[b] += atomic_load_explicit(&x->hist[b], memory_order_relaxed);
    for (size_t b = 0; b < PVM_LE_BUCKETS; b++)
        t->le[b] += atomic_load_explicit(&x->le[b], memory_order_relaxed);
    for (unsigned k = 0; k < PVM_RATE_WINDOW; k++) /* the last 10 whole seconds and this one */
        if (now - atomic_load_explicit(&x->rate_sec[k], memory_order_relaxed) < PVM_RATE_WINDOW)
            t->recent += atomic_load_explicit(&x->rate_n[k], memory_order_relaxed);
}

static void total_merge(pvm_total *to, const pvm_total *t)
{
    to->count += t->count;
    to->ok += t->ok;
    to->failed += t->failed;
    to->in_doubt += t->in_doubt;
    to->sum += t->sum;
    to->recent += t->recent;
    to->executing += t->executing;
    if (t->max > to->max)
        to->max = t->max;
    for (size_t b = 0; b < PVM_NBUCKETS; b++)
        to->hist[b] += t->hist[b];
    for (size_t b = 0; b < PVM_LE_BUCKETS; b++)
        to->le[b] += t->le[b];
}

/* In microseconds: the top of the bucket the value falls in, at most the exact max.  The
 * histogram's own total ranks, not `count`: read while written, the two may differ by
 * the calls that ended in between. */
static double percentile(const pvm_total *t, uint64_t in_hist, double q)
{
    size_t b = pu_hist_rank(t->hist, PVM_NBUCKETS, in_hist, q);
    if (b == PVM_NBUCKETS)
        return (double)t->max / 1000.0;
    uint64_t low, top;
    pu_hist_bucket_range(PVM_SUB_BITS, b, &low, &top);
    return (double)(top < t->max ? top : t->max) / 1000.0;
}

static void summarise(const pvm_named *nm, const pvm_total *t, provost_proc_stats *v)
{
    uint64_t in_hist = 0;
    for (size_t b = 0; b < PVM_NBUCKETS; b++)
        in_hist += t->hist[b];
    *v = (provost_proc_stats){
        .ns = strdup(nm->ns), .proc = strdup(nm->proc), .perf_enabled = nm->perf,
        .count = t->count, .succeeded = t->ok, .failed = t->failed, .in_doubt = t->in_doubt,
        .executing = t->executing, .p50 = percentile(t, in_hist, 0.50), .p90 = percentile(t, in_hist, 0.90),
        .p99 = percentile(t, in_hist, 0.99), .p999 = percentile(t, in_hist, 0.999),
        .max = (double)t->max / 1000.0, .rate = (double)t->recent / PVM_RATE_WINDOW,
        .mean = t->count ? (double)t->sum / (double)t->count / 1000.0 : 0, .latency_sum_ns = t->sum};
    memcpy(v->latency, t->le, sizeof v->latency);
}

int pvm_totals_stats(const pvm_named *names, const pvm_total *totals, size_t n, provost_proc_stats **out,
                     size_t *nout)
{
    *out = NULL;
    *nout = 0;
    /* procedures re-registered under the same name are reported once */
    size_t *first = calloc(n ? n : 1, sizeof *first);
    pvm_total *g = calloc(n ? n : 1, sizeof *g);
    if (!first || !g) {
        free(first);
        free(g);
        return -1;
    }
    size_t ngroups = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < ngroups && !(pu_strieq(names[first[k]].ns, names[i].ns) &&
                                pu_strieq(names[first[k]].proc, names[i].proc)))
            k++;
        if (k == ngroups)
            first[ngroups++] = i;
        total_merge(&g[k], &totals[i]);
    }
    size_t used = 0;
    for (size_t k = 0; k < ngroups; k++)
        used += g[k].count || g[k].executing;
    provost_proc_stats *v = calloc(used ? used : 1, sizeof *v);
    for (size_t k = 0, j = 0; v && k < ngroups; k++)
        if (g[k].count || g[k].executing)
            summarise(&names[first[k]], &g[k], &v[j++]);
    free(first);
    free(g);
    if (!v)
        return -1;
    *out = v;
    *nout = used;
    return 0;
}

int pvm_counters_read(pvm_counters *c, provost_proc_stats **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&c->lock);
    size_t nn = c->nnames;
    pvm_total *t = calloc(nn ? nn : 1, sizeof *t);
    pvm_named *names = calloc(nn ? nn : 1, sizeof *names);
    int rc = -1;
    if (t && names) {
        uint64_t now = pvm_coarse_sec();
        for (shard *s = c->shards; s; s = s->next)
            for (size_t i = 0; i < nn; i++) {
                pvm_cell *chunk = atomic_load_explicit(&s->chunks[i / PVM_CHUNK], memory_order_acquire);
                if (chunk)
                    pvm_total_add(&t[i], &chunk[i % PVM_CHUNK], now);
            }
        for (size_t i = 0; i < nn; i++)
            names[i] = (pvm_named){.ns = c->names[i].ns, .proc = c->names[i].proc, .perf = c->names[i].perf};
        rc = pvm_totals_stats(names, t, nn, out, n);
    }
    pthread_mutex_unlock(&c->lock);
    free(t);
    free(names);
    return rc;
}
