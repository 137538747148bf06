/*
 * test_pctx.c -- vm/pctx.c: the context each provider call finds first under executeXml,
 * kept by the thread from call to call.  A probe provider records the context it is given
 * (serialised) and, when called as Scribble, changes it in one of many ways; every later
 * call must see exactly the context built for it -- its own request's transaction id,
 * securityContext, clientContext, its namespace's providerContext, its own executeContext
 * -- and nothing a previous call did to its context.
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
#include "util/xmlout.h"
#include "vm/vm.h"

static const char *const ns_xml = "<namespace name='P' providerSource='test'>"
                                  "<providerContext><server a='1'>s1</server></providerContext>"
                                  "<procedure name='Look' type='read'/>"
                                  "<procedure name='Scribble' type='read'/>"
                                  "</namespace>";

#include "vm_fixture.h"

/* ---- the probe provider -------------------------------------------------------------------- */

static char *seen;        /* the context the last Look was given, serialised */
static bool seen_own_doc; /* its nodes belonged to the call's executeXml */
static int mutation;      /* what Scribble does */

static xmlNodePtr context_of(xmlDocPtr doc)
{
    xmlNodePtr c = xmlDocGetRootElement(doc)->children;
    return c && c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, "context") == 0 ? c : NULL;
}

static bool all_in(xmlNodePtr n, xmlDocPtr doc)
{
    if (n->doc != doc)
        return false;
    for (xmlAttrPtr a = n->type == XML_ELEMENT_NODE ? n->properties : NULL; a; a = a->next)
        if (a->doc != doc || (a->children && !all_in(a->children, doc)))
            return false;
    for (xmlNodePtr c = n->type == XML_ELEMENT_NODE ? n->children : NULL; c; c = c->next)
        if (!all_in(c, doc))
            return false;
    return true;
}

static void scribble(xmlDocPtr doc, xmlNodePtr ctx)
{
    xmlNodePtr tc = provost_child(ctx, "transactionContext");
    xmlNodePtr sc = provost_child(ctx, "securityContext");
    xmlNodePtr pc = provost_child(ctx, "providerContext");
    xmlNodePtr ec = provost_child(ctx, "executeContext");
    xmlNodePtr cc = provost_child(ctx, "clientContext");
    switch (mutation) {
    case 0: xmlSetProp(tc, BAD_CAST "transactionId", BAD_CAST "{00000000-0000-0000-0000-000000000000}"); break;
    case 1: xmlNodeSetContent(xmlHasProp(ec, BAD_CAST "namespace")->children, BAD_CAST "Q"); break;
    case 2: xmlNewChild(sc, NULL, BAD_CAST "extra", BAD_CAST "x"); break;
    case 3: xmlNodeSetName(provost_child(pc, "server"), BAD_CAST "client"); break;
    case 4: xmlNodeSetContent(provost_child(pc, "server")->children, BAD_CAST "s2"); break;
    case 5: xmlNewProp(ctx, BAD_CAST "note", BAD_CAST "1"); break;
    case 6:
        xmlUnlinkNode(ec);
        xmlFreeNode(ec);
        break;
    case 7:
        xmlUnlinkNode(pc);
        xmlAddChild(pvm_execute_data(doc), pc);
        break;
    case 8: xmlNewNs(ctx, BAD_CAST "urn:x", BAD_CAST "x"); break;
    case 9: xmlAddChild(ctx, xmlNewDocText(doc, BAD_CAST "junk")); break;
    case 10: xmlSetProp(cc, BAD_CAST "clientTransactionId", BAD_CAST "c-9"); break;
    case 11: xmlUnsetProp(provost_child(pc, "server"), BAD_CAST "a"); break;
    case 12: xmlNodeAddContent(provost_child(pc, "server"), BAD_CAST "+"); break;
    case 13: xmlNodeSetContent(xmlHasProp(ec, BAD_CAST "procedureExecId")->children, BAD_CAST "9"); break;
    /* a new name or text in the very memory of the old one, as when the allocator hands a
     * string just freed to its replacement (never under ASan, which holds freed memory back) */
    case 14: ((char *)xmlHasProp(ec, BAD_CAST "namespace")->children->content)[0] = 'Q'; break;
    case 15: ((char *)provost_child(pc, "server")->name)[0] = 'S'; break;
    case 16: ((char *)provost_child(pc, "server")->children->content)[1] = '2'; break;
    case 17: ((char *)ec->name)[0] = 'E'; break;
    case 18: ((char *)xmlHasProp(ec, BAD_CAST "type")->name)[0] = 'T'; break;
    case 19: ((char *)tc->name)[0] = 'T'; break;
    }
}
#define MUTATIONS 20

static uint32_t probe_process(provost_pcall *c, xmlDocPtr doc)
{
    xmlNodePtr ctx = context_of(doc);
    if (!ctx)
        return provost_fail(c, PROVOST_E_FAIL, "no context");
    if (strcmp(provost_pcall_procedure(c), "Scribble") == 0) {
        scribble(doc, ctx);
        return 0;
    }
    free(seen);
    seen = pu_xml_string(ctx, 0, NULL);
    seen_own_doc = all_in(ctx, doc);
    return 0;
}

static const provost_provider probe = {.abi = PROVOST_PROVIDER_ABI, .name = "probe", .process = probe_process};

/* ---- requests by hand ------------------------------------------------------------------------ */

static pvm_provider probe_plugin = {.name = "probe", .desc = &probe};
static pvm_provider probe_builtin = {.name = "probe", .desc = &probe, .builtin = true};

typedef struct req {
    pvm_req r;
    xmlDocPtr doc;
} req;

static req *req_new(const char *txid, const char *context)
{
    req *q = calloc(1, sizeof *q);
    assert_non_null(q);
    char xml[1024];
    snprintf(xml, sizeof xml, "<request><data/><context>%s</context></request>", context);
    q->doc = xmlReadMemory(xml, (int)strlen(xml), "request", NULL, XML_PARSE_NOBLANKS);
    assert_non_null(q->doc);
    q->r.e = eng;
    q->r.doc = q->doc;
    q->r.data = xmlDocGetRootElement(q->doc)->children;
    q->r.context = xmlDocGetRootElement(q->doc)->last;
    snprintf(q->r.txid, sizeof q->r.txid, "%s", txid);
    return q;
}

static void req_free(req *q)
{
    pvm_error_clear(&q->r.err);
    free(q->r.active);
    xmlFreeDoc(q->doc);
    free(q);
}

/* One call of procedure NAME; the probe's context (Look) is left in `seen`. */
static void call(req *q, const char *name, int trusted)
{
    uint32_t proc = pvm_find_proc(ns, name);
    assert_int_not_equal(proc, PROVOST_NONE);
    xmlNodePtr ed, out;
    xmlDocPtr doc = pvm_execute_xml(NULL, &ed);
    assert_non_null(doc);
    assert_int_equal(pvm_provider_call(&q->r, ns, proc, doc, trusted, 0, "engine", &out), 0);
    /* the context is out of executeXml again after the call */
    assert_null(context_of(doc));
    pvm_execute_xml_free(doc);
}

#define TX1 "{11111111-1111-1111-1111-111111111111}"
#define TX2 "{22222222-2222-2222-2222-222222222222}"
#define SECURITY "<securityContext trusted='1'><authentication><basic username='u' password='p'/></authentication>" \
                 "<who>me</who></securityContext>"

/* What Look must see: the context built for exactly this call. */
static char *expected(const char *txid, bool with_auth, uint32_t id, const char *client)
{
    char *s = malloc(2048);
    assert_non_null(s);
    snprintf(s, 2048,
             "<context><transactionContext transactionId=\"%s\"/><securityContext trusted=\"1\">%s<who>me</who>"
             "</securityContext><providerContext><server a=\"1\">s1</server></providerContext>"
             "<executeContext namespace=\"P\" procedure=\"Look\" providerSource=\"test\" procedureExecId=\"%u\" "
             "type=\"read\"/><clientContext clientTransactionId=\"%s\"/></context>",
             txid, with_auth ? "<authentication><basic username=\"u\" password=\"p\"/></authentication>" : "", id,
             client);
    return s;
}

static void look_and_check(req *q, int trusted, const char *client)
{
    call(q, "Look", trusted);
    char *want = expected(q->r.txid, trusted == 1, q->r.exec_id, client);
    assert_non_null(seen);
    assert_string_equal(seen, want);
    free(want);
}

/* ---- the tests ------------------------------------------------------------------------------- */

/* Whatever a provider does to its context, the next call -- in the same request or the
 * next one -- sees the context built for it. */
static void test_changes_do_not_leak(void **state)
{
    (void)state;
    pvm_provider *was = ns->provider;
    ns->provider = &probe_plugin;
    for (int m = 0; m < MUTATIONS; m++) {
        mutation = m;
        req *q = req_new(TX1, SECURITY "<clientContext clientTransactionId='c-1'/>");
        look_and_check(q, 1, "c-1");
        assert_true(seen_own_doc);
        call(q, "Scribble", 1);
        look_and_check(q, 1, "c-1");
        call(q, "Scribble", 1);
        req_free(q);
        q = req_new(TX2, SECURITY "<clientContext clientTransactionId='c-2'/>");
        look_and_check(q, 1, "c-2");
        req_free(q);
    }
    ns->provider = was;
}

/* A later request sees its own transaction, security and client context; an untrusted
 * call never sees the authentication a trusted one was given, nor the other way round. */
static void test_each_request_its_own(void **state)
{
    (void)state;
    pvm_provider *was = ns->provider;
    pvm_provider *kinds[] = {&probe_plugin, &probe_builtin};
    for (size_t k = 0; k < 2; k++) {
        ns->provider = kinds[k];
        req *q = req_new(TX1, SECURITY "<clientContext clientTransactionId='c-1'/>");
        look_and_check(q, 1, "c-1");
        look_and_check(q, 0, "c-1");
        look_and_check(q, 1, "c-1");
        req_free(q);
        q = req_new(TX2, SECURITY "<clientContext clientTransactionId='c-2'/>");
        look_and_check(q, 0, "c-2");
        look_and_check(q, 0, "c-2");
        req_free(q);
        /* no securityContext at all: none in the context */
        q = req_new(TX1, "<clientContext clientTransactionId='c-3'/>");
        call(q, "Look", 1);
        assert_null(strstr(seen, "securityContext"));
        assert_non_null(strstr(seen, "clientTransactionId=\"c-3\""));
        req_free(q);
    }
    ns->provider = was;
}

/* A context with namespaces in its copied parts is built for each call: still right. */
static void test_namespaced_parts(void **state)
{
    (void)state;
    pvm_provider *was = ns->provider;
    ns->provider = &probe_plugin;
    req *q = req_new(TX1, "<securityContext xmlns:s='urn:s'><s:who>me</s:who></securityContext>");
    call(q, "Look", 1);
    assert_non_null(strstr(seen, "<securityContext xmlns:s=\"urn:s\"><s:who>me</s:who></securityContext>"));
    call(q, "Look", 1);
    assert_non_null(strstr(seen, "procedureExecId=\"2\""));
    req_free(q);
    ns->provider = was;
}

static int setup(void **state)
{
    (void)state;
    return vm_fixture_setup("pctx.xml", ns_xml);
}

static int teardown(void **state)
{
    (void)state;
    free(seen);
    return vm_fixture_teardown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changes_do_not_leak),
        cmocka_unit_test(test_each_request_its_own),
        cmocka_unit_test(test_namespaced_parts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
