/*
 * parse.c -- reads the source document with libxml2 and remembers, for every element,
 * the line and column of its '<' and the extent of its start tag.  libxml2 keeps only a
 * line per node (the line where the start tag ends), which is not enough to point at an
 * attribute, so the start-element callback records the exact position itself.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/encoding.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>

#include "internal.h"
#include "util/str.h"
#include "util/xmlerr.h"

typedef struct parse_state {
    pvc_ctx *ctx;
    startElementNsSAX2Func start;
    pu_xmlerr first;
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
    if (end >= ctx->srclen)
        return; /* the tag runs to the end of the input (malformed): src[end] is not ours */
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

/* The encoding of a file that is not in UTF-8: UTF-16 told by its first bytes, or what
 * its XML declaration names.  NULL for UTF-8 (and ASCII, a part of it). */
static const char *foreign_encoding(const pvc_ctx *ctx, char *name, size_t cap, size_t *skip)
{
    const unsigned char *s = (const unsigned char *)ctx->src;
    size_t n = ctx->srclen;
    *skip = 0;
    if (n >= 2 && ((s[0] == 0xFF && s[1] == 0xFE) || (s[0] == 0xFE && s[1] == 0xFF))) {
        *skip = 2;
        return s[0] == 0xFF ? "UTF-16LE" : "UTF-16BE";
    }
    if (n >= 4 && s[0] == '<' && !s[1] && s[2] && !s[3])
        return "UTF-16LE";
    if (n >= 4 && !s[0] && s[1] == '<' && !s[2] && s[3])
        return "UTF-16BE";
    char decl[200];
    snprintf(decl, sizeof decl, "%.*s", (int)(n < sizeof decl ? n : sizeof decl - 1), ctx->src);
    char *end = strncmp(decl, "<?xml", 5) == 0 ? strstr(decl, "?>") : NULL;
    if (end)
        *end = 0;
    char *e = end ? strstr(decl, "encoding") : NULL;
    if (!e)
        return NULL;
    for (e += 8; *e == ' ' || *e == '=' || *e == '\t' || *e == '\r' || *e == '\n'; e++)
        ;
    char *q = *e == '"' || *e == '\'' ? strchr(e + 1, *e) : NULL;
    if (!q)
        return NULL;
    snprintf(name, cap, "%.*s", (int)(q - e - 1), e + 1);
    if (pu_strieq(name, "UTF-8") || pu_strieq(name, "UTF8") || pu_strieq(name, "US-ASCII") ||
        pu_strieq(name, "ASCII") || !pu_strnicmp(name, "UTF-16", 6))
        return NULL; /* (UTF-16 in 8-bit bytes: libxml2 says the label is wrong) */
    return name;
}

/* A file in another encoding is decoded to UTF-8 before it is parsed, so that lines and
 * columns count the characters the operator sees.  When it cannot be decoded, it is left
 * as it is, for libxml2 to report. */
static void decode(pvc_ctx *ctx)
{
    char name[64];
    size_t skip;
    const char *enc = foreign_encoding(ctx, name, sizeof name, &skip);
    xmlCharEncodingHandlerPtr h = enc ? xmlFindCharEncodingHandler(enc) : NULL;
    if (!h)
        return;
    xmlBufferPtr in = xmlBufferCreate(), out = xmlBufferCreate();
    bool oom = !in || !out;
    int r = -1;
    if (!oom && xmlBufferAdd(in, (const xmlChar *)ctx->src + skip, (int)(ctx->srclen - skip)) == 0)
        do /* each call converts what fits in the room it makes */
            r = xmlCharEncInFunc(h, out, in);
        while (r > 0 && xmlBufferLength(in) > 0);
    xmlCharEncCloseFunc(h);
    if (r >= 0 && xmlBufferLength(in) == 0) {
        size_t n = (size_t)xmlBufferLength(out);
        ctx->decoded = malloc(n + 1);
        oom = !ctx->decoded;
        if (!oom) {
            memcpy(ctx->decoded, xmlBufferContent(out), n);
            ctx->decoded[n] = 0;
            ctx->src = ctx->decoded;
            ctx->srclen = n;
        }
    }
    if (in)
        xmlBufferFree(in);
    if (out)
        xmlBufferFree(out);
    if (oom)
        longjmp(ctx->oom, 1);
}

static bool space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Byte offset of a line and column as libxml2 counts them (columns in characters). */
static size_t offset_of(const pvc_ctx *ctx, unsigned line, unsigned col)
{
    if (line == 0 || line > ctx->lines.n)
        return ctx->srclen;
    size_t off = ctx->lines.v[line - 1];
    if (off == 0 && ctx->srclen >= 3 && memcmp(ctx->src, "\xEF\xBB\xBF", 3) == 0)
        off = 3; /* not a column */
    for (unsigned c = 1; c < col && off < ctx->srclen && ctx->src[off] != '\n'; c++)
        do
            off++;
        while (off < ctx->srclen && ((unsigned char)ctx->src[off] & 0xC0) == 0x80);
    return off;
}

/* The attribute of the start tag before off whose quoted value is still open at off
 * (its closing quote is missing): the offset of its name, or SIZE_MAX. */
static size_t open_attribute(const pvc_ctx *ctx, size_t off, int *len)
{
    const char *s = ctx->src;
    size_t p = off < ctx->srclen ? off : ctx->srclen;
    while (p > 0 && s[p - 1] != '<')
        p--;
    if (p == 0)
        return SIZE_MAX;
    while (p < off && !space(s[p]) && s[p] != '>' && s[p] != '/')
        p++; /* the element's name */
    for (;;) {
        while (p < off && space(s[p]))
            p++;
        size_t name = p;
        while (p < off && s[p] != '=' && !space(s[p]))
            p++;
        *len = (int)(p - name);
        while (p < off && space(s[p]))
            p++;
        if (p >= off || s[p] != '=')
            return SIZE_MAX;
        for (p++; p < off && space(s[p]); p++)
            ;
        if (p >= off || (s[p] != '"' && s[p] != '\''))
            return SIZE_MAX;
        const char *close = memchr(s + p + 1, s[p], off - p - 1);
        if (!close)
            return name;
        p = (size_t)(close - s) + 1;
    }
}

/* Offset of a UTF-8 character cut short by the end of the file, or SIZE_MAX. */
static size_t cut_character(const pvc_ctx *ctx)
{
    size_t n = ctx->srclen, k = n;
    while (k > 0 && n - k < 3 && ((unsigned char)ctx->src[k - 1] & 0xC0) == 0x80)
        k--;
    unsigned char c = k > 0 ? (unsigned char)ctx->src[k - 1] : 0;
    size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return c >= 0xC0 && need > n - (k - 1) ? k - 1 : SIZE_MAX;
}

/* libxml2 reports some mistakes where it noticed them, after what they are about: point
 * at the construct itself, and say what an operator needs to know.  msg is libxml2's
 * message on entry, and may be rewritten. */
static size_t refine(pvc_ctx *ctx, int code, size_t off, char *msg, size_t cap)
{
    const char *s = ctx->src;
    size_t p = off, skip;
    int len = 0;
    char name[80] = "";
    bool eof = off >= ctx->srclen;
    size_t cut = ctx->decoded || foreign_encoding(ctx, name, sizeof name, &skip) ? SIZE_MAX : cut_character(ctx);
    if (cut != SIZE_MAX) {
        snprintf(msg, cap, "the file ends in the middle of a UTF-8 character: it was cut short");
        return cut;
    }
    switch (code) {
    case XML_ERR_TAG_NAME_MISMATCH: /* noticed after the end tag: point at its '<' */
        for (p = eof ? ctx->srclen : off; p > 1; p--)
            if (s[p - 2] == '<' && s[p - 1] == '/') {
                char open[80], close[80];
                int at;
                if (sscanf(msg, "Opening and ending tag mismatch: %79s line %d and %79s", open, &at, close) == 3)
                    snprintf(msg, cap, "</%s> does not close <%s>, opened at line %d", close, open, at);
                return p - 2;
            }
        break;
    case XML_ERR_UNDECLARED_ENTITY:
    case XML_WAR_UNDECLARED_ENTITY: /* noticed after the ';' */
        for (p = off; p > 0 && off - p < 100 && !space(s[p - 1]); p--)
            if (s[p - 1] == '&')
                return p - 1;
        break;
    case XML_ERR_ATTRIBUTE_NOT_STARTED: { /* name=value: point at the name */
        while (p > 0 && space(s[p - 1]))
            p--;
        if (p == 0 || s[p - 1] != '=')
            break;
        for (p--; p > 0 && space(s[p - 1]); p--)
            ;
        size_t end = p;
        while (p > 0 && !space(s[p - 1]) && s[p - 1] != '<' && s[p - 1] != '"' && s[p - 1] != '\'')
            p--;
        if (p == end)
            break;
        snprintf(msg, cap, "the value of attribute '%.*s' is not in quotes", (int)(end - p), s + p);
        return p;
    }
    case XML_ERR_LT_IN_ATTRIBUTE:
    case XML_ERR_ATTRIBUTE_NOT_FINISHED: /* noticed where the value should have ended */
        if ((p = open_attribute(ctx, off, &len)) == SIZE_MAX)
            break;
        if (eof)
            snprintf(msg, cap, "the file ends inside the value of attribute '%.*s': it was cut short", len, s + p);
        else
            snprintf(msg, cap, "the value of attribute '%.*s' has no closing quote", len, s + p);
        return p;
    case XML_ERR_COMMENT_NOT_FINISHED: /* noticed at the end of the file */
        for (p = off < ctx->srclen ? off : ctx->srclen; p >= 4; p--)
            if (memcmp(s + p - 4, "<!--", 4) == 0) {
                snprintf(msg, cap, "this comment is not closed: the file ends before its '-->'");
                return p - 4;
            }
        break;
    case XML_NS_ERR_UNDEFINED_NAMESPACE: /* noticed at the end of the start tag */
        while (p > 0 && (p >= ctx->srclen || s[p] != '<'))
            p--;
        if (strncmp(msg, "Namespace prefix xsl ", 21) == 0 && strlen(msg) + 80 < cap)
            strcat(msg, " (declare xmlns:xsl=\"" PVC_XSL_URI "\" on <namespace>)");
        return p;
    default:
        break;
    }
    if (eof && strlen(msg) + 40 < cap)
        strcat(msg, " (the file ends here: was it cut short?)");
    return off;
}

xmlDocPtr pvc_parse(pvc_ctx *ctx)
{
    if (ctx->srclen == 0) {
        pvc_diag_at(ctx, PROVOST_ERROR, 1, 1, "the file is empty: expected a <namespace> or <request> document");
        return NULL;
    }
    if (ctx->srclen > INT32_MAX) {
        pvc_diag_at(ctx, PROVOST_ERROR, 1, 1, "the file is too large (over 2 GiB)");
        return NULL;
    }
    decode(ctx);
    ctx->lines.n = 0;
    *PVC_PUSH(ctx, ctx->lines) = 0;
    for (size_t i = 0; i < ctx->srclen; i++)
        if (ctx->src[i] == '\n')
            *PVC_PUSH(ctx, ctx->lines) = i + 1;

    if (memchr(ctx->src, 0, ctx->srclen < 4096 ? ctx->srclen : 4096) &&
        !(ctx->srclen >= 2 && ((unsigned char)ctx->src[0] == 0xFE || (unsigned char)ctx->src[0] == 0xFF))) {
        pvc_diag_at(ctx, PROVOST_ERROR, 1, 1, "not an XML document (binary data): expected a <namespace> or <request> document");
        return NULL;
    }

    parse_state st = {.ctx = ctx};
    xmlParserCtxtPtr p = xmlNewParserCtxt();
    if (!p)
        longjmp(ctx->oom, 1);
    st.start = p->sax->startElementNs;
    p->sax->startElementNs = on_start;
    provost_xml_refuse_dtd(p);
    p->_private = &st;
    /* an out-of-memory jump from on_start leaves it set: provost_compile clears it */
    pu_xmlerr_saved saved = pu_xmlerr_capture(&st.first);
    xmlDocPtr doc = xmlCtxtReadMemory(p, ctx->src, (int)ctx->srclen, ctx->filename, NULL,
                                      PROVOST_XML_OPTIONS | (ctx->decoded ? XML_PARSE_IGNORE_ENC : 0));
    bool wellformed = p->wellFormed;
    pu_xmlerr_restore(saved);
    xmlFreeParserCtxt(p);

    if (!doc || !wellformed || st.first.have) {
        unsigned line = st.first.line > 0 ? (unsigned)st.first.line : 1;
        unsigned col = st.first.col > 0 ? (unsigned)st.first.col : 1;
        char msg[300];
        snprintf(msg, sizeof msg, "%s", pu_xmlerr_text(&st.first, "the document is not well-formed"));
        size_t off = refine(ctx, st.first.code, offset_of(ctx, line, col), msg, sizeof msg);
        pvc_offset_loc(ctx, off, &line, &col);
        pvc_diag_at(ctx, PROVOST_ERROR, line, col, "malformed XML: %s", msg);
        if (doc)
            xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}
