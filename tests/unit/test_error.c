/*
 * test_error.c -- errors (vm/error.c): the errorContext element exactly as SPEC §7 shapes
 * it, raising with pvm_fail (what it replaces, what it records, which codes are fatal),
 * and copying, moving and clearing without leaks (the sanitizer build checks those).
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

#include "vm/vm.h"

/* ---- helpers -------------------------------------------------------------------------- */

static char *serialise(xmlNodePtr n)
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

/* Renders e under a fresh <response> and returns the serialised response. */
static char *render(const pvm_error *e)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr resp = xmlNewDocNode(doc, NULL, BAD_CAST "response", NULL);
    xmlDocSetRootElement(doc, resp);
    xmlNodePtr ec = pvm_error_node(e, resp);
    assert_non_null(ec);
    assert_ptr_equal(ec->parent, resp);
    assert_string_equal((const char *)ec->name, "errorContext");
    char *s = serialise(resp);
    xmlFreeDoc(doc);
    return s;
}

/* An errorDescription document as a provider's XML error leaves it. */
static xmlDocPtr detail_doc(const char *xml)
{
    xmlDocPtr d = xmlReadMemory(xml, (int)strlen(xml), "detail", NULL, XML_PARSE_NOBLANKS);
    assert_non_null(d);
    return d;
}

/* ---- the errorContext element ------------------------------------------------------- */

static void test_shape(void **state)
{
    (void)state;
    pvm_error e = {0};
    e.code = 0xc00ce014u;
    e.description = strdup("bad <input> & \"quotes\"");
    e.seqno = 7;
    e.detail = detail_doc("<errorDescription><reason code='9'>disk full</reason></errorDescription>");
    pvm_error_push_source(&e, "Inner NS", "Leaf");   /* innermost first */
    pvm_error_push_source(&e, "Outer NS", "Caller");
    char *s = render(&e);
    assert_string_equal(s, "<response><errorContext code=\"0xC00CE014\" description=\"bad &lt;input&gt; &amp; "
                           "&quot;quotes&quot;\" executeSeqNo=\"7\"><errorDescription><reason code=\"9\">disk "
                           "full</reason></errorDescription><errorSource namespace=\"Inner NS\" procedure=\"Leaf\"/>"
                           "<errorSource namespace=\"Outer NS\" procedure=\"Caller\"/></errorContext></response>");
    free(s);
    pvm_error_clear(&e);
}

static void test_shape_minimal(void **state)
{
    (void)state;
    /* small codes are zero-padded to 8 digits; no description is an empty attribute;
     * no detail and no stack mean no children */
    pvm_error e = {.code = 0x5};
    char *s = render(&e);
    assert_string_equal(s, "<response><errorContext code=\"0x00000005\" description=\"\" executeSeqNo=\"0\"/></response>");
    free(s);
    /* every engine code in the canonical form */
    const uint32_t codes[] = {PROVOST_E_NOTFOUND, PROVOST_E_ACCESSDENIED, PROVOST_E_XSLT, PROVOST_E_JOURNAL,
                              PROVOST_E_INVALIDARG, PROVOST_E_NOPROVIDER, PROVOST_E_NONODE, PROVOST_E_DEPTH,
                              PROVOST_E_FAIL, PROVOST_E_SCHEMA, 0xFFFFFFFFu};
    const char *texts[] = {"0x80070002", "0x80070005", "0x8007000D", "0x8007001F", "0x80070057", "0x8007007E",
                           "0x80070490", "0x800703E9", "0x80004005", "0xC00CE014", "0xFFFFFFFF"};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        pvm_error x = {.code = codes[i], .seqno = 4294967295u};
        s = render(&x);
        char want[200];
        snprintf(want, sizeof want, "<response><errorContext code=\"%s\" description=\"\" executeSeqNo=\"4294967295\"/></response>",
                 texts[i]);
        assert_string_equal(s, want);
        free(s);
    }
    /* a detail document without a root adds nothing */
    pvm_error d = {.code = 1, .detail = xmlNewDoc(BAD_CAST "1.0")};
    s = render(&d);
    assert_string_equal(s, "<response><errorContext code=\"0x00000001\" description=\"\" executeSeqNo=\"0\"/></response>");
    free(s);
    pvm_error_clear(&d);
}

/* The element goes at the end of the parent, after what is there (context/errorContext). */
static void test_appended(void **state)
{
    (void)state;
    xmlDocPtr doc = detail_doc("<context><transactionContext/><clientContext/></context>");
    pvm_error e = {.code = PROVOST_E_FAIL};
    e.description = strdup("x");
    xmlNodePtr ec = pvm_error_node(&e, xmlDocGetRootElement(doc));
    assert_non_null(ec);
    assert_ptr_equal(xmlDocGetRootElement(doc)->last, ec);
    assert_ptr_equal(ec->doc, doc);
    char *s = serialise(xmlDocGetRootElement(doc));
    assert_string_equal(s, "<context><transactionContext/><clientContext/><errorContext code=\"0x80004005\" "
                           "description=\"x\" executeSeqNo=\"0\"/></context>");
    free(s);
    pvm_error_clear(&e);
    xmlFreeDoc(doc);
}

/* ---- raising ------------------------------------------------------------------------ */

static void test_fail(void **state)
{
    (void)state;
    pvm_req r;
    memset(&r, 0, sizeof r);
    r.exec_id = 3;
    assert_int_equal(pvm_fail(&r, PROVOST_E_NONODE, "path \"%s\" selected %d nodes", "a/b", 0), -1);
    assert_int_equal(r.err.code, PROVOST_E_NONODE);
    assert_string_equal(r.err.description, "path \"a/b\" selected 0 nodes");
    assert_int_equal(r.err.seqno, 3); /* executeSeqNo: the procedureExecId at the time */
    assert_false(r.err.fatal);
    assert_int_equal(r.err.nstack, 0);

    /* a new failure replaces everything of the previous one: stack, detail, flags */
    pvm_error_push_source(&r.err, "NS", "P");
    r.err.detail = detail_doc("<errorDescription/>");
    r.exec_id = 9;
    pvm_fail(&r, PROVOST_E_JOURNAL, "journal write failed: %s", "disk");
    assert_int_equal(r.err.code, PROVOST_E_JOURNAL);
    assert_int_equal(r.err.nstack, 0);
    assert_null(r.err.detail);
    assert_int_equal(r.err.seqno, 9);
    assert_true(r.err.fatal);
    char *s = render(&r.err);
    assert_string_equal(s, "<response><errorContext code=\"0x8007001F\" description=\"journal write failed: disk\" "
                           "executeSeqNo=\"9\"/></response>");
    free(s);

    /* fatal is not sticky */
    pvm_fail(&r, PROVOST_E_INVALIDARG, "bad");
    assert_false(r.err.fatal);
    pvm_error_clear(&r.err);
}

static void test_fatal_codes(void **state)
{
    (void)state;
    pvm_req r;
    memset(&r, 0, sizeof r);
    /* not catchable: journal failures and resource exhaustion */
    pvm_fail(&r, PROVOST_E_JOURNAL, "j");
    assert_true(r.err.fatal);
    pvm_fail(&r, PROVOST_E_OUTOFMEMORY, "out of memory");
    assert_true(r.err.fatal);
    pvm_fail(&r, PROVOST_E_DEPTH, "too deep");
    assert_true(r.err.fatal);
    pvm_fail(&r, PROVOST_E_BUDGET, "too long");
    assert_true(r.err.fatal);
    /* everything else is catchable */
    const uint32_t catchable[] = {PROVOST_E_NOTFOUND, PROVOST_E_ACCESSDENIED, PROVOST_E_XSLT, PROVOST_E_INVALIDARG,
                                  PROVOST_E_NOPROVIDER, PROVOST_E_NONODE, PROVOST_E_FAIL,
                                  PROVOST_E_SCHEMA, PROVOST_E_READONLY, 0x8004D00Eu};
    for (size_t i = 0; i < sizeof catchable / sizeof *catchable; i++) {
        pvm_fail(&r, catchable[i], "c");
        if (r.err.fatal)
            fail_msg("0x%08X is marked fatal", catchable[i]);
    }
    pvm_error_clear(&r.err);
}

static void test_fail_long(void **state)
{
    (void)state;
    pvm_req r;
    memset(&r, 0, sizeof r);
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    pvm_fail(&r, PROVOST_E_FAIL, "%s", big);
    assert_non_null(r.err.description);
    size_t n = strlen(r.err.description);
    assert_true(n > 0 && n < sizeof big - 1); /* cut, not overrun */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(r.err.description[i], 'x');
    pvm_error_clear(&r.err);
}

/* ---- the stack, copy, move, clear ----------------------------------------------------- */

static void test_stack(void **state)
{
    (void)state;
    pvm_error e = {.code = 1};
    for (int i = 0; i < 100; i++) { /* grows past its first allocation */
        char ns[16], p[16];
        snprintf(ns, sizeof ns, "ns%d", i);
        snprintf(p, sizeof p, "p%d", i);
        pvm_error_push_source(&e, ns, p);
    }
    pvm_error_push_source(&e, NULL, NULL); /* an anonymous level is written as empty names */
    assert_int_equal(e.nstack, 101);
    assert_true(e.capstack >= e.nstack);
    assert_string_equal(e.stack[0].ns, "ns0");
    assert_string_equal(e.stack[99].proc, "p99");
    assert_string_equal(e.stack[100].ns, "");
    assert_string_equal(e.stack[100].proc, "");
    char *s = render(&e);
    assert_non_null(strstr(s, "<errorSource namespace=\"ns0\" procedure=\"p0\"/><errorSource namespace=\"ns1\""));
    assert_non_null(strstr(s, "<errorSource namespace=\"\" procedure=\"\"/></errorContext>"));
    free(s);
    pvm_error_clear(&e);
    assert_int_equal(e.nstack, 0);
    assert_null(e.stack);
    pvm_error_clear(&e); /* twice is harmless */
}

static pvm_error sample(void)
{
    pvm_error e = {.code = 0x80070005u, .seqno = 12, .fatal = true};
    e.description = strdup("denied");
    e.detail = detail_doc("<errorDescription><who>bob</who></errorDescription>");
    pvm_error_push_source(&e, "A", "a");
    pvm_error_push_source(&e, "B", "b");
    return e;
}

static void test_copy(void **state)
{
    (void)state;
    pvm_error e = sample();
    char *before = render(&e);
    pvm_error c = {0};
    assert_int_equal(pvm_error_copy(&c, &e), 0);
    /* deep: nothing shared */
    assert_ptr_not_equal(c.description, e.description);
    assert_ptr_not_equal(c.detail, e.detail);
    assert_ptr_not_equal(c.stack, e.stack);
    assert_ptr_not_equal(c.stack[0].ns, e.stack[0].ns);
    assert_true(c.fatal);
    assert_int_equal(c.seqno, 12);
    /* the original goes away; the copy renders as it did */
    pvm_error_clear(&e);
    char *after = render(&c);
    assert_string_equal(after, before);
    free(after);
    /* a copy of an empty error is empty */
    pvm_error empty = {0}, c2;
    assert_int_equal(pvm_error_copy(&c2, &empty), 0);
    assert_null(c2.description);
    assert_null(c2.detail);
    assert_int_equal(c2.nstack, 0);
    pvm_error_clear(&c2);
    pvm_error_clear(&c);
    free(before);
}

static void test_move(void **state)
{
    (void)state;
    pvm_error from = sample();
    char *want = render(&from);
    /* moving into an error that holds one frees what it held */
    pvm_error to = {.code = 2};
    to.description = strdup("old");
    pvm_error_push_source(&to, "old", "old");
    to.detail = detail_doc("<old/>");
    pvm_error_move(&to, &from);
    /* from is empty and reusable */
    assert_int_equal(from.code, 0);
    assert_null(from.description);
    assert_null(from.detail);
    assert_null(from.stack);
    assert_int_equal(from.nstack, 0);
    assert_false(from.fatal);
    char *got = render(&to);
    assert_string_equal(got, want);
    free(got);
    free(want);
    /* moving an empty error empties the destination */
    pvm_error_move(&to, &from);
    assert_int_equal(to.code, 0);
    assert_null(to.description);
    pvm_error_clear(&to);
    pvm_error_clear(&from);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape),       cmocka_unit_test(test_shape_minimal), cmocka_unit_test(test_appended),
        cmocka_unit_test(test_fail),        cmocka_unit_test(test_fatal_codes),   cmocka_unit_test(test_fail_long),
        cmocka_unit_test(test_stack),       cmocka_unit_test(test_copy),          cmocka_unit_test(test_move),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
