/*
 * pool.c -- the constant pools.  Strings are interned (each text is stored once, whatever
 * uses it) and literal XML fragments are serialised into the string pool.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "util/xmlout.h"

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static void rehash(pvc_ctx *ctx, size_t cap)
{
    uint32_t *old = ctx->strhash.v;
    size_t oldcap = ctx->strhash.cap;
    ctx->strhash.v = pvc_alloc(ctx, cap * sizeof(uint32_t));
    memset(ctx->strhash.v, 0, cap * sizeof(uint32_t));
    ctx->strhash.cap = cap;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i])
            continue;
        const char *s = ctx->strings.v + old[i] - 1;
        size_t j = hash_bytes(s, strlen(s)) & (cap - 1);
        while (ctx->strhash.v[j])
            j = (j + 1) & (cap - 1);
        ctx->strhash.v[j] = old[i];
    }
    free(old);
}

uint32_t pvc_strn(pvc_ctx *ctx, const char *s, size_t n)
{
    if (!s)
        return PROVOST_NONE;
    if (ctx->strhash.cap == 0 || (ctx->nstrings + 1) * 2 > ctx->strhash.cap)
        rehash(ctx, ctx->strhash.cap ? ctx->strhash.cap * 2 : 256);
    size_t mask = ctx->strhash.cap - 1;
    size_t j = hash_bytes(s, n) & mask;
    for (; ctx->strhash.v[j]; j = (j + 1) & mask) {
        const char *t = ctx->strings.v + ctx->strhash.v[j] - 1;
        if (strncmp(t, s, n) == 0 && t[n] == 0)
            return ctx->strhash.v[j] - 1;
    }
    if (ctx->strings.n + n + 1 >= UINT32_MAX - 1) {
        pvc_diag_at(ctx, PROVOST_ERROR, 1, 1, "the namespace is too large for a bundle (4 GiB of text)");
        return PROVOST_NONE;
    }
    size_t off = ctx->strings.n;
    pvc_reserve(ctx, &ctx->strings.v, &ctx->strings.cap, off + n + 1, 1);
    memcpy(ctx->strings.v + off, s, n);
    ctx->strings.v[off + n] = 0;
    ctx->strings.n += n + 1;
    ctx->strhash.v[j] = (uint32_t)off + 1;
    ctx->nstrings++;
    return (uint32_t)off;
}

uint32_t pvc_str(pvc_ctx *ctx, const char *s)
{
    return s ? pvc_strn(ctx, s, strlen(s)) : PROVOST_NONE;
}

/* A literal is the element serialised on its own, with the namespace declarations it
 * needs, so the VM can parse it back as a document of its own. */
uint32_t pvc_literal(pvc_ctx *ctx, xmlNodePtr node)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    if (!doc)
        longjmp(ctx->oom, 1);
    xmlNodePtr copy = xmlDocCopyNode(node, doc, 1);
    if (!copy) {
        xmlFreeDoc(doc);
        longjmp(ctx->oom, 1);
    }
    xmlDocSetRootElement(doc, copy);
    pvc_strip_mpf(copy);
    xmlDOMWrapReconcileNamespaces(NULL, copy, 0);
    size_t len = 0;
    char *text = pu_xml_string(copy, PU_XML_AS_XML, &len);
    xmlFreeDoc(doc);
    if (!text)
        longjmp(ctx->oom, 1);
    uint32_t off = pvc_strn(ctx, text, len);
    free(text);
    return off;
}
