/*
 * verify.c -- the structural check of a procedure's code (rules: provost/verify.h).
 * It runs on what the compiler writes and on every bundle the VM loads, so a bundle
 * with a valid checksum but impossible structure is refused before anything runs it:
 * the interpreter trusts that try blocks are balanced, that code ends in RET and that
 * every loop ends.
 *
 * Two passes.  The first walks the control flow from instruction 0 and gives each
 * instruction one block state: the innermost open try or catch (the index of the TRY or
 * CATCH that opened it) or none; a second path arriving with another state is refused,
 * as JVM verifiers refuse a second stack shape.  The second looks at backward jumps,
 * the only way to loop, and accepts the two kinds the compiler writes.
 */
#include <stdlib.h>

#include "provost/verify.h"

#define TOP    PROVOST_NONE         /* no try or catch open */
#define UNSEEN (PROVOST_NONE - 1u)  /* not reached yet */

typedef struct vfy {
    const provost_insn *code;
    uint32_t n;
    uint32_t *state;  /* per instruction: TOP, UNSEEN, or the opener of its innermost block */
    uint32_t *parent; /* per opener: the state around its block; pass 2: loop stack starts */
    uint32_t *itry;   /* per opener: the innermost TRY open inside its block; pass 2: ends */
    uint32_t *work;   /* pass 1: instructions to visit; pass 2: next FOREACH of the slot */
    uint32_t nwork;
    uint32_t at;
    const char *why;
} vfy;

static int refuse(vfy *v, uint32_t at, const char *why)
{
    v->at = at;
    v->why = why;
    return -1;
}

/* Is p5 a place control goes to (besides falling through)? */
static int jumps(uint8_t op)
{
    switch (op) {
    case PROVOST_OP_FOREACH: case PROVOST_OP_NEXT: case PROVOST_OP_WHEN: case PROVOST_OP_WHENCASE:
    case PROVOST_OP_REPEAT: case PROVOST_OP_AGAIN: case PROVOST_OP_XFORM: case PROVOST_OP_TRY:
    case PROVOST_OP_ENDTRY: case PROVOST_OP_JUMP:
        return 1;
    default:
        return 0;
    }
}

static int falls_through(uint8_t op)
{
    return op != PROVOST_OP_JUMP && op != PROVOST_OP_ENDTRY && op != PROVOST_OP_RET;
}

/* Control reaches `to` from `from` in block state st (not by an error). */
static int reach(vfy *v, uint32_t from, uint32_t to, uint32_t st)
{
    if (to >= v->n)
        return refuse(v, from, to == from + 1 ? "runs past the end of the procedure: every path must end in RET"
                                              : "jumps outside the procedure");
    if (v->code[to].op == PROVOST_OP_CATCH)
        return refuse(v, to, "is entered other than by an error in its try");
    if (v->state[to] == UNSEEN) {
        v->state[to] = st;
        v->work[v->nwork++] = to;
        return 0;
    }
    if (v->state[to] != st)
        return refuse(v, from, "leads into or out of a try or catch block other than through its "
                               "TRY, ENDTRY, CATCH or ENDCATCH");
    return 0;
}

/* An error inside the try opened at `try` lands on its CATCH, in the state around it. */
static int handler(vfy *v, uint32_t try, uint32_t st)
{
    uint32_t c = v->code[try].p5;
    if (c <= try || c >= v->n || v->code[c].op != PROVOST_OP_CATCH)
        return refuse(v, try, "has a handler that is not a CATCH after it");
    if (v->state[c] != UNSEEN)
        return refuse(v, try, "shares its CATCH with another TRY");
    v->state[c] = st;
    v->parent[c] = st;
    v->itry[c] = st == TOP ? TOP : v->itry[st];
    v->work[v->nwork++] = c;
    return 0;
}

static int visit(vfy *v, uint32_t pc)
{
    const provost_insn *in = &v->code[pc];
    uint32_t st = v->state[pc];
    if (in->op >= PROVOST_OP__COUNT)
        return refuse(v, pc, "has an unknown opcode");
    uint32_t t = st == TOP ? TOP : v->itry[st];
    if (t != TOP && pc >= v->code[t].p5)
        return refuse(v, pc, "lies in a try whose CATCH comes before it");
    if (jumps(in->op) && in->op != PROVOST_OP_NEXT && in->op != PROVOST_OP_JUMP && in->p5 <= pc)
        return refuse(v, pc, "jumps backward: only NEXT and a repeat's JUMP may");
    switch (in->op) {
    case PROVOST_OP_RET:
        return st == TOP ? 0 : refuse(v, pc, "returns while a try or catch block is open");
    case PROVOST_OP_TRY:
        v->parent[pc] = st;
        v->itry[pc] = pc;
        return handler(v, pc, st) != 0 ? -1 : reach(v, pc, pc + 1, pc);
    case PROVOST_OP_ENDTRY:
        if (st == TOP || v->code[st].op != PROVOST_OP_TRY)
            return refuse(v, pc, "ends a try, but no try is open here");
        return reach(v, pc, in->p5, v->parent[st]);
    case PROVOST_OP_CATCH:
        return reach(v, pc, pc + 1, pc);
    case PROVOST_OP_ENDCATCH:
        if (st == TOP || v->code[st].op != PROVOST_OP_CATCH)
            return refuse(v, pc, "ends a catch, but no catch is open here");
        return reach(v, pc, pc + 1, v->parent[st]);
    default:
        if (jumps(in->op) && reach(v, pc, in->p5, st) != 0)
            return -1;
        return falls_through(in->op) ? reach(v, pc, pc + 1, st) : 0;
    }
}

/* A NEXT loop: back to just after the FOREACH of its slot, which nothing inside resets. */
static int next_loop(vfy *v, uint32_t pc)
{
    uint32_t t = v->code[pc].p5;
    if (t == 0 || v->code[t - 1].op != PROVOST_OP_FOREACH || v->code[t - 1].p1 != v->code[pc].p1)
        return refuse(v, pc, "goes back other than to just after the FOREACH of its slot");
    if (v->work[t - 1] <= pc)
        return refuse(v, pc, "loops over a FOREACH of its own slot, which would start it again");
    return 0;
}

/* A repeat's loop: back to just after the REPEAT, through an AGAIN that leaves the loop
 * when the count runs out, on every round; nothing inside sets the count again. */
static int repeat_loop(vfy *v, uint32_t pc, uint32_t *last_end)
{
    uint32_t t = v->code[pc].p5;
    if (t == 0 || v->code[t - 1].op != PROVOST_OP_REPEAT)
        return refuse(v, pc, "goes back other than to just after a REPEAT: a loop without NEXT or AGAIN");
    if (*last_end != TOP && t <= *last_end)
        return refuse(v, pc, "closes a repeat loop that overlaps another");
    *last_end = pc;
    uint32_t again = TOP;
    for (uint32_t i = t; i <= pc; i++) {
        uint8_t op = v->code[i].op;
        if (op == PROVOST_OP_REPEAT || op == PROVOST_OP_STEP)
            return refuse(v, pc, "loops over a REPEAT or STEP, which would set its count again");
        if (op == PROVOST_OP_AGAIN && again == TOP)
            again = i;
    }
    if (again == TOP)
        return refuse(v, pc, "loops without an AGAIN to count the rounds");
    if (v->code[again].p5 <= pc)
        return refuse(v, again, "does not leave the loop it counts");
    for (uint32_t i = t; i < again; i++) { /* no way round the AGAIN */
        uint32_t to = v->code[i].p5;
        if (jumps(v->code[i].op) && (to < t || (to > again && to <= pc)))
            return refuse(v, i, "jumps around the AGAIN that counts its loop");
    }
    return 0;
}

/* Backward jumps: each of the two kinds, and their loops nested (never overlapping). */
static int loops(vfy *v)
{
    uint32_t last[256];
    for (unsigned s = 0; s < 256; s++)
        last[s] = v->n;
    for (uint32_t i = v->n; i-- > 0;) /* work[i]: the next FOREACH of the same slot */
        if (v->code[i].op == PROVOST_OP_FOREACH) {
            v->work[i] = last[v->code[i].p1];
            last[v->code[i].p1] = i;
        }
    uint32_t *start = v->parent, *end = v->itry, depth = 0, last_end = TOP;
    for (uint32_t pc = 0; pc < v->n; pc++) {
        const provost_insn *in = &v->code[pc];
        if (v->state[pc] == UNSEEN || (in->op != PROVOST_OP_NEXT && in->op != PROVOST_OP_JUMP) || in->p5 > pc)
            continue;
        if (in->op == PROVOST_OP_NEXT ? next_loop(v, pc) != 0 : repeat_loop(v, pc, &last_end) != 0)
            return -1;
        /* the loops seen so far that are not inside another, in order: this one contains
         * those it starts before, and must not start inside another */
        while (depth && start[depth - 1] >= in->p5)
            depth--;
        if (depth && end[depth - 1] >= in->p5)
            return refuse(v, pc, "closes a loop that overlaps another loop");
        start[depth] = in->p5;
        end[depth++] = pc;
    }
    return 0;
}

int provost_verify_code(const provost_insn *code, uint32_t ncode, uint32_t *at, const char **why)
{
    *at = 0;
    if (ncode == 0 || ncode >= UNSEEN) {
        *why = ncode ? "the procedure is too long" : "the procedure has no code: it must end in RET";
        return -1;
    }
    vfy v = {.code = code, .n = ncode};
    uint32_t *mem = malloc((size_t)ncode * 4 * sizeof *mem);
    if (!mem) {
        *why = "out of memory";
        return -1;
    }
    v.state = mem;
    v.parent = mem + ncode;
    v.itry = mem + 2 * (size_t)ncode;
    v.work = mem + 3 * (size_t)ncode;
    for (uint32_t i = 0; i < ncode; i++)
        v.state[i] = UNSEEN;
    int rc = 0;
    if (code[0].op == PROVOST_OP_CATCH) {
        rc = refuse(&v, 0, "is entered other than by an error in its try");
    } else {
        v.state[0] = TOP;
        v.work[v.nwork++] = 0;
        while (rc == 0 && v.nwork)
            rc = visit(&v, v.work[--v.nwork]);
    }
    if (rc == 0)
        rc = loops(&v);
    free(mem);
    *at = v.at;
    *why = v.why;
    return rc;
}
