/*
 * batch.c -- batches over HTTP: POST /batch stores the body (a stream of requests, or rows
 * with ?call=NS/PROC) in DB/service-batches/ID/ -- complete, or not at all -- and answers
 * 202 at once; a runner thread then runs the stored batches one at a time, in the order
 * they came, through run/'s batch runner on the service's engine, each request for the
 * principal that posted the batch.  The runner's results file and state live beside the
 * input, so a batch the service did not finish (a crash, SIGTERM) is resumed when it
 * starts again, and what already ran is not run again.
 *
 * GET /batch/{id} tallies the results written so far; GET /batch/{id}/results streams
 * them.  A batch is seen by the principal that posted it and by administrators.
 */
#define _GNU_SOURCE /* asprintf */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <microhttpd.h>

#include "provost/batch.h"
#include "provost/rights.h"
#include "util/json.h"
#include "util/str.h"
#include "svc.h"

enum sb_state { SB_QUEUED, SB_RUNNING, SB_DONE, SB_STOPPED };
static const char *const sb_state_names[] = {"queued", "running", "done", "stopped"};
static const char *const sb_format_names[] = {"xml", "csv", "jsonl"};

/* One batch. */
typedef struct sb_batch {
    char id[33];
    char *principal;
    char *ns, *proc; /* the call target of rows (or of data documents), or NULL */
    int format;      /* provost_batch_format of the input */
    int64_t created_ms;
    int state;            /* sb_state */
    bool resume;          /* its state file exists: the runner goes on with it */
    volatile sig_atomic_t interrupt;
    provost_batch_progress prog; /* the runner's last word */
    double rate;          /* requests per second of the last run */
    char *error;          /* why it stopped, or NULL */
    struct sb_batch *next;
} sb_batch;

struct svc_batches {
    svc_server *s;
    char root[4200]; /* DB/service-batches */
    pthread_mutex_t m;
    pthread_cond_t cv;
    sb_batch *head;
    bool quit, started;
    pthread_t runner;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sb_free(sb_batch *b)
{
    free(b->principal);
    free(b->ns);
    free(b->proc);
    free(b->error);
    free(b);
}

/* ---- files ---------------------------------------------------------------------------- */

static int write_file(const char *path, const char *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    int rc = fsync(fd);
    return close(fd) != 0 || rc != 0 ? -1 : 0;
}

static void sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Removes a batch directory that was never complete (its files, then itself). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                char p[4500];
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
}

/* What the service keeps about a batch besides its input: one "key value" a line. */
static int write_meta(const char *dir, const sb_batch *b)
{
    char *text = NULL, path[4500];
    int n = asprintf(&text, "principal %s\nformat %s\ncreated %" PRId64 "\n%s%s%s%s%s", b->principal,
                     sb_format_names[b->format], b->created_ms, b->ns ? "ns " : "", b->ns ? b->ns : "",
                     b->ns ? "\nproc " : "", b->proc ? b->proc : "", b->ns ? "\n" : "");
    if (n < 0)
        return -1;
    snprintf(path, sizeof path, "%s/meta", dir);
    int rc = write_file(path, text, (size_t)n);
    free(text);
    return rc;
}

static sb_batch *read_meta(const char *dir, const char *id)
{
    char path[4500], line[1024];
    if (snprintf(path, sizeof path, "%s/meta", dir) >= (int)sizeof path)
        return NULL; /* no batch directory is that long: it is none of ours */
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    sb_batch *b = calloc(1, sizeof *b);
    if (!b) {
        fclose(f);
        return NULL;
    }
    snprintf(b->id, sizeof b->id, "%s", id);
    b->format = -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *v = strchr(line, ' ');
        if (!v)
            continue;
        *v++ = 0;
        if (strcmp(line, "principal") == 0)
            b->principal = strdup(v);
        else if (strcmp(line, "ns") == 0)
            b->ns = strdup(v);
        else if (strcmp(line, "proc") == 0)
            b->proc = strdup(v);
        else if (strcmp(line, "created") == 0)
            b->created_ms = strtoll(v, NULL, 10);
        else if (strcmp(line, "format") == 0)
            for (int i = 0; i < 3; i++)
                if (strcmp(v, sb_format_names[i]) == 0)
                    b->format = i;
    }
    fclose(f);
    if (!b->principal || b->format < 0 || !b->ns != !b->proc) {
        sb_free(b);
        return NULL;
    }
    return b;
}

/* The runner's state file says the batch finished: 1; unfinished: 0; none: -1. */
static int state_finished(const char *dir)
{
    char path[4500], line[256];
    snprintf(path, sizeof path, "%s/batch.state", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int finished = 0;
    while (fgets(line, sizeof line, f))
        if (strcmp(line, "finished 1\n") == 0)
            finished = 1;
    fclose(f);
    return finished;
}

/* ---- the runner ----------------------------------------------------------------------- */

typedef struct sb_ctx {
    svc_batches *bs;
    sb_batch *b;
} sb_ctx;

static void progress_cb(void *ctx, const provost_batch_progress *p)
{
    sb_ctx *c = ctx;
    pthread_mutex_lock(&c->bs->m);
    c->b->prog = *p;
    pthread_mutex_unlock(&c->bs->m);
}

static void message_cb(void *ctx, int kind, const char *text)
{
    sb_ctx *c = ctx;
    if (kind != PROVOST_BATCH_SAY_INVALID) /* an invalid request is in its result line */
        svc_log(c->bs->s, "batch %s: %s", c->b->id, text);
}

static void run_one(svc_batches *bs, sb_batch *b)
{
    svc_server *s = bs->s;
    char dir[4300], input[4400], out[4400];
    snprintf(dir, sizeof dir, "%s/%s", bs->root, b->id);
    snprintf(input, sizeof input, "%s/input", dir);
    snprintf(out, sizeof out, "%s/", dir);
    const char *inputs[1] = {input};
    sb_ctx c = {bs, b};
    provost_batch_options o = {.ns = b->ns, .proc = b->proc, .out = out, .resume = b->resume,
                               .jobs = s->o.batch_jobs ? (int)s->o.batch_jobs : 1, .engine = s->o.engine,
                               .use_engine = s->engine, .principal = b->principal, .progress_every = 0.5,
                               .progress = progress_cb, .message = message_cb, .ctx = &c,
                               .interrupt = &b->interrupt};
    o.engine.db_path = s->db_dir;
    if (b->format == PROVOST_BATCH_XML) {
        o.inputs = inputs;
        o.ninputs = 1;
    } else {
        o.rows = input;
        o.format = b->format;
    }
    provost_batch_summary sum;
    char err[1200] = "";
    svc_log(s, "batch %s: %s for %s", b->id, b->resume ? "resumed" : "started", b->principal);
    int rc = provost_batch_run(&o, &sum, err, sizeof err);
    pthread_mutex_lock(&bs->m);
    b->resume = state_finished(dir) >= 0;
    if (rc != 0) {
        b->state = SB_STOPPED;
        free(b->error);
        b->error = strdup(err[0] ? err : "the batch could not start");
    } else {
        b->state = sum.finished ? SB_DONE : SB_STOPPED;
        b->rate = sum.seconds > 0 ? (double)sum.run / sum.seconds : 0;
        b->prog.done = sum.requests;
        b->prog.failed = sum.requests - sum.by_status[PROVOST_BATCH_SUCCEEDED];
        if (sum.finished)
            b->prog.total = sum.requests;
    }
    pthread_mutex_unlock(&bs->m);
    if (rc != 0)
        svc_log(s, "batch %s: %s", b->id, err);
    else
        svc_log(s, "batch %s: %s, %" PRIu64 " requests, %" PRIu64 " failed", b->id,
                sum.finished ? "done" : "stopped, resumable", sum.requests,
                sum.requests - sum.by_status[PROVOST_BATCH_SUCCEEDED]);
    if (rc == 0 && sum.finished) {
        char rate[64], path[4500];
        int n = snprintf(rate, sizeof rate, "rate %.3f\n", b->rate);
        snprintf(path, sizeof path, "%s/summary", dir);
        write_file(path, rate, (size_t)n);
    }
    if (rc == 0)
        provost_batch_summary_free(&sum);
}

static void *runner_main(void *arg)
{
    svc_batches *bs = arg;
    pthread_mutex_lock(&bs->m);
    while (!bs->quit) {
        sb_batch *b = bs->head;
        while (b && b->state != SB_QUEUED)
            b = b->next;
        if (!b) {
            pthread_cond_wait(&bs->cv, &bs->m);
            continue;
        }
        b->state = SB_RUNNING;
        pthread_mutex_unlock(&bs->m);
        run_one(bs, b);
        pthread_mutex_lock(&bs->m);
    }
    pthread_mutex_unlock(&bs->m);
    return NULL;
}

/* Appends b (the list stays in the order the batches came). */
static void add_batch(svc_batches *bs, sb_batch *b)
{
    sb_batch **at = &bs->head;
    while (*at && (*at)->created_ms <= b->created_ms)
        at = &(*at)->next;
    b->next = *at;
    *at = b;
}

/* The batches an earlier run of the service stored: unfinished ones wait to be resumed;
 * a directory left half made (.new-*) by a crash is removed. */
static void load(svc_batches *bs)
{
    DIR *d = opendir(bs->root);
    if (!d)
        return;
    struct dirent *e;
    size_t resumed = 0;
    while ((e = readdir(d))) {
        char dir[4500];
        if (e->d_name[0] == '.') {
            if (strncmp(e->d_name, ".new-", 5) == 0) {
                snprintf(dir, sizeof dir, "%s/%s", bs->root, e->d_name);
                remove_dir(dir);
            }
            continue;
        }
        if (strlen(e->d_name) != 32)
            continue;
        snprintf(dir, sizeof dir, "%s/%s", bs->root, e->d_name);
        sb_batch *b = read_meta(dir, e->d_name);
        if (!b) {
            svc_log(bs->s, "%s: not a batch (no usable meta file): left alone", dir);
            continue;
        }
        int fin = state_finished(dir);
        b->resume = fin >= 0;
        b->state = fin == 1 ? SB_DONE : SB_QUEUED;
        if (fin == 1) {
            char path[4600], line[128];
            snprintf(path, sizeof path, "%s/summary", dir);
            FILE *f = fopen(path, "r");
            if (f && fgets(line, sizeof line, f))
                sscanf(line, "rate %lf", &b->rate);
            if (f)
                fclose(f);
        } else {
            resumed++;
        }
        add_batch(bs, b);
    }
    closedir(d);
    if (resumed)
        svc_log(bs->s, "%zu unfinished batch%s to resume", resumed, resumed == 1 ? "" : "es");
}

int svc_batches_open(svc_server *s, provost_error *err)
{
    svc_batches *bs = calloc(1, sizeof *bs);
    if (!bs) {
        snprintf(err->message, sizeof err->message, "out of memory");
        err->code = PROVOST_E_OUTOFMEMORY;
        return -1;
    }
    bs->s = s;
    snprintf(bs->root, sizeof bs->root, "%s/service-batches", s->db_dir);
    pthread_mutex_init(&bs->m, NULL);
    pthread_cond_init(&bs->cv, NULL);
    s->batches = bs;
    load(bs);
    if (pthread_create(&bs->runner, NULL, runner_main, bs) != 0) {
        snprintf(err->message, sizeof err->message, "cannot start the batch runner: %s", strerror(errno));
        err->code = PROVOST_E_FAIL;
        return -1;
    }
    bs->started = true;
    return 0;
}

void svc_batches_stop(svc_server *s)
{
    svc_batches *bs = s->batches;
    if (!bs)
        return;
    pthread_mutex_lock(&bs->m);
    bs->quit = true;
    for (sb_batch *b = bs->head; b; b = b->next)
        if (b->state == SB_RUNNING)
            __atomic_store_n(&b->interrupt, SIGTERM, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&bs->cv);
    pthread_mutex_unlock(&bs->m);
}

void svc_batches_abandon(svc_server *s)
{
    svc_batches *bs = s->batches;
    if (bs && bs->started)
        pthread_detach(bs->runner);
}

void svc_batches_close(svc_server *s)
{
    svc_batches *bs = s->batches;
    if (!bs)
        return;
    svc_batches_stop(s);
    if (bs->started)
        pthread_join(bs->runner, NULL);
    while (bs->head) {
        sb_batch *b = bs->head;
        bs->head = b->next;
        sb_free(b);
    }
    pthread_cond_destroy(&bs->cv);
    pthread_mutex_destroy(&bs->m);
    free(bs);
    s->batches = NULL;
}

/* ---- POST /batch ---------------------------------------------------------------------- */

/* The format of the body by its Content-Type: rows are CSV or JSON Lines; anything else
 * is taken as XML (curl's default form type included), which must then parse. */
static int body_format(const char *ct)
{
    if (!ct)
        return PROVOST_BATCH_XML;
    size_t n = strcspn(ct, "; ");
    if (n == 8 && pu_strnicmp(ct, "text/csv", n) == 0)
        return PROVOST_BATCH_CSV;
    if ((n == 20 && pu_strnicmp(ct, "application/x-ndjson", n) == 0) ||
        (n == 17 && pu_strnicmp(ct, "application/jsonl", n) == 0))
        return PROVOST_BATCH_JSONL;
    return PROVOST_BATCH_XML;
}

/* An XML body must be well-formed; 0, or -1 with the answer in p. */
static int check_xml(const char *body, size_t len, svc_resp *p)
{
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        svc_resp_error(p, 500, "out of memory");
        return -1;
    }
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, body, (int)len, "body", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_HUGE);
    if (!doc) {
        xmlErrorPtr e = xmlCtxtGetLastError(ctxt);
        char msg[512];
        snprintf(msg, sizeof msg, "%s", e && e->message ? e->message : "not XML");
        msg[strcspn(msg, "\n")] = 0;
        svc_resp_error(p, 400, "malformed batch: %d:%d: %s", e ? e->line : 0, e ? e->int2 : 0, msg);
    }
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return doc ? 0 : -1;
}

static int new_id(char id[33])
{
    unsigned char raw[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, raw, sizeof raw) : -1;
    if (fd >= 0)
        close(fd);
    if (n != (ssize_t)sizeof raw)
        return -1;
    for (int i = 0; i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

/* The body and what the service keeps about the batch, in a directory made whole and then
 * renamed into place.  0, or -1 with the answer in p. */
static int store(svc_batches *bs, sb_batch *b, const svc_req *r, svc_resp *p)
{
    char tmp[4400], input[4500], dir[4400];
    if (mkdir(bs->root, 0700) != 0 && errno != EEXIST) {
        svc_resp_error(p, 500, "%s: %s", bs->root, strerror(errno));
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s/.new-%s", bs->root, b->id);
    snprintf(dir, sizeof dir, "%s/%s", bs->root, b->id);
    snprintf(input, sizeof input, "%s/input", tmp);
    if (mkdir(tmp, 0700) != 0) {
        svc_resp_error(p, 500, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    if (write_file(input, r->body, r->body_len) != 0) {
        svc_resp_error(p, 500, "%s: %s", input, strerror(errno));
        remove_dir(tmp);
        return -1;
    }
    char err[1200];
    int rc = b->ns || b->format != PROVOST_BATCH_XML
                 ? provost_batch_check(r->srv->engine, input, b->format, b->ns, b->proc, err, sizeof err)
                 : 0;
    if (rc != 0) {
        const char *msg = strncmp(err, "--call: ", 8) == 0 ? err + 8 : err;
        svc_resp_error(p, rc == -1 ? 400 : strstr(msg, "is private") ? 403 : 404, "%s", msg);
        remove_dir(tmp);
        return -1;
    }
    if (write_meta(tmp, b) != 0 || (sync_dir(tmp), rename(tmp, dir) != 0)) {
        svc_resp_error(p, 500, "%s: %s", dir, strerror(errno));
        remove_dir(tmp);
        return -1;
    }
    sync_dir(bs->root);
    return 0;
}

void svc_batch_post(svc_req *r, svc_resp *p)
{
    svc_batches *bs = r->srv->batches;
    if (atomic_load(&r->srv->draining)) {
        svc_resp_error(p, 503, "the service is stopping");
        return;
    }
    int format = body_format(svc_header(r, "Content-Type"));
    const char *call = svc_query(r, "call");
    const char *slash = call ? strchr(call, '/') : NULL;
    if (call && (!slash || slash == call || !slash[1] || strchr(slash + 1, '/'))) {
        svc_resp_error(p, 400, "?call takes NAMESPACE/PROCEDURE, not '%s'", call);
        return;
    }
    if (format != PROVOST_BATCH_XML && !call) {
        svc_resp_error(p, 400, "rows need the procedure they call: ?call=NAMESPACE/PROCEDURE");
        return;
    }
    if (r->body_len == 0) {
        svc_resp_error(p, 400, "the body is empty: a batch needs requests or rows");
        return;
    }
    if (format == PROVOST_BATCH_XML && check_xml(r->body, r->body_len, p) != 0)
        return;
    sb_batch *b = calloc(1, sizeof *b);
    if (!b || new_id(b->id) != 0 || !(b->principal = strdup(r->principal ? r->principal : "")) ||
        (call && (!(b->ns = strndup(call, (size_t)(slash - call))) || !(b->proc = strdup(slash + 1))))) {
        if (b)
            sb_free(b);
        svc_resp_error(p, 500, "out of memory");
        return;
    }
    b->format = format;
    b->created_ms = wall_ms();
    if (store(bs, b, r, p) != 0) {
        sb_free(b);
        return;
    }
    char id[33];
    memcpy(id, b->id, sizeof id);
    pthread_mutex_lock(&bs->m);
    b->state = SB_QUEUED;
    add_batch(bs, b);
    pthread_cond_broadcast(&bs->cv);
    pthread_mutex_unlock(&bs->m);
    svc_json j;
    if (svc_json_open(&j) != 0) {
        svc_resp_error(p, 500, "out of memory");
        return;
    }
    fprintf(j.f, "{\"id\": \"%s\", \"status\": \"/batch/%s\", \"results\": \"/batch/%s/results\"}\n", id, id, id);
    svc_json_close(&j, p);
    if (p->status == 200) {
        char loc[64];
        snprintf(loc, sizeof loc, "/batch/%s", id);
        p->status = 202;
        svc_resp_header(p, MHD_HTTP_HEADER_LOCATION, loc);
    }
}

/* ---- GET /batch/{id} ------------------------------------------------------------------ */

/* A copy of batch ID for the request's principal: 0, or -1 with the answer (404, 403). */
static int visible(svc_req *r, const char *id, sb_batch *copy, svc_resp *p)
{
    svc_batches *bs = r->srv->batches;
    pthread_mutex_lock(&bs->m);
    sb_batch *b = bs->head;
    while (b && strcmp(b->id, id) != 0)
        b = b->next;
    if (b) {
        *copy = *b;
        copy->principal = strdup(b->principal);
        copy->ns = b->ns ? strdup(b->ns) : NULL;
        copy->proc = b->proc ? strdup(b->proc) : NULL;
        copy->error = b->error ? strdup(b->error) : NULL;
        copy->next = NULL;
    }
    pthread_mutex_unlock(&bs->m);
    if (!b) {
        svc_resp_error(p, 404, "no such batch: %s", id);
        return -1;
    }
    const char *me = r->principal ? r->principal : "";
    if (!copy->principal || (!pu_strieq(copy->principal, me) &&
                             !provost_principal_has(r->srv->engine, me, PROVOST_RIGHT_ADMIN))) {
        svc_resp_error(p, 403, "batch %s is another principal's", id);
        free(copy->principal);
        free(copy->ns);
        free(copy->proc);
        free(copy->error);
        return -1;
    }
    return 0;
}

typedef struct sb_tally {
    uint64_t lines, by_status[PROVOST_BATCH_STATUSES];
    provost_batch_code codes[64]; /* the first 64 codes seen; more are counted in other */
    size_t ncodes;
    uint64_t other;
} sb_tally;

/* The results written so far, by status and failure code (complete lines only). */
static void tally(const char *dir, sb_tally *t)
{
    char path[4500];
    snprintf(path, sizeof path, "%s/results.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n')
            break; /* being written */
        const char *st = strstr(line, ",\"status\":\"");
        if (!st)
            continue;
        st += 11;
        int status = -1;
        for (int i = 0; i < PROVOST_BATCH_STATUSES; i++) {
            size_t l = strlen(provost_batch_status_names[i]);
            if (strncmp(st, provost_batch_status_names[i], l) == 0 && st[l] == '"')
                status = i;
        }
        if (status < 0)
            continue;
        t->lines++;
        t->by_status[status]++;
        const char *c = strstr(st, ",\"code\":\"0x");
        if (status == PROVOST_BATCH_SUCCEEDED || !c)
            continue;
        uint32_t code = (uint32_t)strtoul(c + 11, NULL, 16);
        size_t i = 0;
        while (i < t->ncodes && t->codes[i].code != code)
            i++;
        if (i < t->ncodes)
            t->codes[i].n++;
        else if (t->ncodes < sizeof t->codes / sizeof t->codes[0])
            t->codes[t->ncodes++] = (provost_batch_code){code, 1};
        else
            t->other++;
    }
    free(line);
    fclose(f);
}

static int by_count(const void *a, const void *b)
{
    const provost_batch_code *x = a, *y = b;
    return x->n < y->n ? 1 : x->n > y->n ? -1 : x->code < y->code ? -1 : x->code > y->code;
}

void svc_batch_get(svc_req *r, svc_resp *p)
{
    sb_batch b;
    if (visible(r, r->seg[1], &b, p) != 0)
        return;
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/%s", r->srv->batches->root, b.id);
    sb_tally t = {0};
    tally(dir, &t);
    qsort(t.codes, t.ncodes, sizeof *t.codes, by_count);
    svc_json j;
    if (svc_json_open(&j) == 0) {
        fprintf(j.f, "{\"id\": \"%s\", \"state\": \"%s\", \"principal\": ", b.id, sb_state_names[b.state]);
        pu_json_string(j.f, b.principal);
        fputs(", \"call\": ", j.f);
        if (b.ns)
            fprintf(j.f, "\"%s/%s\"", b.ns, b.proc); /* names: no character to escape */
        else
            fputs("null", j.f);
        uint64_t total = b.state == SB_DONE ? t.lines : b.prog.total;
        fprintf(j.f, ", \"format\": \"%s\", \"created_ms\": %" PRId64 ", \"done\": %" PRIu64 ", \"total\": ",
                sb_format_names[b.format], b.created_ms, t.lines);
        if (total)
            fprintf(j.f, "%" PRIu64, total < t.lines ? t.lines : total);
        else
            fputs("null", j.f);
        fprintf(j.f, ", \"failed\": %" PRIu64 ", \"rate\": %.1f, \"by_status\": {",
                t.lines - t.by_status[PROVOST_BATCH_SUCCEEDED], b.state == SB_RUNNING ? b.prog.rate : b.rate);
        for (int i = 0; i < PROVOST_BATCH_STATUSES; i++)
            fprintf(j.f, "%s\"%s\": %" PRIu64, i ? ", " : "", provost_batch_status_names[i], t.by_status[i]);
        fputs("}, \"failures\": [", j.f);
        for (size_t i = 0; i < t.ncodes; i++)
            fprintf(j.f, "%s{\"code\": \"0x%08X\", \"count\": %" PRIu64 "}", i ? ", " : "", t.codes[i].code,
                    t.codes[i].n);
        if (t.other)
            fprintf(j.f, "%s{\"code\": \"other\", \"count\": %" PRIu64 "}", t.ncodes ? ", " : "", t.other);
        fputs("], \"error\": ", j.f);
        pu_json_string(j.f, b.error);
        fprintf(j.f, ", \"results\": \"/batch/%s/results\"}\n", b.id);
        svc_json_close(&j, p);
    } else {
        svc_resp_error(p, 500, "out of memory");
    }
    free(b.principal);
    free(b.ns);
    free(b.proc);
    free(b.error);
}

/* ---- GET /batch/{id}/results ---------------------------------------------------------- */

typedef struct sb_stream {
    int fd;
    uint64_t end; /* the complete lines there were when the answer began */
} sb_stream;

static ssize_t stream_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    sb_stream *st = ctx;
    if (pos >= st->end)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t want = st->end - pos < max ? (size_t)(st->end - pos) : max;
    ssize_t n;
    do
        n = pread(st->fd, buf, want, (off_t)pos);
    while (n < 0 && errno == EINTR);
    return n > 0 ? n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *ctx)
{
    sb_stream *st = ctx;
    close(st->fd);
    free(st);
}

/* Where the last complete line of fd ends, at most at size. */
static uint64_t complete_end(int fd, uint64_t size)
{
    char buf[4096];
    uint64_t at = size;
    while (at > 0) {
        size_t n = at < sizeof buf ? (size_t)at : sizeof buf;
        if (pread(fd, buf, n, (off_t)(at - n)) != (ssize_t)n)
            return 0;
        for (size_t i = n; i > 0; i--)
            if (buf[i - 1] == '\n')
                return at - n + i;
        at -= n;
    }
    return 0;
}

void svc_batch_results(svc_req *r, svc_resp *p)
{
    sb_batch b;
    if (visible(r, r->seg[1], &b, p) != 0)
        return;
    free(b.principal);
    free(b.ns);
    free(b.proc);
    free(b.error);
    char path[4500];
    snprintf(path, sizeof path, "%s/%s/results.jsonl", r->srv->batches->root, b.id);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sbuf;
    if (fd < 0 && errno == ENOENT) { /* not started yet: no result so far */
        svc_resp_set(p, 200, "application/x-ndjson", NULL, 0);
        return;
    }
    sb_stream *st = fd >= 0 && fstat(fd, &sbuf) == 0 ? malloc(sizeof *st) : NULL;
    if (!st) {
        svc_resp_error(p, 500, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    *st = (sb_stream){.fd = fd, .end = complete_end(fd, (uint64_t)sbuf.st_size)};
    p->status = 200;
    p->type = "application/x-ndjson";
    p->stream = stream_read;
    p->stream_ctx = st;
    p->stream_free = stream_free;
}
