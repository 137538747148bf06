/*
 * test_pool.c -- the constant pools and the code builder (compiler/pool.c, emit.c): interned
 * strings, literal XML fragments that parse back on their own, instructions numbered
 * within their procedure.
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
#include <libxml/xmlerror.h>

#include "compiler/internal.h"

#if LIBXML_VERSION >= 21200
#define PV_XML_ERROR const xmlError
#else
#define PV_XML_ERROR xmlError
#endif

/* ---- a compile context ---------------------------------------------------------------- */

static pvc_ctx *ctx_new(const char *src, size_t len)
{
    pvc_ctx *ctx = pvc_ctx_new("test.xml", src, len);
    assert_non_null(ctx);
    return ctx;
}


#define CTX(ctx, text)                                 \
    pvc_ctx *ctx = ctx_new((text), strlen(text));      \
    if (setjmp(ctx->oom))                              \
        fail_msg("out of memory in the compiler")

#define PARSE(ctx, text)                               \
    CTX(ctx, text);                                    \
    ctx->doc = pvc_parse(ctx);                         \
    assert_non_null(ctx->doc)

static xmlNodePtr find(xmlNodePtr n, const char *name)
{
    for (; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
            return n;
        xmlNodePtr r = find(n->children, name);
        if (r)
            return r;
    }
    return NULL;
}

static xmlNodePtr elem(xmlDocPtr doc, const char *name)
{
    xmlNodePtr n = find(doc->children, name);
    if (!n)
        fail_msg("no element <%s>", name);
    return n;
}

static const char *pool_str(pvc_ctx *ctx, uint32_t off)
{
    assert_int_not_equal(off, PROVOST_NONE);
    assert_true(off < ctx->strings.n);
    return ctx->strings.v + off;
}

/* ---- interned strings ------------------------------------------------------------------- */

static void test_intern_same_and_distinct(void **state)
{
    (void)state;
    CTX(ctx, "");
    uint32_t a = pvc_str(ctx, "abc");
    uint32_t b = pvc_str(ctx, "abd");
    uint32_t c = pvc_str(ctx, "ab");
    uint32_t d = pvc_str(ctx, "abcd");
    uint32_t e = pvc_str(ctx, "");
    uint32_t f = pvc_str(ctx, "ABC");
    assert_int_not_equal(a, b);
    assert_int_not_equal(a, c);
    assert_int_not_equal(a, d);
    assert_int_not_equal(a, e);
    assert_int_not_equal(a, f);
    assert_int_not_equal(c, e);
    assert_int_equal(pvc_str(ctx, "abc"), a);
    assert_int_equal(pvc_str(ctx, "ab"), c);
    assert_int_equal(pvc_str(ctx, ""), e);
    assert_int_equal(pvc_str(ctx, "abcd"), d);
    /* a counted prefix of a longer text is the same string */
    assert_int_equal(pvc_strn(ctx, "abcdef", 3), a);
    assert_int_equal(pvc_strn(ctx, "abx", 2), c);
    assert_int_equal(pvc_strn(ctx, "xyz", 0), e);
    assert_string_equal(pool_str(ctx, a), "abc");
    assert_string_equal(pool_str(ctx, d), "abcd");
    assert_string_equal(pool_str(ctx, e), "");
    assert_int_equal(ctx->nstrings, 6);
    /* NULL is "no string" */
    assert_int_equal(pvc_str(ctx, NULL), PROVOST_NONE);
    assert_int_equal(pvc_strn(ctx, NULL, 4), PROVOST_NONE);
    assert_int_equal(ctx->nstrings, 6);
    pvc_ctx_free(ctx);
}

static void test_intern_survives_rehash(void **state)
{
    (void)state;
    enum { N = 100000 };
    CTX(ctx, "");
    uint32_t *off = malloc(N * sizeof *off);
    assert_non_null(off);
    char buf[32];
    for (int i = 0; i < N; i++) {
        snprintf(buf, sizeof buf, "s%d", i);
        off[i] = pvc_str(ctx, buf);
        assert_int_not_equal(off[i], PROVOST_NONE);
    }
    assert_int_equal(ctx->nstrings, N);
    assert_true(ctx->strhash.cap >= 2 * N); /* grown several times */
    size_t used = ctx->strings.n;
    for (int i = 0; i < N; i++) {
        snprintf(buf, sizeof buf, "s%d", i);
        if (pvc_str(ctx, buf) != off[i])
            fail_msg("\"%s\" re-interned at a new offset", buf);
        if (strcmp(ctx->strings.v + off[i], buf) != 0)
            fail_msg("offset of \"%s\" holds \"%s\"", buf, ctx->strings.v + off[i]);
    }
    /* looking up did not add anything */
    assert_int_equal(ctx->strings.n, used);
    assert_int_equal(ctx->nstrings, N);
    /* all offsets distinct: they are increasing in insertion order */
    for (int i = 1; i < N; i++)
        assert_true(off[i] > off[i - 1]);
    free(off);
    pvc_ctx_free(ctx);
}

/* ---- literal XML fragments ------------------------------------------------------------- */

typedef struct counts {
    int errors;
} counts;

static void count_error(void *u, PV_XML_ERROR *err)
{
    counts *c = u;
    if (err && err->level >= XML_ERR_WARNING)
        c->errors++;
}

/* Parses a literal on its own, failing on any error or warning (namespaces included). */
static xmlDocPtr reparse(const char *text)
{
    counts c = {0};
    xmlSetStructuredErrorFunc(&c, count_error);
    xmlDocPtr d = xmlReadMemory(text, (int)strlen(text), "literal", NULL, XML_PARSE_NONET);
    xmlSetStructuredErrorFunc(NULL, NULL);
    if (!d || c.errors)
        fail_msg("the literal does not parse on its own: %s", text);
    return d;
}

static const char *ns_of(xmlNodePtr n)
{
    return n->ns && n->ns->href ? (const char *)n->ns->href : "";
}

static void test_literal_namespaces(void **state)
{
    (void)state;
    PARSE(ctx, "<r xmlns:a=\"urn:a\" xmlns=\"urn:d\" xmlns:b=\"urn:b\" xmlns:unused=\"urn:u\">"
               "<mid><a:x y=\"1\" b:z=\"2\"><a:child/><plain>t&amp;u</plain><!--c--></a:x></mid></r>");
    uint32_t off = pvc_literal(ctx, elem(ctx->doc, "x"));
    const char *text = pool_str(ctx, off);
    assert_null(strstr(text, "<?xml")); /* a fragment, without a declaration */
    xmlDocPtr d = reparse(text);
    xmlNodePtr x = xmlDocGetRootElement(d);
    assert_string_equal((const char *)x->name, "x");
    assert_string_equal(ns_of(x), "urn:a");
    assert_string_equal(ns_of(elem(d, "child")), "urn:a");
    assert_string_equal(ns_of(elem(d, "plain")), "urn:d");
    xmlChar *t = xmlNodeGetContent(elem(d, "plain"));
    assert_string_equal((const char *)t, "t&u");
    xmlFree(t);
    xmlChar *z = xmlGetNsProp(x, BAD_CAST "z", BAD_CAST "urn:b");
    assert_non_null(z);
    assert_string_equal((const char *)z, "2");
    xmlFree(z);
    xmlChar *y = xmlGetNoNsProp(x, BAD_CAST "y");
    assert_string_equal((const char *)y, "1");
    xmlFree(y);
    /* the comment is kept */
    assert_non_null(strstr(text, "<!--c-->"));
    xmlFreeDoc(d);
    /* the same element again: the same offset */
    assert_int_equal(pvc_literal(ctx, elem(ctx->doc, "x")), off);
    pvc_ctx_free(ctx);
}

static void test_literal_mpf_default_namespace(void **state)
{
    (void)state;
    /* in a file whose default namespace is MPF's, literal data is in no namespace */
    PARSE(ctx, "<namespace xmlns=\"http://maps/specs/prov.xml\" xmlns:o=\"urn:o\">"
               "<executeData><user n=\"1\"/><group><member/><o:ext/><member/></group></executeData>"
               "</namespace>");
    const char *text = pool_str(ctx, pvc_literal(ctx, elem(ctx->doc, "executeData")));
    assert_null(strstr(text, "maps/specs"));
    xmlDocPtr d = reparse(text);
    assert_string_equal(ns_of(xmlDocGetRootElement(d)), "");
    assert_string_equal(ns_of(elem(d, "user")), "");
    assert_string_equal(ns_of(elem(d, "group")), "");
    assert_string_equal(ns_of(elem(d, "ext")), "urn:o");
    for (xmlNodePtr m = elem(d, "group")->children; m; m = m->next)
        if (strcmp((const char *)m->name, "member") == 0)
            assert_string_equal(ns_of(m), "");
    xmlFreeDoc(d);
    /* the source document itself is unchanged */
    assert_string_equal(ns_of(elem(ctx->doc, "group")), "http://maps/specs/prov.xml");
    pvc_ctx_free(ctx);
}

static void test_literal_mpf_declared_on_literal(void **state)
{
    (void)state;
    /* the MPF default declared on the literal element itself, and a prefixed MPF root */
    PARSE(ctx, "<m:namespace xmlns:m=\"https://maps/specs/prov.xml\">"
               "<executeData xmlns=\"http://maps/specs/prov.xml\"><a><b/></a><c/></executeData>"
               "<m:procedureData><d/></m:procedureData></m:namespace>");
    const char *text = pool_str(ctx, pvc_literal(ctx, elem(ctx->doc, "executeData")));
    xmlDocPtr d = reparse(text);
    assert_string_equal(ns_of(xmlDocGetRootElement(d)), "");
    assert_string_equal(ns_of(elem(d, "a")), "");
    assert_string_equal(ns_of(elem(d, "b")), "");
    assert_string_equal(ns_of(elem(d, "c")), "");
    xmlFreeDoc(d);
    text = pool_str(ctx, pvc_literal(ctx, elem(ctx->doc, "procedureData")));
    d = reparse(text);
    assert_string_equal(ns_of(xmlDocGetRootElement(d)), "");
    assert_string_equal(ns_of(elem(d, "d")), "");
    xmlFreeDoc(d);
    pvc_ctx_free(ctx);
}

/* ---- the code builder ------------------------------------------------------------------ */

static void test_emit(void **state)
{
    (void)state;
    PARSE(ctx, "<a>\n\n  <b/>\n</a>");
    /* a procedure whose code starts after 3 instructions of an earlier one */
    for (int i = 0; i < 3; i++)
        pvc_emit(ctx, NULL, PROVOST_OP_RET, 0, 0, 0, 0, 0);
    ctx->proc_code = 3;
    assert_int_equal(pvc_pc(ctx), 0);
    uint32_t pc = pvc_emit(ctx, elem(ctx->doc, "b"), PROVOST_OP_FOREACH, 1, 2, 3, 44, 55);
    assert_int_equal(pc, 0);
    assert_int_equal(pvc_pc(ctx), 1);
    assert_int_equal(pvc_emit(ctx, NULL, PROVOST_OP_JUMP, 0, 0, 0, 0, 0), 1);
    assert_int_equal(ctx->code.n, 5);
    provost_insn *in = pvc_insn(ctx, 0);
    assert_ptr_equal(in, &ctx->code.v[3]);
    assert_int_equal(in->op, PROVOST_OP_FOREACH);
    assert_int_equal(in->p1, 1);
    assert_int_equal(in->p2, 2);
    assert_int_equal(in->p3, 3);
    assert_int_equal(in->p4, 44);
    assert_int_equal(in->p5, 55);
    assert_int_equal(in->line, 3); /* the line of <b> */
    pvc_insn(ctx, 1)->p5 = 7;
    assert_int_equal(ctx->code.v[4].p5, 7);
    pvc_ctx_free(ctx);
}

int main(void)
{
    xmlInitParser();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intern_same_and_distinct),
        cmocka_unit_test(test_intern_survives_rehash),
        cmocka_unit_test(test_literal_namespaces),
        cmocka_unit_test(test_literal_mpf_default_namespace),
        cmocka_unit_test(test_literal_mpf_declared_on_literal),
        cmocka_unit_test(test_emit),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
