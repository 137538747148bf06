/*
 * dump.c -- the bundle writer (vm/undump.c is the loader): the pools and the code as a
 * .pvb bundle (format: bytecode.h): header, then each section 8-byte aligned in a fixed
 * order, then the CRC-32 of the whole file and the SHA-256 of the source it came from.
 */
#include <string.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "internal.h"

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

unsigned char *pvc_bundle(pvc_ctx *ctx, size_t *size)
{
    struct {
        const void *data;
        size_t count, elem;
    } sec[PROVOST_SEC__COUNT] = {
        [PROVOST_SEC_STRINGS] = {ctx->strings.v, ctx->strings.n, 1},
        [PROVOST_SEC_PATHS] = {ctx->paths.v, ctx->paths.n, sizeof(provost_path)},
        [PROVOST_SEC_PSTEPS] = {ctx->psteps.v, ctx->psteps.n, sizeof(provost_pstep)},
        [PROVOST_SEC_XSLS] = {ctx->xsls.v, ctx->xsls.n, sizeof(provost_xsl)},
        [PROVOST_SEC_XFORMS] = {ctx->xforms.v, ctx->xforms.n, sizeof(provost_xform)},
        [PROVOST_SEC_CALLS] = {ctx->calls.v, ctx->calls.n, sizeof(provost_callref)},
        [PROVOST_SEC_SELECTS] = {ctx->selects.v, ctx->selects.n, sizeof(provost_select)},
        [PROVOST_SEC_WHERES] = {ctx->wheres.v, ctx->wheres.n, sizeof(provost_where)},
        [PROVOST_SEC_CASES] = {ctx->casenames.v, ctx->casenames.n, sizeof(uint32_t)},
        [PROVOST_SEC_PROCS] = {ctx->procs.v, ctx->procs.n, sizeof(provost_proc)},
        [PROVOST_SEC_CODE] = {ctx->code.v, ctx->code.n, sizeof(provost_insn)},
        [PROVOST_SEC_NSINFO] = {&ctx->ns, 1, sizeof(provost_nsinfo)},
    };
    provost_bundle_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, PROVOST_BUNDLE_MAGIC, 8);
    h.format = PROVOST_BUNDLE_FORMAT;
    h.header_size = sizeof h;
    h.endian = PROVOST_ENDIAN_MARK;
    snprintf(h.compiler, sizeof h.compiler, "%s", provost_compiler_version());
    size_t off = align8(sizeof h);
    for (int i = 0; i < PROVOST_SEC__COUNT; i++) {
        h.sections[i].offset = off;
        h.sections[i].count = sec[i].count;
        off = align8(off + sec[i].count * sec[i].elem);
    }
    h.file_size = off;
    unsigned char *out = pvc_alloc(ctx, off);
    memset(out, 0, off);
    for (int i = 0; i < PROVOST_SEC__COUNT; i++)
        if (sec[i].count)
            memcpy(out + h.sections[i].offset, sec[i].data, sec[i].count * sec[i].elem);

    unsigned int mdlen = 0;
    if (!EVP_Digest(ctx->src, ctx->srclen, h.source_hash, &mdlen, EVP_sha256(), NULL))
        memset(h.source_hash, 0, sizeof h.source_hash);
    memcpy(out, &h, sizeof h);
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t done = 0; done < off;) {
        uInt chunk = off - done > (1u << 30) ? (1u << 30) : (uInt)(off - done);
        crc = crc32(crc, out + done, chunk);
        done += chunk;
    }
    h.checksum = (uint32_t)crc;
    memcpy(out, &h, sizeof h);
    *size = off;
    return out;
}
