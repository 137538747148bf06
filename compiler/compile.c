/*
 * compile.c -- the compiler's entry: parse, check the root (a namespace, or a request
 * with an inline procedure), compile every procedure, and write the bundle when no
 * error was found.  Diagnostics are collected, not stopped at: an operator fixes a
 * whole file in one pass.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "internal.h"
#include "provost/verify.h"

const char *provost_compiler_version(void)
{
    return "provost " PROVOST_VERSION;
}

void provost_strip_mpf(xmlNodePtr node)
{
    pvc_strip_mpf(node);
}

static void init_once(void)
{
    provost_xml_init();
    pvc_xsl_init();
}

void provost_compiler_init(void)
{
    /* the engine's threads may compile request procedures at once */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_once);
}

static void namespace_compile(pvc_ctx *ctx, xmlNodePtr root)
{
    static const char *const attrs[] = {"name", "providerSource", "description", "readOnly", "version", NULL};
    pvc_check_attrs(ctx, root, attrs);
    pvc_check_content(ctx, root);
    const char *name = pvc_require(ctx, root, "name");
    if (name)
        pvc_check_name(ctx, root, "name", "namespace");
    const char *provider = pvc_attr(root, "providerSource");
    if (provider && !*provider)
        pvc_attr_error(ctx, root, "providerSource", "providerSource is empty: name a provider, or remove it");
    ctx->nsname = (const xmlChar *)name;
    ctx->has_provider = provider && *provider;
    ctx->ns.kind = PROVOST_BUNDLE_NAMESPACE;
    ctx->ns.name = pvc_str(ctx, name);
    ctx->ns.provider = pvc_str(ctx, provider && *provider ? provider : NULL);
    ctx->ns.description = pvc_str(ctx, pvc_attr(root, "description"));
    ctx->ns.version = pvc_str(ctx, pvc_attr(root, "version"));
    ctx->ns.read_only = (uint8_t)pvc_bool(ctx, root, "readOnly", 0);
    ctx->ns.provider_context = PROVOST_NONE;

    static const char *const allowed[] = {"procedure", "providerContext", NULL};
    for (xmlNodePtr c = pvc_first_child(root); c; c = pvc_next(c)) {
        if (pvc_named(c, "procedure")) {
            xmlNodePtr first = pvc_proc_add(ctx, c);
            if (first) {
                unsigned line, col;
                pvc_node_loc(ctx, first, &line, &col);
                pvc_attr_error(ctx, c, "name", "procedure '%s' is already defined at line %u "
                                               "(names are compared without case): rename one",
                               pvc_attr(c, "name"), line);
            }
        } else if (pvc_named(c, "providerContext")) {
            if (ctx->ns.provider_context != PROVOST_NONE)
                pvc_error(ctx, c, "a namespace has at most one <providerContext>");
            else
                ctx->ns.provider_context = pvc_literal(ctx, c);
        } else {
            pvc_unknown_element(ctx, c, root, allowed);
        }
    }
    if (ctx->procnodes.n == 0)
        pvc_error(ctx, root, "<namespace> has no <procedure>: a namespace needs at least one");
    for (size_t i = 0; i < ctx->procnodes.n; i++)
        pvc_procedure(ctx, ctx->procnodes.v[i]);
}

static void request_compile(pvc_ctx *ctx, xmlNodePtr root)
{
    ctx->is_request = true;
    ctx->ns.kind = PROVOST_BUNDLE_REQUEST;
    ctx->ns.name = ctx->ns.provider = ctx->ns.description = ctx->ns.version = PROVOST_NONE;
    ctx->ns.provider_context = PROVOST_NONE;
    if (root->properties)
        pvc_check_attrs(ctx, root, (const char *const[]){NULL});
    pvc_check_content(ctx, root);
    xmlNodePtr proc = NULL;
    static const char *const allowed[] = {"globalData", "data", "context", "procedure", NULL};
    bool seen_global = false, seen_context = false;
    for (xmlNodePtr c = pvc_first_child(root); c; c = pvc_next(c)) {
        if (pvc_named(c, "procedure")) {
            if (proc)
                pvc_error(ctx, c, "a request has at most one <procedure>");
            else
                proc = c;
        } else if (pvc_named(c, "globalData") || pvc_named(c, "context")) {
            bool *seen = pvc_named(c, "context") ? &seen_context : &seen_global;
            if (*seen)
                pvc_error(ctx, c, "a request has at most one <%s>", (const char *)c->name);
            *seen = true;
        } else if (!pvc_named(c, "data")) {
            pvc_unknown_element(ctx, c, root, allowed);
        }
    }
    if (!proc) {
        pvc_error(ctx, root, "the request has no <procedure> to compile: a simple request names its "
                             "procedure when it is called (provost call NAMESPACE PROCEDURE)");
        return;
    }
    pvc_procedure(ctx, proc);
}

/* The code written must pass the loader's structural check: a failure here is a fault
 * of the compiler, reported as such rather than left for the loader to refuse. */
static void verify_code(pvc_ctx *ctx)
{
    for (size_t i = 0; i < ctx->procs.n; i++) {
        const provost_proc *p = &ctx->procs.v[i];
        uint32_t at;
        const char *why;
        if (p->ncode && provost_verify_code(ctx->code.v + p->code, p->ncode, &at, &why) != 0)
            pvc_diag_at(ctx, PROVOST_ERROR, ctx->code.v[p->code + at].line ? ctx->code.v[p->code + at].line : p->line,
                        1, "internal error: the code compiled for this procedure fails verification "
                           "(instruction %u, %s, %s)", at, provost_op_name(ctx->code.v[p->code + at].op), why);
    }
}

static int by_position(const void *a, const void *b)
{
    const provost_diag *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    if (x->severity != y->severity)
        return x->severity > y->severity ? -1 : 1;
    return strcmp(x->message, y->message);
}

pvc_ctx *pvc_ctx_new(const char *filename, const char *src, size_t len)
{
    pvc_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx) {
        ctx->filename = filename;
        ctx->src = src;
        ctx->srclen = len;
    }
    return ctx;
}

void pvc_ctx_free(pvc_ctx *ctx)
{
    if (ctx->doc)
        xmlFreeDoc(ctx->doc);
    for (size_t i = 0; i < ctx->diags.n; i++)
        free(ctx->diags.v[i].message);
    free(ctx->diags.v);
    free(ctx->decoded);
    free(ctx->lines.v);
    free(ctx->locs.v);
    free(ctx->strings.v);
    free(ctx->strhash.v);
    free(ctx->paths.v);
    free(ctx->pathhash.v);
    free(ctx->psteps.v);
    free(ctx->xsls.v);
    free(ctx->xforms.v);
    free(ctx->calls.v);
    free(ctx->selects.v);
    free(ctx->wheres.v);
    free(ctx->casenames.v);
    free(ctx->procs.v);
    free(ctx->code.v);
    free(ctx->procnodes.v);
    free(ctx->procindex.v);
    free(ctx->selects_seen.v.v);
    free(ctx->cases.v.v);
    free(ctx);
}

int provost_compile(const char *filename, const char *buf, size_t len, provost_compiled *out)
{
    memset(out, 0, sizeof *out);
    provost_compiler_init();
    pvc_ctx *ctx = pvc_ctx_new(filename, buf, len);
    if (!ctx)
        return -1;
    if (setjmp(ctx->oom)) {
        xmlSetStructuredErrorFunc(NULL, NULL);
        pvc_ctx_free(ctx);
        out->nerrors = 1;
        return -1;
    }
    ctx->doc = pvc_parse(ctx);
    xmlNodePtr root = ctx->doc ? xmlDocGetRootElement(ctx->doc) : NULL;
    if (ctx->doc && !root) {
        pvc_diag_at(ctx, PROVOST_ERROR, 1, 1, "the document has no root element");
    } else if (root) {
        if (pvc_named(root, "namespace"))
            namespace_compile(ctx, root);
        else if (pvc_named(root, "request"))
            request_compile(ctx, root);
        else if (pvc_is_lang(root))
            pvc_error(ctx, root, "the root element is <%s>: expected <namespace> (a namespace file) or "
                                 "<request> (a trusted request)", (const char *)root->name);
        else
            pvc_error(ctx, root, "the root element <%s> is in namespace '%s': expected <namespace> or "
                                 "<request>, unqualified or in " PVC_MPF_URI,
                      (const char *)root->name, (const char *)root->ns->href);
    }
    if (ctx->nerrors == 0 && root)
        verify_code(ctx);
    if (ctx->nerrors == 0 && root) {
        ctx->ns.source = pvc_strn(ctx, buf, len);
        out->bundle = pvc_bundle(ctx, &out->size);
    }
    if (ctx->diags.n > 1)
        qsort(ctx->diags.v, ctx->diags.n, sizeof *ctx->diags.v, by_position);
    out->diags = ctx->diags.v;
    out->ndiags = ctx->diags.n;
    out->nerrors = ctx->nerrors;
    out->nwarnings = ctx->nwarnings;
    ctx->diags.v = NULL;
    ctx->diags.n = 0;
    pvc_ctx_free(ctx);
    return out->bundle ? 0 : -1;
}

void provost_compiled_free(provost_compiled *c)
{
    for (size_t i = 0; i < c->ndiags; i++)
        free(c->diags[i].message);
    free(c->diags);
    free(c->bundle);
    memset(c, 0, sizeof *c);
}
