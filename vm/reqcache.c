/*
 * reqcache.c -- the engine's cache of trusted requests' procedures (SPEC §10): each
 * distinct procedure is compiled, prepared and linked once, then found by a hash of its
 * tree, read from the parsed request without copying or serialising it.
 *
 * Why a read-write lock and not something cleverer: a hit holds the lock only to find the
 * entry and take a reference, and readers never wait for each other; a miss compiles with
 * no lock of the table held.  An immutable table swapped atomically would still need a
 * way to know when the old table's last reader is gone (a reference count: the same
 * shared word the read lock is), and requests already share one such word, the
 * procedure's reference count.  Writers (a new procedure, a relink, a catalog change) are
 * rare.
 */
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "provost/compiler.h"
#include "util/xmlout.h"
#include "vm.h"

#define RCACHE_MAX 512      /* entries; when full, start again rather than track ages */
#define RCACHE_BUCKETS 1024 /* a power of two, twice RCACHE_MAX */
#define RCACHE_STRIPES 16   /* compiles of one procedure wait for each other, others need not */

typedef struct rentry {
    struct rentry *next; /* in its bucket */
    uint64_t hash;
    pvm_ns *ns;          /* one reference */
    pvm_rlink *link;     /* one reference; NULL until linked, or after the catalog changed */
    size_t len;
    char key[];          /* the procedure's tree as key() writes it */
} rentry;

struct pvm_rcache {
    pthread_rwlock_t lock; /* the buckets, the entries' links, n */
    rentry *bucket[RCACHE_BUCKETS];
    size_t n;
    pthread_mutex_t compiling[RCACHE_STRIPES];
    atomic_ulong compiles; /* a hit counts nothing: one more shared word is what this avoids */
};

struct pvm_rcache *pvm_rcache_new(void)
{
    struct pvm_rcache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_rwlock_init(&c->lock, NULL);
    for (int i = 0; i < RCACHE_STRIPES; i++)
        pthread_mutex_init(&c->compiling[i], NULL);
    return c;
}

void pvm_rlink_put(pvm_rlink *l)
{
    if (l && atomic_fetch_sub(&l->refs, 1) == 1) {
        pvm_catalog_put(l->cat);
        pvm_ns_put(l->ns);
        free(l);
    }
}

/* Empties the table; the caller holds the write lock (or is the last user). */
static void clear(struct pvm_rcache *c)
{
    for (size_t b = 0; b < RCACHE_BUCKETS; b++) {
        for (rentry *r = c->bucket[b], *next; r; r = next) {
            next = r->next;
            pvm_rlink_put(r->link);
            pvm_ns_put(r->ns);
            free(r);
        }
        c->bucket[b] = NULL;
    }
    c->n = 0;
}

void pvm_rcache_free(struct pvm_rcache *c)
{
    if (!c)
        return;
    clear(c);
    pthread_rwlock_destroy(&c->lock);
    for (int i = 0; i < RCACHE_STRIPES; i++)
        pthread_mutex_destroy(&c->compiling[i]);
    free(c);
}

void pvm_rcache_unlink(struct pvm_rcache *c)
{
    if (!c)
        return;
    /* links hold the catalog they were made against: dropped here, a replaced catalog
     * (and the namespaces only it holds) goes as soon as its last request ends */
    pthread_rwlock_wrlock(&c->lock);
    for (size_t b = 0; b < RCACHE_BUCKETS; b++)
        for (rentry *r = c->bucket[b]; r; r = r->next) {
            pvm_rlink_put(r->link);
            r->link = NULL;
        }
    pthread_rwlock_unlock(&c->lock);
}

void pvm_rcache_stats(struct pvm_rcache *c, pvm_rcache_stats_t *out)
{
    out->compiles = atomic_load(&c->compiles);
    pthread_rwlock_rdlock(&c->lock);
    out->entries = c->n;
    pthread_rwlock_unlock(&c->lock);
}

/* ---- the key: the procedure's tree, written without libxml2's serialiser ------------ */

typedef struct kbuf {
    char *p;
    size_t n, cap;
    bool oom;
    uint64_t hash;
    char local[4096]; /* most procedures fit: no allocation for a hit */
} kbuf;

static void put(kbuf *k, const void *s, size_t n)
{
    if (k->oom)
        return;
    if (k->n + n > k->cap) {
        size_t cap = k->cap * 2 > k->n + n ? k->cap * 2 : k->n + n;
        char *p = k->p == k->local ? malloc(cap) : realloc(k->p, cap);
        if (!p) {
            k->oom = true;
            return;
        }
        if (k->p == k->local)
            memcpy(p, k->local, k->n);
        k->p = p;
        k->cap = cap;
    }
    memcpy(k->p + k->n, s, n);
    for (size_t i = 0; i < n; i++) /* FNV-1a */
        k->hash = (k->hash ^ ((const unsigned char *)s)[i]) * 1099511628211ull;
    k->n += n;
}

/* A tag, then a string with its terminating NUL (XML text holds none): no two different
 * trees write the same bytes. */
static void field(kbuf *k, char tag, const xmlChar *s)
{
    put(k, &tag, 1);
    put(k, s ? (const char *)s : "", s ? strlen((const char *)s) + 1 : 1);
}

static void names(kbuf *k, char tag, xmlNsPtr ns, const xmlChar *name)
{
    field(k, tag, name);
    field(k, 'p', ns ? ns->prefix : NULL);
    field(k, 'u', ns ? ns->href : NULL);
}

/* Everything that the procedure's compiled form can depend on: names with their
 * namespaces and prefixes, declarations (XPath in attributes uses their prefixes),
 * attributes, text, comments and processing instructions, in document order. */
static void tree(kbuf *k, xmlNodePtr n)
{
    switch (n->type) {
    case XML_ELEMENT_NODE:
        names(k, 'E', n->ns, n->name);
        for (xmlNsPtr d = n->nsDef; d; d = d->next) {
            field(k, 'N', d->prefix);
            field(k, 'u', d->href);
        }
        for (xmlAttrPtr a = n->properties; a; a = a->next) {
            names(k, 'A', a->ns, a->name);
            for (xmlNodePtr v = a->children; v; v = v->next)
                field(k, 'v', v->content);
        }
        for (xmlNodePtr c = n->children; c; c = c->next)
            tree(k, c);
        put(k, ")", 1);
        break;
    case XML_TEXT_NODE:
        field(k, 'T', n->content);
        break;
    case XML_CDATA_SECTION_NODE:
        field(k, 'C', n->content);
        break;
    case XML_COMMENT_NODE:
        field(k, 'c', n->content);
        break;
    case XML_PI_NODE:
        field(k, 'P', n->name);
        field(k, 'v', n->content);
        break;
    default: /* entity references and the like: a document with a DTD is refused */
        field(k, 'R', n->name);
        field(k, 'v', n->content);
        break;
    }
}

/* proc's key: the prefixes declared on the request (in scope in the procedure) and its tree. */
static void key(kbuf *k, xmlNodePtr proc)
{
    k->p = k->local;
    k->n = 0;
    k->cap = sizeof k->local;
    k->oom = false;
    k->hash = 1469598103934665603ull;
    for (xmlNodePtr up = proc->parent; up && up->type == XML_ELEMENT_NODE; up = up->parent)
        for (xmlNsPtr d = up->nsDef; d; d = d->next) {
            field(k, 'N', d->prefix);
            field(k, 'u', d->href);
        }
    tree(k, proc);
}

static void key_free(kbuf *k)
{
    if (k->p != k->local)
        free(k->p);
}

/* ---- the table ------------------------------------------------------------------------ */

static rentry *find(struct pvm_rcache *c, const kbuf *k)
{
    for (rentry *r = c->bucket[k->hash & (RCACHE_BUCKETS - 1)]; r; r = r->next)
        if (r->hash == k->hash && r->len == k->n && memcmp(r->key, k->p, k->n) == 0)
            return r;
    return NULL;
}

/* Under the read lock: the entry's link if it was made against cat (a reference for the
 * caller), else NULL with *ns the entry's namespace (a reference), or both NULL. */
static pvm_rlink *lookup(struct pvm_rcache *c, const kbuf *k, pvm_catalog *cat, pvm_ns **ns)
{
    pvm_rlink *l = NULL;
    *ns = NULL;
    pthread_rwlock_rdlock(&c->lock);
    rentry *r = find(c, k);
    if (r && r->link && r->link->cat == cat) {
        l = r->link;
        atomic_fetch_add(&l->refs, 1);
    } else if (r) {
        *ns = r->ns;
        atomic_fetch_add(&r->ns->refs, 1);
    }
    pthread_rwlock_unlock(&c->lock);
    return l;
}

static void oom(provost_error *err)
{
    err->code = PROVOST_E_OUTOFMEMORY;
    snprintf(err->message, sizeof err->message, "out of memory");
}

/* The procedure compiled and prepared, as a document <request> of its own holding it with
 * the prefixes in scope around it (SPEC §5).  NULL with err set. */
static pvm_ns *compile(provost_engine *e, xmlNodePtr proc, provost_error *err)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr req = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "request", NULL) : NULL;
    xmlNodePtr copy = req ? xmlDocCopyNode(proc, doc, 1) : NULL;
    if (!copy) {
        xmlFreeNode(req);
        xmlFreeDoc(doc);
        oom(err);
        return NULL;
    }
    xmlDocSetRootElement(doc, req);
    xmlAddChild(req, copy);
    xmlNsPtr *inscope = xmlGetNsList(proc->doc, proc);
    for (size_t i = 0; inscope && inscope[i]; i++)
        if (inscope[i]->prefix && !xmlSearchNs(doc, copy, inscope[i]->prefix))
            xmlNewNs(req, inscope[i]->href, inscope[i]->prefix);
    xmlFree(inscope);
    size_t len = 0;
    char *text = pu_xml_string(req, 0, &len);
    xmlFreeDoc(doc);
    if (!text) {
        oom(err);
        return NULL;
    }
    provost_compiled out;
    int rc = provost_compile("request", text, len, &out);
    free(text);
    if (rc != 0) {
        err->code = PROVOST_E_INVALIDARG;
        size_t k = (size_t)snprintf(err->message, sizeof err->message, "the request's procedure does not compile:");
        for (size_t i = 0; i < out.ndiags && k < sizeof err->message; i++)
            if (out.diags[i].severity == PROVOST_ERROR)
                k += (size_t)snprintf(err->message + k, sizeof err->message - k, " %s;", out.diags[i].message);
        provost_compiled_free(&out);
        return NULL;
    }
    char why[256];
    pvm_bundle *b = pvm_bundle_load(out.bundle, out.size, 1, why, sizeof why);
    provost_compiled_free(&out);
    pvm_ns *ns = b ? pvm_ns_prepare(e, b, why, sizeof why) : NULL;
    if (!ns) {
        err->code = PROVOST_E_INVALIDARG;
        snprintf(err->message, sizeof err->message, "the request's procedure cannot be loaded: %s", why);
    }
    return ns;
}

/* Compiles the procedure of key k unless another thread did meanwhile, and enters it.
 * Compiles of the same procedure are serialised by their stripe: each is compiled once. */
static pvm_rlink *miss(provost_engine *e, const kbuf *k, xmlNodePtr proc, pvm_catalog *cat, pvm_ns **nsp,
                       provost_error *err)
{
    struct pvm_rcache *c = e->rcache;
    pthread_mutex_t *stripe = &c->compiling[k->hash % RCACHE_STRIPES];
    pthread_mutex_lock(stripe);
    pvm_rlink *l = lookup(c, k, cat, nsp);
    if (l || *nsp) {
        pthread_mutex_unlock(stripe);
        return l;
    }
    pvm_ns *ns = compile(e, proc, err);
    rentry *r = ns ? malloc(sizeof *r + k->n) : NULL;
    if (!r) {
        pthread_mutex_unlock(stripe);
        if (ns) {
            pvm_ns_put(ns);
            oom(err);
        }
        return NULL;
    }
    atomic_fetch_add(&c->compiles, 1);
    *r = (rentry){.hash = k->hash, .ns = ns, .len = k->n};
    memcpy(r->key, k->p, k->n);
    atomic_fetch_add(&ns->refs, 1); /* the caller's */
    pthread_rwlock_wrlock(&c->lock);
    if (c->n == RCACHE_MAX)
        clear(c); /* requests running keep their references */
    rentry **b = &c->bucket[k->hash & (RCACHE_BUCKETS - 1)];
    r->next = *b;
    *b = r;
    c->n++;
    pthread_rwlock_unlock(&c->lock);
    pthread_mutex_unlock(stripe);
    *nsp = ns;
    return NULL;
}

/* ns linked against cat, and kept in the entry of key k if it is still there: the next
 * request of the same catalog finds it linked. */
static pvm_rlink *link_entry(struct pvm_rcache *c, const kbuf *k, pvm_ns *ns, pvm_catalog *cat, provost_error *err)
{
    size_t nc = ns->bundle->ncalls;
    pvm_rlink *l = malloc(sizeof *l + nc * sizeof l->links[0]);
    if (!l) {
        pvm_ns_put(ns);
        oom(err);
        return NULL;
    }
    atomic_init(&l->refs, 2); /* the caller's and the entry's */
    l->ns = ns;               /* the caller's reference passes to the link */
    l->cat = cat;
    atomic_fetch_add(&cat->refs, 1);
    pvm_link(cat, ns, l->links);
    pvm_rlink *old = l;
    pthread_rwlock_wrlock(&c->lock);
    rentry *r = find(c, k);
    if (r && r->ns == ns) {
        old = r->link;
        r->link = l;
    }
    pthread_rwlock_unlock(&c->lock);
    pvm_rlink_put(old); /* the one it replaced, or the entry's reference when evicted */
    return l;
}

pvm_rlink *pvm_rcache_get(provost_engine *e, pvm_catalog *cat, xmlNodePtr proc, provost_error *err)
{
    struct pvm_rcache *c = e->rcache;
    kbuf k;
    key(&k, proc);
    if (k.oom) {
        key_free(&k);
        oom(err);
        return NULL;
    }
    pvm_ns *ns;
    pvm_rlink *l = lookup(c, &k, cat, &ns);
    if (!l && !ns)
        l = miss(e, &k, proc, cat, &ns, err);
    if (!l && ns)
        l = link_entry(c, &k, ns, cat, err);
    key_free(&k);
    return l;
}
