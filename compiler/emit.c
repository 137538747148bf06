/*
 * emit.c -- the code builder: instructions appended to the procedure being compiled,
 * numbered from its first, each carrying the source line it came from.
 */
#include "internal.h"

uint32_t pvc_pc(pvc_ctx *ctx)
{
    return (uint32_t)(ctx->code.n - ctx->proc_code);
}

provost_insn *pvc_insn(pvc_ctx *ctx, uint32_t pc)
{
    return &ctx->code.v[ctx->proc_code + pc];
}

uint32_t pvc_emit(pvc_ctx *ctx, xmlNodePtr at, uint8_t op, uint8_t p1, uint8_t p2, uint8_t p3,
                  uint32_t p4, uint32_t p5)
{
    unsigned line = 0, col = 0;
    if (at)
        pvc_node_loc(ctx, at, &line, &col);
    uint32_t pc = pvc_pc(ctx);
    provost_insn *i = PVC_PUSH(ctx, ctx->code);
    *i = (provost_insn){.op = op, .p1 = p1, .p2 = p2, .p3 = p3, .p4 = p4, .p5 = p5, .line = line};
    return pc;
}
