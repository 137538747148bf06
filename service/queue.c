/*
 * queue.c -- the engine's queue over HTTP, as `provost queue` offers it: submit a trusted
 * request to run later, list the jobs, look at one and at its results, activate a
 * suspended job, retry one awaiting its operator, delete one.  Jobs hold trusted requests,
 * so every /queue endpoint needs the trusted right (submitting checks it in the engine,
 * for the request's principal, which the job records).
 *
 * The service holds the database, so no `provost worker` can run beside it: with
 * --worker the service runs the queue worker itself, on its engine, and stops it with the
 * service (the jobs it is running finish first).  Without it, jobs wait for a worker.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "provost/queue.h"
#include "provost/rights.h"
#include "util/json.h"
#include "svc.h"

/* ---- the worker ----------------------------------------------------------------------- */

struct svc_worker {
    pthread_t thread;
    atomic_bool stop, done;
    provost_worker_summary sum;
    provost_error err;
    int rc;
};

static void *worker_main(void *arg)
{
    svc_server *s = arg;
    svc_worker *w = s->worker;
    provost_worker_options o = {.threads = s->o.worker_threads ? s->o.worker_threads : 1,
                                .mode = PROVOST_WORKER_FOREVER, .sync = s->o.engine.sync};
    while (!atomic_load(&w->stop)) {
        w->rc = provost_worker_run(s->engine, &o, &w->sum, &w->err);
        if (w->rc != 0 && !atomic_load(&w->stop)) {
            svc_log(s, "queue worker: %s (running again in a second)", w->err.message);
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
        }
    }
    atomic_store(&w->done, true);
    return NULL;
}

int svc_worker_start(svc_server *s, provost_error *err)
{
    if (!s->o.worker)
        return 0;
    if (!(s->worker = calloc(1, sizeof *s->worker))) {
        snprintf(err->message, sizeof err->message, "out of memory");
        err->code = PROVOST_E_OUTOFMEMORY;
        return -1;
    }
    if (pthread_create(&s->worker->thread, NULL, worker_main, s) != 0) {
        free(s->worker);
        s->worker = NULL;
        snprintf(err->message, sizeof err->message, "cannot start the queue worker: %s", strerror(errno));
        err->code = PROVOST_E_FAIL;
        return -1;
    }
    svc_log(s, "queue worker running (%u thread%s)", s->o.worker_threads ? s->o.worker_threads : 1,
            s->o.worker_threads > 1 ? "s" : "");
    return 0;
}

void svc_worker_stop(svc_server *s)
{
    if (!s->worker)
        return;
    atomic_store(&s->worker->stop, true);
    provost_worker_stop();
    provost_queue_wake();
}

void svc_worker_abandon(svc_server *s)
{
    if (s->worker)
        pthread_detach(s->worker->thread);
}

void svc_worker_close(svc_server *s)
{
    svc_worker *w = s->worker;
    if (!w)
        return;
    /* a worker starting now clears the stop it was asked: ask until it has ended */
    while (!atomic_load(&w->done)) {
        svc_worker_stop(s);
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    pthread_join(w->thread, NULL);
    free(w);
    s->worker = NULL;
}

/* ---- the endpoints -------------------------------------------------------------------- */

static void engine_error(svc_resp *p, const provost_error *err, int otherwise)
{
    int status = err->code == PROVOST_E_NOTFOUND       ? 404
                 : err->code == PROVOST_E_ACCESSDENIED ? 403
                 : err->code == PROVOST_E_INVALIDARG   ? (otherwise == 500 ? 400 : otherwise)
                                                       : 500;
    svc_resp_error(p, status, "%s", err->message);
}

/* The queue is for holders of trusted: 0, or -1 with 403 in p. */
static int trusted(svc_req *r, svc_resp *p)
{
    if (provost_principal_has(r->srv->engine, r->principal, PROVOST_RIGHT_TRUSTED))
        return 0;
    svc_resp_error(p, 403, "access denied: principal '%s' lacks the right trusted (the queue)",
                   r->principal ? r->principal : "");
    return -1;
}

/* ?due=, ?delay=SECONDS, ?priority=, ?after=ID,ID..., ?suspended=1: 0, or -1 with 400. */
static int queue_options(svc_req *r, provost_queue_options *o, char *after, size_t afterlen, const char **ids,
                         svc_resp *p)
{
    const char *v;
    char *end;
    if ((v = svc_query(r, "due")) && provost_parse_due(v, &o->due_ms) != 0) {
        svc_resp_error(p, 400, "due takes @SECONDS or YYYY-MM-DDTHH:MM[:SS]Z, not '%s'", v);
        return -1;
    }
    if ((v = svc_query(r, "delay"))) {
        double d = strtod(v, &end);
        if (end == v || *end || d < 0 || d > 1e9) {
            svc_resp_error(p, 400, "delay takes seconds, not '%s'", v);
            return -1;
        }
        o->due_ms = provost_now_ms() + (int64_t)(d * 1000);
    }
    if ((v = svc_query(r, "priority"))) {
        long n = strtol(v, &end, 10);
        if (end == v || *end || n < -32768 || n > 32767) {
            svc_resp_error(p, 400, "priority takes a number from -32768 to 32767, not '%s'", v);
            return -1;
        }
        o->priority = (int)n;
        o->has_priority = 1;
    }
    if ((v = svc_query(r, "suspended")))
        o->suspended = strcmp(v, "0") != 0 && strcmp(v, "false") != 0;
    if ((v = svc_query(r, "after")) && *v) {
        snprintf(after, afterlen, "%s", v);
        size_t n = 0;
        for (char *t = after, *save = NULL, *id; (id = strtok_r(t, ",", &save)) && n < 64; t = NULL)
            ids[n++] = id;
        o->after = ids;
        o->nafter = n;
    }
    o->principal = r->principal;
    o->sync = r->srv->o.engine.sync;
    return 0;
}

void svc_queue_submit(svc_req *r, svc_resp *p)
{
    provost_queue_options o = {0};
    char after[4096];
    const char *ids[64];
    if (queue_options(r, &o, after, sizeof after, ids, p) != 0)
        return;
    if (r->body_len == 0) {
        svc_resp_error(p, 400, "the body is empty: POST /queue takes a trusted request");
        return;
    }
    char id[48];
    provost_error err;
    if (provost_queue_submit(r->srv->engine, r->body, r->body_len, &o, id, &err) != 0) {
        engine_error(p, &err, 500);
        return;
    }
    svc_json j;
    if (svc_json_open(&j) != 0) {
        svc_resp_error(p, 500, "out of memory");
        return;
    }
    fputs("{\"id\": ", j.f);
    pu_json_string(j.f, id);
    fputs("}\n", j.f);
    svc_json_close(&j, p);
    if (p->status == 200)
        p->status = 201;
}

static void job_json(FILE *f, const provost_job *j)
{
    fputs("{\"id\": ", f);
    pu_json_string(f, j->id);
    fprintf(f, ", \"state\": %d, \"state_name\": ", j->state);
    pu_json_string(f, provost_job_state_name(j->state));
    fputs(", \"runs\": ", f);
    pu_json_string(f, j->what);
    fprintf(f,
            ", \"priority\": %d, \"attempts\": %u, \"retry_count\": %u, \"retry_interval_ms\": %u, "
            "\"created_ms\": %" PRId64 ", \"due_ms\": %" PRId64 ", \"finished_ms\": %" PRId64 ", \"worker\": ",
            j->priority, j->attempts, j->retry_count, j->retry_interval_ms, j->created_ms, j->due_ms,
            j->finished_ms);
    pu_json_string(f, j->owner);
    fputs(", \"after\": [", f);
    for (size_t i = 0; i < j->nparents; i++) {
        fputs(i ? ", " : "", f);
        pu_json_string(f, j->parents[i]);
    }
    fprintf(f, "], \"waits\": %u, \"code\": ", j->waits);
    if (j->code)
        fprintf(f, "\"0x%08X\"", j->code);
    else
        fputs("null", f);
    fputs(", \"description\": ", f);
    pu_json_string(f, j->description);
    fputs("}", f);
}

void svc_queue_list(svc_req *r, svc_resp *p)
{
    if (trusted(r, p) != 0)
        return;
    int state = -1;
    const char *v = svc_query(r, "state");
    if (v && (state = provost_job_state_parse(v)) < 0) {
        svc_resp_error(p, 400, "state takes a state's code or name (PENDING, 15, ...), not '%s'", v);
        return;
    }
    provost_job *jobs;
    size_t n;
    provost_error err;
    if (provost_queue_list(r->srv->engine, state, &jobs, &n, &err) != 0) {
        engine_error(p, &err, 500);
        return;
    }
    svc_json j;
    if (svc_json_open(&j) == 0) {
        fputs("{\"jobs\": [", j.f);
        for (size_t i = 0; i < n; i++) {
            fputs(i ? ",\n  " : "\n  ", j.f);
            job_json(j.f, &jobs[i]);
        }
        fputs("]}\n", j.f);
        svc_json_close(&j, p);
    } else {
        svc_resp_error(p, 500, "out of memory");
    }
    provost_jobs_free(jobs, n);
}

void svc_queue_job(svc_req *r, svc_resp *p)
{
    if (trusted(r, p) != 0)
        return;
    provost_job job;
    provost_error err;
    if (provost_queue_status(r->srv->engine, r->seg[1], &job, &err) != 0) {
        engine_error(p, &err, 500);
        return;
    }
    svc_json j;
    if (svc_json_open(&j) == 0) {
        job_json(j.f, &job);
        fputs("\n", j.f);
        svc_json_close(&j, p);
    } else {
        svc_resp_error(p, 500, "out of memory");
    }
    provost_job_free(&job);
}

void svc_queue_results(svc_req *r, svc_resp *p)
{
    if (trusted(r, p) != 0)
        return;
    char *xml = NULL;
    provost_error err;
    if (provost_queue_results(r->srv->engine, r->seg[1], &xml, &err) != 0) {
        engine_error(p, &err, 500);
        return;
    }
    if (!xml) {
        svc_resp_error(p, 404, "job %s has not run yet", r->seg[1]);
        return;
    }
    svc_resp_set(p, 200, SVC_XML, xml, strlen(xml));
}

/* activate, retry, delete: 200 with the job's id, or the engine's refusal (409 when the
 * job is not in a state that allows it). */
static void change(svc_req *r, svc_resp *p, int (*fn)(provost_engine *, const char *, provost_error *))
{
    if (trusted(r, p) != 0)
        return;
    provost_error err;
    if (fn(r->srv->engine, r->seg[1], &err) != 0) {
        engine_error(p, &err, 409);
        return;
    }
    svc_json j;
    if (svc_json_open(&j) != 0) {
        svc_resp_error(p, 500, "out of memory");
        return;
    }
    fputs("{\"id\": ", j.f);
    pu_json_string(j.f, r->seg[1]);
    fputs("}\n", j.f);
    svc_json_close(&j, p);
}

void svc_queue_activate(svc_req *r, svc_resp *p)
{
    change(r, p, provost_queue_activate);
}

void svc_queue_retry(svc_req *r, svc_resp *p)
{
    change(r, p, provost_queue_retry);
}

void svc_queue_delete(svc_req *r, svc_resp *p)
{
    change(r, p, provost_queue_delete);
}
