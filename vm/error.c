/*
 * error.c -- errors as MPF shapes them (SPEC §7): an HRESULT code, a description, an
 * optional XML errorDescription, and the stack of procedures the error passed through,
 * innermost first.  The same object becomes the response's errorContext and, inside a
 * catch, context/errorContext.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/vec.h"
#include "vm.h"

int pvm_api_fail(provost_error *err, uint32_t code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void pvm_error_clear(pvm_error *e)
{
    free(e->description);
    if (e->detail)
        xmlFreeDoc(e->detail);
    for (size_t i = 0; i < e->nstack; i++) {
        free(e->stack[i].ns);
        free(e->stack[i].proc);
    }
    free(e->stack);
    memset(e, 0, sizeof *e);
}

void pvm_error_move(pvm_error *to, pvm_error *from)
{
    pvm_error_clear(to);
    *to = *from;
    memset(from, 0, sizeof *from);
}

int pvm_error_copy(pvm_error *to, const pvm_error *from)
{
    memset(to, 0, sizeof *to);
    to->code = from->code;
    to->seqno = from->seqno;
    to->fatal = from->fatal;
    to->description = from->description ? strdup(from->description) : NULL;
    to->detail = from->detail ? xmlCopyDoc(from->detail, 1) : NULL;
    for (size_t i = 0; i < from->nstack; i++)
        pvm_error_push_source(to, from->stack[i].ns, from->stack[i].proc);
    return 0;
}

void pvm_error_push_source(pvm_error *e, const char *ns, const char *proc)
{
    if (PU_GROW(e->stack, e->capstack, e->nstack + 1) != 0)
        return; /* the stack is informative: losing a level beats failing */
    e->stack[e->nstack].ns = strdup(ns ? ns : "");
    e->stack[e->nstack].proc = strdup(proc ? proc : "");
    e->nstack++;
}

int pvm_fail(pvm_req *r, uint32_t code, const char *fmt, ...)
{
    pvm_error_clear(&r->err);
    r->err.code = code;
    r->err.seqno = r->exec_id;
    va_list ap;
    va_start(ap, fmt);
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    r->err.description = strdup(buf);
    /* SPEC §7: journal failures and resource exhaustion are not catchable; a catch that
     * handled running out of depth could call again, and each level doubles the calls */
    if (code == PROVOST_E_JOURNAL || code == PROVOST_E_OUTOFMEMORY || code == PROVOST_E_DEPTH ||
        code == PROVOST_E_BUDGET)
        r->err.fatal = true;
    return -1;
}

xmlNodePtr pvm_error_node(const pvm_error *e, xmlNodePtr parent)
{
    char code[16];
    snprintf(code, sizeof code, "0x%08X", e->code);
    xmlNodePtr ec = xmlNewChild(parent, NULL, BAD_CAST "errorContext", NULL);
    if (!ec)
        return NULL;
    xmlNewProp(ec, BAD_CAST "code", BAD_CAST code);
    xmlNewProp(ec, BAD_CAST "description", BAD_CAST(e->description ? e->description : ""));
    char seq[16];
    snprintf(seq, sizeof seq, "%u", e->seqno);
    xmlNewProp(ec, BAD_CAST "executeSeqNo", BAD_CAST seq);
    if (e->detail && xmlDocGetRootElement(e->detail)) {
        xmlNodePtr d = xmlDocCopyNode(xmlDocGetRootElement(e->detail), parent->doc, 1);
        if (d)
            xmlAddChild(ec, d);
    }
    for (size_t i = 0; i < e->nstack; i++) {
        xmlNodePtr s = xmlNewChild(ec, NULL, BAD_CAST "errorSource", NULL);
        if (s) {
            xmlNewProp(s, BAD_CAST "namespace", BAD_CAST e->stack[i].ns);
            xmlNewProp(s, BAD_CAST "procedure", BAD_CAST e->stack[i].proc);
        }
    }
    return ec;
}
