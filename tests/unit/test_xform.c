/*
 * test_xform.c -- transforms (vm/xform.c, SPEC §5) applied with pvm_xform to trees made
 * by hand: insert (copies, attributes as attributes, XSL per node), merge (attributes
 * overwrite, the k-th same-name child replaced, text replaced, idempotent), replace (a
 * scope root keeps its name; a destinationPath node is replaced), move (the nodes
 * themselves leave their place; never into themselves, never a scope), destinationPath
 * (a/b/c created, other paths must select something, the first of several), ifNull and
 * allowNullTransform, the engine's read-only part of the context, XSLT failures.
 *
 * Each case is a procedure of the namespace below; the test takes the transforms its
 * step compiled to and applies them to a request state of its own.
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

#define STEP(body) "<execute namespace='S' procedure='Echo'>" body "</execute>"
#define PROC(name, body) "<procedure name='" name "' type='read'>" body "</procedure>"

static const char *const ns_xml =
    "<namespace name='S' providerSource='test' xmlns:xsl='http://www.w3.org/1999/XSL/Transform'>"
    "<procedure name='Echo' type='read'/>"
    PROC("Insert", STEP("<after source='data' sourcePath='src/item' destination='executeData'/>"))
    PROC("InsertAttrs", STEP("<after source='data' sourcePath='src/@a | src/item' destination='executeData'/>"
                             "<after source='data' sourcePath='src/@a' destination='executeData'/>"))
    PROC("InsertNs", STEP("<after source='data' sourcePath='src/item' destination='data' destinationPath='*[1]'/>"))
    PROC("InsertXsl", STEP("<after source='data' sourcePath='src/item' destination='executeData'>"
                           "<xsl:template match='item'><out v='{@k}'/></xsl:template></after>"
                           "<after source='data' sourcePath='src/item' destination='executeData'>"
                           "<xsl:template match='/'><root name='{name(*)}' k='{*/@k}'/></xsl:template></after>"))
    PROC("Merge", STEP("<after source='data' sourcePath='rec' destination='executeData' mode='merge'/>"))
    PROC("ReplaceRoot", STEP("<after source='data' sourcePath='rec' destination='executeData' mode='replace'/>"
                             "<after source='data' sourcePath='inner' destination='data' mode='replace'/>"))
    PROC("ReplacePath", "<procedureData><new n='1'/><new n='2'/></procedureData>"
                        STEP("<after source='procedureData' sourcePath='new' destination='data' "
                             "destinationPath='list/old' mode='replace'/>"))
    PROC("Move", STEP("<after source='data' sourcePath='src/m' destination='data' destinationPath='dst' mode='move'/>"
                      "<after source='data' sourcePath='src/m' destination='executeData' mode='move'/>"
                      "<after source='data' sourcePath='src' destination='data' destinationPath='src/inner' mode='move'/>"))
    PROC("MoveScope", STEP("<after source='data' sourcePath='.' destination='executeData' mode='move'/>"
                           "<after source='data' sourcePath='..' destination='executeData' mode='move'/>"
                           "<after source='data' sourcePath='/' destination='executeData' mode='move'/>"))
    PROC("MoveAttr", STEP("<after source='data' sourcePath='src/@a | src/m' destination='procedureData' mode='move'/>"))
    PROC("MoveText", "<procedureData>pd-text</procedureData>"
                     STEP("<after source='data' sourcePath='src/text() | src/m' destination='procedureData' mode='move'/>"))
    PROC("Create", STEP("<after source='data' sourcePath='src/item' destination='executeData' destinationPath='a/b/c'/>"
                        "<after source='data' sourcePath='src/item' destination='executeData' destinationPath='zz[1]'/>"
                        "<after source='data' sourcePath='src/item' destination='executeData' "
                        "destinationPath=\"a[@t='v']\"/>"
                        "<after source='data' sourcePath='src/item' destination='executeData' destinationPath='slot'/>"))
    PROC("IfNull", STEP("<forEach name='s' root='data' path='zz' ifNull='ignore'/>"
                        "<after source='data' sourcePath='zz' destination='executeData'/>"
                        "<after source='data' sourcePath='zz' destination='executeData' ifNull='ignore'/>"
                        "<after source='data' sourcePath='zz' destination='executeData' ifNull='skip'/>"
                        "<after source='s' destination='executeData'/>"
                        "<after source='s' destination='executeData' ifNull='skip'/>"
                        "<after source='data' sourcePath='src' destination='s'/>"))
    PROC("NullResult", STEP("<after source='data' sourcePath='src' destination='executeData'>"
                            "<xsl:template match='/'>only text</xsl:template></after>"
                            "<after source='data' sourcePath='src' destination='executeData' allowNullTransform='1'>"
                            "<xsl:template match='/'>only text</xsl:template></after>"
                            "<after source='data' sourcePath='src/@a' destination='executeData'/>"
                            "<after source='data' sourcePath='src/@a' destination='executeData' allowNullTransform='1'/>"))
    PROC("Context", STEP("<forEach name='t' root='context' path='transactionContext'/>"
                         "<forEach name='c' root='context' path='.'/>"
                         "<after source='data' sourcePath='rec' destination='context' destinationPath='*[1]' mode='merge'/>"
                         "<after source='data' sourcePath='rec' destination='context' destinationPath='clientContext' mode='merge'/>"
                         "<after source='data' sourcePath='rec' destination='t' mode='merge'/>"
                         "<after source='data' sourcePath='rec' destination='context' mode='merge'/>"
                         "<after source='context' sourcePath='transactionContext' destination='data' mode='move'/>"
                         "<after source='data' sourcePath='rec' destination='c' mode='replace'/>"
                         "<after source='data' sourcePath='note' destination='context'/>"
                         "<after source='data' sourcePath='rec' destination='t'/>"))
    PROC("Xslt", STEP("<after source='data' sourcePath='src' destination='executeData'>"
                      "<xsl:template match='/'><xsl:message terminate='yes'>stop here</xsl:message></xsl:template></after>"
                      "<after source='data' sourcePath='src/@a' destination='executeData'>"
                      "<xsl:template match='/'><x/></xsl:template></after>"))
    "</namespace>";

#include "vm_fixture.h"

static int setup(void **state)
{
    (void)state;
    return vm_fixture_setup("xform.xml", ns_xml);
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
    const char *proc;
} fixture;

/* request{data, context}, a frame of procedure proc on it, an empty executeData. */
static fixture *fixture_new(const char *proc, const char *data)
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
    uint32_t p = pvm_find_proc(ns, proc);
    assert_int_not_equal(p, PROVOST_NONE);
    x->proc = proc;
    f->req = r;
    f->ns = ns;
    f->b = ns->bundle;
    f->proc = &ns->bundle->procs_v[p];
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
    /* the order of the engine: the frame's documents go first, the graveyard at the end
     * of the request, the request document last */
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

/* The executeData element replaced by this XML (attributes and children as given). */
static void set_exec(fixture *x, const char *xml)
{
    xmlDocPtr d = xmlReadMemory(xml, (int)strlen(xml), "exec", NULL, XML_PARSE_NOBLANKS);
    assert_non_null(d);
    xmlNodePtr n = xmlDocCopyNode(xmlDocGetRootElement(d), x->f.exec_doc, 1);
    xmlFreeDoc(d);
    assert_non_null(n);
    xmlNodePtr old = xmlReplaceNode(x->f.exec, n);
    xmlFreeNode(old);
    x->f.exec = n;
}

/* The k-th transform of the fixture's procedure. */
static const provost_xform *xf(fixture *x, int k)
{
    const pvm_bundle *b = ns->bundle;
    const provost_proc *p = x->f.proc;
    for (uint32_t pc = 0; pc < p->ncode; pc++) {
        const provost_insn *in = &b->code_v[p->code + pc];
        if (in->op == PROVOST_OP_XFORM && k-- == 0)
            return &b->xforms_v[in->p4];
    }
    fail_msg("procedure %s has no transform #%d", x->proc, k);
    return NULL;
}

static pvm_xf_result apply(fixture *x, int k)
{
    return pvm_xform(&x->f, xf(x, k));
}

static char *ser(xmlNodePtr n)
{
    xmlBufferPtr buf = xmlBufferCreate();
    assert_non_null(buf);
    xmlSaveCtxtPtr s = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_NO_DECL);
    assert_non_null(s);
    xmlSaveTree(s, n);
    xmlSaveClose(s);
    char *out = strdup((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return out;
}

#define assert_xml(node, want)                     \
    do {                                           \
        char *got_ = ser(node);                    \
        assert_string_equal(got_, want);           \
        free(got_);                                \
    } while (0)

/* The transform failed with this code, and the request holds the error. */
static void assert_fails(fixture *x, int k, uint32_t code)
{
    pvm_error_clear(&x->r.err);
    pvm_xf_result rc = apply(x, k);
    if (rc != PVM_XF_ERROR)
        fail_msg("%s transform #%d: %d, expected an error", x->proc, k, rc);
    if (x->r.err.code != code)
        fail_msg("%s transform #%d: code 0x%08X, expected 0x%08X (%s)", x->proc, k, x->r.err.code, code,
                 x->r.err.description ? x->r.err.description : "");
    assert_non_null(x->r.err.description);
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

static const char *const items = "<data><src a='A'><item k='1'>one</item><item k='2'><sub/></item></src></data>";

/* ---- insert ------------------------------------------------------------------------ */

static void test_insert(void **state)
{
    (void)state;
    fixture *x = fixture_new("Insert", items);
    char *before = ser(x->r.data);
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    assert_xml(x->f.exec, "<executeData><item k=\"1\">one</item><item k=\"2\"><sub/></item></executeData>");
    /* copies: the source is untouched and nothing is shared */
    assert_xml(x->r.data, before);
    xmlNodePtr src = child(x->r.data, "src");
    assert_ptr_not_equal(x->f.exec->children, child(src, "item"));
    assert_ptr_equal(x->f.exec->children->doc, x->f.exec_doc);
    /* insert appends: again, and there are four */
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    assert_xml(x->f.exec, "<executeData><item k=\"1\">one</item><item k=\"2\"><sub/></item>"
                          "<item k=\"1\">one</item><item k=\"2\"><sub/></item></executeData>");
    free(before);
    fixture_free(x);
}

static void test_insert_attributes(void **state)
{
    (void)state;
    fixture *x = fixture_new("InsertAttrs", items);
    set_exec(x, "<executeData b='keep'/>");
    /* a selected attribute is set as an attribute of the target, not as text */
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    assert_xml(x->f.exec, "<executeData b=\"keep\" a=\"A\"><item k=\"1\">one</item><item k=\"2\"><sub/></item></executeData>");
    xmlNodePtr src = child(x->r.data, "src");
    xmlChar *a = xmlGetProp(src, BAD_CAST "a");
    assert_string_equal((const char *)a, "A"); /* still on the source */
    xmlFree(a);
    /* attributes alone are no element: a null result */
    assert_fails(x, 1, PROVOST_E_NONODE);
    fixture_free(x);
}

/* A node inserted under a namespaced destination keeps its own (no) namespace. */
static void test_insert_namespaced_destination(void **state)
{
    (void)state;
    fixture *x = fixture_new("InsertNs", "<data><box xmlns='urn:d'><old/></box>"
                                         "<src a='A'><item k='1'>one</item><item k='2'><sub/></item></src></data>");
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    xmlNodePtr box = x->r.data->children;
    assert_string_equal((const char *)box->name, "box");
    int n = 0;
    for (xmlNodePtr c = box->children; c; c = c->next) {
        assert_int_equal(c->type, XML_ELEMENT_NODE);
        if (strcmp((const char *)c->name, "old") == 0) {
            assert_non_null(c->ns);
            assert_string_equal((const char *)c->ns->href, "urn:d");
        } else {
            assert_string_equal((const char *)c->name, "item");
            assert_null(c->ns);
            n++;
        }
    }
    assert_int_equal(n, 2);
    /* and says so when written out and read back */
    char *s = ser(box);
    xmlDocPtr back = xmlReadMemory(s, (int)strlen(s), "back", NULL, 0);
    free(s);
    assert_non_null(back);
    xmlNodePtr item = xmlDocGetRootElement(back)->children->next;
    assert_string_equal((const char *)item->name, "item");
    assert_true(item->ns == NULL || item->ns->href == NULL || item->ns->href[0] == 0);
    xmlFreeDoc(back);
    fixture_free(x);
}

static void test_insert_xsl(void **state)
{
    (void)state;
    fixture *x = fixture_new("InsertXsl", items);
    /* each selected node is transformed on its own; the results are concatenated */
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    assert_xml(x->f.exec, "<executeData><out v=\"1\"/><out v=\"2\"/></executeData>");
    /* the node is the document element of its own document: match="/" sees it as '*' */
    set_exec(x, "<executeData/>");
    assert_int_equal(apply(x, 1), PVM_XF_OK);
    assert_xml(x->f.exec, "<executeData><root name=\"item\" k=\"1\"/><root name=\"item\" k=\"2\"/></executeData>");
    fixture_free(x);
}

/* ---- merge ------------------------------------------------------------------------- */

static void test_merge(void **state)
{
    (void)state;
    fixture *x = fixture_new("Merge", "<data><rec a='new' c='c'><y>Y1</y><y>Y2</y><y>Y3</y><z/>new text</rec></data>");
    set_exec(x, "<executeData a='old' b='keep'><x>1</x><y>first</y><y>second</y>old text</executeData>");
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    /* attributes overwrite or add; the k-th y replaces the target's k-th y, the third is
     * appended, so is z; the record's text replaces the target's */
    const char *want = "<executeData a=\"new\" b=\"keep\" c=\"c\"><x>1</x><y>Y1</y><y>Y2</y><y>Y3</y><z/>new text</executeData>";
    assert_xml(x->f.exec, want);
    /* idempotent */
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    assert_xml(x->f.exec, want);
    /* the record is read, not consumed */
    assert_xml(x->r.data, "<data><rec a=\"new\" c=\"c\"><y>Y1</y><y>Y2</y><y>Y3</y><z/>new text</rec></data>");
    fixture_free(x);
}

static void test_merge_keeps_text_and_others(void **state)
{
    (void)state;
    /* a record without text leaves the target's text; other names are untouched; a
     * replaced child loses its own children and attributes (replaced, not merged) */
    fixture *x = fixture_new("Merge", "<data><rec><y n='1'/></rec></data>");
    set_exec(x, "<executeData>kept<y old='1'><deep/></y><w/></executeData>");
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    assert_xml(x->f.exec, "<executeData>kept<y n=\"1\"/><w/></executeData>");
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    assert_xml(x->f.exec, "<executeData>kept<y n=\"1\"/><w/></executeData>");
    fixture_free(x);
}

/* What a transform takes out of a tree is kept until the request ends (a forEach may
 * still hold it), and must not outlive the document it came from in a way that makes
 * freeing it touch that document: executeData's document is freed at every execution,
 * long before the request ends. */
static void test_buried_nodes_outlive_their_document(void **state)
{
    (void)state;
    fixture *x = fixture_new("Merge", "<data><rec><y>new</y>text</rec></data>");
    set_exec(x, "<executeData><y>old</y>old text</executeData>");
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    assert_true(x->r.ngrave >= 2); /* the old y and the old text */
    for (size_t i = 0; i < x->r.ngrave; i++) {
        xmlNodePtr g = x->r.grave[i];
        assert_null(g->parent);
        if (g->doc == x->f.exec_doc)
            fail_msg("a buried node still belongs to executeData's document, which dies first");
    }
    fixture_free(x);
}

/* ---- replace ----------------------------------------------------------------------- */

static void test_replace_root(void **state)
{
    (void)state;
    fixture *x = fixture_new("ReplaceRoot", "<data k='0'><rec a='new'><y>Y</y>t</rec><inner k='1'><x/></inner><other/></data>");
    set_exec(x, "<executeData gone='1'><old/>old text</executeData>");
    xmlNodePtr exec = x->f.exec;
    xmlAttrPtr gone = exec->properties;
    /* the scope keeps its name (and its node); its attributes and children are R's */
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    assert_ptr_equal(x->f.exec, exec);
    assert_xml(x->f.exec, "<executeData a=\"new\"><y>Y</y>t</executeData>");
    /* R inside the scope it replaces (data replaced by its own child) */
    xmlNodePtr data = x->r.data;
    xmlAttrPtr held = data->properties; /* as a forEach over @k would hold it */
    assert_int_equal(apply(x, 1), PVM_XF_OK);
    assert_ptr_equal(x->r.data, data);
    assert_ptr_equal(data->parent, xmlDocGetRootElement(x->r.doc));
    assert_xml(x->r.data, "<data k=\"1\"><x/></data>");
    /* the attributes taken away are still valid nodes for whoever holds them */
    assert_string_equal((const char *)held->name, "k");
    assert_string_equal((const char *)held->children->content, "0");
    assert_ptr_not_equal(data->properties, held);
    assert_string_equal((const char *)gone->name, "gone");
    fixture_free(x);
}

static void test_replace_path(void **state)
{
    (void)state;
    fixture *x = fixture_new("ReplacePath", "<data><list><first/><old o='1'/><keep/></list></data>");
    xmlNodePtr old = child(child(x->r.data, "list"), "old");
    assert_non_null(old);
    /* that node is replaced by R itself (both new elements), in its place */
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    assert_xml(x->r.data, "<data><list><first/><new n=\"1\"/><new n=\"2\"/><keep/></list></data>");
    /* R was copied: procedureData still has it */
    assert_xml(pvm_scope(&x->f, PROVOST_SCOPE_PROCDATA), "<procedureData><new n=\"1\"/><new n=\"2\"/></procedureData>");
    /* the replaced node is kept aside, not freed (a forEach may hold it) */
    bool buried = false;
    for (size_t i = 0; i < x->r.ngrave; i++)
        buried |= x->r.grave[i] == old;
    assert_true(buried);
    assert_string_equal((const char *)old->name, "old");
    assert_null(old->parent);
    fixture_free(x);
}

/* ---- move -------------------------------------------------------------------------- */

static void test_move(void **state)
{
    (void)state;
    fixture *x = fixture_new("Move", "<data><src><m>1</m><keep/><m>2</m></src><dst/></data>");
    xmlNodePtr src = child(x->r.data, "src"), dst = child(x->r.data, "dst");
    xmlNodePtr m1 = src->children, m2 = src->last;
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    assert_xml(x->r.data, "<data><src><keep/></src><dst><m>1</m><m>2</m></dst></data>");
    /* the very nodes, not copies */
    assert_ptr_equal(m1->parent, dst);
    assert_ptr_equal(m2->parent, dst);
    assert_ptr_equal(dst->children, m1);
    assert_ptr_equal(dst->last, m2);
    fixture_free(x);
}

static void test_move_across_documents(void **state)
{
    (void)state;
    fixture *x = fixture_new("Move", "<data><src><m>1</m><keep/><m a='2'>2</m></src></data>");
    xmlNodePtr src = child(x->r.data, "src");
    xmlNodePtr m1 = src->children, m2 = src->last;
    assert_int_equal(apply(x, 1), PVM_XF_OK);
    assert_xml(x->r.data, "<data><src><keep/></src></data>");
    assert_xml(x->f.exec, "<executeData><m>1</m><m a=\"2\">2</m></executeData>");
    assert_ptr_equal(m1->parent, x->f.exec);
    assert_ptr_equal(m2->parent, x->f.exec);
    /* adopted: they and their subtrees now belong to executeData's document */
    assert_ptr_equal(m1->doc, x->f.exec_doc);
    assert_ptr_equal(m2->children->doc, x->f.exec_doc);
    assert_ptr_equal(m2->properties->doc, x->f.exec_doc);
    /* nothing selected: ifNull="fail" */
    assert_fails(x, 1, PROVOST_E_NONODE);
    fixture_free(x);
}

static void test_move_into_itself(void **state)
{
    (void)state;
    fixture *x = fixture_new("Move", "<data><src><inner/></src></data>");
    assert_fails(x, 2, PROVOST_E_INVALIDARG);
    assert_xml(x->r.data, "<data><src><inner/></src></data>");
    fixture_free(x);
}

/* A scope cannot be moved (its node, or anything holding it): the engine keeps using it
 * after the transform, and the document it would land in dies first. */
static void test_move_scope_refused(void **state)
{
    (void)state;
    fixture *x = fixture_new("MoveScope", "<data><a>1</a></data>");
    xmlNodePtr root = xmlDocGetRootElement(x->r.doc);
    for (int k = 0; k < 3; k++) { /* ".", "..", "/" */
        pvm_error_clear(&x->r.err);
        pvm_xf_result rc = apply(x, k);
        if (rc != PVM_XF_ERROR)
            fail_msg("moving the data scope (transform #%d) was accepted", k);
        assert_ptr_equal(x->r.data->parent, root);
        assert_ptr_equal(xmlDocGetRootElement(x->r.doc), root);
        assert_ptr_equal(x->r.context->parent, root);
        assert_null(x->f.exec->children);
    }
    assert_xml(x->r.data, "<data><a>1</a></data>");
    fixture_free(x);
}

/* Moved attributes and text stay valid nodes for whoever still holds them (a forEach
 * snapshot): the move must not free them. */
static void test_move_keeps_held_nodes(void **state)
{
    (void)state;
    fixture *x = fixture_new("MoveAttr", "<data><src a='A'><m/></src></data>");
    xmlNodePtr src = child(x->r.data, "src");
    xmlAttrPtr held = src->properties; /* as a forEach over src/@a would hold it */
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    assert_xml(x->r.data, "<data><src/></data>");
    assert_xml(pvm_scope(&x->f, PROVOST_SCOPE_PROCDATA), "<procedureData a=\"A\"><m/></procedureData>");
    assert_string_equal((const char *)held->name, "a");
    assert_non_null(held->children);
    assert_string_equal((const char *)held->children->content, "A");
    fixture_free(x);

    x = fixture_new("MoveText", "<data><src>tx<m/></src></data>");
    src = child(x->r.data, "src");
    xmlNodePtr text = src->children; /* as a forEach over src/text() would hold it */
    assert_int_equal(text->type, XML_TEXT_NODE);
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    assert_xml(x->r.data, "<data><src/></data>");
    xmlNodePtr pd = pvm_scope(&x->f, PROVOST_SCOPE_PROCDATA);
    char *v = (char *)xmlNodeGetContent(pd);
    assert_string_equal(v, "pd-texttx");
    xmlFree(v);
    assert_non_null(child(pd, "m"));
    assert_int_equal(text->type, XML_TEXT_NODE);
    assert_string_equal((const char *)text->content, "tx");
    fixture_free(x);
}

/* ---- destinationPath ----------------------------------------------------------------- */

static void test_destination_created(void **state)
{
    (void)state;
    fixture *x = fixture_new("Create", items);
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    assert_xml(x->f.exec, "<executeData><a><b><c><item k=\"1\">one</item><item k=\"2\"><sub/></item></c></b></a></executeData>");
    /* found the second time, not created again */
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    assert_xml(x->f.exec, "<executeData><a><b><c><item k=\"1\">one</item><item k=\"2\"><sub/></item>"
                          "<item k=\"1\">one</item><item k=\"2\"><sub/></item></c></b></a></executeData>");
    /* partly there: only what is missing is made */
    set_exec(x, "<executeData><a><x/></a></executeData>");
    assert_int_equal(apply(x, 0), PVM_XF_OK);
    assert_xml(x->f.exec, "<executeData><a><x/><b><c><item k=\"1\">one</item><item k=\"2\"><sub/></item></c></b></a></executeData>");
    fixture_free(x);
}

static void test_destination_missing_or_several(void **state)
{
    (void)state;
    fixture *x = fixture_new("Create", items);
    set_exec(x, "<executeData><a t='w'/></executeData>");
    /* not a plain a/b/c path: selecting nothing is an error, nothing is created */
    assert_fails(x, 1, PROVOST_E_NONODE);
    assert_non_null(strstr(x->r.err.description, "zz[1]"));
    assert_fails(x, 2, PROVOST_E_NONODE);
    assert_xml(x->f.exec, "<executeData><a t=\"w\"/></executeData>");
    /* several: the first */
    set_exec(x, "<executeData><slot n='1'/><slot n='2'/></executeData>");
    assert_int_equal(apply(x, 3), PVM_XF_OK);
    assert_xml(x->f.exec, "<executeData><slot n=\"1\"><item k=\"1\">one</item><item k=\"2\"><sub/></item></slot>"
                          "<slot n=\"2\"/></executeData>");
    fixture_free(x);
}

/* ---- ifNull and null results --------------------------------------------------------- */

static void test_ifnull(void **state)
{
    (void)state;
    fixture *x = fixture_new("IfNull", items);
    set_exec(x, "<executeData><e/></executeData>");
    assert_fails(x, 0, PROVOST_E_NONODE); /* fail is the default */
    assert_non_null(strstr(x->r.err.description, "zz"));
    pvm_error_clear(&x->r.err);
    assert_int_equal(apply(x, 1), PVM_XF_OK);   /* ignore: this transform does nothing */
    assert_int_equal(apply(x, 2), PVM_XF_SKIP); /* skip: the execution is skipped */
    assert_int_equal(x->r.err.code, 0);
    assert_xml(x->f.exec, "<executeData><e/></executeData>");
    /* a forEach left unbound (ifNull="ignore") selects nothing as a source */
    x->f.loops[0] = (pvm_loop){.n = 1, .unbound = true};
    assert_fails(x, 3, PROVOST_E_NONODE);
    pvm_error_clear(&x->r.err);
    assert_int_equal(apply(x, 4), PVM_XF_SKIP);
    /* and cannot be written into */
    assert_fails(x, 5, PROVOST_E_NONODE);
    assert_xml(x->f.exec, "<executeData><e/></executeData>");
    fixture_free(x);
}

static void test_null_result(void **state)
{
    (void)state;
    fixture *x = fixture_new("NullResult", items);
    set_exec(x, "<executeData><e/></executeData>");
    /* the stylesheet makes no element */
    assert_fails(x, 0, PROVOST_E_NONODE);
    pvm_error_clear(&x->r.err);
    assert_int_equal(apply(x, 1), PVM_XF_OK); /* allowed: the destination is left untouched */
    assert_xml(x->f.exec, "<executeData><e/></executeData>");
    /* the same for a selection without an element */
    assert_fails(x, 2, PROVOST_E_NONODE);
    pvm_error_clear(&x->r.err);
    assert_int_equal(apply(x, 3), PVM_XF_OK);
    assert_xml(x->f.exec, "<executeData><e/></executeData>");
    fixture_free(x);
}

/* ---- the context ---------------------------------------------------------------------- */

static const char *const ctx_data = "<data><rec by='step'><transactionContext transactionId='forged'/></rec><note/></data>";
static const char *const ctx_orig = "<context><transactionContext transactionId=\"{T}\"/><clientContext/></context>";

static void test_context_read_only(void **state)
{
    (void)state;
    fixture *x = fixture_new("Context", ctx_data);
    /* transactionContext reached by an XPath destinationPath */
    assert_fails(x, 0, PROVOST_E_ACCESSDENIED);
    assert_xml(x->r.context, ctx_orig);
    /* the caller's parts are writable */
    assert_int_equal(apply(x, 1), PVM_XF_OK);
    assert_xml(x->r.context, "<context><transactionContext transactionId=\"{T}\"/><clientContext by=\"step\">"
                             "<transactionContext transactionId=\"forged\"/></clientContext></context>");
    /* so is the context element itself, for new children */
    assert_int_equal(apply(x, 6), PVM_XF_OK);
    assert_non_null(child(x->r.context, "note"));
    fixture_free(x);
}

/* The engine's part stays read-only whichever way the destination reaches it. */
static void test_context_read_only_other_ways(void **state)
{
    (void)state;
    fixture *x = fixture_new("Context", ctx_data);
    xmlNodePtr tc = child(x->r.context, "transactionContext");
    /* through a forEach bound to it (merge, insert) */
    x->f.loops[0] = (pvm_loop){.nodes = malloc(sizeof(xmlNodePtr)), .n = 1, .cap = 1};
    x->f.loops[0].nodes[0] = tc;
    assert_fails(x, 2, PROVOST_E_ACCESSDENIED);
    assert_fails(x, 7, PROVOST_E_ACCESSDENIED);
    assert_xml(x->r.context, ctx_orig);
    /* a merge into the context that would replace transactionContext */
    assert_fails(x, 3, PROVOST_E_ACCESSDENIED);
    assert_xml(x->r.context, ctx_orig);
    /* moving it away */
    assert_fails(x, 4, PROVOST_E_ACCESSDENIED);
    assert_xml(x->r.context, ctx_orig);
    /* replacing the whole context through a forEach bound to it */
    x->f.loops[1] = (pvm_loop){.nodes = malloc(sizeof(xmlNodePtr)), .n = 1, .cap = 1};
    x->f.loops[1].nodes[0] = x->r.context;
    assert_fails(x, 5, PROVOST_E_ACCESSDENIED);
    assert_xml(x->r.context, ctx_orig);
    fixture_free(x);
}

/* ---- XSLT failures ------------------------------------------------------------------ */

static void test_xslt_failures(void **state)
{
    (void)state;
    fixture *x = fixture_new("Xslt", items);
    assert_fails(x, 0, PROVOST_E_XSLT); /* xsl:message terminate="yes" */
    assert_xml(x->f.exec, "<executeData/>");
    assert_fails(x, 1, PROVOST_E_XSLT); /* XSL on an attribute */
    assert_xml(x->f.exec, "<executeData/>");
    fixture_free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert),
        cmocka_unit_test(test_insert_attributes),
        cmocka_unit_test(test_insert_namespaced_destination),
        cmocka_unit_test(test_insert_xsl),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_merge_keeps_text_and_others),
        cmocka_unit_test(test_buried_nodes_outlive_their_document),
        cmocka_unit_test(test_replace_root),
        cmocka_unit_test(test_replace_path),
        cmocka_unit_test(test_move),
        cmocka_unit_test(test_move_across_documents),
        cmocka_unit_test(test_move_into_itself),
        cmocka_unit_test(test_move_scope_refused),
        cmocka_unit_test(test_move_keeps_held_nodes),
        cmocka_unit_test(test_destination_created),
        cmocka_unit_test(test_destination_missing_or_several),
        cmocka_unit_test(test_ifnull),
        cmocka_unit_test(test_null_result),
        cmocka_unit_test(test_context_read_only),
        cmocka_unit_test(test_context_read_only_other_ways),
        cmocka_unit_test(test_xslt_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
