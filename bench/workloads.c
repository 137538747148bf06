/*
 * workloads.c -- end-to-end workloads through Provost's public API, and the baselines they
 * are compared with, measured the same way: N threads run one kind of request in a loop
 * for S seconds, split into rounds (3, or 5 from 2 s), after a warmup; the best round's
 * rate is reported (the machine may be shared: a round slowed down by other work does not
 * count).  With --count N, one round of N requests per thread (callgrind).  One JSON line
 * per workload on standard output.
 *
 *   echo3         Bench/Echo3: three read steps, test provider, no transforms
 *   xslt1         Bench/Xslt1: one step, a before with W1's templates, on W1's data
 *   xslt1_request the same step as a trusted request's inline procedure (compiled once,
 *                 then found in the engine's cache of request procedures)
 *   naive         the same trusted request, but every request's procedure text differs by
 *                 a comment: the engine compiles it every time (parses the procedure and the
 *                 XSL, checks, prepares): no compiled bundle, no stylesheet reused
 *   write3        Bench/Write3: three journaled write steps
 *   foreach10, foreach100, foreach1k, foreach10k
 *                 Bench/ForEach on N items: one journaled write step per item, each with a
 *                 plain copy before
 *   raw_libxslt   libxml2/libxslt alone: parse W1's data text, apply bench/w1.xsl (parsed
 *                 once), serialise the result
 *   raw_rocksdb   RocksDB alone: commits of one WriteBatch of R records (R-1 puts, one
 *                 range delete: what a write3 transaction journals), with the sync mode
 *   raw_rocksdb_journal
 *                 the same records written the way the journal writes them: each its own
 *                 write, synced per the sync mode (the floor of the journal's protocol)
 *
 * Engine workloads also report the journal's syncs per request (provost_journal_syncs over
 * every request made, warmup included).  PROVOST_GROUP_COMMIT=rocksdb (read by the engine)
 * shares syncs through RocksDB's write groups instead of the journal's own; the JSON line
 * says which ("group_commit").
 *
 * Usage: workloads --dir DIR [--src DIR] [--sync MODE] [--threads N] [--seconds S | --count N]
 *                  [--warmup S] [--records R] [--rounds N] NAME...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxslt/transform.h>
#include <libxslt/xsltutils.h>
#include <rocksdb/c.h>

#include "provost/provost.h"
#include "util/hist.h"

#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR "bench"
#endif

static const char *src_dir = BENCH_SOURCE_DIR, *work_dir;
static int sync_mode = PROVOST_SYNC_GROUP, nthreads = 1, records = 8;
static double seconds = 2, warmup = -1;
static unsigned long count; /* a fixed number of requests per thread instead of seconds */
static const char *const sync_names[] = {"group", "always", "none"};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static char *slurp(const char *name, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", src_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "workloads: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "workloads: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    p[n] = 0;
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == ' '))
        p[--n] = 0;
    *len = (size_t)n;
    return p;
}

/* ---- shared inputs -------------------------------------------------------------------- */

static provost_engine *engine;
static char *w1_data, *w1_xsl;
static size_t w1_data_len, w1_xsl_len;
static xsltStylesheetPtr w1_style;

/* The trusted request: W1's data and the Xslt1 step inline; %lu is a comment. */
static const char request_fmt[] =
    "<request xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">%s<procedure><!--%016lx-->"
    "<execute namespace=\"Bench\" procedure=\"Read\"><before source=\"data\" destination=\"executeData\">"
    "<xsl:template match=\"organization[@type='primary']\"><primaryOrg><xsl:value-of select=\"@name\"/>"
    "</primaryOrg></xsl:template>"
    "<xsl:template match=\"organization[@type='secondary']\"><secondaryOrg><xsl:value-of select=\"@name\"/>"
    "</secondaryOrg></xsl:template>"
    "</before></execute></procedure></request>";

typedef struct foreach_data {
    int n;
    char *text;
    size_t len;
} foreach_data;

static foreach_data fe[] = {{10, NULL, 0}, {100, NULL, 0}, {1000, NULL, 0}, {10000, NULL, 0}};

static char *items(int n, size_t *len)
{
    size_t cap = 64 + (size_t)n * 48, k = 0;
    char *p = malloc(cap);
    if (!p)
        abort();
    k += (size_t)snprintf(p + k, cap - k, "<data><items>");
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(p + k, cap - k, "<item id=\"%d\">value %d</item>", i, i);
    k += (size_t)snprintf(p + k, cap - k, "</items></data>");
    *len = k;
    return p;
}

static void open_engine(void)
{
    if (engine)
        return;
    char db[4096];
    snprintf(db, sizeof db, "%s/engine-%s", work_dir, sync_names[sync_mode]);
    provost_options o = {.db_path = db, .sync = sync_mode};
    provost_error err;
    if (provost_open(&o, &engine, &err) != 0) {
        fprintf(stderr, "workloads: %s\n", err.message);
        exit(1);
    }
    size_t len;
    char *xml = slurp("workloads.xml", &len);
    if (provost_register(engine, "workloads.xml", xml, len, NULL, &err) != 0) {
        fprintf(stderr, "workloads: %s\n", err.message);
        exit(1);
    }
    free(xml);
}

/* ---- one thread's state ---------------------------------------------------------------- */

typedef struct wctx {
    int index;
    unsigned long n;  /* requests made by this thread */
    char *buf;        /* a request text being built */
    size_t cap;
    rocksdb_t *db;    /* raw_rocksdb */
    rocksdb_writeoptions_t *wo;
    pthread_mutex_t *serial;
    uint64_t txn;
    pu_hist hist;
    char error[300];
} wctx;

typedef struct workload {
    const char *name;
    int steps; /* per request */
    void (*setup)(struct workload *w);
    int (*one)(struct workload *w, wctx *c);
    const char *proc;
    const char *data;
    size_t len;
} workload;

static atomic_ulong engine_requests; /* every engine request made, warmup included */

static int check(wctx *c, int rc, provost_response *resp, provost_error *err)
{
    atomic_fetch_add_explicit(&engine_requests, 1, memory_order_relaxed);
    int bad = rc != 0 || resp->failed;
    if (bad && !c->error[0])
        snprintf(c->error, sizeof c->error, "%.290s", rc ? err->message : resp->xml ? resp->xml : "failed");
    provost_response_free(resp);
    return bad ? -1 : 0;
}

static int one_call(workload *w, wctx *c)
{
    provost_response resp;
    provost_error err;
    int rc = provost_call(engine, "Bench", w->proc, w->data, w->len, PROVOST_COMPACT, &resp, &err);
    return check(c, rc, &resp, &err);
}

static int one_request(workload *w, wctx *c, unsigned long tag)
{
    size_t need = sizeof request_fmt + w1_data_len + 32;
    if (c->cap < need && !(c->buf = realloc(c->buf, c->cap = need)))
        abort();
    int len = snprintf(c->buf, c->cap, request_fmt, w1_data, tag);
    provost_response resp;
    provost_error err;
    int rc = provost_submit(engine, c->buf, (size_t)len, PROVOST_COMPACT, &resp, &err);
    (void)w;
    return check(c, rc, &resp, &err);
}

static int one_cached(workload *w, wctx *c) { return one_request(w, c, 0); }

/* every request's procedure differs from every other by its comment */
static int one_naive(workload *w, wctx *c) { return one_request(w, c, ((unsigned long)c->index + 1) << 40 | c->n); }

static void setup_engine(workload *w)
{
    open_engine();
    if (w->data == w1_data)
        w->len = w1_data_len;
}

static void setup_foreach(workload *w)
{
    open_engine();
    for (size_t i = 0; i < sizeof fe / sizeof fe[0]; i++)
        if (fe[i].n == w->steps) {
            if (!fe[i].text)
                fe[i].text = items(fe[i].n, &fe[i].len);
            w->data = fe[i].text;
            w->len = fe[i].len;
        }
}

/* ---- raw libxslt ------------------------------------------------------------------------ */

static void setup_xslt(workload *w)
{
    (void)w;
    if (w1_style)
        return;
    xmlDocPtr d = xmlReadMemory(w1_xsl, (int)w1_xsl_len, "w1.xsl", NULL, XML_PARSE_NONET);
    w1_style = d ? xsltParseStylesheetDoc(d) : NULL;
    if (!w1_style) {
        fprintf(stderr, "workloads: bench/w1.xsl does not parse\n");
        exit(1);
    }
}

static int one_xslt(workload *w, wctx *c)
{
    (void)w;
    xmlDocPtr in = xmlReadMemory(w1_data, (int)w1_data_len, "data", NULL,
                                 XML_PARSE_NOBLANKS | XML_PARSE_NONET | XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
    xmlDocPtr out = in ? xsltApplyStylesheet(w1_style, in, NULL) : NULL;
    xmlChar *text = NULL;
    int len = 0;
    int rc = out && xsltSaveResultToString(&text, &len, out, w1_style) == 0 && len > 0 ? 0 : -1;
    if (rc && !c->error[0])
        snprintf(c->error, sizeof c->error, "the transform failed");
    xmlFree(text);
    xmlFreeDoc(out);
    xmlFreeDoc(in);
    return rc;
}

/* ---- raw RocksDB ----------------------------------------------------------------------- */

static rocksdb_t *raw_db;
static rocksdb_options_t *raw_opts;
static pthread_mutex_t raw_serial = PTHREAD_MUTEX_INITIALIZER;

static void setup_rocksdb(workload *w)
{
    (void)w;
    if (raw_db)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/raw-rocksdb-%s", work_dir, sync_names[sync_mode]);
    raw_opts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(raw_opts, 1); /* as vm/db.c opens the engine's */
    rocksdb_options_set_info_log_level(raw_opts, 4);
    rocksdb_options_set_keep_log_file_num(raw_opts, 2);
    char *err = NULL;
    raw_db = rocksdb_open(raw_opts, path, &err);
    if (!raw_db) {
        fprintf(stderr, "workloads: %s: %s\n", path, err);
        exit(1);
    }
}

/* A transaction's key: 38 characters of id and a big-endian sequence number (journal.h). */
static void raw_key(const wctx *c, uint64_t txn, uint32_t seq, char key[42])
{
    snprintf(key, 39, "{%08X-0000-4000-8000-%012llX}", (unsigned)c->index, (unsigned long long)txn);
    key[38] = (char)(seq >> 24);
    key[39] = (char)(seq >> 16);
    key[40] = (char)(seq >> 8);
    key[41] = (char)seq;
}

static const char raw_value[32] = "INTENT..Bench...Write...test....";

static int raw_fail(wctx *c, char *err)
{
    if (!c->error[0])
        snprintf(c->error, sizeof c->error, "%.290s", err);
    free(err);
    return -1;
}

static void raw_writeoptions(wctx *c)
{
    if (!c->wo) {
        c->wo = rocksdb_writeoptions_create();
        rocksdb_writeoptions_set_sync(c->wo, sync_mode != PROVOST_SYNC_NONE);
    }
}

/* one commit: R-1 puts of this transaction and the range delete of the previous one */
static int one_rocksdb(workload *w, wctx *c)
{
    (void)w;
    raw_writeoptions(c);
    rocksdb_writebatch_t *b = rocksdb_writebatch_create();
    char key[42], to[42];
    uint64_t txn = ++c->txn;
    for (int r = 0; r < records - 1; r++) {
        raw_key(c, txn, (uint32_t)r, key);
        rocksdb_writebatch_put(b, key, sizeof key, raw_value, sizeof raw_value);
    }
    raw_key(c, txn - 1, 0, key);
    raw_key(c, txn - 1, 0xFFFFFFFFu, to);
    rocksdb_writebatch_delete_range(b, key, sizeof key, to, sizeof to);
    char *err = NULL;
    bool serial = sync_mode == PROVOST_SYNC_ALWAYS;
    if (serial)
        pthread_mutex_lock(&raw_serial);
    rocksdb_write(raw_db, c->wo, b, &err);
    if (serial)
        pthread_mutex_unlock(&raw_serial);
    rocksdb_writebatch_destroy(b);
    return err ? raw_fail(c, err) : 0;
}

/* the same records, each its own write, as the journal writes them */
static int one_rocksdb_journal(workload *w, wctx *c)
{
    (void)w;
    raw_writeoptions(c);
    char key[42], to[42], *err = NULL;
    uint64_t txn = ++c->txn;
    bool serial = sync_mode == PROVOST_SYNC_ALWAYS;
    for (int r = 0; r < records - 1 && !err; r++) {
        raw_key(c, txn, (uint32_t)r, key);
        if (serial)
            pthread_mutex_lock(&raw_serial);
        rocksdb_put(raw_db, c->wo, key, sizeof key, raw_value, sizeof raw_value, &err);
        if (serial)
            pthread_mutex_unlock(&raw_serial);
    }
    if (!err) {
        raw_key(c, txn, 0, key);
        raw_key(c, txn, 0xFFFFFFFFu, to);
        rocksdb_writebatch_t *b = rocksdb_writebatch_create();
        rocksdb_writebatch_delete_range(b, key, sizeof key, to, sizeof to);
        if (serial)
            pthread_mutex_lock(&raw_serial);
        rocksdb_write(raw_db, c->wo, b, &err);
        if (serial)
            pthread_mutex_unlock(&raw_serial);
        rocksdb_writebatch_destroy(b);
    }
    return err ? raw_fail(c, err) : 0;
}

/* ---- the list ---------------------------------------------------------------------------- */

static workload workloads[] = {
    {"echo3", 3, setup_engine, one_call, "Echo3", NULL, 0},
    {"xslt1", 1, setup_engine, one_call, "Xslt1", NULL, 0},
    {"xslt1_request", 1, setup_engine, one_cached, NULL, NULL, 0},
    {"naive", 1, setup_engine, one_naive, NULL, NULL, 0},
    {"write3", 3, setup_engine, one_call, "Write3", NULL, 0},
    {"foreach10", 10, setup_foreach, one_call, "ForEach", NULL, 0},
    {"foreach100", 100, setup_foreach, one_call, "ForEach", NULL, 0},
    {"foreach1k", 1000, setup_foreach, one_call, "ForEach", NULL, 0},
    {"foreach10k", 10000, setup_foreach, one_call, "ForEach", NULL, 0},
    {"raw_libxslt", 1, setup_xslt, one_xslt, NULL, NULL, 0},
    {"raw_rocksdb", 1, setup_rocksdb, one_rocksdb, NULL, NULL, 0},
    {"raw_rocksdb_journal", 1, setup_rocksdb, one_rocksdb_journal, NULL, NULL, 0},
};

/* ---- running -------------------------------------------------------------------------------- */

#define MAX_ROUNDS 16

typedef struct job {
    workload *w;
    wctx ctx;
    pthread_t th;
    uint64_t warm_until;        /* deadline of the warmup (seconds mode) */
    uint64_t round_ns;          /* length of a round */
    pthread_barrier_t *start;
    uint64_t t0[MAX_ROUNDS], t1[MAX_ROUNDS];
    unsigned long n[MAX_ROUNDS]; /* requests in each round */
} job;

/* The measured loop (callgrind's --toggle-collect names it): count requests, or until a
 * deadline.  Not inlined, so that it is a function of its own. */
__attribute__((noinline)) int wl_measure(workload *w, wctx *c, unsigned long n, uint64_t until)
{
    int failed = 0;
    for (unsigned long i = 0; n ? i < n : 1; i++) {
        uint64_t t0 = now_ns();
        failed |= w->one(w, c);
        uint64_t t1 = now_ns();
        c->n++;
        pu_hist_add(&c->hist, t1 - t0);
        if (!n && t1 >= until)
            break;
    }
    return failed;
}

static int rounds = 1, fixed_rounds; /* --rounds */

static void *thread_main(void *arg)
{
    job *j = arg;
    workload *w = j->w;
    /* warmup: a tenth of the count, or seconds */
    if (count)
        for (unsigned long i = 0; i < count / 10 + 1; i++)
            w->one(w, &j->ctx);
    else
        while (now_ns() < j->warm_until)
            w->one(w, &j->ctx);
    j->ctx.error[0] = 0;
    /* rounds start together: the best round is reported (a machine shared with other work
     * slows some rounds down; both sides of a ratio are measured the same way) */
    for (int r = 0; r < rounds; r++) {
        pthread_barrier_wait(j->start);
        unsigned long before = j->ctx.n;
        j->t0[r] = now_ns();
        wl_measure(w, &j->ctx, count, j->t0[r] + j->round_ns);
        j->t1[r] = now_ns();
        j->n[r] = j->ctx.n - before;
    }
    return NULL;
}

static int run(workload *w)
{
    w->setup(w);
    job *jobs = calloc((size_t)nthreads, sizeof *jobs);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)nthreads);
    double warm = warmup >= 0 ? warmup : seconds / 5 > 0.5 ? 0.5 : seconds / 5;
    rounds = count ? 1 : fixed_rounds ? fixed_rounds : seconds >= 2 ? 5 : 3;
    uint64_t syncs0 = engine ? provost_journal_syncs(engine) : 0;
    unsigned long req0 = atomic_load(&engine_requests);
    uint64_t t = now_ns();
    for (int i = 0; i < nthreads; i++) {
        jobs[i] = (job){.w = w, .start = &start, .warm_until = t + (uint64_t)(warm * 1e9),
                        .round_ns = (uint64_t)(seconds / rounds * 1e9)};
        jobs[i].ctx.index = i;
        pu_hist_init(&jobs[i].ctx.hist, 8);
    }
    for (int i = 0; i < nthreads; i++)
        pthread_create(&jobs[i].th, NULL, thread_main, &jobs[i]);
    for (int i = 0; i < nthreads; i++)
        pthread_join(jobs[i].th, NULL);
    pu_hist all;
    pu_hist_init(&all, 8);
    const char *error = NULL;
    for (int i = 0; i < nthreads; i++) {
        pu_hist_merge(&all, &jobs[i].ctx.hist);
        if (jobs[i].ctx.error[0] && !error)
            error = jobs[i].ctx.error;
    }
    double per_s = 0, el = 0;
    unsigned long long measured = 0;
    for (int r = 0; r < rounds; r++) {
        uint64_t t0 = UINT64_MAX, t1 = 0;
        unsigned long n = 0;
        for (int i = 0; i < nthreads; i++) {
            t0 = jobs[i].t0[r] < t0 ? jobs[i].t0[r] : t0;
            t1 = jobs[i].t1[r] > t1 ? jobs[i].t1[r] : t1;
            n += jobs[i].n[r];
        }
        double sec = (double)(t1 - t0) / 1e9, rate = (double)n / sec;
        el += sec;
        measured += n;
        if (rate > per_s)
            per_s = rate;
    }
    unsigned long reqs = atomic_load(&engine_requests) - req0;
    char syncs[160] = "", shown[64] = "";
    if (engine && reqs) {
        const char *gc = getenv("PROVOST_GROUP_COMMIT");
        double spr = (double)(provost_journal_syncs(engine) - syncs0) / (double)reqs;
        snprintf(syncs, sizeof syncs, ", \"syncs_per_request\": %.4f, \"group_commit\": \"%s\"", spr,
                 gc && !strcmp(gc, "rocksdb") ? "rocksdb" : "journal");
        snprintf(shown, sizeof shown, "  %.3f syncs/request", spr);
    }
    const char *preload = getenv("LD_PRELOAD");
    printf("{\"name\": \"%s\", \"allocator\": \"%s\", \"threads\": %d, \"sync\": \"%s\", \"requests\": %llu, \"seconds\": %.4f, "
           "\"per_s\": %.3f, \"us_per_request\": %.4f, \"steps\": %d, \"us_per_step\": %.5f, \"p50_us\": %.3f, "
           "\"p99_us\": %.3f, \"max_us\": %.3f, \"failed\": %s%s}\n",
           w->name, preload && strstr(preload, "jemalloc") ? "jemalloc" : "glibc", nthreads, sync_names[sync_mode], (unsigned long long)all.total, el, per_s,
           1e6 / per_s * nthreads, w->steps, 1e6 / per_s * nthreads / w->steps,
           (double)pu_hist_quantile(&all, 0.5) / 1000, (double)pu_hist_quantile(&all, 0.99) / 1000,
           (double)all.max / 1000, error ? "true" : "false", syncs);
    fflush(stdout);
    fprintf(stderr, "  %-20s %2d thread%s sync %-6s %10.1f /s  %9.2f us/request  %8.3f us/step%s%s%s\n", w->name,
            nthreads, nthreads == 1 ? " " : "s", sync_names[sync_mode], per_s, 1e6 / per_s * nthreads,
            1e6 / per_s * nthreads / w->steps, shown, error ? "  FAILED: " : "", error ? error : "");
    for (int i = 0; i < nthreads; i++) {
        pu_hist_free(&jobs[i].ctx.hist);
        free(jobs[i].ctx.buf);
        if (jobs[i].ctx.wo)
            rocksdb_writeoptions_destroy(jobs[i].ctx.wo);
    }
    pu_hist_free(&all);
    pthread_barrier_destroy(&start);
    free(jobs);
    return error ? 1 : 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: workloads --dir DIR [--src DIR] [--sync MODE] [--threads N] [--seconds S | --count N] "
                    "[--warmup S] [--records R] [--rounds N] NAME...\nworkloads:");
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++)
        fprintf(stderr, " %s", workloads[i].name);
    fputc('\n', stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    int first = argc;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-') {
            first = i;
            break;
        }
        if (!v)
            usage();
        if (!strcmp(a, "--dir"))
            work_dir = v;
        else if (!strcmp(a, "--src"))
            src_dir = v;
        else if (!strcmp(a, "--sync"))
            sync_mode = !strcmp(v, "none") ? PROVOST_SYNC_NONE : !strcmp(v, "always") ? PROVOST_SYNC_ALWAYS
                                                                                      : PROVOST_SYNC_GROUP;
        else if (!strcmp(a, "--threads"))
            nthreads = atoi(v);
        else if (!strcmp(a, "--seconds"))
            seconds = atof(v);
        else if (!strcmp(a, "--warmup"))
            warmup = atof(v);
        else if (!strcmp(a, "--count"))
            count = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--records"))
            records = atoi(v);
        else if (!strcmp(a, "--rounds"))
            fixed_rounds = atoi(v) < 1 ? 1 : atoi(v) > MAX_ROUNDS ? MAX_ROUNDS : atoi(v);
        else
            usage();
        i++;
    }
    if (!work_dir || first == argc || nthreads < 1 || records < 2 || (!count && seconds <= 0))
        usage();
    mkdir(work_dir, 0755);
    xmlInitParser();
    w1_data = slurp("w1-data.xml", &w1_data_len);
    w1_xsl = slurp("w1.xsl", &w1_xsl_len);
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++)
        if (workloads[i].proc && !strcmp(workloads[i].proc, "Xslt1"))
            workloads[i].data = w1_data;
    int status = 0;
    for (int i = first; i < argc; i++) {
        workload *w = NULL;
        for (size_t k = 0; k < sizeof workloads / sizeof workloads[0]; k++)
            if (!strcmp(workloads[k].name, argv[i]))
                w = &workloads[k];
        if (!w) {
            fprintf(stderr, "workloads: no workload '%s'\n", argv[i]);
            usage();
        }
        status |= run(w);
    }
    provost_close(engine);
    if (raw_db) {
        rocksdb_close(raw_db);
        rocksdb_options_destroy(raw_opts);
    }
    if (w1_style)
        xsltFreeStylesheet(w1_style);
    return status;
}
