/*
 * batch_run.c -- the threads of a batch.
 *
 * The calling thread reads the inputs in order and numbers each request (its position); the
 * requests go through a bounded queue (4 per worker) to the workers, so memory does not
 * grow with the input.  Each request is submitted with a key, "batch:ID:POSITION", so the
 * engine records its outcome atomically with its transaction's end and never runs it twice
 * (provost_submit_doc_keyed / provost_call_keyed).  A worker then writes its result line.
 *
 * A counting thread (at low priority) reads the inputs a second time to learn the total
 * for the progress callback; a ticker thread calls it, flushes the results every second,
 * and wakes everybody up when the batch is asked to stop.
 */
#define _GNU_SOURCE /* syscall */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "rbatch.h"

#define LATENCY_SUBBITS 6 /* 64 buckets per power of two: within 1.6% */

typedef struct worker {
    pthread_t thread;
    batch_run *b;
    batch_tally tally;
    pu_hist hist; /* ns */
    char *line;
    size_t len, cap;
    int failed_write;
} worker;

uint64_t batch_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void request_stop(batch_run *b, int why)
{
    int expected = 0;
    atomic_compare_exchange_strong(&b->stop, &expected, why);
}

/* The caller's interrupt becomes the batch's stop the first time it is seen. */
int batch_stop_reason(batch_run *b)
{
    int why = atomic_load(&b->stop);
    int sig = b->o->interrupt ? (int)__atomic_load_n(b->o->interrupt, __ATOMIC_RELAXED) : 0;
    if (!why && sig) {
        request_stop(b, sig);
        why = atomic_load(&b->stop);
    }
    return why;
}

void batch_say(batch_run *b, int kind, const char *fmt, ...)
{
    if (!b->o->message)
        return;
    char text[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&b->out_m);
    b->o->message(b->o->ctx, kind, text);
    pthread_mutex_unlock(&b->out_m);
}

/* ---- the queue ------------------------------------------------------------------------ */

static int queue_init(batch_queue *q, size_t cap)
{
    memset(q, 0, sizeof *q);
    q->items = calloc(cap, sizeof *q->items);
    if (!q->items)
        return -1;
    q->cap = cap;
    pthread_mutex_init(&q->m, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    pthread_cond_init(&q->not_full, NULL);
    return 0;
}

/* Hands it over (false when the batch is stopping: it is still the caller's). */
static bool queue_push(batch_run *b, batch_item *it)
{
    batch_queue *q = &b->q;
    pthread_mutex_lock(&q->m);
    while (q->count == q->cap && !batch_stop_reason(b))
        pthread_cond_wait(&q->not_full, &q->m);
    bool ok = !batch_stop_reason(b);
    if (ok) {
        q->items[(q->head + q->count) % q->cap] = *it;
        q->count++;
        pthread_cond_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->m);
    return ok;
}

static bool queue_pop(batch_run *b, batch_item *it)
{
    batch_queue *q = &b->q;
    pthread_mutex_lock(&q->m);
    while (!q->count && !q->closed && !batch_stop_reason(b))
        pthread_cond_wait(&q->not_empty, &q->m);
    bool ok = q->count && !batch_stop_reason(b);
    if (ok) {
        *it = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        pthread_cond_signal(&q->not_full);
    }
    pthread_mutex_unlock(&q->m);
    return ok;
}

static void queue_wake(batch_queue *q)
{
    pthread_mutex_lock(&q->m);
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->m);
}

static void queue_close(batch_queue *q)
{
    pthread_mutex_lock(&q->m);
    q->closed = true;
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->m);
}

/* What was queued and never started (a stop): freed. */
static uint64_t queue_drain(batch_queue *q)
{
    uint64_t n = 0;
    batch_item it;
    pthread_mutex_lock(&q->m);
    while (q->count) {
        it = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        batch_item_clear(&it);
        n++;
    }
    pthread_mutex_unlock(&q->m);
    return n;
}

/* ---- a worker ------------------------------------------------------------------------- */

/* The description of the first errorContext of a response, unescaped (malloc'd). */
static char *response_description(const char *xml)
{
    const char *ec = xml ? strstr(xml, "<errorContext") : NULL;
    const char *end = ec ? strchr(ec, '>') : NULL;
    const char *d = ec ? strstr(ec, " description=\"") : NULL;
    if (!d || d > end)
        return NULL;
    d += 14;
    const char *q = strchr(d, '"');
    if (!q)
        return NULL;
    char *out = malloc((size_t)(q - d) + 1), *o = out;
    if (!out)
        return NULL;
    while (d < q) {
        if (*d != '&') {
            *o++ = *d++;
            continue;
        }
        static const struct {
            const char *ent;
            char c;
        } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
        bool done = false;
        for (size_t i = 0; i < sizeof ents / sizeof ents[0] && !done; i++)
            if (strncmp(d, ents[i].ent, strlen(ents[i].ent)) == 0) {
                *o++ = ents[i].c;
                d += strlen(ents[i].ent);
                done = true;
            }
        if (!done && d[1] == '#') {
            char *e;
            unsigned long cp = d[2] == 'x' ? strtoul(d + 3, &e, 16) : strtoul(d + 2, &e, 10);
            if (*e == ';' && cp < 0x80) {
                *o++ = (char)cp;
                d = e + 1;
                done = true;
            }
        }
        if (!done)
            *o++ = *d++;
    }
    *o = 0;
    return out;
}

/* Submits one item for the principal of the options (the engine takes a request for
 * another principal as text). */
static int submit_as(batch_run *b, const char *key, batch_item *it, provost_response *resp, provost_error *perr)
{
    provost_request_opts ro = {.principal = b->o->principal, .key = key, .format = PROVOST_COMPACT};
    if (it->kind != BATCH_REQUEST)
        return provost_call_as(b->e, &ro, b->ns, b->proc, it->text, it->len, resp, perr);
    xmlChar *xml = NULL;
    int len = 0;
    xmlDocDumpMemory(it->doc, &xml, &len);
    if (!xml) {
        memset(resp, 0, sizeof *resp);
        *perr = (provost_error){.code = PROVOST_E_OUTOFMEMORY};
        snprintf(perr->message, sizeof perr->message, "out of memory");
        return -1;
    }
    int rc = provost_submit_as(b->e, &ro, (const char *)xml, (size_t)len, resp, perr);
    xmlFree(xml);
    return rc;
}

/* Submits one item; r gets what became of it (its strings live in resp, *desc, txid). */
static void submit(batch_run *b, batch_item *it, batch_result *r, provost_response *resp, char **desc,
                   char txid[64])
{
    char key[96], *outcome = NULL;
    provost_error perr = {0};
    snprintf(key, sizeof key, "batch:%s:%" PRIu64, b->id, it->pos);
    uint64_t t0 = batch_now_ns();
    int rc = b->o->principal ? submit_as(b, key, it, resp, &perr)
             : it->kind == BATCH_REQUEST
                 ? provost_submit_doc_keyed(b->e, key, it->doc, PROVOST_COMPACT, resp, &perr)
                 : provost_call_keyed(b->e, key, b->ns, b->proc, it->text, it->len, PROVOST_COMPACT, resp, &perr);
    uint64_t t1 = batch_now_ns();
    if (rc < 0) {
        r->status = BS_INVALID;
        r->code = perr.code ? perr.code : PROVOST_E_INVALIDARG;
        *desc = strdup(perr.message);
        r->description = *desc ? *desc : "out of memory";
        r->ms = (double)(t1 - t0) / 1e6;
        return;
    }
    char status[16] = "";
    if (provost_outcome(b->e, key, &outcome) == 1)
        sscanf(outcome, "%15s %*s %63s", status, txid);
    free(outcome);
    r->txid = txid[0] ? txid : NULL;
    r->code = resp->failed ? resp->code : 0;
    r->status = !resp->failed ? BS_SUCCEEDED : strcmp(status, "stuck") == 0 ? BS_STUCK : BS_FAILED;
    if (rc == 1) { /* finished by an earlier run: its recorded outcome */
        r->resumed = true;
        return;
    }
    r->ms = (double)(t1 - t0) / 1e6;
    if (resp->failed)
        r->description = *desc = response_description(resp->xml);
    if (b->o->responses && resp->xml) {
        r->response = resp->xml;
        r->response_len = resp->len;
    }
}

static void run_item(worker *w, batch_item *it)
{
    batch_run *b = w->b;
    batch_result r = {.pos = it->pos, .input = b->inputs[it->input].shown, .line = it->line, .client = it->client,
                      .ms = -1};
    provost_response resp = {0};
    char *desc = NULL, txid[64] = "";
    if (it->kind == BATCH_INVALID) {
        r.status = BS_INVALID;
        r.code = PROVOST_E_INVALIDARG;
        r.description = it->error ? it->error : "out of memory";
    } else {
        submit(b, it, &r, &resp, &desc, txid);
    }
    if (r.ms >= 0)
        pu_hist_add(&w->hist, (uint64_t)(r.ms * 1e6));
    batch_tally_add(&w->tally, r.status, r.code, 1);
    w->len = 0;
    int fmt = batch_result_format(&r, &w->line, &w->len, &w->cap);
    pthread_mutex_lock(&b->out_m);
    if (fmt != 0 || fwrite(w->line, 1, w->len, b->out) != w->len)
        w->failed_write = errno ? errno : EIO;
    pthread_mutex_unlock(&b->out_m);
    if (w->failed_write)
        request_stop(b, BATCH_STOP_WRITE);
    atomic_fetch_add(&b->done, 1);
    if (!r.resumed)
        atomic_fetch_add(&b->done_run, 1);
    if (r.status != BS_SUCCEEDED) {
        atomic_fetch_add(&b->failed, 1);
        if (b->o->stop_on_error)
            request_stop(b, BATCH_STOP_ERROR);
    }
    if (r.status == BS_INVALID)
        batch_say(b, PROVOST_BATCH_SAY_INVALID, "%s:%lu: request %" PRIu64 ": %s", r.input, r.line, r.pos,
                  r.description);
    free(desc);
    provost_response_free(&resp);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    batch_item it;
    while (queue_pop(w->b, &it)) {
        run_item(w, &it);
        batch_item_clear(&it);
    }
    return NULL;
}

/* ---- reading the inputs --------------------------------------------------------------- */

int batch_source_open(batch_run *b, batch_source *s, const batch_input *in, unsigned idx, bool count_only,
                      char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (in->format == BATCH_XML)
        s->x = batch_xml_open(in->path, idx, b->ns != NULL, count_only, err, errlen);
    else
        s->r = batch_rows_open(in->path, idx, in->format, count_only, err, errlen);
    return s->x || s->r ? 0 : -1;
}

int batch_source_next(batch_source *s, batch_item *it)
{
    return s->x ? batch_xml_next(s->x, it) : batch_rows_next(s->r, it);
}

void batch_source_close(batch_source *s)
{
    batch_xml_close(s->x);
    batch_rows_close(s->r);
    memset(s, 0, sizeof *s);
}

static bool counting_on(batch_run *b)
{
    return !batch_stop_reason(b) && !atomic_load(&b->count_quit);
}

static void *count_main(void *arg)
{
    batch_run *b = arg;
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    uint64_t n = 0;
    for (size_t i = 0; i < b->ninputs && counting_on(b); i++) {
        batch_source s;
        char err[256];
        if (batch_source_open(b, &s, &b->inputs[i], (unsigned)i, true, err, sizeof err) != 0) {
            n++; /* the producer reports it as one invalid item */
            continue;
        }
        batch_item it;
        while (counting_on(b) && batch_source_next(&s, &it) > 0) {
            batch_item_clear(&it);
            n++;
        }
        batch_source_close(&s);
    }
    if (counting_on(b)) {
        atomic_store(&b->total, n);
        atomic_store(&b->total_known, true);
    }
    atomic_store(&b->counting_done, true);
    return NULL;
}

/* Queues the item unless the results hold it already or the batch stops (then freed). */
static void offer(batch_run *b, batch_item *it)
{
    if (batch_seen_has(&b->seen, it->pos) || !queue_push(b, it))
        batch_item_clear(it);
}

/* Reads every input in order and queues each request not done yet.  Returns true when
 * every input was read to its end. */
static bool produce(batch_run *b)
{
    uint64_t pos = 0;
    for (size_t i = 0; i < b->ninputs; i++) {
        batch_source s;
        char err[256];
        batch_item it;
        if (i == 0 && (b->first.x || b->first.r)) {
            s = b->first;
            memset(&b->first, 0, sizeof b->first);
        } else if (batch_source_open(b, &s, &b->inputs[i], (unsigned)i, false, err, sizeof err) != 0) {
            it = (batch_item){.pos = ++pos, .input = (unsigned)i, .line = 1};
            batch_item_invalid(&it, "cannot be read: %s", err);
            offer(b, &it);
            if (batch_stop_reason(b))
                return false;
            continue;
        }
        while (!batch_stop_reason(b) && batch_source_next(&s, &it) > 0) {
            it.pos = ++pos;
            offer(b, &it);
        }
        batch_source_close(&s);
        if (batch_stop_reason(b))
            return false;
    }
    return true;
}

/* ---- progress ------------------------------------------------------------------------- */

static void progress_view(batch_run *b, provost_batch_progress *v)
{
    v->done = atomic_load(&b->done) + b->seen.count;
    v->failed = atomic_load(&b->failed) + b->before.by_status[BS_FAILED] + b->before.by_status[BS_STUCK] +
                b->before.by_status[BS_INVALID];
    v->total = atomic_load(&b->total_known) ? atomic_load(&b->total) : 0;
    if (v->total && v->done > v->total)
        v->total = v->done;
    v->done_this_run = atomic_load(&b->done_run);
    v->elapsed = (double)(batch_now_ns() - b->started_ns) / 1e9;
    v->rate = v->elapsed > 0 ? (double)v->done_this_run / v->elapsed : 0;
}

static void *ticker_main(void *arg)
{
    batch_run *b = arg;
    double every = b->o->progress ? b->o->progress_every : 0;
    uint64_t last_show = batch_now_ns(), last_flush = last_show;
    while (!atomic_load(&b->ticker_quit)) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
        if (batch_stop_reason(b))
            queue_wake(&b->q);
        uint64_t t = batch_now_ns();
        bool draw = every > 0 && (double)(t - last_show) / 1e9 >= every;
        bool flush = t - last_flush >= 1000000000u; /* results reach the file within a second */
        if (!draw && !flush)
            continue;
        pthread_mutex_lock(&b->out_m);
        if (draw) {
            provost_batch_progress v;
            progress_view(b, &v);
            b->o->progress(b->o->ctx, &v);
            last_show = t;
        }
        if (flush) {
            fflush(b->out);
            last_flush = t;
        }
        pthread_mutex_unlock(&b->out_m);
    }
    return NULL;
}

/* ---- the run -------------------------------------------------------------------------- */

/* Joins the workers; their tallies and latencies go to ran. */
static void join_workers(worker *w, int started, batch_ran *ran)
{
    for (int i = 0; i < started; i++)
        pthread_join(w[i].thread, NULL);
    for (int i = 0; i < started; i++) {
        if (w[i].failed_write)
            ran->write_error = w[i].failed_write;
        batch_tally_merge(&ran->tally, &w[i].tally);
        pu_hist_merge(&ran->hist, &w[i].hist);
        batch_tally_free(&w[i].tally);
        pu_hist_free(&w[i].hist);
        free(w[i].line);
    }
}

int batch_run_threads(batch_run *b, batch_ran *ran)
{
    int jobs = b->o->jobs < 1 ? 1 : b->o->jobs;
    worker *w = calloc((size_t)jobs, sizeof *w);
    if (!w || pu_hist_init(&ran->hist, LATENCY_SUBBITS) != 0 || queue_init(&b->q, (size_t)jobs * 4 < 16 ? 16 : (size_t)jobs * 4) != 0) {
        free(w);
        return -1;
    }
    b->started_ns = batch_now_ns();
    int started = 0;
    for (; started < jobs; started++) {
        w[started].b = b;
        if (pu_hist_init(&w[started].hist, LATENCY_SUBBITS) != 0 ||
            pthread_create(&w[started].thread, NULL, worker_main, &w[started]) != 0) {
            pu_hist_free(&w[started].hist);
            break;
        }
    }
    pthread_t counter, ticker;
    bool counting = b->o->progress && b->o->progress_every > 0 && pthread_create(&counter, NULL, count_main, b) == 0;
    bool ticking = pthread_create(&ticker, NULL, ticker_main, b) == 0;
    bool finished = started > 0 && produce(b);
    queue_close(&b->q);
    join_workers(w, started, ran);
    free(w);
    ran->seconds = (double)(batch_now_ns() - b->started_ns) / 1e9;
    uint64_t drained = queue_drain(&b->q); /* queued, never started */
    ran->finished = finished && !batch_stop_reason(b) && !drained;
    if (counting) {
        atomic_store(&b->count_quit, true);
        pthread_join(counter, NULL);
    }
    atomic_store(&b->ticker_quit, true);
    if (ticking)
        pthread_join(ticker, NULL);
    return 0;
}
