/*
 * bench_run.c -- provost_bench_run: one registered procedure (or a trusted request) run
 * over and over from N threads, measured after a warmup: throughput, the latency
 * distribution, errors by code and every procedure's counters.  Each thread keeps its own
 * histogram and series; they are merged at the end, so measuring takes no lock.
 */
#define _GNU_SOURCE /* strdup */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rbench.h"
#include "util/str.h"

#define SUBBITS 10 /* the histogram: within 0.1% */

typedef struct run {
    const provost_bench_options *o;
    provost_engine *e;
    bool measuring;           /* false: warmup, nothing is kept */
    uint64_t start, deadline; /* ns; deadline 0 with a request budget */
    uint64_t budget;          /* requests */
    atomic_ullong claimed;
    atomic_bool stop;
} run;

typedef struct worker {
    pthread_t th;
    run *run;
    pu_hist hist;
    bseries series;
    berror errs[BENCH_MAX_CODES];
    size_t nerrs;
    uint64_t other_errors; /* codes past BENCH_MAX_CODES */
    bool oom;
    atomic_ullong done, failed, lat_sum; /* read by the progress snapshots */
} worker;

#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), PROVOST_BENCH_ERROR)

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int once(const run *r, provost_engine *e, provost_response *resp, provost_error *err)
{
    const provost_bench_options *o = r->o;
    return o->ns ? provost_call(e, o->ns, o->proc, o->text, o->len, PROVOST_COMPACT, resp, err)
                 : provost_submit(e, o->text, o->len, PROVOST_COMPACT, resp, err);
}

static void count_error(worker *w, uint32_t code, const char *msg)
{
    for (size_t i = 0; i < w->nerrs; i++)
        if (w->errs[i].code == code) {
            w->errs[i].count++;
            return;
        }
    if (w->nerrs == BENCH_MAX_CODES) {
        w->other_errors++;
        return;
    }
    berror *b = &w->errs[w->nerrs++];
    b->code = code;
    b->count = 1;
    snprintf(b->sample, sizeof b->sample, "%s", msg && *msg ? msg : "(no message)");
}

/* The description of a failed response's errorContext, for the error table. */
static void response_message(const provost_response *resp, char *out, size_t cap)
{
    out[0] = 0;
    const char *d = resp->xml ? strstr(resp->xml, "description=\"") : NULL;
    if (!d)
        return;
    d += 13;
    size_t n = 0;
    while (d[n] && d[n] != '"' && n + 1 < cap)
        n++;
    memcpy(out, d, n);
    out[n] = 0;
}

static void measure(worker *w, uint64_t t0, uint64_t t1, int rc, const provost_response *resp,
                    const provost_error *err)
{
    run *r = w->run;
    bool failed = rc != 0 || resp->failed;
    uint64_t lat = t1 - t0;
    pu_hist_add(&w->hist, lat);
    if (bseries_add(&w->series, t1 - r->start, lat) != 0)
        w->oom = true;
    if (failed) {
        char msg[200];
        if (rc != 0)
            snprintf(msg, sizeof msg, "%.199s", err->message);
        else
            response_message(resp, msg, sizeof msg);
        count_error(w, rc != 0 ? err->code : resp->code, msg);
    }
    atomic_fetch_add_explicit(&w->lat_sum, lat, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->failed, failed, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->done, 1, memory_order_relaxed);
}

static void *work(void *arg)
{
    worker *w = arg;
    run *r = w->run;
    for (;;) {
        if (atomic_load_explicit(&r->stop, memory_order_relaxed))
            break;
        if (r->budget && atomic_fetch_add(&r->claimed, 1) >= r->budget)
            break;
        provost_response resp;
        provost_error err;
        uint64_t t0 = now_ns();
        int rc = once(r, r->e, &resp, &err);
        uint64_t t1 = now_ns();
        if (r->measuring)
            measure(w, t0, t1, rc, &resp, &err);
        provost_response_free(&resp);
        if (r->deadline && t1 >= r->deadline)
            break;
    }
    return NULL;
}

/* A progress snapshot since the last one. */
static void progress(const run *r, worker *w, int n, uint64_t *last_done, uint64_t *last_sum, uint64_t *last_t)
{
    uint64_t done = 0, failed = 0, sum = 0, t = now_ns();
    for (int i = 0; i < n; i++) {
        done += atomic_load_explicit(&w[i].done, memory_order_relaxed);
        failed += atomic_load_explicit(&w[i].failed, memory_order_relaxed);
        sum += atomic_load_explicit(&w[i].lat_sum, memory_order_relaxed);
    }
    double dt = (double)(t - *last_t) / 1e9;
    uint64_t dn = done - *last_done;
    provost_bench_progress p = {
        .elapsed = (double)(t - r->start) / 1e9, .done = done, .failed = failed, .budget = r->budget,
        .fraction = r->deadline ? (double)(t - r->start) / (double)(r->deadline - r->start) : 0,
        .rate = dt > 0 ? (double)dn / dt : 0, .mean_us = dn ? (double)(sum - *last_sum) / (double)dn / 1000 : 0};
    r->o->progress(r->o->ctx, &p);
    *last_done = done;
    *last_sum = sum;
    *last_t = t;
}

/* Runs the workers until the budget or the deadline is reached: 0, or -1 (no threads). */
static int run_phase(run *r, worker *w, int n, bool show)
{
    atomic_store(&r->claimed, 0);
    atomic_store(&r->stop, false);
    int started = 0;
    for (; started < n; started++)
        if (pthread_create(&w[started].th, NULL, work, &w[started]) != 0)
            break;
    if (started < n) {
        atomic_store(&r->stop, true);
        for (int i = 0; i < started; i++)
            pthread_join(w[i].th, NULL);
        return -1;
    }
    if (show) {
        uint64_t ld = 0, ls = 0, lt = r->start;
        uint64_t every = (uint64_t)(r->o->progress_every * 1e9);
        for (;;) {
            struct timespec ts = {(time_t)(every / 1000000000u), (long)(every % 1000000000u)};
            nanosleep(&ts, NULL);
            uint64_t done = 0;
            for (int i = 0; i < n; i++)
                done += atomic_load_explicit(&w[i].done, memory_order_relaxed);
            bool over = (r->budget && done >= r->budget) || (r->deadline && now_ns() >= r->deadline);
            progress(r, w, n, &ld, &ls, &lt);
            if (over)
                break;
        }
    }
    for (int i = 0; i < n; i++)
        pthread_join(w[i].th, NULL);
    return 0;
}

static provost_engine *open_engine(const provost_bench_options *o, char *err, size_t errlen)
{
    provost_engine *e = NULL;
    provost_error perr;
    err[0] = 0;
    if (o->open_engine)
        return o->open_engine(o->ctx, &o->engine);
    if (provost_open(&o->engine, &e, &perr) != 0)
        snprintf(err, errlen, "%s: %s", o->engine.db_path, perr.message);
    return e;
}

/* A call of a procedure that is not there, or not public, is bad input, not a benchmark
 * of failures; nor is input that cannot run at all. */
static int check_target(run *r, char *err, size_t errlen)
{
    const provost_bench_options *o = r->o;
    if (o->ns) {
        provost_proc_info *v;
        size_t n, i = 0;
        provost_error perr;
        if (provost_list_procedures(r->e, o->ns, &v, &n, &perr) != 0)
            return FAIL("%s", perr.message);
        while (i < n && !pu_strieq(v[i].name, o->proc))
            i++;
        bool public = i < n && v[i].access;
        provost_proc_info_free(v, n);
        if (i == n)
            return FAIL("namespace '%s' has no procedure '%s'", o->ns, o->proc);
        if (!public)
            return FAIL("procedure '%s' of namespace '%s' is private: only public procedures can be called",
                        o->proc, o->ns);
    }
    provost_response resp;
    provost_error perr;
    int rc = once(r, r->e, &resp, &perr);
    provost_response_free(&resp);
    if (rc != 0)
        return snprintf(err, errlen, "%s", perr.message), PROVOST_BENCH_BAD_INPUT;
    return 0;
}

static int by_count(const void *a, const void *b)
{
    const berror *x = a, *y = b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* The errors of every thread, by code: 0, or -1 out of memory. */
static int merge_workers(worker *w, int n, provost_bench_report *rep, size_t *nerrs)
{
    uint64_t other = 0;
    bool oom = pu_hist_init(&rep->all, SUBBITS) != 0 || !(rep->series = calloc(1, sizeof *rep->series));
    if (rep->series)
        bseries_init(rep->series, w[0].series.width_ns);
    for (int i = 0; i < n && !oom; i++) {
        pu_hist_merge(&rep->all, &w[i].hist);
        oom = bseries_merge(rep->series, &w[i].series) != 0 || w[i].oom;
        other += w[i].other_errors;
        for (size_t k = 0; k < w[i].nerrs; k++) {
            size_t j = 0;
            while (j < *nerrs && rep->errs[j].code != w[i].errs[k].code)
                j++;
            if (j < *nerrs)
                rep->errs[j].count += w[i].errs[k].count;
            else if (*nerrs < BENCH_MAX_CODES)
                rep->errs[(*nerrs)++] = w[i].errs[k];
            else
                other += w[i].errs[k].count;
        }
    }
    if (oom)
        return -1;
    qsort(rep->errs, *nerrs, sizeof *rep->errs, by_count);
    if (other)
        rep->errs[(*nerrs)++] = (berror){.code = 0, .count = other, .sample = "other codes"};
    return 0;
}

static const char *const sync_names[] = {"group", "always", "none"};

static char *copy(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The result and its report, from the merged threads and the engine's counters. */
static int sum_up(run *r, worker *w, double elapsed, provost_bench_result *res)
{
    const provost_bench_options *o = r->o;
    provost_bench_report *rep = calloc(1, sizeof *rep);
    size_t nerrs = 0;
    res->report = rep;
    if (!rep || merge_workers(w, o->threads, rep, &nerrs) != 0)
        return -1;
    provost_proc_stats *procs = NULL;
    size_t nprocs = 0;
    provost_error perr;
    if (provost_stats(r->e, &procs, &nprocs, &perr) != 0)
        nprocs = 0;
    uint64_t failed = 0;
    for (size_t i = 0; i < nerrs; i++)
        failed += rep->errs[i].count;
    rep->ns = copy(o->ns);
    rep->proc = copy(o->proc);
    rep->request = copy(o->request_name);
    rep->data = copy(o->data_name);
    int sync = o->engine.sync >= 0 && o->engine.sync <= 2 ? o->engine.sync : 0;
    const pu_hist *h = &rep->all;
    rep->rep = (breport){.ns = rep->ns, .proc = rep->proc, .request = rep->request, .data = rep->data,
                         .threads = o->threads, .sync = sync_names[sync], .warmup_s = o->warmup,
                         .elapsed_s = elapsed, .requests = h->total, .failed = failed, .hist = h,
                         .series = rep->series, .errors = rep->errs, .nerrors = nerrs, .procs = procs,
                         .nprocs = nprocs, .journal_syncs = provost_journal_syncs(r->e),
                         .journal_writes = provost_journal_writes(r->e)};
    *res = (provost_bench_result){
        .requests = h->total, .failed = failed, .elapsed = elapsed, .p50_us = (double)pu_hist_quantile(h, 0.5) / 1e3,
        .p90_us = (double)pu_hist_quantile(h, 0.9) / 1e3, .p99_us = (double)pu_hist_quantile(h, 0.99) / 1e3,
        .p999_us = (double)pu_hist_quantile(h, 0.999) / 1e3, .min_us = h->total ? (double)h->min / 1e3 : 0,
        .max_us = (double)h->max / 1e3, .mean_us = h->total ? (double)h->sum / (double)h->total / 1e3 : 0,
        .errors = rep->errs, .nerrors = nerrs, .procs = procs, .nprocs = nprocs, .report = rep,
        .journal_syncs = rep->rep.journal_syncs, .journal_writes = rep->rep.journal_writes};
    return 0;
}

/* Warmup, then the measured run on a freshly opened engine. */
static int phases(run *r, worker *w, provost_bench_result *res, char *err, size_t errlen)
{
    const provost_bench_options *o = r->o;
    if (o->warmup > 0) {
        r->measuring = false;
        r->budget = 0;
        r->start = now_ns();
        r->deadline = r->start + (uint64_t)(o->warmup * 1e9);
        if (run_phase(r, w, o->threads, false) != 0)
            return FAIL("cannot start %d threads", o->threads);
    }
    /* the counters start again with the measured run: reopen the engine */
    provost_close(r->e);
    if (!(r->e = open_engine(o, err, errlen)))
        return PROVOST_BENCH_ERROR;
    r->measuring = true;
    r->budget = o->requests;
    r->start = now_ns();
    r->deadline = o->requests ? 0 : r->start + (uint64_t)(o->duration * 1e9);
    if (run_phase(r, w, o->threads, o->progress && o->progress_every > 0) != 0)
        return FAIL("cannot start %d threads", o->threads);
    double elapsed = (double)(now_ns() - r->start) / 1e9;
    return sum_up(r, w, elapsed, res) != 0 ? FAIL("out of memory") : 0;
}

int provost_bench_run(const provost_bench_options *o, provost_bench_result *res, char *err, size_t errlen)
{
    memset(res, 0, sizeof *res);
    if (o->threads < 1 || o->threads > PROVOST_BENCH_MAX_THREADS)
        return FAIL("threads: from 1 to %d", PROVOST_BENCH_MAX_THREADS);
    if (!o->ns && !o->text)
        return FAIL("nothing to run: give a procedure or a request");
    run r = {.o = o};
    if (!(r.e = open_engine(o, err, errlen)))
        return PROVOST_BENCH_ERROR;
    int rc = check_target(&r, err, errlen);
    worker *w = rc ? NULL : calloc((size_t)o->threads, sizeof *w);
    if (!rc && !w)
        rc = FAIL("out of memory");
    for (int i = 0; w && i < o->threads; i++) {
        w[i].run = &r;
        bseries_init(&w[i].series, 100000000ull); /* 0.1 s, doubled as the run grows */
        if (pu_hist_init(&w[i].hist, SUBBITS) != 0 && !rc)
            rc = FAIL("out of memory");
    }
    if (!rc)
        rc = phases(&r, w, res, err, errlen);
    for (int i = 0; w && i < o->threads; i++) {
        pu_hist_free(&w[i].hist);
        bseries_free(&w[i].series);
    }
    free(w);
    if (r.e)
        provost_close(r.e);
    if (rc)
        provost_bench_result_free(res);
    return rc;
}

void provost_bench_result_free(provost_bench_result *res)
{
    provost_bench_report *rep = res->report;
    if (rep) {
        if (rep->rep.procs)
            provost_stats_free((provost_proc_stats *)rep->rep.procs, rep->rep.nprocs);
        pu_hist_free(&rep->all);
        if (rep->series) {
            bseries_free(rep->series);
            free(rep->series);
        }
        free(rep->ns);
        free(rep->proc);
        free(rep->request);
        free(rep->data);
        free(rep);
    }
    memset(res, 0, sizeof *res);
}

int provost_bench_write(const provost_bench_result *res, int format, FILE *to)
{
    const breport *rep = &res->report->rep;
    if (format == PROVOST_BENCH_JSON)
        return bench_write_json(rep, to);
    if (format == PROVOST_BENCH_SVG)
        return bench_write_svg(rep, to);
    bench_print_text(rep, to);
    return ferror(to) ? -1 : 0;
}
