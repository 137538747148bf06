/*
 * xmlerr.c -- libxml2's errors kept as one report (see xmlerr.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libxml/globals.h>

#include "util/xmlerr.h"

/* Some messages quote the input on a second line, and most end in a newline: a report is
 * one line. */
static void one_line(char *msg)
{
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' '))
        msg[--n] = 0;
    for (char *c = msg; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
}

void pu_xmlerr_handler(void *ctx, xmlErrorPtr e)
{
    pu_xmlerr *x = ctx;
    if (!x || x->have || !e || e->level < XML_ERR_ERROR)
        return;
    x->have = true;
    x->line = e->line;
    x->col = e->int2;
    x->code = e->code;
    x->node = e->node;
    snprintf(x->msg, sizeof x->msg, "%s", e->message ? e->message : "");
    one_line(x->msg);
}

void pu_xmlerr_generic(void *ctx, const char *fmt, ...)
{
    pu_xmlerr *x = ctx;
    if (!x || x->have)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->msg, sizeof x->msg, fmt, ap);
    va_end(ap);
    one_line(x->msg);
    x->have = x->msg[0] != 0;
}

void pu_xmlerr_drop(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
}

void pu_xmlerr_drop_generic(void *ctx, const char *fmt, ...)
{
    (void)ctx;
    (void)fmt;
}

const char *pu_xmlerr_text(const pu_xmlerr *x, const char *otherwise)
{
    return x->have && x->msg[0] ? x->msg : otherwise;
}

pu_xmlerr_saved pu_xmlerr_set(xmlStructuredErrorFunc fn, void *ctx)
{
    pu_xmlerr_saved s = {xmlStructuredError, xmlStructuredErrorContext};
    xmlSetStructuredErrorFunc(ctx, fn);
    return s;
}

pu_xmlerr_saved pu_xmlerr_capture(pu_xmlerr *x)
{
    return x ? pu_xmlerr_set(pu_xmlerr_handler, x) : pu_xmlerr_set(pu_xmlerr_drop, NULL);
}

void pu_xmlerr_restore(pu_xmlerr_saved s)
{
    xmlSetStructuredErrorFunc(s.ctx, s.fn);
}
