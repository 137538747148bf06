/*
 * pctx.c -- the context of a provider call (SPEC §10): the `context` element that is the
 * first child of executeXml while a provider runs, and is taken out after the call.
 *
 * Building it (a score of nodes, attributes and strings) and freeing it again cost more than
 * the rest of a step, and nearly all of it is the same from call to call: so each thread
 * keeps the one it built and lends it to the next call -- of the same request or of a later
 * one -- with only what differs rewritten in place (transactionId, executeContext's
 * attributes), as long as the request's securityContext, clientContext and queueContext
 * and the namespace's providerContext still equal the copies it holds.
 *
 * A provider may change what it is lent.  Every node, attribute and attribute value of a
 * lent context is recorded (all of its fields, its name and its text) and compared when it
 * comes back: a context changed in any way is freed, and the next call builds a new one, so
 * no call sees what another did to its context.  The rare cases that would need more than
 * that -- an errorContext (a call from a catch), an inDoubt rollback, namespaces or entity
 * references in the copied parts, an executeXml document with a dictionary -- get a context
 * built for the call and freed after it, as every call once did.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/vec.h"
#include "vm.h"

/* ---- building one ------------------------------------------------------------------------ */

static xmlNodePtr first_child(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST name))
            return c;
    return NULL;
}

static xmlNodePtr copy_child(xmlNodePtr to, xmlNodePtr from_parent, const char *name)
{
    xmlNodePtr c = first_child(from_parent, name);
    xmlNodePtr copy = c ? xmlDocCopyNode(c, to->doc, 1) : NULL;
    if (copy)
        xmlAddChild(to, copy);
    return copy;
}

static bool is_authentication(xmlNodePtr n)
{
    return n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST "authentication");
}

static const char *const type_name[] = {"", "read", "write", "twoPhase"};

static void format_id(char out[16], uint32_t id)
{
    char tmp[16];
    size_t n = 0;
    do
        tmp[n++] = (char)('0' + id % 10);
    while ((id /= 10) != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = 0;
}

/* The parts a context is made of, and which of them a kept one must still match. */
typedef struct parts {
    xmlNodePtr tc, sc, pc, ec, cc, qc; /* in the context, or NULL */
} parts;

/* A context for the call described by A, in DOC, linked nowhere. */
static xmlNodePtr build(pvm_req *r, xmlDocPtr doc, const pvm_ctx_args *a, parts *p)
{
    *p = (parts){0};
    xmlNodePtr ctx = xmlNewDocNode(doc, NULL, BAD_CAST "context", NULL);
    if (!ctx)
        return NULL;
    p->tc = xmlNewChild(ctx, NULL, BAD_CAST "transactionContext", NULL);
    if (p->tc)
        xmlNewProp(p->tc, BAD_CAST "transactionId", BAD_CAST r->txid);
    p->sc = copy_child(ctx, r->context, "securityContext");
    if (p->sc && a->trusted != 1)
        for (xmlNodePtr c = p->sc->children, next; c; c = next) {
            next = c->next;
            if (is_authentication(c)) {
                xmlUnlinkNode(c);
                xmlFreeNode(c);
            }
        }
    xmlNodePtr pcroot = a->provider_context ? xmlDocGetRootElement(a->provider_context) : NULL;
    if (pcroot && (p->pc = xmlDocCopyNode(pcroot, doc, 1)) != NULL)
        xmlAddChild(ctx, p->pc);
    p->ec = xmlNewChild(ctx, NULL, BAD_CAST "executeContext", NULL);
    if (p->ec) {
        char id[16];
        format_id(id, a->exec_id);
        xmlNewProp(p->ec, BAD_CAST "namespace", BAD_CAST a->ns);
        xmlNewProp(p->ec, BAD_CAST "procedure", BAD_CAST a->proc);
        xmlNewProp(p->ec, BAD_CAST "providerSource", BAD_CAST(a->source ? a->source : ""));
        xmlNewProp(p->ec, BAD_CAST "procedureExecId", BAD_CAST id);
        xmlNewProp(p->ec, BAD_CAST "type", BAD_CAST type_name[a->type & 3]);
        if (a->in_doubt)
            xmlNewProp(p->ec, BAD_CAST "inDoubt", BAD_CAST "1");
    }
    p->cc = copy_child(ctx, r->context, "clientContext");
    p->qc = copy_child(ctx, r->context, "queueContext");
    if (r->handling)
        pvm_error_node(r->handling, ctx);
    return ctx;
}

/* ---- the kept one -------------------------------------------------------------------------- */

/* One node or attribute of the kept context as it was lent. */
typedef struct record {
    const void *obj;
    union {
        xmlNode node;
        xmlAttr attr;
    } was;
    char *name, *text; /* copies of the name and, for a text-like node, of its content */
} record;

/* A value rewritten per call: the text node under one attribute, and its record. */
typedef struct slot {
    xmlNodePtr text;
    size_t cap; /* of text->content and of its record's copy */
    size_t rec;
} slot;

enum { S_TXID, S_NS, S_PROC, S_SOURCE, S_ID, S_TYPE, NSLOTS };

typedef struct kept {
    xmlDocPtr owner; /* the document the nodes belong to between calls */
    xmlNodePtr ctx;
    parts p;
    bool filtered; /* securityContext copied without its authentication */
    uint32_t id;   /* procedureExecId and type as they are */
    int type;
    slot slots[NSLOTS];
    record *recs;
    size_t nrecs, caprecs;
    xmlDocPtr lent_to; /* while lent */
    bool checked;      /* lent in lent_to's name, and checked when it comes back */
} kept;

static __thread kept *mine;
static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void forget(kept *k)
{
    for (size_t i = 0; i < k->nrecs; i++) {
        free(k->recs[i].name);
        free(k->recs[i].text);
    }
    k->nrecs = 0;
    if (k->ctx)
        xmlFreeNode(k->ctx);
    k->ctx = NULL;
    k->lent_to = NULL;
}

static void kept_free(void *p)
{
    kept *k = p;
    mine = NULL;
    forget(k);
    free(k->recs);
    xmlFreeDoc(k->owner);
    free(k);
}

static void make_key(void)
{
    pthread_key_create(&key, kept_free);
}

static kept *this_thread(void)
{
    if (mine)
        return mine;
    pthread_once(&key_once, make_key);
    kept *k = calloc(1, sizeof *k);
    if (!k || !(k->owner = xmlNewDoc(BAD_CAST "1.0")) || pthread_setspecific(key, k) != 0) {
        if (k)
            xmlFreeDoc(k->owner);
        free(k);
        return NULL;
    }
    return mine = k;
}

static bool text_like(xmlElementType t)
{
    return t == XML_TEXT_NODE || t == XML_CDATA_SECTION_NODE || t == XML_COMMENT_NODE || t == XML_PI_NODE;
}

static char *dup_or_null(const xmlChar *s, bool *failed)
{
    if (!s)
        return NULL;
    char *d = strdup((const char *)s);
    if (!d)
        *failed = true;
    return d;
}

static int add_record(kept *k, const void *obj, size_t size, const xmlChar *name, const xmlChar *text)
{
    if (PU_GROW(k->recs, k->caprecs, k->nrecs + 1) != 0)
        return -1;
    record *r = &k->recs[k->nrecs];
    memset(&r->was, 0, sizeof r->was);
    memcpy(&r->was, obj, size);
    bool failed = false;
    r->obj = obj;
    r->name = dup_or_null(name, &failed);
    r->text = dup_or_null(text, &failed);
    k->nrecs++;
    return failed ? -1 : 0;
}

/* Records N and everything under it, in the order check() visits them.  -1 for what a kept
 * context does not take: namespaces, entity references, anything but elements and text. */
static int record_tree(kept *k, xmlNodePtr n)
{
    if (n->ns || (n->type == XML_ELEMENT_NODE && n->nsDef))
        return -1;
    if (text_like(n->type))
        return add_record(k, n, sizeof(xmlNode), n->name, n->content);
    if (n->type != XML_ELEMENT_NODE || add_record(k, n, sizeof(xmlNode), n->name, NULL) != 0)
        return -1;
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        if (a->ns || add_record(k, a, sizeof(xmlAttr), a->name, NULL) != 0)
            return -1;
        for (xmlNodePtr t = a->children; t; t = t->next)
            if (t->type != XML_TEXT_NODE || record_tree(k, t) != 0)
                return -1;
    }
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (record_tree(k, c) != 0)
            return -1;
    return 0;
}

/* N's record at *i unchanged: the same object, every field as recorded (the document
 * aside, which is put back to the owner here), the same name and text. */
static bool unchanged(kept *k, const void *obj, size_t size, size_t *i)
{
    if (*i >= k->nrecs || k->recs[*i].obj != obj)
        return false;
    record *r = &k->recs[(*i)++];
    /* node and attribute both keep their document in the same place */
    xmlDocPtr *doc = size == sizeof(xmlNode) ? &((xmlNodePtr)obj)->doc : &((xmlAttrPtr)obj)->doc;
    if (*doc != k->lent_to)
        return false;
    *doc = k->owner;
    if (memcmp(obj, &r->was, size) != 0)
        return false;
    const xmlChar *name = size == sizeof(xmlNode) ? ((xmlNodePtr)obj)->name : ((xmlAttrPtr)obj)->name;
    if ((name == NULL) != (r->name == NULL) || (name && strcmp((const char *)name, r->name) != 0))
        return false;
    if (size == sizeof(xmlNode) && text_like(((xmlNodePtr)obj)->type)) {
        const xmlChar *t = ((xmlNodePtr)obj)->content;
        if ((t == NULL) != (r->text == NULL) || (t && strcmp((const char *)t, r->text) != 0))
            return false;
    }
    return true;
}

/* The tree at N exactly as recorded from *i on.  Follows only pointers of what it has
 * found unchanged, so never reads what a provider freed. */
static bool check(kept *k, xmlNodePtr n, size_t *i)
{
    if (!unchanged(k, n, sizeof(xmlNode), i))
        return false;
    if (n->type != XML_ELEMENT_NODE)
        return true;
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        if (!unchanged(k, a, sizeof(xmlAttr), i))
            return false;
        for (xmlNodePtr t = a->children; t; t = t->next)
            if (!check(k, t, i))
                return false;
    }
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (!check(k, c, i))
            return false;
    return true;
}

static void set_doc(xmlNodePtr n, xmlDocPtr doc)
{
    n->doc = doc;
    if (n->type != XML_ELEMENT_NODE)
        return;
    for (xmlAttrPtr a = n->properties; a; a = a->next) {
        a->doc = doc;
        for (xmlNodePtr t = a->children; t; t = t->next)
            t->doc = doc;
    }
    for (xmlNodePtr c = n->children; c; c = c->next)
        set_doc(c, doc);
}

static size_t record_of(const kept *k, const void *obj)
{
    for (size_t i = 0; i < k->nrecs; i++)
        if (k->recs[i].obj == obj)
            return i;
    return (size_t)-1;
}

/* The slot of ELEMENT's attribute NAME: its one text node. */
static int find_slot(kept *k, xmlNodePtr element, const char *name, slot *s)
{
    xmlAttrPtr a = element ? xmlHasProp(element, BAD_CAST name) : NULL;
    xmlNodePtr t = a ? a->children : NULL;
    if (!t || t->next || t->type != XML_TEXT_NODE || !t->content)
        return -1;
    *s = (slot){.text = t, .cap = strlen((const char *)t->content) + 1, .rec = record_of(k, t)};
    return s->rec == (size_t)-1 ? -1 : 0;
}

/* Builds this thread's context for A; -1 (nothing kept) when it cannot be kept. */
static int keep(kept *k, pvm_req *r, const pvm_ctx_args *a)
{
    forget(k);
    k->ctx = build(r, k->owner, a, &k->p);
    if (!k->ctx || !k->p.tc || !k->p.ec || record_tree(k, k->ctx) != 0)
        goto fail;
    static const struct {
        int which;
        const char *name;
    } names[] = {{S_NS, "namespace"}, {S_PROC, "procedure"}, {S_SOURCE, "providerSource"},
                 {S_ID, "procedureExecId"}, {S_TYPE, "type"}};
    if (find_slot(k, k->p.tc, "transactionId", &k->slots[S_TXID]) != 0)
        goto fail;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (find_slot(k, k->p.ec, names[i].name, &k->slots[names[i].which]) != 0)
            goto fail;
    k->filtered = a->trusted != 1;
    return 0;
fail:
    forget(k);
    return -1;
}

/* Two trees equal node for node (COPY was made from SRC; authentication children of SRC's
 * top are skipped when SKIP_AUTH): namespaces and entity references never are. */
static bool same(xmlNodePtr src, xmlNodePtr copy, bool skip_auth)
{
    if (!src || !copy)
        return src == copy;
    if (src->type != copy->type || src->ns || copy->ns || !xmlStrEqual(src->name, copy->name))
        return false;
    if (text_like(src->type))
        return xmlStrEqual(src->content, copy->content);
    if (src->type != XML_ELEMENT_NODE || src->nsDef || copy->nsDef)
        return false;
    xmlAttrPtr sa = src->properties, ca = copy->properties;
    for (; sa && ca; sa = sa->next, ca = ca->next) {
        if (sa->ns || ca->ns || !xmlStrEqual(sa->name, ca->name))
            return false;
        xmlNodePtr st = sa->children, ct = ca->children;
        for (; st && ct; st = st->next, ct = ct->next)
            if (!same(st, ct, false))
                return false;
        if (st || ct)
            return false;
    }
    if (sa || ca)
        return false;
    xmlNodePtr s = src->children, c = copy->children;
    for (;;) {
        while (skip_auth && s && is_authentication(s))
            s = s->next;
        if (!s || !c)
            return s == c;
        if (!same(s, c, false))
            return false;
        s = s->next;
        c = c->next;
    }
}

/* The kept context still made from what the request and namespace hold now. */
static bool still_fits(const kept *k, pvm_req *r, const pvm_ctx_args *a)
{
    bool filter = a->trusted != 1;
    xmlNodePtr sc = NULL, cc = NULL, qc = NULL; /* the first of each, as build() copies them */
    for (xmlNodePtr c = r->context ? r->context->children : NULL; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *name = (const char *)c->name;
        if (!sc && strcmp(name, "securityContext") == 0)
            sc = c;
        else if (!cc && strcmp(name, "clientContext") == 0)
            cc = c;
        else if (!qc && strcmp(name, "queueContext") == 0)
            qc = c;
    }
    if (filter != k->filtered && sc)
        for (xmlNodePtr c = sc->children; c; c = c->next)
            if (is_authentication(c))
                return false;
    return same(sc, k->p.sc, filter) &&
           same(a->provider_context ? xmlDocGetRootElement(a->provider_context) : NULL, k->p.pc, false) &&
           same(cc, k->p.cc, false) && same(qc, k->p.qc, false);
}

/* Puts VALUE in a slot, in place when it fits; the record follows. */
static int set_slot(kept *k, slot *s, const char *value)
{
    char *now = (char *)s->text->content;
    if (strcmp(now, value) == 0)
        return 0;
    size_t n = strlen(value) + 1;
    record *r = &k->recs[s->rec];
    if (n > s->cap) {
        char *copy = realloc(r->text, n);
        if (!copy)
            return -1;
        r->text = copy;
        xmlChar *grown = xmlRealloc(s->text->content, n);
        if (!grown)
            return -1;
        s->text->content = grown;
        r->was.node.content = grown;
        s->cap = n;
    }
    memcpy(s->text->content, value, n);
    memcpy(r->text, value, n);
    return 0;
}

/* ---- lending --------------------------------------------------------------------------------- */

/* Put first under DOC's root: by hand, so that a kept context lent as it is keeps its
 * document (xmlAddPrevSibling would move every node over to DOC). */
static void link_first(xmlDocPtr doc, xmlNodePtr ctx)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    ctx->parent = root;
    ctx->prev = NULL;
    ctx->next = root->children;
    if (root->children)
        root->children->prev = ctx;
    else
        root->last = ctx;
    root->children = ctx;
}

xmlNodePtr pvm_context_lend(pvm_req *r, xmlDocPtr doc, const pvm_ctx_args *a)
{
    kept *k = NULL;
    if (!r->handling && !a->in_doubt && !doc->dict)
        k = this_thread();
    if (k && !k->lent_to) {
        bool ok = k->ctx && still_fits(k, r, a);
        if (!ok && (ok = keep(k, r, a) == 0)) {
            k->id = a->exec_id;
            k->type = a->type;
        }
        if (ok && k->id != a->exec_id) {
            char id[16];
            format_id(id, a->exec_id);
            ok = set_slot(k, &k->slots[S_ID], id) == 0;
            k->id = a->exec_id;
        }
        if (ok && k->type != a->type) {
            ok = set_slot(k, &k->slots[S_TYPE], type_name[a->type & 3]) == 0;
            k->type = a->type;
        }
        if (ok)
            ok = set_slot(k, &k->slots[S_TXID], r->txid) == 0 && set_slot(k, &k->slots[S_NS], a->ns) == 0 &&
                 set_slot(k, &k->slots[S_PROC], a->proc) == 0 &&
                 set_slot(k, &k->slots[S_SOURCE], a->source ? a->source : "") == 0;
        if (ok) {
            k->lent_to = doc;
            k->checked = !a->builtin;
            if (k->checked)
                set_doc(k->ctx, doc);
            link_first(doc, k->ctx);
            return k->ctx;
        }
        forget(k);
    }
    parts p;
    xmlNodePtr ctx = build(r, doc, a, &p);
    if (ctx)
        link_first(doc, ctx);
    return ctx;
}

void pvm_context_return(xmlNodePtr ctx)
{
    if (!ctx)
        return;
    xmlUnlinkNode(ctx);
    kept *k = mine;
    if (!k || ctx != k->ctx || !k->lent_to) {
        xmlFreeNode(ctx); /* built for its call */
        return;
    }
    if (!k->checked) {
        k->lent_to = NULL;
        return;
    }
    size_t i = 0;
    bool same_as_lent = check(k, ctx, &i) && i == k->nrecs;
    k->lent_to = NULL;
    if (!same_as_lent)
        forget(k);
}
