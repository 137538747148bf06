/*
 * xmldoc.c -- the one way a document enters Provost: requests (run, call, batch, the
 * engine's API), data files and namespace sources are all read with the same libxml2
 * options, so that a document one command accepts is accepted by every other.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxslt/xsltutils.h>

#include "compiler/compiler.h"

static void drop_generic(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void drop_structured(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
}

void provost_xml_init(void)
{
    xmlInitParser();
    /* libxml2 keeps its handlers per thread, initialised from these defaults */
    xmlThrDefSetGenericErrorFunc(NULL, drop_generic);
    xmlThrDefSetStructuredErrorFunc(NULL, drop_structured);
    xmlSetGenericErrorFunc(NULL, drop_generic);
    xmlSetStructuredErrorFunc(NULL, drop_structured);
    /* libxslt's are global; a transform's own errors go to its context's handler */
    xsltSetGenericErrorFunc(NULL, drop_generic);
    xsltSetGenericDebugFunc(NULL, drop_generic);
}

static void keep_first(void *ctx, xmlErrorPtr e)
{
    provost_xml_error *x = ctx;
    if (x->have || !e || e->level < XML_ERR_ERROR)
        return;
    x->have = true;
    x->line = e->line;
    x->col = e->int2;
    snprintf(x->msg, sizeof x->msg, "%s", e->message ? e->message : "not well-formed");
    size_t n = strlen(x->msg);
    while (n && (x->msg[n - 1] == '\n' || x->msg[n - 1] == ' '))
        x->msg[--n] = 0;
}

xmlDocPtr provost_xml_read(const char *buf, size_t len, const char *url, const char *encoding, int extra,
                           provost_xml_error *err)
{
    memset(err, 0, sizeof *err);
    if (len > INT32_MAX) {
        err->have = true;
        err->line = err->col = 1;
        snprintf(err->msg, sizeof err->msg, "the document is larger than 2 GiB");
        return NULL;
    }
    xmlParserCtxtPtr p = xmlNewParserCtxt();
    if (!p) {
        err->have = true;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return NULL;
    }
    /* the handler is per thread: the caller's comes back afterwards */
    xmlStructuredErrorFunc saved = xmlStructuredError;
    void *saved_ctx = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(err, keep_first);
    xmlDocPtr doc = xmlCtxtReadMemory(p, buf, (int)len, url, encoding, PROVOST_XML_OPTIONS | extra);
    bool wellformed = p->wellFormed;
    xmlSetStructuredErrorFunc(saved_ctx, saved);
    xmlFreeParserCtxt(p);
    if (doc && (!wellformed || err->have)) {
        xmlFreeDoc(doc);
        doc = NULL;
    }
    if (!doc && !err->have) {
        err->have = true;
        err->line = err->col = 1;
        snprintf(err->msg, sizeof err->msg, "the document is empty");
    }
    return doc;
}
