/*
 * internal.h -- what the compiler's modules share: the compile context, source locations,
 * diagnostics, the constant pools and the code builder.  Module prefix: pvc_.
 */
#ifndef PVC_INTERNAL_H
#define PVC_INTERNAL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "provost/compiler.h"
#include "provost/bytecode.h"
#include "util/vec.h"

#define PVC_MPF_URI       "http://maps/specs/prov.xml"
#define PVC_MPF_URI_TLS   "https://maps/specs/prov.xml"
#define PVC_XSL_URI       "http://www.w3.org/1999/XSL/Transform"
#define PVC_XSD_URI       "http://www.w3.org/2001/XMLSchema"

/* A growable array of T (util/vec.h).  Grown with PVC_PUSH, which never fails (see
 * pvc_alloc). */
#define PVC_VEC(T) PU_VEC(T)
#define PVC_PUSH(ctx, vec) \
    (pvc_reserve((ctx), &(vec).v, &(vec).cap, (vec).n + 1, sizeof *(vec).v), &(vec).v[(vec).n++])

typedef PVC_VEC(uint32_t) pvc_u32vec;

/* Where an element starts, and where its start tag ends (byte offsets into the source). */
typedef struct pvc_loc {
    uint32_t line, col;
    size_t tag_start, tag_end;
} pvc_loc;

/* The select names and case names of the procedure being compiled. */
typedef struct pvc_names {
    PVC_VEC(const xmlChar *) v;
} pvc_names;

/* Scope references visible in one step: the forEach names, in slot order. */
typedef struct pvc_step {
    const xmlChar *loops[PROVOST_MAX_SLOTS];
    uint32_t nloops;
    uint32_t stepno;
} pvc_step;

typedef struct pvc_ctx {
    jmp_buf oom;              /* pvc_alloc jumps here when memory runs out */
    const char *filename;
    const char *src;          /* the source text, for locations */
    size_t srclen;
    char *decoded;            /* src decoded to UTF-8 when the file is in another encoding */
    PVC_VEC(size_t) lines;    /* byte offset of each line start */
    PVC_VEC(pvc_loc) locs;    /* element locations; node->_private = index + 1 */
    xmlDocPtr doc;

    PVC_VEC(provost_diag) diags;
    unsigned nerrors, nwarnings;

    /* pools */
    PVC_VEC(char) strings;
    PVC_VEC(uint32_t) strhash; /* open addressing: offset + 1, 0 = empty */
    size_t nstrings;
    PVC_VEC(provost_path) paths;
    PVC_VEC(uint32_t) pathhash; /* open addressing: path index + 1, 0 = empty */
    PVC_VEC(provost_pstep) psteps;
    PVC_VEC(provost_xsl) xsls;
    PVC_VEC(provost_xform) xforms;
    PVC_VEC(provost_callref) calls;
    PVC_VEC(provost_select) selects;
    PVC_VEC(provost_where) wheres;
    PVC_VEC(uint32_t) casenames; /* CASES section: string offsets */
    PVC_VEC(provost_proc) procs;
    PVC_VEC(provost_insn) code;
    provost_nsinfo ns;

    /* the namespace being compiled */
    const xmlChar *nsname;
    bool has_provider;
    bool is_request;
    PVC_VEC(xmlNodePtr) procnodes; /* every procedure element, for same-namespace calls */
    PVC_VEC(uint32_t) procindex;   /* open addressing over procnodes by name without case: index + 1 */

    /* the procedure being compiled */
    provost_proc *proc;
    uint32_t proc_code;       /* index of its first instruction */
    pvc_names selects_seen;   /* select names, in select-slot order */
    pvc_names cases;          /* case names, in case-number order */
    uint32_t nsteps;
    uint32_t max_slots;
} pvc_ctx;

/* compile.c: a context around one source text, and everything it owns */
pvc_ctx *pvc_ctx_new(const char *filename, const char *src, size_t len);
void pvc_ctx_free(pvc_ctx *ctx);

/* alloc.c */
void *pvc_alloc(pvc_ctx *ctx, size_t size);
void pvc_reserve(pvc_ctx *ctx, void *pptr, size_t *cap, size_t need, size_t elem);
char *pvc_strdup(pvc_ctx *ctx, const char *s);
char *pvc_vformat(pvc_ctx *ctx, const char *fmt, va_list ap);

/* diag.c */
void pvc_diag_at(pvc_ctx *ctx, int severity, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void pvc_error(pvc_ctx *ctx, xmlNodePtr node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pvc_warning(pvc_ctx *ctx, xmlNodePtr node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Errors and warnings about one attribute point at the attribute itself. */
void pvc_attr_error(pvc_ctx *ctx, xmlNodePtr node, const char *attr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void pvc_attr_warning(pvc_ctx *ctx, xmlNodePtr node, const char *attr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void pvc_node_loc(pvc_ctx *ctx, xmlNodePtr node, unsigned *line, unsigned *col);
void pvc_offset_loc(pvc_ctx *ctx, size_t off, unsigned *line, unsigned *col);
void pvc_attr_loc(pvc_ctx *ctx, xmlNodePtr node, const char *attr, unsigned *line,
                  unsigned *col);

/* parse.c: the document with locations; NULL (and a diagnostic) if it is not XML. */
xmlDocPtr pvc_parse(pvc_ctx *ctx);
void pvc_locs_clear(xmlNodePtr node);

/* lang.c: recognising language elements and reading attributes */
bool pvc_is_lang(xmlNodePtr node);               /* unqualified or MPF namespace */
bool pvc_is_xsl(xmlNodePtr node);
bool pvc_named(xmlNodePtr node, const char *name); /* a language element of that name */
xmlNodePtr pvc_first_child(xmlNodePtr node);      /* first element child */
xmlNodePtr pvc_next(xmlNodePtr node);             /* next element sibling */
void pvc_check_content(pvc_ctx *ctx, xmlNodePtr node); /* no stray text in language elements */
const char *pvc_attr(xmlNodePtr node, const char *name); /* owned by the doc, or NULL */
void pvc_check_attrs(pvc_ctx *ctx, xmlNodePtr node, const char *const *known);
const char *pvc_require(pvc_ctx *ctx, xmlNodePtr node, const char *name);
/* Reads an enumerated attribute: returns the index in values, def when absent,
 * or -1 after an error naming the accepted values. */
int pvc_enum(pvc_ctx *ctx, xmlNodePtr node, const char *name, const char *const *values,
             const int *codes, int def);
int pvc_bool(pvc_ctx *ctx, xmlNodePtr node, const char *name, int def);
bool pvc_check_name(pvc_ctx *ctx, xmlNodePtr node, const char *attr, const char *what);
/* The procedure element of this namespace named name (without case), or NULL; adding one
 * returns the earlier element of that name, if any. */
xmlNodePtr pvc_proc_find(pvc_ctx *ctx, const char *name);
xmlNodePtr pvc_proc_add(pvc_ctx *ctx, xmlNodePtr node);
void pvc_strip_mpf(xmlNodePtr node); /* data in the MPF namespace -> no namespace */

/* pool.c */
uint32_t pvc_str(pvc_ctx *ctx, const char *s);   /* interned; NULL -> NONE */
uint32_t pvc_strn(pvc_ctx *ctx, const char *s, size_t n);
uint32_t pvc_literal(pvc_ctx *ctx, xmlNodePtr node); /* serialised copy of node */

/* emit.c */
uint32_t pvc_emit(pvc_ctx *ctx, xmlNodePtr at, uint8_t op, uint8_t p1, uint8_t p2, uint8_t p3,
                  uint32_t p4, uint32_t p5); /* returns the instruction's index in the proc */
provost_insn *pvc_insn(pvc_ctx *ctx, uint32_t pc); /* valid only until the next pvc_emit */
uint32_t pvc_pc(pvc_ctx *ctx); /* index the next instruction will have */

/* xpath.c: check an XPath and add it to the path pool; NONE (and an error) if bad. */
uint32_t pvc_path(pvc_ctx *ctx, xmlNodePtr node, const char *attr, const char *text);

/* xsl.c: assemble and check the stylesheet of a before/after; NONE if it has no XSL,
 * *bad set (and errors reported) if it is not a valid stylesheet. */
uint32_t pvc_xsl(pvc_ctx *ctx, xmlNodePtr xform, bool *bad);
void pvc_xsl_init(void);

/* proc.c: a procedure element (in a namespace or a request) */
void pvc_procedure(pvc_ctx *ctx, xmlNodePtr node);
uint32_t pvc_case(pvc_ctx *ctx, const char *name); /* case number, interned */

void pvc_unknown_element(pvc_ctx *ctx, xmlNodePtr node, xmlNodePtr parent, const char *const *allowed);
const char *pvc_nearest(const char *name, const char *const *allowed); /* a typo's likely intent */

/* step.c: execute, queue and transform */
void pvc_step_compile(pvc_ctx *ctx, xmlNodePtr node, int kind);

/* schema.c: a Schema element's content, checked when it is XSD */
uint32_t pvc_schema(pvc_ctx *ctx, xmlNodePtr node);

/* dump.c: the pools and code as a bundle */
unsigned char *pvc_bundle(pvc_ctx *ctx, size_t *size);

#endif
