/*
 * cmd_bench.c -- `provost bench`: run one registered procedure (or a trusted request)
 * over and over from N threads and report throughput, the latency distribution, errors by
 * code and every procedure's counters.  Each thread keeps its own histogram and series;
 * they are merged at the end, so measuring takes no lock.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "provost/provost.h"
#include "tools/bench.h"
#include "tools/tools.h"

#define MAX_THREADS 64
#define MAX_CODES 32

typedef struct run {
    provost_engine *e;
    const char *ns, *proc;      /* a call */
    const char *text;           /* the data (call) or the request (--request) */
    size_t len;
    bool measuring;             /* false: warmup, nothing is kept */
    uint64_t start, deadline;   /* ns; deadline 0 with a request budget */
    uint64_t budget;            /* --requests */
    atomic_ullong claimed;
    atomic_bool stop;
} run;

typedef struct worker {
    pthread_t th;
    run *run;
    bhist hist;
    bseries series;
    berror errs[MAX_CODES];
    size_t nerrs;
    uint64_t other_errors; /* codes past MAX_CODES */
    bool oom;
    atomic_ullong done, failed, lat_sum; /* read by the progress line */
} worker;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void count_error(worker *w, uint32_t code, const char *msg)
{
    for (size_t i = 0; i < w->nerrs; i++)
        if (w->errs[i].code == code) {
            w->errs[i].count++;
            return;
        }
    if (w->nerrs == MAX_CODES) {
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
        int rc = r->ns ? provost_call(r->e, r->ns, r->proc, r->text, r->len, PROVOST_COMPACT, &resp, &err)
                       : provost_submit(r->e, r->text, r->len, PROVOST_COMPACT, &resp, &err);
        uint64_t t1 = now_ns();
        bool failed = rc != 0 || resp.failed;
        if (r->measuring) {
            uint64_t lat = t1 - t0;
            bhist_add(&w->hist, lat);
            if (bseries_add(&w->series, t1 - r->start, lat) != 0)
                w->oom = true;
            if (failed) {
                char msg[200];
                if (rc != 0)
                    snprintf(msg, sizeof msg, "%.199s", err.message);
                else
                    response_message(&resp, msg, sizeof msg);
                count_error(w, rc != 0 ? err.code : resp.code, msg);
            }
            atomic_fetch_add_explicit(&w->lat_sum, lat, memory_order_relaxed);
            atomic_fetch_add_explicit(&w->failed, failed, memory_order_relaxed);
            atomic_fetch_add_explicit(&w->done, 1, memory_order_relaxed);
        }
        provost_response_free(&resp);
        if (r->deadline && t1 >= r->deadline)
            break;
    }
    return NULL;
}

/* The progress line, redrawn on a terminal while the workers run. */
static void progress(const run *r, worker *w, int n, uint64_t *last_done, uint64_t *last_sum, uint64_t *last_t)
{
    uint64_t done = 0, failed = 0, sum = 0, t = now_ns();
    for (int i = 0; i < n; i++) {
        done += atomic_load_explicit(&w[i].done, memory_order_relaxed);
        failed += atomic_load_explicit(&w[i].failed, memory_order_relaxed);
        sum += atomic_load_explicit(&w[i].lat_sum, memory_order_relaxed);
    }
    double dt = (double)(t - *last_t) / 1e9, el = (double)(t - r->start) / 1e9;
    uint64_t dn = done - *last_done;
    double rate = dt > 0 ? (double)dn / dt : 0, mean = dn ? (double)(sum - *last_sum) / (double)dn / 1000 : 0;
    char of[64] = "";
    if (r->budget)
        snprintf(of, sizeof of, "/%llu", (unsigned long long)r->budget);
    else if (r->deadline)
        snprintf(of, sizeof of, " (%.0f%%)", 100.0 * (double)(t - r->start) / (double)(r->deadline - r->start));
    fprintf(stderr, "\r\033[K  %6.1f s  %llu%s requests  %.0f/s  mean %.1f us  failed %llu", el,
            (unsigned long long)done, of, rate, mean, (unsigned long long)failed);
    fflush(stderr);
    *last_done = done;
    *last_sum = sum;
    *last_t = t;
}

/* Runs the workers until the budget or the deadline is reached. */
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
        return die("bench: cannot start %d threads", n);
    }
    if (show) {
        uint64_t ld = 0, ls = 0, lt = r->start;
        for (;;) {
            struct timespec ts = {0, 250000000};
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
    if (show)
        fputs("\r\033[K", stderr);
    return 0;
}

static const char *const sync_names[] = {"group", "always", "none"};

typedef struct opts {
    const char *pos[3];
    int npos;
    const char *request, *json, *svg;
    int threads;
    uint64_t requests;
    double duration, warmup;
    int sync;
} opts;

static int number(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double d = v ? strtod(v, &end) : NAN;
    if (!v || end == v || *end || errno || !(d >= lo && d <= hi))
        return die("bench: %s takes a number from %g to %g (not '%s')", opt, lo, hi, v ? v : "");
    *out = d;
    return 0;
}

static int parse(int argc, char **argv, opts *o)
{
    *o = (opts){.threads = 1, .duration = -1, .warmup = 1, .sync = -1};
    bool have_duration = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        char name[32];
        const char *val = NULL;
        if (a[0] == '-' && a[1] == '-' && eq && (size_t)(eq - a) < sizeof name) {
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = 0;
            val = eq + 1;
            a = name;
        }
        bool takes = !strcmp(a, "--threads") || !strcmp(a, "-t") || !strcmp(a, "--requests") || !strcmp(a, "-n") ||
                     !strcmp(a, "--duration") || !strcmp(a, "-d") || !strcmp(a, "--warmup") || !strcmp(a, "--sync") ||
                     !strcmp(a, "--json") || !strcmp(a, "--svg") || !strcmp(a, "--request");
        if (takes && !val) {
            if (i + 1 >= argc)
                return die("bench: %s needs a value (see provost bench --help)", a);
            val = argv[++i];
        }
        double d = 0;
        if (!strcmp(a, "--threads") || !strcmp(a, "-t")) {
            if (number(a, val, 1, MAX_THREADS, &d))
                return 2;
            o->threads = (int)d;
        } else if (!strcmp(a, "--requests") || !strcmp(a, "-n")) {
            if (number(a, val, 1, 1e12, &d))
                return 2;
            o->requests = (uint64_t)d;
        } else if (!strcmp(a, "--duration") || !strcmp(a, "-d")) {
            if (number(a, val, 0.001, 86400, &d))
                return 2;
            o->duration = d;
            have_duration = true;
        } else if (!strcmp(a, "--warmup")) {
            if (number(a, val, 0, 3600, &d))
                return 2;
            o->warmup = d;
        } else if (!strcmp(a, "--sync")) {
            if ((o->sync = parse_sync(val)) < 0)
                return die("bench: --sync takes always, group or none (not '%s')", val);
        } else if (!strcmp(a, "--json")) {
            o->json = val;
        } else if (!strcmp(a, "--svg")) {
            o->svg = val;
        } else if (!strcmp(a, "--request")) {
            o->request = val;
        } else if (a[0] == '-' && a[1]) {
            return die("bench: unknown option '%s' (see provost bench --help)", argv[i]);
        } else if (o->npos == 3) {
            return die("bench: too many arguments ('%s')", a);
        } else {
            o->pos[o->npos++] = a;
        }
    }
    if (o->requests && have_duration)
        return die("bench: give --requests or --duration, not both");
    if (!o->requests && !have_duration)
        o->duration = 10;
    if (o->request ? o->npos != 0 : (o->npos < 2))
        return die("bench: usage: provost bench NAMESPACE PROCEDURE [DATA.xml] [options] | provost bench --request "
                   "REQUEST.xml [options]");
    if (o->sync < 0)
        o->sync = tool_engine_options(-1).sync;
    if (o->sync < 0)
        o->sync = PROVOST_SYNC_GROUP;
    return 0;
}

/* A call of a procedure that is not there, or not public, is bad input, not a benchmark
 * of failures. */
static int check_target(provost_engine *e, const char *ns, const char *proc)
{
    provost_proc_info *v;
    size_t n;
    provost_error err;
    if (provost_list_procedures(e, ns, &v, &n, &err) != 0)
        return die("bench: %s", err.message);
    size_t i = 0;
    while (i < n && strcasecmp(v[i].name, proc) != 0)
        i++;
    int status = i == n      ? die("bench: namespace '%s' has no procedure '%s'", ns, proc)
                 : v[i].access ? 0
                               : die("bench: procedure '%s' of namespace '%s' is private: only public procedures "
                                     "can be called",
                                     proc, ns);
    provost_proc_info_free(v, n);
    return status;
}

static int write_out(const char *path, const breport *rep, int (*fn)(const breport *, FILE *))
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!f)
        return die("bench: %s: %s", path, strerror(errno));
    int rc = fn(rep, f);
    if (f != stdout ? fclose(f) != 0 : fflush(f) != 0)
        rc = -1;
    return rc == 0 ? 0 : die("bench: %s: cannot write it", path);
}

static int by_count(const void *a, const void *b)
{
    const berror *x = a, *y = b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

int cmd_bench(int argc, char **argv)
{
    opts o = {0};
    if (parse(argc, argv, &o))
        return 2;
    char err[256] = "";
    size_t len = 0;
    const char *input = o.request ? o.request : o.npos == 3 ? o.pos[2] : NULL;
    char *text = input ? read_input(input, &len, err, sizeof err) : NULL;
    if (input && !text)
        return die("%s: %s", input, err);
    int status = 0;
    provost_engine *e = tool_open_engine(o.sync, &status);
    if (!e) {
        free(text);
        return status;
    }
    run r = {.e = e, .ns = o.request ? NULL : o.pos[0], .proc = o.request ? NULL : o.pos[1], .text = text, .len = len,
             .budget = o.requests};
    if (r.ns && (status = check_target(e, r.ns, r.proc)) != 0)
        goto out;

    /* one request first: input that cannot run at all is reported, not measured */
    {
        provost_response resp;
        provost_error perr;
        int rc = r.ns ? provost_call(e, r.ns, r.proc, text, len, PROVOST_COMPACT, &resp, &perr)
                      : provost_submit(e, text, len, PROVOST_COMPACT, &resp, &perr);
        provost_response_free(&resp);
        if (rc != 0) {
            const char *shown = input ? (strcmp(input, "-") ? input : "<stdin>") : "data";
            if (perr.message[0] >= '0' && perr.message[0] <= '9')
                fprintf(stderr, "%s:%s\n", shown, perr.message);
            else
                fprintf(stderr, "provost: %s: %s\n", shown, perr.message);
            status = 2;
            goto out;
        }
    }

    worker *w = calloc((size_t)o.threads, sizeof *w);
    if (!w) {
        status = die("bench: out of memory");
        goto out;
    }
    for (int i = 0; i < o.threads; i++) {
        w[i].run = &r;
        bseries_init(&w[i].series, 100000000ull); /* 0.1 s, doubled as the run grows */
        if (bhist_init(&w[i].hist, 10) != 0) {
            status = die("bench: out of memory");
            goto free_workers;
        }
    }
    bool show = isatty(2);
    if (o.warmup > 0) {
        r.measuring = false;
        r.budget = 0;
        r.start = now_ns();
        r.deadline = r.start + (uint64_t)(o.warmup * 1e9);
        if ((status = run_phase(&r, w, o.threads, false)) != 0)
            goto free_workers;
    }
    /* the counters start again with the measured run: reopen the engine */
    provost_close(e);
    r.e = e = tool_open_engine(o.sync, &status);
    if (!e)
        goto free_workers;

    r.measuring = true;
    r.budget = o.requests;
    r.start = now_ns();
    r.deadline = o.requests ? 0 : r.start + (uint64_t)(o.duration * 1e9);
    if ((status = run_phase(&r, w, o.threads, show)) != 0)
        goto free_workers;
    uint64_t end = now_ns();
    double elapsed = (double)(end - r.start) / 1e9;

    /* merge the threads */
    bhist all;
    bseries *series = calloc(1, sizeof *series);
    berror errs[MAX_CODES + 1];
    size_t nerrs = 0;
    uint64_t other = 0;
    bool oom = bhist_init(&all, 10) != 0 || !series;
    if (series)
        bseries_init(series, w[0].series.width_ns);
    for (int i = 0; i < o.threads && !oom; i++) {
        bhist_merge(&all, &w[i].hist);
        oom = bseries_merge(series, &w[i].series) != 0 || w[i].oom;
        other += w[i].other_errors;
        for (size_t k = 0; k < w[i].nerrs; k++) {
            size_t j = 0;
            while (j < nerrs && errs[j].code != w[i].errs[k].code)
                j++;
            if (j < nerrs)
                errs[j].count += w[i].errs[k].count;
            else if (nerrs < MAX_CODES)
                errs[nerrs++] = w[i].errs[k];
            else
                other += w[i].errs[k].count;
        }
    }
    if (oom) {
        status = die("bench: out of memory");
    } else {
        qsort(errs, nerrs, sizeof *errs, by_count);
        if (other)
            errs[nerrs++] = (berror){.code = 0, .count = other, .sample = "other codes"};
        provost_proc_stats *procs = NULL;
        size_t nprocs = 0;
        provost_error perr;
        if (provost_stats(e, &procs, &nprocs, &perr) != 0)
            nprocs = 0;
        uint64_t failed = 0;
        for (size_t i = 0; i < nerrs; i++)
            failed += errs[i].count;
        breport rep = {.ns = r.ns, .proc = r.proc, .request = o.request, .data = o.request ? NULL : input,
                       .threads = o.threads, .sync = sync_names[o.sync], .warmup_s = o.warmup, .elapsed_s = elapsed,
                       .requests = all.total, .failed = failed, .hist = &all, .series = series, .errors = errs,
                       .nerrors = nerrs, .procs = procs, .nprocs = nprocs};
        bool json_stdout = o.json && strcmp(o.json, "-") == 0;
        bench_print_text(&rep, json_stdout ? stderr : stdout);
        if (o.json && write_out(o.json, &rep, bench_write_json) != 0)
            status = 2;
        if (o.svg && write_out(o.svg, &rep, bench_write_svg) != 0)
            status = 2;
        if (!status && failed)
            status = 1;
        provost_stats_free(procs, nprocs);
    }
    bhist_free(&all);
    if (series) {
        bseries_free(series);
        free(series);
    }
free_workers:
    for (int i = 0; i < o.threads; i++) {
        bhist_free(&w[i].hist);
        bseries_free(&w[i].series);
    }
    free(w);
out:
    provost_close(e);
    free(text);
    if (fflush(stdout) != 0 && !status)
        status = 2;
    return status;
}
