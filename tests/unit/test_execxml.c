/*
 * test_execxml.c -- vm/execxml.c: the executeXml document a thread keeps for its next step.
 * Whatever was done to the one given back -- its root or its executeData renamed (even in
 * the same memory), given an attribute or a namespace, a node put beside it, its contents
 * changed, its executeData replaced or taken out -- the next one is exactly
 * executeXml{executeData}, with the data asked for and nothing else.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "util/xmlout.h"
#include "vm/vm.h"

/* DOC holds its root alone, whose one child is EXEC, and reads WANT. */
static void assert_fresh(xmlDocPtr doc, xmlNodePtr exec, const char *want)
{
    assert_non_null(doc);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    assert_ptr_equal(doc->children, root);
    assert_ptr_equal(doc->last, root);
    assert_ptr_equal(root->children, exec);
    assert_null(root->properties);
    assert_null(root->nsDef);
    char *text = pu_xml_string(root, 0, NULL);
    assert_non_null(text);
    assert_string_equal(text, want);
    free(text);
}

static void change(xmlDocPtr doc, int how)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    switch (how) {
    case 0: break; /* only its contents */
    case 1: xmlNewProp(root, BAD_CAST "x", BAD_CAST "1"); break;
    case 2: xmlNodeSetName(root, BAD_CAST "other"); break;
    case 3: ((char *)root->name)[0] = 'E'; break; /* a new name in the old one's memory */
    case 4: xmlNewNs(root, BAD_CAST "urn:x", BAD_CAST "x"); break;
    case 5: xmlAddPrevSibling(root, xmlNewDocComment(doc, BAD_CAST "c")); break;
    case 6: xmlNewChild(root, NULL, BAD_CAST "extra", NULL); break;
    case 7: xmlNodeSetContent(pvm_execute_data(doc), BAD_CAST "text"); break;
    /* the empty executeData, which is kept too */
    case 8: xmlNewProp(pvm_execute_data(doc), BAD_CAST "x", BAD_CAST "1"); break;
    case 9: xmlNodeSetName(pvm_execute_data(doc), BAD_CAST "other"); break;
    case 10: ((char *)pvm_execute_data(doc)->name)[0] = 'E'; break;
    case 11: {
        xmlNodePtr ed = pvm_execute_data(doc);
        xmlUnlinkNode(ed);
        xmlFreeNode(ed);
        break;
    }
    case 12: {
        xmlNodePtr ed = pvm_execute_data(doc);
        xmlNodePtr other = xmlNewDocNode(doc, NULL, BAD_CAST "executeData", NULL);
        xmlReplaceNode(ed, other);
        xmlFreeNode(ed);
        break;
    }
    case 13: xmlNewNs(pvm_execute_data(doc), BAD_CAST "urn:x", BAD_CAST "x"); break;
    case 14: xmlAddNextSibling(pvm_execute_data(doc), xmlNewDocNode(doc, NULL, BAD_CAST "after", NULL)); break;
    }
}

#define CHANGES 15

static void test_next_is_fresh(void **state)
{
    (void)state;
    xmlDocPtr lit = xmlReadMemory("<executeData><a>1</a></executeData>", 35, "lit", NULL, 0);
    assert_non_null(lit);
    for (int how = 0; how < CHANGES; how++) {
        xmlNodePtr exec;
        xmlDocPtr doc = pvm_execute_xml(NULL, &exec);
        assert_fresh(doc, exec, "<executeXml><executeData/></executeXml>");
        xmlNewChild(exec, NULL, BAD_CAST "out", BAD_CAST "v");
        change(doc, how);
        pvm_execute_xml_free(doc);
        /* an empty one again, then one of data */
        doc = pvm_execute_xml(NULL, &exec);
        assert_fresh(doc, exec, "<executeXml><executeData/></executeXml>");
        change(doc, how);
        pvm_execute_xml_free(doc);
        doc = pvm_execute_xml(xmlDocGetRootElement(lit), &exec);
        assert_fresh(doc, exec, "<executeXml><executeData><a>1</a></executeData></executeXml>");
        /* one in use: the next is another document */
        xmlNodePtr exec2;
        xmlDocPtr other = pvm_execute_xml(NULL, &exec2);
        assert_ptr_not_equal(other, doc);
        assert_fresh(other, exec2, "<executeXml><executeData/></executeXml>");
        pvm_execute_xml_free(other);
        pvm_execute_xml_free(doc);
    }
    xmlFreeDoc(lit);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_is_fresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
