/*
 * test_xsl.c -- the stylesheets of before/after (compiler/xsl.c): the XSL children
 * become one stylesheet that libxslt compiles and that transforms a selected node the
 * way SPEC §5 says, with the prefixes in scope at the element; a child xsl:stylesheet
 * is used as it is; each stylesheet is stored once; bad XSL is a compile error.
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
#include <libxslt/transform.h>
#include <libxslt/xsltInternals.h>
#include <libxslt/xsltutils.h>

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

static xmlNodePtr elem_n(xmlDocPtr doc, const char *name, int k)
{
    xmlNodePtr n = nth(doc->children, name, &k);
    if (!n)
        fail_msg("no element <%s> number %d", name, k);
    return n;
}

#define ELEM(ctx, name) elem_n((ctx)->doc, (name), 0)

static const char *sheet_text(pvc_ctx *ctx, uint32_t i)
{
    assert_int_not_equal(i, PROVOST_NONE);
    assert_true(i < ctx->xsls.n);
    return ctx->strings.v + ctx->xsls.v[i].text;
}

/* The stylesheet of the n-th before, which must be good. */
static uint32_t good_xsl(pvc_ctx *ctx, const char *elem, int n)
{
    bool bad = true;
    uint32_t i = pvc_xsl(ctx, elem_n(ctx->doc, elem, n), &bad);
    if (bad || i == PROVOST_NONE)
        fail_msg("the stylesheet of <%s> %d was rejected: %s", elem, n,
                 ctx->diags.n ? ctx->diags.v[ctx->diags.n - 1].message : "(no message)");
    return i;
}

/* Applies the stylesheet text to input, the way the VM does: the selected node as the
 * document element of its own document. */
static xmlDocPtr apply(const char *sheet, const char *input)
{
    xmlDocPtr sd = xmlReadMemory(sheet, (int)strlen(sheet), "stylesheet", NULL,
                                 XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    assert_non_null(sd);
    xsltStylesheetPtr st = xsltParseStylesheetDoc(sd);
    assert_non_null(st);
    assert_int_equal(st->errors, 0);
    xmlDocPtr in = xmlReadMemory(input, (int)strlen(input), "input", NULL, XML_PARSE_NONET);
    assert_non_null(in);
    xmlDocPtr out = xsltApplyStylesheet(st, in, NULL);
    assert_non_null(out);
    xmlFreeDoc(in);
    xsltFreeStylesheet(st);
    return out;
}

static const char *ns_of(xmlNodePtr n)
{
    return n->ns && n->ns->href ? (const char *)n->ns->href : "";
}

static void expect_root(xmlDocPtr out, const char *name, const char *content)
{
    xmlNodePtr r = xmlDocGetRootElement(out);
    if (!r)
        fail_msg("the transform produced no element, expected <%s>", name);
    assert_string_equal((const char *)r->name, name);
    xmlChar *c = xmlNodeGetContent(r);
    assert_string_equal((const char *)c, content);
    xmlFree(c);
}

/* ---- templates become a stylesheet ------------------------------------------------------- */

static const char w01[] =
    "<request xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">\n"
    "  <procedure>\n"
    "    <execute namespace=\"N\" procedure=\"P\">\n"
    "      <before source=\"data\" sourcePath=\"organizations/organization\" destination=\"executeData\"\n"
    "              mode=\"insert\">\n"
    "        <!-- one result per organization -->\n"
    "        <xsl:template match=\"organization[@type='primary']\">\n"
    "          <primaryOrg><xsl:value-of select=\"@name\"/></primaryOrg>\n"
    "        </xsl:template>\n"
    "        <xsl:template match=\"organization[@type='secondary']\">\n"
    "          <secondaryOrg><xsl:value-of select=\"@name\"/></secondaryOrg>\n"
    "        </xsl:template>\n"
    "      </before>\n"
    "      <after source=\"executeData\" destination=\"data\">\n"
    "        <xsl:template match=\"/\"><out><xsl:value-of select=\"organization/@name\"/></out></xsl:template>\n"
    "      </after>\n"
    "      <after source=\"executeData\" destination=\"data\">\n"
    "        <xsl:template match=\"organization\"><any n=\"{@name}\"/></xsl:template>\n"
    "      </after>\n"
    "    </execute>\n"
    "  </procedure>\n"
    "</request>\n";

static void test_templates_match_document_element(void **state)
{
    (void)state;
    PARSE(ctx, w01);
    uint32_t i = good_xsl(ctx, "before", 0);
    const char *text = sheet_text(ctx, i);
    /* a stylesheet of its own: no before attributes, no comment, version 1.0 */
    assert_non_null(strstr(text, "<xsl:stylesheet"));
    assert_non_null(strstr(text, "version=\"1.0\""));
    assert_null(strstr(text, "sourcePath"));
    assert_null(strstr(text, "destination"));
    assert_null(strstr(text, "one result"));
    assert_int_equal(ctx->xsls.v[i].line, 4); /* the line of the before */

    xmlDocPtr out = apply(text, "<organization name=\"OrgA\" type=\"primary\"/>");
    expect_root(out, "primaryOrg", "OrgA");
    assert_string_equal(ns_of(xmlDocGetRootElement(out)), "");
    xmlFreeDoc(out);
    out = apply(text, "<organization name=\"OrgB\" type=\"secondary\"/>");
    expect_root(out, "secondaryOrg", "OrgB");
    xmlFreeDoc(out);
    /* no template matches: the built-in rules, which give no element */
    out = apply(text, "<organization name=\"OrgC\" type=\"other\"/>");
    assert_null(xmlDocGetRootElement(out));
    xmlFreeDoc(out);
    assert_int_equal(ctx->nerrors, 0);
    pvc_ctx_free(ctx);
}

static void test_match_root_and_plain_name(void **state)
{
    (void)state;
    PARSE(ctx, w01);
    xmlDocPtr out = apply(sheet_text(ctx, good_xsl(ctx, "after", 0)),
                          "<organization name=\"OrgA\" type=\"primary\"/>");
    expect_root(out, "out", "OrgA");
    xmlFreeDoc(out);
    out = apply(sheet_text(ctx, good_xsl(ctx, "after", 1)), "<organization name=\"Z\"/>");
    xmlNodePtr r = xmlDocGetRootElement(out);
    assert_non_null(r);
    assert_string_equal((const char *)r->name, "any");
    xmlChar *n = xmlGetProp(r, BAD_CAST "n");
    assert_string_equal((const char *)n, "Z");
    xmlFree(n);
    xmlFreeDoc(out);
    assert_int_equal(ctx->xsls.n, 2);
    pvc_ctx_free(ctx);
}

static void test_prefixes_in_scope(void **state)
{
    (void)state;
    PARSE(ctx, "<namespace xmlns:o=\"urn:org\" xmlns:x=\"http://www.w3.org/1999/XSL/Transform\">\n"
               "<procedure><execute>\n"
               "<before source=\"data\" destination=\"executeData\" xmlns:u=\"urn:user\">\n"
               "  <x:template match=\"o:organization\"><found><x:value-of select=\"u:user/@n\"/></found>"
               "</x:template>\n"
               "  <x:template match=\"*\"><other/></x:template>\n"
               "</before>\n"
               "</execute></procedure></namespace>");
    const char *text = sheet_text(ctx, good_xsl(ctx, "before", 0));
    xmlDocPtr out = apply(text, "<o:organization xmlns:o=\"urn:org\" xmlns:u=\"urn:user\">"
                                "<u:user n=\"joe\"/></o:organization>");
    expect_root(out, "found", "joe");
    /* the prefixes are excluded from the result */
    assert_null(xmlDocGetRootElement(out)->nsDef);
    xmlFreeDoc(out);
    /* the same name in no namespace does not match o:organization */
    out = apply(text, "<organization/>");
    expect_root(out, "other", "");
    xmlFreeDoc(out);
    pvc_ctx_free(ctx);
}

static void test_mpf_default_namespace(void **state)
{
    (void)state;
    /* in a file whose default namespace is MPF's, result elements are in no namespace */
    PARSE(ctx, "<namespace xmlns=\"http://maps/specs/prov.xml\" "
               "xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\" name=\"N\">"
               "<procedure name=\"P\"><execute namespace=\"N\" procedure=\"P\">"
               "<before source=\"data\" destination=\"executeData\">"
               "<xsl:template match=\"/\"><a><b/><c><d/><e/></c></a></xsl:template>"
               "<xsl:template match=\"never\"><f/><g/></xsl:template>"
               "</before></execute></procedure></namespace>");
    const char *text = sheet_text(ctx, good_xsl(ctx, "before", 0));
    assert_null(strstr(text, "maps/specs"));
    xmlDocPtr out = apply(text, "<x/>");
    xmlNodePtr a = xmlDocGetRootElement(out);
    assert_non_null(a);
    assert_string_equal((const char *)a->name, "a");
    static const char *const names[] = {"a", "b", "c", "d", "e"};
    for (size_t k = 0; k < 5; k++)
        assert_string_equal(ns_of(elem_n(out, names[k], 0)), "");
    xmlFreeDoc(out);
    pvc_ctx_free(ctx);
}

static void test_params_variables_output_key(void **state)
{
    (void)state;
    PARSE(ctx, "<before xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\" source=\"data\" "
               "destination=\"executeData\">"
               "<xsl:output method=\"xml\" indent=\"no\"/>"
               "<xsl:param name=\"p\" select=\"'P'\"/>"
               "<xsl:variable name=\"v\" select=\"concat($p, '-V')\"/>"
               "<xsl:key name=\"k\" match=\"item\" use=\"@id\"/>"
               "<xsl:template match=\"/\"><r><xsl:value-of select=\"$v\"/>"
               "<xsl:value-of select=\"key('k', '2')/@name\"/></r></xsl:template>"
               "</before>");
    xmlDocPtr out = apply(sheet_text(ctx, good_xsl(ctx, "before", 0)),
                          "<list><item id=\"1\" name=\"one\"/><item id=\"2\" name=\"two\"/></list>");
    expect_root(out, "r", "P-Vtwo");
    xmlFreeDoc(out);
    pvc_ctx_free(ctx);
}

/* ---- a child stylesheet ------------------------------------------------------------------- */

static void test_child_stylesheet_as_is(void **state)
{
    (void)state;
    PARSE(ctx, "<r xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\" xmlns:o=\"urn:org\">"
               "<after source=\"executeData\" destination=\"data\">"
               "<xsl:stylesheet version=\"1.0\" id=\"mine\" exclude-result-prefixes=\"o\">"
               "<xsl:template match=\"/\"><got><xsl:value-of select=\"o:org/@n\"/></got></xsl:template>"
               "</xsl:stylesheet></after>"
               "<after source=\"executeData\" destination=\"data\">"
               "<xsl:transform version=\"1.0\"><xsl:template match=\"/\"><t/></xsl:template></xsl:transform>"
               "</after></r>");
    const char *text = sheet_text(ctx, good_xsl(ctx, "after", 0));
    assert_non_null(strstr(text, "<xsl:stylesheet"));
    assert_non_null(strstr(text, "id=\"mine\""));
    assert_non_null(strstr(text, "exclude-result-prefixes=\"o\""));
    assert_null(strstr(text, "destination")); /* the after is not part of it */
    xmlDocPtr out = apply(text, "<o:org xmlns:o=\"urn:org\" n=\"A\"/>");
    expect_root(out, "got", "A");
    xmlFreeDoc(out);

    text = sheet_text(ctx, good_xsl(ctx, "after", 1));
    assert_non_null(strstr(text, "<xsl:transform"));
    out = apply(text, "<any/>");
    expect_root(out, "t", "");
    xmlFreeDoc(out);
    pvc_ctx_free(ctx);
}

/* ---- each stylesheet once ------------------------------------------------------------------ */

static void test_dedup(void **state)
{
    (void)state;
    PARSE(ctx, "<r xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">\n"
               "<before source=\"data\" destination=\"executeData\">"
               "<xsl:template match=\"/\"><a/></xsl:template></before>\n"
               "<after source=\"executeData\" destination=\"data\" mode=\"merge\">"
               "<xsl:template match=\"/\"><a/></xsl:template></after>\n"
               "<before source=\"data\" destination=\"executeData\">"
               "<xsl:template match=\"/\"><b/></xsl:template></before>\n"
               "<before source=\"data\" destination=\"executeData\"/>\n"
               "</r>");
    uint32_t a = good_xsl(ctx, "before", 0);
    assert_int_equal(good_xsl(ctx, "after", 0), a); /* before and after alike */
    assert_int_equal(ctx->xsls.n, 1);
    assert_int_equal(ctx->xsls.v[a].line, 2); /* the first user */
    uint32_t b = good_xsl(ctx, "before", 1);
    assert_int_not_equal(a, b);
    assert_int_equal(ctx->xsls.n, 2);
    assert_int_not_equal(ctx->xsls.v[a].hash, ctx->xsls.v[b].hash);
    /* the hash is FNV-1a of the text */
    const char *t = sheet_text(ctx, b);
    uint64_t h = 1469598103934665603ull;
    for (const char *c = t; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ull;
    assert_true(h == ctx->xsls.v[b].hash);

    /* no XSL at all: no stylesheet, and nothing wrong */
    bool bad = true;
    assert_int_equal(pvc_xsl(ctx, elem_n(ctx->doc, "before", 2), &bad), PROVOST_NONE);
    assert_false(bad);
    assert_int_equal(ctx->xsls.n, 2);
    assert_int_equal(ctx->diags.n, 0);
    pvc_ctx_free(ctx);
}

/* ---- errors ----------------------------------------------------------------------------------- */

static const char bad_doc[] =
    "<r xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">\n"
    /* 0: a non-XSL child */
    "<before source=\"data\" destination=\"executeData\">\n"
    "  <xsl:template match=\"/\"><a/></xsl:template>\n"
    "  <foo/>\n"
    "</before>\n"
    /* 1: xsl:import */
    "<before source=\"data\" destination=\"executeData\">\n"
    "  <xsl:import href=\"other.xsl\"/>\n"
    "  <xsl:template match=\"/\"><a/></xsl:template>\n"
    "</before>\n"
    /* 2: a bad XPath in select */
    "<before source=\"data\" destination=\"executeData\">\n"
    "  <xsl:template match=\"/\"><xsl:value-of select=\"a[[\"/></xsl:template>\n"
    "</before>\n"
    /* 3: a bad match pattern */
    "<before source=\"data\" destination=\"executeData\">\n"
    "  <xsl:template match=\"a[\"><a/></xsl:template>\n"
    "</before>\n"
    /* 4: a stylesheet and a template */
    "<before source=\"data\" destination=\"executeData\">\n"
    "  <xsl:template match=\"/\"><a/></xsl:template>\n"
    "  <xsl:stylesheet version=\"1.0\"/>\n"
    "</before>\n"
    /* 5: an instruction at the top level */
    "<before source=\"data\" destination=\"executeData\">\n"
    "  <xsl:value-of select=\"a\"/>\n"
    "</before>\n"
    /* 6: xsl:include */
    "<before source=\"data\" destination=\"executeData\">\n"
    "  <xsl:include href=\"other.xsl\"/>\n"
    "</before>\n"
    "</r>\n";

/* The n-th before is rejected with one error whose message says says, reported at
 * line:col, or (col 0) anywhere on lines line..last: inside the before, at the element or
 * attribute at fault. */
static void expect_bad(int n, unsigned line, unsigned last, unsigned col, const char *says)
{
    PARSE(ctx, bad_doc);
    bool bad = false;
    uint32_t i = pvc_xsl(ctx, elem_n(ctx->doc, "before", n), &bad);
    assert_true(bad);
    assert_int_equal(i, PROVOST_NONE);
    assert_int_equal(ctx->xsls.n, 0);
    assert_int_equal(ctx->nerrors, 1);
    const provost_diag *d = &ctx->diags.v[0];
    bool at = col ? d->line == line && d->col == col : d->line >= line && d->line <= last;
    if (!at || !strstr(d->message, says))
        fail_msg("before %d: %u:%u %s; expected %u:%u and \"%s\"", n, d->line, d->col, d->message,
                 line, col, says);
    pvc_ctx_free(ctx);
}

static void test_errors(void **state)
{
    (void)state;
    expect_bad(0, 4, 4, 3, "<foo> is not allowed inside <before>");
    expect_bad(1, 7, 7, 3, "xsl:import is not supported");
    expect_bad(2, 10, 11, 0, "a[[");
    expect_bad(3, 13, 14, 0, "invalid XSL in <before>");
    expect_bad(4, 18, 18, 3, "must be the only XSL child");
    expect_bad(5, 21, 21, 3, "wrap it in an xsl:template");
    expect_bad(6, 24, 24, 3, "xsl:include is not supported");
}

int main(void)
{
    xmlInitParser();
    pvc_xsl_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_templates_match_document_element),
        cmocka_unit_test(test_match_root_and_plain_name),
        cmocka_unit_test(test_prefixes_in_scope),
        cmocka_unit_test(test_mpf_default_namespace),
        cmocka_unit_test(test_params_variables_output_key),
        cmocka_unit_test(test_child_stylesheet_as_is),
        cmocka_unit_test(test_dedup),
        cmocka_unit_test(test_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xsltCleanupGlobals();
    xmlCleanupParser();
    return rc;
}
