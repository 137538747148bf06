/*
 * proc.c -- a procedure: its attributes, procedureData and Schema, and its block of
 * steps (try/catch, select, and the steps themselves, compiled by step.c).
 */
#include <string.h>

#include "internal.h"

static const char *const proc_attrs[] = {"name", "type", "access", "auditEnabled", "perfEnabled",
                                         "saveDataForRollback", "description", NULL};

/* Suggest the nearest allowed element name for a typo (edit distance <= 2). */
const char *pvc_nearest(const char *name, const char *const *allowed)
{
    const char *best = NULL;
    size_t bestd = 3;
    for (const char *const *a = allowed; *a; a++) {
        size_t n = strlen(name), m = strlen(*a);
        if (n > 40 || m > 40)
            continue;
        size_t d[41][41];
        for (size_t i = 0; i <= n; i++)
            d[i][0] = i;
        for (size_t j = 0; j <= m; j++)
            d[0][j] = j;
        for (size_t i = 1; i <= n; i++)
            for (size_t j = 1; j <= m; j++) {
                size_t sub = d[i - 1][j - 1] + ((name[i - 1] | 32) != ((*a)[j - 1] | 32));
                size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
                d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            }
        if (d[n][m] < bestd) {
            bestd = d[n][m];
            best = *a;
        }
    }
    return best;
}

void pvc_unknown_element(pvc_ctx *ctx, xmlNodePtr node, xmlNodePtr parent, const char *const *allowed)
{
    const char *name = (const char *)node->name;
    if (!pvc_is_lang(node) && !pvc_is_xsl(node)) {
        pvc_error(ctx, node, "unknown element <%s> in namespace '%s' inside <%s>: language elements "
                             "are unqualified or in " PVC_MPF_URI,
                  name, (const char *)node->ns->href, (const char *)parent->name);
        return;
    }
    const char *near = pvc_is_lang(node) ? pvc_nearest(name, allowed) : NULL;
    char list[200] = "";
    for (const char *const *a = allowed; *a; a++) {
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, "%s<%s>", n ? ", " : "", *a);
    }
    if (near && strcmp(near, name) != 0)
        pvc_error(ctx, node, "unknown element <%s%s> inside <%s> (did you mean <%s>?)",
                  pvc_is_xsl(node) ? "xsl:" : "", name, (const char *)parent->name, near);
    else
        pvc_error(ctx, node, "<%s%s> is not allowed inside <%s>: expected %s",
                  pvc_is_xsl(node) ? "xsl:" : "", name, (const char *)parent->name, list);
}

uint32_t pvc_case(pvc_ctx *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->cases.v.n; i++)
        if (strcmp((const char *)ctx->cases.v.v[i], name) == 0)
            return (uint32_t)i;
    *PVC_PUSH(ctx, ctx->cases.v) = (const xmlChar *)name;
    return (uint32_t)ctx->cases.v.n - 1;
}

static uint8_t scope_of(pvc_ctx *ctx, xmlNodePtr node, const char *attr, const char *v)
{
    if (strcmp(v, "data") == 0)
        return PROVOST_SCOPE_DATA;
    if (strcmp(v, "procedureData") == 0)
        return PROVOST_SCOPE_PROCDATA;
    if (strcmp(v, "context") == 0)
        return PROVOST_SCOPE_CONTEXT;
    pvc_attr_error(ctx, node, attr, "%s=\"%s\" is not valid on <%s>: use 'data', 'procedureData' or 'context'",
                   attr, v, (const char *)node->name);
    return PROVOST_SCOPE_DATA;
}

static void select_compile(pvc_ctx *ctx, xmlNodePtr node)
{
    static const char *const attrs[] = {"name", "source", "sourcePath", "defaultCase", "ifNullCase", NULL};
    pvc_check_attrs(ctx, node, attrs);
    pvc_check_content(ctx, node);
    const char *name = pvc_require(ctx, node, "name");
    const char *source = pvc_require(ctx, node, "source");
    provost_select sel = {.name = pvc_str(ctx, name), .path = PROVOST_NONE, .def_case = PROVOST_NONE,
                          .null_case = PROVOST_NONE, .first = (uint32_t)ctx->wheres.n};
    if (source)
        sel.source = scope_of(ctx, node, "source", source);
    sel.path = pvc_path(ctx, node, "sourcePath", pvc_attr(node, "sourcePath"));
    const char *dc = pvc_attr(node, "defaultCase"), *nc = pvc_attr(node, "ifNullCase");
    if (dc)
        sel.def_case = pvc_case(ctx, dc);
    if (nc)
        sel.null_case = pvc_case(ctx, nc);
    for (xmlNodePtr w = pvc_first_child(node); w; w = pvc_next(w)) {
        if (!pvc_named(w, "where")) {
            static const char *const allowed[] = {"where", NULL};
            pvc_unknown_element(ctx, w, node, allowed);
            continue;
        }
        static const char *const wattrs[] = {"value", "case", NULL};
        pvc_check_attrs(ctx, w, wattrs);
        pvc_check_content(ctx, w);
        const char *value = pvc_require(ctx, w, "value");
        const char *kase = pvc_require(ctx, w, "case");
        if (value && kase)
            *PVC_PUSH(ctx, ctx->wheres) =
                (provost_where){.value = pvc_str(ctx, value), .kase = pvc_case(ctx, kase)};
    }
    if (ctx->wheres.n - sel.first > UINT16_MAX) {
        pvc_error(ctx, node, "too many <where> elements in one <select> (at most 65535)");
        ctx->wheres.n = sel.first;
    }
    sel.nwhere = (uint16_t)(ctx->wheres.n - sel.first);
    if (!name)
        return;
    for (size_t i = 0; i < ctx->selects_seen.v.n; i++)
        if (strcmp((const char *)ctx->selects_seen.v.v[i], name) == 0) {
            pvc_attr_error(ctx, node, "name", "a <select> named \"%s\" already exists in this procedure: "
                                              "give each select its own name", name);
            return;
        }
    if (ctx->selects_seen.v.n >= PROVOST_MAX_SELECTS) {
        pvc_error(ctx, node, "too many <select> elements in one procedure (at most %d)", PROVOST_MAX_SELECTS);
        return;
    }
    *PVC_PUSH(ctx, ctx->selects_seen.v) = (const xmlChar *)name;
    *PVC_PUSH(ctx, ctx->selects) = sel;
    pvc_emit(ctx, node, PROVOST_OP_SELECT, 0, (uint8_t)(ctx->selects_seen.v.n - 1), 0,
             (uint32_t)ctx->selects.n - 1, 0);
}

static const char *const block_elems[] = {"execute", "queue", "transform", "try", "catch", "select", NULL};

static void block(pvc_ctx *ctx, xmlNodePtr parent, bool top)
{
    for (xmlNodePtr c = pvc_first_child(parent); c; c = pvc_next(c)) {
        if (pvc_named(c, "execute")) {
            pvc_step_compile(ctx, c, PROVOST_STEP_EXECUTE);
        } else if (pvc_named(c, "queue")) {
            pvc_step_compile(ctx, c, PROVOST_STEP_QUEUE);
        } else if (pvc_named(c, "transform")) {
            pvc_step_compile(ctx, c, PROVOST_STEP_TRANSFORM);
        } else if (pvc_named(c, "select")) {
            select_compile(ctx, c);
        } else if (pvc_named(c, "try")) {
            if (c->properties)
                pvc_check_attrs(ctx, c, (const char *const[]){NULL});
            pvc_check_content(ctx, c);
            xmlNodePtr katch = pvc_next(c);
            if (!pvc_named(katch, "catch")) {
                pvc_error(ctx, c, "<try> must be followed immediately by its <catch>: add a <catch> "
                                  "after this <try>");
                block(ctx, c, false);
                continue;
            }
            if (katch->properties)
                pvc_check_attrs(ctx, katch, (const char *const[]){NULL});
            pvc_check_content(ctx, katch);
            uint32_t at_try = pvc_emit(ctx, c, PROVOST_OP_TRY, 0, 0, 0, 0, 0);
            block(ctx, c, false);
            uint32_t at_end = pvc_emit(ctx, c, PROVOST_OP_ENDTRY, 0, 0, 0, 0, 0);
            /* emit first, then patch by index: emitting may move the code array */
            uint32_t at_catch = pvc_emit(ctx, katch, PROVOST_OP_CATCH, 0, 0, 0, 0, 0);
            pvc_insn(ctx, at_try)->p5 = at_catch;
            block(ctx, katch, false);
            pvc_emit(ctx, katch, PROVOST_OP_ENDCATCH, 0, 0, 0, 0, 0);
            pvc_insn(ctx, at_end)->p5 = pvc_pc(ctx);
            c = katch;
        } else if (pvc_named(c, "catch")) {
            pvc_error(ctx, c, "<catch> without a <try> just before it: put the <try> immediately before");
        } else if (top && (pvc_named(c, "procedureData") || pvc_named(c, "Schema"))) {
            continue; /* read by pvc_procedure */
        } else if (pvc_named(c, "procedureData") || pvc_named(c, "Schema")) {
            pvc_error(ctx, c, "<%s> belongs directly under <procedure>, not inside <%s>",
                      (const char *)c->name, (const char *)parent->name);
        } else if (pvc_named(c, "schema")) {
            pvc_error(ctx, c, "unknown element <schema> inside <%s> (did you mean <Schema>?)",
                      (const char *)parent->name);
        } else {
            pvc_unknown_element(ctx, c, parent, block_elems);
        }
    }
}

static int proc_type(pvc_ctx *ctx, xmlNodePtr node)
{
    static const char *const values[] = {"read", "write", "twoPhase", "two-phase", "twophase", "1", "2", "3", NULL};
    static const int codes[] = {PROVOST_TYPE_READ, PROVOST_TYPE_WRITE, PROVOST_TYPE_TWOPHASE,
                                PROVOST_TYPE_TWOPHASE, PROVOST_TYPE_TWOPHASE, PROVOST_TYPE_READ,
                                PROVOST_TYPE_WRITE, PROVOST_TYPE_TWOPHASE};
    if (!pvc_attr(node, "type")) {
        pvc_warning(ctx, node, "<procedure> has no 'type': it is compiled as type=\"write\" "
                               "(say type=\"read\", \"write\" or \"twoPhase\" to silence this)");
        return PROVOST_TYPE_WRITE;
    }
    int t = pvc_enum(ctx, node, "type", values, codes, PROVOST_TYPE_WRITE);
    return t < 0 ? PROVOST_TYPE_WRITE : t;
}

void pvc_procedure(pvc_ctx *ctx, xmlNodePtr node)
{
    provost_proc p = {.name = PROVOST_NONE, .description = PROVOST_NONE, .procdata = PROVOST_NONE,
                      .input_schema = PROVOST_NONE, .output_schema = PROVOST_NONE,
                      .type = PROVOST_TYPE_WRITE, .access = PROVOST_ACCESS_PRIVATE};
    unsigned line, col;
    pvc_node_loc(ctx, node, &line, &col);
    p.line = line;
    pvc_check_content(ctx, node);
    if (ctx->is_request) {
        for (xmlAttrPtr a = node->properties; a; a = a->next)
            if (!a->ns)
                pvc_attr_warning(ctx, node, (const char *)a->name,
                                 "attribute '%s' of a request's <procedure> is ignored",
                                 (const char *)a->name);
        p.type = PROVOST_TYPE_WRITE;
        p.access = PROVOST_ACCESS_PRIVATE;
    } else {
        pvc_check_attrs(ctx, node, proc_attrs);
        const char *name = pvc_require(ctx, node, "name");
        if (name)
            pvc_check_name(ctx, node, "name", "procedure");
        p.name = pvc_str(ctx, name);
        p.description = pvc_str(ctx, pvc_attr(node, "description"));
        p.type = (uint8_t)proc_type(ctx, node);
        static const char *const access[] = {"private", "public", NULL};
        int acc = pvc_enum(ctx, node, "access", access, NULL, PROVOST_ACCESS_PRIVATE);
        p.access = (uint8_t)(acc < 0 ? PROVOST_ACCESS_PRIVATE : acc);
        if (pvc_bool(ctx, node, "auditEnabled", 0))
            p.flags |= PROVOST_PROC_AUDIT;
        if (pvc_bool(ctx, node, "perfEnabled", 0))
            p.flags |= PROVOST_PROC_PERF;
        if (pvc_bool(ctx, node, "saveDataForRollback", 0))
            p.flags |= PROVOST_PROC_SAVEDATA;
    }

    /* procedureData and Schema, wherever they stand among the steps */
    bool has_steps = false;
    for (xmlNodePtr c = pvc_first_child(node); c; c = pvc_next(c)) {
        if (pvc_named(c, "procedureData")) {
            if (c->properties)
                pvc_check_attrs(ctx, c, (const char *const[]){NULL});
            if (p.procdata != PROVOST_NONE)
                pvc_error(ctx, c, "a procedure has at most one <procedureData>: merge them into one");
            else
                p.procdata = pvc_literal(ctx, c);
        } else if (pvc_named(c, "Schema")) {
            static const char *const which[] = {"inputSchema", "outputSchema", NULL};
            static const char *const sattrs[] = {"name", NULL};
            pvc_check_attrs(ctx, c, sattrs);
            if (!pvc_require(ctx, c, "name"))
                continue;
            int w = pvc_enum(ctx, c, "name", which, NULL, 0);
            if (w < 0)
                continue;
            uint32_t *slot = w == 0 ? &p.input_schema : &p.output_schema;
            if (*slot != PROVOST_NONE)
                pvc_error(ctx, c, "a procedure has at most one <Schema name=\"%s\">", which[w]);
            else
                *slot = pvc_schema(ctx, c);
        } else {
            has_steps = true;
        }
    }

    size_t idx = ctx->procs.n;
    *PVC_PUSH(ctx, ctx->procs) = p;
    ctx->proc_code = (uint32_t)ctx->code.n;
    ctx->selects_seen.v.n = 0;
    ctx->cases.v.n = 0;
    ctx->nsteps = 0;
    ctx->max_slots = 0;

    if (has_steps) {
        block(ctx, node, true);
        pvc_emit(ctx, node, PROVOST_OP_RET, 0, 0, 0, 0, 0);
    } else if (ctx->is_request) {
        pvc_warning(ctx, node, "the request's <procedure> has no steps: it does nothing");
        pvc_emit(ctx, node, PROVOST_OP_RET, 0, 0, 0, 0, 0);
    } else {
        ctx->procs.v[idx].flags |= PROVOST_PROC_PROVIDER;
        if (!ctx->has_provider)
            pvc_error(ctx, node, "procedure '%s' has no steps, so the namespace's provider implements it, "
                                 "but <namespace> has no 'providerSource': add providerSource or give it steps",
                      pvc_attr(node, "name") ? pvc_attr(node, "name") : "");
    }

    provost_proc *pp = &ctx->procs.v[idx];
    pp->code = ctx->proc_code;
    pp->ncode = (uint32_t)(ctx->code.n - ctx->proc_code);
    pp->nslots = (uint8_t)ctx->max_slots;
    pp->nselects = (uint16_t)ctx->selects_seen.v.n;
    pp->cases = (uint32_t)ctx->casenames.n;
    if (ctx->cases.v.n > UINT16_MAX)
        pvc_error(ctx, node, "too many distinct case names in one procedure (at most 65535)");
    pp->ncases = (uint16_t)(ctx->cases.v.n > UINT16_MAX ? UINT16_MAX : ctx->cases.v.n);
    for (size_t i = 0; i < pp->ncases; i++) {
        uint32_t s = pvc_str(ctx, (const char *)ctx->cases.v.v[i]);
        *PVC_PUSH(ctx, ctx->casenames) = s;
        pp = &ctx->procs.v[idx];
    }
}
