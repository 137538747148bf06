/*
 * alloc.c -- memory for the compiler.  Allocation failure unwinds the whole compilation
 * (longjmp to provost_compile, which frees everything reachable from the context), so
 * the rest of the compiler never checks for NULL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void *pvc_alloc(pvc_ctx *ctx, size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        longjmp(ctx->oom, 1);
    return p;
}

void pvc_reserve(pvc_ctx *ctx, void *pptr, size_t *cap, size_t need, size_t elem)
{
    if (pu_grow(pptr, cap, need, elem) != 0)
        longjmp(ctx->oom, 1);
}

char *pvc_strdup(pvc_ctx *ctx, const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(pvc_alloc(ctx, n), s, n);
}

char *pvc_vformat(pvc_ctx *ctx, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        n = 0;
    char *s = pvc_alloc(ctx, (size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}
