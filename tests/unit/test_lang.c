/*
 * test_lang.c -- recognising the language's elements and reading their attributes
 * (compiler/lang.c): which namespaces are the language's, enumerated and boolean
 * attributes, names of namespaces and procedures, unknown attributes.
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

#include "compiler/internal.h"
#include "util/str.h"

/* ---- a compile context around one source text ---------------------------------------- */

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

static xmlNodePtr elem(pvc_ctx *ctx, const char *name)
{
    xmlNodePtr n = find(ctx->doc->children, name);
    if (!n)
        fail_msg("no element <%s> in the test document", name);
    return n;
}

static void expect_diag(pvc_ctx *ctx, size_t i, int severity, unsigned line, unsigned col)
{
    assert_true(i < ctx->diags.n);
    const provost_diag *d = &ctx->diags.v[i];
    if (d->severity != severity || d->line != line || d->col != col)
        fail_msg("diagnostic %zu is %s at %u:%u (%s), expected %s at %u:%u", i,
                 d->severity ? "error" : "warning", d->line, d->col, d->message,
                 severity ? "error" : "warning", line, col);
}

/* ---- the language's namespaces ----------------------------------------------------------- */

static void test_is_lang(void **state)
{
    (void)state;
    PARSE(ctx, "<r xmlns:m=\"http://maps/specs/prov.xml\" xmlns:s=\"https://maps/specs/prov.xml\""
               "   xmlns:o=\"urn:other\" xmlns:x=\"http://www.w3.org/1999/XSL/Transform\""
               "   xmlns:t=\"http://maps/specs/prov.xml/\">"
               "<plain/><m:mpf/><s:tls/><o:other/><x:xsl/><t:slash/>"
               "<dflt xmlns=\"http://maps/specs/prov.xml\"><inner/></dflt>"
               "<odflt xmlns=\"urn:other\"/>"
               "<undecl xmlns=\"http://maps/specs/prov.xml\"><back xmlns=\"\"/></undecl>"
               "text</r>");
    assert_true(pvc_is_lang(elem(ctx, "r")));
    assert_true(pvc_is_lang(elem(ctx, "plain")));
    assert_true(pvc_is_lang(elem(ctx, "mpf")));
    assert_true(pvc_is_lang(elem(ctx, "tls")));
    assert_true(pvc_is_lang(elem(ctx, "dflt")));
    assert_true(pvc_is_lang(elem(ctx, "inner")));
    assert_true(pvc_is_lang(elem(ctx, "back")));
    assert_false(pvc_is_lang(elem(ctx, "other")));
    assert_false(pvc_is_lang(elem(ctx, "xsl")));
    assert_false(pvc_is_lang(elem(ctx, "slash")));
    assert_false(pvc_is_lang(elem(ctx, "odflt")));
    assert_false(pvc_is_lang(NULL));
    assert_false(pvc_is_lang(xmlGetLastChild(elem(ctx, "r")))); /* the text node */

    assert_true(pvc_is_xsl(elem(ctx, "xsl")));
    assert_false(pvc_is_xsl(elem(ctx, "plain")));
    assert_false(pvc_is_xsl(elem(ctx, "other")));

    assert_true(pvc_named(elem(ctx, "mpf"), "mpf"));
    assert_true(pvc_named(elem(ctx, "tls"), "tls"));
    assert_false(pvc_named(elem(ctx, "mpf"), "MPF")); /* element names are case-sensitive */
    assert_false(pvc_named(elem(ctx, "other"), "other"));
    pvc_ctx_free(ctx);
}

static void test_children_and_attrs(void **state)
{
    (void)state;
    PARSE(ctx, "<r q:a=\"ns\" xmlns:q=\"urn:q\" a=\"plain\" e=\"\">text<!--c--><x/>more<y/></r>");
    xmlNodePtr r = elem(ctx, "r");
    assert_ptr_equal(pvc_first_child(r), elem(ctx, "x"));
    assert_ptr_equal(pvc_next(elem(ctx, "x")), elem(ctx, "y"));
    assert_null(pvc_next(elem(ctx, "y")));
    assert_null(pvc_first_child(elem(ctx, "x")));
    /* the unqualified attribute, not the one in urn:q */
    assert_string_equal(pvc_attr(r, "a"), "plain");
    assert_string_equal(pvc_attr(r, "e"), "");
    assert_null(pvc_attr(r, "b"));
    assert_null(pvc_require(ctx, r, "b"));
    assert_int_equal(ctx->nerrors, 1);
    assert_non_null(strstr(ctx->diags.v[0].message, "'b'"));
    pvc_check_content(ctx, r);
    assert_int_equal(ctx->nerrors, 2);
    assert_non_null(strstr(ctx->diags.v[1].message, "unexpected text"));
    pvc_ctx_free(ctx);
}

/* ---- enumerations and booleans ----------------------------------------------------------- */

static const char *const types[] = {"read", "write", "twoPhase", "two-phase", NULL};
static const int type_codes[] = {1, 2, 3, 3};

static void test_enum_values(void **state)
{
    (void)state;
    PARSE(ctx, "<r><a type=\"read\"/><b type=\"WRITE\"/><c type=\"TwoPhase\"/><d type=\"two-PHASE\"/>"
               "<e/><f type=\"\"/></r>");
    assert_int_equal(pvc_enum(ctx, elem(ctx, "a"), "type", types, type_codes, 9), 1);
    assert_int_equal(pvc_enum(ctx, elem(ctx, "b"), "type", types, type_codes, 9), 2);
    assert_int_equal(pvc_enum(ctx, elem(ctx, "c"), "type", types, type_codes, 9), 3);
    assert_int_equal(pvc_enum(ctx, elem(ctx, "d"), "type", types, type_codes, 9), 3);
    /* absent: the default; without codes: the index */
    assert_int_equal(pvc_enum(ctx, elem(ctx, "e"), "type", types, type_codes, 9), 9);
    assert_int_equal(pvc_enum(ctx, elem(ctx, "c"), "type", types, NULL, 9), 2);
    assert_int_equal(ctx->diags.n, 0);
    /* empty is not a value */
    assert_int_equal(pvc_enum(ctx, elem(ctx, "f"), "type", types, type_codes, 9), -1);
    assert_int_equal(ctx->nerrors, 1);
    pvc_ctx_free(ctx);
}

static void test_enum_error_lists_values(void **state)
{
    (void)state;
    PARSE(ctx, "<r>\n  <p name=\"x\"\n     type=\"reed\"/>\n</r>");
    assert_int_equal(pvc_enum(ctx, elem(ctx, "p"), "type", types, type_codes, 2), -1);
    assert_int_equal(ctx->nerrors, 1);
    expect_diag(ctx, 0, PROVOST_ERROR, 3, 6); /* at the attribute */
    const char *m = ctx->diags.v[0].message;
    assert_non_null(strstr(m, "type=\"reed\""));
    assert_non_null(strstr(m, "<p>"));
    assert_non_null(strstr(m, "'read', 'write', 'twoPhase'"));
    /* a synonym with the same code is listed once */
    assert_null(strstr(m, "two-phase"));

    static const char *const plain[] = {"a", "b", "c", NULL};
    assert_int_equal(pvc_enum(ctx, elem(ctx, "p"), "name", plain, NULL, 0), -1);
    assert_non_null(strstr(ctx->diags.v[1].message, "'a', 'b', 'c'"));
    pvc_ctx_free(ctx);
}

static void test_bool(void **state)
{
    (void)state;
    PARSE(ctx, "<r><a v=\"0\"/><b v=\"1\"/><c v=\"true\"/><d v=\"FALSE\"/><e v=\"True\"/><f/>"
               "<g v=\"yes\"/><h v=\"2\"/></r>");
    assert_int_equal(pvc_bool(ctx, elem(ctx, "a"), "v", 1), 0);
    assert_int_equal(pvc_bool(ctx, elem(ctx, "b"), "v", 0), 1);
    assert_int_equal(pvc_bool(ctx, elem(ctx, "c"), "v", 0), 1);
    assert_int_equal(pvc_bool(ctx, elem(ctx, "d"), "v", 1), 0);
    assert_int_equal(pvc_bool(ctx, elem(ctx, "e"), "v", 0), 1);
    assert_int_equal(pvc_bool(ctx, elem(ctx, "f"), "v", 1), 1);
    assert_int_equal(pvc_bool(ctx, elem(ctx, "f"), "v", 0), 0);
    assert_int_equal(ctx->diags.n, 0);
    /* a bad value is an error and reads as the default */
    assert_int_equal(pvc_bool(ctx, elem(ctx, "g"), "v", 1), 1);
    assert_int_equal(pvc_bool(ctx, elem(ctx, "h"), "v", 0), 0);
    assert_int_equal(ctx->nerrors, 2);
    const char *m = ctx->diags.v[0].message;
    assert_non_null(strstr(m, "v=\"yes\""));
    assert_non_null(strstr(m, "'0'"));
    assert_non_null(strstr(m, "'1'"));
    assert_non_null(strstr(m, "'true'"));
    assert_non_null(strstr(m, "'false'"));
    pvc_ctx_free(ctx);
}

/* ---- names --------------------------------------------------------------------------------- */

static void test_check_name_accepts(void **state)
{
    (void)state;
    PARSE(ctx, "<r><a name=\"New Namespace\"/><b name=\"Get_User-2.0\"/><c name=\"x\"/>"
               "<d name=\"ABC xyz 019\"/><e/></r>");
    assert_true(pvc_check_name(ctx, elem(ctx, "a"), "name", "namespace"));
    assert_true(pvc_check_name(ctx, elem(ctx, "b"), "name", "procedure"));
    assert_true(pvc_check_name(ctx, elem(ctx, "c"), "name", "procedure"));
    assert_true(pvc_check_name(ctx, elem(ctx, "d"), "name", "procedure"));
    /* absent: false, and nothing reported here (pvc_require does that) */
    assert_false(pvc_check_name(ctx, elem(ctx, "e"), "name", "procedure"));
    assert_int_equal(ctx->diags.n, 0);
    pvc_ctx_free(ctx);
}

static void test_check_name_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *elem, *what;
    } bad[] = {
        {"a", "contains '/'"},  {"b", "contains ':'"},  {"c", "contains '&'"},
        {"d", "outside ASCII"}, {"e", "outside ASCII"}, {"f", "is empty"},
        {"g", "contains '*'"},  {"h", "contains '\"'"},
    };
    PARSE(ctx, "<r><a name=\"a/b\"/><b name=\"ns:p\"/><c name=\"a&amp;b\"/><d name=\"caf\xC3\xA9\"/>"
               "<e name=\"a&#9;b\"/><f name=\"\"/><g name=\"*\"/><h name='say \"hi\"'/></r>");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t before = ctx->diags.n;
        if (pvc_check_name(ctx, elem(ctx, bad[i].elem), "name", "procedure"))
            fail_msg("name of <%s> accepted", bad[i].elem);
        assert_int_equal(ctx->diags.n, before + 1);
        assert_int_equal(ctx->diags.v[before].severity, PROVOST_ERROR);
        if (!strstr(ctx->diags.v[before].message, bad[i].what))
            fail_msg("<%s>: \"%s\" does not say %s", bad[i].elem, ctx->diags.v[before].message,
                     bad[i].what);
    }
    assert_non_null(strstr(ctx->diags.v[0].message, "procedure name \"a/b\""));
    pvc_ctx_free(ctx);
}

/* Names of the language match without ASCII case (util/str.h), as the compiler compares them. */
static void test_name_eq(void **state)
{
    (void)state;
    assert_true(pu_strieq("New Namespace", "new namespace"));
    assert_true(pu_strieq("GET_user-1.x", "get_USER-1.X"));
    assert_true(pu_strieq("", ""));
    assert_false(pu_strieq("abc", "abd"));
    assert_false(pu_strieq("abc", "abcd"));
    assert_false(pu_strieq("abc ", "abc"));
    assert_false(pu_strieq("a_b", "a-b"));
    assert_false(pu_strieq(NULL, "abc"));
    assert_false(pu_strieq("abc", NULL));
    assert_false(pu_strieq(NULL, NULL));
}

/* ---- unknown attributes ------------------------------------------------------------------- */

static void test_check_attrs(void **state)
{
    (void)state;
    static const char *const known[] = {"name", "type", "auditEnabled", NULL};
    PARSE(ctx, "<r xmlns:q=\"urn:q\">\n"
               "<procedure name=\"p\" Type=\"read\" xml:lang=\"en\" q:extra=\"1\"\n"
               "   bogus=\"z\" auditenabled=\"1\" type=\"write\"/>\n"
               "<ok name=\"p\" type=\"read\" auditEnabled=\"0\"/>\n"
               "</r>");
    pvc_check_attrs(ctx, elem(ctx, "ok"), known);
    assert_int_equal(ctx->diags.n, 0);

    pvc_check_attrs(ctx, elem(ctx, "procedure"), known);
    assert_int_equal(ctx->diags.n, 3);
    assert_int_equal(ctx->nwarnings, 3);
    assert_int_equal(ctx->nerrors, 0);
    /* in attribute order, each at its attribute */
    expect_diag(ctx, 0, PROVOST_WARNING, 2, 21);
    assert_string_equal(ctx->diags.v[0].message,
                        "unknown attribute 'Type' on <procedure> is ignored (did you mean 'type'?)");
    expect_diag(ctx, 1, PROVOST_WARNING, 3, 4);
    assert_string_equal(ctx->diags.v[1].message, "unknown attribute 'bogus' on <procedure> is ignored");
    expect_diag(ctx, 2, PROVOST_WARNING, 3, 14);
    assert_non_null(strstr(ctx->diags.v[2].message, "did you mean 'auditEnabled'?"));

    /* with an empty list, every unqualified attribute is unknown */
    pvc_check_attrs(ctx, elem(ctx, "ok"), (const char *const[]){NULL});
    assert_int_equal(ctx->nwarnings, 6);
    pvc_ctx_free(ctx);
}

/* ---- data in the MPF namespace ------------------------------------------------------------ */

static void test_strip_mpf(void **state)
{
    (void)state;
    PARSE(ctx, "<namespace xmlns=\"http://maps/specs/prov.xml\" xmlns:o=\"urn:o\">"
               "<executeData><user a=\"1\"><o:keep/><name/></user></executeData><next/></namespace>");
    xmlNodePtr ed = elem(ctx, "executeData");
    pvc_strip_mpf(ed);
    assert_null(ed->ns);
    assert_null(elem(ctx, "user")->ns);
    assert_null(elem(ctx, "name")->ns);
    assert_non_null(elem(ctx, "keep")->ns);
    assert_string_equal((const char *)elem(ctx, "keep")->ns->href, "urn:o");
    /* only the subtree: the following sibling and the parent are untouched */
    assert_non_null(elem(ctx, "next")->ns);
    assert_non_null(elem(ctx, "namespace")->ns);
    pvc_ctx_free(ctx);
}

int main(void)
{
    xmlInitParser();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_lang),
        cmocka_unit_test(test_children_and_attrs),
        cmocka_unit_test(test_enum_values),
        cmocka_unit_test(test_enum_error_lists_values),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_check_name_accepts),
        cmocka_unit_test(test_check_name_rejects),
        cmocka_unit_test(test_name_eq),
        cmocka_unit_test(test_check_attrs),
        cmocka_unit_test(test_strip_mpf),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
