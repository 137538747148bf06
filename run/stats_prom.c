/*
 * stats_prom.c -- the counters of a database's engine in the Prometheus text exposition
 * format (provost/stats.h): what `provost stats --prometheus` prints from the counters
 * file, and the part of the service's /metrics that comes from it (stats_engine.c adds
 * what only the open engine knows).  docs/operations.md "Live counters" lists every family.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "provost/stats.h"
#include "rstats.h"

static double fin(double v)
{
    return isfinite(v) ? v : 0;
}

void rst_label(FILE *f, const char *key, const char *v)
{
    fprintf(f, "%s=\"", key);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fprintf(f, "\\%c", *v);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
    fputc('"', f);
}

void rst_head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* NAME{namespace=..,procedure=..[,KEY="VAL"]} */
static void proc_labels(FILE *f, const char *name, const provost_proc_stats *p, const char *key, const char *val)
{
    fprintf(f, "%s{", name);
    rst_label(f, "namespace", p->ns);
    fputc(',', f);
    rst_label(f, "procedure", p->proc);
    if (key)
        fprintf(f, ",%s=\"%s\"", key, val);
    fputc('}', f);
}

static void proc_real(FILE *f, const char *name, const provost_proc_stats *p, const char *key, const char *val,
                      double v)
{
    proc_labels(f, name, p, key, val);
    fprintf(f, " %.17g\n", fin(v));
}

static void proc_count(FILE *f, const char *name, const provost_proc_stats *p, const char *key, const char *val,
                       uint64_t v)
{
    proc_labels(f, name, p, key, val);
    fprintf(f, " %" PRIu64 "\n", v);
}

static void calls(FILE *f, const provost_live_stats *s)
{
    const char *name = "provost_procedure_calls_total";
    rst_head(f, name, "counter", "Calls of the procedure that ended, by outcome");
    for (size_t i = 0; i < s->nprocs; i++) {
        proc_count(f, name, &s->procs[i], "outcome", "succeeded", s->procs[i].succeeded);
        proc_count(f, name, &s->procs[i], "outcome", "failed", s->procs[i].failed);
        proc_count(f, name, &s->procs[i], "outcome", "in_doubt", s->procs[i].in_doubt);
    }
    name = "provost_procedure_executing";
    rst_head(f, name, "gauge", "Calls of the procedure running now");
    for (size_t i = 0; i < s->nprocs; i++)
        proc_real(f, name, &s->procs[i], NULL, NULL, (double)s->procs[i].executing);
    name = "provost_procedure_rate";
    rst_head(f, name, "gauge", "Calls of the procedure per second over the last 10 s");
    for (size_t i = 0; i < s->nprocs; i++)
        proc_real(f, name, &s->procs[i], NULL, NULL, s->procs[i].rate);
    name = "provost_procedure_latency_max_seconds";
    rst_head(f, name, "gauge", "The longest call of the procedure");
    for (size_t i = 0; i < s->nprocs; i++)
        proc_real(f, name, &s->procs[i], NULL, NULL, s->procs[i].max / 1e6);
}

/* The summary: quantiles from the log-linear histogram (within 12.5%). */
static void summary(FILE *f, const provost_live_stats *s)
{
    const char *lat = "provost_procedure_latency_seconds";
    rst_head(f, lat, "summary", "Latency of the procedure's calls (quantiles within 12.5%)");
    for (size_t i = 0; i < s->nprocs; i++) {
        const provost_proc_stats *p = &s->procs[i];
        proc_real(f, lat, p, "quantile", "0.5", p->p50 / 1e6);
        proc_real(f, lat, p, "quantile", "0.9", p->p90 / 1e6);
        proc_real(f, lat, p, "quantile", "0.99", p->p99 / 1e6);
        proc_real(f, lat, p, "quantile", "0.999", p->p999 / 1e6);
        proc_real(f, "provost_procedure_latency_seconds_sum", p, NULL, NULL, p->mean * (double)p->count / 1e6);
        proc_count(f, "provost_procedure_latency_seconds_count", p, NULL, NULL, p->count);
    }
}

/* The histogram: counted exactly in its bounds as the calls end (not derived from the
 * log-linear one, whose buckets straddle decimal bounds).  _count is its +Inf bucket,
 * which read while calls end may differ from calls_total by the calls in between. */
static void histogram(FILE *f, const provost_live_stats *s)
{
    const char *name = "provost_procedure_duration_seconds";
    rst_head(f, name, "histogram", "Duration of the procedure's calls (counted exactly in each bucket)");
    for (size_t i = 0; i < s->nprocs; i++) {
        const provost_proc_stats *p = &s->procs[i];
        uint64_t cum = 0;
        char le[32];
        for (int b = 0; b < PROVOST_LATENCY_BOUNDS; b++) {
            cum += p->latency[b];
            snprintf(le, sizeof le, "%g", (double)provost_latency_bounds_ns[b] / 1e9);
            proc_count(f, "provost_procedure_duration_seconds_bucket", p, "le", le, cum);
        }
        cum += p->latency[PROVOST_LATENCY_BOUNDS];
        proc_count(f, "provost_procedure_duration_seconds_bucket", p, "le", "+Inf", cum);
        proc_real(f, "provost_procedure_duration_seconds_sum", p, NULL, NULL, (double)p->latency_sum_ns / 1e9);
        proc_count(f, "provost_procedure_duration_seconds_count", p, NULL, NULL, cum);
    }
}

static void failures(FILE *f, const provost_live_stats *s)
{
    rst_head(f, "provost_failures_total", "counter",
             "Requests that failed, by failure code (code=\"other\": past the first 32 codes)");
    for (size_t i = 0; i < s->nfailures; i++) {
        char code[16] = "other";
        if (s->failures[i].code)
            snprintf(code, sizeof code, "0x%08" PRIX32, s->failures[i].code);
        fprintf(f, "provost_failures_total{code=\"%s\"} %" PRIu64 "\n", code, s->failures[i].count);
    }
}

static const struct {
    const char *name, *help;
} engine_help[] = {
    {"provost_journal_syncs_total", "Syncs of the journal's log"},
    {"provost_journal_writes_total", "Writes to the journal"},
    {"provost_rollbacks_total", "Transactions rolled back after a failure (that had called a provider)"},
};
enum { NHELP = sizeof engine_help / sizeof engine_help[0] };

/* Every engine-wide counter, and those of engine_help at 0 while the engine has not
 * counted them yet (they are named when first counted). */
static void engine(FILE *f, const provost_live_stats *s)
{
    int seen[NHELP] = {0};
    for (size_t i = 0; i < s->nengine; i++) {
        const char *help = "Engine-wide";
        for (int k = 0; k < NHELP; k++)
            if (strcmp(engine_help[k].name, s->engine[i].name) == 0) {
                help = engine_help[k].help;
                seen[k] = 1;
            }
        rst_head(f, s->engine[i].name, s->engine[i].gauge ? "gauge" : "counter", help);
        fprintf(f, "%s %" PRIu64 "\n", s->engine[i].name, s->engine[i].value);
    }
    for (int k = 0; k < NHELP; k++)
        if (!seen[k]) {
            rst_head(f, engine_help[k].name, "counter", engine_help[k].help);
            fprintf(f, "%s 0\n", engine_help[k].name);
        }
}

int provost_stats_prometheus(FILE *f, const provost_live_stats *s)
{
    rst_head(f, "provost_counters_writer_live", "gauge",
             "1 while the engine writing these counters runs, 0 once it has ended (they are its last values)");
    fprintf(f, "provost_counters_writer_live %d\n", s->writer == PROVOST_WRITER_LIVE);
    rst_head(f, "provost_counters_generation", "gauge",
             "Goes up by one with each engine that writes the database's counters");
    fprintf(f, "provost_counters_generation %" PRIu64 "\n", s->generation);
    calls(f, s);
    histogram(f, s);
    summary(f, s);
    failures(f, s);
    engine(f, s);
    return ferror(f) ? -1 : 0;
}
