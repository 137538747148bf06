/*
 * xmlerr.h -- libxml2's errors turned into one kept report.  libxml2 reports through a
 * per-thread handler (or a context's own); Provost never lets it print, and keeps the
 * first error of an operation, with where libxml2 saw it, to turn into its own message.
 */
#ifndef PU_XMLERR_H
#define PU_XMLERR_H

#include <stdbool.h>

#include <libxml/xmlerror.h>

/* The first error (level error or fatal; warnings are not kept) of an operation. */
typedef struct pu_xmlerr {
    bool have;
    int line, col;  /* from 1; 0 when libxml2 does not say */
    char msg[300];  /* one line, without trailing blanks; empty when libxml2 gave none */
    int code;       /* libxml2's code (xmlParserErrors) */
    void *node;     /* the node it is about, when libxml2 says */
} pu_xmlerr;

/* A structured error handler: ctx is a pu_xmlerr, which keeps the first error. */
void pu_xmlerr_handler(void *ctx, xmlErrorPtr e);
/* The same for a printf-style handler given its own context (libxslt's transform errors):
 * the first message that is not blank, as an error without a place or a code.  Never a
 * thread's generic handler: libxml2 calls that with a parser context of its own. */
void pu_xmlerr_generic(void *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Handlers that drop everything, whatever their ctx. */
void pu_xmlerr_drop(void *ctx, xmlErrorPtr e);
void pu_xmlerr_drop_generic(void *ctx, const char *fmt, ...);

/* The message of x, or otherwise when there is none. */
const char *pu_xmlerr_text(const pu_xmlerr *x, const char *otherwise);

/* The calling thread's structured handler, to be put back. */
typedef struct pu_xmlerr_saved {
    xmlStructuredErrorFunc fn;
    void *ctx;
} pu_xmlerr_saved;

/* Sends the calling thread's libxml2 errors to fn(ctx) until pu_xmlerr_restore. */
pu_xmlerr_saved pu_xmlerr_set(xmlStructuredErrorFunc fn, void *ctx);
/* Sends them to x, or nowhere when x is NULL. */
pu_xmlerr_saved pu_xmlerr_capture(pu_xmlerr *x);
void pu_xmlerr_restore(pu_xmlerr_saved s);

#endif
