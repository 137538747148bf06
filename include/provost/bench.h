/*
 * provost/bench.h -- a load test: one public procedure (or one trusted request) run over
 * and over from N threads, measured after a warmup; the runner behind `provost bench`.
 *
 * The result holds the throughput, the latency distribution (histogram and series over
 * time), the failures by code and every procedure's counters, and writes itself as the
 * text, JSON or SVG report.  The runner never writes to the terminal: progress goes to a
 * callback.
 */
#ifndef PROVOST_BENCH_H
#define PROVOST_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "provost/provost.h"

#define PROVOST_BENCH_MAX_THREADS 64

/* A snapshot for a progress line (called on the thread that called provost_bench_run). */
typedef struct provost_bench_progress {
    double elapsed;    /* seconds of the measured run */
    uint64_t done, failed;
    uint64_t budget;   /* requests asked for, or 0: a duration */
    double fraction;   /* of the duration elapsed, 0..1 (a duration only) */
    double rate;       /* requests per second since the last snapshot */
    double mean_us;    /* their mean latency */
} provost_bench_progress;

typedef struct provost_bench_options {
    const char *ns, *proc;   /* call this public procedure, or NULL: text is a request */
    const char *text;        /* the call's data (NULL: none), or the request */
    size_t len;
    const char *request_name, *data_name; /* how the report names them (or NULL) */
    int threads;             /* 1 to PROVOST_BENCH_MAX_THREADS */
    uint64_t requests;       /* measure this many, or 0: for duration seconds */
    double duration, warmup; /* seconds; no warmup at 0 */
    /* The database, opened after the checks and again after the warmup so that the
     * counters count the measured run only: with open_engine if given (it returns NULL
     * after reporting why), else provost_open. */
    provost_options engine;
    provost_engine *(*open_engine)(void *ctx, const provost_options *o);
    double progress_every; /* seconds (0: never) */
    void (*progress)(void *ctx, const provost_bench_progress *p);
    void *ctx;
} provost_bench_options;

/* Failures of one code (code 0, "other codes": past the first 32 codes). */
typedef struct provost_bench_error {
    uint32_t code;
    uint64_t count;
    char sample[200]; /* the first message seen with this code */
} provost_bench_error;

typedef struct provost_bench_report provost_bench_report; /* histogram, series: for the reports */

typedef struct provost_bench_result {
    uint64_t requests, failed;
    double elapsed; /* seconds measured */
    double p50_us, p90_us, p99_us, p999_us, min_us, max_us, mean_us;
    const provost_bench_error *errors; /* most frequent first */
    size_t nerrors;
    const provost_proc_stats *procs;   /* the counters of the measured run */
    size_t nprocs;
    provost_bench_report *report;
    uint64_t journal_syncs, journal_writes; /* provost_journal_syncs and _writes of the measured run */
} provost_bench_result;

/* Return values of provost_bench_run besides 0. */
#define PROVOST_BENCH_ERROR (-1) /* err says why (empty: open_engine reported it) */
#define PROVOST_BENCH_BAD_INPUT (-2) /* the first request could not run: err is the engine's message */

int provost_bench_run(const provost_bench_options *o, provost_bench_result *r, char *err, size_t errlen);
void provost_bench_result_free(provost_bench_result *r);

enum provost_bench_format { PROVOST_BENCH_TEXT, PROVOST_BENCH_JSON, PROVOST_BENCH_SVG };
/* 0, or -1 when it could not be written whole (the stream's error). */
int provost_bench_write(const provost_bench_result *r, int format, FILE *to);

#endif
