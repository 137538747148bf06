/*
 * cmd_bench.c -- `provost bench`: the command line of the bench runner (provost/bench.h).
 * It reads the data (or the request), opens the engine the way every command does,
 * redraws a progress line on a terminal, and prints the report (text; JSON and SVG to the
 * files asked for).
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "provost/bench.h"
#include "provost/provost.h"
#include "tools.h"

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

/* An option that takes a value (val): 1 taken, 0 not one of them, -1 after a one-line error. */
static int value_option(const char *a, const char *val, opts *o, bool *have_duration)
{
    double d = 0;
    if (!strcmp(a, "--threads") || !strcmp(a, "-t")) {
        if (number(a, val, 1, PROVOST_BENCH_MAX_THREADS, &d))
            return -1;
        o->threads = (int)d;
    } else if (!strcmp(a, "--requests") || !strcmp(a, "-n")) {
        if (number(a, val, 1, 1e12, &d))
            return -1;
        o->requests = (uint64_t)d;
    } else if (!strcmp(a, "--duration") || !strcmp(a, "-d")) {
        if (number(a, val, 0.001, 86400, &d))
            return -1;
        o->duration = d;
        *have_duration = true;
    } else if (!strcmp(a, "--warmup")) {
        if (number(a, val, 0, 3600, &d))
            return -1;
        o->warmup = d;
    } else if (!strcmp(a, "--sync")) {
        if ((o->sync = parse_sync(val)) < 0)
            return die("bench: --sync takes always, group or none (not '%s')", val), -1;
    } else if (!strcmp(a, "--json")) {
        o->json = val;
    } else if (!strcmp(a, "--svg")) {
        o->svg = val;
    } else if (!strcmp(a, "--request")) {
        o->request = val;
    } else {
        return 0;
    }
    return 1;
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
        int m = value_option(a, val, o, &have_duration);
        if (m < 0)
            return 2;
        if (m > 0)
            continue;
        if (a[0] == '-' && a[1]) {
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

static int write_out(const char *path, const provost_bench_result *res, int format)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!f)
        return die("bench: %s: %s", path, strerror(errno));
    int rc = provost_bench_write(res, format, f);
    if (f != stdout ? fclose(f) != 0 : fflush(f) != 0)
        rc = -1;
    return rc == 0 ? 0 : die("bench: %s: cannot write it", path);
}

static void on_progress(void *ctx, const provost_bench_progress *p)
{
    *(bool *)ctx = true; /* a line to clear */
    char of[64] = "";
    if (p->budget)
        snprintf(of, sizeof of, "/%llu", (unsigned long long)p->budget);
    else
        snprintf(of, sizeof of, " (%.0f%%)", 100.0 * p->fraction);
    fprintf(stderr, "\r\033[K  %6.1f s  %llu%s requests  %.0f/s  mean %.1f us  failed %llu", p->elapsed,
            (unsigned long long)p->done, of, p->rate, p->mean_us, (unsigned long long)p->failed);
    fflush(stderr);
}

static provost_engine *open_engine(void *ctx, const provost_options *o)
{
    int status = 0;
    return tool_open_with(o, &status);
}

/* The report: text on stdout (stderr when the JSON goes to stdout), JSON and SVG files. */
static int report(const opts *o, const provost_bench_result *res)
{
    int status = 0;
    bool json_stdout = o->json && strcmp(o->json, "-") == 0;
    provost_bench_write(res, PROVOST_BENCH_TEXT, json_stdout ? stderr : stdout);
    if (o->json && write_out(o->json, res, PROVOST_BENCH_JSON) != 0)
        status = 2;
    if (o->svg && write_out(o->svg, res, PROVOST_BENCH_SVG) != 0)
        status = 2;
    return !status && res->failed ? 1 : status;
}

int cmd_bench(int argc, char **argv)
{
    opts o = {0};
    if (parse(argc, argv, &o))
        return 2;
    char err[512] = "";
    size_t len = 0;
    const char *input = o.request ? o.request : o.npos == 3 ? o.pos[2] : NULL;
    char *text = input ? read_input(input, &len, err, sizeof err) : NULL;
    if (input && !text)
        return die("%s: %s", input, err);
    bool show = isatty(2), drawn = false;
    provost_bench_options bo = {
        .ns = o.request ? NULL : o.pos[0], .proc = o.request ? NULL : o.pos[1], .text = text, .len = len,
        .request_name = o.request, .data_name = o.request ? NULL : input, .threads = o.threads,
        .requests = o.requests, .duration = o.duration, .warmup = o.warmup, .engine = tool_engine_options(o.sync),
        .open_engine = open_engine, .progress_every = show ? 0.25 : 0, .progress = on_progress, .ctx = &drawn};
    provost_bench_result res;
    int rc = provost_bench_run(&bo, &res, err, sizeof err), status;
    if (drawn)
        fputs("\r\033[K", stderr);
    if (rc == PROVOST_BENCH_BAD_INPUT) {
        const char *shown = input ? (strcmp(input, "-") ? input : "<stdin>") : "data";
        if (err[0] >= '0' && err[0] <= '9')
            fprintf(stderr, "%s:%s\n", shown, err);
        else
            fprintf(stderr, "provost: %s: %s\n", shown, err);
        status = 2;
    } else if (rc != 0) {
        status = err[0] ? die("bench: %s", err) : 2;
    } else {
        status = report(&o, &res);
        provost_bench_result_free(&res);
    }
    free(text);
    if (fflush(stdout) != 0 && !status)
        status = 2;
    return status;
}
