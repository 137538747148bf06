/*
 * test_scope.c -- scopes and paths (vm/scope.c) on a request state built by hand: the
 * scope a reference names (procedureData made lazily from its literal, forEach slots
 * bound, past their end, or unbound), pvm_select on simple paths walked natively and on
 * XPath (document order, attributes, a[@t='v'], namespaces, no match, errors), and
 * pvm_path_bool / pvm_path_value.  Each simple path is checked against its XPath
 * spelling ("./a/b" is not decoded, so it goes to libxml2): both must select the same
 * nodes.
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
#include <libxml/xmlsave.h>

#include "provost/compiler.h"
#include "vm/vm.h"

/* ---- the namespace: its paths are what the tests evaluate ------------------------------ */

static const char *const ns_xml =
    "<namespace name='S' providerSource='test' xmlns:u='urn:u'>"
    "<procedure name='Echo' type='read'/>"
    "<procedure name='Paths' type='read'>"
    "<procedureData><pd a='1'><x>lit</x></pd></procedureData>"
    "<execute namespace='S' procedure='Echo'>"
    "<when source='data'/>"
    "<when source='data' sourcePath='a/b'/>"
    "<when source='data' sourcePath='./a/b'/>"
    "<when source='data' sourcePath='a/@id'/>"
    "<when source='data' sourcePath='./a/@id'/>"
    "<when source='data' sourcePath='@top'/>"
    "<when source='data' sourcePath='a'/>"
    "<when source='data' sourcePath='b'/>"
    "<when source='data' sourcePath='x'/>"
    "<when source='data' sourcePath='./x'/>"
    "<when source='data' sourcePath=\"item[@type='x']/name\"/>"
    "<when source='data' sourcePath=\"./item[@type='x']/name\"/>"
    "<when source='data' sourcePath='thing'/>"
    "<when source='data' sourcePath='./thing'/>"
    "<when source='data' sourcePath='u:thing'/>"
    "<when source='data' sourcePath='a/b | a/c'/>"
    "<when source='data' sourcePath='descendant::b'/>"
    "<when source='data' sourcePath='zz'/>"
    "<when source='data' sourcePath='./zz'/>"
    "<when source='data' sourcePath='zz/@q'/>"
    "<when source='data' sourcePath='count(a)'/>"
    "<when source='data' sourcePath='count(a) &gt; 1'/>"
    "<when source='data' sourcePath='count(zz)'/>"
    "<when source='data' sourcePath=\"a/b = '2'\"/>"
    "<when source='data' sourcePath=\"a/b = '9'\"/>"
    "<when source='data' sourcePath='a[2]/b'/>"
    "<when source='data' sourcePath=\"concat(a/b, '-')\"/>"
    "<when source='data' sourcePath='string(zz)'/>"
    "<when source='data' sourcePath='count(1)'/>"
    "</execute></procedure>"
    "<procedure name='Bare' type='read'><execute namespace='S' procedure='Echo'/></procedure>"
    "</namespace>";

static const char *const data_xml =
    "<data top='T'>"
    "<a id='1'><b>1</b><c/><b>2</b></a>"
    "<a><b>3</b></a>"
    "<a id='3'><b>4</b></a>"
    "<item type='x'><name>first</name></item>"
    "<item type='xx'><name>no</name></item>"
    "<item><name>none</name></item>"
    "<item type='x'><name>second</name><name>third</name></item>"
    "<thing xmlns='urn:u'>ns</thing>"
    "<u:thing xmlns:u='urn:other'>other</u:thing>"
    "<thing>plain</thing>"
    "</data>";

#include "vm_fixture.h"

static int setup(void **state)
{
    (void)state;
    return vm_fixture_setup("scope.xml", ns_xml);
}

static int teardown(void **state)
{
    (void)state;
    return vm_fixture_teardown();
}

/* ---- a request state built by hand ---------------------------------------------------- */

typedef struct fixture {
    pvm_req r;
    pvm_frame f;
} fixture;

static uint32_t proc_index(const char *name)
{
    uint32_t p = pvm_find_proc(ns, name);
    assert_int_not_equal(p, PROVOST_NONE);
    return p;
}

/* request{data, context}, a frame of procedure proc on it, and an empty executeData. */
static fixture *fixture_new(const char *data, const char *proc)
{
    fixture *x = calloc(1, sizeof *x);
    assert_non_null(x);
    char *xml = malloc(strlen(data) + 200);
    assert_non_null(xml);
    sprintf(xml, "<request>%s<context><transactionContext transactionId='{T}'/><clientContext/></context></request>",
            data);
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "request", NULL, XML_PARSE_NOBLANKS);
    free(xml);
    assert_non_null(doc);
    pvm_req *r = &x->r;
    r->e = eng;
    r->doc = doc;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    r->data = root->children;
    r->context = root->last;
    pvm_frame *f = &x->f;
    f->req = r;
    f->ns = ns;
    f->b = ns->bundle;
    f->proc = &ns->bundle->procs_v[proc_index(proc)];
    f->data = r->data;
    f->exec_doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr ex = xmlNewDocNode(f->exec_doc, NULL, BAD_CAST "executeXml", NULL);
    xmlDocSetRootElement(f->exec_doc, ex);
    f->exec = xmlNewChild(ex, NULL, BAD_CAST "executeData", NULL);
    return x;
}

static void fixture_free(fixture *x)
{
    pvm_req *r = &x->r;
    pvm_frame *f = &x->f;
    for (unsigned i = 0; i < PROVOST_MAX_SLOTS; i++)
        free(f->loops[i].nodes);
    if (f->exec_doc)
        xmlFreeDoc(f->exec_doc);
    if (f->procdata_doc)
        xmlFreeDoc(f->procdata_doc);
    for (size_t i = 0; i < r->ngrave; i++)
        xmlFreeNode(r->grave[i]);
    free(r->grave);
    if (r->xp)
        xmlXPathFreeContext(r->xp);
    pvm_error_clear(&r->err);
    xmlFreeDoc(r->doc);
    free(x);
}

static uint32_t path(const char *text)
{
    const pvm_bundle *b = ns->bundle;
    for (size_t i = 0; i < b->npaths; i++) {
        const char *t = pvm_bundle_str(b, b->paths_v[i].text);
        if (t && strcmp(t, text) == 0)
            return (uint32_t)i;
    }
    fail_msg("no path \"%s\" in the bundle", text);
    return PROVOST_NONE;
}

static int kind(const char *text)
{
    return ns->bundle->paths_v[path(text)].kind;
}

/* The string value of a node (attribute value, text content). */
static char *value(xmlNodePtr n)
{
    xmlChar *v = xmlNodeGetContent(n);
    char *s = strdup(v ? (const char *)v : "");
    xmlFree(v);
    return s;
}

/* Selects text on node and checks the values of what it selected, in order. */
static void expect_values(fixture *x, const char *text, xmlNodePtr node, const char *const *want, size_t nwant)
{
    xmlNodePtr *v = NULL;
    size_t n = 0, cap = 0;
    assert_int_equal(pvm_select(&x->f, path(text), node, &v, &n, &cap), 0);
    if (n != nwant)
        fail_msg("\"%s\" selected %zu nodes, expected %zu", text, n, nwant);
    for (size_t i = 0; i < n; i++) {
        char *s = value(v[i]);
        if (strcmp(s, want[i]) != 0)
            fail_msg("\"%s\" node %zu is \"%s\", expected \"%s\"", text, i, s, want[i]);
        free(s);
    }
    free(v);
}

/* Both spellings of a path select the very same nodes (pointers), in the same order. */
static void expect_same(fixture *x, const char *simple, const char *xpath)
{
    assert_int_equal(kind(simple), PROVOST_PATH_SIMPLE);
    assert_int_equal(kind(xpath), PROVOST_PATH_XPATH);
    xmlNodePtr *a = NULL, *b = NULL;
    size_t na = 0, ca = 0, nb = 0, cb = 0;
    assert_int_equal(pvm_select(&x->f, path(simple), x->r.data, &a, &na, &ca), 0);
    assert_int_equal(pvm_select(&x->f, path(xpath), x->r.data, &b, &nb, &cb), 0);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++)
        assert_ptr_equal(a[i], b[i]);
    free(a);
    free(b);
}

static bool holds(fixture *x, const char *text, xmlNodePtr node)
{
    bool out = true;
    assert_int_equal(pvm_path_bool(&x->f, path(text), node, &out), 0);
    return out;
}

/* The value as pvm_path_value gives it; "(null)" for nothing selected. */
static void value_is(fixture *x, const char *text, xmlNodePtr node, const char *want)
{
    char *v = (char *)"unset";
    assert_int_equal(pvm_path_value(&x->f, path(text), node, &v), 0);
    if (!want) {
        if (v)
            fail_msg("\"%s\" gave \"%s\", expected nothing", text, v);
        return;
    }
    if (!v)
        fail_msg("\"%s\" gave nothing, expected \"%s\"", text, want);
    assert_string_equal(v, want);
    free(v);
}

/* ---- scopes ------------------------------------------------------------------------- */

static void test_scopes(void **state)
{
    (void)state;
    fixture *x = fixture_new("<data><a/></data>", "Paths");
    pvm_frame *f = &x->f;
    assert_ptr_equal(pvm_scope(f, PROVOST_SCOPE_DATA), x->r.data);
    assert_ptr_equal(pvm_scope(f, PROVOST_SCOPE_EXECDATA), f->exec);
    assert_ptr_equal(pvm_scope(f, PROVOST_SCOPE_CONTEXT), x->r.context);

    /* procedureData: made on first use from the literal, then the same node */
    assert_null(f->procdata_doc);
    xmlNodePtr pd = pvm_scope(f, PROVOST_SCOPE_PROCDATA);
    assert_non_null(pd);
    assert_non_null(f->procdata_doc);
    assert_ptr_equal(pd->doc, f->procdata_doc);
    assert_string_equal((const char *)pd->name, "procedureData");
    assert_ptr_equal(pvm_scope(f, PROVOST_SCOPE_PROCDATA), pd);
    char *v = value(pd);
    assert_string_equal(v, "lit");
    free(v);
    /* a copy: changing it leaves the literal, and the next invocation starts afresh */
    xmlNodeSetContent(pd->children, BAD_CAST "changed");
    fixture *y = fixture_new("<data/>", "Paths");
    xmlNodePtr pd2 = pvm_scope(&y->f, PROVOST_SCOPE_PROCDATA);
    assert_ptr_not_equal(pd2, pd);
    v = value(pd2);
    assert_string_equal(v, "lit");
    free(v);
    fixture_free(y);

    /* a procedure without procedureData gets an empty one */
    fixture *z = fixture_new("<data/>", "Bare");
    xmlNodePtr empty = pvm_scope(&z->f, PROVOST_SCOPE_PROCDATA);
    assert_non_null(empty);
    assert_string_equal((const char *)empty->name, "procedureData");
    assert_null(empty->children);
    assert_null(empty->properties);
    fixture_free(z);
    fixture_free(x);
}

static void test_slots(void **state)
{
    (void)state;
    fixture *x = fixture_new("<data><a>1</a><a>2</a></data>", "Paths");
    pvm_frame *f = &x->f;
    pvm_loop *l = &f->loops[0];
    assert_int_equal(pvm_select(f, path("a"), x->r.data, &l->nodes, &l->n, &l->cap), 0);
    assert_int_equal(l->n, 2);
    l->i = 0;
    assert_ptr_equal(pvm_scope(f, PROVOST_SCOPE_SLOT0), l->nodes[0]);
    l->i = 1;
    assert_ptr_equal(pvm_scope(f, PROVOST_SCOPE_SLOT0), l->nodes[1]);
    l->i = 2; /* past the end */
    assert_null(pvm_scope(f, PROVOST_SCOPE_SLOT0));
    /* an empty slot, and one left unbound by ifNull="ignore" (run once, bound to nothing) */
    assert_null(pvm_scope(f, PROVOST_SCOPE_SLOT0 + 1));
    f->loops[2] = (pvm_loop){.n = 1, .i = 0, .unbound = true};
    xmlNodePtr none = pvm_scope(f, PROVOST_SCOPE_SLOT0 + 2);
    assert_null(none);

    /* whatever is evaluated on an unbound slot selects nothing, without error */
    xmlNodePtr *v = NULL;
    size_t n = 0, cap = 0;
    assert_int_equal(pvm_select(f, path("a"), none, &v, &n, &cap), 0);
    assert_int_equal(pvm_select(f, path("./a/b"), none, &v, &n, &cap), 0);
    assert_int_equal(pvm_select(f, path(""), none, &v, &n, &cap), 0);
    assert_int_equal(n, 0);
    free(v);
    bool b = true;
    assert_int_equal(pvm_path_bool(f, path("count(zz)"), none, &b), 0);
    assert_false(b);
    assert_int_equal(pvm_path_bool(f, path(""), none, &b), 0);
    assert_false(b);
    char *s = (char *)"unset";
    assert_int_equal(pvm_path_value(f, path("count(a)"), none, &s), 0);
    assert_null(s);
    assert_int_equal(x->r.err.code, 0);
    fixture_free(x);
}

/* ---- pvm_select --------------------------------------------------------------------- */

static void test_select_document_order(void **state)
{
    (void)state;
    fixture *x = fixture_new(data_xml, "Paths");
    const char *b[] = {"1", "2", "3", "4"};
    expect_values(x, "a/b", x->r.data, b, 4);
    expect_values(x, "./a/b", x->r.data, b, 4);
    expect_values(x, "descendant::b", x->r.data, b, 4);
    expect_same(x, "a/b", "./a/b");
    /* a union comes back in document order, not in the order of its operands */
    const char *bc[] = {"1", "", "2", "3", "4"};
    expect_values(x, "a/b | a/c", x->r.data, bc, 5);
    /* the same path from another context node */
    xmlNodePtr *v = NULL;
    size_t n = 0, cap = 0;
    assert_int_equal(pvm_select(&x->f, path("a"), x->r.data, &v, &n, &cap), 0);
    assert_int_equal(n, 3);
    const char *first[] = {"1", "2"};
    expect_values(x, "b", v[0], first, 2);
    free(v);
    fixture_free(x);
}

static void test_select_attributes(void **state)
{
    (void)state;
    fixture *x = fixture_new(data_xml, "Paths");
    const char *ids[] = {"1", "3"}; /* the a without @id contributes nothing */
    expect_values(x, "a/@id", x->r.data, ids, 2);
    expect_same(x, "a/@id", "./a/@id");
    xmlNodePtr *v = NULL;
    size_t n = 0, cap = 0;
    assert_int_equal(pvm_select(&x->f, path("a/@id"), x->r.data, &v, &n, &cap), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v[i]->type, XML_ATTRIBUTE_NODE);
        assert_string_equal((const char *)v[i]->name, "id");
    }
    free(v);
    const char *top[] = {"T"};
    expect_values(x, "@top", x->r.data, top, 1);
    expect_values(x, "zz/@q", x->r.data, NULL, 0);
    fixture_free(x);
}

static void test_select_childeq(void **state)
{
    (void)state;
    fixture *x = fixture_new(data_xml, "Paths");
    /* type="xx" and no type are not type="x" */
    const char *names[] = {"first", "second", "third"};
    expect_values(x, "item[@type='x']/name", x->r.data, names, 3);
    expect_values(x, "./item[@type='x']/name", x->r.data, names, 3);
    expect_same(x, "item[@type='x']/name", "./item[@type='x']/name");
    fixture_free(x);
}

static void test_select_namespaces(void **state)
{
    (void)state;
    fixture *x = fixture_new(data_xml, "Paths");
    /* an unprefixed name is an element in no namespace, natively as in XPath */
    const char *plain[] = {"plain"};
    expect_values(x, "thing", x->r.data, plain, 1);
    expect_same(x, "thing", "./thing");
    /* a prefix means the URI declared for it in the namespace file, whatever the data's
     * own prefixes */
    const char *u[] = {"ns"};
    expect_values(x, "u:thing", x->r.data, u, 1);
    fixture_free(x);
}

static void test_select_nothing_and_errors(void **state)
{
    (void)state;
    fixture *x = fixture_new(data_xml, "Paths");
    expect_values(x, "zz", x->r.data, NULL, 0);
    expect_values(x, "./zz", x->r.data, NULL, 0);
    /* a simple path on a node without such children, and on an attribute */
    xmlNodePtr *v = NULL;
    size_t n = 0, cap = 0;
    assert_int_equal(pvm_select(&x->f, path("@top"), x->r.data, &v, &n, &cap), 0);
    assert_int_equal(n, 1);
    xmlNodePtr attr = v[0];
    n = 0;
    assert_int_equal(pvm_select(&x->f, path("a/b"), attr, &v, &n, &cap), 0);
    assert_int_equal(n, 0);
    assert_int_equal(x->r.err.code, 0);
    /* an XPath that is not a node set cannot be selected */
    assert_int_equal(pvm_select(&x->f, path("count(a)"), x->r.data, &v, &n, &cap), -1);
    assert_int_equal(x->r.err.code, PROVOST_E_INVALIDARG);
    assert_non_null(strstr(x->r.err.description, "count(a)"));
    /* an XPath that fails at run time is an error, not a crash */
    pvm_error_clear(&x->r.err);
    assert_int_equal(pvm_select(&x->f, path("count(1)"), x->r.data, &v, &n, &cap), -1);
    assert_int_equal(x->r.err.code, PROVOST_E_INVALIDARG);
    assert_non_null(strstr(x->r.err.description, "count(1)"));
    bool b;
    pvm_error_clear(&x->r.err);
    assert_int_equal(pvm_path_bool(&x->f, path("count(1)"), x->r.data, &b), -1);
    assert_int_equal(x->r.err.code, PROVOST_E_INVALIDARG);
    char *s = NULL;
    pvm_error_clear(&x->r.err);
    assert_int_equal(pvm_path_value(&x->f, path("count(1)"), x->r.data, &s), -1);
    assert_null(s);
    assert_int_equal(x->r.err.code, PROVOST_E_INVALIDARG);
    free(v);
    fixture_free(x);
}

/* pvm_select appends: what the array held stays, in front. */
static void test_select_appends(void **state)
{
    (void)state;
    fixture *x = fixture_new(data_xml, "Paths");
    xmlNodePtr *v = NULL;
    size_t n = 0, cap = 0;
    assert_int_equal(pvm_select(&x->f, path(""), x->r.data, &v, &n, &cap), 0); /* "." is the node */
    assert_int_equal(n, 1);
    assert_ptr_equal(v[0], x->r.data);
    for (int round = 0; round < 5; round++) { /* grows past its first allocation */
        assert_int_equal(pvm_select(&x->f, path("a/b"), x->r.data, &v, &n, &cap), 0);
        assert_int_equal(pvm_select(&x->f, path("./a/@id"), x->r.data, &v, &n, &cap), 0);
    }
    assert_int_equal(n, 1 + 5 * 6);
    assert_true(cap >= n);
    assert_ptr_equal(v[0], x->r.data);
    char *s = value(v[1 + 6 * 4 + 5]);
    assert_string_equal(s, "3"); /* the last round's second id */
    free(s);
    free(v);
    fixture_free(x);
}

/* One XPath context serves every evaluation: moving between documents (data,
 * executeData) and between paths with and without prefixes gives each its own answer. */
static void test_xpath_context_reuse(void **state)
{
    (void)state;
    fixture *x = fixture_new(data_xml, "Paths");
    xmlNodePtr ex = x->f.exec;
    xmlNewChild(ex, NULL, BAD_CAST "x", BAD_CAST "in executeData");
    const char *u[] = {"ns"}, *exv[] = {"in executeData"};
    expect_values(x, "u:thing", x->r.data, u, 1);
    xmlXPathContextPtr xp = x->r.xp;
    assert_non_null(xp);
    expect_values(x, "./x", ex, exv, 1);
    expect_values(x, "./x", x->r.data, NULL, 0);
    expect_values(x, "./thing", x->r.data, (const char *[]){"plain"}, 1);
    expect_values(x, "u:thing", x->r.data, u, 1);
    assert_ptr_equal(x->r.xp, xp);
    expect_same(x, "x", "./x");
    fixture_free(x);
}

/* ---- pvm_path_bool and pvm_path_value ------------------------------------------------- */

static void test_path_bool(void **state)
{
    (void)state;
    fixture *x = fixture_new(data_xml, "Paths");
    xmlNodePtr d = x->r.data;
    assert_true(holds(x, "", d));           /* the node exists */
    assert_true(holds(x, "a/b", d));        /* a non-empty node set */
    assert_false(holds(x, "zz", d));
    assert_true(holds(x, "a/@id", d));
    assert_false(holds(x, "./zz", d));
    assert_true(holds(x, "count(a) > 1", d)); /* a true comparison */
    assert_true(holds(x, "a/b = '2'", d));    /* some node equals */
    assert_false(holds(x, "a/b = '9'", d));
    assert_true(holds(x, "count(a)", d));   /* a non-zero number */
    assert_false(holds(x, "count(zz)", d)); /* zero */
    assert_true(holds(x, "concat(a/b, '-')", d));
    assert_false(holds(x, "string(zz)", d)); /* the empty string */
    assert_true(holds(x, "item[@type='x']/name", d));
    /* relative to the context node given */
    xmlNodePtr *v = NULL;
    size_t n = 0, cap = 0;
    assert_int_equal(pvm_select(&x->f, path("a"), d, &v, &n, &cap), 0);
    assert_true(holds(x, "b", v[0]));
    assert_false(holds(x, "a/b", v[0]));
    free(v);
    /* no node: false */
    bool b = true;
    assert_int_equal(pvm_path_bool(&x->f, path("a/b"), NULL, &b), 0);
    assert_false(b);
    fixture_free(x);
}

static void test_path_value(void **state)
{
    (void)state;
    fixture *x = fixture_new(data_xml, "Paths");
    xmlNodePtr d = x->r.data;
    value_is(x, "a/b", d, "1");        /* the first node */
    value_is(x, "./a/b", d, "1");
    value_is(x, "a", d, "12");         /* an element's string value: its text */
    value_is(x, "a/@id", d, "1");
    value_is(x, "./a/@id", d, "1");
    value_is(x, "@top", d, "T");
    value_is(x, "a[2]/b", d, "3");
    value_is(x, "count(a)", d, "3");   /* numbers as strings */
    value_is(x, "count(zz)", d, "0");
    value_is(x, "count(a) > 1", d, "true");
    value_is(x, "concat(a/b, '-')", d, "1-");
    value_is(x, "string(zz)", d, ""); /* an empty string is a value */
    value_is(x, "zz", d, NULL);       /* nothing selected: no value */
    value_is(x, "./zz", d, NULL);
    value_is(x, "zz/@q", d, NULL);
    value_is(x, "item[@type='x']/name", d, "first");
    value_is(x, "", d, "1234firstnononesecondthirdnsotherplain");
    char *s = (char *)"unset";
    assert_int_equal(pvm_path_value(&x->f, path("a/b"), NULL, &s), 0);
    assert_null(s);
    fixture_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_select_document_order),
        cmocka_unit_test(test_select_attributes),
        cmocka_unit_test(test_select_childeq),
        cmocka_unit_test(test_select_namespaces),
        cmocka_unit_test(test_select_nothing_and_errors),
        cmocka_unit_test(test_select_appends),
        cmocka_unit_test(test_xpath_context_reuse),
        cmocka_unit_test(test_path_bool),
        cmocka_unit_test(test_path_value),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
