/*
 * stats_json.c -- the counters of a database's engine as JSON (provost/stats.h): what
 * `provost stats --json` prints, one document a line, from the counters file alone.
 */
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "provost/stats.h"
#include "util/json.h"

static const char *const writer_names[] = {"none", "live", "exited", "died"};

static double fin(double v)
{
    return isfinite(v) ? v : 0;
}

static void iso_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, len, "%lld", (long long)t);
}

int provost_stats_json(FILE *f, const char *db, const provost_live_stats *s)
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
    return ferror(f) ? -1 : 0;
}
