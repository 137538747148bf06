/*
 * micro.c -- micro-benchmarks, registered with Google Benchmark through bench/shim.h:
 *
 *   compile/N          provost_compile of a generated namespace of N procedures
 *   bundle_load/N      pvm_bundle_open + close of its bundle (mmap and checks)
 *   step/noop          dispatch of a step that does nothing (<transform/>), per step
 *   step/literal       a step with a literal executeData and nothing else (the base of xform)
 *   xform/MODE/plain   a before in MODE (insert, merge, replace, move) without XSL, per step
 *   xform/MODE/xsl     the same with a one-template stylesheet
 *   path/simple        a when on org/user[@type='x'], walked natively, per step
 *   path/xpath         a when on org/user[@type = 'x'], the same path by libxml2's XPath
 *   journal/SYNC       one journal append (an INTENT record) per sync mode
 *
 * Engine benchmarks run requests through the public API on a database in a temporary
 * directory ($PROVOST_BENCH_DIR or /tmp); N-step procedures report items = steps.
 * Usage: micro [Google Benchmark options], e.g. --benchmark_filter=xform --benchmark_min_time=0.1
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/shim.h"
#include "provost/compiler.h"
#include "provost/provost.h"
#include "vm/bundle.h"
#include "vm/db.h"
#include "vm/journal.h"

/* ---- text building -------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            abort();
        if (b->p && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->n + (size_t)k + 1)
            cap *= 2;
        if (!(b->p = realloc(b->p, cap)))
            abort();
        b->cap = cap;
    }
}

static char *base_dir;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    if (base_dir)
        nftw(base_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *subdir(const char *name)
{
    char *p = malloc(strlen(base_dir) + strlen(name) + 2);
    if (!p)
        abort();
    sprintf(p, "%s/%s", base_dir, name);
    return p;
}

/* ---- compile and load ------------------------------------------------------------------ */

/* N namespace procedures shaped like W1/W2 (a forEach, a when, a literal executeData, a
 * before with two templates, a call, an after merge), every stylesheet different, and
 * N/10 provider procedures they call. */
static char *gen_namespace(int n, size_t *len)
{
    sbuf b = {0};
    int np = n / 10 ? n / 10 : 1;
    add(&b, "<namespace name=\"Gen%d\" providerSource=\"test\" xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">\n",
        n);
    for (int i = 0; i < np; i++)
        add(&b, "  <procedure name=\"Provider%d\" type=\"write\"/>\n", i);
    for (int i = 0; i < n; i++)
        add(&b,
            "  <procedure name=\"Proc%d\" type=\"write\" access=\"public\">\n"
            "    <execute namespace=\"Gen%d\" procedure=\"Provider%d\">\n"
            "      <forEach name=\"org\" root=\"data\" path=\"organizations/organization\"/>\n"
            "      <when source=\"org\" sourcePath=\"@name\"/>\n"
            "      <executeData><kind>p%d</kind></executeData>\n"
            "      <before source=\"org\" destination=\"executeData\">\n"
            "        <xsl:template match=\"organization[@type='primary']\"><primary%d><xsl:value-of "
            "select=\"@name\"/></primary%d></xsl:template>\n"
            "        <xsl:template match=\"organization[@type='secondary']\"><secondary%d><xsl:value-of "
            "select=\"@name\"/></secondary%d></xsl:template>\n"
            "      </before>\n"
            "      <after source=\"executeData\" destination=\"data\" destinationPath=\"signup\" mode=\"merge\"/>\n"
            "    </execute>\n"
            "  </procedure>\n",
            i, n, i % np, i, i, i, i, i);
    add(&b, "</namespace>\n");
    *len = b.n;
    return b.p;
}

typedef struct gen {
    int n;
    char *xml;
    size_t len;
    char *bundle_path;
} gen;

static gen gens[3] = {{.n = 1}, {.n = 100}, {.n = 1000}};

static void bm_compile(pb_state *s, void *arg)
{
    gen *g = arg;
    while (pb_keep_running(s)) {
        provost_compiled c;
        if (provost_compile("gen.xml", g->xml, g->len, &c) != 0) {
            provost_compiled_free(&c);
            pb_error(s, "does not compile");
            return;
        }
        provost_compiled_free(&c);
    }
    pb_set_items_per_iteration(s, g->n);
}

static void bm_bundle_load(pb_state *s, void *arg)
{
    gen *g = arg;
    char why[256];
    while (pb_keep_running(s)) {
        pvm_bundle *b = pvm_bundle_open(g->bundle_path, why, sizeof why);
        if (!b) {
            pb_error(s, why);
            return;
        }
        pvm_bundle_close(b);
    }
    pb_set_items_per_iteration(s, g->n);
}

static void prepare_gens(void)
{
    for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++) {
        gen *g = &gens[i];
        g->xml = gen_namespace(g->n, &g->len);
        provost_compiled c;
        if (provost_compile("gen.xml", g->xml, g->len, &c) != 0) {
            provost_compiled_print(&c, "gen.xml", stderr);
            exit(1);
        }
        char name[32];
        snprintf(name, sizeof name, "gen-%d.pvb", g->n);
        g->bundle_path = subdir(name);
        FILE *f = fopen(g->bundle_path, "wb");
        if (!f || fwrite(c.bundle, 1, c.size, f) != c.size || fclose(f) != 0) {
            perror(g->bundle_path);
            exit(1);
        }
        provost_compiled_free(&c);
    }
}

/* ---- requests through the engine ------------------------------------------------------- */

static provost_engine *engine;

typedef struct call {
    const char *proc;
    const char *data;
    int steps;
} call;

static void bm_call(pb_state *s, void *arg)
{
    const call *c = arg;
    size_t len = c->data ? strlen(c->data) : 0;
    while (pb_keep_running(s)) {
        provost_response resp;
        provost_error err;
        int rc = provost_call(engine, "Micro", c->proc, c->data, len, PROVOST_COMPACT, &resp, &err);
        if (rc != 0 || resp.failed) {
            pb_error(s, rc ? err.message : resp.xml ? resp.xml : "failed");
            provost_response_free(&resp);
            return;
        }
        provost_response_free(&resp);
    }
    pb_set_items_per_iteration(s, c->steps);
}

#define STEPS 100
#define NOOP_STEPS 1000

static const char xsl_a[] = "<xsl:template match=\"a\"><a y=\"{@x}\"><xsl:copy-of select=\"b\"/></a></xsl:template>";
static const char literal[] = "<executeData><a x=\"1\"><b>text</b><c/></a></executeData>";

/* The namespace of the engine benchmarks: each procedure repeats one step. */
static char *micro_namespace(size_t *len)
{
    sbuf b = {0};
    add(&b, "<namespace name=\"Micro\" providerSource=\"test\" xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">\n");
    add(&b, "<procedure name=\"Noop\" type=\"read\" access=\"public\">");
    for (int i = 0; i < NOOP_STEPS; i++)
        add(&b, "<transform/>");
    add(&b, "</procedure>\n<procedure name=\"Literal\" type=\"read\" access=\"public\">");
    for (int i = 0; i < STEPS; i++)
        add(&b, "<transform>%s</transform>", literal);
    add(&b, "</procedure>\n");
    static const struct {
        const char *name, *attrs;
        int xsl;
    } modes[] = {
        {"InsertPlain", "destinationPath=\"out\"", 0},
        {"InsertXsl", "destinationPath=\"out\"", 1},
        {"MergePlain", "destinationPath=\"out\" mode=\"merge\"", 0},
        {"MergeXsl", "destinationPath=\"out\" mode=\"merge\"", 1},
        {"ReplacePlain", "destinationPath=\"out/a\" mode=\"replace\"", 0},
        {"ReplaceXsl", "destinationPath=\"out/a\" mode=\"replace\"", 1},
        {"MovePlain", "destinationPath=\"out\" mode=\"move\"", 0},
    };
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        add(&b, "<procedure name=\"%s\" type=\"read\" access=\"public\">", modes[m].name);
        for (int i = 0; i < STEPS; i++)
            add(&b,
                "<transform>%s<before source=\"executeData\" sourcePath=\"a\" destination=\"procedureData\" %s>%s"
                "</before></transform>",
                literal, modes[m].attrs, modes[m].xsl ? xsl_a : "");
        add(&b, "</procedure>\n");
    }
    static const char *const paths[2][2] = {{"PathSimple", "org/user[@type='x']"}, {"PathXPath", "org/user[@type = 'x']"}};
    for (int p = 0; p < 2; p++) {
        add(&b, "<procedure name=\"%s\" type=\"read\" access=\"public\">", paths[p][0]);
        for (int i = 0; i < STEPS; i++)
            add(&b, "<transform><when source=\"data\" sourcePath=\"%s\"/></transform>", paths[p][1]);
        add(&b, "</procedure>\n");
    }
    add(&b, "</namespace>\n");
    *len = b.n;
    return b.p;
}

static const char path_data[] = "<data><org><user type=\"a\" name=\"1\"/><user type=\"b\" name=\"2\"/><user type=\"c\" "
                                "name=\"3\"/><user type=\"d\" name=\"4\"/><user type=\"x\" name=\"5\"/><user type=\"e\" "
                                "name=\"6\"/></org></data>";

static call calls[] = {
    {"Noop", NULL, NOOP_STEPS},      {"Literal", NULL, STEPS},      {"InsertPlain", NULL, STEPS},
    {"InsertXsl", NULL, STEPS},      {"MergePlain", NULL, STEPS},   {"MergeXsl", NULL, STEPS},
    {"ReplacePlain", NULL, STEPS},   {"ReplaceXsl", NULL, STEPS},   {"MovePlain", NULL, STEPS},
    {"PathSimple", path_data, STEPS}, {"PathXPath", path_data, STEPS},
};
static const char *const call_names[] = {"step/noop",         "step/literal",       "xform/insert/plain",
                                         "xform/insert/xsl",  "xform/merge/plain",  "xform/merge/xsl",
                                         "xform/replace/plain", "xform/replace/xsl", "xform/move/plain",
                                         "path/simple",       "path/xpath"};

static void open_engine(void)
{
    char *db = subdir("engine");
    provost_options o = {.db_path = db, .sync = PROVOST_SYNC_NONE};
    provost_error err;
    if (provost_open(&o, &engine, &err) != 0) {
        fprintf(stderr, "micro: %s\n", err.message);
        exit(1);
    }
    size_t len;
    char *xml = micro_namespace(&len);
    if (provost_register(engine, "micro.xml", xml, len, NULL, &err) != 0) {
        fprintf(stderr, "micro: %s\n", err.message);
        exit(1);
    }
    free(xml);
    free(db);
}

/* ---- the journal ---------------------------------------------------------------------- */

typedef struct jbench {
    int sync;
    const char *dir;
} jbench;

static void bm_journal(pb_state *s, void *arg)
{
    jbench *j = arg;
    char why[512];
    bool created;
    pvm_db *db = pvm_db_open(j->dir, &created, why, sizeof why);
    pvm_journal *jn = db ? pvm_journal_open(db, j->sync, why, sizeof why) : NULL;
    if (!jn) {
        pb_error(s, why);
        if (db)
            pvm_db_close(db);
        return;
    }
    pvm_jtxn t = {0};
    unsigned long txn = 0, n = 0;
    while (pb_keep_running(s)) {
        if (n % 64 == 0) { /* a new transaction every 64 records; the end is not timed */
            pb_pause(s);
            if (t.begun)
                pvm_journal_end(jn, &t, NULL, why, sizeof why);
            memset(&t, 0, sizeof t);
            snprintf(t.txid, sizeof t.txid, "{00000000-0000-4000-8000-%012lx}", ++txn);
            pb_resume(s);
        }
        uint32_t seq;
        if (pvm_journal_intent(jn, &t, false, (uint32_t)n + 1, 2, "Bench", "Write", "test", NULL, &seq, why,
                               sizeof why) != 0) {
            pb_error(s, why);
            break;
        }
        n++;
    }
    if (t.begun)
        pvm_journal_end(jn, &t, NULL, why, sizeof why);
    pb_set_items_per_iteration(s, 1);
    pvm_journal_close(jn);
    pvm_db_close(db);
}

int main(int argc, char **argv)
{
    const char *tmp = getenv("PROVOST_BENCH_DIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/provost-micro-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!(base_dir = mkdtemp(tmpl))) {
        perror(tmpl);
        return 1;
    }
    atexit(cleanup);
    provost_compiler_init();
    prepare_gens();
    open_engine();

    char name[64];
    for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++) {
        snprintf(name, sizeof name, "compile/%d", gens[i].n);
        pb_register(name, bm_compile, &gens[i]);
    }
    for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++) {
        snprintf(name, sizeof name, "bundle_load/%d", gens[i].n);
        pb_register(name, bm_bundle_load, &gens[i]);
    }
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        pb_register(call_names[i], bm_call, &calls[i]);
    static jbench jb[3];
    static const char *const sync_names[] = {"group", "always", "none"};
    for (int m = 0; m < 3; m++) {
        snprintf(name, sizeof name, "journal-%s", sync_names[m]);
        jb[m] = (jbench){.sync = m, .dir = subdir(name)};
        snprintf(name, sizeof name, "journal/%s", sync_names[m]);
        pb_register(name, bm_journal, &jb[m]);
    }
    int rc = pb_main(argc, argv);
    provost_close(engine);
    return rc;
}
