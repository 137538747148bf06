/*
 * rbench.h -- shared by the files of the bench runner: the latency histogram, the series
 * over time, and what the report (text, JSON, SVG) is made from.
 */
#ifndef PROVOST_RUN_RBENCH_H
#define PROVOST_RUN_RBENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "provost/bench.h"
#include "provost/provost.h"
#include "util/hist.h"

/* ---- bench_series.c ----------------------------------------------------------------- */

/* Latency over time: one coarse histogram per interval of width_ns from the start.  When
 * the intervals would pass BSERIES_MAX, pairs are merged and the width doubles, so a run
 * of any length keeps a bounded, evenly spaced series. */
#define BSERIES_MAX 300
#define BSERIES_SUBBITS 4

typedef struct bseries {
    uint64_t width_ns;
    size_t n; /* intervals in use (the last may be partial) */
    pu_hist iv[BSERIES_MAX];
} bseries;

void bseries_init(bseries *s, uint64_t width_ns);
void bseries_free(bseries *s);
int bseries_add(bseries *s, uint64_t at_ns, uint64_t latency_ns); /* -1: out of memory */
int bseries_merge(bseries *to, bseries *from); /* from may be coarsened */

/* ---- the report (bench_out.c) -------------------------------------------------------- */

typedef provost_bench_error berror;

typedef struct breport {
    const char *ns, *proc;     /* a call, or NULL with request set */
    const char *request;       /* --request FILE, or NULL */
    const char *data;          /* DATA.xml or NULL */
    int threads;
    const char *sync;
    double warmup_s, elapsed_s;
    uint64_t requests, failed;
    const pu_hist *hist;
    const bseries *series;
    const berror *errors;
    size_t nerrors;
    const provost_proc_stats *procs;
    size_t nprocs;
    uint64_t journal_syncs, journal_writes; /* made by the measured run */
} breport;

void bench_print_text(const breport *r, FILE *to);
int bench_write_json(const breport *r, FILE *to);
int bench_write_svg(const breport *r, FILE *to);

/* What a result keeps for its reports (bench_run.c makes it). */
#define BENCH_MAX_CODES 32
struct provost_bench_report {
    breport rep;
    pu_hist all;
    bseries *series;
    berror errs[BENCH_MAX_CODES + 1];
    char *ns, *proc, *request, *data; /* copies of the options' */
};

#endif
