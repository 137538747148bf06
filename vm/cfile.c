/*
 * cfile.c -- the writing side of a database's counters file (cfile.h): created by the
 * engine that holds the database (RocksDB lets one process do so), the first time it
 * counts something, so that commands which only look (list, export) leave the last run's
 * counters in place.  The file is made whole under a temporary name and renamed over the
 * old one: a reader sees the old file or the new one, never half of either.
 *
 * The whole capacity is mapped once and the file grows under the mapping (posix_fallocate,
 * so that no later store into a hole can fail for want of disk); blocks never move, so the
 * cell pointers the hot path keeps stay valid for the engine's life.  The writer holds an
 * exclusive flock on the file while it lives: the kernel drops it when the process ends,
 * however it ends, which is how a reader tells a live writer from a dead one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cfile.h"
#include "counters.h"

#define CAPACITY ((uint64_t)1 << 30) /* address space only: the file grows as needed */
#define GROW_STEP ((uint64_t)1 << 20)

struct pvm_cfile {
    int fd;
    unsigned char *base;
    pvm_cf_header *h;
    uint64_t used, size; /* the writer's own copies (it alone appends) */
};

/* The generation of the file about to be replaced, or 0. */
static uint64_t old_generation(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return 0;
    pvm_cf_header h;
    ssize_t got = pread(fd, &h, offsetof(pvm_cf_header, capacity), 0);
    close(fd);
    if (got != (ssize_t)offsetof(pvm_cf_header, capacity) || memcmp(h.magic, PVM_CF_MAGIC, 8) != 0)
        return 0;
    return h.generation;
}

static int grow(pvm_cfile *f, uint64_t to)
{
    if (to <= f->size)
        return 0;
    uint64_t size = (to + GROW_STEP - 1) / GROW_STEP * GROW_STEP;
    if (size > CAPACITY)
        size = CAPACITY;
    if (size < to) {
        errno = ENOSPC;
        return -1;
    }
    int rc = posix_fallocate(f->fd, 0, (off_t)size);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    f->size = size;
    return 0;
}

pvm_cfile *pvm_cfile_create(const char *dir, char *why, size_t whylen)
{
    char path[4096], tmp[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/counters", dir) >= sizeof path ||
        (size_t)snprintf(tmp, sizeof tmp, "%s/counters.new.%ld", dir, (long)getpid()) >= sizeof tmp) {
        snprintf(why, whylen, "database path too long");
        return NULL;
    }
    pvm_cfile *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    f->fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (f->fd < 0) {
        snprintf(why, whylen, "%s: %s", tmp, strerror(errno));
        free(f);
        return NULL;
    }
    void *m = MAP_FAILED;
    if (flock(f->fd, LOCK_EX | LOCK_NB) != 0 || grow(f, PVM_CF_HEADER) != 0 ||
        (m = mmap(NULL, CAPACITY, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0)) == MAP_FAILED) {
        snprintf(why, whylen, "%s: %s", tmp, strerror(errno));
        close(f->fd);
        unlink(tmp);
        free(f);
        return NULL;
    }
    f->base = m;
    f->h = m;
    pvm_cf_header *h = f->h;
    memcpy(h->magic, PVM_CF_MAGIC, 8);
    h->version = PVM_CF_VERSION;
    h->header_size = PVM_CF_HEADER;
    h->cell_size = sizeof(pvm_cell);
    h->chunk_cells = PVM_CHUNK;
    h->subbits = PVM_SUB_BITS;
    h->nbuckets = PVM_NBUCKETS;
    h->rate_window = PVM_RATE_WINDOW;
    h->engine_slots = PVM_CF_ENGINE_SLOTS;
    h->le_buckets = PVM_LE_BUCKETS;
    h->fail_slots = PVM_CF_FAIL_SLOTS;
    h->generation = old_generation(path) + 1;
    h->pid = (int64_t)getpid();
    h->started = (int64_t)time(NULL);
    h->capacity = CAPACITY;
    f->used = PVM_CF_HEADER;
    atomic_store_explicit(&h->state, PVM_CF_RUNNING, memory_order_relaxed);
    atomic_store_explicit(&h->used, f->used, memory_order_release);
    if (rename(tmp, path) != 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        munmap(f->base, CAPACITY);
        close(f->fd);
        unlink(tmp);
        free(f);
        return NULL;
    }
    return f;
}

void pvm_cfile_close(pvm_cfile *f)
{
    if (!f)
        return;
    atomic_store_explicit(&f->h->state, PVM_CF_CLOSED, memory_order_release);
    munmap(f->base, CAPACITY);
    close(f->fd); /* and with it the lock */
    free(f);
}

bool pvm_cfile_owns(const pvm_cfile *f, const void *p)
{
    return f && (const unsigned char *)p >= f->base && (const unsigned char *)p < f->base + CAPACITY;
}

pvm_cf_engine *pvm_cfile_engine(pvm_cfile *f)
{
    return f->h->engine;
}

pvm_cf_fails *pvm_cfile_fails(pvm_cfile *f)
{
    return &f->h->fails;
}

/* A new block of `bytes` (a multiple of 64, header included), or NULL when the file is
 * full (then flagged, so that readers know some counts are missing). */
static pvm_cf_block *append(pvm_cfile *f, uint32_t type, uint64_t bytes)
{
    if (f->used + bytes > CAPACITY || grow(f, f->used + bytes) != 0) {
        atomic_fetch_or_explicit(&f->h->flags, PVM_CF_FULL, memory_order_relaxed);
        return NULL;
    }
    pvm_cf_block *b = (pvm_cf_block *)(f->base + f->used);
    b->type = type;
    b->size = bytes;
    return b;
}

static void publish(pvm_cfile *f, pvm_cf_block *b)
{
    f->used += b->size;
    atomic_store_explicit(&f->h->used, f->used, memory_order_release);
}

int pvm_cfile_names(pvm_cfile *f, uint32_t first, const pvm_named *names, size_t n)
{
    if (n == 0)
        return 0;
    pvm_cf_block *b = append(f, PVM_CF_NAMES, sizeof(pvm_cf_block) + n * sizeof(pvm_cf_name));
    if (!b)
        return -1;
    b->first = first;
    b->count = (uint32_t)n;
    pvm_cf_name *slot = (pvm_cf_name *)(b + 1);
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(names[i].ns), pl = strlen(names[i].proc);
        uint32_t flags = names[i].perf ? PVM_CF_PERF : 0;
        /* names past the slot are cut (and flagged): MPF names are far shorter */
        if (nl > PVM_CF_NAME_TEXT / 2 - 1 && nl + pl + 2 > PVM_CF_NAME_TEXT) {
            nl = PVM_CF_NAME_TEXT / 2 - 1;
            flags |= PVM_CF_TRUNCATED;
        }
        if (nl + pl + 2 > PVM_CF_NAME_TEXT) {
            pl = PVM_CF_NAME_TEXT - nl - 2;
            flags |= PVM_CF_TRUNCATED;
        }
        memcpy(slot[i].text, names[i].ns, nl);
        memcpy(slot[i].text + nl + 1, names[i].proc, pl);
        slot[i].ns_len = (uint16_t)nl;
        slot[i].proc_len = (uint16_t)pl;
        slot[i].flags = flags;
    }
    publish(f, b);
    return 0;
}

pvm_cell *pvm_cfile_cells(pvm_cfile *f, uint32_t shard, uint32_t first)
{
    pvm_cf_block *b = append(f, PVM_CF_CELLS, sizeof(pvm_cf_block) + PVM_CHUNK * sizeof(pvm_cell));
    if (!b)
        return NULL;
    b->first = first;
    b->count = PVM_CHUNK;
    b->shard = shard;
    publish(f, b);
    return (pvm_cell *)(b + 1);
}
