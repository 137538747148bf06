/*
 * scope.c -- scopes and paths.  A scope reference names data, executeData,
 * procedureData, context or the current node of a forEach.  Simple paths (decoded by
 * the compiler) are walked here directly on the DOM; everything else goes to libxml2's
 * XPath with the expression compiled once per engine.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/xpathInternals.h>

#include "util/vec.h"
#include "vm.h"

static xmlNodePtr procdata(pvm_frame *f)
{
    if (!f->procdata_doc) {
        xmlDocPtr lit = f->proc->procdata != PROVOST_NONE ? pvm_literal_doc(f->ns, f->proc->procdata) : NULL;
        f->procdata_doc = lit ? xmlCopyDoc(lit, 1) : xmlNewDoc(BAD_CAST "1.0");
        if (!f->procdata_doc)
            return NULL;
        if (!xmlDocGetRootElement(f->procdata_doc)) {
            xmlNodePtr root = xmlNewDocNode(f->procdata_doc, NULL, BAD_CAST "procedureData", NULL);
            if (!root)
                return NULL;
            xmlDocSetRootElement(f->procdata_doc, root);
        }
    }
    return xmlDocGetRootElement(f->procdata_doc);
}

xmlNodePtr pvm_scope(pvm_frame *f, unsigned ref)
{
    switch (ref) {
    case PROVOST_SCOPE_DATA: return f->data;
    case PROVOST_SCOPE_EXECDATA: return f->exec;
    case PROVOST_SCOPE_PROCDATA: return procdata(f);
    case PROVOST_SCOPE_CONTEXT: return f->req->context;
    default: {
        const pvm_loop *l = &f->loops[ref - PROVOST_SCOPE_SLOT0];
        return l->unbound || l->i >= l->n ? NULL : l->nodes[l->i];
    }
    }
}

static int push(xmlNodePtr n, xmlNodePtr **out, size_t *len, size_t *cap)
{
    if (PU_GROW(*out, *cap, *len + 1) != 0)
        return -1;
    (*out)[(*len)++] = n;
    return 0;
}

static bool named(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && n->ns == NULL && strcmp((const char *)n->name, name) == 0;
}

/* Depth-first over child steps: matches come out in document order. */
static int walk(const pvm_bundle *b, const provost_pstep *s, size_t left, xmlNodePtr node,
                xmlNodePtr **out, size_t *n, size_t *cap)
{
    if (left == 0)
        return push(node, out, n, cap);
    const char *name = pvm_bundle_str(b, s->name);
    if (s->kind == PROVOST_PSTEP_ATTR) {
        xmlAttrPtr a = node->type == XML_ELEMENT_NODE ? xmlHasNsProp(node, BAD_CAST name, NULL) : NULL;
        return a ? push((xmlNodePtr)a, out, n, cap) : 0;
    }
    for (xmlNodePtr c = node->children; c; c = c->next) {
        if (!named(c, name))
            continue;
        if (s->kind == PROVOST_PSTEP_CHILDEQ) {
            xmlChar *v = xmlGetNoNsProp(c, BAD_CAST pvm_bundle_str(b, s->attr));
            bool eq = v && strcmp((const char *)v, pvm_bundle_str(b, s->value)) == 0;
            xmlFree(v);
            if (!eq)
                continue;
        }
        if (walk(b, s + 1, left - 1, c, out, n, cap) != 0)
            return -1;
    }
    return 0;
}

static xmlXPathObjectPtr xpath_eval(pvm_frame *f, uint32_t path, xmlNodePtr node)
{
    pvm_req *r = f->req;
    const provost_path *p = &f->b->paths_v[path];
    if (!r->xp) {
        r->xp = xmlXPathNewContext(node->doc);
        if (!r->xp)
            return NULL;
    }
    xmlXPathContextPtr xp = r->xp;
    xp->doc = node->doc;
    xp->node = node;
    xmlXPathRegisteredNsCleanup(xp);
    const char *decl = pvm_bundle_str(f->b, p->nsdecl);
    if (decl) {
        char *copy = strdup(decl), *save = NULL;
        for (char *pre = copy ? strtok_r(copy, " ", &save) : NULL; pre; pre = strtok_r(NULL, " ", &save)) {
            char *uri = strtok_r(NULL, " ", &save);
            if (uri)
                xmlXPathRegisterNs(xp, BAD_CAST pre, BAD_CAST uri);
        }
        free(copy);
    }
    return xmlXPathCompiledEval(f->ns->xpath[path], xp);
}

int pvm_select(pvm_frame *f, uint32_t path, xmlNodePtr node, xmlNodePtr **out, size_t *n, size_t *cap)
{
    if (!node)
        return 0;
    const provost_path *p = &f->b->paths_v[path];
    if (p->kind == PROVOST_PATH_SELF)
        return push(node, out, n, cap) == 0 ? 0 : pvm_fail(f->req, PROVOST_E_OUTOFMEMORY, "out of memory");
    if (p->kind == PROVOST_PATH_SIMPLE) {
        if (walk(f->b, &f->b->psteps_v[p->first], p->nsteps, node, out, n, cap) != 0)
            return pvm_fail(f->req, PROVOST_E_OUTOFMEMORY, "out of memory");
        return 0;
    }
    xmlXPathObjectPtr res = xpath_eval(f, path, node);
    if (!res)
        return pvm_fail(f->req, PROVOST_E_INVALIDARG, "XPath \"%s\" could not be evaluated",
                        pvm_bundle_str(f->b, p->text));
    int rc = 0;
    if (res->type != XPATH_NODESET) {
        rc = pvm_fail(f->req, PROVOST_E_INVALIDARG, "XPath \"%s\" does not select nodes",
                      pvm_bundle_str(f->b, p->text));
    } else if (res->nodesetval) {
        for (int i = 0; i < res->nodesetval->nodeNr && rc == 0; i++) {
            xmlNodePtr m = res->nodesetval->nodeTab[i];
            if (m->type == XML_NAMESPACE_DECL)
                continue; /* namespace nodes are not tree nodes */
            if (push(m, out, n, cap) != 0)
                rc = pvm_fail(f->req, PROVOST_E_OUTOFMEMORY, "out of memory");
        }
    }
    xmlXPathFreeObject(res);
    return rc;
}

int pvm_path_bool(pvm_frame *f, uint32_t path, xmlNodePtr node, bool *out)
{
    *out = false;
    if (!node)
        return 0;
    const provost_path *p = &f->b->paths_v[path];
    if (p->kind != PROVOST_PATH_XPATH) {
        xmlNodePtr *v = NULL;
        size_t n = 0, cap = 0;
        int rc = pvm_select(f, path, node, &v, &n, &cap);
        free(v);
        *out = n > 0;
        return rc;
    }
    xmlXPathObjectPtr res = xpath_eval(f, path, node);
    if (!res)
        return pvm_fail(f->req, PROVOST_E_INVALIDARG, "XPath \"%s\" could not be evaluated",
                        pvm_bundle_str(f->b, p->text));
    *out = xmlXPathCastToBoolean(res) != 0;
    xmlXPathFreeObject(res);
    return 0;
}

int pvm_path_value(pvm_frame *f, uint32_t path, xmlNodePtr node, char **out)
{
    *out = NULL;
    if (!node)
        return 0;
    const provost_path *p = &f->b->paths_v[path];
    if (p->kind != PROVOST_PATH_XPATH) {
        xmlNodePtr *v = NULL;
        size_t n = 0, cap = 0;
        int rc = pvm_select(f, path, node, &v, &n, &cap);
        if (rc == 0 && n > 0) {
            xmlChar *s = xmlNodeGetContent(v[0]);
            *out = strdup(s ? (const char *)s : "");
            xmlFree(s);
            if (!*out)
                rc = pvm_fail(f->req, PROVOST_E_OUTOFMEMORY, "out of memory");
        }
        free(v);
        return rc;
    }
    xmlXPathObjectPtr res = xpath_eval(f, path, node);
    if (!res)
        return pvm_fail(f->req, PROVOST_E_INVALIDARG, "XPath \"%s\" could not be evaluated",
                        pvm_bundle_str(f->b, p->text));
    if (res->type == XPATH_NODESET && (!res->nodesetval || res->nodesetval->nodeNr == 0)) {
        xmlXPathFreeObject(res);
        return 0; /* nothing selected */
    }
    xmlChar *s = xmlXPathCastToString(res);
    xmlXPathFreeObject(res);
    *out = strdup(s ? (const char *)s : "");
    xmlFree(s);
    return *out ? 0 : pvm_fail(f->req, PROVOST_E_OUTOFMEMORY, "out of memory");
}
