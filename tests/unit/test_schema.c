/*
 * test_schema.c -- a procedure's Schema elements (compiler/schema.c): an XSD is
 * compiled at compile time and stored with the procedure; a broken one is a compile
 * error at its xs:schema; anything else is stored with a warning.
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
#include <libxml/xmlschemas.h>

#include "provost/compiler.h"
#include "vm/bundle.h"

/* ---- compiling through the public entry ---------------------------------------------- */

typedef struct compiled {
    provost_compiled c;
    pvm_bundle *b;
} compiled;

static void dump(const provost_compiled *c)
{
    provost_compiled_print(c, "test.xml", stderr);
}

/* Compiles src, which must succeed, and loads the bundle. */
static compiled *compile_ok(const char *src)
{
    compiled *r = calloc(1, sizeof *r);
    assert_non_null(r);
    if (provost_compile("test.xml", src, strlen(src), &r->c) != 0) {
        dump(&r->c);
        fail_msg("the document did not compile");
    }
    char err[256];
    r->b = pvm_bundle_load(r->c.bundle, r->c.size, 1, err, sizeof err);
    if (!r->b)
        fail_msg("the bundle does not load: %s", err);
    return r;
}

static void compiled_free(compiled *r)
{
    if (r->b)
        pvm_bundle_close(r->b);
    provost_compiled_free(&r->c);
    free(r);
}

static const provost_diag *diag_with(const provost_compiled *c, const char *text)
{
    for (size_t i = 0; i < c->ndiags; i++)
        if (strstr(c->diags[i].message, text))
            return &c->diags[i];
    dump(c);
    fail_msg("no diagnostic says \"%s\"", text);
    return NULL;
}

/* ---- using a stored schema ---------------------------------------------------------------- */

/* The xs:schema inside a stored Schema literal, compiled on its own. */
static xmlSchemaPtr stored_xsd(const char *literal)
{
    xmlDocPtr d = xmlReadMemory(literal, (int)strlen(literal), "schema", NULL, XML_PARSE_NONET);
    assert_non_null(d);
    xmlNodePtr s = xmlDocGetRootElement(d);
    assert_string_equal((const char *)s->name, "Schema");
    xmlNodePtr x = s->children;
    while (x && x->type != XML_ELEMENT_NODE)
        x = x->next;
    assert_non_null(x);
    assert_string_equal((const char *)x->name, "schema");
    xmlDocPtr sd = xmlNewDoc(BAD_CAST "1.0");
    xmlDocSetRootElement(sd, xmlDocCopyNode(x, sd, 1));
    xmlFreeDoc(d);
    xmlSchemaParserCtxtPtr pc = xmlSchemaNewDocParserCtxt(sd);
    xmlSchemaPtr schema = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);
    xmlFreeDoc(sd);
    assert_non_null(schema);
    return schema;
}

static int validate(xmlSchemaPtr schema, const char *xml)
{
    xmlDocPtr d = xmlReadMemory(xml, (int)strlen(xml), "data", NULL, XML_PARSE_NONET);
    assert_non_null(d);
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema);
    xmlSchemaSetValidStructuredErrors(vc, NULL, NULL);
    int rc = xmlSchemaValidateDoc(vc, d);
    xmlSchemaFreeValidCtxt(vc);
    xmlFreeDoc(d);
    return rc;
}

static void quiet(void *u, const char *fmt, ...)
{
    (void)u;
    (void)fmt;
}

/* ---- tests ------------------------------------------------------------------------------------ */

static const char valid_ns[] =
    "<namespace name=\"S\" providerSource=\"p\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n"
    "  <procedure name=\"P\" type=\"read\">\n"
    "    <Schema name=\"inputSchema\">\n"
    "      <xs:schema>\n"
    "        <xs:element name=\"user\">\n"
    "          <xs:complexType>\n"
    "            <xs:attribute name=\"n\" type=\"xs:string\" use=\"required\"/>\n"
    "          </xs:complexType>\n"
    "        </xs:element>\n"
    "      </xs:schema>\n"
    "    </Schema>\n"
    "  </procedure>\n"
    "  <procedure name=\"Q\" type=\"read\">\n"
    "    <Schema name=\"outputSchema\">\n"
    "      <xs:schema><xs:element name=\"result\" type=\"xs:int\"/></xs:schema>\n"
    "    </Schema>\n"
    "  </procedure>\n"
    "</namespace>\n";

static void test_valid_xsd_stored(void **state)
{
    (void)state;
    compiled *r = compile_ok(valid_ns);
    assert_int_equal(r->c.nerrors, 0);
    assert_int_equal(r->c.nwarnings, 0);
    assert_int_equal(r->b->nprocs, 2);
    const provost_proc *p = &r->b->procs_v[0];
    assert_string_equal(pvm_bundle_str(r->b, p->name), "P");
    assert_int_not_equal(p->input_schema, PROVOST_NONE);
    assert_int_equal(p->output_schema, PROVOST_NONE);
    const char *lit = pvm_bundle_str(r->b, p->input_schema);
    assert_non_null(strstr(lit, "name=\"inputSchema\""));
    /* stored with its namespace declaration, so it is usable on its own */
    xmlSchemaPtr s = stored_xsd(lit);
    assert_int_equal(validate(s, "<user n=\"joe\"/>"), 0);
    assert_int_not_equal(validate(s, "<user/>"), 0);
    assert_int_not_equal(validate(s, "<group n=\"x\"/>"), 0);
    xmlSchemaFree(s);

    const provost_proc *q = &r->b->procs_v[1];
    assert_int_equal(q->input_schema, PROVOST_NONE);
    assert_int_not_equal(q->output_schema, PROVOST_NONE);
    s = stored_xsd(pvm_bundle_str(r->b, q->output_schema));
    assert_int_equal(validate(s, "<result>42</result>"), 0);
    assert_int_not_equal(validate(s, "<result>many</result>"), 0);
    xmlSchemaFree(s);
    compiled_free(r);
}

static void test_xsd_in_mpf_namespace_file(void **state)
{
    (void)state;
    compiled *r = compile_ok(
        "<namespace xmlns=\"http://maps/specs/prov.xml\" name=\"S\" providerSource=\"p\">"
        "<procedure name=\"P\" type=\"read\"><Schema name=\"inputSchema\">"
        "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">"
        "<xs:element name=\"user\" type=\"xs:string\"/></xs:schema>"
        "</Schema></procedure></namespace>");
    assert_int_equal(r->c.nwarnings, 0);
    xmlSchemaPtr s = stored_xsd(pvm_bundle_str(r->b, r->b->procs_v[0].input_schema));
    assert_int_equal(validate(s, "<user>x</user>"), 0);
    xmlSchemaFree(s);
    compiled_free(r);
}

static void expect_invalid(const char *xsd_body, const char *says)
{
    char src[2048];
    snprintf(src, sizeof src,
             "<namespace name=\"S\" providerSource=\"p\">\n"
             "  <procedure name=\"P\" type=\"read\">\n"
             "    <Schema name=\"inputSchema\">\n"
             "      <xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n"
             "        %s\n"
             "      </xs:schema>\n"
             "    </Schema>\n"
             "  </procedure>\n"
             "</namespace>\n",
             xsd_body);
    provost_compiled c;
    assert_int_equal(provost_compile("test.xml", src, strlen(src), &c), -1);
    assert_null(c.bundle);
    assert_int_equal(c.nerrors, 1);
    const provost_diag *d = diag_with(&c, "invalid XSD in <Schema name=\"inputSchema\">");
    assert_int_equal(d->severity, PROVOST_ERROR);
    /* at the xs:schema (line 4), or at the element inside it that is at fault (line 5) */
    if (!(d->line == 4 && d->col == 7) && !(d->line == 5 && d->col >= 9))
        fail_msg("reported at %u:%u: %s", d->line, d->col, d->message);
    if (says && !strstr(d->message, says))
        fail_msg("\"%s\" does not mention \"%s\"", d->message, says);
    provost_compiled_free(&c);
}

static void test_invalid_xsd(void **state)
{
    (void)state;
    expect_invalid("<xs:element name=\"user\" type=\"xs:nosuchtype\"/>", "nosuchtype");
    expect_invalid("<xs:elemnt name=\"user\"/>", NULL);
    expect_invalid("<xs:element/>", NULL);
    expect_invalid("<xs:element name=\"a\" type=\"xs:string\"/><xs:element name=\"a\" type=\"xs:int\"/>", NULL);
}

static void test_non_xsd_is_a_warning(void **state)
{
    (void)state;
    compiled *r = compile_ok("<namespace name=\"S\" providerSource=\"p\">\n"
                             "  <procedure name=\"P\" type=\"read\">\n"
                             "    <Schema name=\"outputSchema\"><foo><bar/></foo></Schema>\n"
                             "    <Schema name=\"inputSchema\"/>\n"
                             "  </procedure>\n"
                             "  <procedure name=\"Q\" type=\"read\">\n"
                             "    <Schema name=\"inputSchema\">\n"
                             "      <xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"/>\n"
                             "      <xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\"/>\n"
                             "    </Schema>\n"
                             "  </procedure>\n"
                             "</namespace>\n");
    assert_int_equal(r->c.nerrors, 0);
    assert_int_equal(r->c.nwarnings, 3);
    const provost_diag *d = diag_with(&r->c, "does not hold one xs:schema");
    assert_int_equal(d->severity, PROVOST_WARNING);
    assert_int_equal(d->line, 3);
    assert_int_equal(d->col, 5);
    d = diag_with(&r->c, "is empty");
    assert_int_equal(d->severity, PROVOST_WARNING);
    assert_int_equal(d->line, 4);
    /* two xs:schema: not used either */
    assert_int_equal(r->c.diags[2].line, 7);
    assert_non_null(strstr(r->c.diags[2].message, "does not hold one xs:schema"));
    /* stored anyway */
    const provost_proc *p = &r->b->procs_v[0];
    assert_int_not_equal(p->output_schema, PROVOST_NONE);
    assert_non_null(strstr(pvm_bundle_str(r->b, p->output_schema), "<foo><bar/></foo>"));
    assert_int_not_equal(p->input_schema, PROVOST_NONE);
    assert_int_not_equal(r->b->procs_v[1].input_schema, PROVOST_NONE);
    compiled_free(r);
}

static void test_schema_name_errors(void **state)
{
    (void)state;
    static const char src[] = "<namespace name=\"S\" providerSource=\"p\">\n"
                              "  <procedure name=\"P\" type=\"read\">\n"
                              "    <Schema name=\"middleSchema\"/>\n"
                              "    <Schema/>\n"
                              "    <Schema name=\"inputSchema\"/>\n"
                              "    <Schema name=\"inputSchema\"/>\n"
                              "  </procedure>\n"
                              "</namespace>\n";
    provost_compiled c;
    assert_int_equal(provost_compile("test.xml", src, strlen(src), &c), -1);
    assert_int_equal(c.nerrors, 3);
    const provost_diag *d = diag_with(&c, "name=\"middleSchema\" is not valid");
    assert_int_equal(d->line, 3);
    assert_int_equal(d->col, 13); /* at the attribute */
    assert_non_null(strstr(d->message, "'inputSchema', 'outputSchema'"));
    d = diag_with(&c, "needs a 'name'");
    assert_int_equal(d->line, 4);
    d = diag_with(&c, "at most one <Schema name=\"inputSchema\">");
    assert_int_equal(d->line, 6);
    provost_compiled_free(&c);
}

int main(void)
{
    provost_compiler_init();
    xmlSetGenericErrorFunc(NULL, quiet);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_xsd_stored),
        cmocka_unit_test(test_xsd_in_mpf_namespace_file),
        cmocka_unit_test(test_invalid_xsd),
        cmocka_unit_test(test_non_xsd_is_a_warning),
        cmocka_unit_test(test_schema_name_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
