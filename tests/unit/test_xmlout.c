/*
 * test_xmlout.c -- the one serialiser (util/xmlout.c): a node without a declaration, a
 * document with one exactly as libxml2's own dump writes it, indented output ending in a
 * newline, non-ASCII text kept as UTF-8, a context reused call after call (and by kind)
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
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_large_text),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
