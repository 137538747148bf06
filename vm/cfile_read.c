/*
 * cfile_read.c -- reads a database's counters file (cfile.h) from any process, while its
 * engine writes it or after that engine ended, without the database's lock.
 *
 * Nothing in the file is trusted: every size, offset and count is checked against the
 * file before it is used, and a file that is not one this version wrote (or is cut short
 * or damaged) is refused with a one-line reason.  Counts are read with relaxed atomic
 * loads while the writer goes on: a snapshot is not one instant (a call may be in
 * `count` and not yet in the histogram), which is tolerated: percentiles rank within the
 * histogram as read, and every figure is at most a few calls behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provost/stats.h"
#include "cfile.h"

typedef struct view {
    const char *path;
    int fd;
    const unsigned char *base;
    uint64_t size, used;
    char *err;
    size_t errlen;
} view;

static int bad(view *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(view *v, const char *fmt, ...)
{
    int k = snprintf(v->err, v->errlen, "%s: ", v->path);
    va_list ap;
    va_start(ap, fmt);
    if (k >= 0 && (size_t)k < v->errlen)
        vsnprintf(v->err + k, v->errlen - (size_t)k, fmt, ap);
    va_end(ap);
    return -1;
}

static const pvm_cf_header *header(const view *v)
{
    return (const pvm_cf_header *)v->base;
}

/* Maps the file whole, again if it grew past the mapping since (the writer appends). */
static int map(view *v)
{
    for (int tries = 0; tries < 4; tries++) {
        struct stat st;
        if (fstat(v->fd, &st) != 0)
            return bad(v, "%s", strerror(errno));
        if (!S_ISREG(st.st_mode))
            return bad(v, "not a regular file");
        if ((uint64_t)st.st_size < PVM_CF_HEADER)
            return bad(v, "truncated: %lld bytes, shorter than the %d-byte header", (long long)st.st_size,
                       PVM_CF_HEADER);
        if (v->base)
            munmap((void *)v->base, v->size);
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, v->fd, 0);
        if (m == MAP_FAILED) {
            v->base = NULL;
            return bad(v, "%s", strerror(errno));
        }
        v->base = m;
        v->size = (uint64_t)st.st_size;
        const pvm_cf_header *h = header(v);
        if (memcmp(h->magic, PVM_CF_MAGIC, 8) != 0)
            return bad(v, "not a counters file (bad magic)");
        if (h->version < PVM_CF_VERSION && h->version > 0)
            return bad(v, "format version %u, an older provost's; this one reads version %d (the file is replaced "
                          "when an engine next runs a procedure on this database)", h->version, PVM_CF_VERSION);
        if (h->version != PVM_CF_VERSION)
            return bad(v, "format version %u; this provost reads version %d", h->version, PVM_CF_VERSION);
        if (h->header_size != PVM_CF_HEADER || h->cell_size != sizeof(pvm_cell) || h->chunk_cells != PVM_CHUNK ||
            h->subbits != PVM_SUB_BITS || h->nbuckets != PVM_NBUCKETS || h->rate_window != PVM_RATE_WINDOW ||
            h->engine_slots != PVM_CF_ENGINE_SLOTS || h->le_buckets != PVM_LE_BUCKETS ||
            h->fail_slots != PVM_CF_FAIL_SLOTS)
            return bad(v, "damaged header: its layout is not version %d's", PVM_CF_VERSION);
        v->used = atomic_load_explicit(&((pvm_cf_header *)h)->used, memory_order_acquire);
        if (v->used < PVM_CF_HEADER || v->used % 64)
            return bad(v, "damaged header: %llu bytes in use", (unsigned long long)v->used);
        if (v->used <= v->size)
            return 0;
    }
    return bad(v, "truncated: the header says %llu bytes are in use, the file has %llu", (unsigned long long)v->used,
               (unsigned long long)v->size);
}

static int writer_state(view *v)
{
    if (flock(v->fd, LOCK_SH | LOCK_NB) != 0)
        return errno == EWOULDBLOCK ? PROVOST_WRITER_LIVE : PROVOST_WRITER_DIED;
    flock(v->fd, LOCK_UN);
    uint32_t s = atomic_load_explicit(&((pvm_cf_header *)header(v))->state, memory_order_acquire);
    return s == PVM_CF_CLOSED ? PROVOST_WRITER_EXITED : PROVOST_WRITER_DIED;
}

/* Checks every block; counts the name slots (which the writer appends in id order). */
static int walk(view *v, uint32_t *nnames)
{
    *nnames = 0;
    for (uint64_t off = PVM_CF_HEADER; off < v->used;) {
        const pvm_cf_block *b = (const pvm_cf_block *)(v->base + off);
        if (v->used - off < sizeof *b || b->size < sizeof *b || b->size % 64 || b->size > v->used - off)
            return bad(v, "damaged block at byte %llu", (unsigned long long)off);
        if (b->type == PVM_CF_NAMES) {
            if (b->first != *nnames || b->count == 0 || b->count > PVM_CF_MAX_IDS - b->first ||
                b->size != sizeof *b + (uint64_t)b->count * sizeof(pvm_cf_name))
                return bad(v, "damaged name block at byte %llu", (unsigned long long)off);
            const pvm_cf_name *slot = (const pvm_cf_name *)(b + 1);
            for (uint32_t i = 0; i < b->count; i++)
                if ((size_t)slot[i].ns_len + slot[i].proc_len + 2 > PVM_CF_NAME_TEXT)
                    return bad(v, "damaged name slot %u", b->first + i);
            *nnames += b->count;
        } else if (b->type == PVM_CF_CELLS) {
            if (b->count != PVM_CHUNK || b->first % PVM_CHUNK || b->first >= PVM_CF_MAX_IDS ||
                b->size != sizeof *b + (uint64_t)PVM_CHUNK * sizeof(pvm_cell))
                return bad(v, "damaged cell block at byte %llu", (unsigned long long)off);
        } else {
            return bad(v, "unknown block type 0x%08x at byte %llu", b->type, (unsigned long long)off);
        }
        off += b->size;
    }
    return 0;
}

static int procedures(view *v, uint32_t nnames, provost_live_stats *out)
{
    pvm_named *names = calloc(nnames ? nnames : 1, sizeof *names);
    pvm_total *t = calloc(nnames ? nnames : 1, sizeof *t);
    char **text = calloc(nnames ? nnames : 1, 2 * sizeof *text);
    int rc = names && t && text ? 0 : -1;
    uint64_t now = pvm_coarse_sec();
    for (uint64_t off = PVM_CF_HEADER; rc == 0 && off < v->used;) {
        const pvm_cf_block *b = (const pvm_cf_block *)(v->base + off);
        if (b->type == PVM_CF_NAMES) {
            const pvm_cf_name *slot = (const pvm_cf_name *)(b + 1);
            for (uint32_t i = 0; rc == 0 && i < b->count; i++) {
                uint32_t id = b->first + i;
                text[2 * id] = strndup(slot[i].text, slot[i].ns_len);
                text[2 * id + 1] = strndup(slot[i].text + slot[i].ns_len + 1, slot[i].proc_len);
                if (!text[2 * id] || !text[2 * id + 1])
                    rc = -1;
                else
                    names[id] = (pvm_named){.ns = text[2 * id], .proc = text[2 * id + 1],
                                            .perf = (slot[i].flags & PVM_CF_PERF) != 0};
            }
        } else {
            const pvm_cell *cells = (const pvm_cell *)(b + 1);
            for (uint32_t i = 0; i < PVM_CHUNK && b->first + i < nnames; i++)
                pvm_total_add(&t[b->first + i], &cells[i], now);
        }
        off += b->size;
    }
    if (rc == 0)
        rc = pvm_totals_stats(names, t, nnames, &out->procs, &out->nprocs);
    for (size_t i = 0; text && i < 2 * (size_t)nnames; i++)
        free(text[i]);
    free(text);
    free(names);
    free(t);
    return rc == 0 ? 0 : bad(v, "out of memory");
}

static int engine_counters(view *v, provost_live_stats *out)
{
    const pvm_cf_engine *slot = header(v)->engine;
    out->engine = calloc(PVM_CF_ENGINE_SLOTS, sizeof *out->engine);
    if (!out->engine)
        return bad(v, "out of memory");
    for (int i = 0; i < PVM_CF_ENGINE_SLOTS; i++) {
        if (!atomic_load_explicit(&((pvm_cf_engine *)slot)[i].in_use, memory_order_acquire))
            continue;
        if (!memchr(slot[i].name, 0, sizeof slot[i].name) || !slot[i].name[0])
            return bad(v, "damaged engine counter %d", i);
        provost_engine_counter *c = &out->engine[out->nengine++];
        c->name = strdup(slot[i].name);
        c->gauge = slot[i].kind == 1;
        c->value = atomic_load_explicit(&((pvm_cf_engine *)slot)[i].value, memory_order_relaxed);
        if (!c->name)
            return bad(v, "out of memory");
    }
    return 0;
}

static int by_count(const void *a, const void *b)
{
    const provost_failure_count *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return x->code < y->code ? -1 : x->code > y->code;
}

/* Failed requests by code, most frequent first; those past the table as code 0. */
static int failures(view *v, provost_live_stats *out)
{
    pvm_cf_fails *t = &((pvm_cf_header *)header(v))->fails;
    out->failures = calloc(PVM_CF_FAIL_SLOTS + 1, sizeof *out->failures);
    if (!out->failures)
        return bad(v, "out of memory");
    for (int i = 0; i < PVM_CF_FAIL_SLOTS; i++) {
        uint32_t code = atomic_load_explicit(&t->slot[i].code, memory_order_acquire);
        uint64_t n = atomic_load_explicit(&t->slot[i].count, memory_order_relaxed);
        if (code && n)
            out->failures[out->nfailures++] = (provost_failure_count){.code = code, .count = n};
    }
    uint64_t other = atomic_load_explicit(&t->other, memory_order_relaxed);
    if (other)
        out->failures[out->nfailures++] = (provost_failure_count){.code = 0, .count = other};
    qsort(out->failures, out->nfailures, sizeof *out->failures, by_count);
    return 0;
}

int provost_live_stats_read(const char *db_dir, provost_live_stats *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char path[4096];
    view v = {.path = path, .fd = -1, .err = err, .errlen = errlen};
    if ((size_t)snprintf(path, sizeof path, "%s/counters", db_dir) >= sizeof path) {
        snprintf(err, errlen, "%s: path too long", db_dir);
        return -1;
    }
    v.fd = open(path, O_RDONLY | O_CLOEXEC);
    if (v.fd < 0)
        return errno == ENOENT ? 0 : bad(&v, "%s", strerror(errno));
    uint32_t nnames = 0;
    int rc = map(&v);
    if (rc == 0) {
        const pvm_cf_header *h = header(&v);
        out->writer = writer_state(&v);
        out->version = h->version;
        out->generation = h->generation;
        out->pid = h->pid;
        out->started = h->started;
        out->incomplete = (atomic_load_explicit(&((pvm_cf_header *)h)->flags, memory_order_relaxed) & PVM_CF_FULL) != 0;
        rc = walk(&v, &nnames);
    }
    if (rc == 0)
        rc = procedures(&v, nnames, out);
    if (rc == 0)
        rc = engine_counters(&v, out);
    if (rc == 0)
        rc = failures(&v, out);
    if (v.base)
        munmap((void *)v.base, v.size);
    close(v.fd);
    if (rc != 0)
        provost_live_stats_free(out);
    return rc;
}

void provost_live_stats_free(provost_live_stats *s)
{
    provost_stats_free(s->procs, s->nprocs);
    for (size_t i = 0; s->engine && i < s->nengine; i++)
        free(s->engine[i].name);
    free(s->engine);
    free(s->failures);
    memset(s, 0, sizeof *s);
}
