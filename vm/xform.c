/*
 * xform.c -- before/after transforms (SPEC §5): select the source nodes, transform each
 * (with the precompiled stylesheet, or not at all: plain copies and moves never touch
 * XSLT), check for a null result, find or create the destination, apply the mode.
 *
 * Nodes a transform removes (replace, merge) are not freed at once: they go to the
 * request's graveyard, because a forEach snapshot may still point at them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxslt/security.h>
#include <libxslt/transform.h>
#include <libxslt/xsltutils.h>

#include "util/vec.h"
#include "util/xmlerr.h"
#include "vm.h"

static const char *const dir_name[] = {"before", "after"};

static void bury(pvm_req *r, xmlNodePtr n)
{
    xmlUnlinkNode(n);
    /* executeData's and procedureData's documents are freed before the graveyard is:
     * a buried node must not point at them when it is freed */
    if (n->doc != r->doc)
        xmlSetTreeDoc(n, r->doc);
    if (PU_GROW(r->grave, r->capgrave, r->ngrave + 1) != 0)
        return; /* cannot keep it: leaking it is safe, freeing it may not be */
    r->grave[r->ngrave++] = n;
}

/* An unqualified element under a default-namespaced parent must say xmlns="". */
static void keep_no_namespace(xmlNodePtr parent, xmlNodePtr n)
{
    if (n->type != XML_ELEMENT_NODE || n->ns)
        return;
    xmlNsPtr def = xmlSearchNs(parent->doc, parent, NULL);
    if (def && def->href && def->href[0])
        xmlNewNs(n, BAD_CAST "", NULL);
}

static int append_copy(pvm_req *r, xmlNodePtr target, xmlNodePtr src)
{
    if (src->type == XML_ATTRIBUTE_NODE) {
        xmlChar *v = xmlNodeGetContent(src);
        xmlAttrPtr a = xmlSetProp(target, src->name, v ? v : BAD_CAST "");
        xmlFree(v);
        return a ? 0 : pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    xmlNodePtr c = xmlDocCopyNode(src, target->doc, 1);
    xmlNodePtr added = c ? xmlAddChild(target, c) : NULL; /* text may merge: use what it returns */
    if (!added) {
        xmlFreeNode(c);
        return pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    keep_no_namespace(target, added);
    return 0;
}

static bool blank(const xmlChar *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* The k-th child element of parent named like c (same name and namespace), or NULL. */
static xmlNodePtr kth_named(xmlNodePtr parent, xmlNodePtr c, size_t k)
{
    for (xmlNodePtr t = parent->children; t; t = t->next) {
        if (t->type != XML_ELEMENT_NODE || !xmlStrEqual(t->name, c->name))
            continue;
        const xmlChar *a = t->ns ? t->ns->href : NULL, *b = c->ns ? c->ns->href : NULL;
        if (!xmlStrEqual(a, b))
            continue;
        if (k-- == 0)
            return t;
    }
    return NULL;
}

/* merge: attributes overwrite, the k-th child named N replaces the target's k-th child
 * named N (or is appended), direct text replaces direct text.  Idempotent. */
static int merge_one(pvm_req *r, xmlNodePtr target, xmlNodePtr src)
{
    if (src->type == XML_ATTRIBUTE_NODE)
        return append_copy(r, target, src);
    if (src->type == XML_TEXT_NODE || src->type == XML_CDATA_SECTION_NODE) {
        if (blank(src->content))
            return 0;
        for (xmlNodePtr t = target->children, next; t; t = next) {
            next = t->next;
            if (t->type == XML_TEXT_NODE || t->type == XML_CDATA_SECTION_NODE)
                bury(r, t);
        }
        xmlNodePtr tx = xmlNewDocText(target->doc, src->content);
        return tx && xmlAddChild(target, tx) ? 0 : pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    if (src->type != XML_ELEMENT_NODE)
        return append_copy(r, target, src); /* comments, processing instructions */
    xmlNodePtr rc = xmlDocCopyNode(src, target->doc, 1);
    if (!rc)
        return pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
    for (xmlAttrPtr a = rc->properties; a; a = a->next) {
        xmlChar *v = xmlNodeGetContent((xmlNodePtr)a);
        if (a->ns)
            xmlSetNsProp(target, xmlSearchNsByHref(target->doc, target, a->ns->href)
                                     ? xmlSearchNsByHref(target->doc, target, a->ns->href)
                                     : xmlNewNs(target, a->ns->href, a->ns->prefix),
                         a->name, v);
        else
            xmlSetProp(target, a->name, v);
        xmlFree(v);
    }
    /* k = how many children of the same name came before c in the record; computed
     * before anything is moved out of it */
    size_t nkids = 0;
    for (xmlNodePtr c = rc->children; c; c = c->next)
        nkids++;
    xmlNodePtr *kids = malloc((nkids ? nkids : 1) * sizeof *kids);
    size_t *ks = malloc((nkids ? nkids : 1) * sizeof *ks);
    if (!kids || !ks) {
        free(kids);
        free(ks);
        xmlFreeNode(rc);
        return pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
    }
    nkids = 0;
    xmlNodePtr text = NULL;
    for (xmlNodePtr c = rc->children; c; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && !blank(c->content))
            text = c;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        size_t k = 0;
        for (size_t i = 0; i < nkids; i++)
            if (xmlStrEqual(kids[i]->name, c->name) &&
                xmlStrEqual(kids[i]->ns ? kids[i]->ns->href : NULL, c->ns ? c->ns->href : NULL))
                k++;
        kids[nkids] = c;
        ks[nkids++] = k;
    }
    for (size_t i = 0; i < nkids; i++) {
        xmlNodePtr c = kids[i], old = kth_named(target, c, ks[i]);
        xmlUnlinkNode(c);
        if (old) {
            xmlAddPrevSibling(old, c);
            bury(r, old);
        } else {
            xmlAddChild(target, c);
        }
        xmlReconciliateNs(target->doc, c); /* before rc, which may declare them, is freed */
        keep_no_namespace(target, c);
    }
    free(kids);
    free(ks);
    if (text) {
        for (xmlNodePtr t = target->children, nx; t; t = nx) {
            nx = t->next;
            if (t->type == XML_TEXT_NODE || t->type == XML_CDATA_SECTION_NODE)
                bury(r, t);
        }
        xmlUnlinkNode(text);
        xmlAddChild(target, text);
    }
    xmlFreeNode(rc);
    return 0;
}

static bool inside(xmlNodePtr n, xmlNodePtr ancestor)
{
    for (; n; n = n->parent)
        if (n == ancestor)
            return true;
    return false;
}

static bool owned_name(xmlNodePtr n)
{
    return n->type == XML_ELEMENT_NODE &&
           (xmlStrEqual(n->name, BAD_CAST "transactionContext") || xmlStrEqual(n->name, BAD_CAST "executeContext") ||
            xmlStrEqual(n->name, BAD_CAST "securityContext"));
}

static bool engine_owned(pvm_req *r, xmlNodePtr n)
{
    for (; n && n != r->context; n = n->parent)
        if (n->parent == r->context && owned_name(n))
            return true;
    return false;
}

/* n is, or holds, a node the engine keeps using as a scope. */
static bool holds_scope(pvm_frame *f, xmlNodePtr n)
{
    pvm_req *r = f->req;
    return inside(f->data, n) || inside(f->exec, n) || inside(r->data, n) || inside(r->context, n) ||
           (f->procdata_doc && inside(xmlDocGetRootElement(f->procdata_doc), n));
}

static xsltSecurityPrefsPtr sec_prefs;
static pthread_once_t sec_once = PTHREAD_ONCE_INIT;

/* Stylesheets of namespaces read no files and reach no network. */
static void sec_init(void)
{
    sec_prefs = xsltNewSecurityPrefs();
    if (!sec_prefs)
        return;
    xsltSetSecurityPrefs(sec_prefs, XSLT_SECPREF_READ_FILE, xsltSecurityForbid);
    xsltSetSecurityPrefs(sec_prefs, XSLT_SECPREF_WRITE_FILE, xsltSecurityForbid);
    xsltSetSecurityPrefs(sec_prefs, XSLT_SECPREF_CREATE_DIRECTORY, xsltSecurityForbid);
    xsltSetSecurityPrefs(sec_prefs, XSLT_SECPREF_READ_NETWORK, xsltSecurityForbid);
    xsltSetSecurityPrefs(sec_prefs, XSLT_SECPREF_WRITE_NETWORK, xsltSecurityForbid);
}

static xsltSecurityPrefsPtr security(void)
{
    pthread_once(&sec_once, sec_init);
    return sec_prefs;
}

/* Transform one node with stylesheet i: the node is the document element of a document
 * of its own (SPEC §5), so match="/" and match="name" both work.  *ctxt is the step's
 * transform context (xslctx.c): taken on its first transform, kept for the step's next
 * nodes, given back by the caller once the results are freed. */
static xmlDocPtr apply_xsl(pvm_frame *f, uint32_t i, xmlNodePtr node, xsltTransformContextPtr *ctxt)
{
    pvm_req *r = f->req;
    xsltStylesheetPtr style = f->ns->xsl[i];
    if (node->type != XML_ELEMENT_NODE) {
        pvm_fail(r, PROVOST_E_XSLT, "XSL can only transform elements, and the source selected a%s node",
                 node->type == XML_ATTRIBUTE_NODE ? "n attribute" : " text or other");
        return NULL;
    }
    xmlDocPtr in = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr copy = in ? xmlDocCopyNode(node, in, 1) : NULL;
    if (!copy) {
        xmlFreeDoc(in);
        pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
        return NULL;
    }
    xmlDocSetRootElement(in, copy);
    xsltTransformContextPtr c = *ctxt;
    if (c && pvm_xslctx_rebind(c, in) != 0) {
        xsltFreeTransformContext(c);
        c = NULL;
    }
    if (!c)
        c = pvm_xslctx_take(f->ns->xslpool, i, style, in);
    *ctxt = c;
    if (!c) {
        xmlFreeDoc(in);
        pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
        return NULL;
    }
    pu_xmlerr e = {0};
    xsltSetTransformErrorFunc(c, &e, pu_xmlerr_generic);
    xsltSecurityPrefsPtr sec = security();
    if (sec)
        xsltSetCtxtSecurityPrefs(sec, c);
    xmlDocPtr out = xsltApplyStylesheetUser(style, in, NULL, NULL, NULL, c);
    bool failed = !out || c->state == XSLT_STATE_ERROR || c->state == XSLT_STATE_STOPPED;
    if (failed) {
        xsltFreeTransformContext(c);
        *ctxt = NULL;
    } else {
        *ctxt = pvm_xslctx_unbind(c); /* before the input it points into is freed */
    }
    xmlFreeDoc(in);
    if (failed) {
        if (out)
            xmlFreeDoc(out);
        pvm_fail(r, PROVOST_E_XSLT, "the stylesheet failed: %s", pu_xmlerr_text(&e, "XSLT error"));
        return NULL;
    }
    return out;
}

static xmlNodePtr create_path(pvm_frame *f, uint32_t path, xmlNodePtr node)
{
    const provost_path *p = &f->b->paths_v[path];
    for (uint16_t i = 0; i < p->nsteps && node; i++) {
        const char *name = pvm_bundle_str(f->b, f->b->psteps_v[p->first + i].name);
        xmlNodePtr c = node->children;
        while (c && !(c->type == XML_ELEMENT_NODE && !c->ns && strcmp((const char *)c->name, name) == 0))
            c = c->next;
        if (!c) {
            c = xmlNewDocNode(node->doc, NULL, BAD_CAST name, NULL);
            if (!c || !xmlAddChild(node, c))
                return NULL;
            keep_no_namespace(node, c);
        }
        node = c;
    }
    return node;
}

pvm_xf_result pvm_xform(pvm_frame *f, const provost_xform *x)
{
    pvm_req *r = f->req;
    const pvm_bundle *b = f->b;
    const char *dir = dir_name[x->dir];
    xmlNodePtr src = pvm_scope(f, x->source);
    xmlNodePtr *sel = NULL, *res = NULL;
    size_t nsel = 0, capsel = 0, nres = 0;
    xmlDocPtr *outs = NULL;
    size_t nouts = 0;
    xsltTransformContextPtr xc = NULL;
    pvm_xf_result rc = PVM_XF_OK;

    if (src && (x->source_path == PROVOST_NONE ? (nsel = 1, capsel = 1, (sel = malloc(sizeof *sel)) ? (sel[0] = src, 0) : -1)
                                               : pvm_select(f, x->source_path, src, &sel, &nsel, &capsel)) != 0) {
        if (!sel && x->source_path == PROVOST_NONE)
            pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
        rc = PVM_XF_ERROR;
        goto done;
    }
    if (nsel == 0) {
        if (x->ifnull == PROVOST_IFNULL_IGNORE)
            goto done;
        if (x->ifnull == PROVOST_IFNULL_SKIP) {
            rc = PVM_XF_SKIP;
            goto done;
        }
        const char *sp = x->source_path == PROVOST_NONE ? NULL : pvm_bundle_str(b, b->paths_v[x->source_path].text);
        pvm_fail(r, PROVOST_E_NONODE, "%s: %s%s%s selected nothing (ifNull=\"fail\")", dir,
                 x->source >= PROVOST_SCOPE_SLOT0 ? "the forEach" : (const char *[]){"data", "executeData", "procedureData", "context"}[x->source],
                 sp ? "/" : "", sp ? sp : "");
        rc = PVM_XF_ERROR;
        goto done;
    }

    /* the result nodes R */
    if (x->xsl != PROVOST_NONE) {
        outs = calloc(nsel, sizeof *outs);
        if (!outs) {
            pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
            rc = PVM_XF_ERROR;
            goto done;
        }
        size_t capres = 0;
        for (size_t i = 0; i < nsel; i++) {
            xmlDocPtr out = apply_xsl(f, x->xsl, sel[i], &xc);
            if (!out) {
                rc = PVM_XF_ERROR;
                goto done;
            }
            outs[nouts++] = out;
            for (xmlNodePtr c = out->children; c; c = c->next) {
                if (c->type == XML_DTD_NODE)
                    continue;
                if (PU_GROW(res, capres, nres + 1) != 0) {
                    pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
                    rc = PVM_XF_ERROR;
                    goto done;
                }
                res[nres++] = c;
            }
        }
    } else {
        res = sel;
        nres = nsel;
        sel = NULL;
    }
    bool any_element = false;
    for (size_t i = 0; i < nres && !any_element; i++)
        any_element = res[i]->type == XML_ELEMENT_NODE;
    if (!any_element) {
        if (!x->allow_null) {
            pvm_fail(r, PROVOST_E_NONODE, "%s: the transform produced no element (allowNullTransform=\"0\")", dir);
            rc = PVM_XF_ERROR;
        }
        goto done;
    }

    /* the destination */
    xmlNodePtr target = pvm_scope(f, x->destination);
    bool root = x->dest_path == PROVOST_NONE || b->paths_v[x->dest_path].kind == PROVOST_PATH_SELF;
    if (target && !root) {
        xmlNodePtr *d = NULL;
        size_t nd = 0, capd = 0;
        if (pvm_select(f, x->dest_path, target, &d, &nd, &capd) != 0) {
            free(d);
            rc = PVM_XF_ERROR;
            goto done;
        }
        xmlNodePtr t = nd ? d[0] : NULL;
        free(d);
        if (!t && (b->paths_v[x->dest_path].flags & PROVOST_PATH_CREATABLE))
            t = create_path(f, x->dest_path, target);
        if (!t || t->type != XML_ELEMENT_NODE) {
            pvm_fail(r, PROVOST_E_NONODE, "%s: destinationPath \"%s\" selects %s", dir,
                     pvm_bundle_str(b, b->paths_v[x->dest_path].text), t ? "no element" : "nothing");
            rc = PVM_XF_ERROR;
            goto done;
        }
        target = t;
    }
    if (!target) {
        pvm_fail(r, PROVOST_E_NONODE, "%s: the destination forEach is bound to nothing", dir);
        rc = PVM_XF_ERROR;
        goto done;
    }
    /* whichever way the target was reached (a forEach, an XPath): the engine's part of
     * the context is neither written, replaced, nor added to */
    bool owned = engine_owned(r, target) || (target == r->context && x->mode == PROVOST_MODE_REPLACE);
    for (size_t i = 0; i < nres && !owned && target == r->context; i++) {
        if (x->mode != PROVOST_MODE_MERGE)
            owned = owned_name(res[i]);
        else if (res[i]->type == XML_ELEMENT_NODE)
            for (xmlNodePtr c = res[i]->children; c && !owned; c = c->next)
                owned = owned_name(c);
    }
    for (size_t i = 0; i < nres && !owned && x->mode == PROVOST_MODE_MOVE; i++)
        owned = engine_owned(r, res[i]);
    if (owned) {
        pvm_fail(r, PROVOST_E_ACCESSDENIED, "%s: the engine's part of the context is read-only", dir);
        rc = PVM_XF_ERROR;
        goto done;
    }

    int err = 0;
    switch (x->mode) {
    case PROVOST_MODE_INSERT:
        for (size_t i = 0; i < nres && !err; i++)
            err = append_copy(r, target, res[i]);
        break;
    case PROVOST_MODE_MERGE:
        for (size_t i = 0; i < nres && !err; i++)
            err = merge_one(r, target, res[i]);
        break;
    case PROVOST_MODE_REPLACE:
        if (root) {
            /* the scope keeps its name; its attributes and children become R's */
            for (size_t i = 0; i < nres; i++)
                if (inside(target, res[i]) || inside(res[i], target)) {
                    /* R overlaps the target: copy R first */
                    xmlNodePtr cp = xmlDocCopyNode(res[i], target->doc, 1);
                    if (!cp) {
                        err = pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
                        break;
                    }
                    bury(r, cp); /* owned by the graveyard; read below */
                    res[i] = cp;
                }
            while (!err && target->properties)
                bury(r, (xmlNodePtr)target->properties); /* a forEach may hold them */
            while (!err && target->children)
                bury(r, target->children);
            for (size_t i = 0; i < nres && !err; i++) {
                if (res[i]->type != XML_ELEMENT_NODE) {
                    err = append_copy(r, target, res[i]);
                    continue;
                }
                for (xmlAttrPtr a = res[i]->properties; a && !err; a = a->next)
                    err = append_copy(r, target, (xmlNodePtr)a);
                for (xmlNodePtr c = res[i]->children; c && !err; c = c->next)
                    err = append_copy(r, target, c);
            }
        } else {
            for (size_t i = 0; i < nres && !err; i++) {
                xmlNodePtr c = xmlDocCopyNode(res[i], target->doc, 1);
                if (!c || !xmlAddPrevSibling(target, c)) {
                    xmlFreeNode(c);
                    err = pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
                }
            }
            if (!err)
                bury(r, target);
        }
        break;
    case PROVOST_MODE_MOVE:
        for (size_t i = 0; i < nres && !err; i++) {
            if (inside(target, res[i]))
                err = pvm_fail(r, PROVOST_E_INVALIDARG, "%s: mode=\"move\" would move a node into itself", dir);
            else if (holds_scope(f, res[i]))
                err = pvm_fail(r, PROVOST_E_INVALIDARG, "%s: mode=\"move\" cannot move a scope or what holds one", dir);
        }
        for (size_t i = 0; i < nres && !err; i++) {
            xmlNodePtr n = res[i];
            if (n->type == XML_ATTRIBUTE_NODE || n->type == XML_TEXT_NODE) {
                /* set as an attribute / may merge into the target's text: copied, and the
                 * node kept alive for whoever holds it (a forEach) */
                err = append_copy(r, target, n);
                if (!err)
                    bury(r, n);
                continue;
            }
            xmlUnlinkNode(n);
            if (n->doc != target->doc &&
                xmlDOMWrapAdoptNode(NULL, n->doc, n, target->doc, target, 0) != 0) {
                err = pvm_fail(r, PROVOST_E_OUTOFMEMORY, "out of memory");
                break;
            }
            xmlNodePtr added = xmlAddChild(target, n);
            if (added)
                keep_no_namespace(target, added);
        }
        break;
    }
    if (err)
        rc = PVM_XF_ERROR;
done:
    free(sel);
    free(res);
    for (size_t i = 0; i < nouts; i++)
        xmlFreeDoc(outs[i]);
    free(outs);
    pvm_xslctx_give(f->ns->xslpool, x->xsl, xc); /* after the results, which share its dictionary */
    return rc;
}
