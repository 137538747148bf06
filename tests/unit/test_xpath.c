/*
 * test_xpath.c -- paths (compiler/xpath.c): simple paths decoded into steps, general
 * XPath kept as text, errors found at compile time, identical paths stored once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "compiler/internal.h"

/* ---- a compile context ---------------------------------------------------------------- */

static pvc_ctx *ctx_new(const char *src, size_t len)
{
    pvc_ctx *ctx = pvc_ctx_new("test.xml", src, len);
    assert_non_null(ctx);
    return ctx;
}


#define PARSE(ctx, text)                               \
    pvc_ctx *ctx = ctx_new((text), strlen(text));      \
    if (setjmp(ctx->oom))                              \
        fail_msg("out of memory in the compiler");     \
    ctx->doc = pvc_parse(ctx);                         \
    assert_non_null(ctx->doc)

/* The n-th (from 0) element named name, in document order. */
static xmlNodePtr nth(xmlNodePtr n, const char *name, int *k)
{
    for (; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0 && (*k)-- == 0)
            return n;
        xmlNodePtr r = nth(n->children, name, k);
        if (r)
            return r;
    }
    return NULL;
}

static xmlNodePtr elem_n(pvc_ctx *ctx, const char *name, int k)
{
    xmlNodePtr n = nth(ctx->doc->children, name, &k);
    if (!n)
        fail_msg("no element <%s> number %d", name, k);
    return n;
}

/* The path of the element's sourcePath attribute. */
static uint32_t path_of(pvc_ctx *ctx, xmlNodePtr n)
{
    return pvc_path(ctx, n, "sourcePath", pvc_attr(n, "sourcePath"));
}

static const char *str(pvc_ctx *ctx, uint32_t off)
{
    assert_int_not_equal(off, PROVOST_NONE);
    assert_true(off < ctx->strings.n);
    return ctx->strings.v + off;
}

static const provost_path *path(pvc_ctx *ctx, uint32_t i)
{
    assert_int_not_equal(i, PROVOST_NONE);
    assert_true(i < ctx->paths.n);
    return &ctx->paths.v[i];
}

static void expect_step(pvc_ctx *ctx, const provost_path *p, unsigned k, int kind, const char *name,
                        const char *attr, const char *value)
{
    assert_true(k < p->nsteps);
    const provost_pstep *s = &ctx->psteps.v[p->first + k];
    assert_int_equal(s->kind, kind);
    assert_string_equal(str(ctx, s->name), name);
    if (attr) {
        assert_string_equal(str(ctx, s->attr), attr);
        assert_string_equal(str(ctx, s->value), value);
    } else {
        assert_int_equal(s->attr, PROVOST_NONE);
        assert_int_equal(s->value, PROVOST_NONE);
    }
}

/* ---- simple paths ---------------------------------------------------------------------- */

static const char simple_doc[] =
    "<r>\n"
    "<e sourcePath=\"a\"/>\n"
    "<e sourcePath=\"a/b/c\"/>\n"
    "<e sourcePath=\"@x\"/>\n"
    "<e sourcePath=\"a/@x\"/>\n"
    "<e sourcePath=\"a[@t='v']\"/>\n"
    "<e sourcePath='a[@t=\"v w\"]/b'/>\n"
    "<e sourcePath=\"user-1.x/_y\"/>\n"
    "<e sourcePath=\"a[@t='x]y']\"/>\n"
    "</r>";

static void test_simple_child(void **state)
{
    (void)state;
    PARSE(ctx, simple_doc);
    const provost_path *p = path(ctx, path_of(ctx, elem_n(ctx, "e", 0)));
    assert_int_equal(p->kind, PROVOST_PATH_SIMPLE);
    assert_int_equal(p->nsteps, 1);
    assert_int_equal(p->flags, PROVOST_PATH_CREATABLE);
    assert_string_equal(str(ctx, p->text), "a");
    expect_step(ctx, p, 0, PROVOST_PSTEP_CHILD, "a", NULL, NULL);

    p = path(ctx, path_of(ctx, elem_n(ctx, "e", 1)));
    assert_int_equal(p->kind, PROVOST_PATH_SIMPLE);
    assert_int_equal(p->nsteps, 3);
    assert_int_equal(p->flags, PROVOST_PATH_CREATABLE);
    expect_step(ctx, p, 0, PROVOST_PSTEP_CHILD, "a", NULL, NULL);
    expect_step(ctx, p, 1, PROVOST_PSTEP_CHILD, "b", NULL, NULL);
    expect_step(ctx, p, 2, PROVOST_PSTEP_CHILD, "c", NULL, NULL);

    p = path(ctx, path_of(ctx, elem_n(ctx, "e", 6)));
    assert_int_equal(p->kind, PROVOST_PATH_SIMPLE);
    assert_int_equal(p->nsteps, 2);
    expect_step(ctx, p, 0, PROVOST_PSTEP_CHILD, "user-1.x", NULL, NULL);
    expect_step(ctx, p, 1, PROVOST_PSTEP_CHILD, "_y", NULL, NULL);
    assert_int_equal(ctx->nerrors, 0);
    pvc_ctx_free(ctx);
}

static void test_simple_attributes(void **state)
{
    (void)state;
    PARSE(ctx, simple_doc);
    const provost_path *p = path(ctx, path_of(ctx, elem_n(ctx, "e", 2)));
    assert_int_equal(p->kind, PROVOST_PATH_SIMPLE);
    assert_int_equal(p->nsteps, 1);
    assert_int_equal(p->flags & PROVOST_PATH_CREATABLE, 0);
    expect_step(ctx, p, 0, PROVOST_PSTEP_ATTR, "x", NULL, NULL);

    p = path(ctx, path_of(ctx, elem_n(ctx, "e", 3)));
    assert_int_equal(p->kind, PROVOST_PATH_SIMPLE);
    assert_int_equal(p->nsteps, 2);
    assert_int_equal(p->flags & PROVOST_PATH_CREATABLE, 0);
    expect_step(ctx, p, 0, PROVOST_PSTEP_CHILD, "a", NULL, NULL);
    expect_step(ctx, p, 1, PROVOST_PSTEP_ATTR, "x", NULL, NULL);
    assert_int_equal(ctx->nerrors, 0);
    pvc_ctx_free(ctx);
}

static void test_simple_predicates(void **state)
{
    (void)state;
    PARSE(ctx, simple_doc);
    const provost_path *p = path(ctx, path_of(ctx, elem_n(ctx, "e", 4)));
    assert_int_equal(p->kind, PROVOST_PATH_SIMPLE);
    assert_int_equal(p->nsteps, 1);
    assert_int_equal(p->flags & PROVOST_PATH_CREATABLE, 0);
    expect_step(ctx, p, 0, PROVOST_PSTEP_CHILDEQ, "a", "t", "v");

    p = path(ctx, path_of(ctx, elem_n(ctx, "e", 5)));
    assert_int_equal(p->kind, PROVOST_PATH_SIMPLE);
    assert_int_equal(p->nsteps, 2);
    assert_int_equal(p->flags & PROVOST_PATH_CREATABLE, 0);
    expect_step(ctx, p, 0, PROVOST_PSTEP_CHILDEQ, "a", "t", "v w");
    expect_step(ctx, p, 1, PROVOST_PSTEP_CHILD, "b", NULL, NULL);

    /* a ']' inside the quoted value belongs to the value */
    p = path(ctx, path_of(ctx, elem_n(ctx, "e", 7)));
    assert_int_equal(p->kind, PROVOST_PATH_SIMPLE);
    expect_step(ctx, p, 0, PROVOST_PSTEP_CHILDEQ, "a", "t", "x]y");
    assert_int_equal(ctx->nerrors, 0);
    pvc_ctx_free(ctx);
}

static void test_self(void **state)
{
    (void)state;
    PARSE(ctx, "<r><e sourcePath=\".\"/><e sourcePath=\"\"/><e/></r>");
    const provost_path *p = path(ctx, path_of(ctx, elem_n(ctx, "e", 0)));
    assert_int_equal(p->kind, PROVOST_PATH_SELF);
    assert_int_equal(p->nsteps, 0);
    assert_string_equal(str(ctx, p->text), ".");
    p = path(ctx, path_of(ctx, elem_n(ctx, "e", 1)));
    assert_int_equal(p->kind, PROVOST_PATH_SELF);
    assert_string_equal(str(ctx, p->text), "");
    /* no attribute at all: no path */
    assert_int_equal(path_of(ctx, elem_n(ctx, "e", 2)), PROVOST_NONE);
    assert_int_equal(ctx->psteps.n, 0);
    assert_int_equal(ctx->nerrors, 0);
    pvc_ctx_free(ctx);
}

/* ---- general XPath ---------------------------------------------------------------------- */

static void test_general_xpath(void **state)
{
    (void)state;
    static const char *const general[] = {
        "a//b", "count(a)", "a[1]", "/a", "a/..", "*", "a/text()", "a[@t = 'v']",
        "a[@t='v'][@u='w']", "a/@x/b", "@*", "a | b", "string-length(@x) > 2",
        "a[b]", "./a", "@x='1'", "a[contains(@x, 'y')]", "number(@n) + 1",
        "a[@x > 1 and @y < 2 or not(@z)]", "count(a) div 2", "a[position() mod 2 = 0]",
        "child::a/attribute::x", "a/node()", "a[p:b and p:c/@d = 'and(']", "p:*",
    };
    char src[4096];
    size_t n = (size_t)snprintf(src, sizeof src, "<r xmlns:p=\"urn:p\">");
    for (size_t i = 0; i < sizeof general / sizeof *general; i++) {
        xmlChar *esc = xmlEncodeSpecialChars(NULL, BAD_CAST general[i]);
        n += (size_t)snprintf(src + n, sizeof src - n, "<e sourcePath=\"%s\"/>", (const char *)esc);
        xmlFree(esc);
    }
    snprintf(src + n, sizeof src - n, "<e sourcePath=\"p:a/p:b\"/></r>");
    PARSE(ctx, src);
    for (size_t i = 0; i <= sizeof general / sizeof *general; i++) {
        xmlNodePtr e = elem_n(ctx, "e", (int)i);
        size_t steps = ctx->psteps.n;
        uint32_t k = path_of(ctx, e);
        if (k == PROVOST_NONE)
            fail_msg("\"%s\" rejected: %s", pvc_attr(e, "sourcePath"),
                     ctx->diags.n ? ctx->diags.v[ctx->diags.n - 1].message : "");
        const provost_path *p = path(ctx, k);
        if (p->kind != PROVOST_PATH_XPATH)
            fail_msg("\"%s\" has kind %d, expected XPATH", pvc_attr(e, "sourcePath"), p->kind);
        assert_string_equal(str(ctx, p->text), pvc_attr(e, "sourcePath"));
        assert_int_equal(p->nsteps, 0);
        assert_int_equal(p->first, PROVOST_NONE);
        assert_int_equal(ctx->psteps.n, steps); /* nothing left behind by a failed decoding */
        /* the prefixes in scope go with it */
        assert_string_equal(str(ctx, p->nsdecl), "p urn:p");
    }
    assert_int_equal(ctx->nerrors, 0);
    pvc_ctx_free(ctx);
}

static void test_prefixed_name_is_xpath(void **state)
{
    (void)state;
    PARSE(ctx, "<r xmlns:p=\"urn:p\" xmlns:q=\"urn:q\"><e sourcePath=\"p:a\"/><e sourcePath=\"a\"/></r>");
    const provost_path *p = path(ctx, path_of(ctx, elem_n(ctx, "e", 0)));
    assert_int_equal(p->kind, PROVOST_PATH_XPATH);
    assert_non_null(strstr(str(ctx, p->nsdecl), "p urn:p"));
    assert_non_null(strstr(str(ctx, p->nsdecl), "q urn:q"));
    /* an unprefixed name stays simple even with prefixes in scope */
    p = path(ctx, path_of(ctx, elem_n(ctx, "e", 1)));
    assert_int_equal(p->kind, PROVOST_PATH_SIMPLE);
    assert_int_equal(ctx->nerrors, 0);
    pvc_ctx_free(ctx);
}

/* ---- errors ------------------------------------------------------------------------------ */

static void expect_error(const char *xpath, const char *says)
{
    char src[512];
    xmlChar *esc = xmlEncodeSpecialChars(NULL, BAD_CAST xpath);
    snprintf(src, sizeof src, "<r xmlns:p=\"urn:p\">\n  <e name=\"x\"\n     sourcePath=\"%s\"/>\n</r>",
             (const char *)esc);
    xmlFree(esc);
    PARSE(ctx, src);
    size_t paths = ctx->paths.n, steps = ctx->psteps.n;
    uint32_t k = path_of(ctx, elem_n(ctx, "e", 0));
    if (k != PROVOST_NONE)
        fail_msg("\"%s\" accepted", xpath);
    assert_int_equal(ctx->paths.n, paths);
    assert_int_equal(ctx->psteps.n, steps);
    assert_int_equal(ctx->nerrors, 1);
    const provost_diag *d = &ctx->diags.v[0];
    assert_int_equal(d->severity, PROVOST_ERROR);
    assert_int_equal(d->line, 3); /* at the attribute */
    assert_int_equal(d->col, 6);
    assert_non_null(strstr(d->message, "is not a valid XPath 1.0 expression"));
    assert_non_null(strstr(d->message, "sourcePath=\""));
    if (says && !strstr(d->message, says))
        fail_msg("\"%s\" does not say \"%s\"", d->message, says);
    pvc_ctx_free(ctx);
}

static void test_syntax_errors(void **state)
{
    (void)state;
    expect_error("a[", NULL);
    expect_error("a/", NULL);
    expect_error("a[@t='v'", NULL);
    expect_error("a b", NULL);
    expect_error("count(", NULL);
    expect_error("count(a, b)", NULL); /* wrong number of arguments */
}

static void test_unknown_function(void **state)
{
    (void)state;
    expect_error("nosuch(a)", "nosuch(a)");
    expect_error("count(frobnicate(@x))", NULL);
    expect_error("string(p:f())", NULL); /* a declared prefix, but no such function */
    /* inside predicates, which the trial run on an empty document never evaluates */
    expect_error("a[frobnicate(@x)]", "frobnicate");
    expect_error("user[starts-width(@name, 'svc-')]", "starts-width");
}

static void test_undeclared_prefix(void **state)
{
    (void)state;
    expect_error("q:a", "q:a");
    expect_error("a/q:b", NULL);
    expect_error("a[q:b]", "'q'");
}

static void test_unknown_variable(void **state)
{
    (void)state;
    expect_error("$v", NULL);
    expect_error("concat('a', $y)", NULL);
}

/* libxml2 prints some evaluation errors on stderr: none of it leaks out of the compiler */
static void test_errors_stay_quiet(void **state)
{
    (void)state;
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(fileno(stderr));
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), fileno(stderr)) >= 0);
    PARSE(ctx, "<r><e sourcePath=\"nosuch(a)\"/><e sourcePath=\"p:q\"/><e sourcePath=\"$v\"/></r>");
    for (int i = 0; i < 3; i++)
        assert_int_equal(path_of(ctx, elem_n(ctx, "e", i)), PROVOST_NONE);
    fflush(stderr);
    dup2(saved, fileno(stderr));
    close(saved);
    assert_int_equal(ctx->nerrors, 3);
    fseek(tmp, 0, SEEK_END);
    long size = ftell(tmp);
    fclose(tmp);
    assert_int_equal(size, 0);
    pvc_ctx_free(ctx);
}

/* ---- the pool holds each path once ------------------------------------------------------ */

static void test_dedup(void **state)
{
    (void)state;
    PARSE(ctx, "<r>"
               "<e sourcePath=\"a/b\"/><e sourcePath=\"a/b\"/>"
               "<e sourcePath=\"a//b\"/><e sourcePath=\"a//b\"/>"
               "<e sourcePath=\"a[@t='v']/@x\"/><e sourcePath=\"a[@t='v']/@x\"/>"
               "<e sourcePath=\"a/c\"/>"
               "<s xmlns:p=\"urn:1\"><e sourcePath=\"p:a\"/><e sourcePath=\"p:a\"/></s>"
               "<s xmlns:p=\"urn:2\"><e sourcePath=\"p:a\"/></s>"
               "</r>");
    uint32_t ab = path_of(ctx, elem_n(ctx, "e", 0));
    size_t steps = ctx->psteps.n, paths = ctx->paths.n;
    assert_int_equal(steps, 2);
    assert_int_equal(path_of(ctx, elem_n(ctx, "e", 1)), ab);
    assert_int_equal(ctx->psteps.n, steps); /* the second decoding was dropped */
    assert_int_equal(ctx->paths.n, paths);

    uint32_t x1 = path_of(ctx, elem_n(ctx, "e", 2));
    assert_int_equal(path_of(ctx, elem_n(ctx, "e", 3)), x1);

    uint32_t c1 = path_of(ctx, elem_n(ctx, "e", 4));
    steps = ctx->psteps.n;
    assert_int_equal(path_of(ctx, elem_n(ctx, "e", 5)), c1);
    assert_int_equal(ctx->psteps.n, steps);
    /* the steps of the kept copy are intact */
    expect_step(ctx, path(ctx, c1), 0, PROVOST_PSTEP_CHILDEQ, "a", "t", "v");
    expect_step(ctx, path(ctx, c1), 1, PROVOST_PSTEP_ATTR, "x", NULL, NULL);

    uint32_t ac = path_of(ctx, elem_n(ctx, "e", 6));
    assert_int_not_equal(ac, ab);

    /* the same text under different prefix bindings is a different path */
    uint32_t p1 = path_of(ctx, elem_n(ctx, "e", 7));
    assert_int_equal(path_of(ctx, elem_n(ctx, "e", 8)), p1);
    uint32_t p2 = path_of(ctx, elem_n(ctx, "e", 9));
    assert_int_not_equal(p2, p1);

    assert_int_equal(ctx->paths.n, 6);
    /* many distinct paths: the table grows and still finds the first ones */
    char buf[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(buf, sizeof buf, "n%d/m", i);
        pvc_path(ctx, elem_n(ctx, "r", 0), "sourcePath", buf);
    }
    assert_int_equal(ctx->paths.n, 2006);
    assert_int_equal(path_of(ctx, elem_n(ctx, "e", 0)), ab);
    assert_int_equal(path_of(ctx, elem_n(ctx, "e", 2)), x1);
    assert_int_equal(pvc_path(ctx, elem_n(ctx, "r", 0), "sourcePath", "n77/m"), 6 + 77);
    assert_int_equal(ctx->nerrors, 0);
    pvc_ctx_free(ctx);
}

int main(void)
{
    xmlInitParser();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_child),
        cmocka_unit_test(test_simple_attributes),
        cmocka_unit_test(test_simple_predicates),
        cmocka_unit_test(test_self),
        cmocka_unit_test(test_general_xpath),
        cmocka_unit_test(test_prefixed_name_is_xpath),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_unknown_function),
        cmocka_unit_test(test_undeclared_prefix),
        cmocka_unit_test(test_unknown_variable),
        cmocka_unit_test(test_errors_stay_quiet),
        cmocka_unit_test(test_dedup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
