/*
 * cmd_batch.c -- `provost batch`: many requests through one engine, from N worker threads.
 *
 * The main thread reads the inputs in order and numbers each request (its position); the
 * requests go through a bounded queue (4 per worker) to the workers, so memory does not
 * grow with the input.  Each request is submitted with a key, "batch:ID:POSITION", so the
 * engine records its outcome atomically with its transaction's end and never runs it twice
 * (provost_submit_doc_keyed / provost_call_keyed).  A worker then writes its result line.
 * With --out, a state file beside the results keeps the batch id, the inputs and whether
 * the batch finished: --resume reads it, skips the positions the results file already
 * holds, and submits the others again with the same keys -- those that finished before
 * the interruption (their line may have been lost) come back with their recorded outcome
 * and are not run; those that were running were ended by recovery when the engine opened
 * its database (rolled back, or committed when their commit had been decided), which
 * recorded their outcome too: they are not run again either.
 *
 * A counting thread (at low priority) reads the inputs a second time to learn the total
 * for the progress display; a ticker thread draws it, and wakes everybody up when a signal
 * asked to stop.
 */
#define _GNU_SOURCE /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "provost/provost.h"
#include "tools/batch.h"
#include "tools/tools.h"

/* ---- everything the threads share ----------------------------------------------------- */

typedef struct queue {
    pthread_mutex_t m;
    pthread_cond_t not_empty, not_full;
    batch_item *items;
    size_t cap, head, count;
    bool closed;
} queue;

typedef struct worker {
    pthread_t thread;
    batch_tally tally;
    batch_hist *hist;
    char *line;
    size_t len, cap;
    int failed_write;
} worker;

static struct batch {
    batch_options o;
    batch_input *inputs;
    size_t ninputs;
    provost_engine *e;
    char id[33];
    queue q;
    FILE *out;
    bool out_is_file;
    pthread_mutex_t out_m; /* the results file, and stderr while a progress bar is drawn */
    bool tty;
    atomic_int stop;       /* a signal number, or BATCH_STOP_ERROR / BATCH_STOP_WRITE */
    atomic_int signals;
    atomic_ullong done, failed, done_run, total, invalid_shown;
    atomic_bool total_known, counting_done, count_quit, ticker_quit;
    uint64_t started_ns;
    batch_seen seen;
    batch_tally before; /* from the results file, on resume */
} B;

#define SHOW_INVALID 20

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig)
{
    if (atomic_fetch_add(&B.signals, 1) == 0) {
        int expected = 0;
        atomic_compare_exchange_strong(&B.stop, &expected, sig);
        static const char msg[] = "\nprovost batch: stopping: no new requests; waiting for the running ones (press "
                                  "Ctrl-C again to quit at once: they will be rolled back)\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        return;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void request_stop(int why)
{
    int expected = 0;
    atomic_compare_exchange_strong(&B.stop, &expected, why);
}

/* ---- the queue ------------------------------------------------------------------------ */

static int queue_init(queue *q, size_t cap)
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
static bool queue_push(queue *q, batch_item *it)
{
    pthread_mutex_lock(&q->m);
    while (q->count == q->cap && !atomic_load(&B.stop))
        pthread_cond_wait(&q->not_full, &q->m);
    bool ok = !atomic_load(&B.stop);
    if (ok) {
        q->items[(q->head + q->count) % q->cap] = *it;
        q->count++;
        pthread_cond_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->m);
    return ok;
}

static bool queue_pop(queue *q, batch_item *it)
{
    pthread_mutex_lock(&q->m);
    while (!q->count && !q->closed && !atomic_load(&B.stop))
        pthread_cond_wait(&q->not_empty, &q->m);
    bool ok = q->count && !atomic_load(&B.stop);
    if (ok) {
        *it = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        pthread_cond_signal(&q->not_full);
    }
    pthread_mutex_unlock(&q->m);
    return ok;
}

static void queue_wake(queue *q)
{
    pthread_mutex_lock(&q->m);
    pthread_cond_broadcast(&q->not_empty);
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->m);
}

static void queue_close(queue *q)
{
    pthread_mutex_lock(&q->m);
    q->closed = true;
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->m);
}

/* What was queued and never started (a stop): freed. */
static uint64_t queue_drain(queue *q)
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

/* ---- messages while the progress bar is drawn ------------------------------------------ */

static void clear_bar(void)
{
    if (B.tty)
        fputs("\r\033[K", stderr);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&B.out_m);
    clear_bar();
    fputs("provost: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&B.out_m);
    va_end(ap);
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

static void run_item(worker *w, batch_item *it)
{
    char key[96];
    snprintf(key, sizeof key, "batch:%s:%" PRIu64, B.id, it->pos);
    batch_result r = {.pos = it->pos, .input = B.inputs[it->input].shown, .line = it->line, .client = it->client,
                      .ms = -1};
    provost_response resp = {0};
    provost_error perr = {0};
    char *outcome = NULL, *desc = NULL;
    char txid[64] = "";
    uint64_t t0 = now_ns();
    if (it->kind == BATCH_INVALID) {
        r.status = BS_INVALID;
        r.code = PROVOST_E_BADARG;
        r.description = it->error ? it->error : "out of memory";
    } else {
        int rc = it->kind == BATCH_REQUEST
                     ? provost_submit_doc_keyed(B.e, key, it->doc, PROVOST_COMPACT, &resp, &perr)
                     : provost_call_keyed(B.e, key, B.o.ns, B.o.proc, it->text, it->len, PROVOST_COMPACT, &resp,
                                          &perr);
        uint64_t t1 = now_ns();
        if (rc < 0) {
            r.status = BS_INVALID;
            r.code = perr.code ? perr.code : PROVOST_E_BADARG;
            r.description = perr.message;
            r.ms = (double)(t1 - t0) / 1e6;
        } else {
            char status[16] = "";
            if (provost_outcome(B.e, key, &outcome) == 1)
                sscanf(outcome, "%15s %*s %63s", status, txid);
            r.txid = txid[0] ? txid : NULL;
            if (rc == 1) { /* finished by an earlier run: its recorded outcome */
                r.resumed = true;
                r.code = resp.failed ? resp.code : 0;
                r.status = !resp.failed ? BS_SUCCEEDED : strcmp(status, "stuck") == 0 ? BS_STUCK : BS_FAILED;
            } else {
                r.ms = (double)(t1 - t0) / 1e6;
                r.code = resp.failed ? resp.code : 0;
                r.status = !resp.failed ? BS_SUCCEEDED : strcmp(status, "stuck") == 0 ? BS_STUCK : BS_FAILED;
                if (resp.failed)
                    r.description = desc = response_description(resp.xml);
                if (B.o.responses && resp.xml) {
                    r.response = resp.xml;
                    r.response_len = resp.len;
                }
            }
        }
    }
    if (r.ms >= 0)
        batch_hist_add(w->hist, (uint64_t)(r.ms * 1000.0));
    batch_tally_add(&w->tally, r.status, r.code, 1);
    w->len = 0;
    int fmt = batch_result_format(&r, &w->line, &w->len, &w->cap);
    pthread_mutex_lock(&B.out_m);
    if (fmt != 0 || fwrite(w->line, 1, w->len, B.out) != w->len)
        w->failed_write = errno ? errno : EIO;
    pthread_mutex_unlock(&B.out_m);
    if (w->failed_write)
        request_stop(BATCH_STOP_WRITE);
    atomic_fetch_add(&B.done, 1);
    if (!r.resumed)
        atomic_fetch_add(&B.done_run, 1);
    if (r.status != BS_SUCCEEDED) {
        atomic_fetch_add(&B.failed, 1);
        if (B.o.stop_on_error)
            request_stop(BATCH_STOP_ERROR);
    }
    if (r.status == BS_INVALID && atomic_fetch_add(&B.invalid_shown, 1) < SHOW_INVALID)
        say("%s:%lu: request %" PRIu64 ": %s", r.input, r.line, r.pos, r.description);
    free(outcome);
    free(desc);
    provost_response_free(&resp);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    batch_item it;
    while (queue_pop(&B.q, &it)) {
        run_item(w, &it);
        batch_item_clear(&it);
    }
    return NULL;
}

/* ---- reading the inputs --------------------------------------------------------------- */

typedef struct source {
    batch_xml *x;
    batch_rows *r;
} source;

static int source_open(source *s, const batch_input *in, unsigned idx, bool count_only, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (in->format == BATCH_XML)
        s->x = batch_xml_open(in->path, idx, B.o.ns != NULL, count_only, err, errlen);
    else
        s->r = batch_rows_open(in->path, idx, in->format, count_only, err, errlen);
    return s->x || s->r ? 0 : -1;
}

static int source_next(source *s, batch_item *it)
{
    return s->x ? batch_xml_next(s->x, it) : batch_rows_next(s->r, it);
}

static void source_close(source *s)
{
    batch_xml_close(s->x);
    batch_rows_close(s->r);
    memset(s, 0, sizeof *s);
}

static void *count_main(void *arg)
{
    (void)arg;
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    uint64_t n = 0;
    for (size_t i = 0; i < B.ninputs && !atomic_load(&B.stop) && !atomic_load(&B.count_quit); i++) {
        source s;
        char err[256];
        if (source_open(&s, &B.inputs[i], (unsigned)i, true, err, sizeof err) != 0) {
            n++; /* the producer reports it as one invalid item */
            continue;
        }
        batch_item it;
        while (!atomic_load(&B.stop) && !atomic_load(&B.count_quit) && source_next(&s, &it) > 0) {
            batch_item_clear(&it);
            n++;
        }
        source_close(&s);
    }
    if (!atomic_load(&B.stop) && !atomic_load(&B.count_quit)) {
        atomic_store(&B.total, n);
        atomic_store(&B.total_known, true);
    }
    atomic_store(&B.counting_done, true);
    return NULL;
}

/* Reads every input in order and queues each request not done yet.  Returns true when
 * every input was read to its end. */
static bool produce(source *first)
{
    uint64_t pos = 0;
    for (size_t i = 0; i < B.ninputs; i++) {
        source s;
        char err[256];
        if (i == 0 && first->x == NULL && first->r == NULL)
            first = NULL;
        if (i == 0 && first) {
            s = *first;
        } else if (source_open(&s, &B.inputs[i], (unsigned)i, false, err, sizeof err) != 0) {
            batch_item it = {.pos = ++pos, .input = (unsigned)i, .line = 1};
            batch_item_invalid(&it, "cannot be read: %s", err);
            if (batch_seen_has(&B.seen, it.pos) || !queue_push(&B.q, &it))
                batch_item_clear(&it);
            if (atomic_load(&B.stop))
                return false;
            continue;
        }
        batch_item it;
        while (!atomic_load(&B.stop) && source_next(&s, &it) > 0) {
            it.pos = ++pos;
            if (batch_seen_has(&B.seen, it.pos) || !queue_push(&B.q, &it))
                batch_item_clear(&it);
        }
        source_close(&s);
        if (atomic_load(&B.stop))
            return false;
    }
    return true;
}

/* ---- progress ------------------------------------------------------------------------- */

static void progress_view(batch_progress_view *v)
{
    v->done = atomic_load(&B.done) + B.seen.count;
    v->failed = atomic_load(&B.failed) + B.before.by_status[BS_FAILED] + B.before.by_status[BS_STUCK] +
                B.before.by_status[BS_INVALID];
    v->total = atomic_load(&B.total_known) ? atomic_load(&B.total) : 0;
    if (v->total && v->done > v->total)
        v->total = v->done;
    v->done_this_run = atomic_load(&B.done_run);
    v->elapsed = (double)(now_ns() - B.started_ns) / 1e9;
    v->rate = v->elapsed > 0 ? (double)v->done_this_run / v->elapsed : 0;
}

static void *ticker_main(void *arg)
{
    (void)arg;
    double every = B.tty ? 0.25 : B.o.progress_every;
    bool show = !B.o.quiet && (B.tty || every > 0);
    uint64_t last_show = now_ns(), last_flush = last_show;
    while (!atomic_load(&B.ticker_quit)) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
        if (atomic_load(&B.stop))
            queue_wake(&B.q);
        uint64_t t = now_ns();
        bool draw = show && (double)(t - last_show) / 1e9 >= every;
        bool flush = t - last_flush >= 1000000000u; /* results reach the file within a second */
        if (!draw && !flush)
            continue;
        pthread_mutex_lock(&B.out_m);
        if (draw) {
            batch_progress_view v;
            progress_view(&v);
            batch_progress_print(stderr, &v, B.tty);
            last_show = t;
        }
        if (flush) {
            fflush(B.out);
            last_flush = t;
        }
        pthread_mutex_unlock(&B.out_m);
    }
    return NULL;
}

/* ---- the command ---------------------------------------------------------------------- */

/* What the command holds from setting up to the end. */
typedef struct setup {
    char *results, *statep, *dbabs;
    batch_state st; /* the state file, when there is one */
    const char **given; /* the inputs as given (or recorded) */
    int ngiven;
    char **abs;         /* and absolute */
    uint64_t hash;
    source first;       /* --rows: opened to check its header */
    int fd;             /* the results file, locked */
} setup;

static void state_of(const setup *s, batch_state *ns, bool finished)
{
    const batch_options *o = &B.o;
    *ns = (batch_state){.db = s->dbabs, .call = o->ns != NULL, .ns = (char *)o->ns, .proc = (char *)o->proc,
                        .format = o->rows ? B.inputs[0].format : BATCH_XML, .inputs = s->abs,
                        .given = (char **)s->given, .ninputs = s->ngiven, .files_hash = s->hash,
                        .nfiles = B.ninputs, .finished = finished};
    memcpy(ns->id, B.id, sizeof ns->id);
}

/* Everything before the first request: 0, or an exit status (the error said). */
static int prepare(setup *s, int argc, char **argv)
{
    batch_options *o = &B.o;
    char err[1200] = "";
    if (batch_parse_options(argc, argv, o))
        return 2;
    if (o->out && strcmp(o->out, "-") != 0 && batch_out_paths(o->out, &s->results, &s->statep))
        return 2;

    /* the batch: a new one, or the one recorded beside the results */
    batch_state *st = &s->st;
    int have = s->statep ? batch_state_read(s->statep, st, err, sizeof err) : 0;
    if (have < 0)
        return die("batch: %s", err);
    s->given = o->inputs;
    s->ngiven = o->ninputs;
    bool given_here = s->ngiven > 0 || o->rows;
    if (o->rows) {
        s->given = &o->rows;
        s->ngiven = 1;
    }
    if (o->resume) {
        if (!have)
            return die("batch: nothing to resume: %s does not exist (start the batch without --resume)", s->statep);
        if (!o->ns && st->call && !given_here) {
            o->ns = st->ns;
            o->proc = st->proc;
        }
        if ((o->ns != NULL) != st->call ||
            (st->call && (strcmp(o->ns, st->ns ? st->ns : "") != 0 || strcmp(o->proc, st->proc ? st->proc : "") != 0)))
            return die("batch: --resume: the batch %s %s%s%s%s", st->call ? "calls" : "runs request files, not",
                       st->call ? st->ns : "a procedure", st->call ? " " : "", st->call ? st->proc : "",
                       st->call ? ": give the same --call (or none)" : ": give no --call");
        if (!given_here) {
            for (int i = 0; i < st->ninputs; i++)
                if (strcmp(st->inputs[i], "-") == 0)
                    return die("batch: --resume: the batch read standard input: give it again, as -");
            s->given = (const char **)st->given;
            s->ngiven = st->ninputs;
            if (st->call && st->format != BATCH_XML) {
                o->rows = st->given[0];
                o->format = st->format;
            }
        }
        memcpy(B.id, st->id, sizeof B.id);
    } else {
        if (have && !st->finished)
            return die("batch: %s holds an unfinished batch (%s): continue it with --resume, or remove %s and %s to "
                       "start again",
                       s->results, st->id, s->results, s->statep);
        batch_new_id(B.id);
    }

    /* the inputs */
    if (!(s->abs = calloc((size_t)s->ngiven + 1, sizeof *s->abs)))
        return die("batch: out of memory");
    for (int i = 0; i < s->ngiven; i++)
        if (batch_resolve(s->given[i], &s->abs[i]))
            return 2;
    if (o->resume && given_here) {
        bool same = s->ngiven == st->ninputs;
        for (int i = 0; same && i < s->ngiven; i++)
            same = strcmp(s->abs[i], st->inputs[i]) == 0;
        if (!same)
            return die("batch: --resume: these are not the inputs the batch was started with (see %s)", s->statep);
    }
    if (batch_inputs_expand((const char *const *)s->abs, s->given, s->ngiven, o->rows != NULL, o->format, &B.inputs,
                            &B.ninputs, &s->hash, err, sizeof err) != 0)
        return die("batch: %s", err);
    if (o->resume && (s->hash != st->files_hash || B.ninputs != st->nfiles))
        return die("batch: --resume: the files of the input directories changed since the batch started (%lu "
                   "then, %zu now): positions would not match",
                   st->nfiles, B.ninputs);
    if (o->rows && source_open(&s->first, &B.inputs[0], 0, false, err, sizeof err) != 0)
        return die("batch: %s:%s%s", B.inputs[0].shown, err[0] >= '0' && err[0] <= '9' ? "" : " ", err);

    /* the results file, locked: one batch writes it at a time */
    if (s->results) {
        s->fd = open(s->results, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (s->fd < 0)
            return die("batch: %s: %s", s->results, strerror(errno));
        if (flock(s->fd, LOCK_EX | LOCK_NB) != 0)
            return die("batch: %s is being written by another provost batch", s->results);
    }

    /* the engine: opening it rolls back what an interruption left running */
    provost_options po = tool_engine_options(o->sync);
    const char *db = po.db_path;
    int status = 0;
    if (!(B.e = tool_open_with(&po, &status)))
        return status;
    s->dbabs = realpath(db, NULL);
    if (o->resume && (!s->dbabs || !st->db || strcmp(s->dbabs, st->db) != 0))
        return die("batch: --resume: the batch ran on the database %s, not %s: its outcomes are there (give --db %s)",
                   st->db ? st->db : "?", s->dbabs ? s->dbabs : db, st->db ? st->db : "?");
    if (o->ns && batch_check_call(B.e, o->ns, o->proc))
        return 2;

    /* the results so far, and the state */
    if (s->results) {
        uint64_t dropped = 0;
        if (o->resume) {
            if (batch_results_scan(s->fd, &B.seen, &B.before, &dropped, err, sizeof err) != 0)
                return die("batch: %s: %s", s->results, err);
        } else if (ftruncate(s->fd, 0) != 0) {
            return die("batch: %s: %s", s->results, strerror(errno));
        }
        lseek(s->fd, 0, SEEK_END);
        if (!(B.out = fdopen(s->fd, "w")))
            return die("batch: %s: %s", s->results, strerror(errno));
        s->fd = -1; /* B.out owns it */
        B.out_is_file = true;
        batch_state ns;
        state_of(s, &ns, false);
        if (batch_state_write(s->statep, &ns, err, sizeof err) != 0)
            return die("batch: %s: %s", s->statep, err);
        if (dropped)
            fprintf(stderr, "provost batch: %s: %" PRIu64 " incomplete line%s dropped (written again below)\n",
                    s->results, dropped, dropped == 1 ? "" : "s");
    } else {
        B.out = stdout;
    }
    return 0;
}

/* Runs the batch: the exit status. */
static int run(setup *s)
{
    const batch_options *o = &B.o;
    static char outbuf[1 << 20];
    setvbuf(B.out, outbuf, _IOFBF, sizeof outbuf);
    pthread_mutex_init(&B.out_m, NULL);
    B.tty = !o->quiet && isatty(2);
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    worker *w = calloc((size_t)o->jobs, sizeof *w);
    batch_hist *h = calloc(1, sizeof *h);
    if (!w || !h || queue_init(&B.q, (size_t)o->jobs * 4 < 16 ? 16 : (size_t)o->jobs * 4) != 0) {
        free(w);
        free(h);
        return die("batch: out of memory");
    }
    B.started_ns = now_ns();
    int started = 0;
    for (; started < o->jobs; started++) {
        w[started].hist = calloc(1, sizeof *w[started].hist);
        if (!w[started].hist || pthread_create(&w[started].thread, NULL, worker_main, &w[started]) != 0) {
            free(w[started].hist);
            break;
        }
    }
    pthread_t counter, ticker;
    bool counting = !o->quiet && (B.tty || o->progress_every > 0) &&
                    pthread_create(&counter, NULL, count_main, NULL) == 0;
    bool ticking = pthread_create(&ticker, NULL, ticker_main, NULL) == 0;
    bool finished = false;
    if (started > 0) {
        finished = produce(&s->first);
        memset(&s->first, 0, sizeof s->first); /* produce() closed it */
    }
    queue_close(&B.q);
    for (int i = 0; i < started; i++)
        pthread_join(w[i].thread, NULL);
    double seconds = (double)(now_ns() - B.started_ns) / 1e9;
    uint64_t drained = queue_drain(&B.q); /* queued, never started */
    finished = finished && !atomic_load(&B.stop) && !drained;
    if (counting) {
        atomic_store(&B.count_quit, true);
        pthread_join(counter, NULL);
    }
    atomic_store(&B.ticker_quit, true);
    if (ticking)
        pthread_join(ticker, NULL);
    if (B.tty)
        clear_bar();

    /* the results are complete: then the batch is */
    int status = 0, write_error = 0;
    provost_error gone;
    if (provost_check(B.e, &gone) != 0) {
        fprintf(stderr, "provost: batch: %s\n", gone.message);
        finished = false;
        status = 2;
    }
    for (int i = 0; i < started; i++)
        if (w[i].failed_write)
            write_error = w[i].failed_write;
    if (fflush(B.out) != 0 || (B.out_is_file && fsync(fileno(B.out)) != 0))
        write_error = errno ? errno : EIO;
    if (write_error) {
        fprintf(stderr, "provost: batch: %s: %s\n", s->results ? s->results : "standard output",
                strerror(write_error));
        finished = false;
        status = 2;
    }
    if (finished && s->results) {
        batch_state ns;
        char err[300];
        state_of(s, &ns, true);
        if (batch_state_write(s->statep, &ns, err, sizeof err) != 0) {
            fprintf(stderr, "provost: batch: %s: %s\n", s->statep, err);
            status = 2;
        }
    }
    batch_tally all = {0};
    batch_tally_merge(&all, &B.before);
    for (int i = 0; i < started; i++) {
        batch_tally_merge(&all, &w[i].tally);
        batch_hist_merge(h, w[i].hist);
    }
    batch_summary sum = {.all = &all, .h = h, .seconds = seconds, .run = atomic_load(&B.done_run),
                         .recorded = atomic_load(&B.done) - atomic_load(&B.done_run), .seen = B.seen.count,
                         .total = atomic_load(&B.total_known) ? atomic_load(&B.total) : 0, .finished = finished,
                         .stop = atomic_load(&B.stop), .results = s->results, .out = o->out, .id = B.id};
    batch_summary_print(stderr, &sum);
    int stop = atomic_load(&B.stop);
    if (!status)
        status = stop == SIGINT || stop == SIGTERM                                     ? 128 + stop
                 : !finished || all.by_status[BS_SUCCEEDED] != batch_tally_total(&all) ? 1
                                                                                        : 0;
    for (int i = 0; i < started; i++) {
        batch_tally_free(&w[i].tally);
        free(w[i].hist);
        free(w[i].line);
    }
    free(w);
    free(h);
    batch_tally_free(&all);
    return status;
}

int cmd_batch(int argc, char **argv)
{
    xmlInitParser();
    setup s = {.fd = -1};
    int status = prepare(&s, argc, argv);
    if (status == 0)
        status = run(&s);
    source_close(&s.first);
    if (B.e)
        provost_close(B.e);
    if (B.out && B.out_is_file)
        fclose(B.out);
    else if (B.out)
        fflush(B.out);
    if (s.fd >= 0)
        close(s.fd);
    batch_tally_free(&B.before);
    batch_seen_free(&B.seen);
    batch_inputs_free(B.inputs, B.ninputs);
    for (int i = 0; s.abs && i < s.ngiven; i++)
        free(s.abs[i]);
    free(s.abs);
    free(s.dbabs);
    free(B.q.items);
    free(s.results);
    free(s.statep);
    free(B.o.inputs);
    batch_state_free(&s.st);
    return status;
}
