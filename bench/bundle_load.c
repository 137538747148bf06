/*
 * bundle_load.c -- what compiling buys at load time.
 *
 * Generates a namespace of N namespace procedures, each with a forEach, a when, a literal
 * executeData, a before with two xsl:templates, a call and an after with mode="merge",
 * plus N/10 provider procedures they call (providerSource="test").  Then:
 *
 *   compile   provost_compile of the XML, best of R runs
 *   load      pvm_bundle_open + pvm_bundle_close of the written bundle, best of 10 R
 *   in memory pvm_bundle_load of the compiler's buffer, used in place (the checks
 *             without open/mmap/munmap), best of 10 R
 *   allocs    heap allocations (calls, bytes) made by one pvm_bundle_open, counted by
 *             malloc/calloc/realloc wrappers (link with -Wl,--wrap=malloc,--wrap=calloc,
 *             --wrap=realloc) and cross-checked with mallinfo2()
 *
 * and prints one row per size: the allocation count must not grow with the number of
 * instructions.
 *
 * Usage: bundle_load [-r REPEATS] [-k DIR] [N...]     (default: 100 1000)
 *   -k DIR  keep the generated namespace and bundle in DIR (bench-N.xml, bench-N.pvb)
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "provost/compiler.h"
#include "vm/bundle.h"

/* ---- allocation counting ------------------------------------------------------------ */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

static volatile int counting; /* volatile: the compiler assumes malloc touches no globals */
static volatile size_t n_allocs, n_bytes;

void *__wrap_malloc(size_t size)
{
    if (counting) {
        n_allocs++;
        n_bytes += size;
    }
    return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (counting) {
        n_allocs++;
        n_bytes += n * size;
    }
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    if (counting) {
        n_allocs++;
        n_bytes += size;
    }
    return __real_realloc(p, size);
}

/* Are the wrappers linked in?  (Without --wrap, malloc goes straight to libc.) */
static int wrappers_active(void)
{
    counting = 1;
    n_allocs = 0;
    void *volatile p = malloc(16);
    counting = 0;
    free(p);
    return n_allocs == 1;
}

/* ---- text buffer ---------------------------------------------------------------------- */

typedef struct text {
    char *v;
    size_t n, cap;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(t->v + t->n, t->cap - t->n, fmt, ap);
        va_end(ap);
        if (k < 0)
            abort();
        if ((size_t)k < t->cap - t->n) {
            t->n += (size_t)k;
            return;
        }
        t->cap = t->cap ? t->cap * 2 : 65536;
        while (t->cap - t->n <= (size_t)k)
            t->cap *= 2;
        t->v = realloc(t->v, t->cap);
        if (!t->v)
            abort();
    }
}

/* ---- the namespace -------------------------------------------------------------------- */

static void generate(text *t, unsigned nprocs)
{
    unsigned nproviders = nprocs / 10 ? nprocs / 10 : 1;
    t->n = 0;
    put(t, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<namespace name=\"Bench\" providerSource=\"test\" version=\"1\"\n"
           "           description=\"generated: %u procedures, %u provider procedures\"\n"
           "           xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">\n",
        nprocs, nproviders);
    for (unsigned i = 0; i < nproviders; i++)
        put(t, "  <procedure name=\"CreateMailbox%u\" type=\"write\" saveDataForRollback=\"1\"\n"
               "             description=\"provider procedure %u\"/>\n",
            i, i);
    for (unsigned i = 0; i < nprocs; i++) {
        put(t,
            "  <procedure name=\"ProvisionUser%u\" type=\"write\" access=\"public\" perfEnabled=\"1\"\n"
            "             description=\"one mailbox per address of data/user (variant %u)\">\n"
            "    <execute namespace=\"Bench\" procedure=\"CreateMailbox%u\">\n"
            "      <forEach name=\"address\" root=\"data\" path=\"user/address\"/>\n"
            "      <when source=\"data\" sourcePath=\"user[@status='active']\"/>\n"
            "      <executeData><mailboxType>user</mailboxType><plan>p%u</plan></executeData>\n"
            "      <before source=\"data\" sourcePath=\"user\" destination=\"executeData\">\n"
            "        <xsl:template match=\"user\">\n"
            "          <owner variant=\"%u\"><xsl:value-of select=\"@name\"/></owner>\n"
            "          <xsl:apply-templates select=\"address[1]\"/>\n"
            "        </xsl:template>\n"
            "        <xsl:template match=\"address\">\n"
            "          <smtp><xsl:value-of select=\"normalize-space(.)\"/></smtp>\n"
            "        </xsl:template>\n"
            "      </before>\n"
            "      <after source=\"executeData\" destination=\"data\" destinationPath=\"user/mailbox%u\""
            " mode=\"merge\"/>\n"
            "    </execute>\n"
            "  </procedure>\n",
            i, i, i % nproviders, i % 7, i, i % 13);
    }
    put(t, "</namespace>\n");
}

/* ---- timing --------------------------------------------------------------------------- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct result {
    unsigned nprocs;
    size_t xml_size, bundle_size, ninsns, nprocs_loaded;
    double compile_s, load_s, memload_s;
    size_t allocs, alloc_bytes;
    long inuse_delta; /* mallinfo2: bytes in use while the bundle is open, minus before */
} result;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bundle_load: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static result run(unsigned nprocs, int repeats, const char *dir, int keep)
{
    result r = {.nprocs = nprocs};
    text xml = {0};
    generate(&xml, nprocs);
    r.xml_size = xml.n;

    provost_compiled c = {0};
    r.compile_s = 1e30;
    for (int i = 0; i < repeats; i++) {
        provost_compiled_free(&c);
        double t0 = now();
        int rc = provost_compile("bench.xml", xml.v, xml.n, &c);
        double t = now() - t0;
        if (rc != 0) {
            provost_compiled_print(&c, "bench.xml", stderr);
            die("the generated namespace did not compile");
        }
        if (t < r.compile_s)
            r.compile_s = t;
    }
    r.bundle_size = c.size;

    char path[4096];
    if (keep) {
        if (snprintf(path, sizeof path, "%s/bench-%u.xml", dir, nprocs) >= (int)sizeof path)
            die("directory name too long: %s", dir);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(xml.v, 1, xml.n, f) != xml.n || fclose(f) != 0)
            die("cannot write %s: %s", path, strerror(errno));
    }
    if (snprintf(path, sizeof path, "%s/bench-%u.pvb", dir, nprocs) >= (int)sizeof path)
        die("directory name too long: %s", dir);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(c.bundle, 1, c.size, f) != c.size || fclose(f) != 0)
        die("cannot write %s: %s", path, strerror(errno));
    free(xml.v);

    /* the checks alone: a bundle already in memory, used in place */
    char err[256];
    r.memload_s = 1e30;
    for (int i = 0; i < repeats * 10; i++) {
        double t0 = now();
        pvm_bundle *b = pvm_bundle_load(c.bundle, c.size, 0, err, sizeof err);
        if (!b)
            die("in memory: %s", err);
        pvm_bundle_close(b);
        double t = now() - t0;
        if (t < r.memload_s)
            r.memload_s = t;
    }
    provost_compiled_free(&c);

    r.load_s = 1e30;
    for (int i = 0; i < repeats * 10; i++) {
        double t0 = now();
        pvm_bundle *b = pvm_bundle_open(path, err, sizeof err);
        if (!b)
            die("%s: %s", path, err);
        pvm_bundle_close(b);
        double t = now() - t0;
        if (t < r.load_s)
            r.load_s = t;
    }

    /* one more load, counted */
    struct mallinfo2 before = mallinfo2();
    n_allocs = n_bytes = 0;
    counting = 1;
    pvm_bundle *b = pvm_bundle_open(path, err, sizeof err);
    counting = 0;
    struct mallinfo2 after = mallinfo2();
    if (!b)
        die("%s: %s", path, err);
    r.allocs = n_allocs;
    r.alloc_bytes = n_bytes;
    r.inuse_delta = (long)after.uordblks - (long)before.uordblks;
    r.ninsns = b->ncode;
    r.nprocs_loaded = b->nprocs;
    pvm_bundle_close(b);
    if (!keep)
        unlink(path);
    return r;
}

static void usage(void)
{
    fputs("usage: bundle_load [-r REPEATS] [-k DIR] [N...]   (default: 100 1000)\n", stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    int repeats = 5;
    const char *keep = NULL;
    unsigned sizes[16];
    size_t nsizes = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
            repeats = atoi(argv[++i]);
            if (repeats < 1)
                usage();
        } else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc) {
            keep = argv[++i];
        } else if (argv[i][0] >= '1' && argv[i][0] <= '9' && nsizes < 16) {
            sizes[nsizes++] = (unsigned)strtoul(argv[i], NULL, 10);
        } else {
            usage();
        }
    }
    if (nsizes == 0) {
        sizes[nsizes++] = 100;
        sizes[nsizes++] = 1000;
    }

    provost_compiler_init();
    int counted = wrappers_active();
    char tmp[4096];
    const char *dir = keep;
    if (!dir) {
        const char *t = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/bundle_load.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmp))
            die("mkdtemp %s: %s", tmp, strerror(errno));
        dir = tmp;
    }

    result res[16];
    for (size_t i = 0; i < nsizes; i++)
        res[i] = run(sizes[i], repeats, dir, keep != NULL);
    if (!keep)
        rmdir(dir);

    printf("bundle_load: compile best of %d, open+close best of %d; %s\n", repeats, repeats * 10,
           counted ? "allocations counted by malloc/calloc/realloc wrappers"
                   : "allocation wrappers not linked (-Wl,--wrap=...): counts n/a");
    printf("%10s %7s %10s %11s %10s %10s %9s %11s %12s %11s %11s %12s\n", "procedures", "+prov", "xml",
           "compile", "load", "in memory", "ratio", "bundle", "instructions", "load allocs", "alloc bytes",
           "in-use delta");
    for (size_t i = 0; i < nsizes; i++) {
        const result *r = &res[i];
        char allocs[32], bytes[32];
        if (counted) {
            snprintf(allocs, sizeof allocs, "%zu", r->allocs);
            snprintf(bytes, sizeof bytes, "%zu", r->alloc_bytes);
        } else {
            snprintf(allocs, sizeof allocs, "n/a");
            snprintf(bytes, sizeof bytes, "n/a");
        }
        printf("%10u %7zu %9.1fK %9.2fms %8.3fms %8.3fms %8.0fx %10.1fK %12zu %11s %11s %12ld\n", r->nprocs,
               r->nprocs_loaded - r->nprocs, (double)r->xml_size / 1024, r->compile_s * 1e3, r->load_s * 1e3,
               r->memload_s * 1e3, r->compile_s / r->load_s,
               (double)r->bundle_size / 1024, r->ninsns, allocs, bytes, r->inuse_delta);
    }
    int ok = 1;
    for (size_t i = 0; i < nsizes; i++)
        if (res[i].compile_s / res[i].load_s < 50)
            ok = 0;
    if (counted && nsizes > 1)
        for (size_t i = 1; i < nsizes; i++)
            if (res[i].allocs != res[0].allocs)
                ok = 0;
    printf("goal: compile/load >= 50 at every size%s: %s\n",
           counted && nsizes > 1 ? ", load allocations independent of size" : "", ok ? "met" : "NOT met");
    return 0;
}
