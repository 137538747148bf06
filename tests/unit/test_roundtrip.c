/*
 * test_roundtrip.c -- compile -> disasm for the worked examples W1-W21.  Each
 * tests/roundtrip/NAME.xml has its expected listing beside it in NAME.disasm; the
 * listing shows every operand decoded, so a change in what the compiler emits for any
 * construct of the examples shows up as a diff.  PROVOST_UPDATE_GOLDEN=1 rewrites the
 * listings (review the diff before committing it).  The same bundle, written to a file
 * and mapped back, must give the same listing.
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
#include <unistd.h>

#include "provost/compiler.h"
#include "vm/bundle.h"

#define CASES_DIR PROVOST_SOURCE_DIR "/tests/roundtrip"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static char *listing(const pvm_bundle *b, size_t *len)
{
    char *text = NULL;
    FILE *m = open_memstream(&text, len);
    assert_non_null(m);
    pvm_disasm(b, m);
    fclose(m);
    return text;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void roundtrip_one(const char *name)
{
    char path[512], golden[512];
    snprintf(path, sizeof path, "%s/%s", CASES_DIR, name);
    snprintf(golden, sizeof golden, "%s/%.*s.disasm", CASES_DIR, (int)(strlen(name) - 4), name);
    size_t len;
    char *src = slurp(path, &len);
    assert_non_null(src);
    provost_compiled c;
    int rc = provost_compile(name, src, len, &c);
    if (rc != 0)
        provost_compiled_print(&c, name, stderr);
    assert_int_equal(rc, 0);
    assert_int_equal(c.nerrors, 0);

    char err[256];
    pvm_bundle *b = pvm_bundle_load(c.bundle, c.size, 0, err, sizeof err);
    if (!b)
        fprintf(stderr, "%s: %s\n", name, err);
    assert_non_null(b);
    size_t tlen;
    char *text = listing(b, &tlen);

    /* the same bundle through a file and mmap */
    char tmp[] = "/tmp/provost-roundtrip-XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, c.bundle, c.size), (ssize_t)c.size);
    close(fd);
    pvm_bundle *mb = pvm_bundle_open(tmp, err, sizeof err);
    assert_non_null(mb);
    size_t mlen;
    char *mtext = listing(mb, &mlen);
    assert_string_equal(mtext, text);
    pvm_bundle_close(mb);
    unlink(tmp);
    free(mtext);

    if (getenv("PROVOST_UPDATE_GOLDEN")) {
        FILE *g = fopen(golden, "wb");
        assert_non_null(g);
        fwrite(text, 1, tlen, g);
        fclose(g);
    } else {
        size_t glen;
        char *want = slurp(golden, &glen);
        if (!want)
            fprintf(stderr, "%s: no expected listing %s (run with PROVOST_UPDATE_GOLDEN=1)\n", name, golden);
        assert_non_null(want);
        if (strcmp(want, text) != 0)
            fprintf(stderr, "%s: listing differs from %s; got:\n%s\n", name, golden, text);
        assert_string_equal(want, text);
        free(want);
    }
    free(text);
    pvm_bundle_close(b);
    provost_compiled_free(&c);
    free(src);
}

static void test_worked_examples(void **state)
{
    (void)state;
    DIR *d = opendir(CASES_DIR);
    assert_non_null(d);
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".xml") == 0)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    /* W01..W21 must all be there */
    for (int w = 1; w <= 21; w++) {
        char want[16];
        snprintf(want, sizeof want, "W%02d.xml", w);
        int found = 0;
        for (size_t i = 0; i < n; i++)
            found |= strcmp(names[i], want) == 0;
        if (!found)
            fprintf(stderr, "missing %s\n", want);
        assert_true(found);
    }
    for (size_t i = 0; i < n; i++) {
        roundtrip_one(names[i]);
        free(names[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
