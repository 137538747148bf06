/*
 * test.c -- the `test` provider, the contract in DESIGN.md ("The test provider") that
 * tests everywhere rely on: Echo, Fail, FailPrepare, FailRollback, Sleep, Context, Whoami,
 * Crash (any other procedure name behaves as Echo), and the PROVOST_TEST_TRACE record of
 * every process, prepare, commit and rollback call.
 *
 * No state at all: the trace file is opened, written with one write(2) and closed on
 * every call, so concurrent calls (and processes) append whole lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/xmlsave.h>

#include "builtin.h"

#define TEST_E_PREPARE  0x8004D00Eu /* what FailPrepare's prepare returns */
#define TEST_MAX_SLEEP  600000L     /* ms: ten minutes */
#define TEST_CRASH_CODE 86

typedef enum {
    T_ECHO,
    T_FAIL,
    T_FAIL_PREPARE,
    T_FAIL_ROLLBACK,
    T_SLEEP,
    T_CONTEXT,
    T_WHOAMI,
    T_CRASH
} test_proc;

static test_proc which(const provost_pcall *c)
{
    static const struct {
        const char *name;
        test_proc proc;
    } procs[] = {
        {"Fail", T_FAIL},   {"FailPrepare", T_FAIL_PREPARE}, {"FailRollback", T_FAIL_ROLLBACK},
        {"Sleep", T_SLEEP}, {"Context", T_CONTEXT},          {"Whoami", T_WHOAMI},
        {"Crash", T_CRASH},
    };
    const char *name = provost_pcall_procedure(c);
    for (size_t i = 0; i < sizeof procs / sizeof procs[0]; i++)
        if (pvp_eq_nocase(procs[i].name, name))
            return procs[i].proc;
    return T_ECHO;
}

/* ---- the trace ------------------------------------------------------------------------ */

/* EXEC serialised on one line, without added whitespace: line breaks and tabs inside it
 * become character references.  malloc'd; NULL when out of memory. */
static char *one_line(xmlNodePtr exec)
{
    if (!exec)
        return strdup("<executeData/>");
    /* A copy in a document of its own carries the namespace declarations it uses. */
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr copy = doc ? xmlDocCopyNode(exec, doc, 1) : NULL;
    if (copy)
        xmlDocSetRootElement(doc, copy);
    xmlBufferPtr buf = xmlBufferCreate();
    char *out = NULL;
    if (copy && buf) {
        xmlSaveCtxtPtr save = xmlSaveToBuffer(buf, "UTF-8", XML_SAVE_NO_DECL);
        if (save) {
            xmlSaveTree(save, copy);
            xmlSaveClose(save);
            const char *s = (const char *)xmlBufferContent(buf);
            size_t len = 0;
            for (const char *p = s; *p; p++)
                len += *p == '\n' || *p == '\r' ? 5 : *p == '\t' ? 4 : 1;
            out = malloc(len + 1);
            if (out) {
                char *o = out;
                for (const char *p = s; *p; p++) {
                    const char *esc = *p == '\n'   ? "&#10;"
                                      : *p == '\r' ? "&#13;"
                                      : *p == '\t' ? "&#9;"
                                                   : NULL;
                    if (esc) {
                        memcpy(o, esc, strlen(esc));
                        o += strlen(esc);
                    } else {
                        *o++ = *p;
                    }
                }
                *o = '\0';
            }
        }
    }
    if (buf)
        xmlBufferFree(buf);
    if (doc)
        xmlFreeDoc(doc);
    return out;
}

/* PHASE<TAB>NAMESPACE/PROCEDURE<TAB>EXECUTEDATA<LF>, appended with a single write.  A
 * trace that cannot be written is skipped: the call itself is not affected. */
static void trace(const provost_pcall *c, const char *phase, xmlDocPtr execute_xml)
{
    const char *file = getenv("PROVOST_TEST_TRACE");
    if (!file || !*file)
        return;
    const char *ns = provost_pcall_namespace(c), *proc = provost_pcall_procedure(c);
    char *data = one_line(pvp_execute_data(execute_xml));
    if (!data)
        return;
    ns = ns ? ns : "";
    proc = proc ? proc : "";
    size_t len = strlen(phase) + strlen(ns) + strlen(proc) + strlen(data) + 4;
    char *line = malloc(len + 1);
    if (line) {
        snprintf(line, len + 1, "%s\t%s/%s\t%s\n", phase, ns, proc, data);
        int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
            size_t done = 0;
            while (done < len) {
                ssize_t n = write(fd, line + done, len - done);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    break;
                done += (size_t)n;
            }
            close(fd);
        }
    }
    free(line);
    free(data);
}

/* ---- the procedures ------------------------------------------------------------------- */

static uint32_t do_fail(provost_pcall *c, xmlNodePtr exec)
{
    uint32_t code = PROVOST_E_FAIL;
    char *text = pvp_child_text(exec, "code", 1);
    if (text && *text && pvp_parse_code(text, &code) != 0) {
        char msg[160];
        snprintf(msg, sizeof msg,
                 "Fail: executeData/code \"%.60s\" is not an error code (0x followed by hex "
                 "digits, or a decimal number)",
                 text);
        free(text);
        return provost_fail(c, PROVOST_E_INVALIDARG, msg);
    }
    free(text);
    if (code == PROVOST_S_OK)
        return provost_fail(c, PROVOST_E_INVALIDARG,
                            "Fail: executeData/code is 0, which means success");
    xmlNodePtr xml = pvp_child(exec, "errorDescription");
    if (xml)
        return provost_fail_xml(c, code, xml);
    char *desc = pvp_child_text(exec, "description", 0);
    uint32_t rc = provost_fail(c, code, desc && *desc ? desc : "Test failure");
    free(desc);
    return rc;
}

static uint32_t do_sleep(provost_pcall *c, xmlNodePtr exec)
{
    char *text = pvp_child_text(exec, "ms", 1);
    long ms = -1;
    if (text && *text) {
        char *end;
        errno = 0;
        ms = strtol(text, &end, 10);
        if (errno || *end || ms < 0 || ms > TEST_MAX_SLEEP || text[0] == '+' || text[0] == '-')
            ms = -1;
    }
    if (ms < 0) {
        char msg[200];
        if (text)
            snprintf(msg, sizeof msg,
                     "Sleep: executeData/ms \"%.40s\" is not a whole number of milliseconds from "
                     "0 to %ld",
                     text, TEST_MAX_SLEEP);
        else
            snprintf(msg, sizeof msg,
                     "Sleep: executeData/ms is missing: give a whole number of milliseconds from "
                     "0 to %ld",
                     TEST_MAX_SLEEP);
        free(text);
        return provost_fail(c, PROVOST_E_INVALIDARG, msg);
    }
    free(text);
    struct timespec left = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
    return PROVOST_S_OK;
}

/* executeData, created under the executeXml root when the engine sent none. */
static xmlNodePtr need_exec(xmlDocPtr execute_xml)
{
    xmlNodePtr exec = pvp_execute_data(execute_xml);
    xmlNodePtr root = execute_xml ? xmlDocGetRootElement(execute_xml) : NULL;
    if (!exec && root)
        exec = xmlNewChild(root, root->ns, BAD_CAST "executeData", NULL);
    return exec;
}

static uint32_t test_process(provost_pcall *c, xmlDocPtr execute_xml)
{
    trace(c, "process", execute_xml);
    test_proc proc = which(c);
    xmlNodePtr exec = pvp_execute_data(execute_xml);
    switch (proc) {
    case T_FAIL:
        return do_fail(c, exec);
    case T_SLEEP:
        return do_sleep(c, exec);
    case T_CONTEXT: {
        xmlNodePtr root = execute_xml ? xmlDocGetRootElement(execute_xml) : NULL;
        xmlNodePtr context = pvp_child(root, "context");
        if (!context)
            return PROVOST_S_OK;
        exec = need_exec(execute_xml);
        xmlNodePtr copy = exec ? xmlDocCopyNode(context, execute_xml, 1) : NULL;
        if (!copy || !xmlAddChild(exec, copy)) {
            xmlFreeNode(copy);
            return provost_fail(c, PROVOST_E_FAIL, "Context: out of memory");
        }
        return PROVOST_S_OK;
    }
    case T_WHOAMI: {
        const char *who = provost_pcall_identity(c);
        exec = need_exec(execute_xml);
        if (!exec ||
            !xmlNewTextChild(exec, exec->ns, BAD_CAST "identity", BAD_CAST(who ? who : "")))
            return provost_fail(c, PROVOST_E_FAIL, "Whoami: out of memory");
        /* running as an "execute as" credential: its name, and whether its secret opens */
        const char *cred = provost_pcall_credential(c);
        char *secret = NULL;
        uint32_t opened = cred ? provost_secret(c, cred, NULL, &secret, NULL) : PROVOST_S_OK;
        if (opened != PROVOST_S_OK)
            return opened;
        provost_secret_free(secret);
        if (cred && !xmlNewTextChild(exec, exec->ns, BAD_CAST "credential", BAD_CAST cred))
            return provost_fail(c, PROVOST_E_FAIL, "Whoami: out of memory");
        return PROVOST_S_OK;
    }
    case T_CRASH:
        _exit(TEST_CRASH_CODE);
    default:
        return PROVOST_S_OK;
    }
}

static uint32_t test_prepare(provost_pcall *c, xmlDocPtr execute_xml)
{
    trace(c, "prepare", execute_xml);
    if (which(c) == T_FAIL_PREPARE)
        return provost_fail(c, TEST_E_PREPARE, "FailPrepare: prepare failed, as asked");
    return PROVOST_S_OK;
}

static uint32_t test_commit(provost_pcall *c, xmlDocPtr execute_xml)
{
    trace(c, "commit", execute_xml);
    return PROVOST_S_OK;
}

static uint32_t test_rollback(provost_pcall *c, xmlDocPtr execute_xml)
{
    trace(c, "rollback", execute_xml);
    if (which(c) == T_FAIL_ROLLBACK)
        return provost_fail(c, PROVOST_E_FAIL, "FailRollback: rollback failed, as asked");
    return PROVOST_S_OK;
}

const provost_provider provost_test_provider = {
    .abi = PROVOST_PROVIDER_ABI,
    .name = "test",
    .process = test_process,
    .prepare = test_prepare,
    .commit = test_commit,
    .rollback = test_rollback,
};
