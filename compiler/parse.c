/*
 * parse.c -- reads the source document with libxml2 and remembers, for every element,
 * the line and column of its '<' and the extent of its start tag.  libxml2 keeps only a
 * line per node (the line where the start tag ends), which is not enough to point at an
 * attribute, so the start-element callback records the exact position itself.
 */
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>

#include "compiler/internal.h"

typedef struct parse_state {
    pvc_ctx *ctx;
    startElementNsSAX2Func start;
    xmlError first; /* the first fatal error, copied */
    char *first_msg;
    bool have_error;
} parse_state;

static void on_start(void *uctx, const xmlChar *localname, const xmlChar *prefix,
                     const xmlChar *uri, int nns, const xmlChar **nss, int nattrs,
                     int ndefaulted, const xmlChar **attrs)
{
    xmlParserCtxtPtr p = uctx;
    parse_state *st = p->_private;
    pvc_ctx *ctx = st->ctx;
    st->start(uctx, localname, prefix, uri, nns, nss, nattrs, ndefaulted, attrs);
    xmlNodePtr node = p->node;
    if (!node || node->type != XML_ELEMENT_NODE || p->inputNr != 1 || !p->input ||
        (p->input->buf && p->input->buf->encoder))
        return; /* positions would not match the source bytes: keep libxml2's line */
    size_t end = (size_t)p->input->consumed + (size_t)(p->input->cur - p->input->base);
    if (end > ctx->srclen)
        return;
    size_t lt = end;
    while (lt > 0 && ctx->src[lt] != '<')
        lt--;
    if (ctx->src[lt] != '<')
        return;
    unsigned line, col;
    pvc_offset_loc(ctx, lt, &line, &col);
    pvc_loc *l = PVC_PUSH(ctx, ctx->locs);
    l->line = line;
    l->col = col;
    l->tag_start = lt;
    l->tag_end = end;
    node->_private = (void *)(uintptr_t)ctx->locs.n;
}

static void on_error(void *uctx, xmlErrorPtr err)
{
    parse_state *st = uctx;
    if (st->have_error || !err || err->level < XML_ERR_ERROR)
        return;
    st->have_error = true;
    st->first = *err;
    st->first_msg = NULL;
    if (err->message) {
        size_t n = strlen(err->message);
        while (n && (err->message[n - 1] == '\n' || err->message[n - 1] == ' '))
            n--;
        st->first_msg = pvc_alloc(st->ctx, n + 1);
        memcpy(st->first_msg, err->message, n);
        st->first_msg[n] = 0;
    }
}

xmlDocPtr pvc_parse(pvc_ctx *ctx)
{
    ctx->lines.n = 0;
    *PVC_PUSH(ctx, ctx->lines) = 0;
    for (size_t i = 0; i < ctx->srclen; i++)
        if (ctx->src[i] == '\n')
            *PVC_PUSH(ctx, ctx->lines) = i + 1;

    if (ctx->srclen == 0) {
        pvc_diag_at(ctx, PROVOST_ERROR, 1, 1, "the file is empty: expected a <namespace> or <request> document");
        return NULL;
    }
    if (memchr(ctx->src, 0, ctx->srclen < 4096 ? ctx->srclen : 4096) &&
        !(ctx->srclen >= 2 && ((unsigned char)ctx->src[0] == 0xFE || (unsigned char)ctx->src[0] == 0xFF))) {
        pvc_diag_at(ctx, PROVOST_ERROR, 1, 1, "not an XML document (binary data): expected a <namespace> or <request> document");
        return NULL;
    }
    if (ctx->srclen > INT32_MAX) {
        pvc_diag_at(ctx, PROVOST_ERROR, 1, 1, "the file is too large (over 2 GiB)");
        return NULL;
    }

    parse_state st = {.ctx = ctx};
    xmlParserCtxtPtr p = xmlNewParserCtxt();
    if (!p)
        longjmp(ctx->oom, 1);
    st.start = p->sax->startElementNs;
    p->sax->startElementNs = on_start;
    p->_private = &st;
    xmlSetStructuredErrorFunc(&st, on_error);
    xmlDocPtr doc = xmlCtxtReadMemory(p, ctx->src, (int)ctx->srclen, ctx->filename, NULL,
                                      XML_PARSE_NOBLANKS | XML_PARSE_NONET | XML_PARSE_BIG_LINES |
                                          XML_PARSE_NOWARNING | XML_PARSE_NOERROR);
    bool wellformed = p->wellFormed;
    xmlSetStructuredErrorFunc(NULL, NULL);
    xmlFreeParserCtxt(p);

    if (!doc || !wellformed || st.have_error) {
        unsigned line = st.have_error && st.first.line > 0 ? (unsigned)st.first.line : 1;
        unsigned col = st.have_error && st.first.int2 > 0 ? (unsigned)st.first.int2 : 1;
        pvc_diag_at(ctx, PROVOST_ERROR, line, col, "malformed XML: %s",
                    st.first_msg ? st.first_msg : "the document is not well-formed");
        free(st.first_msg);
        if (doc)
            xmlFreeDoc(doc);
        return NULL;
    }
    free(st.first_msg);
    return doc;
}
