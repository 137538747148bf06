/*
 * stats_engine.c -- what only an open engine adds to its counters (provost/stats.h): the
 * stuck transactions (from the journal: few, so listed per scrape), the queue's jobs by
 * state (counts the engine keeps, never a scan per scrape), the process's own figures;
 * in the Prometheus text format for the service's /metrics and as the dashboard's JSON for
 * its /stats (the shape docs/operations.md "Live counters" gives).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provost/queue.h"
#include "provost/stats.h"
#include "util/json.h"
#include "rstats.h"

static int stuck_first(const void *a, const void *b) /* the most recent first */
{
    const provost_txn_info *x = *(provost_txn_info *const *)a, *y = *(provost_txn_info *const *)b;
    return x->began < y->began ? 1 : x->began > y->began ? -1 : strcmp(x->id, y->id);
}

typedef struct facts {
    provost_txn_info *txns;
    size_t ntxns;
    const provost_txn_info **stuck; /* into txns, the most recent first */
    size_t nstuck;
    uint64_t jobs[16];
} facts;

static void facts_free(facts *k)
{
    provost_txn_info_free(k->txns, k->ntxns);
    free(k->stuck);
}

static int facts_read(provost_engine *e, facts *k, provost_error *err)
{
    memset(k, 0, sizeof *k);
    if (provost_txn_list(e, &k->txns, &k->ntxns, err) != 0)
        return -1;
    k->stuck = calloc(k->ntxns ? k->ntxns : 1, sizeof *k->stuck);
    if (!k->stuck) {
        facts_free(k);
        snprintf(err->message, sizeof err->message, "out of memory");
        err->code = PROVOST_E_OUTOFMEMORY;
        return -1;
    }
    for (size_t i = 0; i < k->ntxns; i++)
        if (k->txns[i].stuck)
            k->stuck[k->nstuck++] = &k->txns[i];
    qsort(k->stuck, k->nstuck, sizeof *k->stuck, stuck_first);
    if (provost_queue_counts(e, k->jobs, err) != 0) {
        facts_free(k);
        return -1;
    }
    return 0;
}

static void process(FILE *f)
{
    rst_process p;
    rst_process_read(&p);
    if (p.cpu_seconds >= 0) {
        rst_head(f, "process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds");
        fprintf(f, "process_cpu_seconds_total %.17g\n", p.cpu_seconds);
    }
    if (p.resident_bytes >= 0) {
        rst_head(f, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes");
        fprintf(f, "process_resident_memory_bytes %" PRId64 "\n", p.resident_bytes);
    }
    if (p.open_fds >= 0) {
        rst_head(f, "process_open_fds", "gauge", "Number of open file descriptors");
        fprintf(f, "process_open_fds %" PRId64 "\n", p.open_fds);
    }
    if (p.start_time >= 0) {
        rst_head(f, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds");
        fprintf(f, "process_start_time_seconds %.17g\n", p.start_time);
    }
}

int provost_stats_prometheus_engine(FILE *f, provost_engine *e, const provost_live_stats *s, provost_error *err)
{
    facts k;
    if (facts_read(e, &k, err) != 0)
        return -1;
    provost_stats_prometheus(f, s);
    rst_head(f, "provost_transactions_stuck", "gauge",
             "Transactions whose rollback (or commit) keeps failing, waiting for an operator (provost txn)");
    fprintf(f, "provost_transactions_stuck %zu\n", k.nstuck);
    rst_head(f, "provost_queue_jobs", "gauge", "Jobs of the queue in each state");
    for (int st = 0; st < 16; st++) {
        const char *name = provost_job_state_name(st);
        if (name)
            fprintf(f, "provost_queue_jobs{state=\"%s\"} %" PRIu64 "\n", name, k.jobs[st]);
    }
    process(f);
    facts_free(&k);
    if (ferror(f)) {
        err->code = PROVOST_E_FAIL;
        snprintf(err->message, sizeof err->message, "metrics: the output could not be written");
        return -1;
    }
    return 0;
}

/* ---- the dashboard's JSON ------------------------------------------------------------------ */

static double fin(double v)
{
    return isfinite(v) ? v : 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void key(FILE *f, int first, const char *k)
{
    if (!first)
        fputc(',', f);
    pu_json_string(f, k);
    fputc(':', f);
}

static void code_string(FILE *f, uint32_t code)
{
    if (code)
        fprintf(f, "\"0x%08" PRIX32 "\"", code);
    else
        fputs("\"other\"", f);
}

static void procedures(FILE *f, const provost_live_stats *s)
{
    fputs(",\"procedures\":[", f);
    for (size_t i = 0; i < s->nprocs; i++) {
        const provost_proc_stats *p = &s->procs[i];
        fputs(i ? ",{\"namespace\":" : "{\"namespace\":", f);
        pu_json_string(f, p->ns);
        fputs(",\"procedure\":", f);
        pu_json_string(f, p->proc);
        fprintf(f,
                ",\"calls\":%" PRIu64 ",\"succeeded\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"in_doubt\":%" PRIu64
                ",\"executing\":%" PRId64 ",\"rate\":%.3f,\"p50_ms\":%.3f,\"p99_ms\":%.3f}",
                p->count, p->succeeded, p->failed, p->in_doubt, p->executing, fin(p->rate), fin(p->p50 / 1000),
                fin(p->p99 / 1000));
    }
    fputs("],\"failures\":[", f);
    for (size_t i = 0; i < s->nfailures; i++) {
        fputs(i ? ",{\"code\":" : "{\"code\":", f);
        code_string(f, s->failures[i].code);
        fprintf(f, ",\"count\":%" PRIu64 "}", s->failures[i].count);
    }
    fputc(']', f);
}

static void stuck_and_queue(FILE *f, const facts *k)
{
    fprintf(f, ",\"stuck\":{\"count\":%zu,\"recent\":[", k->nstuck);
    for (size_t i = 0; i < k->nstuck && i < 20; i++) {
        const provost_txn_info *t = k->stuck[i];
        const provost_txn_step *top = t->nsteps ? &t->steps[0] : NULL;
        fputs(i ? ",{\"id\":" : "{\"id\":", f);
        pu_json_string(f, t->id);
        fputs(",\"namespace\":", f);
        pu_json_string(f, top && top->ns ? top->ns : "");
        fputs(",\"procedure\":", f);
        pu_json_string(f, top && top->proc ? top->proc : "");
        fprintf(f, ",\"since\":%" PRIu64 "}", t->began / 1000000);
    }
    fprintf(f, "]},\"queue\":{\"pending\":%" PRIu64 ",\"running\":%" PRIu64, k->jobs[PROVOST_JOB_PENDING],
            k->jobs[PROVOST_JOB_STARTED]);
    for (int st = 0; st < 16; st++) {
        const char *name = provost_job_state_name(st);
        if (!name || st == PROVOST_JOB_PENDING)
            continue;
        char low[64];
        size_t n = 0;
        for (; name[n] && n + 1 < sizeof low; n++)
            low[n] = (char)(name[n] >= 'A' && name[n] <= 'Z' ? name[n] - 'A' + 'a' : name[n]);
        low[n] = 0;
        key(f, 0, low);
        fprintf(f, "%" PRIu64, k->jobs[st]);
    }
    fputc('}', f);
}

static void audit_failures(FILE *f, const provost_failure_event *v, size_t n)
{
    fputs(",\"audit_failures\":[", f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s{\"time_ms\":%" PRId64 ",\"principal\":", i ? "," : "", v[i].time_ms);
        pu_json_string(f, v[i].principal);
        fputs(",\"namespace\":", f);
        pu_json_string(f, v[i].ns);
        fputs(",\"procedure\":", f);
        pu_json_string(f, v[i].proc);
        fputs(",\"code\":", f);
        code_string(f, v[i].code);
        fputs(",\"message\":", f);
        pu_json_string(f, v[i].message);
        fputc('}', f);
    }
    fputc(']', f);
}

int provost_stats_dashboard(FILE *f, provost_engine *e, const provost_live_stats *s, provost_error *err)
{
    facts k;
    if (facts_read(e, &k, err) != 0)
        return -1;
    provost_failure_event *recent;
    size_t nrecent;
    if (provost_recent_failures(e, &recent, &nrecent, err) != 0) {
        facts_free(&k);
        return -1;
    }
    static const char *const states[] = {"none", "running", "exited", "died"};
    int w = s->writer >= 0 && s->writer <= 3 ? s->writer : 0;
    fprintf(f, "{\"time_ms\":%" PRId64 ",\"writer\":{\"state\":\"%s\",\"pid\":%" PRId64 ",\"started\":%" PRId64 "}",
            now_ms(), states[w], w ? s->pid : 0, w ? s->started * 1000 : 0);
    procedures(f, s);
    stuck_and_queue(f, &k);
    audit_failures(f, recent, nrecent);
    fputs(",\"engine\":{", f);
    for (size_t i = 0; i < s->nengine; i++) {
        key(f, i == 0, s->engine[i].name);
        fprintf(f, "%" PRIu64, s->engine[i].value);
    }
    fputs("}}\n", f);
    provost_failure_events_free(recent, nrecent);
    facts_free(&k);
    if (ferror(f)) {
        err->code = PROVOST_E_FAIL;
        snprintf(err->message, sizeof err->message, "stats: the output could not be written");
        return -1;
    }
    return 0;
}
