/*
 * test_conformance.c -- the conformance suite: every folder of tests/conformance is one
 * case, run in a fresh database:
 *
 *   *.ns.xml       namespaces registered first, in name order
 *   request.xml    a trusted request to run, or
 *   call.txt       a simple request: line 1 the namespace, line 2 the procedure,
 *                  with data.xml (optional) as its data
 *   response.xml   the expected response (compared without whitespace between
 *                  elements; transaction ids and queue ids compared as {TXID} / 1:{QID})
 *   trace.txt      the expected test-provider trace, line for line (absent: no line)
 *   errormap.xml   (optional) the Error Provider's errorMapFile
 *   README         what the case shows, for a reader (not read by the runner)
 *
 * `test_conformance NAME` (or PROVOST_CASE=NAME) runs one case, as ctest registers each
 * (conformance/NAME); without a name every case runs in this one process.  A failure
 * prints the case, what was expected and what came out.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xmlsave.h>

#include "provost/provost.h"

#define CASES PROVOST_SOURCE_DIR "/tests/conformance"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        if (len)
            *len = (size_t)n;
    }
    return buf;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t list_dir(const char *dir, char ***out, int want_dirs, const char *suffix)
{
    DIR *d = opendir(dir);
    size_t n = 0, cap = 0;
    *out = NULL;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || (want_dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)))
            continue;
        size_t l = strlen(e->d_name), sl = suffix ? strlen(suffix) : 0;
        if (suffix && (l < sl || strcmp(e->d_name + l - sl, suffix) != 0))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            *out = realloc(*out, cap * sizeof **out);
        }
        (*out)[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(*out, n, sizeof **out, by_name);
    return n;
}

/* Canonical compact text of an XML document, ids masked. */
static char *canonical(const char *xml, size_t len)
{
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, "x", NULL, XML_PARSE_NOBLANKS | XML_PARSE_NONET);
    if (!doc)
        return NULL;
    xmlBufferPtr buf = xmlBufferCreate();
    xmlSaveCtxtPtr s = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_NO_DECL);
    xmlSaveTree(s, xmlDocGetRootElement(doc));
    xmlSaveClose(s);
    char *out = strdup((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    xmlFreeDoc(doc);
    /* {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX} -> {TXID} (1:{...} -> 1:{QID}) */
    for (char *p = out; (p = strchr(p, '{'));) {
        size_t k = 1;
        while (p[k] && (strchr("0123456789ABCDEF-", p[k])))
            k++;
        if (k == 37 && p[k] == '}') {
            const char *with = p > out + 1 && p[-1] == ':' && p[-2] == '1' ? "{QID}" : "{TXID}";
            memmove(p + strlen(with), p + 38, strlen(p + 38) + 1);
            memcpy(p, with, strlen(with));
        }
        p++;
    }
    return out;
}

static int run_case(const char *name)
{
    char dir[1024], path[1200], db[] = "/tmp/provost-conf-XXXXXX", trace[1200];
    snprintf(dir, sizeof dir, "%s/%s", CASES, name);
    if (!mkdtemp(db))
        return 1;
    snprintf(trace, sizeof trace, "%s/trace", db);
    char dbdir[1200];
    snprintf(dbdir, sizeof dbdir, "%s/db", db);
    setenv("PROVOST_TEST_TRACE", trace, 1);
    snprintf(path, sizeof path, "%s/errormap.xml", dir);
    struct stat st;
    provost_options o = {.db_path = dbdir, .error_map_file = stat(path, &st) == 0 ? path : NULL, .caller = "tester",
                         .sync = PROVOST_SYNC_NONE};
    provost_engine *e = NULL;
    provost_error err;
    int failed = 0;
    if (provost_open(&o, &e, &err) != 0) {
        fprintf(stderr, "%s: cannot open the engine: %s\n", name, err.message);
        return 1;
    }
    char **ns;
    size_t nns = list_dir(dir, &ns, 0, ".ns.xml");
    for (size_t i = 0; i < nns; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, ns[i]);
        size_t len;
        char *src = slurp(path, &len);
        if (!src || provost_register(e, ns[i], src, len, NULL, &err) != 0) {
            fprintf(stderr, "%s: cannot register %s: %s\n", name, ns[i], src ? err.message : "unreadable");
            failed = 1;
        }
        free(src);
        free(ns[i]);
    }
    free(ns);

    provost_response resp = {0};
    size_t len = 0;
    snprintf(path, sizeof path, "%s/request.xml", dir);
    char *req = slurp(path, &len);
    if (!failed && req) {
        provost_submit(e, req, len, PROVOST_COMPACT, &resp, &err);
    } else if (!failed) {
        snprintf(path, sizeof path, "%s/call.txt", dir);
        char *call = slurp(path, NULL);
        if (!call) {
            fprintf(stderr, "%s: neither request.xml nor call.txt\n", name);
            failed = 1;
        } else {
            char *nl = strchr(call, '\n');
            char *proc = nl ? nl + 1 : (char *)"";
            if (nl)
                *nl = 0;
            char *end = strchr(proc, '\n');
            if (end)
                *end = 0;
            snprintf(path, sizeof path, "%s/data.xml", dir);
            size_t dlen = 0;
            char *data = slurp(path, &dlen);
            provost_call(e, call, proc, data, dlen, PROVOST_COMPACT, &resp, &err);
            free(data);
            free(call);
        }
    }
    free(req);

    if (!failed) {
        snprintf(path, sizeof path, "%s/response.xml", dir);
        size_t elen;
        char *want_raw = slurp(path, &elen);
        char *want = want_raw ? canonical(want_raw, elen) : NULL;
        char *got = resp.xml ? canonical(resp.xml, resp.len) : NULL;
        if (!want || !got || strcmp(want, got) != 0) {
            fprintf(stderr, "%s: response differs\n  expected: %s\n  got:      %s\n", name,
                    want ? want : "(no valid response.xml)", got ? got : (resp.xml ? resp.xml : "(none)"));
            failed = 1;
        }
        free(want_raw);
        free(want);
        free(got);

        snprintf(path, sizeof path, "%s/trace.txt", dir);
        char *want_trace = slurp(path, NULL);
        char *got_trace = slurp(trace, NULL);
        const char *w = want_trace ? want_trace : "", *g = got_trace ? got_trace : "";
        if (strcmp(w, g) != 0) {
            fprintf(stderr, "%s: trace differs\n--- expected\n%s--- got\n%s---\n", name, w, g);
            failed = 1;
        }
        free(want_trace);
        free(got_trace);
    }
    provost_response_free(&resp);
    provost_close(e);
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", db);
    if (system(cmd) != 0)
        fprintf(stderr, "%s: could not remove %s\n", name, db);
    return failed;
}

static const char *only; /* the one case to run, or NULL: all */

static void test_cases(void **state)
{
    (void)state;
    char **cases;
    size_t n = list_dir(CASES, &cases, 1, NULL);
    size_t ran = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (!only || strcmp(only, cases[i]) == 0) {
            ran++;
            bad += (size_t)run_case(cases[i]);
        }
        free(cases[i]);
    }
    free(cases);
    fprintf(stderr, "conformance: %zu cases, %zu failed\n", ran, bad);
    assert_true(ran > 0);
    assert_int_equal(bad, 0);
}

int main(int argc, char **argv)
{
    only = argc > 1 ? argv[1] : getenv("PROVOST_CASE");
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_cases)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
