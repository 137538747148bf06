/*
 * verify.h -- the structural check of a procedure's code, shared by the compiler (which
 * checks what it wrote) and the bundle loader (which refuses what it would not have
 * written).  It depends on bytecode.h only.
 *
 * Code passes when, for every instruction reachable from the first:
 *  - TRY/ENDTRY and CATCH/ENDCATCH are balanced: each instruction is reached inside the
 *    same open try and catch blocks on every path, ENDTRY and ENDCATCH close the block
 *    that is open, RET is reached with none open, a TRY's handler is a CATCH after the
 *    whole try body, and a CATCH is entered only as its TRY's handler;
 *  - every path ends in RET: no instruction runs or jumps past the end;
 *  - every jump goes forward, except a NEXT back to just after the FOREACH of its slot
 *    (with no FOREACH of that slot inside the loop) and a JUMP back to just after a
 *    REPEAT whose loop passes through an AGAIN that leaves it on every round (with no
 *    REPEAT or STEP inside); loops nest properly.  So every loop advances a counter the
 *    loop cannot reset, and every run of the code ends.
 */
#ifndef PROVOST_VERIFY_H
#define PROVOST_VERIFY_H

#include <stdint.h>

#include "provost/bytecode.h"

/* 0 when the code of one procedure (ncode instructions) is well formed; otherwise -1,
 * with *at the instruction at fault and *why a sentence saying what is wrong (static
 * text; "out of memory" when the check could not run). */
int provost_verify_code(const provost_insn *code, uint32_t ncode, uint32_t *at, const char **why);

#endif
