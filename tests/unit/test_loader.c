/*
 * test_loader.c -- providers/: the plug-in loader (by path, by name through
 * PROVOST_PROVIDER_PATH, and every way of failing), the built-in registry, and the
 * providers themselves -- test, error and the example files plug-in -- called directly.
 *
 * The engine's service functions (provider.h) are defined here over a small call record,
 * so the providers can be driven without an engine (nothing here refers to the VM, so the
 * linker takes none of its objects); the executable exports them, and the plug-ins it
 * loads bind to them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xmlsave.h>

#include "providers/providers.h"

#ifndef PROVOST_PLUGIN_DIR
#error "PROVOST_PLUGIN_DIR (the directory holding libprovost-files.so) must be defined"
#endif

/* ---- a stand-in for the engine's side of a call ---------------------------------------- */

#define MAX_KV 8

struct provost_pcall {
    const char *ns, *proc, *identity, *error_map;
    int phase;
    void *txn_state;
    char *kv[MAX_KV][2];
    size_t nkv;
    int fails;     /* provost_fail / provost_fail_xml calls */
    uint32_t code; /* the last failure */
    char *description;
    char *xml; /* the errorDescription handed to provost_fail_xml, serialised */
};

const char *provost_pcall_namespace(const provost_pcall *c)
{
    return c->ns;
}
const char *provost_pcall_procedure(const provost_pcall *c)
{
    return c->proc;
}
const char *provost_pcall_transaction(const provost_pcall *c)
{
    return "{00000000-0000-0000-0000-000000000001}";
}
int provost_pcall_phase(const provost_pcall *c)
{
    return c->phase;
}
int provost_pcall_in_doubt(const provost_pcall *c)
{
    return 0;
}
const char *provost_pcall_identity(const provost_pcall *c)
{
    return c->identity;
}
const char *provost_pcall_setting(const provost_pcall *c, const char *name)
{
    return strcmp(name, "errorMapFile") == 0 ? c->error_map : NULL;
}
void *provost_provider_state(const provost_pcall *c)
{
    return NULL;
}
void *provost_txn_state(const provost_pcall *c)
{
    return c->txn_state;
}
void provost_set_txn_state(provost_pcall *c, void *state)
{
    c->txn_state = state;
}

int provost_set_rollback_data(provost_pcall *c, const char *key, const char *value)
{
    for (size_t i = 0; i < c->nkv; i++)
        if (strcmp(c->kv[i][0], key) == 0) {
            free(c->kv[i][1]);
            c->kv[i][1] = strdup(value);
            return 0;
        }
    if (c->nkv == MAX_KV)
        return -1;
    c->kv[c->nkv][0] = strdup(key);
    c->kv[c->nkv][1] = strdup(value);
    c->nkv++;
    return 0;
}

const char *provost_get_rollback_data(const provost_pcall *c, const char *key)
{
    for (size_t i = 0; i < c->nkv; i++)
        if (strcmp(c->kv[i][0], key) == 0)
            return c->kv[i][1];
    return NULL;
}

uint32_t provost_fail(provost_pcall *c, uint32_t code, const char *description)
{
    c->fails++;
    c->code = code;
    free(c->description);
    c->description = strdup(description ? description : "");
    return code;
}

static char *serialise(xmlNodePtr n)
{
    xmlBufferPtr buf = xmlBufferCreate();
    xmlSaveCtxtPtr save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_NO_DECL);
    xmlSaveTree(save, n);
    xmlSaveClose(save);
    char *s = strdup((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return s;
}

uint32_t provost_fail_xml(provost_pcall *c, uint32_t code, xmlNodePtr error_description)
{
    xmlChar *d = xmlGetProp(error_description, BAD_CAST "description");
    provost_fail(c, code, d ? (const char *)d : "");
    xmlFree(d);
    free(c->xml);
    c->xml = serialise(error_description);
    return code;
}

static provost_pcall call_of(const char *ns, const char *proc)
{
    provost_pcall c = {
        .ns = ns, .proc = proc, .identity = "engine", .phase = PROVOST_PHASE_PROCESS};
    return c;
}

static void call_clear(provost_pcall *c)
{
    for (size_t i = 0; i < c->nkv; i++) {
        free(c->kv[i][0]);
        free(c->kv[i][1]);
    }
    free(c->description);
    free(c->xml);
    memset(c, 0, sizeof *c);
}

/* ---- helpers -------------------------------------------------------------------------- */

static xmlDocPtr parse(const char *xml)
{
    xmlDocPtr doc =
        xmlReadMemory(xml, (int)strlen(xml), "executeXml.xml", NULL, XML_PARSE_NOBLANKS);
    assert_non_null(doc);
    return doc;
}

static xmlDocPtr exec_xml(const char *execute_data)
{
    char buf[4096];
    snprintf(buf, sizeof buf,
             "<executeXml><context><transactionContext transactionId=\"{X}\"/>"
             "<executeContext namespace=\"N\" procedure=\"P\"/></context>%s</executeXml>",
             execute_data);
    return parse(buf);
}

static char *exec_text(xmlDocPtr doc)
{
    return serialise(pvp_execute_data(doc));
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!strstr(haystack, needle))
        fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static char *temp_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = malloc(512);
    snprintf(dir, 512, "%s/provost-loader-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static char *path_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* ---- the loader ----------------------------------------------------------------------- */

#define FILES_SO PROVOST_PLUGIN_DIR "/libprovost-files.so"

static void load_by_path(void **state)
{
    char err[512] = "unchanged";
    void *h = (void *)1;
    const provost_provider *p = provost_load_provider(FILES_SO, &h, err, sizeof err);
    assert_non_null(p);
    assert_non_null(h);
    assert_string_equal(err, "");
    assert_int_equal(p->abi, PROVOST_PROVIDER_ABI);
    assert_string_equal(p->name, "files");
    assert_non_null(p->process);
    assert_non_null(p->rollback);
    assert_null(p->prepare);
    assert_null(p->commit);
    provost_unload_provider(h);
}

static void load_by_name(void **state)
{
    char err[512];
    void *h = NULL;
    setenv("PROVOST_PROVIDER_PATH", "/nonexistent-provost-dir::" PROVOST_PLUGIN_DIR, 1);
    const provost_provider *p = provost_load_provider("files", &h, err, sizeof err);
    assert_non_null(p);
    assert_non_null(h);
    assert_string_equal(p->name, "files");
    provost_unload_provider(h);
    /* The file name itself, without the prefix, is tried too. */
    p = provost_load_provider("libprovost-files", &h, err, sizeof err);
    assert_non_null(p);
    provost_unload_provider(h);
    unsetenv("PROVOST_PROVIDER_PATH");
}

static void load_missing_name(void **state)
{
    char err[1024];
    void *h = (void *)1;
    setenv("PROVOST_PROVIDER_PATH", "/nonexistent-provost-dir", 1);
    assert_null(provost_load_provider("nosuch-provider", &h, err, sizeof err));
    assert_null(h);
    assert_string_equal(err, "provider \"nosuch-provider\" not found: tried "
                             "/nonexistent-provost-dir/nosuch-provider.so, "
                             "/nonexistent-provost-dir/libprovost-nosuch-provider.so, "
                             "libprovost-nosuch-provider.so, nosuch-provider "
                             "(set PROVOST_PROVIDER_PATH, or name the plug-in by its path)");
    unsetenv("PROVOST_PROVIDER_PATH");
    assert_null(provost_load_provider("nosuch-provider", &h, err, sizeof err));
    assert_contains(err, "tried libprovost-nosuch-provider.so, nosuch-provider (");
}

static void load_missing_path(void **state)
{
    char err[512];
    void *h = (void *)1;
    assert_null(
        provost_load_provider("/nonexistent-provost-dir/libprovost-x.so", &h, err, sizeof err));
    assert_null(h);
    assert_string_equal(err, "cannot load provider: /nonexistent-provost-dir/libprovost-x.so: "
                             "cannot open shared object file: No such file or directory");
}

static void load_not_elf(void **state)
{
    char *dir = temp_dir();
    char *so = path_in(dir, "text.so");
    write_text(so, "This is a text file, not a shared object; the dynamic linker must refuse "
                   "it without harm.\n");
    char err[512], want[600];
    void *h = (void *)1;
    assert_null(provost_load_provider(so, &h, err, sizeof err));
    assert_null(h);
    snprintf(want, sizeof want, "cannot load provider: %s: ", so);
    assert_contains(err, want);
    assert_contains(err, "ELF");
    assert_null(strchr(err, '\n'));
    /* Found through PROVOST_PROVIDER_PATH: the search ends with that file's error. */
    setenv("PROVOST_PROVIDER_PATH", dir, 1);
    assert_null(provost_load_provider("text", &h, err, sizeof err));
    assert_contains(err, want);
    unsetenv("PROVOST_PROVIDER_PATH");
    unlink(so);
    rmdir(dir);
    free(so);
    free(dir);
}

static void load_no_symbol(void **state)
{
    char err[512];
    void *h = (void *)1;
    assert_null(
        provost_load_provider(PROVOST_PLUGIN_DIR "/libprovost-nosymbol.so", &h, err, sizeof err));
    assert_null(h);
    assert_string_equal(err, PROVOST_PLUGIN_DIR "/libprovost-nosymbol.so: no provost_provider_v1 "
                                                "symbol: not a Provost provider");
}

static void load_bad_abi(void **state)
{
    char err[512];
    void *h = (void *)1;
    assert_null(
        provost_load_provider(PROVOST_PLUGIN_DIR "/libprovost-badabi.so", &h, err, sizeof err));
    assert_null(h);
    assert_string_equal(err, PROVOST_PLUGIN_DIR "/libprovost-badabi.so: provider ABI version 999 "
                                                "but the engine wants 1");
    setenv("PROVOST_PROVIDER_PATH", PROVOST_PLUGIN_DIR, 1);
    assert_null(provost_load_provider("badabi", &h, err, sizeof err));
    assert_contains(err, "libprovost-badabi.so: provider ABI version 999 but the engine wants 1");
    unsetenv("PROVOST_PROVIDER_PATH");
}

static void load_bad_arguments(void **state)
{
    char err[8];
    void *h = (void *)1;
    assert_null(provost_load_provider("", &h, err, sizeof err));
    assert_null(h);
    assert_int_equal(strlen(err), 7); /* cut, and terminated */
    assert_null(provost_load_provider(NULL, &h, NULL, 0));
    provost_unload_provider(NULL);
}

static void builtins(void **state)
{
    const provost_provider *t = provost_builtin_provider("test");
    assert_non_null(t);
    assert_ptr_equal(provost_builtin_provider("TEST"), t);
    assert_string_equal(t->name, "test");
    assert_int_equal(t->abi, PROVOST_PROVIDER_ABI);
    const provost_provider *e = provost_builtin_provider("error");
    assert_non_null(e);
    assert_ptr_equal(provost_builtin_provider("Error"), e);
    assert_string_equal(e->name, "error");
    assert_non_null(e->process);
    assert_null(provost_builtin_provider("files"));
    assert_null(provost_builtin_provider("tes"));
    assert_null(provost_builtin_provider("testx"));
    assert_null(provost_builtin_provider(""));
    assert_null(provost_builtin_provider(NULL));
}

static void parse_code(void **state)
{
    uint32_t v = 0;
    assert_int_equal(pvp_parse_code("0x82101391", &v), 0);
    assert_int_equal(v, 0x82101391u);
    assert_int_equal(pvp_parse_code(" 0X8210139a\n", &v), 0);
    assert_int_equal(v, 0x8210139Au);
    assert_int_equal(pvp_parse_code("2147500037", &v), 0);
    assert_int_equal(v, 0x80004005u);
    assert_int_equal(pvp_parse_code("-2147467259", &v), 0);
    assert_int_equal(v, 0x80004005u);
    assert_int_equal(pvp_parse_code("-2147483648", &v), 0);
    assert_int_equal(v, 0x80000000u);
    assert_int_equal(pvp_parse_code("4294967295", &v), 0);
    assert_int_equal(v, 0xFFFFFFFFu);
    assert_int_equal(pvp_parse_code("0x000000001", &v), 0);
    assert_int_equal(v, 1);
    const char *bad[] = {"",    "0x",  "0x100000000", "4294967296", "-2147483649", "12ab",
                         "0xg", "abc", "1 2",         "--1",        NULL};
    for (size_t i = 0; bad[i]; i++)
        if (pvp_parse_code(bad[i], &v) == 0)
            fail_msg("\"%s\" parsed", bad[i]);
    assert_int_equal(pvp_parse_code(NULL, &v), -1);
}

/* ---- the test provider ---------------------------------------------------------------- */

static const provost_provider *test_provider(void)
{
    return provost_builtin_provider("test");
}

static uint32_t run(const provost_provider *p, provost_pcall *c, xmlDocPtr doc)
{
    switch (c->phase) {
    case PROVOST_PHASE_PREPARE:
        return p->prepare(c, doc);
    case PROVOST_PHASE_COMMIT:
        return p->commit(c, doc);
    case PROVOST_PHASE_ROLLBACK:
        return p->rollback(c, doc);
    default:
        return p->process(c, doc);
    }
}

static void test_echo(void **state)
{
    const char *names[] = {"Echo", "echo", "Record", "Anything Else", NULL};
    for (size_t i = 0; names[i]; i++) {
        provost_pcall c = call_of("T", names[i]);
        xmlDocPtr doc = exec_xml("<executeData><a x=\"1\">text</a><!--c--></executeData>");
        assert_int_equal(test_provider()->process(&c, doc), 0);
        char *s = exec_text(doc);
        assert_string_equal(s, "<executeData><a x=\"1\">text</a><!--c--></executeData>");
        assert_int_equal(c.fails, 0);
        for (int ph = PROVOST_PHASE_PREPARE; ph <= PROVOST_PHASE_ROLLBACK; ph++) {
            c.phase = ph;
            assert_int_equal(run(test_provider(), &c, doc), 0);
        }
        free(s);
        xmlFreeDoc(doc);
        call_clear(&c);
    }
}

static void test_fail(void **state)
{
    static const struct {
        const char *data;
        uint32_t code;
        const char *description;
    } cases[] = {
        {"<executeData/>", 0x80004005u, "Test failure"},
        {"<executeData><code>0x82101391</code><description>Exists</description></executeData>",
         0x82101391u, "Exists"},
        {"<executeData><code>2147942402</code></executeData>", 0x80070002u, "Test failure"},
        {"<executeData><code>-2147024891</code></executeData>", 0x80070005u, "Test failure"},
        {"<executeData><code/><description/></executeData>", 0x80004005u, "Test failure"},
        {"<executeData><code>0x1</code></executeData>", 1u, "Test failure"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        provost_pcall c = call_of("T", "FAIL");
        xmlDocPtr doc = exec_xml(cases[i].data);
        assert_int_equal(test_provider()->process(&c, doc), cases[i].code);
        assert_int_equal(c.fails, 1);
        assert_int_equal(c.code, cases[i].code);
        assert_string_equal(c.description, cases[i].description);
        assert_null(c.xml);
        xmlFreeDoc(doc);
        call_clear(&c);
    }

    const char *bad[] = {"<executeData><code>zz</code></executeData>",
                         "<executeData><code>0</code></executeData>",
                         "<executeData><code>0x1FFFFFFFF</code></executeData>"};
    for (size_t i = 0; i < 3; i++) {
        provost_pcall c = call_of("T", "Fail");
        xmlDocPtr doc = exec_xml(bad[i]);
        assert_int_equal(test_provider()->process(&c, doc), PROVOST_E_INVALIDARG);
        assert_contains(c.description, "Fail: executeData/code");
        xmlFreeDoc(doc);
        call_clear(&c);
    }
}

static void test_fail_xml(void **state)
{
    provost_pcall c = call_of("T", "Fail");
    xmlDocPtr doc =
        exec_xml("<executeData><code>0x80070035</code><description>ignored</description>"
                 "<errorDescription description=\"Server not available.\"><Fault>"
                 "<faultData/></Fault></errorDescription></executeData>");
    assert_int_equal(test_provider()->process(&c, doc), 0x80070035u);
    assert_string_equal(c.description, "Server not available.");
    assert_string_equal(c.xml, "<errorDescription description=\"Server not available.\"><Fault>"
                               "<faultData/></Fault></errorDescription>");
    xmlFreeDoc(doc);
    call_clear(&c);
}

static void test_two_phase_failures(void **state)
{
    xmlDocPtr doc = exec_xml("<executeData/>");
    provost_pcall c = call_of("T", "failprepare");
    assert_int_equal(test_provider()->process(&c, doc), 0);
    c.phase = PROVOST_PHASE_PREPARE;
    assert_int_equal(test_provider()->prepare(&c, doc), 0x8004D00Eu);
    assert_int_equal(c.code, 0x8004D00Eu);
    c.phase = PROVOST_PHASE_COMMIT;
    assert_int_equal(test_provider()->commit(&c, doc), 0);
    c.phase = PROVOST_PHASE_ROLLBACK;
    assert_int_equal(test_provider()->rollback(&c, doc), 0);
    call_clear(&c);

    c = call_of("T", "FailRollback");
    assert_int_equal(test_provider()->process(&c, doc), 0);
    assert_int_equal(test_provider()->prepare(&c, doc), 0);
    assert_int_equal(test_provider()->commit(&c, doc), 0);
    assert_int_equal(test_provider()->rollback(&c, doc), 0x80004005u);
    assert_int_equal(c.fails, 1);
    call_clear(&c);
    /* The engine may call with no document at all. */
    c = call_of("T", "FailPrepare");
    assert_int_equal(test_provider()->prepare(&c, NULL), 0x8004D00Eu);
    assert_int_equal(test_provider()->rollback(&c, NULL), 0);
    call_clear(&c);
    xmlFreeDoc(doc);
}

static void test_sleep(void **state)
{
    provost_pcall c = call_of("T", "Sleep");
    xmlDocPtr doc = exec_xml("<executeData><ms> 2 </ms></executeData>");
    assert_int_equal(test_provider()->process(&c, doc), 0);
    assert_int_equal(c.fails, 0);
    xmlFreeDoc(doc);
    const char *bad[] = {"<executeData/>",
                         "<executeData><ms/></executeData>",
                         "<executeData><ms>abc</ms></executeData>",
                         "<executeData><ms>-1</ms></executeData>",
                         "<executeData><ms>1.5</ms></executeData>",
                         "<executeData><ms>600001</ms></executeData>",
                         "<executeData><ms>99999999999999999999</ms></executeData>"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        doc = exec_xml(bad[i]);
        assert_int_equal(test_provider()->process(&c, doc), PROVOST_E_INVALIDARG);
        assert_contains(c.description, "Sleep: executeData/ms");
        assert_contains(c.description, "0 to 600000");
        xmlFreeDoc(doc);
    }
    call_clear(&c);
}

static void test_context_whoami(void **state)
{
    provost_pcall c = call_of("T", "Context");
    xmlDocPtr doc = exec_xml("<executeData><x/></executeData>");
    assert_int_equal(test_provider()->process(&c, doc), 0);
    char *s = exec_text(doc);
    assert_string_equal(
        s, "<executeData><x/><context><transactionContext transactionId=\"{X}\"/>"
           "<executeContext namespace=\"N\" procedure=\"P\"/></context></executeData>");
    free(s);
    xmlFreeDoc(doc);
    call_clear(&c);

    c = call_of("T", "WHOAMI");
    c.identity = "alice & bob";
    doc = exec_xml("<executeData/>");
    assert_int_equal(test_provider()->process(&c, doc), 0);
    s = exec_text(doc);
    assert_string_equal(s, "<executeData><identity>alice &amp; bob</identity></executeData>");
    free(s);
    xmlFreeDoc(doc);
    /* An executeXml without executeData gets one. */
    doc = parse("<executeXml><context/></executeXml>");
    assert_int_equal(test_provider()->process(&c, doc), 0);
    s = exec_text(doc);
    assert_string_equal(s, "<executeData><identity>alice &amp; bob</identity></executeData>");
    free(s);
    xmlFreeDoc(doc);
    call_clear(&c);
}

static void test_trace(void **state)
{
    char *dir = temp_dir();
    char *file = path_in(dir, "trace.tsv");
    setenv("PROVOST_TEST_TRACE", file, 1);

    provost_pcall c = call_of("Test NS", "Whoami");
    xmlDocPtr doc = exec_xml("<executeData><a x=\"1&#10;2\">one\ntwo\tthree&#13;</a>"
                             "<p:b xmlns:p=\"urn:p\">&#233;t&#233;</p:b></executeData>");
    assert_int_equal(test_provider()->process(&c, doc), 0); /* traced before it adds identity */
    xmlFreeDoc(doc);
    c.phase = PROVOST_PHASE_PREPARE;
    c.proc = "Echo";
    doc = parse("<executeXml><context/><executeData/></executeXml>");
    assert_int_equal(test_provider()->prepare(&c, doc), 0);
    assert_int_equal(test_provider()->commit(&c, doc), 0);
    xmlFreeDoc(doc);
    doc = parse("<prov:executeXml xmlns:prov=\"http://maps/specs/prov.xml\"><prov:executeData>"
                "<v>1</v></prov:executeData></prov:executeXml>");
    assert_int_equal(test_provider()->rollback(&c, doc), 0);
    xmlFreeDoc(doc);
    assert_int_equal(test_provider()->rollback(&c, NULL), 0);

    assert_string_equal(
        read_all(file),
        "process\tTest NS/Whoami\t<executeData><a x=\"1&#10;2\">one&#10;two&#9;three&#13;</a>"
        "<p:b xmlns:p=\"urn:p\">\xc3\xa9t\xc3\xa9</p:b></executeData>\n"
        "prepare\tTest NS/Echo\t<executeData/>\n"
        "commit\tTest NS/Echo\t<executeData/>\n"
        "rollback\tTest NS/Echo\t<prov:executeData xmlns:prov=\"http://maps/specs/prov.xml\"><v>1"
        "</v></prov:executeData>\n"
        "rollback\tTest NS/Echo\t<executeData/>\n");
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0600, 0600);
    unsetenv("PROVOST_TEST_TRACE");
    call_clear(&c);
    unlink(file);
    rmdir(dir);
    free(file);
    free(dir);
}

/* Calls on several threads at once: every line arrives whole. */
#define TRACE_THREADS 8
#define TRACE_CALLS   200

static void *trace_worker(void *arg)
{
    char data[256];
    snprintf(data, sizeof data, "<executeData><thread>%d</thread><pad>%0100d</pad></executeData>",
             (int)(intptr_t)arg, 0);
    xmlDocPtr doc = exec_xml(data);
    for (int i = 0; i < TRACE_CALLS; i++) {
        provost_pcall c = call_of("T", "Echo");
        if (test_provider()->process(&c, doc) != 0)
            return (void *)1;
        call_clear(&c);
    }
    xmlFreeDoc(doc);
    return NULL;
}

static void test_trace_threads(void **state)
{
    char *dir = temp_dir();
    char *file = path_in(dir, "trace.tsv");
    setenv("PROVOST_TEST_TRACE", file, 1);
    pthread_t t[TRACE_THREADS];
    for (int i = 0; i < TRACE_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, trace_worker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < TRACE_THREADS; i++) {
        void *rc;
        assert_int_equal(pthread_join(t[i], &rc), 0);
        assert_null(rc);
    }
    unsetenv("PROVOST_TEST_TRACE");

    FILE *f = fopen(file, "r");
    assert_non_null(f);
    char line[512];
    int counts[TRACE_THREADS] = {0}, n = 0;
    while (fgets(line, sizeof line, f)) {
        int thread = -1, end = 0;
        char pad[128];
        if (sscanf(line,
                   "process\tT/Echo\t<executeData><thread>%d</thread><pad>%100[0]</pad>"
                   "</executeData>\n%n",
                   &thread, pad, &end) != 2 ||
            end != (int)strlen(line) || thread < 0 || thread >= TRACE_THREADS)
            fail_msg("torn line: %s", line);
        counts[thread]++;
        n++;
    }
    fclose(f);
    assert_int_equal(n, TRACE_THREADS * TRACE_CALLS);
    for (int i = 0; i < TRACE_THREADS; i++)
        assert_int_equal(counts[i], TRACE_CALLS);
    unlink(file);
    rmdir(dir);
    free(file);
    free(dir);
}

static void test_crash(void **state)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        provost_pcall c = call_of("T", "crash");
        xmlDocPtr doc = exec_xml("<executeData/>");
        test_provider()->process(&c, doc);
        _exit(0); /* not reached */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 86);
}

/* ---- the error provider --------------------------------------------------------------- */

static const provost_provider *error_provider(void)
{
    return provost_builtin_provider("error");
}

static void error_set_error(void **state)
{
    static const struct {
        const char *data;
        uint32_t code;
        const char *description;
    } cases[] = {
        {"<executeData><hr>0x82101391</hr><desc>The username already exists in the database</desc>"
         "</executeData>",
         0x82101391u, "The username already exists in the database"},
        {"<executeData><hr>2182091665</hr><desc>d</desc></executeData>", 0x82101391u, "d"},
        {"<executeData><hr>-2147024809</hr></executeData>", 0x80070057u, "Error 0x80070057"},
        {"<executeData><hr>0</hr><desc>not an error</desc></executeData>", 0, NULL},
        {"<executeData><hr>1</hr></executeData>", 0, NULL},
        {"<executeData><desc>no hr</desc></executeData>", 0x80070057u,
         "SetError: executeData/hr is missing: give the error code, 0x followed by hex digits or "
         "a decimal number"},
        {"<executeData><hr>0xZZ</hr></executeData>", 0x80070057u,
         "SetError: executeData/hr \"0xZZ\" is not an error code (0x followed by up to 8 hex "
         "digits, or a decimal number)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        provost_pcall c = call_of("Error Provider", "seterror");
        xmlDocPtr doc = exec_xml(cases[i].data);
        assert_int_equal(error_provider()->process(&c, doc), cases[i].code);
        if (cases[i].description)
            assert_string_equal(c.description, cases[i].description);
        else
            assert_int_equal(c.fails, 0);
        xmlFreeDoc(doc);
        call_clear(&c);
    }
}

#define ERROR_MAP                                                                                  \
    "<?xml version=\"1.0\"?>\n<Items>\n"                                                           \
    "  <Item name=\"adduser|0x82101391\">\n    <message>Sample error message.</message>\n"         \
    "    <errorCode>0x82102101</errorCode>\n  </Item>\n"                                           \
    "  <Item name=\"adduser|0X8210139A\"><message>Upper case key.</message>"                       \
    "<errorCode>0x82102102</errorCode></Item>\n"                                                   \
    "  <Item name=\"a|b|0x80070005\"><message>Bar in the context.</message>"                       \
    "<errorCode>-2147024891</errorCode></Item>\n"                                                  \
    "  <Item name=\"keep|0x80070002\"><message>Same code, new words.</message></Item>\n"           \
    "  <Item name=\"quiet|0x80070002\"><errorCode>0</errorCode></Item>\n"                          \
    "  <Item name=\"broken|0x80070002\"><errorCode>nope</errorCode></Item>\n"                      \
    "</Items>\n"

static uint32_t translate(const char *map, const char *error_context, const char *data,
                          provost_pcall *c)
{
    char buf[2048];
    snprintf(buf, sizeof buf,
             "<executeXml><context><transactionContext/>%s</context>%s</executeXml>", error_context,
             data);
    xmlDocPtr doc = parse(buf);
    *c = call_of("Error Provider", "TranslateProvisioningError");
    c->error_map = map;
    uint32_t rc = error_provider()->process(c, doc);
    xmlFreeDoc(doc);
    return rc;
}

#define EC(code)                                                                                   \
    "<errorContext code=\"" code "\" description=\"Original words\">"                              \
    "<errorSource namespace=\"Error Provider\" procedure=\"SetError\"/></errorContext>"

static void error_translate_provisioning(void **state)
{
    char *dir = temp_dir();
    char *map = path_in(dir, "errors.xml");
    write_text(map, ERROR_MAP);
    provost_pcall c;
    const char *adduser = "<executeData><errorMessageContext>adduser</errorMessageContext>"
                          "<locId>1033</locId></executeData>";

    assert_int_equal(translate(map, EC("0x82101391"), adduser, &c), 0x82102101u);
    assert_string_equal(c.description, "Sample error message.");
    call_clear(&c);
    assert_int_equal(translate(map, EC("0x8210139A"), adduser, &c), 0x82102102u);
    assert_string_equal(c.description, "Upper case key.");
    call_clear(&c);
    assert_int_equal(
        translate(map, EC("0x80070005"),
                  "<executeData><errorMessageContext>a|b</errorMessageContext></executeData>", &c),
        0x80070005u);
    assert_string_equal(c.description, "Bar in the context.");
    call_clear(&c);
    /* An item without errorCode keeps the code; one mapping to a success handles the error. */
    assert_int_equal(
        translate(map, EC("0x80070002"),
                  "<executeData><errorMessageContext>keep</errorMessageContext></executeData>", &c),
        0x80070002u);
    assert_string_equal(c.description, "Same code, new words.");
    call_clear(&c);
    assert_int_equal(
        translate(map, EC("0x80070002"),
                  "<executeData><errorMessageContext>quiet</errorMessageContext></executeData>",
                  &c),
        0);
    assert_int_equal(c.fails, 0);
    call_clear(&c);
    /* The context part is exact. */
    assert_int_equal(
        translate(map, EC("0x82101391"),
                  "<executeData><errorMessageContext>AddUser</errorMessageContext></executeData>",
                  &c),
        0x80004005u);
    call_clear(&c);

    /* No mapping: mustHandleError 1 (default) -> E_FAIL, generic; 0 -> the original. */
    assert_int_equal(translate(map, EC("0x82109999"), adduser, &c), 0x80004005u);
    assert_string_equal(c.description, "Unexpected error 0x82109999 (no translation for "
                                       "\"adduser|0x82109999\")");
    call_clear(&c);
    assert_int_equal(translate(map, EC("0x82109999"),
                               "<executeData><errorMessageContext>adduser</errorMessageContext>"
                               "<mustHandleError>0</mustHandleError></executeData>",
                               &c),
                     0x82109999u);
    assert_string_equal(c.description, "Original words");
    call_clear(&c);
    assert_int_equal(translate(NULL, EC("0x82101391"),
                               "<executeData><errorMessageContext>adduser</errorMessageContext>"
                               "<mustHandleError>false</mustHandleError></executeData>",
                               &c),
                     0x82101391u);
    call_clear(&c);
    assert_int_equal(translate(NULL, EC("0x82101391"), adduser, &c), 0x80004005u);
    call_clear(&c);

    /* Mistakes. */
    assert_int_equal(translate(map, "", adduser, &c), 0x80070057u);
    assert_contains(c.description, "no error to translate (context/errorContext is missing)");
    call_clear(&c);
    assert_int_equal(translate(map, EC("0x82101391"), "<executeData/>", &c), 0x80070057u);
    assert_contains(c.description, "errorMessageContext is missing");
    call_clear(&c);
    assert_int_equal(translate(map, EC("0x82101391"),
                               "<executeData><errorMessageContext>x</errorMessageContext>"
                               "<mustHandleError>2</mustHandleError></executeData>",
                               &c),
                     0x80070057u);
    assert_contains(c.description, "mustHandleError \"2\" is not 0 or 1");
    call_clear(&c);
    assert_int_equal(
        translate(map, EC("0x80070002"),
                  "<executeData><errorMessageContext>broken</errorMessageContext></executeData>",
                  &c),
        0x80004005u);
    assert_contains(c.description, "item \"broken|0x80070002\" has errorCode \"nope\"");
    call_clear(&c);

    char *missing = path_in(dir, "missing.xml");
    assert_int_equal(translate(missing, EC("0x82101391"), adduser, &c), 0x80004005u);
    assert_contains(c.description, "cannot translate error 0x82101391: error map file ");
    assert_contains(c.description, "missing.xml: No such file or directory");
    call_clear(&c);
    write_text(map, "<Items><Item name=\"x|0x1\"></Items>");
    assert_int_equal(translate(map, EC("0x82101391"), adduser, &c), 0x80004005u);
    assert_contains(c.description, "not well-formed XML at line 1");
    assert_null(strchr(c.description, '\n'));
    call_clear(&c);
    write_text(map, "<Errors/>");
    assert_int_equal(translate(map, EC("0x82101391"), adduser, &c), 0x80004005u);
    assert_contains(c.description, "the root element is <Errors>, not <Items>");
    call_clear(&c);
    /* No network, no external entities. */
    write_text(map,
               "<!DOCTYPE Items [<!ENTITY e SYSTEM \"/etc/passwd\">]><Items><Item name=\"adduser|"
               "0x82101391\"><message>&e;</message></Item></Items>");
    assert_int_equal(translate(map, EC("0x82101391"), adduser, &c), 0x82101391u);
    assert_null(strstr(c.description, "root:"));
    call_clear(&c);

    unlink(map);
    rmdir(dir);
    free(missing);
    free(map);
    free(dir);
}

static void error_translate_user(void **state)
{
    char *dir = temp_dir();
    char *map = path_in(dir, "errors.xml");
    write_text(map, ERROR_MAP);
    static const struct {
        const char *data;
        uint32_t code;
        const char *description;
    } cases[] = {
        {"<executeData><hr>0x82101391</hr><desc>d</desc><errorMessageContext>adduser"
         "</errorMessageContext></executeData>",
         0x82102101u, "Sample error message."},
        {"<executeData><hr>0x82101392</hr><desc>d</desc><errorMessageContext>adduser"
         "</errorMessageContext><mustHandleError>0</mustHandleError></executeData>",
         0x82101392u, "d"},
        {"<executeData><hr>0x82101392</hr><errorMessageContext>adduser</errorMessageContext>"
         "</executeData>",
         0x80004005u, "Unexpected error 0x82101392 (no translation for \"adduser|0x82101392\")"},
        {"<executeData><errorMessageContext>adduser</errorMessageContext></executeData>",
         0x80070057u, NULL},
        {"<executeData><hr>0</hr><errorMessageContext>adduser</errorMessageContext></executeData>",
         0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        provost_pcall c = call_of("Error Provider", "translateusererror");
        c.error_map = map;
        xmlDocPtr doc = exec_xml(cases[i].data);
        assert_int_equal(error_provider()->process(&c, doc), cases[i].code);
        if (cases[i].description)
            assert_string_equal(c.description, cases[i].description);
        xmlFreeDoc(doc);
        call_clear(&c);
    }
    unlink(map);
    rmdir(dir);
    free(map);
    free(dir);
}

static void error_unknown_procedure(void **state)
{
    provost_pcall c = call_of("Error Provider", "ReportEvent");
    xmlDocPtr doc = exec_xml("<executeData/>");
    assert_int_equal(error_provider()->process(&c, doc), 0x80070002u);
    assert_contains(c.description, "no procedure \"ReportEvent\"");
    xmlFreeDoc(doc);
    call_clear(&c);
}

/* ---- the files plug-in ---------------------------------------------------------------- */

static const provost_provider *files;
static void *files_handle;

static int files_setup(void **state)
{
    char err[512];
    files = provost_load_provider(FILES_SO, &files_handle, err, sizeof err);
    if (!files)
        fprintf(stderr, "%s\n", err);
    return files ? 0 : -1;
}

static int files_teardown(void **state)
{
    provost_unload_provider(files_handle);
    return 0;
}

static uint32_t files_call(provost_pcall *c, const char *root, const char *proc, const char *data)
{
    char buf[2048];
    snprintf(buf, sizeof buf,
             "<executeXml><context><providerContext root=\"%s\"/></context>%s</executeXml>", root,
             data);
    xmlDocPtr doc = parse(buf);
    c->proc = proc;
    c->phase = PROVOST_PHASE_PROCESS;
    uint32_t rc = files->process(c, doc);
    xmlFreeDoc(doc);
    return rc;
}

static uint32_t files_rollback(provost_pcall *c)
{
    xmlDocPtr doc = parse("<executeXml><context/><executeData/></executeXml>");
    c->phase = PROVOST_PHASE_ROLLBACK;
    uint32_t rc = files->rollback(c, doc);
    xmlFreeDoc(doc);
    return rc;
}

static int exists(const char *dir, const char *name)
{
    char *p = path_in(dir, name);
    struct stat st;
    int rc = lstat(p, &st) == 0;
    free(p);
    return rc;
}

static void files_directories(void **state)
{
    char *root = temp_dir();
    provost_pcall c = call_of("Files", NULL);
    assert_int_equal(
        files_call(&c, root, "CreateDirectory", "<executeData><path>a</path></executeData>"), 0);
    assert_true(exists(root, "a"));
    char *a = path_in(root, "a");
    assert_string_equal(provost_get_rollback_data(&c, "createdDirectory"), a);
    assert_int_equal(files_rollback(&c), 0);
    assert_false(exists(root, "a"));
    assert_int_equal(files_rollback(&c), 0); /* absent: success */
    call_clear(&c);

    /* Already there: success, nothing to undo. */
    mkdir(a, 0700);
    c = call_of("Files", NULL);
    assert_int_equal(
        files_call(&c, root, "createdirectory", "<executeData><path>a</path></executeData>"), 0);
    assert_null(provost_get_rollback_data(&c, "createdDirectory"));
    assert_int_equal(files_rollback(&c), 0);
    assert_true(exists(root, "a"));
    call_clear(&c);

    /* Delete, and its rollback puts it back with its mode. */
    c = call_of("Files", NULL);
    assert_int_equal(
        files_call(&c, root, "DeleteDirectory", "<executeData><path>./a/</path></executeData>"), 0);
    assert_false(exists(root, "a"));
    assert_int_equal(files_rollback(&c), 0);
    struct stat st;
    assert_int_equal(stat(a, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(files_rollback(&c), 0); /* already there: success */
    call_clear(&c);

    /* Failures: missing parent, missing directory, not empty. */
    c = call_of("Files", NULL);
    assert_int_equal(
        files_call(&c, root, "CreateDirectory", "<executeData><path>x/y</path></executeData>"),
        0x80070003u);
    assert_contains(c.description, "No such file or directory");
    assert_int_equal(
        files_call(&c, root, "DeleteDirectory", "<executeData><path>x</path></executeData>"),
        0x80070003u);
    assert_int_equal(
        files_call(&c, root, "CreateDirectory", "<executeData><path>a/b</path></executeData>"), 0);
    call_clear(&c);
    c = call_of("Files", NULL);
    assert_int_equal(
        files_call(&c, root, "DeleteDirectory", "<executeData><path>a</path></executeData>"),
        0x80070091u);
    call_clear(&c);

    char *b = path_in(a, "b");
    rmdir(b);
    rmdir(a);
    rmdir(root);
    free(b);
    free(a);
    free(root);
}

static void files_write(void **state)
{
    char *root = temp_dir();
    provost_pcall c = call_of("Files", NULL);
    assert_int_equal(
        files_call(
            &c, root, "WriteFile",
            "<executeData><path>f.txt</path><content>hello &amp; bye\n</content></executeData>"),
        0);
    char *f = path_in(root, "f.txt");
    assert_string_equal(read_all(f), "hello & bye\n");
    assert_string_equal(provost_get_rollback_data(&c, "createdFile"), f);
    /* It never replaces a file. */
    provost_pcall d = call_of("Files", NULL);
    assert_int_equal(
        files_call(&d, root, "WriteFile", "<executeData><path>f.txt</path></executeData>"),
        0x80070050u);
    assert_string_equal(read_all(f), "hello & bye\n");
    call_clear(&d);
    assert_int_equal(files_rollback(&c), 0);
    assert_false(exists(root, "f.txt"));
    assert_int_equal(files_rollback(&c), 0);
    call_clear(&c);

    /* No rollback data (a call in doubt): nothing to do. */
    c = call_of("Files", "WriteFile");
    assert_int_equal(files_rollback(&c), 0);
    call_clear(&c);
    rmdir(root);
    free(f);
    free(root);
}

static void files_refuses(void **state)
{
    char *root = temp_dir();
    static const struct {
        const char *root, *proc, *data, *message;
        uint32_t code;
    } cases[] = {
        {NULL, "CreateDirectory", "<executeData><path>../x</path></executeData>", "contains \"..\"",
         0x80070057u},
        {NULL, "CreateDirectory", "<executeData><path>a/../../x</path></executeData>",
         "contains \"..\"", 0x80070057u},
        {NULL, "WriteFile", "<executeData><path>a/..</path></executeData>", "contains \"..\"",
         0x80070057u},
        {NULL, "WriteFile", "<executeData><path>/etc/x</path></executeData>", "is absolute",
         0x80070057u},
        {NULL, "DeleteDirectory", "<executeData/>", "executeData/path is missing", 0x80070057u},
        {"relative/root", "CreateDirectory", "<executeData><path>a</path></executeData>",
         "needs a root attribute, an absolute directory (it has \"relative/root\")", 0x80070057u},
        {"", "CreateDirectory", "<executeData><path>a</path></executeData>", "needs a root",
         0x80070057u},
        {NULL, "Format", "<executeData/>", "has no procedure \"Format\"", 0x80070002u},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        provost_pcall c = call_of("Files", NULL);
        assert_int_equal(
            files_call(&c, cases[i].root ? cases[i].root : root, cases[i].proc, cases[i].data),
            cases[i].code);
        assert_contains(c.description, cases[i].message);
        assert_int_equal(c.nkv, 0);
        call_clear(&c);
    }
    /* Names with dots that are not "..": fine. */
    provost_pcall c = call_of("Files", NULL);
    assert_int_equal(
        files_call(&c, root, "CreateDirectory", "<executeData><path>..a</path></executeData>"), 0);
    assert_int_equal(files_rollback(&c), 0);
    call_clear(&c);
    /* No providerContext at all. */
    xmlDocPtr doc =
        parse("<executeXml><context/><executeData><path>a</path></executeData></executeXml>");
    c = call_of("Files", "CreateDirectory");
    assert_int_equal(files->process(&c, doc), 0x80070057u);
    assert_contains(c.description, "(it has none)");
    xmlFreeDoc(doc);
    call_clear(&c);
    rmdir(root);
    free(root);
}

int main(void)
{
    xmlInitParser();
    const struct CMUnitTest loader[] = {
        cmocka_unit_test(load_by_path),      cmocka_unit_test(load_by_name),
        cmocka_unit_test(load_missing_name), cmocka_unit_test(load_missing_path),
        cmocka_unit_test(load_not_elf),      cmocka_unit_test(load_no_symbol),
        cmocka_unit_test(load_bad_abi),      cmocka_unit_test(load_bad_arguments),
        cmocka_unit_test(builtins),          cmocka_unit_test(parse_code),
    };
    const struct CMUnitTest test[] = {
        cmocka_unit_test(test_echo),     cmocka_unit_test(test_fail),
        cmocka_unit_test(test_fail_xml), cmocka_unit_test(test_two_phase_failures),
        cmocka_unit_test(test_sleep),    cmocka_unit_test(test_context_whoami),
        cmocka_unit_test(test_trace),    cmocka_unit_test(test_trace_threads),
        cmocka_unit_test(test_crash),
    };
    const struct CMUnitTest error[] = {
        cmocka_unit_test(error_set_error),
        cmocka_unit_test(error_translate_provisioning),
        cmocka_unit_test(error_translate_user),
        cmocka_unit_test(error_unknown_procedure),
    };
    const struct CMUnitTest plugin[] = {
        cmocka_unit_test(files_directories),
        cmocka_unit_test(files_write),
        cmocka_unit_test(files_refuses),
    };
    int failed = cmocka_run_group_tests_name("loader", loader, NULL, NULL);
    failed += cmocka_run_group_tests_name("test provider", test, NULL, NULL);
    failed += cmocka_run_group_tests_name("error provider", error, NULL, NULL);
    failed += cmocka_run_group_tests_name("files plug-in", plugin, files_setup, files_teardown);
    xmlCleanupParser();
    return failed ? 1 : 0;
}
