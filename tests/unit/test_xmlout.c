/*
 * test_xmlout.c -- the one serialiser (util/xmlout.c): a node without a declaration, a
 * document with one exactly as libxml2's own dump writes it, indented output ending in a
 * newline, non-ASCII text kept as UTF-8, plain trees (written without libxml2) byte for
 * byte as libxml2 writes them, also wrapped in an element and renamed, a context reused call after call (and by kind)
 * giving each call only its own text, a large text node, and threads each with their own.
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

#include <libxml/parser.h>
#include <libxml/xmlsave.h>

#include "util/xmlout.h"

static xmlDocPtr parse(const char *text)
{
    xmlDocPtr d = xmlReadMemory(text, (int)strlen(text), "t.xml", NULL, XML_PARSE_NONET);
    assert_non_null(d);
    return d;
}

static void test_node_and_document(void **state)
{
    (void)state;
    xmlDocPtr d = parse("<a x='1'><b>caf\xc3\xa9 &amp; \xe2\x82\xac</b><c/></a>");
    size_t len = 0;
    char *s = pu_xml_string(xmlDocGetRootElement(d), 0, &len);
    assert_non_null(s);
    assert_string_equal(s, "<a x=\"1\"><b>caf\xc3\xa9 &amp; \xe2\x82\xac</b><c/></a>");
    assert_int_equal(len, strlen(s));
    free(s);
    /* a child alone, the same context again: only its own text */
    s = pu_xml_string(xmlDocGetRootElement(d)->children, 0, NULL);
    assert_string_equal(s, "<b>caf\xc3\xa9 &amp; \xe2\x82\xac</b>");
    free(s);
    /* a document with its declaration, byte for byte what xmlDocDumpMemoryEnc writes */
    xmlChar *ref = NULL;
    int reflen = 0;
    xmlDocDumpMemoryEnc(d, &ref, &reflen, "UTF-8");
    s = pu_xml_string((xmlNodePtr)d, PU_XML_DECL | PU_XML_AS_XML, &len);
    assert_non_null(s);
    assert_int_equal(len, (size_t)reflen);
    assert_memory_equal(s, ref, len);
    assert_true(strncmp(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 38) == 0);
    free(s);
    xmlFree(ref);
    /* without PU_XML_DECL, a document has none */
    s = pu_xml_string((xmlNodePtr)d, 0, NULL);
    assert_true(strncmp(s, "<a ", 3) == 0);
    free(s);
    assert_null(pu_xml_string(NULL, 0, NULL));
    xmlFreeDoc(d);
}

/* What libxml2's own save context writes for N (no declaration, UTF-8). */
static char *libxml2_text(xmlNodePtr n)
{
    xmlBufferPtr buf = xmlBufferCreate();
    assert_non_null(buf);
    xmlSaveCtxtPtr save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_NO_DECL);
    assert_non_null(save);
    xmlSaveTree(save, n);
    xmlSaveClose(save);
    char *s = strdup((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return s;
}

static void same_as_libxml2(xmlNodePtr n)
{
    char *want = libxml2_text(n);
    size_t len = 0;
    char *got = pu_xml_string(n, 0, &len);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    free(got);
    free(want);
}

/* Plain trees are written without libxml2, the rest by it: byte for byte the same either
 * way -- escapes in text and in attribute values, empty elements and empty text, and what
 * only libxml2 writes (namespaces, comments, CDATA, entity references, non-ASCII). */
static void test_plain_as_libxml2(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "<a/>",
        "<a x='1' y=''><b>t</b><c/>tail</a>",
        "<a q='&lt;&gt;&amp;&quot;&apos;&#10;&#13;&#9;x'>&lt;&gt;&amp;\"'&#13;\n\t end</a>",
        "<r><data><x a='1'>v</x><x a='2'/></data><e code='0x80004005' description='bad &quot;x&quot;'/></r>",
        "<a xmlns='urn:x'><b/></a>",
        "<a xmlns:p='urn:p'><p:b p:c='1'/></a>",
        "<a><!-- c --><?pi x?><![CDATA[<raw>]]></a>",
        "<!DOCTYPE a [<!ENTITY e 'E'>]><a>&e;</a>",
        "<a x='caf\xc3\xa9'>\xe2\x82\xac</a>",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        xmlDocPtr d = parse(docs[i]);
        same_as_libxml2(xmlDocGetRootElement(d));
        same_as_libxml2(xmlDocGetRootElement(d)->children ? xmlDocGetRootElement(d)->children
                                                          : xmlDocGetRootElement(d));
        xmlFreeDoc(d);
    }
    /* built by hand: an empty text child, an attribute without a value, a doc-less node */
    xmlDocPtr d = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = xmlNewDocNode(d, NULL, BAD_CAST "r", NULL);
    xmlDocSetRootElement(d, root);
    xmlNewTextChild(root, NULL, BAD_CAST "empty", BAD_CAST "");
    xmlNodePtr bare = xmlNewChild(root, NULL, BAD_CAST "bare", NULL);
    xmlAttrPtr a = xmlNewProp(bare, BAD_CAST "v", NULL);
    assert_non_null(a);
    xmlNodePtr deep = root;
    for (int i = 0; i < 300; i++) /* deeper than written here: libxml2's */
        deep = xmlNewChild(deep, NULL, BAD_CAST "d", NULL);
    same_as_libxml2(root);
    same_as_libxml2(root->children);
    xmlNodePtr loose = xmlNewNode(NULL, BAD_CAST "loose");
    xmlNewProp(loose, BAD_CAST "k", BAD_CAST "v&");
    xmlAddChild(loose, xmlNewText(BAD_CAST "t<"));
    same_as_libxml2(loose);
    xmlFreeNode(loose);
    xmlFreeDoc(d);
}

/* A plain node written inside an element it is not in, under another name: byte for byte
 * what libxml2 writes of the tree that would otherwise be built (a copy of the node,
 * renamed, under a new element); a node that is not plain is left to the caller. */
static void test_plain_wrapped(void **state)
{
    (void)state;
    static const char *const plain[] = {
        "<a/>",
        "<a x='1' y='&quot;&#10;'><b>t &amp; &lt;</b><c/>tail</a>",
        "<data><x a='1'>v</x><x a='2'/></data>",
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        xmlDocPtr d = parse(plain[i]);
        xmlNodePtr n = xmlDocGetRootElement(d);
        for (int renamed = 0; renamed < 2; renamed++) {
            xmlDocPtr out = xmlNewDoc(BAD_CAST "1.0");
            xmlNodePtr resp = xmlNewDocNode(out, NULL, BAD_CAST "response", NULL);
            xmlDocSetRootElement(out, resp);
            xmlNodePtr copy = xmlDocCopyNode(n, out, 1);
            if (renamed)
                xmlNodeSetName(copy, BAD_CAST "data");
            xmlAddChild(resp, copy);
            char *want = libxml2_text(resp);
            bool is_plain = false;
            size_t len = 0;
            char *got = pu_xml_plain_wrapped("response", n, renamed ? "data" : NULL, &len, &is_plain);
            assert_true(is_plain);
            assert_non_null(got);
            assert_string_equal(got, want);
            assert_int_equal(len, strlen(want));
            free(got);
            free(want);
            xmlFreeDoc(out);
        }
        xmlFreeDoc(d);
    }
    static const char *const not_plain[] = {
        "<a xmlns='urn:x'><b/></a>",
        "<a><!-- c --></a>",
        "<a x='caf\xc3\xa9'/>",
        "<a>\xe2\x82\xac</a>",
    };
    for (size_t i = 0; i < sizeof not_plain / sizeof not_plain[0]; i++) {
        xmlDocPtr d = parse(not_plain[i]);
        bool is_plain = true;
        assert_null(pu_xml_plain_wrapped("response", xmlDocGetRootElement(d), "data", NULL, &is_plain));
        assert_false(is_plain);
        xmlFreeDoc(d);
    }
    /* a text node is not an element to rename */
    xmlNodePtr t = xmlNewText(BAD_CAST "t");
    bool is_plain = true;
    assert_null(pu_xml_plain_wrapped("response", t, "data", NULL, &is_plain));
    assert_false(is_plain);
    xmlFreeNode(t);
}

static void test_format(void **state)
{
    (void)state;
    xmlDocPtr d = parse("<a><b><c>t</c></b></a>");
    size_t len = 0;
    char *s = pu_xml_string(xmlDocGetRootElement(d), PU_XML_FORMAT, &len);
    assert_string_equal(s, "<a>\n  <b>\n    <c>t</c>\n  </b>\n</a>\n");
    assert_int_equal(len, strlen(s));
    free(s);
    /* the unformatted context is another: no indentation leaks into it */
    s = pu_xml_string(xmlDocGetRootElement(d), 0, NULL);
    assert_string_equal(s, "<a><b><c>t</c></b></a>");
    free(s);
    xmlFreeDoc(d);
}

static void test_large_text(void **state)
{
    (void)state;
    size_t n = 3u << 20;
    char *big = malloc(n + 1);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = i % 1000 == 999 ? '<' : 'x';
    big[n] = 0;
    xmlDocPtr d = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr r = xmlNewDocNode(d, NULL, BAD_CAST "r", NULL);
    xmlDocSetRootElement(d, r);
    xmlNodeAddContent(r, BAD_CAST big);
    size_t len = 0;
    char *s = pu_xml_string(r, 0, &len);
    assert_non_null(s);
    size_t lts = n / 1000;
    assert_int_equal(len, 3 + n + lts * 3 + 4); /* each '<' written as "&lt;" */
    assert_true(strncmp(s, "<r>xxx", 6) == 0);
    assert_string_equal(s + len - 4, "</r>");
    free(s);
    free(big);
    xmlFreeDoc(d);
}

static void *many(void *arg)
{
    int id = (int)(intptr_t)arg;
    char want[64], text[64];
    snprintf(text, sizeof text, "<t n='%d'><v>%d</v></t>", id, id);
    snprintf(want, sizeof want, "<t n=\"%d\"><v>%d</v></t>", id, id);
    xmlDocPtr d = xmlReadMemory(text, (int)strlen(text), "t.xml", NULL, XML_PARSE_NONET);
    int bad = !d;
    for (int i = 0; d && i < 2000; i++) {
        char *s = pu_xml_string(xmlDocGetRootElement(d), 0, NULL);
        bad += !s || strcmp(s, want) != 0;
        free(s);
    }
    xmlFreeDoc(d);
    return (void *)(intptr_t)bad;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, many, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        assert_int_equal((intptr_t)bad, 0);
    }
}

int main(void)
{
    xmlInitParser();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_and_document),
        cmocka_unit_test(test_plain_as_libxml2),
        cmocka_unit_test(test_plain_wrapped),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_large_text),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
