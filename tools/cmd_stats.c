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
#include "tools.h"

enum { AS_TABLE, AS_JSON, AS_PROMETHEUS };

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

static int show(const char *db, int as)
{
    provost_live_stats s;
    char err[600];
    if (provost_live_stats_read(db, &s, err, sizeof err) != 0)
        return die("stats: %s", err);
    if (as == AS_JSON)
        provost_stats_json(stdout, db, &s);
    else if (as == AS_PROMETHEUS)
        provost_stats_prometheus(stdout, &s);
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
