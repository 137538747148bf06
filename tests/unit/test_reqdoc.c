/*
 * test_reqdoc.c -- vm/reqdoc.c: the request skeleton a thread keeps for its next call
 * without data.  Whatever was done to the one given back -- a node renamed (even in the
 * same memory), given an attribute or a namespace, data given children, the context given
 * another part or its transactionContext taken out, the id's text changed or replaced, a
 * node put beside the root -- the next one is exactly the skeleton again, with the id
 * asked for and nothing else; one taken while the thread's is in use is another document.
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

#include "provost/provost.h"
#include "util/xmlout.h"
#include "vm/vm.h"

static const char id1[] = "{11111111-2222-4333-8444-555555555555}";
static const char id2[] = "{AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE}";

/* DOC is the skeleton and reads as such with the id TXID. */
static void assert_skeleton(xmlDocPtr doc, const char *txid)
{
    assert_non_null(doc);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    assert_ptr_equal(doc->children, root);
    assert_ptr_equal(doc->last, root);
    char want[200];
    snprintf(want, sizeof want,
             "<request><data/><context><transactionContext transactionId=\"%s\"/></context></request>", txid);
    char *text = pu_xml_string(root, 0, NULL);
    assert_non_null(text);
    assert_string_equal(text, want);
    free(text);
}

static void change(xmlDocPtr doc, int how)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr data = root->children, ctx = data->next, tc = ctx->children;
    xmlAttrPtr id = tc->properties;
    switch (how) {
    case 0: break;
    case 1: xmlNewChild(data, NULL, BAD_CAST "x", BAD_CAST "1"); break;
    case 2: xmlNewProp(data, BAD_CAST "a", BAD_CAST "1"); break;
    case 3: xmlNodeSetName(ctx, BAD_CAST "other"); break;
    case 4: ((char *)tc->name)[0] = 'T'; break; /* a new name in the old one's memory */
    case 5: xmlNewNs(root, BAD_CAST "urn:x", BAD_CAST "x"); break;
    case 6: xmlNewChild(ctx, NULL, BAD_CAST "queueContext", NULL); break;
    case 7: xmlUnlinkNode(tc); xmlFreeNode(tc); break;
    case 8: ((char *)id->children->content)[1] = 'x'; break; /* the id, in place */
    case 9: xmlSetProp(tc, BAD_CAST "transactionId", BAD_CAST "short"); break;
    case 10: xmlAddPrevSibling(root, xmlNewDocComment(doc, BAD_CAST "c")); break;
    case 11: xmlNewProp(root, BAD_CAST "r", BAD_CAST "1"); break;
    case 12: xmlNodeSetName((xmlNodePtr)id, BAD_CAST "other"); break;
    }
}

static void test_next_is_the_skeleton(void **state)
{
    (void)state;
    for (int how = 0; how <= 12; how++) {
        xmlDocPtr doc = pvm_reqdoc_take();
        assert_true(pvm_reqdoc_is(doc));
        assert_true(pvm_reqdoc_set_txid(doc, id1));
        assert_skeleton(doc, id1);
        /* one taken while it is in use is no skeleton of the thread's */
        assert_null(pvm_reqdoc_take());
        xmlDocPtr other = xmlNewDoc(BAD_CAST "1.0");
        assert_false(pvm_reqdoc_is(other));
        assert_false(pvm_reqdoc_set_txid(other, id1));
        pvm_reqdoc_free(other); /* freed: ASan sees a leak otherwise */
        change(doc, how);
        pvm_reqdoc_free(doc);
        assert_false(pvm_reqdoc_is(doc));
        xmlDocPtr next = pvm_reqdoc_take();
        if (how == 0)
            assert_ptr_equal(next, doc); /* kept */
        assert_true(pvm_reqdoc_set_txid(next, id2));
        assert_skeleton(next, id2);
        pvm_reqdoc_free(next);
    }
}

/* ---- through the engine ------------------------------------------------------------ */

static char dir[] = "/tmp/provost-reqdoc-XXXXXX";

static char *call(provost_engine *e, const char *proc)
{
    provost_response r;
    provost_error err;
    assert_int_equal(provost_call(e, "R", proc, NULL, 0, PROVOST_COMPACT, &r, &err), 0);
    char *text = strdup(r.xml);
    provost_response_free(&r);
    return text;
}

static int count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p++)
        n++;
    return n;
}

/* Calls without data, one after another on one thread: whatever a call did to its request
 * (data filled, the context given a part, an errorContext while a catch ran), the next one
 * starts from an empty data and a context holding only its own transactionContext. */
static void test_calls_start_clean(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    char path[300];
    snprintf(path, sizeof path, "%s/db", dir);
    provost_options o = {.db_path = path, .caller = "tester"};
    provost_engine *e;
    provost_error err;
    assert_int_equal(provost_open(&o, &e, &err), 0);
    static const char ns[] =
        "<namespace name='R' providerSource='test'>"
        "<procedure name='Fail' type='read'/>"
        "<procedure name='Plain' type='read' access='public'><transform/></procedure>"
        "<procedure name='Fill' type='read' access='public'><transform><executeData><v>1</v></executeData>"
        "<before source='executeData' destination='data'/></transform></procedure>"
        "<procedure name='Mark' type='read' access='public'><transform><executeData><mark/></executeData>"
        "<before source='executeData' sourcePath='mark' destination='context'/></transform></procedure>"
        "<procedure name='Catch' type='read' access='public'><try><execute namespace='R' procedure='Fail'/></try>"
        "<catch><transform/></catch></procedure>"
        "<procedure name='Peek' type='read' access='public'><transform>"
        "<before source='context' destination='data'/></transform></procedure>"
        "</namespace>";
    assert_int_equal(provost_register(e, "r.xml", ns, strlen(ns), NULL, &err), 0);
    static const char *const changers[] = {"Plain", "Fill", "Mark", "Catch"};
    char *before = call(e, "Peek");
    for (size_t i = 0; i < sizeof changers / sizeof changers[0]; i++) {
        free(call(e, changers[i]));
        char *plain = call(e, "Plain");
        assert_string_equal(plain, "<response><data/></response>");
        free(plain);
        char *peek = call(e, "Peek");
        /* the context holds its transactionContext, and a new id each time */
        assert_int_equal(count(peek, "<transactionContext transactionId=\"{"), 1);
        assert_int_equal(count(peek, "<mark"), 0);
        assert_int_equal(count(peek, "errorContext"), 0);
        assert_string_not_equal(peek, before);
        assert_int_equal(strlen(peek), strlen(before));
        free(before);
        before = peek;
    }
    free(before);
    provost_close(e);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_is_the_skeleton),
        cmocka_unit_test(test_calls_start_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
