/*
 * test_loader.c -- providers/: the plug-in loader (by path, by name through
 * PROVOST_PROVIDER_PATH, and every way of failing) and the built-in registry, called
 * directly; then the providers themselves -- test, error and the example files plug-in --
 * driven through the engine: provost_open, provost_register, provost_call and
 * provost_submit, with the results read from the responses (codes, descriptions,
 * errorContext/errorDescription, data), from the file system, and from the test
 * provider's PROVOST_TEST_TRACE file.
 *
 * The executable is linked with ENABLE_EXPORTS: the engine's provider services are in its
 * dynamic symbol table, and the plug-ins the engine loads bind to them.
 */
#define _GNU_SOURCE /* nftw, vasprintf */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "providers/builtin.h"
#include "provost/provost.h"

#ifndef PROVOST_PLUGIN_DIR
#error "PROVOST_PLUGIN_DIR (the directory holding libprovost-files.so) must be defined"
#endif

/* ---- files and directories ------------------------------------------------------------ */

static char scratch[512]; /* everything a test creates lives under it */
static unsigned scratch_seq;

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    return s;
}

/* A path under the scratch directory that nothing uses yet. */
static char *scratch_path(const char *what)
{
    return format("%s/%s-%u", scratch, what, scratch_seq++);
}

static char *temp_dir(void)
{
    char *dir = scratch_path("dir");
    assert_int_equal(mkdir(dir, 0755), 0);
    return dir;
}

static char *path_in(const char *dir, const char *name)
{
    return format("%s/%s", dir, name);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* The whole file (malloc'd), or NULL when it cannot be read. */
static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, out);
    fclose(f);
    fclose(out);
    return buf;
}

static int exists(const char *dir, const char *name)
{
    char *p = path_in(dir, name);
    struct stat st;
    int rc = lstat(p, &st) == 0;
    free(p);
    return rc;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void remove_tree(const char *path)
{
    nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (!haystack || !strstr(haystack, needle))
        fail_msg("\"%s\" does not contain \"%s\"", haystack ? haystack : "(null)", needle);
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
                             PROVOST_BINARY_DIR "/lib/provost/nosuch-provider.so, "
                             PROVOST_BINARY_DIR "/lib/provost/libprovost-nosuch-provider.so, "
                             "libprovost-nosuch-provider.so, nosuch-provider "
                             "(set PROVOST_PROVIDER_PATH, or name the plug-in by its path)");
    unsetenv("PROVOST_PROVIDER_PATH");
    assert_null(provost_load_provider("nosuch-provider", &h, err, sizeof err));
    /* beside the running program: the build tree's bin (tests/) has lib/provost as a sibling */
    assert_contains(err, "tried " PROVOST_BINARY_DIR "/lib/provost/nosuch-provider.so, " PROVOST_BINARY_DIR
                         "/lib/provost/libprovost-nosuch-provider.so, libprovost-nosuch-provider.so, nosuch-provider (");
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

/* ---- the engine ----------------------------------------------------------------------- */

#define CALLER "alice & bob" /* the engine's caller: an identity that needs escaping */

static provost_engine *open_db(const char *db, const char *error_map_file)
{
    provost_options o = {.db_path = db,
                         .sync = PROVOST_SYNC_NONE, /* durability is the crash tests' business */
                         .error_map_file = error_map_file,
                         .caller = CALLER};
    provost_engine *e = NULL;
    provost_error err;
    if (provost_open(&o, &e, &err) != 0)
        fail_msg("provost_open %s: %s", db, err.message);
    return e;
}

/* An engine on a database of its own. */
static provost_engine *open_engine(const char *error_map_file)
{
    char *db = scratch_path("db");
    provost_engine *e = open_db(db, error_map_file);
    free(db);
    return e;
}

static void reg(provost_engine *e, const char *xml)
{
    provost_error err;
    if (provost_register(e, "test.xml", xml, strlen(xml), NULL, &err) != 0)
        fail_msg("register: %s\n%s", err.message, xml);
}

/* A response: the XML and what the engine said about it. */
typedef struct result {
    char *xml;
    int failed;
    uint32_t code;
} result;

static result take(provost_response *r)
{
    assert_non_null(r->xml);
    result out = {strdup(r->xml), r->failed, r->code};
    provost_response_free(r);
    return out;
}

/* A simple request: DATA is a <data> or a <request> without <procedure>, or NULL. */
static result call(provost_engine *e, const char *ns, const char *proc, const char *data)
{
    provost_response r;
    provost_error err;
    if (provost_call(e, ns, proc, data, data ? strlen(data) : 0, PROVOST_COMPACT, &r, &err) != 0)
        fail_msg("provost_call %s/%s did not run: %s", ns, proc, err.message);
    return take(&r);
}

/* A trusted request, with its own procedure. */
static result submit(provost_engine *e, const char *xml)
{
    provost_response r;
    provost_error err;
    if (provost_submit(e, xml, strlen(xml), PROVOST_COMPACT, &r, &err) != 0)
        fail_msg("provost_submit did not run: %s\n%s", err.message, xml);
    return take(&r);
}

/* The request succeeded and its response is <response>DATA</response>. */
static void expect_data(result r, const char *data)
{
    char *want = format("<response>%s</response>", data);
    if (r.failed || r.code != 0 || strcmp(r.xml, want) != 0)
        fail_msg("expected %s\n     got %s", want, r.xml);
    free(want);
    free(r.xml);
}

/* The request failed and its response is exactly XML. */
static void expect_response(result r, const char *xml)
{
    if (!r.failed || strcmp(r.xml, xml) != 0)
        fail_msg("expected %s\n     got %s", xml, r.xml);
    free(r.xml);
}

/* The request failed with CODE; its errorContext's description is DESCRIPTION (exactly,
 * unless NULL) and contains PART (unless NULL).  Returns the response for more checks
 * (the caller frees it) when KEEP is set. */
static char *check_error(result r, uint32_t code, const char *description, const char *part,
                         int keep)
{
    if (!r.failed || r.code != code)
        fail_msg("expected error 0x%08X, got %s", (unsigned)code, r.xml);
    xmlDocPtr doc = xmlReadMemory(r.xml, (int)strlen(r.xml), "response.xml", NULL, 0);
    assert_non_null(doc);
    xmlNodePtr root = xmlDocGetRootElement(doc), ec = NULL;
    assert_string_equal((const char *)root->name, "response");
    for (xmlNodePtr c = root->children; c && !ec; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST "errorContext"))
            ec = c;
    if (!ec)
        fail_msg("no errorContext in %s", r.xml);
    xmlChar *code_text = xmlGetProp(ec, BAD_CAST "code");
    xmlChar *desc = xmlGetProp(ec, BAD_CAST "description");
    char want[16];
    snprintf(want, sizeof want, "0x%08X", (unsigned)code);
    assert_string_equal((const char *)code_text, want);
    assert_non_null(desc);
    if (description && strcmp((const char *)desc, description) != 0)
        fail_msg("expected description \"%s\"\n                 got \"%s\"", description,
                 (const char *)desc);
    if (part)
        assert_contains((const char *)desc, part);
    assert_null(strchr((const char *)desc, '\n'));
    xmlFree(code_text);
    xmlFree(desc);
    xmlFreeDoc(doc);
    if (keep)
        return r.xml;
    free(r.xml);
    return NULL;
}

static void expect_error(result r, uint32_t code, const char *description)
{
    check_error(r, code, description, NULL, 0);
}

static void expect_error_part(result r, uint32_t code, const char *part)
{
    check_error(r, code, NULL, part, 0);
}

/* The journal holds no transaction: every one has ended, each of its rollbacks and commits
 * having succeeded. */
static void expect_no_txn(provost_engine *e)
{
    provost_txn_info *v = NULL;
    size_t n = 0;
    provost_error err;
    if (provost_txn_list(e, &v, &n, &err) != 0)
        fail_msg("provost_txn_list: %s", err.message);
    if (n)
        fail_msg("%zu transaction(s) left in the journal; the first: %s", n,
                 v[0].stuck ? v[0].stuck : "not stuck");
    provost_txn_info_free(v, n);
}

/* Exactly one transaction is left, stuck because WHY, its steps in STEPS ("NS/PROC state"
 * each, separated by ", "); an operator then declares it rolled back by hand. */
static void expect_stuck(provost_engine *e, const char *why, const char *steps)
{
    static const char *const states[] = {"intended", "done",      "failed",
                                         "prepared", "committed", "rolled back"};
    provost_txn_info *v = NULL;
    size_t n = 0;
    provost_error err;
    if (provost_txn_list(e, &v, &n, &err) != 0)
        fail_msg("provost_txn_list: %s", err.message);
    assert_int_equal(n, 1);
    assert_non_null(v[0].stuck);
    assert_string_equal(v[0].stuck, why);
    char *got = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&got, &len);
    assert_non_null(out);
    for (size_t i = 0; i < v[0].nsteps; i++) {
        const provost_txn_step *st = &v[0].steps[i];
        assert_true(st->state >= 0 && st->state <= PROVOST_CALL_ROLLEDBACK);
        fprintf(out, "%s%s/%s %s", i ? ", " : "", st->ns, st->proc, states[st->state]);
    }
    fclose(out);
    assert_string_equal(got, steps);
    free(got);
    assert_int_equal(provost_txn_resolve(e, v[0].id, PROVOST_RESOLVE_ROLLEDBACK, &err), 0);
    provost_txn_info_free(v, n);
    expect_no_txn(e);
}

/* Transaction ids differ per request: {…} after transactionId=" becomes {TXID}. */
static void mask_txid(char *s)
{
    static const char key[] = "transactionId=\"{";
    for (char *p = strstr(s, key); p; p = strstr(p, key)) {
        p += sizeof key - 1;
        char *end = strchr(p, '}');
        assert_non_null(end);
        assert_int_equal(end - p, 36);
        memmove(p, "TXID", 4);
        memmove(p + 4, end, strlen(end) + 1);
    }
}

/* ---- the trace ------------------------------------------------------------------------ */

static char *trace_file;

static void trace_start(void)
{
    trace_file = scratch_path("trace.tsv");
    setenv("PROVOST_TEST_TRACE", trace_file, 1);
}

/* What the trace holds since the last look (the file is emptied). */
static void trace_expect(const char *want)
{
    char *got = read_all(trace_file);
    if (strcmp(got ? got : "", want) != 0)
        fail_msg("trace: expected\n%s\ngot\n%s", want, got ? got : "");
    free(got);
    unlink(trace_file);
}

static void trace_stop(void)
{
    unsetenv("PROVOST_TEST_TRACE");
    unlink(trace_file);
    free(trace_file);
    trace_file = NULL;
}

/* ---- the test provider ---------------------------------------------------------------- */

#define AFTER_TO_DATA "<after source=\"executeData\" destination=\"data\"/>"

static const char T_NS[] =
    "<namespace name=\"T\" providerSource=\"test\">"
    "<providerContext server=\"s1\"><option>o</option></providerContext>"
    "<procedure name=\"Echo\" type=\"read\" access=\"public\"/>"
    "<procedure name=\"Record\" type=\"write\" access=\"public\"/>"
    "<procedure name=\"Anything Else\" type=\"twoPhase\" access=\"public\"/>"
    "<procedure name=\"Saved\" type=\"write\" access=\"public\" saveDataForRollback=\"1\"/>"
    "<procedure name=\"Fail\" type=\"write\" access=\"public\"/>"
    "<procedure name=\"FailPrepare\" type=\"twoPhase\" access=\"public\"/>"
    "<procedure name=\"FailRollback\" type=\"write\" access=\"public\"/>"
    "<procedure name=\"Sleep\" type=\"read\" access=\"public\"/>"
    "<procedure name=\"Context\" type=\"read\" access=\"public\"/>"
    "<procedure name=\"Whoami\" type=\"read\" access=\"public\"/>"
    "<procedure name=\"Crash\" type=\"write\" access=\"public\"/>"
    /* Whoami called from a step: impersonate 1 (caller), 2 (engine), 0 (inherit). */
    "<procedure name=\"AsCaller\" type=\"read\" access=\"public\">"
    "<execute namespace=\"T\" procedure=\"Whoami\" impersonate=\"1\">" AFTER_TO_DATA
    "</execute></procedure>"
    "<procedure name=\"AsEngine\" type=\"read\" access=\"public\">"
    "<execute namespace=\"T\" procedure=\"Whoami\" impersonate=\"2\">" AFTER_TO_DATA
    "</execute></procedure>"
    "<procedure name=\"Inherit\" type=\"read\" access=\"public\">"
    "<execute namespace=\"T\" procedure=\"Whoami\">" AFTER_TO_DATA "</execute></procedure>"
    "</namespace>";

/* The same provider named in upper case, its procedures registered in other cases. */
static const char CASE_NS[] =
    "<namespace name=\"Case\" providerSource=\"TEST\">"
    "<procedure name=\"echo\" type=\"read\" access=\"public\"/>"
    "<procedure name=\"fail\" type=\"read\" access=\"public\"/>"
    "<procedure name=\"failprepare\" type=\"twoPhase\" access=\"public\"/>"
    "<procedure name=\"FAILROLLBACK\" type=\"write\" access=\"public\"/>"
    "<procedure name=\"sleep\" type=\"read\" access=\"public\"/>"
    "<procedure name=\"CONTEXT\" type=\"read\" access=\"public\"/>"
    "<procedure name=\"whoAmI\" type=\"read\" access=\"public\"/>"
    "</namespace>";

static provost_engine *open_test_engine(void)
{
    provost_engine *e = open_engine(NULL);
    reg(e, T_NS);
    reg(e, CASE_NS);
    return e;
}

/* A trusted request whose procedure is STEPS. */
static result run_steps(provost_engine *e, const char *steps)
{
    char *xml = format("<request><procedure>%s</procedure></request>", steps);
    result r = submit(e, xml);
    free(xml);
    return r;
}

#define STEP(proc, data)                                                                           \
    "<execute namespace=\"T\" procedure=\"" proc "\"><executeData>" data "</executeData></execute>"

static void test_echo(void **state)
{
    provost_engine *e = open_test_engine();
    trace_start();
    /* Echo, and any name the provider does not know, leave executeData as it is. */
    const char *names[] = {"Echo", "echo", "Record", "Anything Else", "ANYTHING ELSE"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        expect_data(call(e, "T", names[i], "<data><a x=\"1\">text</a><!--c--></data>"),
                    "<data><a x=\"1\">text</a><!--c--></data>");
    expect_data(call(e, "Case", "Echo", NULL), "<data/>");
    /* Names as registered; a twoPhase call is prepared and committed; read and write calls
     * of a transaction that succeeds see nothing else. */
    trace_expect("process\tT/Echo\t<executeData><a x=\"1\">text</a><!--c--></executeData>\n"
                 "process\tT/Echo\t<executeData><a x=\"1\">text</a><!--c--></executeData>\n"
                 "process\tT/Record\t<executeData><a x=\"1\">text</a><!--c--></executeData>\n"
                 "process\tT/Anything Else\t<executeData><a x=\"1\">text</a><!--c--></executeData>\n"
                 "prepare\tT/Anything Else\t<executeData/>\n"
                 "commit\tT/Anything Else\t<executeData/>\n"
                 "process\tT/Anything Else\t<executeData><a x=\"1\">text</a><!--c--></executeData>\n"
                 "prepare\tT/Anything Else\t<executeData/>\n"
                 "commit\tT/Anything Else\t<executeData/>\n"
                 "process\tCase/echo\t<executeData/>\n");

    /* A failing transaction: its write and twoPhase calls are rolled back, newest first;
     * the read call and the failed one are not. */
    expect_response(run_steps(e, STEP("Record", "<n>1</n>") STEP("Anything Else", "<n>2</n>")
                                     STEP("Echo", "<n>3</n>") STEP("Fail", "")),
                    "<response><errorContext code=\"0x80004005\" description=\"Test failure\" "
                    "executeSeqNo=\"4\"><errorSource namespace=\"T\" procedure=\"Fail\"/>"
                    "</errorContext></response>");
    trace_expect("process\tT/Record\t<executeData><n>1</n></executeData>\n"
                 "process\tT/Anything Else\t<executeData><n>2</n></executeData>\n"
                 "process\tT/Echo\t<executeData><n>3</n></executeData>\n"
                 "process\tT/Fail\t<executeData/>\n"
                 "rollback\tT/Anything Else\t<executeData/>\n"
                 "rollback\tT/Record\t<executeData/>\n");
    expect_no_txn(e);
    trace_stop();
    provost_close(e);
}

static void test_fail(void **state)
{
    provost_engine *e = open_test_engine();
    static const struct {
        const char *data;
        uint32_t code;
        const char *description;
    } cases[] = {
        {"<data/>", 0x80004005u, "Test failure"},
        {"<data><code>0x82101391</code><description>Exists</description></data>", 0x82101391u,
         "Exists"},
        {"<data><code> 0X8210139a </code></data>", 0x8210139Au, "Test failure"},
        {"<data><code>2147942402</code></data>", 0x80070002u, "Test failure"},
        {"<data><code>-2147024891</code></data>", 0x80070005u, "Test failure"},
        {"<data><code/><description/></data>", 0x80004005u, "Test failure"},
        /* a code without the failure bit counts as E_FAIL; the description stays */
        {"<data><code>0x1</code><description>Odd</description></data>", 0x80004005u, "Odd"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_error(call(e, "T", "Fail", cases[i].data), cases[i].code, cases[i].description);
        expect_error(call(e, "Case", "FAIL", cases[i].data), cases[i].code,
                     cases[i].description);
    }
    expect_response(call(e, "T", "fail", "<data><code>0x82101391</code><description>Exists"
                                         "</description></data>"),
                    "<response><errorContext code=\"0x82101391\" description=\"Exists\" "
                    "executeSeqNo=\"1\"><errorSource namespace=\"T\" procedure=\"Fail\"/>"
                    "</errorContext></response>");

    /* Not an error code: E_INVALIDARG, saying why. */
    expect_error(call(e, "T", "Fail", "<data><code>zz</code></data>"), 0x80070057u,
                 "Fail: executeData/code \"zz\" is not an error code (0x followed by hex digits, "
                 "or a decimal number)");
    expect_error(call(e, "T", "Fail", "<data><code>0</code></data>"), 0x80070057u,
                 "Fail: executeData/code is 0, which means success");
    expect_error_part(call(e, "T", "Fail", "<data><code>0x1FFFFFFFF</code></data>"), 0x80070057u,
                      "Fail: executeData/code \"0x1FFFFFFFF\" is not an error code");
    expect_error_part(call(e, "T", "Fail", "<data><code>4294967296</code></data>"), 0x80070057u,
                      "Fail: executeData/code");
    provost_close(e);
}

static void test_fail_xml(void **state)
{
    provost_engine *e = open_test_engine();
    /* The errorDescription's description attribute becomes errorContext/@description; the
     * element, without it, is errorContext's first child. */
    expect_response(call(e, "T", "Fail",
                         "<data><code>0x80070035</code><description>ignored</description>"
                         "<errorDescription description=\"Server not available.\" lang=\"en\">"
                         "<Fault><faultData n=\"1\">x &amp; y</faultData></Fault>"
                         "</errorDescription></data>"),
                    "<response><errorContext code=\"0x80070035\" description=\"Server not "
                    "available.\" executeSeqNo=\"1\"><errorDescription lang=\"en\"><Fault>"
                    "<faultData n=\"1\">x &amp; y</faultData></Fault></errorDescription>"
                    "<errorSource namespace=\"T\" procedure=\"Fail\"/></errorContext></response>");
    /* Through a namespace procedure: the stack grows, the XML stays. */
    expect_response(
        run_steps(e, "<execute namespace=\"T\" procedure=\"Fail\"><executeData><code>0x80070035"
                     "</code><errorDescription description=\"Busy\"><retry/></errorDescription>"
                     "</executeData></execute>"),
        "<response><errorContext code=\"0x80070035\" description=\"Busy\" executeSeqNo=\"1\">"
        "<errorDescription><retry/></errorDescription><errorSource namespace=\"T\" "
        "procedure=\"Fail\"/></errorContext></response>");
    /* Without a description attribute: the engine's words for a failure without one. */
    expect_response(call(e, "T", "Fail", "<data><errorDescription><x/></errorDescription></data>"),
                    "<response><errorContext code=\"0x80004005\" description=\"the provider "
                    "failed\" executeSeqNo=\"1\"><errorDescription><x/></errorDescription>"
                    "<errorSource namespace=\"T\" procedure=\"Fail\"/></errorContext></response>");
    provost_close(e);
}

static void test_two_phase_failures(void **state)
{
    provost_engine *e = open_test_engine();
    trace_start();
    /* FailPrepare: process succeeds, prepare fails; nothing is committed and every write
     * and twoPhase call -- the one whose prepare failed included -- is rolled back. */
    char *xml = check_error(run_steps(e, STEP("Record", "<n>1</n>") STEP("FailPrepare", "<n>2</n>")
                                             STEP("Anything Else", "<n>3</n>")),
                            0x8004D00Eu, "FailPrepare: prepare failed, as asked", NULL, 1);
    assert_contains(xml, "<errorSource namespace=\"T\" procedure=\"FailPrepare\"/>");
    free(xml);
    trace_expect("process\tT/Record\t<executeData><n>1</n></executeData>\n"
                 "process\tT/FailPrepare\t<executeData><n>2</n></executeData>\n"
                 "process\tT/Anything Else\t<executeData><n>3</n></executeData>\n"
                 "prepare\tT/FailPrepare\t<executeData/>\n"
                 "rollback\tT/Anything Else\t<executeData/>\n"
                 "rollback\tT/FailPrepare\t<executeData/>\n"
                 "rollback\tT/Record\t<executeData/>\n");
    expect_error(call(e, "Case", "FailPrepare", NULL), 0x8004D00Eu,
                 "FailPrepare: prepare failed, as asked");
    trace_expect("process\tCase/failprepare\t<executeData/>\n"
                 "prepare\tCase/failprepare\t<executeData/>\n"
                 "rollback\tCase/failprepare\t<executeData/>\n");

    expect_no_txn(e);

    /* FailRollback: a transaction that succeeds never notices.  In one that fails, its
     * rollback fails (and is retried); the response keeps the error that failed the
     * transaction, the older calls wait (never rolled back out of order), and the
     * transaction is left stuck for an operator. */
    expect_data(call(e, "T", "FailRollback", "<data><v/></data>"), "<data><v/></data>");
    trace_expect("process\tT/FailRollback\t<executeData><v/></executeData>\n");
    expect_response(run_steps(e, STEP("Record", "<n>1</n>") STEP("FailRollback", "<n>2</n>")
                                     STEP("Fail", "<code>0x80070005</code>")),
                    "<response><errorContext code=\"0x80070005\" description=\"Test failure\" "
                    "executeSeqNo=\"3\"><errorSource namespace=\"T\" procedure=\"Fail\"/>"
                    "</errorContext></response>");
    trace_expect("process\tT/Record\t<executeData><n>1</n></executeData>\n"
                 "process\tT/FailRollback\t<executeData><n>2</n></executeData>\n"
                 "process\tT/Fail\t<executeData><code>0x80070005</code></executeData>\n"
                 "rollback\tT/FailRollback\t<executeData/>\n"
                 "rollback\tT/FailRollback\t<executeData/>\n"
                 "rollback\tT/FailRollback\t<executeData/>\n");
    expect_stuck(e,
                 "rollback of T/FailRollback failed 3 times: 0x80004005 FailRollback: rollback "
                 "failed, as asked",
                 "T/Record done, T/FailRollback done, T/Fail failed");
    expect_error(run_steps(e, "<execute namespace=\"Case\" procedure=\"FailRollback\"/>"
                              STEP("Fail", "")),
                 0x80004005u, "Test failure");
    trace_expect("process\tCase/FAILROLLBACK\t<executeData/>\n"
                 "process\tT/Fail\t<executeData/>\n"
                 "rollback\tCase/FAILROLLBACK\t<executeData/>\n"
                 "rollback\tCase/FAILROLLBACK\t<executeData/>\n"
                 "rollback\tCase/FAILROLLBACK\t<executeData/>\n");
    expect_stuck(e,
                 "rollback of Case/FAILROLLBACK failed 3 times: 0x80004005 FailRollback: rollback "
                 "failed, as asked",
                 "Case/FAILROLLBACK done, T/Fail failed");
    trace_stop();
    provost_close(e);
}

static void test_sleep(void **state)
{
    provost_engine *e = open_test_engine();
    expect_data(call(e, "T", "Sleep", "<data><ms> 2 </ms></data>"), "<data><ms> 2 </ms></data>");
    expect_data(call(e, "Case", "Sleep", "<data><ms>0</ms></data>"), "<data><ms>0</ms></data>");
    const char *bad[] = {"<data/>",
                         "<data><ms/></data>",
                         "<data><ms>abc</ms></data>",
                         "<data><ms>-1</ms></data>",
                         "<data><ms>+1</ms></data>",
                         "<data><ms>1.5</ms></data>",
                         "<data><ms>600001</ms></data>",
                         "<data><ms>99999999999999999999</ms></data>"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *xml = check_error(call(e, "T", "Sleep", bad[i]), 0x80070057u, NULL,
                                "Sleep: executeData/ms", 1);
        assert_contains(xml, "0 to 600000");
        free(xml);
    }
    expect_error(call(e, "T", "Sleep", NULL), 0x80070057u,
                 "Sleep: executeData/ms is missing: give a whole number of milliseconds from 0 "
                 "to 600000");
    expect_error(call(e, "T", "Sleep", "<data><ms>abc</ms></data>"), 0x80070057u,
                 "Sleep: executeData/ms \"abc\" is not a whole number of milliseconds from 0 to "
                 "600000");
    provost_close(e);
}

static char *masked(result r)
{
    if (r.failed)
        fail_msg("failed: %s", r.xml);
    mask_txid(r.xml);
    return r.xml;
}

static void test_context(void **state)
{
    provost_engine *e = open_test_engine();
    /* Everything the engine hands the provider, in order; authentication only when the
     * call is trusted. */
    static const char request[] =
        "<request><data><x/></data><context><clientContext clientTransactionId=\"c-1\"/>"
        "<securityContext impersonate=\"0\" trusted=\"%s\"><authentication><basic "
        "username=\"carol\" password=\"pw\"/></authentication></securityContext></context>"
        "</request>";
    char *req = format(request, "1");
    char *got = masked(call(e, "T", "Context", req));
    assert_string_equal(
        got, "<response><data><x/><context><transactionContext transactionId=\"{TXID}\"/>"
             "<securityContext impersonate=\"0\" trusted=\"1\"><authentication><basic "
             "username=\"carol\" password=\"pw\"/></authentication></securityContext>"
             "<providerContext server=\"s1\"><option>o</option></providerContext>"
             "<executeContext namespace=\"T\" procedure=\"Context\" providerSource=\"test\" "
             "procedureExecId=\"1\" type=\"read\"/><clientContext clientTransactionId=\"c-1\"/>"
             "</context></data></response>");
    free(got);
    free(req);
    req = format(request, "2");
    got = masked(call(e, "case", "context", req));
    assert_contains(got, "<response><data><x/><context><transactionContext "
                         "transactionId=\"{TXID}\"/><securityContext impersonate=\"0\" "
                         "trusted=\"2\"/><executeContext namespace=\"Case\" "
                         "procedure=\"CONTEXT\" providerSource=\"");
    assert_contains(got, "\" procedureExecId=\"1\" type=\"read\"/><clientContext "
                         "clientTransactionId=\"c-1\"/></context></data></response>");
    free(got);
    free(req);

    /* Inside a catch the error being handled is there too. */
    expect_data(
        run_steps(e, "<try>" STEP("Fail", "<code>0x82101391</code><description>Exists</description>")
                     "</try><catch><execute namespace=\"T\" procedure=\"Context\">"
                     "<after source=\"executeData\" sourcePath=\"context/errorContext\" "
                     "destination=\"data\"/></execute></catch>"),
        "<data><errorContext code=\"0x82101391\" description=\"Exists\" executeSeqNo=\"1\">"
        "<errorSource namespace=\"T\" procedure=\"Fail\"/></errorContext></data>");
    provost_close(e);
}

static void test_whoami(void **state)
{
    provost_engine *e = open_test_engine();
#define SC(attrs, inner)                                                                           \
    "<request><data/><context><securityContext " attrs ">" inner "</securityContext></context>"   \
    "</request>"
#define BASIC "<authentication><basic username=\"carol\" password=\"pw\"/></authentication>"
#define ID(who)  "<data><identity>" who "</identity></data>"
#define SID(who) "<data><executeData><identity>" who "</identity></executeData></data>"
    /* Called directly: the request's impersonate. */
    expect_data(call(e, "T", "Whoami", NULL), ID("engine"));
    expect_data(call(e, "T", "Whoami", SC("impersonate=\"0\"", BASIC)), ID("engine"));
    expect_data(call(e, "T", "Whoami", SC("impersonate=\"1\"", "")), ID("alice &amp; bob"));
    expect_data(call(e, "T", "WHOAMI", SC("impersonate=\"1\"", BASIC)), ID("carol"));
    expect_data(call(e, "T", "Whoami", SC("impersonate=\"2\"", BASIC)), ID("engine"));
    expect_data(call(e, "Case", "Whoami", SC("impersonate=\"1\"", "")), ID("alice &amp; bob"));
    /* From a step: its own value when non-zero, else the caller's. */
    expect_data(call(e, "T", "AsCaller", NULL), SID("alice &amp; bob"));
    expect_data(call(e, "T", "AsCaller", SC("impersonate=\"0\"", BASIC)), SID("carol"));
    expect_data(call(e, "T", "AsEngine", SC("impersonate=\"1\"", BASIC)), SID("engine"));
    expect_data(call(e, "T", "Inherit", NULL), SID("engine"));
    expect_data(call(e, "T", "Inherit", SC("impersonate=\"1\"", "")), SID("alice &amp; bob"));
    expect_data(call(e, "T", "Inherit", SC("impersonate=\"1\"", BASIC)), SID("carol"));
#undef SC
#undef BASIC
#undef ID
#undef SID
    provost_close(e);
}

static void test_trace(void **state)
{
    provost_engine *e = open_test_engine();
    trace_start();
    /* One line per call, whatever the data holds: line feeds, carriage returns and tabs are
     * written as character references; executeData is the one the call received (Whoami's
     * identity is added after the line is written); namespaces it uses are declared. */
    result r = call(e, "T", "Whoami",
                    "<data><a x=\"1&#10;2\">one\ntwo\tthree&#13;</a>"
                    "<p:b xmlns:p=\"urn:p\">&#233;t&#233;</p:b></data>");
    assert_false(r.failed);
    assert_contains(r.xml, "<identity>engine</identity>");
    free(r.xml);
    trace_expect("process\tT/Whoami\t<executeData><a x=\"1&#10;2\">one&#10;two&#9;three&#13;</a>"
                 "<p:b xmlns:p=\"urn:p\">\xc3\xa9t\xc3\xa9</p:b></executeData>\n");

    /* Prepare, commit and rollback: the executeData journaled under saveDataForRollback --
     * what the call left there --, else an empty one. */
    expect_error(run_steps(e, STEP("Saved", "<v>1&#9;2</v><w/>") STEP("Record", "<v>3</v>")
                                  STEP("Anything Else", "<v>4</v>") STEP("Fail", "")),
                 0x80004005u, "Test failure");
    trace_expect("process\tT/Saved\t<executeData><v>1&#9;2</v><w/></executeData>\n"
                 "process\tT/Record\t<executeData><v>3</v></executeData>\n"
                 "process\tT/Anything Else\t<executeData><v>4</v></executeData>\n"
                 "process\tT/Fail\t<executeData/>\n"
                 "rollback\tT/Anything Else\t<executeData/>\n"
                 "rollback\tT/Record\t<executeData/>\n"
                 "rollback\tT/Saved\t<executeData><v>1&#9;2</v><w/></executeData>\n");
    expect_data(run_steps(e, STEP("Anything Else", "<v>5</v>") STEP("Echo", "<v>6</v>")), "<data/>");
    trace_expect("process\tT/Anything Else\t<executeData><v>5</v></executeData>\n"
                 "process\tT/Echo\t<executeData><v>6</v></executeData>\n"
                 "prepare\tT/Anything Else\t<executeData/>\n"
                 "commit\tT/Anything Else\t<executeData/>\n");

    /* Appended, never truncated; created readable and writable by its owner. */
    write_text(trace_file, "earlier\n");
    expect_data(call(e, "T", "Echo", NULL), "<data/>");
    trace_expect("earlier\nprocess\tT/Echo\t<executeData/>\n");
    expect_data(call(e, "T", "Echo", NULL), "<data/>");
    struct stat st;
    assert_int_equal(stat(trace_file, &st), 0);
    assert_int_equal(st.st_mode & 0600, 0600);

    /* A trace that cannot be written is skipped; the call is not affected. */
    char *dir = temp_dir();
    setenv("PROVOST_TEST_TRACE", dir, 1); /* a directory */
    expect_data(call(e, "T", "Echo", "<data><v/></data>"), "<data><v/></data>");
    setenv("PROVOST_TEST_TRACE", "", 1);
    expect_data(call(e, "T", "Echo", "<data><v/></data>"), "<data><v/></data>");
    rmdir(dir);
    free(dir);
    trace_stop();
    provost_close(e);
}

/* Requests on several threads of one engine: every trace line arrives whole. */
#define TRACE_THREADS 8
#define TRACE_CALLS   200

typedef struct trace_job {
    provost_engine *e;
    int thread;
    int failures;
} trace_job;

static void *trace_worker(void *arg)
{
    trace_job *j = arg;
    char data[256];
    snprintf(data, sizeof data, "<data><thread>%d</thread><pad>%0100d</pad></data>", j->thread,
             0);
    for (int i = 0; i < TRACE_CALLS; i++) {
        provost_response r;
        provost_error err;
        if (provost_call(j->e, "T", "Echo", data, strlen(data), PROVOST_COMPACT, &r, &err) != 0 ||
            r.failed)
            j->failures++;
        provost_response_free(&r);
    }
    return NULL;
}

static void test_trace_threads(void **state)
{
    provost_engine *e = open_test_engine();
    trace_start();
    pthread_t t[TRACE_THREADS];
    trace_job jobs[TRACE_THREADS];
    for (int i = 0; i < TRACE_THREADS; i++) {
        jobs[i] = (trace_job){.e = e, .thread = i};
        assert_int_equal(pthread_create(&t[i], NULL, trace_worker, &jobs[i]), 0);
    }
    for (int i = 0; i < TRACE_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(jobs[i].failures, 0);
    }

    FILE *f = fopen(trace_file, "r");
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
            end != (int)strlen(line) || strlen(pad) != 100 || thread < 0 ||
            thread >= TRACE_THREADS)
            fail_msg("torn line: %s", line);
        counts[thread]++;
        n++;
    }
    fclose(f);
    assert_int_equal(n, TRACE_THREADS * TRACE_CALLS);
    for (int i = 0; i < TRACE_THREADS; i++)
        assert_int_equal(counts[i], TRACE_CALLS);
    trace_stop();
    provost_close(e);
}

/* Crash ends the process at once with status 86, after writing its trace line.  A child
 * process opens an engine and runs a transaction that crashes after a write; the next
 * engine to open that database rolls the transaction back: the call that crashed in doubt,
 * then the write before it.  (This test runs before any engine is opened in this process,
 * so the child inherits no database threads.) */
static void test_crash(void **state)
{
    char *db = scratch_path("db");
    trace_start();
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        provost_options o = {.db_path = db, .sync = PROVOST_SYNC_NONE, .caller = CALLER};
        provost_engine *e = NULL;
        provost_error err;
        if (provost_open(&o, &e, &err) != 0 ||
            provost_register(e, "t.xml", T_NS, strlen(T_NS), NULL, &err) != 0)
            _exit(2);
        static const char req[] = "<request><procedure>" STEP("Record", "<n>1</n>")
            STEP("Crash", "<last/>") "</procedure></request>";
        provost_response r;
        provost_submit(e, req, strlen(req), PROVOST_COMPACT, &r, &err);
        _exit(3); /* not reached */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 86);
    trace_expect("process\tT/Record\t<executeData><n>1</n></executeData>\n"
                 "process\tT/Crash\t<executeData><last/></executeData>\n");

    provost_engine *e = open_db(db, NULL);
    trace_expect("rollback\tT/Crash\t<executeData/>\n"
                 "rollback\tT/Record\t<executeData/>\n");
    expect_no_txn(e);
    expect_data(call(e, "T", "Echo", "<data><after/></data>"), "<data><after/></data>");
    trace_expect("process\tT/Echo\t<executeData><after/></executeData>\n");
    trace_stop();
    provost_close(e);
    free(db);
}

/* ---- the error provider --------------------------------------------------------------- */

static void error_set_error(void **state)
{
    provost_engine *e = open_engine(NULL);
    static const struct {
        const char *data;
        uint32_t code;
        const char *description;
    } cases[] = {
        {"<data><hr>0x82101391</hr><desc>The username already exists in the database</desc>"
         "</data>",
         0x82101391u, "The username already exists in the database"},
        {"<data><hr>2182091665</hr><desc>d</desc></data>", 0x82101391u, "d"},
        {"<data><hr>-2147024809</hr></data>", 0x80070057u, "Error 0x80070057"},
        {"<data><hr> 0x8210139a </hr><desc/></data>", 0x8210139Au, "Error 0x8210139A"},
        {"<data><desc>no hr</desc></data>", 0x80070057u,
         "SetError: executeData/hr is missing: give the error code, 0x followed by hex digits or "
         "a decimal number"},
        {"<data><hr>0xZZ</hr></data>", 0x80070057u,
         "SetError: executeData/hr \"0xZZ\" is not an error code (0x followed by up to 8 hex "
         "digits, or a decimal number)"},
        {"<data><hr>0x100000000</hr></data>", 0x80070057u,
         "SetError: executeData/hr \"0x100000000\" is not an error code (0x followed by up to 8 "
         "hex digits, or a decimal number)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(call(e, "Error Provider", "SetError", cases[i].data), cases[i].code,
                     cases[i].description);
    expect_response(call(e, "error provider", "seterror",
                         "<data><hr>0x82101391</hr><desc>Exists</desc></data>"),
                    "<response><errorContext code=\"0x82101391\" description=\"Exists\" "
                    "executeSeqNo=\"1\"><errorSource namespace=\"Error Provider\" "
                    "procedure=\"SetError\"/></errorContext></response>");
    /* A success code raises nothing. */
    expect_data(call(e, "Error Provider", "SetError", "<data><hr>0</hr><desc>fine</desc></data>"),
                "<data><hr>0</hr><desc>fine</desc></data>");
    expect_data(call(e, "Error Provider", "SetError", "<data><hr>1</hr></data>"),
                "<data><hr>1</hr></data>");
    /* Raised from a step, and caught. */
    reg(e, T_NS);
    expect_data(run_steps(e, "<try><execute namespace=\"Error Provider\" procedure=\"SetError\">"
                             "<executeData><hr>0x82101391</hr></executeData></execute></try>"
                             "<catch>" STEP("Echo", "<handled/>") "</catch>"),
                "<data/>");
    provost_close(e);
}

#define ERROR_MAP                                                                                  \
    "<?xml version=\"1.0\"?>\n<Items>\n"                                                           \
    "  <Item name=\"adduser|0x82101391\">\n    <message>Sample error message.</message>\n"         \
    "    <errorCode>0x82102101</errorCode>\n  </Item>\n"                                           \
    "  <Item name=\"adduser|0X8210139A\"><message>Upper case key.</message>"                       \
    "<errorCode>0x82102102</errorCode></Item>\n"                                                   \
    "  <Item name=\"a|b|0x80070006\"><message>Bar in the context.</message>"                       \
    "<errorCode>-2147024891</errorCode></Item>\n"                                                  \
    "  <Item name=\"keep|0x80070002\"><message>Same code, new words.</message></Item>\n"           \
    "  <Item name=\"code only|0x80070002\"><errorCode>0x80070003</errorCode></Item>\n"             \
    "  <Item name=\"quiet|0x80070002\"><errorCode>0</errorCode></Item>\n"                          \
    "  <Item name=\"broken|0x80070002\"><errorCode>nope</errorCode></Item>\n"                      \
    "  <Item name=\"adduser|0x82101391\"><message>Second match.</message></Item>\n"                \
    "</Items>\n"

/* A trusted request: SetError raises HR "Original words" in a try; its catch calls
 * TranslateProvisioningError with executeData ARGS; then T/Echo adds <continued/> to the
 * data, showing whether the error was handled. */
static result translate_in_catch(provost_engine *e, const char *hr, const char *args)
{
    char *xml = format("<request><procedure><try><execute namespace=\"Error Provider\" "
                       "procedure=\"SetError\"><executeData><hr>%s</hr><desc>Original words</desc>"
                       "</executeData></execute></try><catch><execute namespace=\"Error Provider\" "
                       "procedure=\"TranslateProvisioningError\"><executeData>%s</executeData>"
                       "</execute></catch><execute namespace=\"T\" procedure=\"Echo\">"
                       "<executeData><continued/></executeData>" AFTER_TO_DATA "</execute>"
                       "</procedure></request>",
                       hr, args);
    result r = submit(e, xml);
    free(xml);
    return r;
}

#define ADDUSER "<errorMessageContext>adduser</errorMessageContext><locId>1033</locId>"
#define HANDLED "<data><executeData><continued/></executeData></data>"

static void error_translate_provisioning(void **state)
{
    char *dir = temp_dir();
    char *map = path_in(dir, "errors.xml");
    write_text(map, ERROR_MAP);
    provost_engine *e = open_engine(map);
    reg(e, T_NS);

    /* SPEC W6: the translated error is raised in place of the one being handled. */
    expect_response(translate_in_catch(e, "0x82101391", ADDUSER),
                    "<response><errorContext code=\"0x82102101\" description=\"Sample error "
                    "message.\" executeSeqNo=\"2\"><errorSource namespace=\"Error Provider\" "
                    "procedure=\"TranslateProvisioningError\"/></errorContext></response>");
    expect_error(translate_in_catch(e, "0x8210139a", ADDUSER), 0x82102102u, "Upper case key.");
    expect_error(translate_in_catch(e, "0x80070006",
                                    "<errorMessageContext>a|b</errorMessageContext>"),
                 0x80070005u, "Bar in the context.");
    /* An item without message keeps the description; one mapping to a success code handles
     * the error, and the request goes on. */
    expect_error(translate_in_catch(e, "0x80070002",
                                    "<errorMessageContext>code only</errorMessageContext>"),
                 0x80070003u, "Original words");
    expect_data(translate_in_catch(e, "0x80070002",
                                   "<errorMessageContext>quiet</errorMessageContext>"),
                HANDLED);
    /* An item without errorCode re-raises the code being handled: the engine keeps the
     * original description (MPF's rule; TranslateUserError shows the item's message). */
    expect_error(translate_in_catch(e, "0x80070002",
                                    "<errorMessageContext>keep</errorMessageContext>"),
                 0x80070002u, "Original words");
    /* The context part of the key compares exactly. */
    expect_error(translate_in_catch(e, "0x82101391",
                                    "<errorMessageContext>AddUser</errorMessageContext>"),
                 0x80004005u,
                 "Unexpected error 0x82101391 (no translation for \"AddUser|0x82101391\")");

    /* No mapping: mustHandleError 1 (the default, or true) -> E_FAIL and a generic
     * description; 0 or false -> the original error. */
    expect_error(translate_in_catch(e, "0x82109999", ADDUSER), 0x80004005u,
                 "Unexpected error 0x82109999 (no translation for \"adduser|0x82109999\")");
    expect_error(translate_in_catch(e, "0x82109999", ADDUSER "<mustHandleError>TRUE"
                                                             "</mustHandleError>"),
                 0x80004005u,
                 "Unexpected error 0x82109999 (no translation for \"adduser|0x82109999\")");
    expect_error(translate_in_catch(e, "0x82109999", ADDUSER "<mustHandleError>0"
                                                             "</mustHandleError>"),
                 0x82109999u, "Original words");
    expect_error(translate_in_catch(e, "0x82109999", ADDUSER "<mustHandleError> false "
                                                             "</mustHandleError>"),
                 0x82109999u, "Original words");

    /* Mistakes in executeData. */
    expect_error(translate_in_catch(e, "0x82101391", "<locId>1033</locId>"), 0x80070057u,
                 "TranslateProvisioningError: executeData/errorMessageContext is missing: it is "
                 "the first part of the lookup key CONTEXT|0xCODE");
    expect_error(translate_in_catch(e, "0x82101391",
                                    ADDUSER "<mustHandleError>2</mustHandleError>"),
                 0x80070057u,
                 "TranslateProvisioningError: executeData/mustHandleError \"2\" is not 0 or 1");
    /* Outside a catch there is nothing to translate, whatever the caller puts in its
     * context. */
    expect_error_part(call(e, "Error Provider", "TranslateProvisioningError",
                           "<data>" ADDUSER "</data>"),
                      0x80070057u, "no error to translate (context/errorContext is missing)");
    expect_error_part(call(e, "Error Provider", "TranslateProvisioningError",
                           "<request><data>" ADDUSER "</data><context><errorContext "
                           "code=\"0x82101391\" description=\"forged\"/></context></request>"),
                      0x80070057u, "no error to translate");

    /* Mistakes in the lookup file: E_FAIL, naming the file, the problem and the code. */
    char *why = format("TranslateProvisioningError: cannot translate error 0x80070002: error "
                       "map file %s: item \"broken|0x80070002\" has errorCode \"nope\", not an "
                       "error code",
                       map);
    expect_error(translate_in_catch(e, "0x80070002",
                                    "<errorMessageContext>broken</errorMessageContext>"),
                 0x80004005u, why);
    free(why);
    unlink(map);
    why = format("TranslateProvisioningError: cannot translate error 0x82101391: error map "
                       "file %s: No such file or directory",
                       map);
    expect_error(translate_in_catch(e, "0x82101391", ADDUSER), 0x80004005u, why);
    free(why);
    write_text(map, "<Items><Item name=\"x|0x1\"></Items>");
    expect_error_part(translate_in_catch(e, "0x82101391", ADDUSER), 0x80004005u,
                      "errors.xml: not well-formed XML at line 1");
    write_text(map, "<Errors/>");
    expect_error_part(translate_in_catch(e, "0x82101391", ADDUSER), 0x80004005u,
                      "errors.xml: the root element is <Errors>, not <Items>");
    write_text(map, "");
    expect_error_part(translate_in_catch(e, "0x82101391", ADDUSER), 0x80004005u,
                      "errors.xml: not well-formed XML");
    /* A DTD is refused, as wherever documents enter: no entity, internal or external, is
     * expanded or left dangling, and the file's text never reaches the description. */
    write_text(map, "<!DOCTYPE Items [<!ENTITY e SYSTEM \"/etc/passwd\">]><Items><Item "
                    "name=\"adduser|0x82101391\"><message>&e;</message><errorCode>0x82102101"
                    "</errorCode></Item></Items>");
    expect_error_part(translate_in_catch(e, "0x82101391", ADDUSER), 0x80004005u,
                      "errors.xml: a DTD (<!DOCTYPE>) is not allowed");
    write_text(map, "<!DOCTYPE Items [<!ENTITY org \"Example\">]><Items><Item "
                    "name=\"adduser|0x82101391\"><message>&org;</message><errorCode>0x82102101"
                    "</errorCode></Item></Items>");
    expect_error_part(translate_in_catch(e, "0x82101391", ADDUSER), 0x80004005u,
                      "errors.xml: a DTD (<!DOCTYPE>) is not allowed");
    provost_close(e);

    /* An engine without an errorMapFile: nothing is mapped. */
    e = open_engine(NULL);
    reg(e, T_NS);
    expect_error(translate_in_catch(e, "0x82101391", ADDUSER), 0x80004005u,
                 "Unexpected error 0x82101391 (no translation for \"adduser|0x82101391\")");
    expect_error(translate_in_catch(e, "0x82101391",
                                    ADDUSER "<mustHandleError>false</mustHandleError>"),
                 0x82101391u, "Original words");
    provost_close(e);
    unlink(map);
    rmdir(dir);
    free(map);
    free(dir);
}

static void error_translate_user(void **state)
{
    char *dir = temp_dir();
    char *map = path_in(dir, "errors.xml");
    write_text(map, ERROR_MAP);
    provost_engine *e = open_engine(map);
    static const struct {
        const char *data;
        uint32_t code;
        const char *description;
    } cases[] = {
        {"<data><hr>0x82101391</hr><desc>d</desc>" ADDUSER "</data>", 0x82102101u,
         "Sample error message."},
        {"<data><hr>-2112875622</hr><desc>d</desc>" ADDUSER "</data>", 0x82102102u,
         "Upper case key."},
        {"<data><hr>0x80070002</hr><desc>d</desc><errorMessageContext>keep"
         "</errorMessageContext></data>",
         0x80070002u, "Same code, new words."},
        {"<data><hr>0x82101392</hr><desc>d</desc>" ADDUSER "<mustHandleError>0</mustHandleError>"
         "</data>",
         0x82101392u, "d"},
        {"<data><hr>0x82101392</hr>" ADDUSER "</data>", 0x80004005u,
         "Unexpected error 0x82101392 (no translation for \"adduser|0x82101392\")"},
        {"<data>" ADDUSER "</data>", 0x80070057u,
         "TranslateUserError: executeData/hr is missing: give the error code, 0x followed by hex "
         "digits or a decimal number"},
        {"<data><hr>x</hr>" ADDUSER "</data>", 0x80070057u,
         "TranslateUserError: executeData/hr \"x\" is not an error code (0x followed by up to 8 "
         "hex digits, or a decimal number)"},
        {"<data><hr>0x82101391</hr></data>", 0x80070057u,
         "TranslateUserError: executeData/errorMessageContext is missing: it is the first part "
         "of the lookup key CONTEXT|0xCODE"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error(call(e, "Error Provider", "TranslateUserError", cases[i].data),
                     cases[i].code, cases[i].description);
    /* Nothing to translate, or translated to a success code: the call succeeds. */
    expect_data(call(e, "Error Provider", "TranslateUserError",
                     "<data><hr>0</hr>" ADDUSER "</data>"),
                "<data><hr>0</hr>" ADDUSER "</data>");
    expect_data(call(e, "Error Provider", "TranslateUserError",
                     "<data><hr>0x80070002</hr><errorMessageContext>quiet</errorMessageContext>"
                     "</data>"),
                "<data><hr>0x80070002</hr><errorMessageContext>quiet</errorMessageContext></data>");
    provost_close(e);
    unlink(map);
    rmdir(dir);
    free(map);
    free(dir);
}

static void error_unknown_procedure(void **state)
{
    provost_engine *e = open_engine(NULL);
    /* The error provider behind a namespace of one's own (named in another case). */
    reg(e, "<namespace name=\"E\" providerSource=\"Error\">"
           "<procedure name=\"ReportEvent\" type=\"read\" access=\"public\"/>"
           "<procedure name=\"seterror\" type=\"read\" access=\"public\"/></namespace>");
    expect_response(call(e, "E", "ReportEvent", NULL),
                    "<response><errorContext code=\"0x80070002\" description=\"Error Provider has "
                    "no procedure &quot;ReportEvent&quot; (it has SetError, "
                    "TranslateProvisioningError and TranslateUserError)\" executeSeqNo=\"1\">"
                    "<errorSource namespace=\"E\" procedure=\"ReportEvent\"/></errorContext>"
                    "</response>");
    expect_error(call(e, "E", "SetError", "<data><hr>0x80070005</hr></data>"), 0x80070005u,
                 "Error 0x80070005");
    /* The registered namespace has only its three procedures. */
    expect_error(call(e, "Error Provider", "ReportEvent", NULL), 0x80070002u,
                 "namespace 'Error Provider' has no procedure 'ReportEvent'");
    provost_close(e);
}

/* ---- the files plug-in ---------------------------------------------------------------- */

#define FILES_PROCS                                                                                \
    "<procedure name=\"CreateDirectory\" type=\"write\" access=\"public\"/>"                       \
    "<procedure name=\"DeleteDirectory\" type=\"write\" access=\"public\"/>"                       \
    "<procedure name=\"WriteFile\" type=\"write\" access=\"public\"/>"                             \
    "<procedure name=\"Format\" type=\"write\" access=\"public\"/>"

/* A namespace NAME served by SOURCE; ROOT is providerContext/@root (NULL: no
 * providerContext); PROCS its procedures. */
static void reg_files(provost_engine *e, const char *name, const char *source, const char *root,
                      const char *procs)
{
    char *pc = root ? format("<providerContext root=\"%s\"/>", root) : strdup("");
    char *xml = format("<namespace name=\"%s\" providerSource=\"%s\">%s%s</namespace>", name,
                       source, pc, procs);
    reg(e, xml);
    free(xml);
    free(pc);
}

/* An engine with Files (the plug-in by its path, under ROOT), FilesRead (the same, but its
 * calls are reads: never rolled back) and T (the test provider, for Fail). */
static provost_engine *files_engine(const char *root)
{
    provost_engine *e = open_engine(NULL);
    reg_files(e, "Files", FILES_SO, root, FILES_PROCS);
    reg_files(e, "FilesRead", FILES_SO, root,
              "<procedure name=\"CreateDirectory\" type=\"read\" access=\"public\"/>"
              "<procedure name=\"DeleteDirectory\" type=\"read\" access=\"public\"/>");
    reg(e, T_NS);
    return e;
}

#define FSTEP(ns, proc, data)                                                                      \
    "<execute namespace=\"" ns "\" procedure=\"" proc "\"><executeData>" data                      \
    "</executeData></execute>"
#define FAIL_STEP STEP("Fail", "<code>0x80070005</code><description>stop</description>")

static void expect_stopped(result r)
{
    expect_error(r, 0x80070005u, "stop");
}

static void files_directories(void **state)
{
    char *root = temp_dir();
    provost_engine *e = files_engine(root);
    expect_data(call(e, "Files", "CreateDirectory", "<data><path>a</path></data>"),
                "<data><path>a</path></data>");
    assert_true(exists(root, "a"));
    /* Already there: success. */
    expect_data(call(e, "Files", "createdirectory", "<data><path>a</path></data>"),
                "<data><path>a</path></data>");
    /* ...and nothing of the call's to undo when its transaction fails. */
    expect_stopped(run_steps(e, FSTEP("Files", "CreateDirectory", "<path>a</path>") FAIL_STEP));
    assert_true(exists(root, "a"));

    /* Delete, and the rollback of a delete puts the directory back with its mode. */
    char *a = path_in(root, "a");
    assert_int_equal(chmod(a, 0700), 0);
    expect_stopped(run_steps(e, FSTEP("Files", "DeleteDirectory", "<path>./a/</path>") FAIL_STEP));
    struct stat st;
    assert_int_equal(stat(a, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0700);
    expect_no_txn(e);
    expect_data(call(e, "Files", "DeleteDirectory", "<data><path>./a/</path></data>"),
                "<data><path>./a/</path></data>");
    assert_false(exists(root, "a"));

    /* Failures: a missing parent, a missing directory, one that is not empty, a file. */
    char *want = format("CreateDirectory %s/x/y: No such file or directory", root);
    expect_error(call(e, "Files", "CreateDirectory", "<data><path>x/y</path></data>"),
                 0x80070003u, want);
    free(want);
    want = format("DeleteDirectory %s/x: No such file or directory", root);
    expect_error(call(e, "Files", "DeleteDirectory", "<data><path>x</path></data>"), 0x80070003u,
                 want);
    free(want);
    expect_data(run_steps(e, FSTEP("Files", "CreateDirectory", "<path>a</path>")
                                 FSTEP("Files", "CreateDirectory", "<path>a/b</path>")),
                "<data/>");
    assert_true(exists(root, "a/b"));
    expect_error_part(call(e, "Files", "DeleteDirectory", "<data><path>a</path></data>"),
                      0x80070091u, "a: Directory not empty");
    assert_true(exists(root, "a/b"));
    char *file = path_in(root, "file");
    write_text(file, "");
    free(file);
    expect_error_part(call(e, "Files", "DeleteDirectory", "<data><path>file</path></data>"),
                      0x80070003u, "file: not a directory");
    provost_close(e);
    remove_tree(root);
    free(a);
    free(root);
}

static void files_write(void **state)
{
    char *root = temp_dir();
    provost_engine *e = files_engine(root);
    char *f = path_in(root, "f.txt");
    result r = call(e, "Files", "WriteFile",
                    "<data><path>f.txt</path><content>hello &amp; bye\n</content></data>");
    assert_false(r.failed);
    free(r.xml);
    char *text = read_all(f);
    assert_string_equal(text, "hello & bye\n");
    free(text);
    /* It never replaces a file, and a failed call leaves the file alone. */
    char *want = format("WriteFile %s: File exists", f);
    expect_error(call(e, "Files", "WriteFile", "<data><path>f.txt</path></data>"), 0x80070050u,
                 want);
    free(want);
    text = read_all(f);
    assert_string_equal(text, "hello & bye\n");
    free(text);
    /* Without content: an empty file. */
    expect_data(call(e, "Files", "WriteFile", "<data><path>empty</path></data>"),
                "<data><path>empty</path></data>");
    char *empty = path_in(root, "empty");
    text = read_all(empty);
    assert_non_null(text);
    assert_string_equal(text, "");
    free(text);
    free(empty);
    provost_close(e);
    remove_tree(root);
    free(f);
    free(root);
}

static void files_rollback(void **state)
{
    char *root = temp_dir();
    provost_engine *e = files_engine(root);
    trace_start();
    /* A directory and a file in it, then a failure: nothing is left behind, and the test
     * provider's call before them is rolled back last. */
    expect_stopped(run_steps(e, STEP("Record", "<n>1</n>")
                                    FSTEP("Files", "CreateDirectory", "<path>d</path>")
                                    FSTEP("Files", "WriteFile",
                                          "<path>d/f</path><content>x</content>") FAIL_STEP));
    assert_false(exists(root, "d"));
    expect_no_txn(e);
    trace_expect("process\tT/Record\t<executeData><n>1</n></executeData>\n"
                 "process\tT/Fail\t<executeData><code>0x80070005</code><description>stop"
                 "</description></executeData>\n"
                 "rollback\tT/Record\t<executeData/>\n");
    /* The same without the failure stays. */
    expect_data(run_steps(e, FSTEP("Files", "CreateDirectory", "<path>d</path>")
                                 FSTEP("Files", "WriteFile", "<path>d/f</path><content>x</content>")),
                "<data/>");
    assert_true(exists(root, "d/f"));

    /* Rollback of something already absent succeeds: the directory was removed by a read
     * call (never rolled back) before the failure. */
    expect_stopped(run_steps(e, FSTEP("Files", "CreateDirectory", "<path>g</path>")
                                    FSTEP("FilesRead", "DeleteDirectory", "<path>g</path>")
                                        FAIL_STEP));
    assert_false(exists(root, "g"));
    expect_no_txn(e);
    /* ...and of something already back: a deleted directory that was created again. */
    expect_data(call(e, "Files", "CreateDirectory", "<data><path>k</path></data>"),
                "<data><path>k</path></data>");
    char *k = path_in(root, "k");
    assert_int_equal(chmod(k, 0700), 0);
    expect_stopped(run_steps(e, FSTEP("Files", "DeleteDirectory", "<path>k</path>")
                                    FSTEP("FilesRead", "CreateDirectory", "<path>k</path>")
                                        FAIL_STEP));
    struct stat st;
    assert_int_equal(stat(k, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    expect_no_txn(e);
    /* A failed call leaves nothing behind and is not rolled back: only d2 is undone. */
    expect_error_part(run_steps(e, FSTEP("Files", "CreateDirectory", "<path>d2</path>")
                                       FSTEP("Files", "WriteFile", "<path>d/f</path>")),
                      0x80070050u, "File exists");
    assert_false(exists(root, "d2"));
    assert_true(exists(root, "d/f"));
    expect_no_txn(e);
    trace_stop();
    provost_close(e);
    remove_tree(root);
    free(k);
    free(root);
}

static void files_refuses(void **state)
{
    char *root = temp_dir();
    provost_engine *e = files_engine(root);
    reg_files(e, "FilesRelative", FILES_SO, "relative/root", FILES_PROCS);
    reg_files(e, "FilesEmpty", FILES_SO, "", FILES_PROCS);
    reg_files(e, "FilesNone", FILES_SO, NULL, FILES_PROCS);
    static const struct {
        const char *ns, *proc, *data, *message;
        uint32_t code;
    } cases[] = {
        {"Files", "CreateDirectory", "<data><path>../x</path></data>",
         "CreateDirectory: path \"../x\" contains \"..\": it must stay under the root",
         0x80070057u},
        {"Files", "CreateDirectory", "<data><path>a/../../x</path></data>", "contains \"..\"",
         0x80070057u},
        {"Files", "WriteFile", "<data><path>a/..</path></data>", "contains \"..\"", 0x80070057u},
        {"Files", "WriteFile", "<data><path>/etc/x</path></data>",
         "WriteFile: path \"/etc/x\" is absolute: give it relative to the root", 0x80070057u},
        {"Files", "DeleteDirectory", "<data/>", "DeleteDirectory: executeData/path is missing",
         0x80070057u},
        {"Files", "DeleteDirectory", "<data><path/></data>", "executeData/path is missing",
         0x80070057u},
        {"FilesRelative", "CreateDirectory", "<data><path>a</path></data>",
         "CreateDirectory: the namespace's providerContext needs a root attribute, an absolute "
         "directory (it has \"relative/root\")",
         0x80070057u},
        {"FilesEmpty", "CreateDirectory", "<data><path>a</path></data>",
         "needs a root attribute, an absolute directory (it has \"\")", 0x80070057u},
        {"FilesNone", "WriteFile", "<data><path>a</path></data>", "(it has none)", 0x80070057u},
        {"Files", "Format", "<data/>",
         "the files provider has no procedure \"Format\" (it has CreateDirectory, "
         "DeleteDirectory and WriteFile)",
         0x80070002u},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_error_part(call(e, cases[i].ns, cases[i].proc, cases[i].data), cases[i].code,
                          cases[i].message);
    /* Nothing was created; names with dots that are not ".." are fine. */
    assert_false(exists(root, "a"));
    assert_false(exists(scratch, "x"));
    expect_data(call(e, "Files", "CreateDirectory", "<data><path>..a</path></data>"),
                "<data><path>..a</path></data>");
    assert_true(exists(root, "..a"));
    provost_close(e);
    remove_tree(root);
    free(root);
}

/* The plug-in by name, through PROVOST_PROVIDER_PATH, and again when the database is
 * reopened. */
static void files_by_name(void **state)
{
    char *root = temp_dir();
    char *db = scratch_path("db");
    setenv("PROVOST_PROVIDER_PATH", "/nonexistent-provost-dir::" PROVOST_PLUGIN_DIR, 1);
    provost_engine *e = open_db(db, NULL);
    reg_files(e, "ByName", "files", root, FILES_PROCS);
    reg_files(e, "ByFileName", "libprovost-files", root, FILES_PROCS);
    reg_files(e, "ByPath", FILES_SO, root, FILES_PROCS);
    expect_data(call(e, "ByName", "CreateDirectory", "<data><path>n</path></data>"),
                "<data><path>n</path></data>");
    expect_data(call(e, "ByFileName", "CreateDirectory", "<data><path>m</path></data>"),
                "<data><path>m</path></data>");
    assert_true(exists(root, "n"));
    assert_true(exists(root, "m"));
    /* Plug-in names and paths are file names: their case matters (only the built-ins'
     * names are compared without case), also when a namespace already loaded the plug-in
     * under another case. */
    reg_files(e, "ByUpperName", "FILES", root, FILES_PROCS);
    expect_error(call(e, "ByUpperName", "CreateDirectory", "<data><path>u</path></data>"),
                 0x8007007Eu,
                 "provider 'FILES' of namespace 'ByUpperName' is not loaded: provider \"FILES\" "
                 "not found: tried /nonexistent-provost-dir/FILES.so, "
                 "/nonexistent-provost-dir/libprovost-FILES.so, " PROVOST_PLUGIN_DIR "/FILES.so, "
                 PROVOST_PLUGIN_DIR "/libprovost-FILES.so, " PROVOST_BINARY_DIR "/lib/provost/FILES.so, "
                 PROVOST_BINARY_DIR "/lib/provost/libprovost-FILES.so, libprovost-FILES.so, FILES (set "
                 "PROVOST_PROVIDER_PATH, or name the plug-in by its path)");
    reg_files(e, "ByUpperPath", PROVOST_PLUGIN_DIR "/LIBPROVOST-FILES.SO", root, FILES_PROCS);
    expect_error_part(call(e, "ByUpperPath", "CreateDirectory", "<data><path>u</path></data>"),
                      0x8007007Eu,
                      "is not loaded: cannot load provider: " PROVOST_PLUGIN_DIR
                      "/LIBPROVOST-FILES.SO: cannot open shared object file");
    assert_false(exists(root, "u"));
    provost_close(e);

    /* Reopened: the plug-in is loaded again for the stored namespaces. */
    e = open_db(db, NULL);
    expect_data(call(e, "ByName", "DeleteDirectory", "<data><path>n</path></data>"),
                "<data><path>n</path></data>");
    expect_data(call(e, "ByPath", "DeleteDirectory", "<data><path>m</path></data>"),
                "<data><path>m</path></data>");
    assert_false(exists(root, "n"));
    assert_false(exists(root, "m"));
    provost_close(e);

    /* Reopened without the search path: the name is not found any more (the path is). */
    unsetenv("PROVOST_PROVIDER_PATH");
    e = open_db(db, NULL);
    expect_error_part(call(e, "ByName", "CreateDirectory", "<data><path>n</path></data>"),
                      0x8007007Eu, "provider \"files\" not found: tried " PROVOST_BINARY_DIR
                      "/lib/provost/files.so, " PROVOST_BINARY_DIR "/lib/provost/libprovost-files.so, libprovost-files.so, files");
    expect_data(call(e, "ByPath", "CreateDirectory", "<data><path>p</path></data>"),
                "<data><path>p</path></data>");
    assert_false(exists(root, "n"));
    assert_true(exists(root, "p"));
    provost_close(e);
    remove_tree(root);
    free(root);
    free(db);
}

/* A namespace whose provider cannot be loaded: registering it works, calling it fails
 * with 0x8007007E and the reason, like any other error. */
static void files_unloadable(void **state)
{
    char *dir = temp_dir();
    char *text_so = path_in(dir, "text.so");
    write_text(text_so, "This is a text file, not a shared object.\n");
    char *path = format("%s:" PROVOST_PLUGIN_DIR, dir);
    setenv("PROVOST_PROVIDER_PATH", path, 1);
    provost_engine *e = open_engine(NULL);
    reg(e, T_NS);
    static const struct {
        const char *ns, *source, *reason;
    } cases[] = {
        {"BadAbi", PROVOST_PLUGIN_DIR "/libprovost-badabi.so",
         PROVOST_PLUGIN_DIR "/libprovost-badabi.so: provider ABI version 999 but the engine "
                            "wants 1"},
        {"BadAbiByName", "badabi",
         PROVOST_PLUGIN_DIR "/libprovost-badabi.so: provider ABI version 999 but the engine "
                            "wants 1"},
        {"NoSymbol", PROVOST_PLUGIN_DIR "/libprovost-nosymbol.so",
         PROVOST_PLUGIN_DIR "/libprovost-nosymbol.so: no provost_provider_v1 symbol: not a "
                            "Provost provider"},
        {"NoSymbolByName", "nosymbol",
         PROVOST_PLUGIN_DIR "/libprovost-nosymbol.so: no provost_provider_v1 symbol: not a "
                            "Provost provider"},
        {"Missing", "nosuch-provider", "provider \"nosuch-provider\" not found: tried "},
        {"MissingPath", "/nonexistent-provost-dir/libprovost-x.so",
         "cannot load provider: /nonexistent-provost-dir/libprovost-x.so: cannot open shared "
         "object file: No such file or directory"},
        {"NotElf", "text", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *xml = format("<namespace name=\"%s\" providerSource=\"%s\">"
                           "<procedure name=\"Do\" type=\"write\" access=\"public\"/></namespace>",
                           cases[i].ns, cases[i].source);
        reg(e, xml);
        free(xml);
        char *reason = cases[i].reason ? strdup(cases[i].reason)
                                       : format("cannot load provider: %s: ", text_so);
        char *prefix = format("provider '%s' of namespace '%s' is not loaded: ", cases[i].source,
                              cases[i].ns);
        char *want = format("%s%s", prefix, reason);
        char *resp = check_error(call(e, cases[i].ns, "Do", "<data><v/></data>"), 0x8007007Eu,
                                 NULL, want, 1);
        free(want);
        char *source = format("<errorSource namespace=\"%s\" procedure=\"Do\"/>", cases[i].ns);
        assert_contains(resp, source);
        free(source);
        free(resp);
        /* From a step: the transaction is rolled back; in a try, the error is caught. */
        char *steps = format(STEP("Record", "") "<execute namespace=\"%s\" procedure=\"Do\"/>",
                             cases[i].ns);
        resp = check_error(run_steps(e, steps), 0x8007007Eu, NULL, prefix, 1);
        free(resp);
        free(steps);
        steps = format("<try><execute namespace=\"%s\" procedure=\"Do\"/></try><catch>" STEP(
                           "Echo", "") "</catch>",
                       cases[i].ns);
        expect_data(run_steps(e, steps), "<data/>");
        free(steps);
        free(prefix);
        free(reason);
    }
    provost_close(e);
    unsetenv("PROVOST_PROVIDER_PATH");
    remove_tree(dir);
    free(path);
    free(text_so);
    free(dir);
}

/* ---- main ----------------------------------------------------------------------------- */

static int scratch_setup(void **state)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/provost-loader-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(scratch) ? 0 : -1;
}

static int scratch_teardown(void **state)
{
    unsetenv("PROVOST_PROVIDER_PATH");
    unsetenv("PROVOST_TEST_TRACE");
    remove_tree(scratch);
    return 0;
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
        cmocka_unit_test(test_crash), /* first: see there */
        cmocka_unit_test(test_echo),      cmocka_unit_test(test_fail),
        cmocka_unit_test(test_fail_xml),  cmocka_unit_test(test_two_phase_failures),
        cmocka_unit_test(test_sleep),     cmocka_unit_test(test_context),
        cmocka_unit_test(test_whoami),    cmocka_unit_test(test_trace),
        cmocka_unit_test(test_trace_threads),
    };
    const struct CMUnitTest error[] = {
        cmocka_unit_test(error_set_error),
        cmocka_unit_test(error_translate_provisioning),
        cmocka_unit_test(error_translate_user),
        cmocka_unit_test(error_unknown_procedure),
    };
    const struct CMUnitTest plugin[] = {
        cmocka_unit_test(files_directories), cmocka_unit_test(files_write),
        cmocka_unit_test(files_rollback),    cmocka_unit_test(files_refuses),
        cmocka_unit_test(files_by_name),     cmocka_unit_test(files_unloadable),
    };
    int failed = cmocka_run_group_tests_name("loader", loader, scratch_setup, scratch_teardown);
    failed += cmocka_run_group_tests_name("test provider", test, scratch_setup, scratch_teardown);
    failed += cmocka_run_group_tests_name("error provider", error, scratch_setup, scratch_teardown);
    failed += cmocka_run_group_tests_name("files plug-in", plugin, scratch_setup, scratch_teardown);
    xmlCleanupParser();
    return failed ? 1 : 0;
}
