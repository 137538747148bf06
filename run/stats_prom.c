/*
 * stats_prom.c -- the counters of a database's engine in the Prometheus text exposition
 * format (provost/stats.h): what `provost stats --prometheus` prints from the counters
 * file, and what the service's /metrics answers.
 */
#include <math.h>
#include <stdio.h>

#include "provost/stats.h"

static double fin(double v)
{
    return isfinite(v) ? v : 0;
}

/* A label value in the exposition format: backslash, quote and newline escaped. */
static void prom_label(FILE *f, const char *key, const char *v)
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

static void prom_head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void prom_sample(FILE *f, const char *name, const provost_proc_stats *p, const char *quantile, double v)
{
    fprintf(f, "%s{", name);
    prom_label(f, "namespace", p->ns);
    fputc(',', f);
    prom_label(f, "procedure", p->proc);
    if (quantile)
        fprintf(f, ",quantile=\"%s\"", quantile);
    fprintf(f, "} %.17g\n", fin(v));
}

typedef struct family {
    const char *name, *type, *help;
    int field;
} family;

enum { F_COUNT, F_OK, F_FAILED, F_INDOUBT, F_EXEC, F_RATE, F_MAX };

static double field_of(const provost_proc_stats *p, int field)
{
    switch (field) {
    case F_COUNT: return (double)p->count;
    case F_OK: return (double)p->succeeded;
    case F_FAILED: return (double)p->failed;
    case F_INDOUBT: return (double)p->in_doubt;
    case F_EXEC: return (double)p->executing;
    case F_RATE: return p->rate;
    default: return p->max / 1e6;
    }
}

int provost_stats_prometheus(FILE *f, const provost_live_stats *s)
{
    prom_head(f, "provost_counters_writer_live", "gauge",
              "1 while the engine writing these counters runs, 0 once it has ended (they are its last values)");
    fprintf(f, "provost_counters_writer_live %d\n", s->writer == PROVOST_WRITER_LIVE);
    prom_head(f, "provost_counters_generation", "gauge",
              "Goes up by one with each engine that writes the database's counters");
    fprintf(f, "provost_counters_generation %llu\n", (unsigned long long)s->generation);
    static const family fams[] = {
        {"provost_procedure_calls_total", "counter", "Calls of the procedure that ended", F_COUNT},
        {"provost_procedure_succeeded_total", "counter", "Calls of the procedure that succeeded", F_OK},
        {"provost_procedure_failed_total", "counter", "Calls of the procedure that failed", F_FAILED},
        {"provost_procedure_in_doubt_total", "counter", "Calls of the procedure whose outcome is in doubt",
         F_INDOUBT},
        {"provost_procedure_executing", "gauge", "Calls of the procedure running now", F_EXEC},
        {"provost_procedure_rate", "gauge", "Calls of the procedure per second over the last 10 s", F_RATE},
        {"provost_procedure_latency_max_seconds", "gauge", "The longest call of the procedure", F_MAX},
    };
    for (size_t k = 0; k < sizeof fams / sizeof fams[0]; k++) {
        prom_head(f, fams[k].name, fams[k].type, fams[k].help);
        for (size_t i = 0; i < s->nprocs; i++)
            prom_sample(f, fams[k].name, &s->procs[i], NULL, field_of(&s->procs[i], fams[k].field));
    }
    const char *lat = "provost_procedure_latency_seconds";
    prom_head(f, lat, "summary", "Latency of the procedure's calls (quantiles within 12.5%)");
    for (size_t i = 0; i < s->nprocs; i++) {
        const provost_proc_stats *p = &s->procs[i];
        prom_sample(f, lat, p, "0.5", p->p50 / 1e6);
        prom_sample(f, lat, p, "0.9", p->p90 / 1e6);
        prom_sample(f, lat, p, "0.99", p->p99 / 1e6);
        prom_sample(f, lat, p, "0.999", p->p999 / 1e6);
        prom_sample(f, "provost_procedure_latency_seconds_sum", p, NULL, p->mean * (double)p->count / 1e6);
        prom_sample(f, "provost_procedure_latency_seconds_count", p, NULL, (double)p->count);
    }
    for (size_t i = 0; i < s->nengine; i++) {
        prom_head(f, s->engine[i].name, s->engine[i].gauge ? "gauge" : "counter", "Engine-wide");
        fprintf(f, "%s %llu\n", s->engine[i].name, (unsigned long long)s->engine[i].value);
    }
    return ferror(f) ? -1 : 0;
}
