/*
 * test_xmlerr.c -- libxml2's errors kept as one report (util/xmlerr.c): the first error
 * of a real parse with its line and column, warnings passed over, messages made one line,
 * the printf-style handler's first non-blank message, and the thread's handler put back
 * as it was after a capture.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <libxml/globals.h>
#include <libxml/parser.h>

#include "util/xmlerr.h"

static xmlDocPtr parse(const char *text)
{
    return xmlReadMemory(text, (int)strlen(text), "t.xml", NULL, XML_PARSE_NONET);
}

static void test_first_error_of_a_parse(void **state)
{
    (void)state;
    pu_xmlerr e = {0};
    pu_xmlerr_saved s = pu_xmlerr_capture(&e);
    xmlDocPtr doc = parse("<a>\n  <b></c>\n</a>");
    pu_xmlerr_restore(s);
    assert_null(doc);
    assert_true(e.have);
    assert_int_equal(e.line, 2);
    assert_true(e.col > 0);
    assert_int_equal(e.code, XML_ERR_TAG_NAME_MISMATCH);
    assert_non_null(strstr(e.msg, "mismatch"));
    assert_null(strchr(e.msg, '\n'));
    assert_true(e.msg[strlen(e.msg) - 1] != ' ');
    /* what follows the first error does not replace it */
    pu_xmlerr_handler(&e, &(xmlError){.level = XML_ERR_FATAL, .message = (char *)"later", .line = 9});
    assert_int_equal(e.line, 2);
}

static void test_warnings_and_blanks(void **state)
{
    (void)state;
    pu_xmlerr e = {0};
    pu_xmlerr_handler(&e, &(xmlError){.level = XML_ERR_WARNING, .message = (char *)"just a warning"});
    pu_xmlerr_handler(&e, NULL);
    assert_false(e.have);
    assert_string_equal(pu_xmlerr_text(&e, "none"), "none");
    pu_xmlerr_handler(&e, &(xmlError){.level = XML_ERR_ERROR, .message = (char *)"two\nlines \n", .line = 3, .int2 = 4});
    assert_true(e.have);
    assert_string_equal(e.msg, "two lines");
    assert_int_equal(e.col, 4);
    assert_string_equal(pu_xmlerr_text(&e, "none"), "two lines");
    /* an error without a message is kept; its text is the caller's */
    pu_xmlerr quiet = {0};
    pu_xmlerr_handler(&quiet, &(xmlError){.level = XML_ERR_FATAL});
    assert_true(quiet.have);
    assert_string_equal(pu_xmlerr_text(&quiet, "fallback"), "fallback");
}

static void test_generic(void **state)
{
    (void)state;
    pu_xmlerr e = {0};
    pu_xmlerr_generic(&e, "%s", " \n");
    assert_false(e.have);
    pu_xmlerr_generic(&e, "bad %s at %d\n", "thing", 7);
    pu_xmlerr_generic(&e, "%s", "second");
    assert_true(e.have);
    assert_string_equal(e.msg, "bad thing at 7");
}

static int calls;
static void counting(void *ctx, xmlErrorPtr err)
{
    (void)err;
    calls += ctx == &calls;
}

static void test_restore_puts_back_the_callers_handler(void **state)
{
    (void)state;
    xmlSetStructuredErrorFunc(&calls, counting);
    pu_xmlerr inner = {0};
    pu_xmlerr_saved s = pu_xmlerr_capture(&inner);
    pu_xmlerr_saved quiet = pu_xmlerr_capture(NULL); /* nowhere, nested */
    xmlFreeDoc(parse("<a>"));
    pu_xmlerr_restore(quiet);
    assert_false(inner.have);
    xmlFreeDoc(parse("<b>"));
    assert_true(inner.have);
    pu_xmlerr_restore(s);
    assert_int_equal(calls, 0);
    xmlFreeDoc(parse("<c>"));
    assert_true(calls > 0);
    assert_true(xmlStructuredError == counting && xmlStructuredErrorContext == &calls);
    xmlSetStructuredErrorFunc(NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_error_of_a_parse),
        cmocka_unit_test(test_warnings_and_blanks),
        cmocka_unit_test(test_generic),
        cmocka_unit_test(test_restore_puts_back_the_callers_handler),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmlCleanupParser();
    return rc;
}
