/*
 * test_emit.c -- the code of procedures and steps (compiler/proc.c, compiler/step.c):
 * each representative step compiles to the instruction layout documented in
 * include/provost/bytecode.h, with every jump landing inside its procedure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "provost/compiler.h"
#include "provost/bytecode.h"
#include "vm/bundle.h"

/* ---- compiling through the public entry ---------------------------------------------- */

typedef struct compiled {
    provost_compiled c;
    pvm_bundle *b;
} compiled;

static compiled *compile_ok(const char *src)
{
    compiled *r = calloc(1, sizeof *r);
    assert_non_null(r);
    if (provost_compile("test.xml", src, strlen(src), &r->c) != 0) {
        provost_compiled_print(&r->c, "test.xml", stderr);
        fail_msg("the document did not compile");
    }
    if (r->c.nerrors) {
        provost_compiled_print(&r->c, "test.xml", stderr);
        fail_msg("errors, yet a bundle");
    }
    char err[256];
    r->b = pvm_bundle_load(r->c.bundle, r->c.size, 1, err, sizeof err);
    if (!r->b)
        fail_msg("the bundle does not load: %s", err);
    return r;
}

static void compiled_free(compiled *r)
{
    pvm_bundle_close(r->b);
    provost_compiled_free(&r->c);
    free(r);
}

static const provost_proc *proc_named(compiled *r, const char *name)
{
    for (size_t i = 0; i < r->b->nprocs; i++) {
        const char *n = pvm_bundle_str(r->b, r->b->procs_v[i].name);
        if ((!name && !n) || (name && n && strcmp(n, name) == 0))
            return &r->b->procs_v[i];
    }
    fail_msg("no procedure %s", name ? name : "(anonymous)");
    return NULL;
}

static const provost_insn *code_of(compiled *r, const provost_proc *p)
{
    return r->b->code_v + p->code;
}

/* Every jump of every procedure lands inside that procedure; STEP points at its ENDSTEP. */
static void check_jumps(compiled *r)
{
    for (size_t k = 0; k < r->b->nprocs; k++) {
        const provost_proc *p = &r->b->procs_v[k];
        const provost_insn *c = code_of(r, p);
        for (uint32_t pc = 0; pc < p->ncode; pc++) {
            assert_true(c[pc].op < PROVOST_OP__COUNT);
            if (provost_op_kinds(c[pc].op)[4] == PROVOST_OPK_JUMP && c[pc].p5 >= p->ncode)
                fail_msg("%s at %u jumps to %u, outside the procedure (%u instructions)",
                         provost_op_name(c[pc].op), pc, c[pc].p5, p->ncode);
            if (c[pc].op == PROVOST_OP_STEP) {
                assert_int_equal(c[c[pc].p5].op, PROVOST_OP_ENDSTEP);
                assert_int_equal(c[c[pc].p5].p4, c[pc].p4);
            }
        }
        if (!(p->flags & PROVOST_PROC_PROVIDER))
            assert_int_equal(c[p->ncode - 1].op, PROVOST_OP_RET);
    }
}

/* Checks the opcode sequence of a procedure. */
static void expect_ops(compiled *r, const provost_proc *p, const int *ops, size_t n)
{
    const provost_insn *c = code_of(r, p);
    char got[1024] = "", want[1024] = "";
    for (uint32_t i = 0; i < p->ncode; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s ", provost_op_name(c[i].op));
    for (size_t i = 0; i < n; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s ", provost_op_name(ops[i]));
    if (strcmp(got, want) != 0)
        fail_msg("code is\n  %s\nexpected\n  %s", got, want);
}

#define OPS(...) (const int[]){__VA_ARGS__}, sizeof((const int[]){__VA_ARGS__}) / sizeof(int)

enum {
    STEP = PROVOST_OP_STEP, FOREACH = PROVOST_OP_FOREACH, NEXT = PROVOST_OP_NEXT,
    WHEN = PROVOST_OP_WHEN, WHENCASE = PROVOST_OP_WHENCASE, REPEAT = PROVOST_OP_REPEAT,
    AGAIN = PROVOST_OP_AGAIN, EXECDATA = PROVOST_OP_EXECDATA, XFORM = PROVOST_OP_XFORM,
    CALL = PROVOST_OP_CALL, QUEUE = PROVOST_OP_QUEUE, SELECT = PROVOST_OP_SELECT,
    TRY = PROVOST_OP_TRY, ENDTRY = PROVOST_OP_ENDTRY, CATCH = PROVOST_OP_CATCH,
    ENDCATCH = PROVOST_OP_ENDCATCH, JUMP = PROVOST_OP_JUMP, ENDSTEP = PROVOST_OP_ENDSTEP,
    RET = PROVOST_OP_RET
};

static const char *str(compiled *r, uint32_t off)
{
    const char *s = pvm_bundle_str(r->b, off);
    assert_non_null(s);
    return s;
}

static const char *path_text(compiled *r, uint32_t i)
{
    assert_true(i < r->b->npaths);
    return str(r, r->b->paths_v[i].text);
}

#define NS_OPEN "<namespace name=\"T\" providerSource=\"prov\">\n"
#define NS_CLOSE "</namespace>\n"

/* ---- plain execute ------------------------------------------------------------------------ */

static void test_plain_execute(void **state)
{
    (void)state;
    compiled *r = compile_ok(NS_OPEN
                             "  <procedure name=\"Plain\" type=\"read\">\n"
                             "    <execute namespace=\"X\" procedure=\"Y\" impersonate=\"1\" sensitive=\"2\"/>\n"
                             "  </procedure>\n" NS_CLOSE);
    const provost_proc *p = proc_named(r, "Plain");
    expect_ops(r, p, OPS(STEP, EXECDATA, CALL, ENDSTEP, RET));
    const provost_insn *c = code_of(r, p);
    assert_int_equal(c[0].p1, PROVOST_STEP_EXECUTE);
    assert_int_equal(c[0].p4, 0); /* step number */
    assert_int_equal(c[0].p5, 3);
    assert_int_equal(c[0].line, 3);
    assert_int_equal(c[1].p4, PROVOST_NONE); /* empty executeData */
    assert_int_equal(c[3].p4, 0);
    const provost_callref *call = &r->b->calls_v[c[2].p4];
    assert_string_equal(str(r, call->ns), "X");
    assert_string_equal(str(r, call->proc), "Y");
    assert_int_equal(call->impersonate, 1);
    assert_int_equal(call->sensitive, 2);
    assert_int_equal(call->trusted, 0);
    assert_int_equal(p->type, PROVOST_TYPE_READ);
    assert_int_equal(p->nslots, 0);
    assert_int_equal(p->flags & PROVOST_PROC_PROVIDER, 0);
    check_jumps(r);
    compiled_free(r);
}

static void test_execute_data_literal_and_step_numbers(void **state)
{
    (void)state;
    compiled *r = compile_ok(NS_OPEN
                             "  <procedure name=\"P\" type=\"write\">\n"
                             "    <execute namespace=\"X\" procedure=\"A\"/>\n"
                             "    <execute namespace=\"X\" procedure=\"B\">\n"
                             "      <executeData><user name=\"joe\"/></executeData>\n"
                             "    </execute>\n"
                             "  </procedure>\n" NS_CLOSE);
    const provost_proc *p = proc_named(r, "P");
    expect_ops(r, p, OPS(STEP, EXECDATA, CALL, ENDSTEP, STEP, EXECDATA, CALL, ENDSTEP, RET));
    const provost_insn *c = code_of(r, p);
    assert_int_equal(c[4].p4, 1);
    assert_int_equal(c[4].p5, 7);
    assert_int_equal(c[7].p4, 1);
    const char *lit = str(r, c[5].p4);
    assert_non_null(strstr(lit, "<executeData>"));
    assert_non_null(strstr(lit, "<user name=\"joe\"/>"));
    assert_int_equal(c[5].line, 5);
    check_jumps(r);
    compiled_free(r);
}

/* ---- forEach -------------------------------------------------------------------------------- */

static void test_nested_foreach(void **state)
{
    (void)state;
    compiled *r = compile_ok(NS_OPEN
                             "  <procedure name=\"Loops\" type=\"read\">\n"
                             "    <execute namespace=\"X\" procedure=\"Y\">\n"
                             "      <forEach name=\"org\" root=\"data\" path=\"orgs/org\"/>\n"
                             "      <forEach name=\"user\" root=\"org\" path=\"user\" ifNull=\"skip\"/>\n"
                             "      <before source=\"user\" destination=\"executeData\"/>\n"
                             "    </execute>\n"
                             "  </procedure>\n" NS_CLOSE);
    const provost_proc *p = proc_named(r, "Loops");
    /* 0 STEP, 1 FOREACH s0, 2 FOREACH s1, 3 EXECDATA, 4 XFORM, 5 CALL, 6 NEXT s1, 7 NEXT s0,
     * 8 ENDSTEP, 9 RET */
    expect_ops(r, p, OPS(STEP, FOREACH, FOREACH, EXECDATA, XFORM, CALL, NEXT, NEXT, ENDSTEP, RET));
    const provost_insn *c = code_of(r, p);
    assert_int_equal(p->nslots, 2);
    assert_int_equal(c[0].p5, 8);

    assert_int_equal(c[1].p1, 0);
    assert_int_equal(c[1].p2, PROVOST_SCOPE_DATA);
    assert_int_equal(c[1].p3, PROVOST_IFNULL_FAIL);
    assert_string_equal(path_text(r, c[1].p4), "orgs/org");
    assert_int_equal(c[1].p5, 8); /* the outer loop's skip leaves the step */

    assert_int_equal(c[2].p1, 1);
    assert_int_equal(c[2].p2, PROVOST_SCOPE_SLOT0 + 0); /* rooted at the outer loop */
    assert_int_equal(c[2].p3, PROVOST_IFNULL_SKIP);
    assert_string_equal(path_text(r, c[2].p4), "user");
    assert_int_equal(c[2].p5, 7); /* the inner loop's skip: the outer NEXT */

    assert_int_equal(c[6].p1, 1);
    assert_int_equal(c[6].p5, 3); /* back to just after FOREACH slot 1 */
    assert_int_equal(c[7].p1, 0);
    assert_int_equal(c[7].p5, 2); /* back to FOREACH slot 1: a fresh inner snapshot */

    /* the before reads the inner loop's node */
    const provost_xform *x = &r->b->xforms_v[c[4].p4];
    assert_int_equal(x->source, PROVOST_SCOPE_SLOT0 + 1);
    assert_int_equal(x->destination, PROVOST_SCOPE_EXECDATA);
    check_jumps(r);
    compiled_free(r);
}

static void test_foreach_cartesian(void **state)
{
    (void)state;
    compiled *r = compile_ok(NS_OPEN
                             "  <procedure name=\"P\" type=\"read\">\n"
                             "    <execute namespace=\"X\" procedure=\"Y\">\n"
                             "      <forEach name=\"a\" root=\"data\" path=\"a\"/>\n"
                             "      <forEach name=\"b\" root=\"procedureData\" path=\"b\" ifNull=\"ignore\"/>\n"
                             "      <forEach name=\"c\" root=\"context\"/>\n"
                             "    </execute>\n"
                             "    <execute namespace=\"X\" procedure=\"Y\"/>\n"
                             "  </procedure>\n" NS_CLOSE);
    const provost_proc *p = proc_named(r, "P");
    expect_ops(r, p, OPS(STEP, FOREACH, FOREACH, FOREACH, EXECDATA, CALL, NEXT, NEXT, NEXT, ENDSTEP,
                         STEP, EXECDATA, CALL, ENDSTEP, RET));
    const provost_insn *c = code_of(r, p);
    assert_int_equal(p->nslots, 3); /* the largest step */
    assert_int_equal(c[2].p2, PROVOST_SCOPE_PROCDATA);
    assert_int_equal(c[2].p3, PROVOST_IFNULL_IGNORE);
    assert_int_equal(c[3].p2, PROVOST_SCOPE_CONTEXT);
    assert_int_equal(r->b->paths_v[c[3].p4].kind, PROVOST_PATH_SELF);
    /* skips: slot 0 -> ENDSTEP, slot 1 -> NEXT slot 0, slot 2 -> NEXT slot 1 */
    assert_int_equal(c[1].p5, 9);
    assert_int_equal(c[2].p5, 8);
    assert_int_equal(c[3].p5, 7);
    /* NEXT slot k jumps to just after FOREACH slot k */
    assert_int_equal(c[6].p1, 2);
    assert_int_equal(c[6].p5, 4);
    assert_int_equal(c[7].p1, 1);
    assert_int_equal(c[7].p5, 3);
    assert_int_equal(c[8].p1, 0);
    assert_int_equal(c[8].p5, 2);
    check_jumps(r);
    compiled_free(r);
}

/* ---- when and repeat ---------------------------------------------------------------------- */

static void test_when_repeat(void **state)
{
    (void)state;
    compiled *r = compile_ok(NS_OPEN
                             "  <procedure name=\"R\" type=\"write\">\n"
                             "    <execute namespace=\"X\" procedure=\"Y\">\n"
                             "      <repeat source=\"data\" sourcePath=\"user/@retryCount\" ifNull=\"ignore\"/>\n"
                             "      <when source=\"data\" sourcePath=\"user[@status='new']\"/>\n"
                             "      <when source=\"procedureData\"/>\n"
                             "      <executeData><x/></executeData>\n"
                             "    </execute>\n"
                             "  </procedure>\n" NS_CLOSE);
    const provost_proc *p = proc_named(r, "R");
    /* 0 STEP, 1 WHEN, 2 WHEN, 3 REPEAT, 4 EXECDATA, 5 CALL, 6 AGAIN, 7 WHEN, 8 WHEN, 9 JUMP,
     * 10 ENDSTEP, 11 RET */
    expect_ops(r, p, OPS(STEP, WHEN, WHEN, REPEAT, EXECDATA, CALL, AGAIN, WHEN, WHEN, JUMP, ENDSTEP, RET));
    const provost_insn *c = code_of(r, p);
    assert_int_equal(c[0].p5, 10);
    assert_int_equal(c[1].p2, PROVOST_SCOPE_DATA);
    assert_string_equal(path_text(r, c[1].p4), "user[@status='new']");
    assert_int_equal(c[2].p2, PROVOST_SCOPE_PROCDATA);
    assert_int_equal(r->b->paths_v[c[2].p4].kind, PROVOST_PATH_SELF);
    assert_int_equal(c[3].p2, PROVOST_SCOPE_DATA);
    assert_int_equal(c[3].p3, PROVOST_IFNULL_IGNORE);
    assert_string_equal(path_text(r, c[3].p4), "user/@retryCount");
    assert_int_not_equal(c[4].p4, PROVOST_NONE);
    /* the conditions are re-evaluated, identically, before every repetition */
    assert_int_equal(c[7].p2, c[1].p2);
    assert_int_equal(c[7].p4, c[1].p4);
    assert_int_equal(c[8].p2, c[2].p2);
    assert_int_equal(c[8].p4, c[2].p4);
    assert_int_equal(c[9].p5, 4); /* JUMP back to EXECDATA */
    /* false conditions, zero count, no repetition left: the next combination */
    static const int to_next[] = {1, 2, 3, 6, 7, 8};
    for (size_t i = 0; i < sizeof to_next / sizeof *to_next; i++)
        assert_int_equal(c[to_next[i]].p5, 10);
    check_jumps(r);
    compiled_free(r);
}

static void test_when_in_loop_goes_to_next(void **state)
{
    (void)state;
    compiled *r = compile_ok(NS_OPEN
                             "  <procedure name=\"P\" type=\"read\">\n"
                             "    <execute namespace=\"X\" procedure=\"Y\">\n"
                             "      <forEach name=\"u\" root=\"data\" path=\"user\"/>\n"
                             "      <when source=\"u\" sourcePath=\"@active\"/>\n"
                             "    </execute>\n"
                             "  </procedure>\n" NS_CLOSE);
    const provost_proc *p = proc_named(r, "P");
    expect_ops(r, p, OPS(STEP, FOREACH, WHEN, EXECDATA, CALL, NEXT, ENDSTEP, RET));
    const provost_insn *c = code_of(r, p);
    assert_int_equal(c[2].p2, PROVOST_SCOPE_SLOT0);
    assert_int_equal(c[2].p5, 5); /* false: the next iteration */
    assert_int_equal(c[5].p5, 2);
    check_jumps(r);
    compiled_free(r);
}

/* ---- before/after ifNull skip ---------------------------------------------------------------- */

static void test_xform_skip_targets(void **state)
{
    (void)state;
    compiled *r = compile_ok(NS_OPEN
                             "  <procedure name=\"P\" type=\"read\">\n"
                             "    <execute namespace=\"X\" procedure=\"Y\">\n"
                             "      <forEach name=\"u\" root=\"data\" path=\"user\"/>\n"
                             "      <before source=\"u\" destination=\"executeData\" ifNull=\"skip\"/>\n"
                             "      <after source=\"executeData\" sourcePath=\"r\" destination=\"data\"\n"
                             "             ifNull=\"skip\" mode=\"merge\"/>\n"
                             "      <after source=\"executeData\" destination=\"data\" mode=\"replace\"\n"
                             "             destinationPath=\"out\"/>\n"
                             "    </execute>\n"
                             "    <execute namespace=\"X\" procedure=\"Y\">\n"
                             "      <repeat source=\"data\" sourcePath=\"n\"/>\n"
                             "      <before source=\"data\" sourcePath=\"a\" destination=\"executeData\" ifNull=\"skip\"/>\n"
                             "    </execute>\n"
                             "  </procedure>\n" NS_CLOSE);
    const provost_proc *p = proc_named(r, "P");
    /* 0 STEP, 1 FOREACH, 2 EXECDATA, 3 XFORM, 4 CALL, 5 XFORM, 6 XFORM, 7 NEXT, 8 ENDSTEP,
     * 9 STEP, 10 REPEAT, 11 EXECDATA, 12 XFORM, 13 CALL, 14 AGAIN, 15 JUMP, 16 ENDSTEP, 17 RET */
    expect_ops(r, p, OPS(STEP, FOREACH, EXECDATA, XFORM, CALL, XFORM, XFORM, NEXT, ENDSTEP,
                         STEP, REPEAT, EXECDATA, XFORM, CALL, AGAIN, JUMP, ENDSTEP, RET));
    const provost_insn *c = code_of(r, p);
    /* skipping an execution: on to the next one (the NEXT of the loop) */
    assert_int_equal(c[3].p5, 7);
    assert_int_equal(c[5].p5, 7);
    assert_int_equal(c[6].p5, 7);
    const provost_xform *b = &r->b->xforms_v[c[3].p4];
    assert_int_equal(b->dir, PROVOST_XFORM_BEFORE);
    assert_int_equal(b->ifnull, PROVOST_IFNULL_SKIP);
    assert_int_equal(b->source, PROVOST_SCOPE_SLOT0);
    const provost_xform *a1 = &r->b->xforms_v[c[5].p4];
    assert_int_equal(a1->dir, PROVOST_XFORM_AFTER);
    assert_int_equal(a1->mode, PROVOST_MODE_MERGE);
    assert_int_equal(a1->ifnull, PROVOST_IFNULL_SKIP);
    assert_string_equal(path_text(r, a1->source_path), "r");
    const provost_xform *a2 = &r->b->xforms_v[c[6].p4];
    assert_int_equal(a2->mode, PROVOST_MODE_REPLACE);
    assert_int_equal(a2->ifnull, PROVOST_IFNULL_FAIL);
    assert_string_equal(path_text(r, a2->dest_path), "out");
    assert_int_equal(a2->xsl, PROVOST_NONE);
    /* with a repeat: on to the next repetition (AGAIN) */
    assert_int_equal(c[12].p5, 14);
    assert_int_equal(c[14].p5, 16);
    assert_int_equal(c[15].p5, 11);
    check_jumps(r);
    compiled_free(r);
}

/* ---- try / catch ----------------------------------------------------------------------------- */

static void test_try_catch(void **state)
{
    (void)state;
    compiled *r = compile_ok(NS_OPEN
                             "  <procedure name=\"P\" type=\"write\">\n"
                             "    <try>\n"
                             "      <execute namespace=\"X\" procedure=\"A\"/>\n"
                             "    </try>\n"
                             "    <catch>\n"
                             "      <execute namespace=\"X\" procedure=\"B\"/>\n"
                             "    </catch>\n"
                             "    <execute namespace=\"X\" procedure=\"C\"/>\n"
                             "  </procedure>\n" NS_CLOSE);
    const provost_proc *p = proc_named(r, "P");
    /* 0 TRY, 1-4 step A, 5 ENDTRY, 6 CATCH, 7-10 step B, 11 ENDCATCH, 12-15 step C, 16 RET */
    expect_ops(r, p, OPS(TRY, STEP, EXECDATA, CALL, ENDSTEP, ENDTRY, CATCH, STEP, EXECDATA, CALL,
                         ENDSTEP, ENDCATCH, STEP, EXECDATA, CALL, ENDSTEP, RET));
    const provost_insn *c = code_of(r, p);
    assert_int_equal(c[0].p5, 6);  /* TRY -> CATCH */
    assert_int_equal(c[5].p5, 12); /* ENDTRY -> after ENDCATCH */
    assert_int_equal(c[0].line, 3);
    assert_int_equal(c[6].line, 6);
    /* the steps are numbered through the procedure */
    assert_int_equal(c[1].p4, 0);
    assert_int_equal(c[7].p4, 1);
    assert_int_equal(c[12].p4, 2);
    assert_string_equal(str(r, r->b->calls_v[c[9].p4].proc), "B");
    check_jumps(r);
    compiled_free(r);
}

/* The catch may be emitted just as the code array grows (instruction 16, 32, 64, ... of
 * the bundle): the TRY must still point at its CATCH, whatever the padding before it. */
static void test_try_catch_at_every_growth(void **state)
{
    (void)state;
    for (int pad = 0; pad < 40; pad++) {
        char src[16384];
        int n = snprintf(src, sizeof src, NS_OPEN "  <procedure name=\"P\" type=\"write\" access=\"public\">\n");
        for (int i = 0; i < pad; i++)
            n += snprintf(src + n, sizeof src - (size_t)n,
                          "    <execute namespace=\"X\" procedure=\"A\"><when source=\"data\" sourcePath=\"a\"/></execute>\n");
        snprintf(src + n, sizeof src - (size_t)n,
                 "    <try><execute namespace=\"X\" procedure=\"Fail\"/></try>\n"
                 "    <catch><execute namespace=\"X\" procedure=\"Echo\"/></catch>\n"
                 "  </procedure>\n" NS_CLOSE);
        compiled *r = compile_ok(src);
        const provost_proc *p = proc_named(r, "P");
        const provost_insn *c = code_of(r, p);
        uint32_t at_try = (uint32_t)pad * 5;
        assert_int_equal(c[at_try].op, TRY);
        if (c[at_try].p5 >= p->ncode || c[c[at_try].p5].op != CATCH)
            fail_msg("with %d steps before the try, TRY points at %u, not at its CATCH", pad, c[at_try].p5);
        assert_int_equal(c[at_try].p5, at_try + 6);
        check_jumps(r);
        compiled_free(r);
    }
}

static void test_nested_try_at_end(void **state)
{
    (void)state;
    compiled *r = compile_ok(NS_OPEN
                             "  <procedure name=\"P\" type=\"write\">\n"
                             "    <try>\n"
                             "      <try><execute namespace=\"X\" procedure=\"A\"/></try>\n"
                             "      <catch/>\n"
                             "    </try>\n"
                             "    <catch><execute namespace=\"X\" procedure=\"B\"/></catch>\n"
                             "  </procedure>\n" NS_CLOSE);
    const provost_proc *p = proc_named(r, "P");
    /* 0 TRY, 1 TRY, 2-5 A, 6 ENDTRY, 7 CATCH, 8 ENDCATCH, 9 ENDTRY, 10 CATCH, 11-14 B,
     * 15 ENDCATCH, 16 RET */
    expect_ops(r, p, OPS(TRY, TRY, STEP, EXECDATA, CALL, ENDSTEP, ENDTRY, CATCH, ENDCATCH, ENDTRY,
                         CATCH, STEP, EXECDATA, CALL, ENDSTEP, ENDCATCH, RET));
    const provost_insn *c = code_of(r, p);
    assert_int_equal(c[0].p5, 10);
    assert_int_equal(c[1].p5, 7);
    assert_int_equal(c[6].p5, 9);
    assert_int_equal(c[9].p5, 16); /* past the outer catch: the RET */
    check_jumps(r);
    compiled_free(r);
}

/* ---- select ------------------------------------------------------------------------------------ */

static void test_select_whencase(void **state)
{
    (void)state;
    compiled *r = compile_ok(NS_OPEN
                             "  <procedure name=\"Other\" type=\"read\">\n"
                             "    <select name=\"z\" source=\"data\"><where value=\"1\" case=\"one\"/></select>\n"
                             "    <execute namespace=\"X\" procedure=\"Y\"><when select=\"z\" case=\"one\"/></execute>\n"
                             "  </procedure>\n"
                             "  <procedure name=\"S\" type=\"read\">\n"
                             "    <select name=\"kind\" source=\"data\" sourcePath=\"user/@kind\"\n"
                             "            defaultCase=\"other\" ifNullCase=\"none\">\n"
                             "      <where value=\"a\" case=\"isA\"/>\n"
                             "      <where value=\"b\" case=\"isB\"/>\n"
                             "      <where value=\"c\" case=\"isA\"/>\n"
                             "    </select>\n"
                             "    <select name=\"second\" source=\"context\">\n"
                             "      <where value=\"x\" case=\"isX\"/>\n"
                             "    </select>\n"
                             "    <execute namespace=\"X\" procedure=\"Y\">\n"
                             "      <when select=\"kind\" case=\"isB\"/>\n"
                             "    </execute>\n"
                             "    <execute namespace=\"X\" procedure=\"Z\">\n"
                             "      <when select=\"second\" case=\"isX\"/>\n"
                             "      <when select=\"kind\" case=\"other\"/>\n"
                             "    </execute>\n"
                             "  </procedure>\n" NS_CLOSE);
    const provost_proc *p = proc_named(r, "S");
    expect_ops(r, p, OPS(SELECT, SELECT, STEP, WHENCASE, EXECDATA, CALL, ENDSTEP,
                         STEP, WHENCASE, WHENCASE, EXECDATA, CALL, ENDSTEP, RET));
    const provost_insn *c = code_of(r, p);
    assert_int_equal(p->nselects, 2);
    /* case numbers: in order of first appearance */
    assert_int_equal(p->ncases, 5);
    static const char *const names[] = {"other", "none", "isA", "isB", "isX"};
    for (unsigned k = 0; k < 5; k++)
        assert_string_equal(str(r, r->b->cases_v[p->cases + k]), names[k]);

    /* SELECT: select slot p2, select table entry p4 */
    assert_int_equal(c[0].p2, 0);
    assert_int_equal(c[1].p2, 1);
    const provost_select *s = &r->b->selects_v[c[0].p4];
    assert_string_equal(str(r, s->name), "kind");
    assert_int_equal(s->source, PROVOST_SCOPE_DATA);
    assert_string_equal(path_text(r, s->path), "user/@kind");
    assert_int_equal(s->def_case, 0);
    assert_int_equal(s->null_case, 1);
    assert_int_equal(s->nwhere, 3);
    assert_string_equal(str(r, r->b->wheres_v[s->first + 0].value), "a");
    assert_int_equal(r->b->wheres_v[s->first + 0].kase, 2);
    assert_int_equal(r->b->wheres_v[s->first + 1].kase, 3);
    assert_int_equal(r->b->wheres_v[s->first + 2].kase, 2);
    const provost_select *s2 = &r->b->selects_v[c[1].p4];
    assert_string_equal(str(r, s2->name), "second");
    assert_int_equal(s2->source, PROVOST_SCOPE_CONTEXT);
    assert_int_equal(s2->path, PROVOST_NONE);
    assert_int_equal(s2->def_case, PROVOST_NONE);

    /* WHENCASE select slot, case number; false -> the next combination (here ENDSTEP) */
    assert_int_equal(c[3].p2, 0);
    assert_int_equal(c[3].p4, 3);
    assert_int_equal(c[3].p5, 6);
    assert_int_equal(c[8].p2, 1);
    assert_int_equal(c[8].p4, 4);
    assert_int_equal(c[9].p2, 0);
    assert_int_equal(c[9].p4, 0);
    assert_int_equal(c[8].p5, 12);
    assert_int_equal(c[9].p5, 12);

    /* the other procedure numbers its own selects and cases from 0 */
    const provost_proc *o = proc_named(r, "Other");
    assert_int_equal(o->nselects, 1);
    assert_int_equal(o->ncases, 1);
    assert_string_equal(str(r, r->b->cases_v[o->cases]), "one");
    assert_int_equal(code_of(r, o)[2].op, WHENCASE);
    assert_int_equal(code_of(r, o)[2].p4, 0);
    check_jumps(r);
    compiled_free(r);
}

/* ---- queue and transform ------------------------------------------------------------------------ */

static void test_queue(void **state)
{
    (void)state;
    compiled *r = compile_ok(NS_OPEN
                             "  <procedure name=\"Q\" type=\"write\">\n"
                             "    <queue namespace=\"X\" procedure=\"Job\"/>\n"
                             "    <queue namespace=\"X\" procedure=\"Job\" queueSuspended=\"0\" trusted=\"2\"/>\n"
                             "  </procedure>\n" NS_CLOSE);
    const provost_proc *p = proc_named(r, "Q");
    expect_ops(r, p, OPS(STEP, EXECDATA, QUEUE, ENDSTEP, STEP, EXECDATA, QUEUE, ENDSTEP, RET));
    const provost_insn *c = code_of(r, p);
    assert_int_equal(c[0].p1, PROVOST_STEP_QUEUE);
    assert_int_equal(c[4].p1, PROVOST_STEP_QUEUE);
    const provost_callref *a = &r->b->calls_v[c[2].p4], *b = &r->b->calls_v[c[6].p4];
    assert_string_equal(str(r, a->proc), "Job");
    assert_int_equal(a->suspended, 1); /* the default */
    assert_int_equal(b->suspended, 0);
    assert_int_equal(b->trusted, 2);
    check_jumps(r);
    compiled_free(r);
}

static void test_transform_has_no_call(void **state)
{
    (void)state;
    compiled *r = compile_ok(NS_OPEN
                             "  <procedure name=\"T\" type=\"read\">\n"
                             "    <transform>\n"
                             "      <before source=\"data\" sourcePath=\"a\" destination=\"procedureData\"/>\n"
                             "      <after source=\"procedureData\" destination=\"data\" destinationPath=\"b/c\"/>\n"
                             "    </transform>\n"
                             "  </procedure>\n" NS_CLOSE);
    const provost_proc *p = proc_named(r, "T");
    expect_ops(r, p, OPS(STEP, EXECDATA, XFORM, XFORM, ENDSTEP, RET));
    const provost_insn *c = code_of(r, p);
    assert_int_equal(c[0].p1, PROVOST_STEP_TRANSFORM);
    assert_int_equal(r->b->ncalls, 0);
    assert_int_equal(r->b->xforms_v[c[2].p4].dir, PROVOST_XFORM_BEFORE);
    assert_int_equal(r->b->xforms_v[c[2].p4].destination, PROVOST_SCOPE_PROCDATA);
    assert_int_equal(r->b->xforms_v[c[3].p4].dir, PROVOST_XFORM_AFTER);
    const provost_path *dp = &r->b->paths_v[r->b->xforms_v[c[3].p4].dest_path];
    assert_int_equal(dp->kind, PROVOST_PATH_SIMPLE);
    assert_int_equal(dp->flags & PROVOST_PATH_CREATABLE, PROVOST_PATH_CREATABLE);
    check_jumps(r);
    compiled_free(r);
}

/* ---- procedures ---------------------------------------------------------------------------------- */

static void test_provider_procedures(void **state)
{
    (void)state;
    compiled *r = compile_ok(NS_OPEN
                             "  <procedure name=\"Prov\" type=\"twoPhase\" access=\"public\" auditEnabled=\"1\"\n"
                             "             saveDataForRollback=\"true\" description=\"by the provider\"/>\n"
                             "  <procedure name=\"Steps\" type=\"read\" perfEnabled=\"1\">\n"
                             "    <procedureData><x/></procedureData>\n"
                             "    <execute namespace=\"T\" procedure=\"prov\"/>\n"
                             "  </procedure>\n"
                             "  <procedure name=\"DataOnly\" type=\"read\"><procedureData/></procedure>\n"
                             NS_CLOSE);
    assert_int_equal(r->b->nprocs, 3);
    const provost_proc *p = proc_named(r, "Prov");
    assert_true(p->flags & PROVOST_PROC_PROVIDER);
    assert_true(p->flags & PROVOST_PROC_AUDIT);
    assert_true(p->flags & PROVOST_PROC_SAVEDATA);
    assert_false(p->flags & PROVOST_PROC_PERF);
    assert_int_equal(p->ncode, 0);
    assert_int_equal(p->type, PROVOST_TYPE_TWOPHASE);
    assert_int_equal(p->access, PROVOST_ACCESS_PUBLIC);
    assert_string_equal(str(r, p->description), "by the provider");
    assert_int_equal(p->line, 2);

    const provost_proc *s = proc_named(r, "Steps");
    assert_false(s->flags & PROVOST_PROC_PROVIDER);
    assert_true(s->flags & PROVOST_PROC_PERF);
    assert_int_equal(s->access, PROVOST_ACCESS_PRIVATE);
    assert_int_not_equal(s->procdata, PROVOST_NONE);
    assert_non_null(strstr(str(r, s->procdata), "<x/>"));
    expect_ops(r, s, OPS(STEP, EXECDATA, CALL, ENDSTEP, RET));
    /* the code of Steps follows Prov's (none) */
    assert_int_equal(s->code, 0);

    /* procedureData alone is not a step: still the provider's */
    const provost_proc *d = proc_named(r, "DataOnly");
    assert_true(d->flags & PROVOST_PROC_PROVIDER);
    assert_int_equal(d->ncode, 0);
    assert_int_equal(d->code, s->code + s->ncode);
    assert_string_equal(str(r, r->b->ns->provider), "prov");
    assert_int_equal(r->b->ns->kind, PROVOST_BUNDLE_NAMESPACE);
    assert_string_equal(str(r, r->b->ns->name), "T");
    check_jumps(r);
    compiled_free(r);
}

static void test_request_bundle(void **state)
{
    (void)state;
    compiled *r = compile_ok("<request>\n"
                             "  <data><user/></data>\n"
                             "  <procedure>\n"
                             "    <execute namespace=\"X\" procedure=\"Y\">\n"
                             "      <before source=\"data\" destination=\"executeData\"/>\n"
                             "    </execute>\n"
                             "  </procedure>\n"
                             "</request>\n");
    assert_int_equal(r->b->ns->kind, PROVOST_BUNDLE_REQUEST);
    assert_int_equal(r->b->ns->name, PROVOST_NONE);
    assert_int_equal(r->b->ns->provider, PROVOST_NONE);
    assert_int_equal(r->b->nprocs, 1);
    const provost_proc *p = &r->b->procs_v[0];
    assert_int_equal(p->name, PROVOST_NONE);
    assert_false(p->flags & PROVOST_PROC_PROVIDER);
    assert_int_equal(p->type, PROVOST_TYPE_WRITE);
    expect_ops(r, p, OPS(STEP, EXECDATA, XFORM, CALL, ENDSTEP, RET));
    assert_int_equal(p->line, 3);
    check_jumps(r);
    compiled_free(r);
}

static void test_request_without_steps(void **state)
{
    (void)state;
    compiled *r = compile_ok("<request><procedure/></request>");
    assert_int_equal(r->b->ns->kind, PROVOST_BUNDLE_REQUEST);
    const provost_proc *p = &r->b->procs_v[0];
    assert_int_equal(p->name, PROVOST_NONE);
    /* a request's procedure is never a provider's: it just returns */
    assert_false(p->flags & PROVOST_PROC_PROVIDER);
    expect_ops(r, p, OPS(RET));
    assert_int_equal(r->c.nwarnings, 1);
    check_jumps(r);
    compiled_free(r);
}

/* Every roundtrip document compiles to code whose jumps stay inside its procedures. */
static void test_jumps_in_roundtrip_documents(void **state)
{
    (void)state;
    int seen = 0;
    for (int w = 1; w <= 21; w++) {
        char path[512];
        for (int req = 0; req < 2; req++) {
            snprintf(path, sizeof path, "%s/tests/roundtrip/W%02d%s.xml", PROVOST_SOURCE_DIR, w,
                     req ? "-request" : "");
            FILE *f = fopen(path, "rb");
            if (!f)
                continue;
            fseek(f, 0, SEEK_END);
            long n = ftell(f);
            fseek(f, 0, SEEK_SET);
            char *buf = malloc((size_t)n + 1);
            assert_non_null(buf);
            assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
            buf[n] = 0;
            fclose(f);
            provost_compiled c;
            if (provost_compile(path, buf, (size_t)n, &c) == 0) {
                char err[256];
                pvm_bundle *b = pvm_bundle_load(c.bundle, c.size, 1, err, sizeof err);
                if (!b)
                    fail_msg("%s: %s", path, err);
                compiled r = {.c = c, .b = b};
                check_jumps(&r);
                pvm_bundle_close(b);
                seen++;
            }
            provost_compiled_free(&c);
            free(buf);
        }
    }
    assert_true(seen >= 10);
}

int main(void)
{
    provost_compiler_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_execute),
        cmocka_unit_test(test_execute_data_literal_and_step_numbers),
        cmocka_unit_test(test_nested_foreach),
        cmocka_unit_test(test_foreach_cartesian),
        cmocka_unit_test(test_when_repeat),
        cmocka_unit_test(test_when_in_loop_goes_to_next),
        cmocka_unit_test(test_xform_skip_targets),
        cmocka_unit_test(test_try_catch),
        cmocka_unit_test(test_try_catch_at_every_growth),
        cmocka_unit_test(test_nested_try_at_end),
        cmocka_unit_test(test_select_whencase),
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_transform_has_no_call),
        cmocka_unit_test(test_provider_procedures),
        cmocka_unit_test(test_request_bundle),
        cmocka_unit_test(test_request_without_steps),
        cmocka_unit_test(test_jumps_in_roundtrip_documents),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
