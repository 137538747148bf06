/*
 * bundle.h -- a loaded bundle (undump.c loads it): the mapped file (or a buffer) checked
 * once, with typed views of its sections.  Nothing is allocated per instruction or per
 * pool entry.
 */
#ifndef PROVOST_VM_BUNDLE_H
#define PROVOST_VM_BUNDLE_H

#include <stdio.h>

#include "provost/bytecode.h"
#include "provost/provost.h" /* provost_is_bundle */

typedef struct pvm_bundle {
    const unsigned char *base;
    size_t size;
    int owner; /* 0 borrowed, 1 mmap'd, 2 malloc'd copy */
    const provost_bundle_header *header;
    const char *strings;
    size_t nstrings;
#define PVB_VIEW(name, type) const type *name##_v; size_t n##name;
    PVB_VIEW(paths, provost_path)
    PVB_VIEW(psteps, provost_pstep)
    PVB_VIEW(xsls, provost_xsl)
    PVB_VIEW(xforms, provost_xform)
    PVB_VIEW(calls, provost_callref)
    PVB_VIEW(selects, provost_select)
    PVB_VIEW(wheres, provost_where)
    PVB_VIEW(cases, uint32_t)
    PVB_VIEW(procs, provost_proc)
    PVB_VIEW(code, provost_insn)
#undef PVB_VIEW
    const provost_nsinfo *ns;
} pvm_bundle;

/* Map and check a bundle file.  On failure returns NULL and writes a one-line reason. */
pvm_bundle *pvm_bundle_open(const char *path, char *err, size_t errlen);

/* Check a bundle in memory; copy != 0 takes a private copy, else buf must outlive it. */
pvm_bundle *pvm_bundle_load(const void *buf, size_t len, int copy, char *err, size_t errlen);

void pvm_bundle_close(pvm_bundle *b);

/* A string of the pool, or NULL for PROVOST_NONE. */
static inline const char *pvm_bundle_str(const pvm_bundle *b, uint32_t off)
{
    return off == PROVOST_NONE ? NULL : b->strings + off;
}

/* Print every procedure the way EXPLAIN prints a program. */
void pvm_disasm(const pvm_bundle *b, FILE *out);
void pvm_disasm_explained(const pvm_bundle *b, FILE *out); /* each opcode's meaning under it */

#endif
