/*
 * cmd_stats.c -- `provost stats`: the counters of the engine that runs (or last ran) on a
 * database, read from its counters file (provost/stats.h) without opening the database,
 * so while `provost batch` or any other engine runs, as a table, JSON, or the Prometheus
 * text format.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provost/provost.h"
#include "provost/stats.h"
#include "util/json.h"
#include "tools.h"

enum { AS_TABLE, AS_JSON, AS_PROMETHEUS };

static const char *const writer_names[] = {"none", "live", "exited", "died"};

static void iso_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, len, "%lld", (long long)t);
}

static void print_table(FILE *f, const char *db, const provost_live_stats *s)
{
    char when[64];
    iso_time(s->started, when, sizeof when);
    if (s->writer == PROVOST_WRITER_NONE)
        fprintf(f, "%s: no counters yet (no engine has run a procedure on this database)\n", db);
    else
        fprintf(f, "%s: writer pid %lld %s, started %s, generation %llu%s\n", db, (long long)s->pid,
                s->writer == PROVOST_WRITER_LIVE     ? "running"
                : s->writer == PROVOST_WRITER_EXITED ? "exited (its last values)"
                                                     : "died without closing (its last values)",
                when, (unsigned long long)s->generation,
                s->incomplete ? "; the file is full: some counts are missing" : "");
    if (s->writer == PROVOST_WRITER_NONE)
        return;
    fprintf(f, "%-40s %9s %9s %8s %8s %5s %8s %9s %9s %9s %9s %9s\n", "PROCEDURE", "COUNT", "OK", "FAILED",
            "INDOUBT", "EXEC", "RATE/s", "P50(us)", "P90(us)", "P99(us)", "P99.9(us)", "MAX(us)");
    for (size_t i = 0; i < s->nprocs; i++) {
        const provost_proc_stats *p = &s->procs[i];
        char name[512];
        snprintf(name, sizeof name, "%s/%s", p->ns, p->proc);
        fprintf(f, "%-40s %9llu %9llu %8llu %8llu %5lld %8.1f %9.1f %9.1f %9.1f %9.1f %9.1f\n", name,
                (unsigned long long)p->count, (unsigned long long)p->succeeded, (unsigned long long)p->failed,
                (unsigned long long)p->in_doubt, (long long)p->executing, p->rate, p->p50, p->p90, p->p99, p->p999,
                p->max);
    }
    for (size_t i = 0; i < s->nengine; i++)
        fprintf(f, "%-40s %9llu\n", s->engine[i].name, (unsigned long long)s->engine[i].value);
}

static double fin(double v)
{
    return isfinite(v) ? v : 0;
}

static void print_json(FILE *f, const char *db, const provost_live_stats *s)
{
    char when[64];
    iso_time(s->started, when, sizeof when);
    fputs("{\"database\":", f);
    pu_json_string(f, db);
    fprintf(f, ",\"writer\":{\"state\":\"%s\"", writer_names[s->writer]);
    if (s->writer != PROVOST_WRITER_NONE)
        fprintf(f, ",\"pid\":%lld,\"started\":\"%s\",\"generation\":%llu,\"formatVersion\":%u,\"incomplete\":%s",
                (long long)s->pid, when, (unsigned long long)s->generation, s->version,
                s->incomplete ? "true" : "false");
    fputs("},\"procedures\":[", f);
    for (size_t i = 0; i < s->nprocs; i++) {
        const provost_proc_stats *p = &s->procs[i];
        fputs(i ? ",{\"namespace\":" : "{\"namespace\":", f);
        pu_json_string(f, p->ns);
        fputs(",\"procedure\":", f);
        pu_json_string(f, p->proc);
        fprintf(f,
                ",\"perfEnabled\":%s,\"count\":%llu,\"succeeded\":%llu,\"failed\":%llu,\"inDoubt\":%llu,"
                "\"executing\":%lld,\"rate\":%.3f,\"latencyUs\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
                "\"p999\":%.3f,\"max\":%.3f,\"mean\":%.3f}}",
                p->perf_enabled ? "true" : "false", (unsigned long long)p->count, (unsigned long long)p->succeeded,
                (unsigned long long)p->failed, (unsigned long long)p->in_doubt, (long long)p->executing,
                fin(p->rate), fin(p->p50), fin(p->p90), fin(p->p99), fin(p->p999), fin(p->max),
                fin(p->mean));
    }
    fputs("],\"engine\":{", f);
    for (size_t i = 0; i < s->nengine; i++) {
        if (i)
            fputc(',', f);
        pu_json_string(f, s->engine[i].name);
        fprintf(f, ":%llu", (unsigned long long)s->engine[i].value);
    }
    fputs("}}\n", f);
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

static void print_prometheus(FILE *f, const provost_live_stats *s)
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
}

static int show(const char *db, int as)
{
    provost_live_stats s;
    char err[600];
    if (provost_live_stats_read(db, &s, err, sizeof err) != 0)
        return die("stats: %s", err);
    if (as == AS_JSON)
        print_json(stdout, db, &s);
    else if (as == AS_PROMETHEUS)
        print_prometheus(stdout, &s);
    else
        print_table(stdout, db, &s);
    fflush(stdout);
    provost_live_stats_free(&s);
    return 0;
}

int cmd_stats(int argc, char **argv)
{
    int as = AS_TABLE;
    double watch = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            as = AS_JSON;
        else if (strcmp(argv[i], "--prometheus") == 0)
            as = AS_PROMETHEUS;
        else if (strcmp(argv[i], "--watch") == 0 && i + 1 < argc) {
            char *end;
            watch = strtod(argv[++i], &end);
            if (*end || !(watch >= 0.1 && watch <= 86400))
                return die("stats: --watch takes seconds, from 0.1 to 86400 (not '%s')", argv[i]);
        } else
            return die("stats: unknown argument '%s' (see provost stats --help)", argv[i]);
    }
    const char *db = tool_engine_options(-1).db_path;
    for (;;) {
        int rc = show(db, as);
        if (rc != 0 || watch == 0)
            return rc;
        struct timespec ts = {.tv_sec = (time_t)watch, .tv_nsec = (long)((watch - floor(watch)) * 1e9)};
        nanosleep(&ts, NULL);
        if (as != AS_JSON)
            putchar('\n');
    }
}
