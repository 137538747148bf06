/*
 * step.c -- execute, queue and transform.  A step's children are gathered first (their
 * order inside the step does not matter, except among forEach, before and after), then
 * the step is laid out as the loop nest described in bytecode.h.
 */
#include <string.h>

#include "internal.h"
#include "util/str.h"

typedef struct step_parts {
    xmlNodePtr loops[PROVOST_MAX_SLOTS];
    uint32_t nloops;
    PVC_VEC(xmlNodePtr) whens;
    PVC_VEC(xmlNodePtr) befores;
    PVC_VEC(xmlNodePtr) afters;
    xmlNodePtr repeat, literal;
} step_parts;

static const char *const step_elems[] = {"forEach", "when", "repeat", "executeData", "before", "after", NULL};

/* A scope reference: a fixed scope, or a forEach of this step (those before limit, for
 * forEach roots, which must name an earlier loop). */
static int scope_ref(pvc_ctx *ctx, xmlNodePtr node, const char *attr, const char *v,
                     const step_parts *s, uint32_t limit, unsigned fixed)
{
    static const char *const names[] = {"data", "executeData", "procedureData", "context"};
    for (unsigned i = 0; i < 4; i++)
        if ((fixed & (1u << i)) && strcmp(v, names[i]) == 0)
            return (int)i;
    for (uint32_t i = 0; i < limit; i++)
        if (strcmp(pvc_attr(s->loops[i], "name") ? pvc_attr(s->loops[i], "name") : "", v) == 0)
            return PROVOST_SCOPE_SLOT0 + (int)i;
    for (uint32_t i = limit; i < s->nloops; i++)
        if (strcmp(pvc_attr(s->loops[i], "name") ? pvc_attr(s->loops[i], "name") : "", v) == 0) {
            pvc_attr_error(ctx, node, attr, "%s=\"%s\" names a forEach defined after this one: "
                                            "a forEach can only be rooted at an earlier one", attr, v);
            return -1;
        }
    char list[160] = "";
    for (unsigned i = 0; i < 4; i++)
        if (fixed & (1u << i)) {
            size_t n = strlen(list);
            snprintf(list + n, sizeof list - n, "%s'%s'", n ? ", " : "", names[i]);
        }
    pvc_attr_error(ctx, node, attr, "%s=\"%s\" is neither a scope nor a forEach of this step: use %s "
                                    "or the name of one of the step's forEach",
                   attr, v, list);
    return -1;
}

#define SC_DATA (1u << PROVOST_SCOPE_DATA)
#define SC_EXEC (1u << PROVOST_SCOPE_EXECDATA)
#define SC_PROC (1u << PROVOST_SCOPE_PROCDATA)
#define SC_CTX  (1u << PROVOST_SCOPE_CONTEXT)

static int ifnull(pvc_ctx *ctx, xmlNodePtr node, bool allow_skip)
{
    static const char *const all[] = {"fail", "skip", "ignore", NULL};
    static const int codes[] = {PROVOST_IFNULL_FAIL, PROVOST_IFNULL_SKIP, PROVOST_IFNULL_IGNORE};
    static const char *const noskip[] = {"fail", "ignore", NULL};
    static const int nscodes[] = {PROVOST_IFNULL_FAIL, PROVOST_IFNULL_IGNORE};
    int v = allow_skip ? pvc_enum(ctx, node, "ifNull", all, codes, PROVOST_IFNULL_FAIL)
                       : pvc_enum(ctx, node, "ifNull", noskip, nscodes, PROVOST_IFNULL_FAIL);
    return v < 0 ? PROVOST_IFNULL_FAIL : v;
}

static void gather(pvc_ctx *ctx, xmlNodePtr step, step_parts *s)
{
    for (xmlNodePtr c = pvc_first_child(step); c; c = pvc_next(c)) {
        if (pvc_named(c, "forEach")) {
            if (s->nloops == PROVOST_MAX_SLOTS) {
                pvc_error(ctx, c, "too many <forEach> in one step (at most %d)", PROVOST_MAX_SLOTS);
                continue;
            }
            const char *name = pvc_attr(c, "name");
            for (uint32_t i = 0; name && i < s->nloops; i++)
                if (pvc_attr(s->loops[i], "name") && strcmp(pvc_attr(s->loops[i], "name"), name) == 0) {
                    pvc_attr_error(ctx, c, "name", "a forEach named \"%s\" already exists in this step: "
                                                   "give each forEach its own name", name);
                    name = NULL;
                }
            if (name && (!strcmp(name, "data") || !strcmp(name, "executeData") ||
                         !strcmp(name, "procedureData") || !strcmp(name, "context"))) {
                pvc_attr_error(ctx, c, "name", "a forEach cannot be named \"%s\", the name of a scope", name);
                continue;
            }
            if (name || !pvc_attr(c, "name"))
                s->loops[s->nloops++] = c;
        } else if (pvc_named(c, "when")) {
            *PVC_PUSH(ctx, s->whens) = c;
        } else if (pvc_named(c, "repeat")) {
            if (s->repeat)
                pvc_error(ctx, c, "a step has at most one <repeat>: combine the counts, or use a forEach");
            else
                s->repeat = c;
        } else if (pvc_named(c, "executeData")) {
            if (s->literal)
                pvc_error(ctx, c, "a step has at most one <executeData>: merge them into one");
            else
                s->literal = c;
        } else if (pvc_named(c, "before")) {
            *PVC_PUSH(ctx, s->befores) = c;
        } else if (pvc_named(c, "after")) {
            *PVC_PUSH(ctx, s->afters) = c;
        } else {
            pvc_unknown_element(ctx, c, step, step_elems);
        }
    }
}

static bool engine_owned(const char *path)
{
    static const char *const owned[] = {"transactionContext", "executeContext", "securityContext"};
    if (!path)
        return false;
    while (*path == '/' || *path == '.')
        path++;
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(owned[i]);
        if (strncmp(path, owned[i], n) == 0 && (path[n] == 0 || path[n] == '/' || path[n] == '['))
            return true;
    }
    return false;
}

static uint32_t xform(pvc_ctx *ctx, xmlNodePtr node, int dir, const step_parts *s)
{
    static const char *const attrs[] = {"source", "sourcePath", "destination", "destinationPath", "mode",
                                        "ifNull", "allowNullTransform", NULL};
    static const char *const modes[] = {"insert", "merge", "replace", "move", NULL};
    pvc_check_attrs(ctx, node, attrs);
    pvc_check_content(ctx, node);
    provost_xform x = {.dir = (uint8_t)dir, .source_path = PROVOST_NONE, .dest_path = PROVOST_NONE,
                       .xsl = PROVOST_NONE};
    const char *src = pvc_require(ctx, node, "source");
    const char *dst = pvc_require(ctx, node, "destination");
    unsigned all = SC_DATA | SC_EXEC | SC_PROC | SC_CTX;
    int r;
    if (src && (r = scope_ref(ctx, node, "source", src, s, s->nloops, all)) >= 0)
        x.source = (uint8_t)r;
    if (dst && (r = scope_ref(ctx, node, "destination", dst, s, s->nloops, all)) >= 0)
        x.destination = (uint8_t)r;
    const char *sp = pvc_attr(node, "sourcePath"), *dp = pvc_attr(node, "destinationPath");
    x.source_path = pvc_path(ctx, node, "sourcePath", sp);
    x.dest_path = pvc_path(ctx, node, "destinationPath", dp);
    int mode = pvc_enum(ctx, node, "mode", modes, NULL, PROVOST_MODE_INSERT);
    x.mode = (uint8_t)(mode < 0 ? PROVOST_MODE_INSERT : mode);
    x.ifnull = (uint8_t)ifnull(ctx, node, true);
    x.allow_null = (uint8_t)pvc_bool(ctx, node, "allowNullTransform", 0);
    bool bad;
    x.xsl = pvc_xsl(ctx, node, &bad);
    if (mode == PROVOST_MODE_MOVE) {
        if (!sp || !*sp)
            pvc_attr_error(ctx, node, "mode", "mode=\"move\" needs a 'sourcePath': it moves the selected "
                                              "nodes, and cannot move a whole scope");
        if (x.xsl != PROVOST_NONE || bad)
            pvc_attr_error(ctx, node, "mode", "mode=\"move\" cannot have XSL: it moves the source nodes "
                                              "themselves; use mode=\"insert\" to transform");
    }
    if (dst && strcmp(dst, "context") == 0) {
        if (engine_owned(dp))
            pvc_attr_error(ctx, node, "destinationPath", "destinationPath=\"%s\" writes into a part of the "
                                                         "context the engine owns (transactionContext, "
                                                         "executeContext, securityContext), which is read-only", dp);
        else if ((!dp || !*dp) && mode == PROVOST_MODE_REPLACE)
            pvc_attr_error(ctx, node, "mode", "mode=\"replace\" on the whole context would replace the "
                                              "parts the engine owns: give a destinationPath");
    }
    *PVC_PUSH(ctx, ctx->xforms) = x;
    return (uint32_t)ctx->xforms.n - 1;
}

/* The conditions, resolved once (so a mistake is reported once even when a repeat makes
 * them be emitted twice): op 0 marks a when that could not be compiled. */
typedef struct when_insn {
    xmlNodePtr node;
    uint8_t op, scope;
    uint32_t arg;
} when_insn;

static void resolve_whens(pvc_ctx *ctx, const step_parts *s, when_insn *out)
{
    for (size_t i = 0; i < s->whens.n; i++) {
        xmlNodePtr w = s->whens.v[i];
        const char *src = pvc_attr(w, "source"), *sel = pvc_attr(w, "select");
        out[i] = (when_insn){.node = w};
        if (sel && !src) {
            const char *kase = pvc_attr(w, "case");
            size_t slot = 0;
            while (slot < ctx->selects_seen.v.n && strcmp((const char *)ctx->selects_seen.v.v[slot], sel) != 0)
                slot++;
            if (kase && slot < ctx->selects_seen.v.n)
                out[i] = (when_insn){w, PROVOST_OP_WHENCASE, (uint8_t)slot, pvc_case(ctx, kase)};
        } else if (src && !sel) {
            int r = scope_ref(ctx, w, "source", src, s, s->nloops, SC_DATA | SC_PROC | SC_CTX);
            const char *sp = pvc_attr(w, "sourcePath");
            uint32_t path = pvc_path(ctx, w, "sourcePath", sp ? sp : "");
            if (r >= 0 && path != PROVOST_NONE)
                out[i] = (when_insn){w, PROVOST_OP_WHEN, (uint8_t)r, path};
        }
    }
}

static void emit_whens(pvc_ctx *ctx, const when_insn *w, size_t n, pvc_u32vec *fix)
{
    for (size_t i = 0; i < n; i++)
        if (w[i].op)
            *PVC_PUSH(ctx, *fix) = pvc_emit(ctx, w[i].node, w[i].op, 0, w[i].scope, 0, w[i].arg, 0);
}

/* A <select> of that name among the steps of a block, or of its try and catch blocks. */
static xmlNodePtr find_select(xmlNodePtr block, const char *name)
{
    for (xmlNodePtr c = pvc_first_child(block); c; c = pvc_next(c)) {
        const char *n = pvc_named(c, "select") ? pvc_attr(c, "name") : NULL;
        if (n && strcmp(n, name) == 0)
            return c;
        xmlNodePtr r = pvc_named(c, "try") || pvc_named(c, "catch") ? find_select(c, name) : NULL;
        if (r)
            return r;
    }
    return NULL;
}

/* A when naming a select not evaluated yet: one defined later, or none at all (a typo). */
static void unknown_select(pvc_ctx *ctx, xmlNodePtr w, const char *sel)
{
    xmlNodePtr proc = w;
    while (proc && !pvc_named(proc, "procedure"))
        proc = proc->parent;
    xmlNodePtr later = proc ? find_select(proc, sel) : NULL;
    if (later) {
        unsigned line, col;
        pvc_node_loc(ctx, later, &line, &col);
        pvc_attr_error(ctx, w, "select", "<when> names select \"%s\", which is defined after this step, at "
                                         "line %u: a select must come before the steps that use it", sel, line);
        return;
    }
    const char **names = pvc_alloc(ctx, (ctx->selects_seen.v.n + 1) * sizeof *names);
    for (size_t k = 0; k < ctx->selects_seen.v.n; k++)
        names[k] = (const char *)ctx->selects_seen.v.v[k];
    names[ctx->selects_seen.v.n] = NULL;
    const char *near = pvc_nearest(sel, names);
    if (near)
        pvc_attr_error(ctx, w, "select", "<when> names select \"%s\", but the procedure has no <select> of "
                                         "that name (did you mean \"%s\"?)", sel, near);
    else
        pvc_attr_error(ctx, w, "select", "<when> names select \"%s\", but the procedure has no <select> of "
                                         "that name", sel);
    free(names);
}

static void check_whens(pvc_ctx *ctx, const step_parts *s)
{
    static const char *const attrs[] = {"source", "sourcePath", "select", "case", NULL};
    for (size_t i = 0; i < s->whens.n; i++) {
        xmlNodePtr w = s->whens.v[i];
        pvc_check_attrs(ctx, w, attrs);
        pvc_check_content(ctx, w);
        const char *src = pvc_attr(w, "source"), *sel = pvc_attr(w, "select");
        if (src && sel) {
            pvc_error(ctx, w, "<when> has both 'source' and 'select': use source/sourcePath or select/case, not both");
        } else if (!src && !sel) {
            pvc_error(ctx, w, "<when> needs either 'source' (with an optional sourcePath) or 'select' with 'case'");
        } else if (sel) {
            if (pvc_attr(w, "sourcePath"))
                pvc_attr_error(ctx, w, "sourcePath", "'sourcePath' goes with 'source', not with 'select'");
            if (!pvc_attr(w, "case"))
                pvc_error(ctx, w, "<when select=\"%s\"> needs a 'case' to compare with", sel);
            bool found = false;
            for (size_t k = 0; k < ctx->selects_seen.v.n && !found; k++)
                found = strcmp((const char *)ctx->selects_seen.v.v[k], sel) == 0;
            if (!found)
                unknown_select(ctx, w, sel);
        } else if (pvc_attr(w, "case")) {
            pvc_attr_error(ctx, w, "case", "'case' goes with 'select', not with 'source'");
        }
    }
}

static uint32_t call_ref(pvc_ctx *ctx, xmlNodePtr node, int kind)
{
    const char *ns = pvc_require(ctx, node, "namespace");
    const char *proc = pvc_require(ctx, node, "procedure");
    if (ns)
        pvc_check_name(ctx, node, "namespace", "namespace");
    if (proc)
        pvc_check_name(ctx, node, "procedure", "procedure");
    static const char *const v012[] = {"0", "1", "2", NULL};
    provost_callref c = {.ns = pvc_str(ctx, ns), .proc = pvc_str(ctx, proc)};
    int v;
    c.impersonate = (uint8_t)((v = pvc_enum(ctx, node, "impersonate", v012, NULL, 0)) < 0 ? 0 : v);
    c.sensitive = (uint8_t)((v = pvc_enum(ctx, node, "sensitive", v012, NULL, 0)) < 0 ? 0 : v);
    c.trusted = (uint8_t)((v = pvc_enum(ctx, node, "trusted", v012, NULL, 0)) < 0 ? 0 : v);
    if (kind == PROVOST_STEP_QUEUE)
        c.suspended = (uint8_t)pvc_bool(ctx, node, "queueSuspended", 1);
    if (ns && proc && !ctx->is_request && pu_strieq(ns, (const char *)ctx->nsname)) {
        bool found = pvc_proc_find(ctx, proc) != NULL;
        if (!found)
            pvc_attr_error(ctx, node, "procedure", "namespace '%s' has no procedure named '%s'", ns, proc);
    }
    *PVC_PUSH(ctx, ctx->calls) = c;
    return (uint32_t)ctx->calls.n - 1;
}

void pvc_step_compile(pvc_ctx *ctx, xmlNodePtr node, int kind)
{
    static const char *const exec_attrs[] = {"namespace", "procedure", "impersonate", "sensitive", "trusted", NULL};
    static const char *const queue_attrs[] = {"namespace", "procedure", "impersonate", "sensitive", "trusted",
                                              "queueSuspended", NULL};
    static const char *const no_attrs[] = {NULL};
    pvc_check_attrs(ctx, node, kind == PROVOST_STEP_EXECUTE ? exec_attrs
                                : kind == PROVOST_STEP_QUEUE ? queue_attrs : no_attrs);
    pvc_check_content(ctx, node);
    step_parts s = {0};
    gather(ctx, node, &s);
    uint32_t call = kind == PROVOST_STEP_TRANSFORM ? PROVOST_NONE : call_ref(ctx, node, kind);
    if (kind == PROVOST_STEP_TRANSFORM && !s.befores.n && !s.afters.n)
        pvc_warning(ctx, node, "<transform> has no <before> or <after>: it does nothing");
    check_whens(ctx, &s);
    when_insn *whens = pvc_alloc(ctx, (s.whens.n ? s.whens.n : 1) * sizeof *whens);
    resolve_whens(ctx, &s, whens);
    if (s.nloops > ctx->max_slots)
        ctx->max_slots = s.nloops;

    uint32_t stepno = ctx->nsteps++;
    uint32_t at_step = pvc_emit(ctx, node, PROVOST_OP_STEP, (uint8_t)kind, 0, 0, stepno, 0);
    uint32_t at_loop[PROVOST_MAX_SLOTS];
    static const char *const loop_attrs[] = {"name", "root", "path", "ifNull", NULL};
    for (uint32_t i = 0; i < s.nloops; i++) {
        xmlNodePtr f = s.loops[i];
        pvc_check_attrs(ctx, f, loop_attrs);
        pvc_check_content(ctx, f);
        const char *name = pvc_require(ctx, f, "name");
        const char *root = pvc_require(ctx, f, "root");
        (void)name;
        int r = root ? scope_ref(ctx, f, "root", root, &s, i, SC_DATA | SC_PROC | SC_CTX) : -1;
        uint32_t path = pvc_path(ctx, f, "path", pvc_attr(f, "path"));
        if (path == PROVOST_NONE)
            path = pvc_path(ctx, f, "path", "");
        at_loop[i] = pvc_emit(ctx, f, PROVOST_OP_FOREACH, (uint8_t)i, (uint8_t)(r < 0 ? 0 : r),
                              (uint8_t)ifnull(ctx, f, true), path, 0);
    }

    pvc_u32vec to_next = {0}; /* instructions whose p5 is the next combination */
    emit_whens(ctx, whens, s.whens.n, &to_next);
    uint32_t at_repeat = PROVOST_NONE;
    if (s.repeat) {
        static const char *const rattrs[] = {"source", "sourcePath", "ifNull", NULL};
        pvc_check_attrs(ctx, s.repeat, rattrs);
        pvc_check_content(ctx, s.repeat);
        const char *src = pvc_require(ctx, s.repeat, "source");
        int r = src ? scope_ref(ctx, s.repeat, "source", src, &s, s.nloops, SC_DATA | SC_PROC | SC_CTX) : -1;
        uint32_t path = pvc_path(ctx, s.repeat, "sourcePath", pvc_attr(s.repeat, "sourcePath"));
        if (path == PROVOST_NONE)
            path = pvc_path(ctx, s.repeat, "sourcePath", "");
        at_repeat = pvc_emit(ctx, s.repeat, PROVOST_OP_REPEAT, 0, (uint8_t)(r < 0 ? 0 : r),
                             (uint8_t)ifnull(ctx, s.repeat, true), path, 0);
        *PVC_PUSH(ctx, to_next) = at_repeat;
    }

    uint32_t body = pvc_pc(ctx);
    pvc_emit(ctx, s.literal ? s.literal : node, PROVOST_OP_EXECDATA, 0, 0, 0,
             s.literal ? pvc_literal(ctx, s.literal) : PROVOST_NONE, 0);
    pvc_u32vec to_cont = {0}; /* ifNull="skip" of before/after: the next execution */
    for (size_t i = 0; i < s.befores.n; i++)
        *PVC_PUSH(ctx, to_cont) = pvc_emit(ctx, s.befores.v[i], PROVOST_OP_XFORM, 0, 0, 0,
                                           xform(ctx, s.befores.v[i], PROVOST_XFORM_BEFORE, &s), 0);
    if (kind != PROVOST_STEP_TRANSFORM)
        pvc_emit(ctx, node, kind == PROVOST_STEP_QUEUE ? PROVOST_OP_QUEUE : PROVOST_OP_CALL, 0, 0, 0, call, 0);
    for (size_t i = 0; i < s.afters.n; i++)
        *PVC_PUSH(ctx, to_cont) = pvc_emit(ctx, s.afters.v[i], PROVOST_OP_XFORM, 0, 0, 0,
                                           xform(ctx, s.afters.v[i], PROVOST_XFORM_AFTER, &s), 0);
    uint32_t cont = pvc_pc(ctx);
    if (s.repeat) {
        *PVC_PUSH(ctx, to_next) = pvc_emit(ctx, s.repeat, PROVOST_OP_AGAIN, 0, 0, 0, 0, 0);
        emit_whens(ctx, whens, s.whens.n, &to_next);
        pvc_emit(ctx, s.repeat, PROVOST_OP_JUMP, 0, 0, 0, 0, body);
    }
    uint32_t next = pvc_pc(ctx);
    uint32_t at_next[PROVOST_MAX_SLOTS];
    for (uint32_t i = s.nloops; i-- > 0;)
        at_next[i] = pvc_emit(ctx, s.loops[i], PROVOST_OP_NEXT, (uint8_t)i, 0, 0, 0, at_loop[i] + 1);
    uint32_t end = pvc_emit(ctx, node, PROVOST_OP_ENDSTEP, 0, 0, 0, stepno, 0);

    pvc_insn(ctx, at_step)->p5 = end;
    for (uint32_t i = 0; i < s.nloops; i++)
        pvc_insn(ctx, at_loop[i])->p5 = i == 0 ? end : at_next[i - 1];
    for (size_t i = 0; i < to_next.n; i++)
        pvc_insn(ctx, to_next.v[i])->p5 = next;
    for (size_t i = 0; i < to_cont.n; i++)
        pvc_insn(ctx, to_cont.v[i])->p5 = cont;
    free(whens);
    free(to_next.v);
    free(to_cont.v);
    free(s.whens.v);
    free(s.befores.v);
    free(s.afters.v);
}
