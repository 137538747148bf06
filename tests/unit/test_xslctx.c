/*
 * test_xslctx.c -- transform contexts used again (vm/xslctx.c): every stylesheet of a
 * corpus that exercises what a context keeps between transforms (key tables, global
 * variables and their tree fragments, positional patterns' caches, generate-id's counter,
 * text coalescing, stripped space, EXSLT functions and their module data, modes, sorting,
 * numbering), applied to a sequence of different inputs with one context that goes back
 * to the pool after each, gives byte for byte what a new context gives (libxslt's own
 * xsltApplyStylesheet); the context is indeed the same one; a failed transform's context
 * is not kept; one whose dictionary grew is not kept; several threads share a pool.  The
 * same comparison runs over random inputs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libexslt/exslt.h>
#include <libxml/parser.h>
#include <libxslt/transform.h>
#include <libxslt/xsltutils.h>

#include "vm/vm.h"

#define XSL_OPEN                                                                                            \
    "<xsl:stylesheet version='1.0' xmlns:xsl='http://www.w3.org/1999/XSL/Transform' "                       \
    "xmlns:func='http://exslt.org/functions' xmlns:str='http://exslt.org/strings' "                         \
    "xmlns:exsl='http://exslt.org/common' xmlns:my='urn:my' extension-element-prefixes='func exsl'>"
#define XSL(body) XSL_OPEN body "</xsl:stylesheet>"

static const char *const corpus[] = {
    /* W1's templates */
    XSL("<xsl:template match=\"organization[@type='primary']\"><primaryOrg><xsl:value-of select='@name'/></primaryOrg></xsl:template>"
        "<xsl:template match=\"organization[@type='secondary']\"><secondaryOrg><xsl:value-of select='@name'/></secondaryOrg></xsl:template>"),
    /* key tables, per input document */
    XSL("<xsl:key name='k' match='i' use='@g'/>"
        "<xsl:template match='/'><r a='{count(key(\"k\",\"a\"))}' b='{count(key(\"k\",\"b\"))}'>"
        "<xsl:for-each select='key(\"k\",\"a\")'><xsl:value-of select='.'/></xsl:for-each></r></xsl:template>"),
    /* global variables: a node-set of the input and a tree fragment */
    XSL("<xsl:variable name='all' select='//i'/>"
        "<xsl:variable name='rtf'><x n='{count(//i)}'><xsl:copy-of select='//i[1]'/></x></xsl:variable>"
        "<xsl:param name='p' select='concat(\"p\", count(//*))'/>"
        "<xsl:template match='/'><r n='{count($all)}' first='{$all[1]}' p='{$p}'><xsl:copy-of select='$rtf'/>"
        "<xsl:value-of select='count(exsl:node-set($rtf)//i)'/></r></xsl:template>"),
    /* positional patterns (their per-context cache names the last document) and numbering */
    XSL("<xsl:template match='i[2]'><second><xsl:number/>:<xsl:value-of select='.'/></second></xsl:template>"
        "<xsl:template match='i[last()]'><last><xsl:number level='any' count='i|j'/></last></xsl:template>"
        "<xsl:template match='i'><i><xsl:number format='a'/></i></xsl:template>"),
    /* generate-id: the same ids as from a new context */
    XSL("<xsl:template match='/'><r first='{generate-id(//i[1])}' root='{generate-id(/*)}' "
        "same='{generate-id(//i[1]) = generate-id(//i[1])}'/></xsl:template>"),
    /* adjacent text (coalesced into one node by libxslt) */
    XSL("<xsl:template match='i'><xsl:value-of select='@g'/><xsl:text>-</xsl:text><xsl:value-of select='.'/>"
        "<xsl:text>;</xsl:text></xsl:template>"),
    /* stripped space */
    XSL("<xsl:strip-space elements='*'/><xsl:template match='/'><r><xsl:copy-of select='/*'/></r></xsl:template>"),
    /* EXSLT: a user function (module data per context) and a string function */
    XSL("<func:function name='my:twice'><xsl:param name='s'/><func:result select='concat($s, $s)'/></func:function>"
        "<xsl:template match='i'><t><xsl:value-of select='my:twice(string(.))'/>"
        "<xsl:for-each select='str:tokenize(@g, \"-\")'>[<xsl:value-of select='.'/>]</xsl:for-each></t></xsl:template>"),
    /* modes, sorting, copy of the whole input */
    XSL("<xsl:template match='/'><r><xsl:apply-templates select='//i' mode='m'><xsl:sort select='.' order='descending'/>"
        "</xsl:apply-templates><xsl:copy-of select='.'/></r></xsl:template>"
        "<xsl:template match='i' mode='m'><m p='{position()}'><xsl:value-of select='.'/></m></xsl:template>"),
    /* recursion with local variables and parameters */
    XSL("<xsl:template match='/'><xsl:call-template name='n'><xsl:with-param name='k' select='count(//i) + 3'/></xsl:call-template></xsl:template>"
        "<xsl:template name='n'><xsl:param name='k'/><xsl:variable name='v'><v><xsl:value-of select='$k'/></v></xsl:variable>"
        "<xsl:copy-of select='$v'/><xsl:if test='$k &gt; 0'><xsl:call-template name='n'><xsl:with-param name='k' select='$k - 1'/>"
        "</xsl:call-template></xsl:if></xsl:template>"),
};

static const char *const inputs[] = {
    ("<organizations><organization name='tailspintoys.com' type='primary'><user name='joe'/></organization>"
     "<organization name='fourthcoffee.com' type='secondary'/></organizations>"),
    "<d>\n  <i g='a'>one</i>\n  <i g='b-c'>two</i>\n  <j/>\n  <i g='a'>three</i>\n</d>",
    "<e><i g='b'>x</i><k><i g='a-b-c'>y</i></k></e>",
    "<d><i g='a'>alpha</i></d>",
};

static xsltStylesheetPtr parse_xsl(const char *text)
{
    xmlDocPtr d = xmlReadMemory(text, (int)strlen(text), "test.xsl", NULL, XML_PARSE_NONET);
    assert_non_null(d);
    xsltStylesheetPtr s = xsltParseStylesheetDoc(d);
    assert_non_null(s);
    return s;
}

static xmlDocPtr parse(const char *text)
{
    xmlDocPtr d = xmlReadMemory(text, (int)strlen(text), "in.xml", NULL, XML_PARSE_NONET);
    assert_non_null(d);
    return d;
}

static char *serialise(xmlDocPtr out, xsltStylesheetPtr style)
{
    xmlChar *text = NULL;
    int len = 0;
    assert_int_equal(xsltSaveResultToString(&text, &len, out, style), 0);
    char *s = strdup(text ? (const char *)text : "");
    xmlFree(text);
    return s;
}

/* What a new context gives: libxslt alone. */
static char *fresh(xsltStylesheetPtr style, const char *input)
{
    xmlDocPtr in = parse(input);
    xmlDocPtr out = xsltApplyStylesheet(style, in, NULL);
    assert_non_null(out);
    char *s = serialise(out, style);
    xmlFreeDoc(out);
    xmlFreeDoc(in);
    return s;
}

/* One transform the way the engine does it: a context from the pool, given back after. */
static char *pooled(pvm_xslpool *pool, xsltStylesheetPtr style, const char *input, xsltTransformContextPtr *used,
                    bool *kept)
{
    xmlDocPtr in = parse(input);
    xsltTransformContextPtr c = pvm_xslctx_take(pool, 0, style, in);
    assert_non_null(c);
    *used = c;
    xmlDocPtr out = xsltApplyStylesheetUser(style, in, NULL, NULL, NULL, c);
    assert_non_null(out);
    assert_int_equal(c->state, XSLT_STATE_OK);
    c = pvm_xslctx_unbind(c);
    *kept = c != NULL;
    xmlFreeDoc(in);
    char *s = serialise(out, style);
    xmlFreeDoc(out);
    pvm_xslctx_give(pool, 0, c);
    return s;
}

static void test_same_results_as_a_new_context(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof corpus / sizeof *corpus; k++) {
        xsltStylesheetPtr style = parse_xsl(corpus[k]);
        pvm_xslpool *pool = pvm_xslpool_new(1);
        assert_non_null(pool);
        xsltTransformContextPtr first = NULL;
        size_t reused = 0;
        for (int round = 0; round < 3; round++)
            for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
                char *want = fresh(style, inputs[i]);
                xsltTransformContextPtr used = NULL;
                bool kept = false;
                char *got = pooled(pool, style, inputs[i], &used, &kept);
                if (strcmp(want, got) != 0)
                    fail_msg("stylesheet %zu, input %zu, round %d:\nnew context: %s\nreused:      %s", k, i, round,
                             want, got);
                assert_true(kept);
                if (!first)
                    first = used;
                else if (used == first)
                    reused++;
                free(want);
                free(got);
            }
        /* the one context served every transform after the first */
        assert_int_equal(reused, 3 * (sizeof inputs / sizeof *inputs) - 1);
        pvm_xslpool_free(pool);
        xsltFreeStylesheet(style);
    }
}

/* Random trees of the names, attributes and text the corpus looks at (a fixed seed:
 * the same inputs every run). */
static uint32_t rnd_state = 12345;
static uint32_t rnd(uint32_t n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 16) % n;
}

static void random_tree(char *buf, size_t cap, size_t *n, int depth)
{
    static const char *const names[] = {"i", "j", "k", "organization", "user", "d"};
    static const char *const gs[] = {"a", "b", "a-b", "b-c-a", ""};
    static const char *const words[] = {"x", "alpha", "two words", "&amp;", "\n  ", "z"};
    const char *name = names[rnd(6)];
    *n += (size_t)snprintf(buf + *n, cap - *n, "<%s", name);
    if (rnd(2))
        *n += (size_t)snprintf(buf + *n, cap - *n, " g='%s'", gs[rnd(5)]);
    if (rnd(2))
        *n += (size_t)snprintf(buf + *n, cap - *n, " type='%s' name='n%u'", rnd(2) ? "primary" : "secondary", rnd(100));
    *n += (size_t)snprintf(buf + *n, cap - *n, ">");
    for (uint32_t c = depth < 3 ? rnd(5) : 0; c > 0; c--) {
        if (rnd(3) == 0)
            *n += (size_t)snprintf(buf + *n, cap - *n, "%s", words[rnd(6)]);
        else
            random_tree(buf, cap, n, depth + 1);
    }
    *n += (size_t)snprintf(buf + *n, cap - *n, "</%s>", name);
}

static void test_random_inputs(void **state)
{
    (void)state;
    enum { NIN = 40 };
    static char docs[NIN][16384];
    for (int k = 0; k < NIN; k++) {
        size_t n = 0;
        random_tree(docs[k], sizeof docs[k], &n, 0);
    }
    for (size_t k = 0; k < sizeof corpus / sizeof *corpus; k++) {
        xsltStylesheetPtr style = parse_xsl(corpus[k]);
        pvm_xslpool *pool = pvm_xslpool_new(1);
        for (int i = 0; i < NIN; i++) {
            char *want = fresh(style, docs[i]);
            xsltTransformContextPtr used;
            bool kept;
            char *got = pooled(pool, style, docs[i], &used, &kept);
            if (strcmp(want, got) != 0)
                fail_msg("stylesheet %zu on %s:\nnew context: %s\nreused:      %s", k, docs[i], want, got);
            free(want);
            free(got);
        }
        pvm_xslpool_free(pool);
        xsltFreeStylesheet(style);
    }
}

static void quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

/* A transform that stops (xsl:message terminate) leaves its context in no known state:
 * it is freed, and the next transform of the pool is right. */
static void test_failed_transform_not_kept(void **state)
{
    (void)state;
    xsltStylesheetPtr style = parse_xsl(XSL("<xsl:template match='/'><xsl:if test='//k'><xsl:message terminate='yes'>k</xsl:message>"
                                            "</xsl:if><r><xsl:value-of select='count(//i)'/></r></xsl:template>"));
    pvm_xslpool *pool = pvm_xslpool_new(1);
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
            xmlDocPtr in = parse(inputs[i]);
            xsltTransformContextPtr c = pvm_xslctx_take(pool, 0, style, in);
            assert_non_null(c);
            xsltSetTransformErrorFunc(c, NULL, quiet);
            xmlDocPtr out = xsltApplyStylesheetUser(style, in, NULL, NULL, NULL, c);
            bool stopped = strstr(inputs[i], "<k>") != NULL;
            assert_int_equal(c->state == XSLT_STATE_STOPPED, stopped);
            if (stopped) {
                xsltFreeTransformContext(c); /* as the engine does on failure */
                xmlFreeDoc(out);
                xmlFreeDoc(in);
                continue;
            }
            c = pvm_xslctx_unbind(c);
            assert_non_null(c);
            xmlFreeDoc(in);
            char *got = serialise(out, style), *want = fresh(style, inputs[i]);
            assert_string_equal(got, want);
            free(got);
            free(want);
            xmlFreeDoc(out);
            pvm_xslctx_give(pool, 0, c);
        }
    pvm_xslpool_free(pool);
    xsltFreeStylesheet(style);
}

/* Names copied from the inputs stay in the context's dictionary: past a bound the context
 * is dropped rather than kept growing. */
static void test_grown_dictionary_not_kept(void **state)
{
    (void)state;
    xsltStylesheetPtr style = parse_xsl(XSL("<xsl:template match='/'><xsl:copy-of select='.'/></xsl:template>"));
    size_t cap = 6000 * 24 + 16, n = 0;
    char *big = malloc(cap);
    assert_non_null(big);
    n += (size_t)snprintf(big + n, cap - n, "<r>");
    for (int i = 0; i < 6000; i++)
        n += (size_t)snprintf(big + n, cap - n, "<n%d/>", i);
    snprintf(big + n, cap - n, "</r>");
    pvm_xslpool *pool = pvm_xslpool_new(1);
    xsltTransformContextPtr used;
    bool kept;
    free(pooled(pool, style, inputs[1], &used, &kept));
    assert_true(kept);
    char *got = pooled(pool, style, big, &used, &kept), *want = fresh(style, big);
    assert_string_equal(got, want);
    assert_false(kept);
    free(got);
    free(want);
    free(big);
    pvm_xslpool_free(pool);
    xsltFreeStylesheet(style);
}

typedef struct {
    pvm_xslpool *pool;
    xsltStylesheetPtr style;
    const char *want[sizeof inputs / sizeof *inputs];
    int bad;
} shared;

static void *worker(void *arg)
{
    shared *s = arg;
    for (int round = 0; round < 50; round++)
        for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
            xmlDocPtr in = xmlReadMemory(inputs[i], (int)strlen(inputs[i]), "in.xml", NULL, XML_PARSE_NONET);
            xsltTransformContextPtr c = in ? pvm_xslctx_take(s->pool, 0, s->style, in) : NULL;
            xmlDocPtr out = c ? xsltApplyStylesheetUser(s->style, in, NULL, NULL, NULL, c) : NULL;
            c = out ? pvm_xslctx_unbind(c) : (xsltFreeTransformContext(c), NULL);
            xmlFreeDoc(in);
            xmlChar *text = NULL;
            int len = 0;
            if (!out || xsltSaveResultToString(&text, &len, out, s->style) != 0 || !text ||
                strcmp((const char *)text, s->want[i]) != 0)
                __atomic_add_fetch(&s->bad, 1, __ATOMIC_SEQ_CST);
            xmlFree(text);
            xmlFreeDoc(out);
            pvm_xslctx_give(s->pool, 0, c);
        }
    return NULL;
}

static void test_threads_share_a_pool(void **state)
{
    (void)state;
    shared s = {.style = parse_xsl(corpus[2]), .pool = pvm_xslpool_new(1)};
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++)
        s.want[i] = fresh(s.style, inputs[i]);
    pthread_t t[6];
    for (int i = 0; i < 6; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, &s), 0);
    for (int i = 0; i < 6; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(s.bad, 0);
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++)
        free((char *)s.want[i]);
    pvm_xslpool_free(s.pool);
    xsltFreeStylesheet(s.style);
}

int main(void)
{
    xmlInitParser();
    exsltRegisterAll();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_results_as_a_new_context),
        cmocka_unit_test(test_random_inputs),
        cmocka_unit_test(test_failed_transform_not_kept),
        cmocka_unit_test(test_grown_dictionary_not_kept),
        cmocka_unit_test(test_threads_share_a_pool),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xsltCleanupGlobals();
    xmlCleanupParser();
    return rc;
}
