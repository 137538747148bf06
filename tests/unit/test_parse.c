/*
 * test_parse.c -- the compiler's reader (compiler/parse.c) and the locations it gives
 * to diagnostics (compiler/diag.c): the line and column of each element's '<', columns
 * counted in characters, attribute positions inside start tags, and the reports for
 * documents that are not XML at all.
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

/* ---- a compile context around one source text ---------------------------------------- */

static pvc_ctx *ctx_new(const char *src, size_t len)
{
    pvc_ctx *ctx = pvc_ctx_new("test.xml", src, len);
    assert_non_null(ctx);
    return ctx;
}


/* Declares ctx, parses text into ctx->doc; an allocation failure fails the test. */
#define PARSE_LEN(ctx, text, len)                      \
    pvc_ctx *ctx = ctx_new((text), (len));             \
    if (setjmp(ctx->oom))                              \
        fail_msg("out of memory in the compiler");     \
    ctx->doc = pvc_parse(ctx)
#define PARSE(ctx, text) PARSE_LEN(ctx, text, strlen(text))

/* The first element named name, depth first. */
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
    assert_non_null(ctx->doc);
    xmlNodePtr n = find(ctx->doc->children, name);
    if (!n)
        fail_msg("no element <%s> in the test document", name);
    return n;
}

static void expect_loc(pvc_ctx *ctx, const char *name, unsigned line, unsigned col)
{
    unsigned l = 0, c = 0;
    pvc_node_loc(ctx, elem(ctx, name), &l, &c);
    if (l != line || c != col)
        fail_msg("<%s> at %u:%u, expected %u:%u", name, l, c, line, col);
}

static void expect_attr_loc(pvc_ctx *ctx, const char *name, const char *attr, unsigned line,
                            unsigned col)
{
    unsigned l = 0, c = 0;
    pvc_attr_loc(ctx, elem(ctx, name), attr, &l, &c);
    if (l != line || c != col)
        fail_msg("%s on <%s> at %u:%u, expected %u:%u", attr ? attr : "(no attribute)", name, l, c, line, col);
}

static const pvc_loc *loc_of(pvc_ctx *ctx, xmlNodePtr n)
{
    assert_non_null(n->_private);
    size_t i = (size_t)(uintptr_t)n->_private - 1;
    assert_true(i < ctx->locs.n);
    return &ctx->locs.v[i];
}

/* ---- element locations ------------------------------------------------------------------ */

static void test_same_line(void **state)
{
    (void)state;
    PARSE(ctx, "<a><b/><c x=\"1\"/></a>");
    assert_non_null(ctx->doc);
    assert_int_equal(ctx->nerrors, 0);
    expect_loc(ctx, "a", 1, 1);
    expect_loc(ctx, "b", 1, 4);
    expect_loc(ctx, "c", 1, 8);
    /* the recorded start tag spans "<c x="1"" up to its end */
    const pvc_loc *l = loc_of(ctx, elem(ctx, "c"));
    assert_memory_equal(ctx->src + l->tag_start, "<c x=", 5);
    assert_true(l->tag_end >= l->tag_start + 8);
    assert_true(ctx->src[l->tag_end] == '/' || ctx->src[l->tag_end] == '>');
    pvc_ctx_free(ctx);
}

static void test_utf8_columns(void **state)
{
    (void)state;
    /* e-acute (2 bytes), euro (3 bytes), U+1F600 (4 bytes), u-umlaut: one column each */
    PARSE(ctx, "<a t=\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"><b/>\xC3\xBC<c/></a>");
    assert_non_null(ctx->doc);
    /* <a t="XYZ"> is 11 characters, <b/> 4, the u-umlaut 1 */
    expect_loc(ctx, "b", 1, 12);
    expect_loc(ctx, "c", 1, 17);
    /* the byte offsets still point at the '<' */
    assert_int_equal(ctx->src[loc_of(ctx, elem(ctx, "c"))->tag_start], '<');
    assert_int_equal(loc_of(ctx, elem(ctx, "c"))->tag_start, 6 + 9 + 2 + 4 + 2);
    pvc_ctx_free(ctx);
}

static void test_utf8_on_later_line(void **state)
{
    (void)state;
    PARSE(ctx, "<a>\n<!-- \xE6\x97\xA5\xE6\x9C\xAC -->  <b/>\n</a>");
    assert_non_null(ctx->doc);
    /* "<!-- XX -->" is 11 characters, then two spaces */
    expect_loc(ctx, "b", 2, 14);
    pvc_ctx_free(ctx);
}

static void test_later_lines(void **state)
{
    (void)state;
    PARSE(ctx, "<a>\n  <b/>\n\t<c>\n    <d/>\n  </c>\n</a>\n");
    assert_non_null(ctx->doc);
    expect_loc(ctx, "a", 1, 1);
    expect_loc(ctx, "b", 2, 3);
    expect_loc(ctx, "c", 3, 2);
    expect_loc(ctx, "d", 4, 5);
    assert_int_equal(ctx->lines.n, 7);
    pvc_ctx_free(ctx);
}

static void test_crlf_lines(void **state)
{
    (void)state;
    PARSE(ctx, "<a>\r\n  <b/>\r\n    <c/>\r\n</a>\r\n");
    assert_non_null(ctx->doc);
    expect_loc(ctx, "b", 2, 3);
    expect_loc(ctx, "c", 3, 5);
    pvc_ctx_free(ctx);
}

static void test_multiline_start_tag(void **state)
{
    (void)state;
    const char *src = "<a\n"
                      "   x=\"1\"\n"
                      "   y=\"2\">\n"
                      "  <b\n"
                      "     z=\"3\"\n"
                      "  />\n"
                      "  <c/>\n"
                      "</a>\n";
    PARSE(ctx, src);
    assert_non_null(ctx->doc);
    /* where the element starts, not where libxml2 finished its start tag */
    expect_loc(ctx, "a", 1, 1);
    expect_loc(ctx, "b", 4, 3);
    expect_loc(ctx, "c", 7, 3);
    pvc_ctx_free(ctx);
}

static void test_declaration_comment_cdata(void **state)
{
    (void)state;
    const char *src = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<!-- <x> -->\n"
                      "<a><![CDATA[<b>]]><c/><d x=\"a>b\" y=\"2\"/></a>";
    PARSE(ctx, src);
    assert_non_null(ctx->doc);
    expect_loc(ctx, "a", 3, 1);
    /* <a><![CDATA[<b>]]> is 18 characters */
    expect_loc(ctx, "c", 3, 19);
    expect_loc(ctx, "d", 3, 23);
    /* a '>' inside an attribute value does not end the start tag */
    expect_attr_loc(ctx, "d", "y", 3, 34);
    pvc_ctx_free(ctx);
}

static void test_large_document(void **state)
{
    (void)state;
    enum { N = 30000 };
    size_t cap = (size_t)N * 40 + 64, n = 0;
    char *src = malloc(cap);
    assert_non_null(src);
    n += (size_t)snprintf(src + n, cap - n, "<root>\n");
    for (int i = 0; i < N; i++)
        n += (size_t)snprintf(src + n, cap - n, "%*s<e i=\"%d\" \xC3\xA9=\"\xC3\xA9\"/>\n", 1 + i % 5, "", i);
    n += (size_t)snprintf(src + n, cap - n, "</root>\n");
    PARSE_LEN(ctx, src, n);
    assert_non_null(ctx->doc);
    int i = 0;
    for (xmlNodePtr e = xmlDocGetRootElement(ctx->doc)->children; e; e = e->next) {
        if (e->type != XML_ELEMENT_NODE)
            continue;
        unsigned l, c;
        pvc_node_loc(ctx, e, &l, &c);
        if (l != (unsigned)i + 2 || c != (unsigned)(2 + i % 5))
            fail_msg("element %d at %u:%u, expected %u:%u", i, l, c, i + 2, 2 + i % 5);
        pvc_attr_loc(ctx, e, "i", &l, &c);
        if (l != (unsigned)i + 2 || c != (unsigned)(2 + i % 5 + 3))
            fail_msg("attribute i of element %d at %u:%u", i, l, c);
        i++;
    }
    assert_int_equal(i, N);
    pvc_ctx_free(ctx);
    free(src);
}

/* ---- attribute locations ----------------------------------------------------------------- */

static void test_attr_loc(void **state)
{
    (void)state;
    PARSE(ctx, "<a>\n  <p name=\"x\"\n     type=\"read\"  access = \"public\"/>\n</a>");
    assert_non_null(ctx->doc);
    expect_attr_loc(ctx, "p", "name", 2, 6);
    expect_attr_loc(ctx, "p", "type", 3, 6);
    expect_attr_loc(ctx, "p", "access", 3, 19);
    /* an attribute that is not there: the element itself */
    expect_attr_loc(ctx, "p", "missing", 2, 3);
    expect_attr_loc(ctx, "p", NULL, 2, 3);
    pvc_ctx_free(ctx);
}

static void test_attr_loc_name_inside_other_value(void **state)
{
    (void)state;
    /* the description's value contains " type=" (preceded by a space, followed by '=') */
    const char *src = "<p description=\"set type=read here\" type=\"write\"/>";
    PARSE(ctx, src);
    assert_non_null(ctx->doc);
    unsigned col = (unsigned)(strstr(src, "\" type=") - src) + 2 + 1;
    expect_attr_loc(ctx, "p", "type", 1, col);
    pvc_ctx_free(ctx);
}

static void test_attr_loc_name_inside_other_value_multiline(void **state)
{
    (void)state;
    const char *src = "<p description='a\n name=b' other=\"x\n name = y\"\n   name=\"real\"/>";
    PARSE(ctx, src);
    assert_non_null(ctx->doc);
    expect_attr_loc(ctx, "p", "name", 4, 4);
    pvc_ctx_free(ctx);
}

static void test_attr_loc_suffix_and_prefixed_names(void **state)
{
    (void)state;
    const char *src = "<type xtype=\"1\" my-type=\"2\" q:type=\"3\" xmlns:q=\"urn:q\" type=\"4\"/>";
    PARSE(ctx, src);
    assert_non_null(ctx->doc);
    unsigned col = (unsigned)(strstr(src, " type=\"4\"") - src) + 2;
    expect_attr_loc(ctx, "type", "type", 1, col);
    pvc_ctx_free(ctx);
}

static void test_attr_diag_points_at_attribute(void **state)
{
    (void)state;
    PARSE(ctx, "<a>\n <b one=\"1\"\n    two=\"2\"/>\n</a>");
    assert_non_null(ctx->doc);
    pvc_attr_error(ctx, elem(ctx, "b"), "two", "bad %s", "two");
    pvc_warning(ctx, elem(ctx, "b"), "element warning");
    assert_int_equal(ctx->diags.n, 2);
    assert_int_equal(ctx->nerrors, 1);
    assert_int_equal(ctx->nwarnings, 1);
    assert_int_equal(ctx->diags.v[0].line, 3);
    assert_int_equal(ctx->diags.v[0].col, 5);
    assert_int_equal(ctx->diags.v[0].severity, PROVOST_ERROR);
    assert_string_equal(ctx->diags.v[0].message, "bad two");
    assert_int_equal(ctx->diags.v[1].line, 2);
    assert_int_equal(ctx->diags.v[1].col, 2);
    assert_int_equal(ctx->diags.v[1].severity, PROVOST_WARNING);
    pvc_ctx_free(ctx);
}

/* ---- documents that are not XML ----------------------------------------------------------- */

typedef struct first_error {
    int line, col, have;
} first_error;

static void keep_first(void *u, PV_XML_ERROR *err)
{
    first_error *f = u;
    if (f->have || !err || err->level < XML_ERR_ERROR)
        return;
    f->have = 1;
    f->line = err->line;
    f->col = err->int2;
}

/* What libxml2 itself says about src: the line and column of its first error. */
static first_error libxml2_error(const char *src)
{
    first_error f = {0};
    xmlSetStructuredErrorFunc(&f, keep_first);
    xmlDocPtr d = xmlReadMemory(src, (int)strlen(src), "x.xml", NULL,
                                XML_PARSE_NOBLANKS | XML_PARSE_NONET | XML_PARSE_NOERROR |
                                    XML_PARSE_NOWARNING);
    xmlSetStructuredErrorFunc(NULL, NULL);
    if (d)
        xmlFreeDoc(d);
    return f;
}

/* src is malformed: one error on line, at a column from col (the start of the construct at
 * fault) to libxml2's own column (where libxml2 noticed the mistake), whose message says
 * says (if not NULL). */
static void expect_malformed(const char *src, unsigned line, unsigned col, const char *says)
{
    first_error f = libxml2_error(src);
    assert_true(f.have);
    assert_int_equal(f.line, (int)line);
    unsigned last = f.col > 0 ? (unsigned)f.col : 1;
    PARSE(ctx, src);
    assert_null(ctx->doc);
    assert_int_equal(ctx->nerrors, 1);
    assert_int_equal(ctx->diags.n, 1);
    const provost_diag *d = &ctx->diags.v[0];
    assert_int_equal(d->severity, PROVOST_ERROR);
    if (d->line != line || d->col < col || d->col > last)
        fail_msg("reported at %u:%u (%s), expected line %u, column %u to %u", d->line, d->col,
                 d->message, line, col, last);
    assert_true(strncmp(d->message, "malformed XML: ", 15) == 0);
    assert_true(strlen(d->message) > 15);
    assert_null(strchr(d->message, '\n'));
    if (says && !strstr(d->message, says))
        fail_msg("\"%s\" does not say \"%s\"", d->message, says);
    pvc_ctx_free(ctx);
}

static void test_malformed_mismatched_tag(void **state)
{
    (void)state;
    expect_malformed("<a>\n  <b>\n</a>\n", 3, 1, NULL);
}

static void test_malformed_duplicate_attribute(void **state)
{
    (void)state;
    expect_malformed("<a>\n\n  <b x='1' x='2'/>\n</a>", 3, 3, "x");
}

static void test_malformed_undefined_entity(void **state)
{
    (void)state;
    expect_malformed("<a>\n  text &nosuch; more\n</a>", 2, 8, "nosuch");
}

static void test_malformed_unclosed(void **state)
{
    (void)state;
    expect_malformed("<a>\n  <b/>\n", 3, 1, NULL);
}

static void test_malformed_undeclared_prefix(void **state)
{
    (void)state;
    expect_malformed("<a>\n  <p:b/>\n</a>", 2, 3, "p");
}

static void test_malformed_after_utf8(void **state)
{
    (void)state;
    static const char src[] = "<a t=\"\xC3\xA9\xC3\xA9\">\n \xC3\xA9<b c=\"1\" c=\"2\"/>\n</a>";
    /* libxml2 counts columns in characters too: 17, not 18 */
    assert_int_equal(libxml2_error(src).col, 17);
    expect_malformed(src, 2, 3, NULL);
}

static void test_empty(void **state)
{
    (void)state;
    PARSE_LEN(ctx, "", 0);
    assert_null(ctx->doc);
    assert_int_equal(ctx->nerrors, 1);
    assert_int_equal(ctx->diags.v[0].line, 1);
    assert_int_equal(ctx->diags.v[0].col, 1);
    assert_non_null(strstr(ctx->diags.v[0].message, "empty"));
    pvc_ctx_free(ctx);
}

static void test_blank(void **state)
{
    (void)state;
    PARSE(ctx, "  \n\n  ");
    assert_null(ctx->doc);
    assert_int_equal(ctx->nerrors, 1);
    assert_non_null(strstr(ctx->diags.v[0].message, "malformed XML"));
    pvc_ctx_free(ctx);
}

static void test_binary(void **state)
{
    (void)state;
    static const char elf[] = "\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0";
    PARSE_LEN(ctx, elf, sizeof elf - 1);
    assert_null(ctx->doc);
    assert_int_equal(ctx->nerrors, 1);
    assert_int_equal(ctx->diags.v[0].line, 1);
    assert_int_equal(ctx->diags.v[0].col, 1);
    assert_non_null(strstr(ctx->diags.v[0].message, "binary"));
    pvc_ctx_free(ctx);

    /* a NUL inside what looks like XML is binary too */
    static const char nul[] = "<a>\0</a>";
    PARSE_LEN(ctx2, nul, sizeof nul - 1);
    assert_null(ctx2->doc);
    assert_non_null(strstr(ctx2->diags.v[0].message, "binary"));
    pvc_ctx_free(ctx2);
}

static void test_utf16_with_bom(void **state)
{
    (void)state;
    /* UTF-16LE with a byte-order mark: accepted, positions in characters as for UTF-8 */
    static const char src[] = "\xFF\xFE<\0a\0>\0\n\0 \0 \0<\0b\0 \0x\0=\0'\0\xE9\0'\0/\0>\0<\0/\0a\0>\0";
    PARSE_LEN(ctx, src, sizeof src - 1);
    assert_non_null(ctx->doc);
    assert_int_equal(ctx->nerrors, 0);
    expect_loc(ctx, "b", 2, 3);
    expect_attr_loc(ctx, "b", "x", 2, 6);
    xmlChar *x = xmlGetProp(elem(ctx, "b"), BAD_CAST "x");
    assert_string_equal((const char *)x, "\xC3\xA9");
    xmlFree(x);
    pvc_ctx_free(ctx);
}

static void test_latin1_declared(void **state)
{
    (void)state;
    PARSE(ctx, "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<a t=\"\xE9\xE9\"><b y=\"\xE8\"/></a>");
    assert_non_null(ctx->doc);
    assert_int_equal(ctx->nerrors, 0);
    expect_loc(ctx, "b", 2, 11);
    expect_attr_loc(ctx, "b", "y", 2, 14);
    xmlChar *y = xmlGetProp(elem(ctx, "b"), BAD_CAST "y");
    assert_string_equal((const char *)y, "\xC3\xA8");
    xmlFree(y);
    pvc_ctx_free(ctx);
}

int main(void)
{
    xmlInitParser();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_line),
        cmocka_unit_test(test_utf8_columns),
        cmocka_unit_test(test_utf8_on_later_line),
        cmocka_unit_test(test_later_lines),
        cmocka_unit_test(test_crlf_lines),
        cmocka_unit_test(test_multiline_start_tag),
        cmocka_unit_test(test_declaration_comment_cdata),
        cmocka_unit_test(test_large_document),
        cmocka_unit_test(test_attr_loc),
        cmocka_unit_test(test_attr_loc_name_inside_other_value),
        cmocka_unit_test(test_attr_loc_name_inside_other_value_multiline),
        cmocka_unit_test(test_attr_loc_suffix_and_prefixed_names),
        cmocka_unit_test(test_attr_diag_points_at_attribute),
        cmocka_unit_test(test_malformed_mismatched_tag),
        cmocka_unit_test(test_malformed_duplicate_attribute),
        cmocka_unit_test(test_malformed_undefined_entity),
        cmocka_unit_test(test_malformed_unclosed),
        cmocka_unit_test(test_malformed_undeclared_prefix),
        cmocka_unit_test(test_malformed_after_utf8),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_blank),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_utf16_with_bom),
        cmocka_unit_test(test_latin1_declared),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
