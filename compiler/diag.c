/*
 * diag.c -- diagnostics with source locations.  Every error and warning carries the
 * line and column of the element (or of the attribute) it is about, so that an
 * operator's editor can jump straight to it.
 */
#include <string.h>

#include "internal.h"

static void add(pvc_ctx *ctx, int severity, unsigned line, unsigned col, const char *fmt,
                va_list ap)
{
    provost_diag *d = PVC_PUSH(ctx, ctx->diags);
    d->line = line;
    d->col = col;
    d->severity = severity;
    d->message = NULL; /* set before formatting, so an OOM leaves nothing dangling */
    d->message = pvc_vformat(ctx, fmt, ap);
    if (severity == PROVOST_ERROR)
        ctx->nerrors++;
    else
        ctx->nwarnings++;
}

void pvc_diag_at(pvc_ctx *ctx, int severity, unsigned line, unsigned col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(ctx, severity, line, col, fmt, ap);
    va_end(ap);
}

void pvc_node_loc(pvc_ctx *ctx, xmlNodePtr node, unsigned *line, unsigned *col)
{
    *line = node ? (unsigned)xmlGetLineNo(node) : 1;
    *col = 1;
    if (node && node->type == XML_ELEMENT_NODE && node->_private) {
        size_t i = (size_t)(uintptr_t)node->_private - 1;
        if (i < ctx->locs.n) {
            *line = ctx->locs.v[i].line;
            *col = ctx->locs.v[i].col;
        }
    }
    if ((int)*line <= 0)
        *line = 1;
}

/* Column of a byte offset: counted in characters from the start of its line. */
void pvc_offset_loc(pvc_ctx *ctx, size_t off, unsigned *line, unsigned *col)
{
    size_t lo = 0, hi = ctx->lines.n;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (ctx->lines.v[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    *line = (unsigned)lo + 1;
    unsigned c = 1;
    size_t from = ctx->lines.v[lo];
    if (from == 0 && ctx->srclen >= 3 && memcmp(ctx->src, "\xEF\xBB\xBF", 3) == 0 && off >= 3)
        from = 3; /* a UTF-8 byte-order mark is not a column */
    for (size_t i = from; i < off; i++)
        if (((unsigned char)ctx->src[i] & 0xC0) != 0x80)
            c++;
    *col = c;
}

/* An attribute is found by its name inside the element's start tag. */
void pvc_attr_loc(pvc_ctx *ctx, xmlNodePtr node, const char *attr, unsigned *line, unsigned *col)
{
    pvc_node_loc(ctx, node, line, col);
    if (!node || !node->_private || !attr)
        return;
    size_t i = (size_t)(uintptr_t)node->_private - 1;
    if (i >= ctx->locs.n)
        return;
    const pvc_loc *l = &ctx->locs.v[i];
    size_t alen = strlen(attr);
    char quote = 0; /* inside an attribute value: a name there is only text */
    for (size_t p = l->tag_start + 1; p + alen < l->tag_end && p + alen <= ctx->srclen; p++) {
        if (quote || ctx->src[p] == '"' || ctx->src[p] == '\'') {
            quote = quote == ctx->src[p] ? 0 : quote ? quote : ctx->src[p];
            continue;
        }
        char before = ctx->src[p - 1];
        if ((before == ' ' || before == '\t' || before == '\n' || before == '\r') &&
            memcmp(ctx->src + p, attr, alen) == 0) {
            size_t q = p + alen;
            while (q < l->tag_end && (ctx->src[q] == ' ' || ctx->src[q] == '\t' ||
                                      ctx->src[q] == '\n' || ctx->src[q] == '\r'))
                q++;
            if (q < l->tag_end && ctx->src[q] == '=') {
                pvc_offset_loc(ctx, p, line, col);
                return;
            }
        }
    }
}

#define DIAG_FN(fname, sev)                                                     \
    void fname(pvc_ctx *ctx, xmlNodePtr node, const char *fmt, ...)             \
    {                                                                           \
        unsigned line, col;                                                     \
        pvc_node_loc(ctx, node, &line, &col);                                   \
        va_list ap;                                                             \
        va_start(ap, fmt);                                                      \
        add(ctx, sev, line, col, fmt, ap);                                      \
        va_end(ap);                                                             \
    }
DIAG_FN(pvc_error, PROVOST_ERROR)
DIAG_FN(pvc_warning, PROVOST_WARNING)

#define ATTR_DIAG_FN(fname, sev)                                                         \
    void fname(pvc_ctx *ctx, xmlNodePtr node, const char *attr, const char *fmt, ...)    \
    {                                                                                    \
        unsigned line, col;                                                              \
        pvc_attr_loc(ctx, node, attr, &line, &col);                                      \
        va_list ap;                                                                      \
        va_start(ap, fmt);                                                               \
        add(ctx, sev, line, col, fmt, ap);                                               \
        va_end(ap);                                                                      \
    }
ATTR_DIAG_FN(pvc_attr_error, PROVOST_ERROR)
ATTR_DIAG_FN(pvc_attr_warning, PROVOST_WARNING)

void provost_compiled_print(const provost_compiled *c, const char *filename, FILE *to)
{
    for (size_t i = 0; i < c->ndiags; i++) {
        const provost_diag *d = &c->diags[i];
        fprintf(to, "%s:%u:%u: %s: %s\n", filename, d->line, d->col,
                d->severity == PROVOST_ERROR ? "error" : "warning", d->message);
    }
}
