/*
 * bytecode.h -- the bundle format (.pvb) and the opcode table.
 *
 * This header is the contract between the compiler, which writes bundles, and the VM,
 * which maps them and runs them in place.  Everything in a bundle is little-endian,
 * fixed-size and 8-byte aligned, so a mapped file can be used without unpacking: the
 * loader checks the header, the checksum, every index and the structure of the code
 * (provost/verify.h) once, and after that nothing is allocated per instruction.
 *
 * The opcode list below is the single place where opcodes are defined and explained.  The
 * enum, the names, the operand kinds, the meanings and the disassembler are all generated
 * from it.
 */
#ifndef PROVOST_BYTECODE_H
#define PROVOST_BYTECODE_H

#include <stddef.h>
#include <stdint.h>

#define PROVOST_BUNDLE_MAGIC  "PROVOSTB"
#define PROVOST_BUNDLE_FORMAT 1u
#define PROVOST_NONE          0xFFFFFFFFu /* "no index" in any u32 reference */

/* --------------------------------------------------------------------------------------
 * Operand kinds: what each field of an instruction holds, by which the loader checks it
 * and the disassembler decodes it.  This is the one table of them.
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
 * The opcodes.  X(NAME, p1, p2, p3, p4, p5, "meaning"): the five letters are the operand
 * kinds (the PROVOST_OPK_* table above) of the fields p1, p2, p3 (u8) and p4, p5 (u32) of
 * provost_insn; p5 is where jump targets go.  The meaning is the whole truth about what
 * the VM does for the instruction (vm/interp.c implements them in this order); it is
 * written here only, and `provost disasm --explain` prints it under each instruction.
 *
 * A step (execute, queue, transform) compiles to
 *
 *     STEP                              begin: fresh loop state
 *     FOREACH ...                       one per forEach, outermost first
 *     WHEN | WHENCASE ...               each condition; false -> next combination
 *     REPEAT                            only with a repeat
 *   body:
 *     EXECDATA, XFORM (befores), CALL | QUEUE, XFORM (afters)
 *   cont:
 *     AGAIN, WHEN ..., JUMP body        only with a repeat: re-check before each run
 *   next:
 *     NEXT ...                          one per forEach, innermost first
 *     ENDSTEP
 *
 * An error raised by an instruction (or by a call it makes) unwinds to the innermost TRY
 * of this procedure's invocation, else out of the procedure to its caller's CALL.
 */
#define PROVOST_OPCODES(X)                                                                      \
    X(STEP,     'k', '-', '-', 't', 'j',                                                        \
      "Begin step p4 (numbered in source order), of kind p1. Forget the previous step's "       \
      "forEach snapshots and repeat count, so that this step's loops select afresh. p4 and "    \
      "p5 (the index of this step's ENDSTEP) are for readers: the VM does not use them.")       \
    X(FOREACH,  's', 'r', 'n', 'p', 'j',                                                        \
      "Take the nodes path p4 selects on scope p2 as loop slot p1's snapshot and bind the "     \
      "slot to the first. The snapshot is fixed: nodes later changed or removed do not alter "  \
      "it. On data, executeData, procedureData or context it is taken once per execution of "   \
      "the step (an inner loop keeps it across the outer loops' iterations); on another slot, " \
      "again on every iteration of that slot. Nothing selected (or an absent scope): ifNull "   \
      "p3 fail raises 0x80070490, skip goes to p5 (the outer loop's NEXT, or ENDSTEP), "        \
      "ignore runs once with the slot bound to nothing.")                                       \
    X(NEXT,     's', '-', '-', '-', 'j',                                                        \
      "Bind slot p1 to the next node of its snapshot; if one remains, jump to p5 (just after "  \
      "this loop's FOREACH: the inner loops and conditions run again for the new "              \
      "combination), else fall through to the outer loop's NEXT or ENDSTEP.")                   \
    X(WHEN,     '-', 'r', '-', 'p', 'j',                                                        \
      "Unless XPath boolean() of path p4 on scope p2 is true, go to p5 (the innermost NEXT: "   \
      "skip this combination, or stop repeating). An absent scope, such as an unbound slot, "   \
      "is false.")                                                                              \
    X(WHENCASE, '-', 'S', '-', 'C', 'j',                                                        \
      "Unless the case the last SELECT stored in select slot p2 is case p4, go to p5. A "       \
      "select that chose no case matches none.")                                                \
    X(REPEAT,   '-', 'r', 'n', 'p', 'j',                                                        \
      "Set the repeat count: the string value of the first node path p4 selects on scope p2 "   \
      "(or a non-node XPath result) as an XPath number, which must be an integer from 0 to "    \
      "1,000,000 (else 0x80070057). 0 goes to p5 (the innermost NEXT). Nothing selected: "      \
      "ifNull p3 fail raises 0x80070490, skip goes to p5, ignore runs the body once.")          \
    X(AGAIN,    '-', '-', '-', '-', 'j',                                                        \
      "One run of the repeated body is done: if it was the last, go to p5 (the innermost "      \
      "NEXT); else count it down and fall through to the WHENs checked again before the "       \
      "JUMP back to the body.")                                                                 \
    X(EXECDATA, '-', '-', '-', 'l', '-',                                                        \
      "Start this run's executeData in a new executeXml document, freeing the previous run's: " \
      "a copy of literal p4 (the step's executeData element), or an empty <executeData/> "      \
      "when p4 is NONE. The befores fill it; CALL and QUEUE pass it on.")                       \
    X(XFORM,    '-', '-', '-', 'x', 'j',                                                        \
      "Apply transform p4, a before or after: the nodes its source path selects on its "        \
      "source scope, through its stylesheet when it has one, written at its destination in "    \
      "its mode. Nothing selected: its ifNull fail raises 0x80070490, skip goes to p5 (past "   \
      "the afters: the next run or combination), ignore does nothing.")                         \
    X(CALL,     '-', '-', '-', 'c', '-',                                                        \
      "Call p4 (a call-table entry, linked to its procedure when the bundle is loaded) with "   \
      "the current executeData, one call level deeper (more than 64 raises 0x800703E9; an "     \
      "unregistered target 0x80070002). With validation on, executeData must first match "      \
      "the callee's input schema (else 0xC00CE014). A provider procedure gets the executeXml "  \
      "document and may change or replace its executeData; a procedure with steps runs with "   \
      "executeData as its data. Then executeData must match the output schema, and the VM "     \
      "rescans the executeXml document for its executeData child, so that the afters see an "   \
      "element a provider put in place of the old one.")                                        \
    X(QUEUE,    '-', '-', '-', 'c', '-',                                                        \
      "Queue a job calling p4: a copy of the current executeData and of the request's "         \
      "context, stored in the queue under a new queueId 1:{...}, pending, or suspended when "   \
      "the step has queueSuspended. Nothing is called now.")                                    \
    X(SELECT,   '-', 'S', '-', 'D', '-',                                                        \
      "Evaluate select p4 into select slot p2: the string value of the first node its path "    \
      "selects on its source scope (without a path, the scope node's text), compared exactly "  \
      "with each where value in order; the first equal one's case, else the default case, or "  \
      "the ifNull case when nothing was selected. Without such a case, no case.")               \
    X(TRY,      '-', '-', '-', '-', 'j',                                                        \
      "Push a handler of this invocation whose catch starts at p5. A non-fatal error raised "   \
      "before the matching ENDTRY pops it, closes the catches opened since, and goes to p5.")   \
    X(ENDTRY,   '-', '-', '-', '-', 'j',                                                        \
      "The try ran without error: pop its handler and jump past the catch, to p5.")             \
    X(CATCH,    '-', '-', '-', '-', '-',                                                        \
      "Enter the handler: the error raised becomes the one handled, visible to the catch's "    \
      "steps as context/errorContext (an outer catch's errorContext is set aside meanwhile).")  \
    X(ENDCATCH, '-', '-', '-', '-', '-',                                                        \
      "The catch ran to its end: the error is handled and cleared, its errorContext removed "   \
      "and any outer one restored.")                                                            \
    X(JUMP,     '-', '-', '-', '-', 'j',                                                        \
      "Jump to p5: from the end of a repeated body back to its start.")                         \
    X(ENDSTEP,  '-', '-', '-', 't', '-',                                                        \
      "End of step p4: nothing happens; the place the step's skips go to.")                     \
    X(RET,      '-', '-', '-', '-', '-',                                                        \
      "Return from the procedure to its caller, freeing its executeData, procedureData, "       \
      "snapshots and open catches.")

enum provost_opcode {
#define PROVOST_OP_ENUM(name, p1, p2, p3, p4, p5, doc) PROVOST_OP_##name,
    PROVOST_OPCODES(PROVOST_OP_ENUM)
#undef PROVOST_OP_ENUM
    PROVOST_OP__COUNT
};

/* The opcode list as tables, each generated once, here: an opcode's name, its five operand
 * kinds (p1..p5, a string of PROVOST_OPK_* letters) and its meaning; "?" past the list. */
static inline const char *provost_op_name(unsigned op)
{
    static const char *const names[] = {
#define PROVOST_OP_NAME(name, p1, p2, p3, p4, p5, doc) #name,
        PROVOST_OPCODES(PROVOST_OP_NAME)
#undef PROVOST_OP_NAME
    };
    return op < PROVOST_OP__COUNT ? names[op] : "?";
}

static inline const char *provost_op_kinds(unsigned op)
{
    static const char kinds[][6] = {
#define PROVOST_OP_KINDS(name, p1, p2, p3, p4, p5, doc) {p1, p2, p3, p4, p5, 0},
        PROVOST_OPCODES(PROVOST_OP_KINDS)
#undef PROVOST_OP_KINDS
    };
    return op < PROVOST_OP__COUNT ? kinds[op] : "-----";
}

static inline const char *provost_op_meaning(unsigned op)
{
    static const char *const meanings[] = {
#define PROVOST_OP_DOC(name, p1, p2, p3, p4, p5, doc) doc,
        PROVOST_OPCODES(PROVOST_OP_DOC)
#undef PROVOST_OP_DOC
    };
    return op < PROVOST_OP__COUNT ? meanings[op] : "?";
}

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
