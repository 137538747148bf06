/*
 * test_verify.c -- the structural verifier of procedure code (compiler/verify.c).
 *
 *  - every document of every corpus the project keeps (examples/, tests/roundtrip/ W1-W21,
 *    tests/conformance/ namespaces and requests, the compile-error corpus's files that
 *    compile, the fuzz seeds) compiles to code the verifier accepts, procedure by
 *    procedure, and to a bundle the loader accepts;
 *  - the layouts the compiler writes pass when written by hand: nested forEach loops, a
 *    repeat's loop, nested try/catch, a try inside a catch;
 *  - each rule refuses its breach, at the instruction at fault: loops that a NEXT or an
 *    AGAIN do not count, loops that reset their own counter, overlapping loops, try and
 *    catch blocks entered or left other than through their instructions, a handler that
 *    is not a CATCH after its try, RET inside a block, code that runs off its end.
 *
 * PROVOST_SOURCE_DIR (a string) names the root of the source tree.
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

#include "provost/compiler.h"
#include "provost/verify.h"
#include "vm/bundle.h"

#ifndef PROVOST_SOURCE_DIR
#error "PROVOST_SOURCE_DIR must be defined as the path of the source tree"
#endif

/* ---- the corpora ------------------------------------------------------------------------ */

typedef struct tally {
    unsigned files, bundles, procs;
} tally;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n + 4096 > cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got);
    fclose(f);
    *len = n;
    return buf;
}

static void verify_file(const char *path, tally *t)
{
    size_t len;
    char *src = slurp(path, &len);
    if (!src)
        return;
    t->files++;
    provost_compiled c;
    if (provost_compile(path, src, len, &c) == 0) {
        t->bundles++;
        char err[256];
        pvm_bundle *b = pvm_bundle_load(c.bundle, c.size, 0, err, sizeof err);
        if (!b)
            fail_msg("%s: the loader refuses what the compiler wrote: %s", path, err);
        for (size_t i = 0; i < b->nprocs; i++) {
            const provost_proc *p = &b->procs_v[i];
            if (!p->ncode)
                continue;
            uint32_t at;
            const char *why;
            if (provost_verify_code(b->code_v + p->code, p->ncode, &at, &why) != 0)
                fail_msg("%s: procedure %zu, instruction %u: %s", path, i, at, why);
            t->procs++;
        }
        pvm_bundle_close(b);
    }
    provost_compiled_free(&c);
    free(src);
}

/* Every .xml file under dir, subdirectories included. */
static void verify_tree(const char *dir, tally *t)
{
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s", dir);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        size_t n = strlen(e->d_name);
        if (S_ISDIR(st.st_mode))
            verify_tree(path, t);
        else if (n > 4 && strcmp(e->d_name + n - 4, ".xml") == 0)
            verify_file(path, t);
    }
    closedir(d);
}

static void test_corpora(void **state)
{
    (void)state;
    static const struct {
        const char *dir;
        unsigned min_bundles;
    } corpora[] = {
        {"examples", 2},         {"tests/roundtrip", 21},    {"tests/conformance", 150},
        {"tests/compile_errors", 1}, {"tests/fuzz/corpus", 2},
    };
    for (size_t i = 0; i < sizeof corpora / sizeof *corpora; i++) {
        tally t = {0};
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", PROVOST_SOURCE_DIR, corpora[i].dir);
        verify_tree(dir, &t);
        print_message("%s: %u files, %u bundles, %u procedures verified\n", corpora[i].dir, t.files, t.bundles,
                      t.procs);
        if (t.bundles < corpora[i].min_bundles)
            fail_msg("%s: only %u bundles (expected at least %u)", corpora[i].dir, t.bundles,
                     corpora[i].min_bundles);
    }
}

/* ---- hand-written code ------------------------------------------------------------------ */

#define I(op_, p1_, p5_) {.op = PROVOST_OP_##op_, .p1 = (p1_), .p5 = (p5_)}
#define CODE(...) (const provost_insn[]){__VA_ARGS__}, sizeof((const provost_insn[]){__VA_ARGS__}) / sizeof(provost_insn)

static void accepts(const provost_insn *code, size_t n)
{
    uint32_t at;
    const char *why;
    if (provost_verify_code(code, (uint32_t)n, &at, &why) != 0)
        fail_msg("refused at %u (%s): %s", at, provost_op_name(code[at].op), why);
}

static void refuses(const provost_insn *code, size_t n, uint32_t want_at)
{
    uint32_t at;
    const char *why;
    if (provost_verify_code(code, (uint32_t)n, &at, &why) == 0)
        fail_msg("accepted; expected a refusal at %u", want_at);
    if (at != want_at)
        fail_msg("refused at %u (%s: %s), expected at %u", at, provost_op_name(code[at].op), why, want_at);
    assert_non_null(why);
}

static void test_compiler_layouts(void **state)
{
    (void)state;
    /* two nested forEach around a call */
    accepts(CODE(I(STEP, 0, 7), I(FOREACH, 0, 7), I(FOREACH, 1, 6), I(EXECDATA, 0, 0), I(CALL, 0, 0),
                 I(NEXT, 1, 3), I(NEXT, 0, 2), I(ENDSTEP, 0, 0), I(RET, 0, 0)));
    /* a when and a repeat: STEP WHEN REPEAT body AGAIN WHEN JUMP, next: ENDSTEP */
    accepts(CODE(I(STEP, 0, 8), I(WHEN, 0, 8), I(REPEAT, 0, 8), I(EXECDATA, 0, 0), I(CALL, 0, 0),
                 I(AGAIN, 0, 8), I(WHEN, 0, 8), I(JUMP, 0, 3), I(ENDSTEP, 0, 0), I(RET, 0, 0)));
    /* a repeat inside a forEach */
    accepts(CODE(I(STEP, 0, 8), I(FOREACH, 0, 8), I(REPEAT, 0, 7), I(EXECDATA, 0, 0), I(CALL, 0, 0),
                 I(AGAIN, 0, 7), I(JUMP, 0, 3), I(NEXT, 0, 2), I(ENDSTEP, 0, 0), I(RET, 0, 0)));
    /* try { try {} catch {} } catch { try {} catch {} } */
    accepts(CODE(I(TRY, 0, 6), I(TRY, 0, 3), I(ENDTRY, 0, 5), I(CATCH, 0, 0), I(ENDCATCH, 0, 0),
                 I(ENDTRY, 0, 12), I(CATCH, 0, 0), I(TRY, 0, 9), I(ENDTRY, 0, 11), I(CATCH, 0, 0),
                 I(ENDCATCH, 0, 0), I(ENDCATCH, 0, 0), I(RET, 0, 0)));
}

static void test_loops_refused(void **state)
{
    (void)state;
    /* a repeat's JUMP with no AGAIN in the loop */
    refuses(CODE(I(REPEAT, 0, 4), I(EXECDATA, 0, 0), I(CALL, 0, 0), I(JUMP, 0, 1), I(RET, 0, 0)), 3);
    /* an AGAIN whose exit stays inside the loop */
    refuses(CODE(I(REPEAT, 0, 5), I(EXECDATA, 0, 0), I(AGAIN, 0, 3), I(JUMP, 0, 1), I(CALL, 0, 0),
                 I(RET, 0, 0)), 2);
    /* a WHEN that jumps round the AGAIN to the loop's JUMP */
    refuses(CODE(I(REPEAT, 0, 6), I(WHEN, 0, 4), I(EXECDATA, 0, 0), I(AGAIN, 0, 6), I(JUMP, 0, 1),
                 I(ENDSTEP, 0, 0), I(RET, 0, 0)), 1);
    /* a repeat's loop that sets its count again, through a STEP */
    refuses(CODE(I(REPEAT, 0, 6), I(STEP, 0, 0), I(AGAIN, 0, 6), I(EXECDATA, 0, 0), I(JUMP, 0, 1),
                 I(ENDSTEP, 0, 0), I(RET, 0, 0)), 4);
    /* a NEXT that does not go back to just after the FOREACH of its slot */
    refuses(CODE(I(FOREACH, 0, 4), I(EXECDATA, 0, 0), I(CALL, 0, 0), I(NEXT, 0, 2), I(RET, 0, 0)), 3);
    refuses(CODE(I(FOREACH, 0, 4), I(EXECDATA, 0, 0), I(CALL, 0, 0), I(NEXT, 1, 1), I(RET, 0, 0)), 3);
    /* a NEXT loop over a FOREACH of its own slot, which starts it again */
    refuses(CODE(I(FOREACH, 0, 5), I(FOREACH, 0, 4), I(CALL, 0, 0), I(JUMP, 0, 4), I(NEXT, 0, 1),
                 I(RET, 0, 0)), 4);
    /* two loops that overlap */
    refuses(CODE(I(FOREACH, 0, 7), I(FOREACH, 1, 7), I(CALL, 0, 0), I(NEXT, 0, 1), I(CALL, 0, 0),
                 I(NEXT, 1, 2), I(ENDSTEP, 0, 0), I(RET, 0, 0)), 5);
    /* forward-only instructions jumping back */
    refuses(CODE(I(EXECDATA, 0, 0), I(WHEN, 0, 0), I(RET, 0, 0)), 1);
    refuses(CODE(I(EXECDATA, 0, 0), I(XFORM, 0, 1), I(RET, 0, 0)), 1);
}

static void test_blocks_refused(void **state)
{
    (void)state;
    /* a handler that is not a CATCH, or comes before its TRY */
    refuses(CODE(I(TRY, 0, 2), I(ENDTRY, 0, 3), I(CALL, 0, 0), I(RET, 0, 0)), 0);
    refuses(CODE(I(JUMP, 0, 3), I(CATCH, 0, 0), I(RET, 0, 0), I(TRY, 0, 1), I(RET, 0, 0)), 3);
    /* two TRYs sharing one CATCH */
    refuses(CODE(I(TRY, 0, 4), I(TRY, 0, 4), I(ENDTRY, 0, 3), I(ENDTRY, 0, 6), I(CATCH, 0, 0),
                 I(ENDCATCH, 0, 0), I(RET, 0, 0)), 1);
    /* RET inside an open try, and inside an open catch */
    refuses(CODE(I(TRY, 0, 2), I(RET, 0, 0), I(CATCH, 0, 0), I(ENDCATCH, 0, 0), I(RET, 0, 0)), 1);
    refuses(CODE(I(TRY, 0, 2), I(ENDTRY, 0, 4), I(CATCH, 0, 0), I(RET, 0, 0), I(RET, 0, 0)), 3);
    /* a WHEN leaving a try past its ENDTRY: found where the two paths meet, at the ENDTRY */
    refuses(CODE(I(TRY, 0, 3), I(WHEN, 0, 5), I(ENDTRY, 0, 5), I(CATCH, 0, 0), I(ENDCATCH, 0, 0),
                 I(RET, 0, 0)), 2);
    /* a try body that goes on past its CATCH */
    refuses(CODE(I(TRY, 0, 2), I(JUMP, 0, 4), I(CATCH, 0, 0), I(ENDCATCH, 0, 0), I(ENDTRY, 0, 5),
                 I(RET, 0, 0)), 4);
    /* ENDTRY closing a catch, ENDCATCH closing a try */
    refuses(CODE(I(TRY, 0, 2), I(ENDTRY, 0, 3), I(CATCH, 0, 0), I(ENDTRY, 0, 4), I(RET, 0, 0)), 3);
    refuses(CODE(I(TRY, 0, 2), I(ENDCATCH, 0, 0), I(CATCH, 0, 0), I(ENDCATCH, 0, 0), I(RET, 0, 0)), 1);
    /* running off the end, jumping past it, an unknown opcode, no code at all */
    refuses(CODE(I(EXECDATA, 0, 0), I(CALL, 0, 0)), 1);
    refuses(CODE(I(JUMP, 0, 7), I(RET, 0, 0)), 0);
    refuses(CODE({.op = PROVOST_OP__COUNT}, I(RET, 0, 0)), 0);
    uint32_t at;
    const char *why;
    assert_int_equal(provost_verify_code(NULL, 0, &at, &why), -1);
    /* code after a RET that nothing reaches is not looked at */
    accepts(CODE(I(RET, 0, 0), I(ENDTRY, 0, 0)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpora),
        cmocka_unit_test(test_compiler_layouts),
        cmocka_unit_test(test_loops_refused),
        cmocka_unit_test(test_blocks_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
