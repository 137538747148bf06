/*
 * disasm.c -- prints a bundle the way SQLite's EXPLAIN prints a program: for each
 * procedure its attributes, then one instruction per line with every operand decoded
 * (scopes, paths, transforms, calls, selects, cases, jump targets) and the source line
 * it came from.  Operand decoding is driven by the opcode table in bytecode.h; explained,
 * each instruction is followed by its meaning from that table.
 */
#include <string.h>

#include "bundle.h"

static const char *const type_names[] = {"?", "read", "write", "twoPhase"};
static const char *const kind_names[] = {"execute", "queue", "transform"};
static const char *const ifnull_names[] = {"fail", "skip", "ignore"};
static const char *const mode_names[] = {"insert", "merge", "replace", "move"};

/* A string printed on one line: quoted, with control characters escaped, and cut
 * after max bytes. */
static void put_quoted(FILE *out, const char *s, size_t max)
{
    if (!s) {
        fputs("(none)", out);
        return;
    }
    fputc('"', out);
    size_t i = 0;
    for (; s[i] && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
    if (s[i])
        fprintf(out, "...(%zu bytes)", strlen(s));
}

static void put_scope(FILE *out, unsigned r)
{
    static const char *const names[] = {"data", "executeData", "procedureData", "context"};
    if (r < PROVOST_SCOPE_SLOT0)
        fputs(names[r], out);
    else
        fprintf(out, "slot%u", r - PROVOST_SCOPE_SLOT0);
}

static void put_path(const pvm_bundle *b, FILE *out, uint32_t i)
{
    const provost_path *p = &b->paths_v[i];
    if (p->kind == PROVOST_PATH_SELF) {
        fputs("(self)", out);
        return;
    }
    put_quoted(out, pvm_bundle_str(b, p->text), 200);
    fputs(p->kind == PROVOST_PATH_SIMPLE ? (p->flags & PROVOST_PATH_CREATABLE ? "[simple,creatable]" : "[simple]")
                                         : "[xpath]",
          out);
}

static void put_scope_path(const pvm_bundle *b, FILE *out, unsigned scope, uint32_t path)
{
    put_scope(out, scope);
    if (path != PROVOST_NONE && b->paths_v[path].kind != PROVOST_PATH_SELF) {
        fputc('/', out);
        put_path(b, out, path);
    }
}

static void put_call(const pvm_bundle *b, FILE *out, uint32_t i, int queue)
{
    const provost_callref *c = &b->calls_v[i];
    put_quoted(out, pvm_bundle_str(b, c->ns), 200);
    fputc('/', out);
    put_quoted(out, pvm_bundle_str(b, c->proc), 200);
    if (c->impersonate)
        fprintf(out, " impersonate=%u", c->impersonate);
    if (c->sensitive)
        fprintf(out, " sensitive=%u", c->sensitive);
    if (c->trusted)
        fprintf(out, " trusted=%u", c->trusted);
    if (queue)
        fprintf(out, " suspended=%u", c->suspended);
}

static const char *case_name(const pvm_bundle *b, const provost_proc *p, uint32_t k)
{
    return k < p->ncases ? pvm_bundle_str(b, b->cases_v[p->cases + k]) : "?";
}

static void put_operand(const pvm_bundle *b, const provost_proc *p, FILE *out, char kind, uint32_t v,
                        uint8_t op)
{
    switch (kind) {
    case PROVOST_OPK_INT: fprintf(out, " %u", v); break;
    case PROVOST_OPK_SLOT: fprintf(out, " slot%u", v); break;
    case PROVOST_OPK_SCOPE: fputc(' ', out); put_scope(out, v); break;
    case PROVOST_OPK_IFNULL: fprintf(out, " ifNull=%s", ifnull_names[v]); break;
    case PROVOST_OPK_KIND: fprintf(out, " %s", kind_names[v]); break;
    case PROVOST_OPK_PATH: fputc(' ', out); put_path(b, out, v); break;
    case PROVOST_OPK_LIT:
        fputc(' ', out);
        if (v == PROVOST_NONE)
            fputs("(empty)", out);
        else
            put_quoted(out, pvm_bundle_str(b, v), 120);
        break;
    case PROVOST_OPK_XFORM: {
        const provost_xform *x = &b->xforms_v[v];
        fprintf(out, " %s ", x->dir == PROVOST_XFORM_BEFORE ? "before" : "after");
        put_scope_path(b, out, x->source, x->source_path);
        fputs(" -> ", out);
        put_scope_path(b, out, x->destination, x->dest_path);
        fprintf(out, " mode=%s ifNull=%s", mode_names[x->mode], ifnull_names[x->ifnull]);
        if (x->allow_null)
            fputs(" allowNullTransform=1", out);
        if (x->xsl != PROVOST_NONE)
            fprintf(out, " xsl#%u", x->xsl);
        break;
    }
    case PROVOST_OPK_CALL: fputc(' ', out); put_call(b, out, v, op == PROVOST_OP_QUEUE); break;
    case PROVOST_OPK_SEL: {
        const char *name = NULL;
        for (uint32_t pc = 0; pc < p->ncode && !name; pc++) {
            const provost_insn *in = &b->code_v[p->code + pc];
            if (in->op == PROVOST_OP_SELECT && in->p2 == v)
                name = pvm_bundle_str(b, b->selects_v[in->p4].name);
        }
        fprintf(out, " sel%u(%s)", v, name ? name : "?");
        break;
    }
    case PROVOST_OPK_SELD: {
        const provost_select *s = &b->selects_v[v];
        fputs(" = ", out);
        put_scope_path(b, out, s->source, s->path);
        for (uint32_t w = 0; w < s->nwhere; w++) {
            const provost_where *wh = &b->wheres_v[s->first + w];
            fputs(w ? ", " : " where ", out);
            put_quoted(out, pvm_bundle_str(b, wh->value), 80);
            fprintf(out, ":%s", case_name(b, p, wh->kase));
        }
        if (s->def_case != PROVOST_NONE)
            fprintf(out, " default:%s", case_name(b, p, s->def_case));
        if (s->null_case != PROVOST_NONE)
            fprintf(out, " ifNull:%s", case_name(b, p, s->null_case));
        break;
    }
    case PROVOST_OPK_CASE: fprintf(out, " case=%s", case_name(b, p, v)); break;
    case PROVOST_OPK_JUMP: fprintf(out, " ->%u", v); break;
    case PROVOST_OPK_STEP: fprintf(out, " #%u", v); break;
    default: break;
    }
}

/* An indented "label value" line, for the optional strings of a namespace or procedure. */
static void put_field(const pvm_bundle *b, FILE *out, const char *label, uint32_t str, size_t max)
{
    if (str == PROVOST_NONE)
        return;
    fprintf(out, "  %s ", label);
    put_quoted(out, pvm_bundle_str(b, str), max);
    fputc('\n', out);
}

static void put_flags(FILE *out, uint8_t f)
{
    if (f & PROVOST_PROC_AUDIT)
        fputs(" auditEnabled", out);
    if (f & PROVOST_PROC_PERF)
        fputs(" perfEnabled", out);
    if (f & PROVOST_PROC_SAVEDATA)
        fputs(" saveDataForRollback", out);
}

/* An opcode's meaning under its instruction: comment lines wrapped to fit 100 columns. */
static void put_meaning(FILE *out, const char *s)
{
    const int indent = 16, width = 100;
    while (*s) {
        size_t n = strlen(s), cut = n;
        if (n > (size_t)(width - indent - 2)) {
            cut = (size_t)(width - indent - 2);
            while (cut && s[cut] != ' ')
                cut--;
            if (!cut) /* one word longer than the line */
                cut = strcspn(s, " ");
        }
        fprintf(out, "%*s; %.*s\n", indent, "", (int)cut, s);
        s += cut;
        while (*s == ' ')
            s++;
    }
}

static void disasm(const pvm_bundle *b, FILE *out, int explain)
{
    const provost_nsinfo *ns = b->ns;
    if (ns->kind == PROVOST_BUNDLE_REQUEST) {
        fputs("request\n", out);
    } else {
        fputs("namespace ", out);
        put_quoted(out, pvm_bundle_str(b, ns->name), 200);
        if (ns->version != PROVOST_NONE) {
            fputs(" version=", out);
            put_quoted(out, pvm_bundle_str(b, ns->version), 80);
        }
        if (ns->provider != PROVOST_NONE) {
            fputs(" providerSource=", out);
            put_quoted(out, pvm_bundle_str(b, ns->provider), 200);
        }
        if (ns->read_only)
            fputs(" readOnly", out);
        fputc('\n', out);
        put_field(b, out, "description", ns->description, 200);
        put_field(b, out, "providerContext", ns->provider_context, 200);
    }
    for (size_t i = 0; i < b->nprocs; i++) {
        const provost_proc *p = &b->procs_v[i];
        fputs("\nprocedure ", out);
        if (p->name != PROVOST_NONE)
            put_quoted(out, pvm_bundle_str(b, p->name), 200);
        else
            fputs("(request)", out);
        if (ns->kind == PROVOST_BUNDLE_NAMESPACE)
            fprintf(out, " type=%s access=%s", type_names[p->type],
                    p->access == PROVOST_ACCESS_PUBLIC ? "public" : "private");
        put_flags(out, p->flags);
        if (p->flags & PROVOST_PROC_PROVIDER)
            fputs(" provider", out);
        fprintf(out, " ; line %u\n", p->line);
        put_field(b, out, "description", p->description, 200);
        put_field(b, out, "procedureData", p->procdata, 200);
        put_field(b, out, "inputSchema", p->input_schema, 120);
        put_field(b, out, "outputSchema", p->output_schema, 120);
        for (uint32_t pc = 0; pc < p->ncode; pc++) {
            const provost_insn *in = &b->code_v[p->code + pc];
            fprintf(out, "  %4u  %-9s", pc, provost_op_name(in->op));
            const char *k = provost_op_kinds(in->op);
            put_operand(b, p, out, k[0], in->p1, in->op);
            put_operand(b, p, out, k[1], in->p2, in->op);
            put_operand(b, p, out, k[2], in->p3, in->op);
            put_operand(b, p, out, k[3], in->p4, in->op);
            put_operand(b, p, out, k[4], in->p5, in->op);
            fprintf(out, " ; line %u\n", in->line);
            if (explain)
                put_meaning(out, provost_op_meaning(in->op));
        }
    }
    if (b->nxsls) {
        fputs("\nstylesheets\n", out);
        for (size_t i = 0; i < b->nxsls; i++) {
            fprintf(out, "  xsl#%zu ", i);
            put_quoted(out, pvm_bundle_str(b, b->xsls_v[i].text), 4000);
            fprintf(out, " ; line %u\n", b->xsls_v[i].line);
        }
    }
}

void pvm_disasm(const pvm_bundle *b, FILE *out)
{
    disasm(b, out, 0);
}

void pvm_disasm_explained(const pvm_bundle *b, FILE *out)
{
    disasm(b, out, 1);
}

int provost_disasm_bundle(const void *buf, size_t len, int explain, FILE *out, char *err, size_t errlen)
{
    pvm_bundle *b = pvm_bundle_load(buf, len, 0, err, errlen);
    if (!b)
        return -1;
    disasm(b, out, explain);
    pvm_bundle_close(b);
    return 0;
}
