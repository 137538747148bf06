/*
 * test_compile_errors.c - the compile-error corpus in tests/compile_errors/.
 *
 * Every file there is one malformed namespace or request, and says what the compiler
 * must report about it, in comments of the form
 *
 *     <!-- expect: error 12:7 sourcePath -->
 *
 * (a severity, `error` or `warning`; the LINE:COL the diagnostic must carry; a text its
 * message must contain).  A file that cannot hold such a comment (empty, binary,
 * UTF-16, cut in the middle of a comment...) has a sidecar NAME.expect beside it (NAME
 * being the case's file name without its extension) with the same lines without the
 * comment markers:
 *
 *     error 1:1 empty
 *
 * For every case, sorted by name, the test compiles the file and checks that:
 *  - compilation fails (no bundle) when an error is expected, and succeeds otherwise;
 *  - every expected diagnostic is reported, at that line and column, with that severity,
 *    and with a message containing the text;
 *  - no error that is not expected is reported (unexpected warnings are allowed);
 *  - every message is a single line.
 * On a mismatch it prints the case and every diagnostic the compiler reported.
 *
 * PROVOST_SOURCE_DIR (a string) names the root of the source tree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxslt/xslt.h>

#include "provost/compiler.h"

#ifndef PROVOST_SOURCE_DIR
#error "PROVOST_SOURCE_DIR must be defined as the path of the source tree"
#endif

#define CASE_DIR PROVOST_SOURCE_DIR "/tests/compile_errors"
#define MIN_CASES 45
#define PATH_SIZE 4096
#define MAX_EXPECT 32
#define MAX_TEXT 256

typedef struct expectation {
    int severity; /* provost_severity */
    unsigned line, col;
    char text[MAX_TEXT];
    bool met;
} expectation;

typedef struct test_case {
    char name[256];
    char path[PATH_SIZE];
    char sidecar[PATH_SIZE]; /* "" when the case has none */
} test_case;

static test_case *cases;
static size_t ncases;
static char **sidecars; /* every .expect file, to check each belongs to a case */
static size_t nsidecars;

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const test_case *)a)->name, ((const test_case *)b)->name);
}

/* The sidecar of a case: its name with the extension replaced by .expect. */
static void sidecar_name(const char *name, char *out, size_t cap)
{
    const char *dot = strrchr(name, '.');
    size_t stem = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    snprintf(out, cap, "%.*s.expect", (int)stem, name);
}

static bool list_cases(void)
{
    DIR *d = opendir(CASE_DIR);
    if (!d) {
        print_error("cannot open %s\n", CASE_DIR);
        return false;
    }
    size_t cap = 0;
    size_t scap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (ends_with(e->d_name, ".expect")) {
            if (nsidecars == scap) {
                scap = scap ? scap * 2 : 16;
                char **grown = realloc(sidecars, scap * sizeof *sidecars);
                if (!grown)
                    break;
                sidecars = grown;
            }
            if (!(sidecars[nsidecars] = strdup(e->d_name)))
                break;
            nsidecars++;
            continue;
        }
        if (ncases == cap) {
            cap = cap ? cap * 2 : 64;
            test_case *grown = realloc(cases, cap * sizeof *cases);
            if (!grown)
                break;
            cases = grown;
        }
        test_case *c = &cases[ncases++];
        memset(c, 0, sizeof *c);
        snprintf(c->name, sizeof c->name, "%s", e->d_name);
        snprintf(c->path, sizeof c->path, "%s/%s", CASE_DIR, e->d_name);
    }
    closedir(d);
    if (e) {
        print_error("out of memory listing %s\n", CASE_DIR);
        return false;
    }
    if (ncases)
        qsort(cases, ncases, sizeof *cases, by_name);
    for (size_t i = 0; i < ncases; i++) {
        char side[256];
        sidecar_name(cases[i].name, side, sizeof side);
        for (size_t k = 0; k < nsidecars; k++)
            if (strcmp(sidecars[k], side) == 0)
                snprintf(cases[i].sidecar, sizeof cases[i].sidecar, "%s/%s", CASE_DIR, side);
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Expectations                                                        */
/* ------------------------------------------------------------------ */

/* Parses "SEVERITY LINE:COL TEXT" from s[0..n); false if it is not of that form. */
static bool parse_expectation(const char *s, size_t n, expectation *out)
{
    char line[512];
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    if (n == 0 || n >= sizeof line)
        return false;
    memcpy(line, s, n);
    line[n] = 0;

    char sev[16];
    int used = 0;
    memset(out, 0, sizeof *out);
    if (sscanf(line, "%15s %u:%u %n", sev, &out->line, &out->col, &used) != 3 || used == 0)
        return false;
    if (strcmp(sev, "error") == 0)
        out->severity = PROVOST_ERROR;
    else if (strcmp(sev, "warning") == 0)
        out->severity = PROVOST_WARNING;
    else
        return false;
    const char *text = line + used;
    if (!*text || strlen(text) >= sizeof out->text || out->line == 0 || out->col == 0)
        return false;
    snprintf(out->text, sizeof out->text, "%s", text);
    return true;
}

/* Collects the expectations of a case: the expect comments of the file, then the lines
 * of its sidecar.  Returns the count, or -1 (after printing why) on a malformed one. */
static int collect(const test_case *c, const char *src, size_t len, expectation *out)
{
    static const char marker[] = "<!-- expect:";
    int n = 0;
    for (size_t i = 0; i + sizeof marker - 1 <= len; i++) {
        if (memcmp(src + i, marker, sizeof marker - 1) != 0)
            continue;
        size_t from = i + sizeof marker - 1, to = from;
        while (to + 3 <= len && memcmp(src + to, "-->", 3) != 0)
            to++;
        if (to + 3 > len || n == MAX_EXPECT || !parse_expectation(src + from, to - from, &out[n])) {
            print_error("%s: malformed expect comment at byte %zu\n", c->name, i);
            return -1;
        }
        n++;
        i = to;
    }
    if (c->sidecar[0]) {
        size_t slen = 0;
        char *side = read_file(c->sidecar, &slen);
        if (!side) {
            print_error("%s: cannot read %s\n", c->name, c->sidecar);
            return -1;
        }
        const char *p = side, *end = side + slen;
        unsigned lineno = 0;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
            lineno++;
            size_t k = 0;
            while (k < l && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
                k++;
            if (k < l && p[k] != '#') {
                if (n == MAX_EXPECT || !parse_expectation(p, l, &out[n])) {
                    print_error("%s: malformed line %u in its .expect file\n", c->name, lineno);
                    free(side);
                    return -1;
                }
                n++;
            }
            p += l + (nl ? 1 : 0);
        }
        free(side);
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* One case                                                            */
/* ------------------------------------------------------------------ */

static const char *severity_name(int severity)
{
    return severity == PROVOST_ERROR ? "error" : "warning";
}

static void report(const test_case *c, const provost_compiled *out, const expectation *exp, int nexp)
{
    print_error("---- %s: expected\n", c->name);
    for (int i = 0; i < nexp; i++)
        print_error("  %s %s %u:%u %s\n", exp[i].met ? "    " : "MISS", severity_name(exp[i].severity),
                    exp[i].line, exp[i].col, exp[i].text);
    print_error("---- %s: the compiler reported (%zu diagnostic%s, %s)\n", c->name, out->ndiags,
                out->ndiags == 1 ? "" : "s", out->bundle ? "a bundle" : "no bundle");
    for (size_t i = 0; i < out->ndiags; i++)
        print_error("  %s:%u:%u: %s: %s\n", c->name, out->diags[i].line, out->diags[i].col,
                    severity_name(out->diags[i].severity), out->diags[i].message);
}

static void run_case(void **state)
{
    const test_case *c = *state;
    size_t len = 0;
    char *src = read_file(c->path, &len);
    if (!src)
        fail_msg("%s: cannot read the file", c->name);

    expectation exp[MAX_EXPECT];
    int nexp = collect(c, src, len, exp);
    if (nexp <= 0) {
        free(src);
        if (nexp == 0)
            fail_msg("%s: no expectation (add an expect comment or a .expect file)", c->name);
        fail_msg("%s: malformed expectations", c->name);
    }
    bool want_error = false;
    for (int i = 0; i < nexp; i++)
        want_error = want_error || exp[i].severity == PROVOST_ERROR;

    provost_compiled out;
    int rc = provost_compile(c->name, src, len, &out);
    free(src);

    bool ok = true;
    char why[512] = "";
#define MISMATCH(...)                                       \
    do {                                                    \
        if (ok)                                             \
            snprintf(why, sizeof why, __VA_ARGS__);         \
        ok = false;                                         \
    } while (0)

    if (want_error && (rc == 0 || out.bundle))
        MISMATCH("an error is expected, but the compilation succeeded");
    if (!want_error && (rc != 0 || !out.bundle))
        MISMATCH("only warnings are expected, but the compilation failed");

    bool *used = calloc(out.ndiags ? out.ndiags : 1, sizeof *used);
    assert_non_null(used);
    for (int i = 0; i < nexp; i++) {
        for (size_t k = 0; k < out.ndiags && !exp[i].met; k++) {
            const provost_diag *d = &out.diags[k];
            if (!used[k] && d->severity == exp[i].severity && d->line == exp[i].line &&
                d->col == exp[i].col && d->message && strstr(d->message, exp[i].text)) {
                used[k] = true;
                exp[i].met = true;
            }
        }
        if (!exp[i].met)
            MISMATCH("expected %s %u:%u \"%s\" was not reported", severity_name(exp[i].severity),
                     exp[i].line, exp[i].col, exp[i].text);
    }
    unsigned nerrors = 0, nwarnings = 0;
    for (size_t k = 0; k < out.ndiags; k++) {
        const provost_diag *d = &out.diags[k];
        if (d->severity == PROVOST_ERROR)
            nerrors++;
        else
            nwarnings++;
        if (!d->message || !*d->message)
            MISMATCH("diagnostic %zu has no message", k + 1);
        else if (strchr(d->message, '\n') || strchr(d->message, '\r'))
            MISMATCH("the message at %u:%u is not a single line", d->line, d->col);
        if (d->line == 0 || d->col == 0)
            MISMATCH("a diagnostic has no position (%u:%u)", d->line, d->col);
        if (d->severity == PROVOST_ERROR && !used[k])
            MISMATCH("unexpected error at %u:%u", d->line, d->col);
    }
    if (nerrors != out.nerrors || nwarnings != out.nwarnings)
        MISMATCH("the counts (%u errors, %u warnings) do not match the diagnostics (%u, %u)",
                 out.nerrors, out.nwarnings, nerrors, nwarnings);
#undef MISMATCH

    if (!ok)
        report(c, &out, exp, nexp);
    free(used);
    provost_compiled_free(&out);
    if (!ok)
        fail_msg("%s: %s", c->name, why);
}

/* ------------------------------------------------------------------ */
/* The corpus as a whole                                               */
/* ------------------------------------------------------------------ */

static void corpus_size(void **state)
{
    (void)state;
    if (ncases < MIN_CASES)
        fail_msg("%zu cases in %s: the corpus needs at least %d", ncases, CASE_DIR, MIN_CASES);
}

static void every_sidecar_has_a_case(void **state)
{
    (void)state;
    bool ok = true;
    for (size_t k = 0; k < nsidecars; k++) {
        bool found = false;
        char path[PATH_SIZE];
        snprintf(path, sizeof path, "%s/%s", CASE_DIR, sidecars[k]);
        for (size_t i = 0; i < ncases && !found; i++)
            found = strcmp(cases[i].sidecar, path) == 0;
        if (!found) {
            print_error("%s belongs to no case (a case NAME.EXT has the sidecar NAME.expect)\n",
                        sidecars[k]);
            ok = false;
        }
    }
    if (!ok)
        fail_msg("orphan .expect files");
}

int main(void)
{
    provost_compiler_init();
    if (!list_cases())
        return 1;
    size_t ntests = ncases + 2;
    struct CMUnitTest *tests = calloc(ntests, sizeof *tests);
    if (!tests)
        return 1;
    tests[0] = (struct CMUnitTest){.name = "corpus size", .test_func = corpus_size};
    tests[1] = (struct CMUnitTest){.name = "sidecars", .test_func = every_sidecar_has_a_case};
    for (size_t i = 0; i < ncases; i++)
        tests[i + 2] = (struct CMUnitTest){.name = cases[i].name, .test_func = run_case,
                                           .initial_state = &cases[i]};
    int failed = _cmocka_run_group_tests("compile_errors", tests, ntests, NULL, NULL);

    free(tests);
    free(cases);
    for (size_t k = 0; k < nsidecars; k++)
        free(sidecars[k]);
    free(sidecars);
    xsltCleanupGlobals();
    xmlCleanupParser();
    return failed ? 1 : 0;
}
