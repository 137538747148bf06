/*
 * cfile.h -- the layout the per-procedure counters share between the engine's memory and
 * the counters file of a database (<db>/counters), which another process maps to read
 * them while the engine runs (SPEC §9; docs/operations.md "Live counters").
 *
 * The file: a 4 KiB header (magic, format version, the layout's sizes, the writer's
 * generation, pid and state, the bytes in use, the engine-wide counters, failed requests
 * by code), then blocks,
 * 64-byte aligned, appended and never moved: NAMES blocks (a fixed-size slot per
 * procedure id: namespace and procedure name) and CELLS blocks (the cells of 64
 * consecutive ids of one writing thread).  A reader sums the cells of every thread by
 * id, then the ids by name.  Everything a reader may see change is an aligned 64-bit (or
 * 32-bit) word written with relaxed atomic stores; a block is complete before `used`
 * covers it (release store).
 */
#ifndef PVM_CFILE_H
#define PVM_CFILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "provost/provost.h"
#include "util/hist.h"

#define PVM_SUB_BITS 3
#define PVM_NBUCKETS PU_HIST_NBUCKETS(PVM_SUB_BITS)
#define PVM_CHUNK 64      /* cells per chunk (and per CELLS block) */
#define PVM_RATE_WINDOW 10 /* seconds: SPEC §9's rate is per second over the last 10 s */
#define PVM_LE_BUCKETS (PROVOST_LATENCY_BOUNDS + 1) /* the fixed-bound histogram, with +Inf */

/* One procedure's counters as one thread keeps them.  Only that thread writes it. */
typedef struct pvm_cell {
    _Alignas(64) _Atomic uint64_t count; /* whole cache lines: neighbours never share one */
    _Atomic uint64_t ok, failed, in_doubt, sum, max;
    _Atomic int64_t executing;
    _Atomic uint64_t rate_sec[PVM_RATE_WINDOW], rate_n[PVM_RATE_WINDOW]; /* calls ended in each second */
    _Atomic uint64_t hist[PVM_NBUCKETS];
    _Atomic uint64_t le[PVM_LE_BUCKETS]; /* by provost_latency_bounds_ns, not cumulative */
} pvm_cell;
_Static_assert(sizeof(pvm_cell) % 64 == 0, "a cell is whole cache lines");

/* Cells summed (over threads, then over ids of one name). */
typedef struct pvm_total {
    uint64_t count, ok, failed, in_doubt, sum, max, recent;
    int64_t executing;
    uint64_t hist[PVM_NBUCKETS];
    uint64_t le[PVM_LE_BUCKETS];
} pvm_total;

typedef struct pvm_named {
    const char *ns, *proc;
    bool perf;
} pvm_named;

/* Adds the cell to t; now: coarse monotonic seconds, for the rate. */
void pvm_total_add(pvm_total *t, const pvm_cell *x, uint64_t now);
/* Groups ids by name (without case) and summarises each group that ran; totals[i] is
 * id i's.  0, or -1 when out of memory. */
int pvm_totals_stats(const pvm_named *names, const pvm_total *totals, size_t n, provost_proc_stats **out,
                     size_t *nout);
uint64_t pvm_coarse_sec(void);

/* ---- the file ---------------------------------------------------------------------------- */

#define PVM_CF_MAGIC "PVCOUNT"   /* 8 bytes with its NUL */
#define PVM_CF_VERSION 2 /* 2: the fixed-bound histogram in each cell, failures by code */
#define PVM_CF_HEADER 4096
#define PVM_CF_ENGINE_SLOTS 48
#define PVM_CF_FAIL_SLOTS 32
#define PVM_CF_NAME_TEXT 248      /* namespace NUL procedure NUL, in a 256-byte slot */
#define PVM_CF_MAX_IDS (1u << 22) /* as many ids as the engine keeps */

enum { PVM_CF_RUNNING = 1, PVM_CF_CLOSED = 2 };           /* header.state */
enum { PVM_CF_FULL = 1 };                                 /* header.flags */
enum { PVM_CF_NAMES = 0x4e414d45, PVM_CF_CELLS = 0x43454c4c }; /* block.type: "NAME", "CELL" */
enum { PVM_CF_PERF = 1, PVM_CF_TRUNCATED = 2 };           /* name slot flags */

/* An engine-wide counter (not per procedure): a name given once, then its value. */
typedef struct pvm_cf_engine {
    char name[48];
    uint32_t kind;           /* 0 counter, 1 gauge */
    _Atomic uint32_t in_use; /* set (release) once name and kind are written */
    _Atomic uint64_t value;
} pvm_cf_engine;
_Static_assert(sizeof(pvm_cf_engine) == 64, "engine slot");

/* Failed requests by failure code: a slot per code, claimed by the first failure with it
 * (code 0 is free: no failure has code 0); failures once every slot is taken are counted
 * in `other`. */
typedef struct pvm_cf_fail {
    _Atomic uint32_t code;
    uint32_t reserved_;
    _Atomic uint64_t count;
} pvm_cf_fail;
typedef struct pvm_cf_fails {
    _Atomic uint64_t other;
    uint64_t reserved_;
    pvm_cf_fail slot[PVM_CF_FAIL_SLOTS];
} pvm_cf_fails;

typedef struct pvm_cf_header {
    char magic[8];
    uint32_t version, header_size;
    uint32_t cell_size, chunk_cells, subbits, nbuckets;
    uint32_t rate_window, engine_slots;
    uint64_t generation; /* one more than the file it replaced */
    int64_t pid;
    int64_t started;     /* seconds since the epoch */
    uint64_t capacity;   /* the most bytes this writer will use */
    _Atomic uint64_t used;  /* bytes of complete blocks, from the start of the file */
    _Atomic uint32_t state; /* PVM_CF_RUNNING, PVM_CF_CLOSED */
    _Atomic uint32_t flags; /* PVM_CF_FULL: some cells live in the writer's memory only */
    uint32_t le_buckets, fail_slots;
    uint8_t reserved_[256 - 96];
    pvm_cf_engine engine[PVM_CF_ENGINE_SLOTS];
    pvm_cf_fails fails;
} pvm_cf_header;
_Static_assert(sizeof(pvm_cf_header) <= PVM_CF_HEADER, "header");

typedef struct pvm_cf_block {
    uint32_t type, count; /* count: name slots, or cells */
    uint64_t size;        /* bytes, this header included; a multiple of 64 */
    uint32_t first;       /* the id of the first slot or cell */
    uint32_t shard;       /* CELLS: the writing thread's number */
    uint8_t reserved_[40];
} pvm_cf_block;
_Static_assert(sizeof(pvm_cf_block) == 64, "block header");

typedef struct pvm_cf_name {
    uint16_t ns_len, proc_len;
    uint32_t flags;
    char text[PVM_CF_NAME_TEXT];
} pvm_cf_name;
_Static_assert(sizeof(pvm_cf_name) == 256, "name slot");

#endif
