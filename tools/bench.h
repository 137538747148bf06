/*
 * bench.h -- shared by the files of `provost bench`: the latency histogram, the series
 * over time, and what the report (text, JSON, SVG) is made from.
 */
#ifndef PROVOST_TOOLS_BENCH_H
#define PROVOST_TOOLS_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "provost/provost.h"

/* ---- bench_hist.c ------------------------------------------------------------------- */

/* A log-linear (HDR-style) histogram of nanoseconds: 2^subbits buckets per power of two,
 * so a value is kept within 1/2^subbits of itself (exact below 2^subbits ns); min, max
 * and the sum are exact. */
typedef struct bhist {
    unsigned subbits;
    uint64_t *counts;
    size_t nbuckets;
    uint64_t total, min, max, sum;
} bhist;

int bhist_init(bhist *h, unsigned subbits);
void bhist_free(bhist *h);
void bhist_add(bhist *h, uint64_t ns);
void bhist_merge(bhist *to, const bhist *from);
/* The value (ns) at quantile q (0..1): the top of the bucket it falls in, at most max. */
uint64_t bhist_quantile(const bhist *h, double q);
/* The range of values bucket b holds: [low, high]. */
void bhist_bucket_range(const bhist *h, size_t b, uint64_t *low, uint64_t *high);

/* Latency over time: one coarse histogram per interval of width_ns from the start.  When
 * the intervals would pass BSERIES_MAX, pairs are merged and the width doubles, so a run
 * of any length keeps a bounded, evenly spaced series. */
#define BSERIES_MAX 300
#define BSERIES_SUBBITS 4

typedef struct bseries {
    uint64_t width_ns;
    size_t n; /* intervals in use (the last may be partial) */
    bhist iv[BSERIES_MAX];
} bseries;

void bseries_init(bseries *s, uint64_t width_ns);
void bseries_free(bseries *s);
int bseries_add(bseries *s, uint64_t at_ns, uint64_t latency_ns); /* -1: out of memory */
int bseries_merge(bseries *to, bseries *from); /* from may be coarsened */

/* ---- the report (bench_out.c) -------------------------------------------------------- */

typedef struct berror {
    uint32_t code;
    uint64_t count;
    char sample[200]; /* the first message seen with this code */
} berror;

typedef struct breport {
    const char *ns, *proc;     /* a call, or NULL with request set */
    const char *request;       /* --request FILE, or NULL */
    const char *data;          /* DATA.xml or NULL */
    int threads;
    const char *sync;
    double warmup_s, elapsed_s;
    uint64_t requests, failed;
    const bhist *hist;
    const bseries *series;
    const berror *errors;
    size_t nerrors;
    const provost_proc_stats *procs;
    size_t nprocs;
} breport;

void bench_print_text(const breport *r, FILE *to);
int bench_write_json(const breport *r, FILE *to);
int bench_write_svg(const breport *r, FILE *to);

#endif
