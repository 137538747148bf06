/*
 * test_xml_errors.c -- once Provost has initialised libxml2 and libxslt, none of their
 * messages reaches stderr: not from a parse nobody captures (recovery reading a journaled
 * document, in any thread), not from libxslt, not after the compiler has captured and
 * released libxslt's messages for a stylesheet of its own.  libxml2's default handler
 * prints the offending line, so a secret in a document would be printed with it.
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
#include <unistd.h>

#include <libxml/parser.h>
#include <libxslt/transform.h>
#include <libxslt/xsltInternals.h>

#include "provost/compiler.h"

static const char bad_doc[] = "<executeData><password>s3cr3t</password>&undefined;</executeData>";
static const char bad_sheet[] = "<xsl:stylesheet version=\"1.0\" xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\">"
                                "<xsl:template match=\"/\"><xsl:bogus/><xsl:value-of select=\"((\"/></xsl:template>"
                                "</xsl:stylesheet>";
static const char request_with_xsl[] =
    "<request xmlns:xsl=\"http://www.w3.org/1999/XSL/Transform\"><procedure><transform>"
    "<before source=\"data\" destination=\"data\"><xsl:template match=\"/\"><x/></xsl:template></before>"
    "</transform></procedure></request>";

/* stderr goes to a temporary file while fn runs; what was written there is returned */
static char *stderr_of(void (*fn)(void))
{
    char path[] = "/tmp/provost-xml-errors-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fd, 2) == 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    off_t n = lseek(fd, 0, SEEK_END);
    char *text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    assert_true(pread(fd, text, (size_t)n, 0) == n);
    close(fd);
    return text;
}

static void parse_bad(void)
{
    xmlDocPtr d = xmlReadMemory(bad_doc, (int)strlen(bad_doc), "executeData", NULL, XML_PARSE_NONET);
    assert_null(d);
}

static void *parse_bad_thread(void *arg)
{
    (void)arg;
    parse_bad();
    return NULL;
}

static void parse_in_thread(void)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, parse_bad_thread, NULL), 0);
    pthread_join(t, NULL);
}

static void compile_sheet(void)
{
    xmlDocPtr d = xmlReadMemory(bad_sheet, (int)strlen(bad_sheet), "sheet", NULL, XML_PARSE_NONET);
    assert_non_null(d);
    xsltStylesheetPtr s = xsltParseStylesheetDoc(d);
    if (s)
        xsltFreeStylesheet(s);
    else
        xmlFreeDoc(d);
}

static void compile_then_sheet(void)
{
    provost_compiled c;
    provost_compile("request.xml", request_with_xsl, strlen(request_with_xsl), &c);
    provost_compiled_free(&c);
    compile_sheet();
    parse_bad();
}

static void expect_silence(void (*fn)(void))
{
    static char shown[2048];
    char *text = stderr_of(fn);
    snprintf(shown, sizeof shown, "%s", text);
    free(text); /* fail_msg does not return */
    if (shown[0])
        fail_msg("written to stderr: %s", shown);
}

static void test_parse_in_main_thread(void **state)
{
    (void)state;
    expect_silence(parse_bad);
}

static void test_parse_in_another_thread(void **state)
{
    (void)state;
    expect_silence(parse_in_thread);
}

static void test_bad_stylesheet(void **state)
{
    (void)state;
    expect_silence(compile_sheet);
}

static void test_after_the_compiler_captured(void **state)
{
    (void)state;
    expect_silence(compile_then_sheet);
}

int main(void)
{
    provost_compiler_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_in_main_thread),
        cmocka_unit_test(test_parse_in_another_thread),
        cmocka_unit_test(test_bad_stylesheet),
        cmocka_unit_test(test_after_the_compiler_captured),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xsltCleanupGlobals();
    xmlCleanupParser();
    return rc;
}
