/*
 * bytecode.h -- the bundle format (.pvb) and the opcode table.
 *
 * This header is the contract between the compiler, which writes bundles, and the VM,
 * which maps them and runs them in place.  Everything in a bundle is little-endian,
 * fixed-size and 8-byte aligned, so a mapped file can be used without unpacking: the
 * loader checks the header, the checksum, every index and the structure of the code
 * (provost/verify.h) once, and after that nothing is allocated per instruction.
 *
 * The opcode list below is the single place where opcodes are defined.  The enum, the
 * names, the operand descriptions and the disassembler are all generated from it.
 */
#ifndef PROVOST_BYTECODE_H
#define PROVOST_BYTECODE_H

#include <stddef.h>
#include <stdint.h>

#define PROVOST_BUNDLE_MAGIC  "PROVOSTB"
#define PROVOST_BUNDLE_FORMAT 1u
#define PROVOST_NONE          0xFFFFFFFFu /* "no index" in any u32 reference */

/* --------------------------------------------------------------------------------------
 * Operand kinds, used by the disassembler to decode each field of an instruction.
 * -------------------------------------------------------------------------------------- */
#define PROVOST_OPK_NONE   '-' /* unused */
#define PROVOST_OPK_INT    'i' /* plain integer */
#define PROVOST_OPK_SLOT   's' /* forEach slot of the current step */
#define PROVOST_OPK_SCOPE  'r' /* scope reference (see PROVOST_SCOPE_*) */
#define PROVOST_OPK_IFNULL 'n' /* ifNull policy */
#define PROVOST_OPK_KIND   'k' /* step kind */
#define PROVOST_OPK_PATH   'p' /* index into the path pool */
#define PROVOST_OPK_LIT    'l' /* string-pool offset of a literal XML fragment, or NONE */
#define PROVOST_OPK_XFORM  'x' /* index into the transform table */
#define PROVOST_OPK_CALL   'c' /* index into the call table */
#define PROVOST_OPK_SEL    'S' /* select slot of the procedure (< PROVOST_MAX_SELECTS) */
#define PROVOST_OPK_SELD   'D' /* index into the select table */
#define PROVOST_OPK_CASE   'C' /* case number of the procedure */
#define PROVOST_OPK_JUMP   'j' /* instruction index within the procedure */
#define PROVOST_OPK_STEP   't' /* step number within the procedure */

/*
 * The opcodes.  X(NAME, p1, p2, p3, p4, p5, "semantics"): the five letters are the operand
 * kinds of the fields p1, p2, p3 (u8) and p4, p5 (u32) of provost_insn; p5 is where jump
 * targets go.
 *
 * A step (execute, queue, transform) compiles to
 *
 *     STEP                              begin: fresh loop state
 *     FOREACH ...                       one per forEach, outermost first
 *     WHEN | WHENCASE ...               each condition; false -> next combination
 *     REPEAT                            only with a repeat
 *   body:
 *     EXECDATA, XFORM (befores), CALL | QUEUE, XFORM (afters)
 *     AGAIN, WHEN ..., JUMP body        only with a repeat: re-check before each run
 *   next:
 *     NEXT ...                          one per forEach, innermost first
 *     ENDSTEP
 */
#define PROVOST_OPCODES(X)                                                                      \
    X(STEP,     'k', '-', '-', 't', 'j', "begin step p4, of kind p1; p5 is its ENDSTEP")      \
    X(FOREACH,  's', 'r', 'n', 'p', 'j', "snapshot path p4 on scope p2 into slot p1; "         \
                                         "nothing selected: ifNull p3, whose skip goes to p5") \
    X(NEXT,     's', '-', '-', '-', 'j', "advance slot p1; if a node remains, jump to p5")     \
    X(WHEN,     '-', 'r', '-', 'p', 'j', "unless boolean(path p4) holds on scope p2, go to p5") \
    X(WHENCASE, '-', 'S', '-', 'C', 'j', "unless select p2 has case p4, go to p5")            \
    X(REPEAT,   '-', 'r', 'n', 'p', 'j', "count = number(path p4 on scope p2); "               \
                                         "0, or nothing with ifNull p3 = skip: go to p5")      \
    X(AGAIN,    '-', '-', '-', '-', 'j', "one execution done; if none remain, go to p5")       \
    X(EXECDATA, '-', '-', '-', 'l', '-', "fresh executeData: a copy of literal p4, or empty")  \
    X(XFORM,    '-', '-', '-', 'x', 'j', "apply transform p4; ifNull skip goes to p5")         \
    X(CALL,     '-', '-', '-', 'c', '-', "call p4 with executeData")                           \
    X(QUEUE,    '-', '-', '-', 'c', '-', "queue a job calling p4 with executeData")            \
    X(SELECT,   '-', 'S', '-', 'D', '-', "evaluate select p4 into select slot p2")             \
    X(TRY,      '-', '-', '-', '-', 'j', "push a handler whose catch starts at p5")            \
    X(ENDTRY,   '-', '-', '-', '-', 'j', "pop the handler; jump past the catch to p5")         \
    X(CATCH,    '-', '-', '-', '-', '-', "handler entry: the error is context/errorContext")   \
    X(ENDCATCH, '-', '-', '-', '-', '-', "the caught error is handled; errorContext cleared")  \
    X(JUMP,     '-', '-', '-', '-', 'j', "jump to p5")                                         \
    X(ENDSTEP,  '-', '-', '-', 't', '-', "end of step p4")                                     \
    X(RET,      '-', '-', '-', '-', '-', "return from the procedure")

enum provost_opcode {
#define PROVOST_OP_ENUM(name, p1, p2, p3, p4, p5, doc) PROVOST_OP_##name,
    PROVOST_OPCODES(PROVOST_OP_ENUM)
#undef PROVOST_OP_ENUM
    PROVOST_OP__COUNT
};

/* One instruction: 16 bytes, used in place from the mapped bundle. */
typedef struct provost_insn {
    uint8_t op;
    uint8_t p1, p2, p3;
    uint32_t p4;
    uint32_t p5;
    uint32_t line; /* source line of the element the instruction came from */
} provost_insn;

/* ---- small enumerations used as operands ---------------------------------------------- */

/* Scope references: fixed scopes first, then forEach slots (PROVOST_SCOPE_SLOT0 + slot). */
enum provost_scope {
    PROVOST_SCOPE_DATA = 0,
    PROVOST_SCOPE_EXECDATA = 1,
    PROVOST_SCOPE_PROCDATA = 2,
    PROVOST_SCOPE_CONTEXT = 3,
    PROVOST_SCOPE_SLOT0 = 4
};
#define PROVOST_MAX_SLOTS   64  /* forEach loops in one step */
#define PROVOST_MAX_SELECTS 255 /* selects in one procedure */
#define PROVOST_MAX_NAME    256 /* bytes in a namespace or procedure name (docs/semantics.md) */

enum provost_ifnull { PROVOST_IFNULL_FAIL = 0, PROVOST_IFNULL_SKIP = 1, PROVOST_IFNULL_IGNORE = 2 };
enum provost_mode {
    PROVOST_MODE_INSERT = 0,
    PROVOST_MODE_MERGE = 1,
    PROVOST_MODE_REPLACE = 2,
    PROVOST_MODE_MOVE = 3
};
enum provost_step_kind { PROVOST_STEP_EXECUTE = 0, PROVOST_STEP_QUEUE = 1, PROVOST_STEP_TRANSFORM = 2 };
enum provost_proc_type { PROVOST_TYPE_READ = 1, PROVOST_TYPE_WRITE = 2, PROVOST_TYPE_TWOPHASE = 3 };
enum provost_access { PROVOST_ACCESS_PRIVATE = 0, PROVOST_ACCESS_PUBLIC = 1 };

/* provost_proc.flags */
#define PROVOST_PROC_AUDIT    0x01u
#define PROVOST_PROC_PERF     0x02u
#define PROVOST_PROC_SAVEDATA 0x04u
#define PROVOST_PROC_PROVIDER 0x08u /* no steps: implemented by the namespace's provider */

/* ---- pools and tables ---------------------------------------------------------------- */

/* Paths.  A simple path (a/b, @x, a[@t='v'], combinations) is pre-decoded into steps the
 * VM walks natively; anything else is handed to libxml2's XPath compiler at load. */
enum provost_path_kind {
    PROVOST_PATH_SELF = 0,   /* absent or ".": the context node itself */
    PROVOST_PATH_SIMPLE = 1, /* steps[first .. first+nsteps) */
    PROVOST_PATH_XPATH = 2   /* general XPath 1.0: text only */
};
#define PROVOST_PATH_CREATABLE 0x01u /* only child element names: created when missing */

typedef struct provost_path {
    uint32_t text;   /* string: the XPath as written */
    uint32_t nsdecl; /* string: "prefix uri prefix uri ..." in scope, or NONE */
    uint8_t kind;
    uint8_t flags;
    uint16_t nsteps;
    uint32_t first; /* index of the first provost_pstep */
} provost_path;

enum provost_pstep_kind {
    PROVOST_PSTEP_CHILD = 0,  /* child elements named name */
    PROVOST_PSTEP_ATTR = 1,   /* attribute name (last step only) */
    PROVOST_PSTEP_CHILDEQ = 2 /* child elements named name whose attribute attr = value */
};

typedef struct provost_pstep {
    uint32_t kind;
    uint32_t name;  /* string */
    uint32_t attr;  /* string, CHILDEQ only */
    uint32_t value; /* string, CHILDEQ only */
} provost_pstep;

/* A stylesheet, assembled at compile time from a before/after's xsl:* children. */
typedef struct provost_xsl {
    uint32_t text; /* string: the whole stylesheet document */
    uint32_t line; /* line of the first before/after that uses it */
    uint64_t hash; /* of the text; the pool holds each stylesheet once */
} provost_xsl;

enum provost_xform_dir { PROVOST_XFORM_BEFORE = 0, PROVOST_XFORM_AFTER = 1 };

typedef struct provost_xform {
    uint8_t dir;          /* provost_xform_dir */
    uint8_t source;       /* scope reference */
    uint8_t destination;  /* scope reference */
    uint8_t mode;         /* provost_mode */
    uint8_t ifnull;       /* provost_ifnull */
    uint8_t allow_null;   /* allowNullTransform */
    uint16_t pad;
    uint32_t source_path; /* path, or NONE */
    uint32_t dest_path;   /* path, or NONE */
    uint32_t xsl;         /* stylesheet, or NONE: the selected nodes are the result */
} provost_xform;

/* A call target, linked by the VM to a procedure when the bundle is loaded. */
typedef struct provost_callref {
    uint32_t ns;        /* string: namespace name as written */
    uint32_t proc;      /* string: procedure name as written */
    uint8_t impersonate; /* 0 inherit, 1 impersonate, 2 engine identity */
    uint8_t sensitive;   /* 0 inherit, 1 encrypt, 2 clear */
    uint8_t trusted;     /* 0 inherit, 1 pass authentication, 2 do not */
    uint8_t suspended;   /* queue only: queueSuspended */
} provost_callref;

typedef struct provost_select {
    uint32_t name;      /* string */
    uint32_t path;      /* path, or NONE */
    uint32_t def_case;  /* case number, or NONE */
    uint32_t null_case; /* case number, or NONE */
    uint32_t first;     /* index of the first provost_where */
    uint16_t nwhere;
    uint8_t source;     /* scope reference */
    uint8_t pad;
} provost_select;

typedef struct provost_where {
    uint32_t value; /* string */
    uint32_t kase;  /* case number */
} provost_where;

typedef struct provost_proc {
    uint32_t name;          /* string */
    uint32_t description;   /* string, or NONE */
    uint32_t code;          /* index of the first instruction */
    uint32_t ncode;
    uint32_t procdata;      /* literal procedureData, or NONE */
    uint32_t input_schema;  /* literal Schema content, or NONE */
    uint32_t output_schema; /* literal Schema content, or NONE */
    uint32_t cases;         /* index of its first entry in CASES: case names by number */
    uint32_t line;
    uint8_t type;    /* provost_proc_type */
    uint8_t access;  /* provost_access */
    uint8_t flags;   /* PROVOST_PROC_* */
    uint8_t nslots;  /* forEach slots used by the largest step */
    uint16_t nselects;
    uint16_t ncases;
} provost_proc;

/* What the bundle holds: a namespace, or the inline procedure of a trusted request. */
enum provost_bundle_kind { PROVOST_BUNDLE_NAMESPACE = 0, PROVOST_BUNDLE_REQUEST = 1 };

typedef struct provost_nsinfo {
    uint32_t name;             /* string (a request's procedure: NONE) */
    uint32_t provider;         /* providerSource string, or NONE */
    uint32_t description;      /* string, or NONE */
    uint32_t version;          /* string, or NONE */
    uint32_t provider_context; /* literal providerContext, or NONE */
    uint32_t source;           /* string: the original XML document */
    uint8_t kind;              /* provost_bundle_kind */
    uint8_t read_only;
    uint16_t pad;
    uint32_t pad2;
} provost_nsinfo;

/* Sections, in file order. */
#define PROVOST_SECTIONS(X)                   \
    X(STRINGS, char)                          \
    X(PATHS, provost_path)                    \
    X(PSTEPS, provost_pstep)                  \
    X(XSLS, provost_xsl)                      \
    X(XFORMS, provost_xform)                  \
    X(CALLS, provost_callref)                    \
    X(SELECTS, provost_select)                \
    X(WHERES, provost_where)                  \
    X(CASES, uint32_t)                        \
    X(PROCS, provost_proc)                    \
    X(CODE, provost_insn)                     \
    X(NSINFO, provost_nsinfo)

enum provost_section_id {
#define PROVOST_SEC_ENUM(name, type) PROVOST_SEC_##name,
    PROVOST_SECTIONS(PROVOST_SEC_ENUM)
#undef PROVOST_SEC_ENUM
    PROVOST_SEC__COUNT
};

typedef struct provost_section {
    uint64_t offset; /* from the start of the file, 8-aligned */
    uint64_t count;  /* elements (bytes for STRINGS) */
} provost_section;

typedef struct provost_bundle_header {
    char magic[8];            /* PROVOST_BUNDLE_MAGIC, not NUL-terminated */
    uint32_t format;          /* PROVOST_BUNDLE_FORMAT */
    uint32_t header_size;     /* sizeof(provost_bundle_header) */
    uint64_t file_size;
    uint32_t checksum;        /* CRC-32 of the whole file with this field zero */
    uint32_t endian;          /* 0x01020304 as written by the compiler */
    char compiler[32];        /* compiler version, NUL-terminated */
    uint8_t source_hash[32];  /* SHA-256 of the source document */
    provost_section sections[PROVOST_SEC__COUNT];
} provost_bundle_header;

#define PROVOST_ENDIAN_MARK 0x01020304u

#endif
