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

#include "provost/compiler.h"

void provost_xml_init(void)
{
    xmlInitParser();
    /* libxml2 keeps its handlers per thread, initialised from these defaults */
    xmlThrDefSetGenericErrorFunc(NULL, pu_xmlerr_drop_generic);
    xmlThrDefSetStructuredErrorFunc(NULL, pu_xmlerr_drop);
    xmlSetGenericErrorFunc(NULL, pu_xmlerr_drop_generic);
    xmlSetStructuredErrorFunc(NULL, pu_xmlerr_drop);
    /* libxslt's are global; a transform's own errors go to its context's handler */
    xsltSetGenericErrorFunc(NULL, pu_xmlerr_drop_generic);
    xsltSetGenericDebugFunc(NULL, pu_xmlerr_drop_generic);
}

const char provost_xml_no_dtd[] = "DOCTYPE not allowed: Provost reads documents without a DTD";

/* The DOCTYPE is met before anything of its subset is read: the parse stops there, as at
 * a well-formedness error, and the handler that captures the parse's errors is told. */
static void refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
    (void)name;
    (void)external_id;
    (void)system_id;
    xmlParserCtxtPtr p = ctx;
    xmlError e = {.domain = XML_FROM_PARSER,
                  .code = XML_ERR_USER_STOP,
                  .level = XML_ERR_FATAL,
                  .message = (char *)provost_xml_no_dtd,
                  .line = p->input ? p->input->line : 0,
                  .int2 = p->input ? p->input->col : 0};
    if (p->sax && p->sax->initialized == XML_SAX2_MAGIC && p->sax->serror)
        p->sax->serror(p->userData, &e);
    else if (xmlStructuredError)
        xmlStructuredError(xmlStructuredErrorContext, &e);
    p->wellFormed = 0;
    xmlStopParser(p);
}

void provost_xml_refuse_dtd(xmlParserCtxtPtr p)
{
    if (p && p->sax)
        p->sax->internalSubset = refuse_dtd;
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
    provost_xml_refuse_dtd(p);
    pu_xmlerr_saved saved = pu_xmlerr_capture(err);
    xmlDocPtr doc = xmlCtxtReadMemory(p, buf, (int)len, url, encoding, PROVOST_XML_OPTIONS | extra);
    bool wellformed = p->wellFormed;
    pu_xmlerr_restore(saved);
    xmlFreeParserCtxt(p);
    if (doc && (!wellformed || err->have)) {
        xmlFreeDoc(doc);
        doc = NULL;
    }
    if (!doc && !err->have) {
        err->have = true;
        err->line = err->col = 1;
        snprintf(err->msg, sizeof err->msg, "the document is empty");
    } else if (err->have && !err->msg[0]) {
        snprintf(err->msg, sizeof err->msg, "not well-formed");
    }
    return doc;
}
