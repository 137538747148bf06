/*
 * catalog.c -- namespaces as the VM runs them.  Preparing a namespace compiles what its
 * bundle holds once for the engine (stylesheets, XPath, literal fragments, its provider);
 * a catalog is an immutable, linked view of all of them: every call of every namespace
 * resolved to a procedure, so nothing is looked up by name while a request runs.
 * Re-registering builds a new catalog and swaps it in; running requests keep theirs.
 */
#define _GNU_SOURCE /* qsort_r */
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpathInternals.h>
#include <libxslt/xsltutils.h>

#include "provost/compiler.h"
#include "util/str.h"
#include "util/vec.h"
#include "util/xmlerr.h"
#include "counters.h"
#include "vm.h"

static int by_off(const void *a, const void *b)
{
    uint32_t x = ((const pvm_literal *)a)->off, y = ((const pvm_literal *)b)->off;
    return x < y ? -1 : x > y;
}

static const char *proc_name(const pvm_bundle *b, uint32_t i)
{
    const char *n = pvm_bundle_str(b, b->procs_v[i].name);
    return n ? n : "";
}

static int by_proc_name(const void *a, const void *b, void *bundle)
{
    return pu_stricmp(proc_name(bundle, *(const uint32_t *)a), proc_name(bundle, *(const uint32_t *)b));
}

static void ns_free(pvm_ns *ns)
{
    if (!ns)
        return;
    const pvm_bundle *b = ns->bundle;
    pvm_xslpool_free(ns->xslpool);
    if (ns->xsl)
        for (size_t i = 0; i < b->nxsls; i++)
            if (ns->xsl[i])
                xsltFreeStylesheet(ns->xsl[i]);
    if (ns->xpath)
        for (size_t i = 0; i < b->npaths; i++)
            if (ns->xpath[i])
                xmlXPathFreeCompExpr(ns->xpath[i]);
    for (size_t i = 0; i < ns->nlits; i++)
        xmlFreeDoc(ns->lits[i].doc);
    free(ns->lits);
    free(ns->by_name);
    if (ns->schemas)
        for (size_t i = 0; i < 2 * b->nprocs; i++)
            if (ns->schemas[i])
                xmlSchemaFree(ns->schemas[i]);
    free(ns->schemas);
    free(ns->xsl);
    free(ns->xpath);
    free(ns->name);
    pvm_bundle_close(ns->bundle);
    free(ns);
}

void pvm_ns_put(pvm_ns *ns)
{
    if (ns && atomic_fetch_sub(&ns->refs, 1) == 1)
        ns_free(ns);
}

static int add_literal(pvm_ns *ns, size_t *cap, uint32_t off)
{
    if (off == PROVOST_NONE)
        return 0;
    if (PU_GROW(ns->lits, *cap, ns->nlits + 1) != 0)
        return -1;
    ns->lits[ns->nlits++] = (pvm_literal){.off = off};
    return 0;
}

/* The XSD inside a stored <Schema>, compiled; NULL when it holds none (the compiler
 * checked it: anything else was stored with a warning). */
static xmlSchemaPtr xsd_of(const char *text)
{
    provost_xml_error pe; /* a bundle's documents are read as every other: no DTD */
    xmlDocPtr doc = provost_xml_read(text, strlen(text), "Schema", NULL, 0, &pe);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL, xs = NULL;
    for (xmlNodePtr c = root ? root->children : NULL; c && !xs; c = c->next)
        if (c->type == XML_ELEMENT_NODE && c->ns && xmlStrEqual(c->ns->href, BAD_CAST "http://www.w3.org/2001/XMLSchema"))
            xs = c;
    xmlSchemaPtr schema = NULL;
    if (xs) {
        xmlDocPtr sd = xmlNewDoc(BAD_CAST "1.0");
        xmlNodePtr copy = sd ? xmlDocCopyNode(xs, sd, 1) : NULL;
        if (copy) {
            xmlDocSetRootElement(sd, copy);
            xmlSchemaParserCtxtPtr pc = xmlSchemaNewDocParserCtxt(sd);
            if (pc) {
                xmlSchemaSetParserStructuredErrors(pc, pu_xmlerr_drop, NULL);
                schema = xmlSchemaParse(pc);
                xmlSchemaFreeParserCtxt(pc);
            }
        }
        xmlFreeDoc(sd);
    }
    xmlFreeDoc(doc);
    return schema;
}

pvm_ns *pvm_ns_prepare(provost_engine *e, pvm_bundle *b, char *err, size_t errlen)
{
    pvm_ns *ns = calloc(1, sizeof *ns);
    if (!ns) {
        pvm_bundle_close(b);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    atomic_init(&ns->refs, 1);
    ns->bundle = b;
    const char *name = pvm_bundle_str(b, b->ns->name);
    if (name && !(ns->name = strdup(name)))
        goto oom;
    ns->by_name = malloc((b->nprocs ? b->nprocs : 1) * sizeof *ns->by_name);
    if (!ns->by_name)
        goto oom;
    for (uint32_t i = 0; i < b->nprocs; i++)
        ns->by_name[i] = i;
    qsort_r(ns->by_name, b->nprocs, sizeof *ns->by_name, by_proc_name, (void *)b);
    ns->xsl = calloc(b->nxsls ? b->nxsls : 1, sizeof *ns->xsl);
    ns->xpath = calloc(b->npaths ? b->npaths : 1, sizeof *ns->xpath);
    ns->xslpool = pvm_xslpool_new(b->nxsls);
    if (!ns->xsl || !ns->xpath || !ns->xslpool)
        goto oom;

    for (size_t i = 0; i < b->nxsls; i++) {
        const char *text = pvm_bundle_str(b, b->xsls_v[i].text);
        provost_xml_error pe;
        xmlDocPtr doc = provost_xml_read(text, strlen(text), "stylesheet", NULL, 0, &pe);
        ns->xsl[i] = doc ? xsltParseStylesheetDoc(doc) : NULL;
        if (!ns->xsl[i]) {
            if (doc)
                xmlFreeDoc(doc);
            snprintf(err, errlen, "stylesheet #%zu (line %u) does not compile here: recompile the namespace",
                     i, b->xsls_v[i].line);
            ns_free(ns);
            return NULL;
        }
    }
    for (size_t i = 0; i < b->npaths; i++) {
        if (b->paths_v[i].kind != PROVOST_PATH_XPATH)
            continue;
        ns->xpath[i] = xmlXPathCompile(BAD_CAST pvm_bundle_str(b, b->paths_v[i].text));
        if (!ns->xpath[i]) {
            snprintf(err, errlen, "XPath \"%s\" does not compile here: recompile the namespace",
                     pvm_bundle_str(b, b->paths_v[i].text));
            ns_free(ns);
            return NULL;
        }
    }

    size_t cap = 0;
    if (add_literal(ns, &cap, b->ns->provider_context))
        goto oom;
    for (size_t p = 0; p < b->nprocs; p++) {
        const provost_proc *pr = &b->procs_v[p];
        if (add_literal(ns, &cap, pr->procdata))
            goto oom;
        for (uint32_t pc = 0; pc < pr->ncode; pc++) {
            const provost_insn *in = &b->code_v[pr->code + pc];
            if (in->op == PROVOST_OP_EXECDATA && add_literal(ns, &cap, in->p4))
                goto oom;
        }
    }
    if (ns->nlits)
        qsort(ns->lits, ns->nlits, sizeof *ns->lits, by_off);
    size_t k = 0;
    for (size_t i = 0; i < ns->nlits; i++)
        if (k == 0 || ns->lits[k - 1].off != ns->lits[i].off)
            ns->lits[k++] = ns->lits[i];
    ns->nlits = k;
    for (size_t i = 0; i < ns->nlits; i++) {
        const char *text = pvm_bundle_str(b, ns->lits[i].off);
        provost_xml_error pe;
        ns->lits[i].doc = provost_xml_read(text, strlen(text), "literal", NULL, 0, &pe);
        if (!ns->lits[i].doc) {
            snprintf(err, errlen, "a literal of the bundle does not parse: recompile the namespace");
            ns_free(ns);
            return NULL;
        }
    }

    ns->schemas = calloc(2 * (b->nprocs ? b->nprocs : 1), sizeof *ns->schemas);
    if (!ns->schemas)
        goto oom;
    for (size_t p = 0; p < b->nprocs; p++) {
        uint32_t lit[2] = {b->procs_v[p].input_schema, b->procs_v[p].output_schema};
        for (int which = 0; which < 2; which++)
            if (lit[which] != PROVOST_NONE)
                ns->schemas[2 * p + which] = xsd_of(pvm_bundle_str(b, lit[which]));
    }

    const char *provider = pvm_bundle_str(b, b->ns->provider);
    if (provider)
        ns->provider = pvm_provider_get(e, provider);
    /* a request's own procedure has no name to count under (and a stream of distinct
     * requests must not grow the counters) */
    ns->counter_base = b->ns->kind == PROVOST_BUNDLE_REQUEST ? PROVOST_NONE
                                                             : pvm_counters_reserve(e->counters, ns->name, b);
    return ns;
oom:
    snprintf(err, errlen, "out of memory");
    ns_free(ns);
    return NULL;
}



uint32_t pvm_find_proc(const pvm_ns *ns, const char *name)
{
    const pvm_bundle *b = ns->bundle;
    size_t lo = 0, hi = b->nprocs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = pu_stricmp(proc_name(b, ns->by_name[mid]), name);
        if (cmp == 0)
            return ns->by_name[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return PROVOST_NONE;
}

pvm_ns *pvm_catalog_find(pvm_catalog *c, const char *name, size_t *index)
{
    size_t lo = 0, hi = c->nns;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = pu_stricmp(c->ns[mid]->name, name);
        if (cmp == 0) {
            if (index)
                *index = mid;
            return c->ns[mid];
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void pvm_link(pvm_catalog *cat, const pvm_ns *ns, pvm_target *links)
{
    const pvm_bundle *b = ns->bundle;
    for (size_t i = 0; i < b->ncalls; i++) {
        const provost_callref *call = &b->calls_v[i];
        size_t at = 0;
        pvm_ns *t = pvm_catalog_find(cat, pvm_bundle_str(b, call->ns), &at);
        uint32_t p = t ? pvm_find_proc(t, pvm_bundle_str(b, call->proc)) : PROVOST_NONE;
        links[i] = (pvm_target){.ns = p == PROVOST_NONE ? NULL : t, .proc = p,
                                .links = p == PROVOST_NONE ? NULL : cat->links[at]};
    }
}

pvm_catalog *pvm_catalog_get(provost_engine *e)
{
    pthread_mutex_lock(&e->catalog_lock);
    pvm_catalog *c = e->catalog;
    atomic_fetch_add(&c->refs, 1);
    pthread_mutex_unlock(&e->catalog_lock);
    return c;
}

void pvm_catalog_put(pvm_catalog *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (size_t i = 0; i < c->nns; i++) {
        free(c->links[i]);
        pvm_ns_put(c->ns[i]);
    }
    free(c->links);
    free(c->ns);
    free(c);
}

static int by_name(const void *a, const void *b)
{
    return pu_stricmp((*(pvm_ns *const *)a)->name, (*(pvm_ns *const *)b)->name);
}

pvm_catalog *pvm_catalog_build(pvm_ns **ns, size_t n)
{
    pvm_catalog *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    atomic_init(&c->refs, 1);
    c->ns = calloc(n ? n : 1, sizeof *c->ns);
    c->links = calloc(n ? n : 1, sizeof *c->links);
    if (!c->ns || !c->links) {
        free(c->ns);
        free(c->links);
        free(c);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        c->ns[i] = ns[i];
        atomic_fetch_add(&ns[i]->refs, 1);
    }
    c->nns = n;
    if (n)
        qsort(c->ns, n, sizeof *c->ns, by_name);
    for (size_t i = 0; i < n; i++) {
        size_t nc = c->ns[i]->bundle->ncalls;
        c->links[i] = calloc(nc ? nc : 1, sizeof **c->links);
        if (!c->links[i]) {
            pvm_catalog_put(c);
            return NULL;
        }
    }
    for (size_t i = 0; i < n; i++) /* every link array exists before any is filled */
        pvm_link(c, c->ns[i], c->links[i]);
    return c;
}
