/*
 * reqdoc.c -- the request document of a call made without data (provost_call and its
 * kin with no data text):
 *
 *   <request><data/><context><transactionContext transactionId="..."/></context></request>
 *
 * Every such call used to build this same skeleton -- a document, five nodes, an attribute
 * and its text -- and free it again, which cost more than the rest of the request's own
 * bookkeeping.  So each thread keeps one, and the next call finds it as it was made, only
 * its transactionId rewritten in place.  The steps of a request may change its document
 * in any way (a transform writing into data or context, a queueContext added, an
 * errorContext while a catch runs, ...): whatever is given back is compared with what was
 * made, every field of every node, attribute and the document, their names and the
 * transactionId's text; anything changed gets the document freed instead, and the next
 * call makes a new one.  A call made while the thread's is in use (a provider calling the
 * engine from its process) gets a document of its own, freed after it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

enum { N_ROOT, N_DATA, N_CONTEXT, N_TC, N_TEXT, NNODES };

typedef struct spare {
    xmlDocPtr doc; /* this thread's, or NULL */
    bool in_use;
    xmlNodePtr node[NNODES];
    xmlAttrPtr attr; /* transactionId */
    xmlDoc doc_was;  /* as made: every field */
    xmlNode node_was[NNODES];
    xmlAttr attr_was;
    char txid[40]; /* the text of transactionId, as last written here */
} spare;

static __thread spare *mine;
static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static const char *const names[NNODES] = {"request", "data", "context", "transactionContext", NULL};

static void spare_free(void *p)
{
    spare *s = p;
    mine = NULL;
    if (s->doc && !s->in_use)
        xmlFreeDoc(s->doc);
    free(s);
}

static void make_key(void)
{
    pthread_key_create(&key, spare_free);
}

static spare *this_thread(void)
{
    if (mine)
        return mine;
    pthread_once(&key_once, make_key);
    spare *s = calloc(1, sizeof *s);
    if (!s || pthread_setspecific(key, s) != 0) {
        free(s);
        return NULL;
    }
    return mine = s;
}

/* The skeleton, recorded in S; false when out of memory. */
static bool make(spare *s)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "request", NULL) : NULL;
    if (!root) {
        xmlFreeDoc(doc);
        return false;
    }
    xmlDocSetRootElement(doc, root);
    xmlNodePtr data = xmlNewChild(root, NULL, BAD_CAST "data", NULL);
    xmlNodePtr ctx = data ? xmlNewChild(root, NULL, BAD_CAST "context", NULL) : NULL;
    xmlNodePtr tc = ctx ? xmlNewChild(ctx, NULL, BAD_CAST "transactionContext", NULL) : NULL;
    /* a placeholder as long as any id: rewritten in place by each request */
    xmlAttrPtr a = tc ? xmlNewProp(tc, BAD_CAST "transactionId", BAD_CAST "{00000000-0000-0000-0000-000000000000}")
                      : NULL;
    xmlNodePtr text = a ? a->children : NULL;
    if (!text || text->next || text->type != XML_TEXT_NODE || !text->content) {
        xmlFreeDoc(doc);
        return false;
    }
    *s = (spare){.doc = doc, .node = {root, data, ctx, tc, text}, .attr = a};
    memcpy(&s->doc_was, doc, sizeof(xmlDoc));
    for (int i = 0; i < NNODES; i++)
        memcpy(&s->node_was[i], s->node[i], sizeof(xmlNode));
    memcpy(&s->attr_was, a, sizeof(xmlAttr));
    strcpy(s->txid, (const char *)text->content);
    return true;
}

static bool same_node(const spare *s, int i)
{
    return memcmp(s->node[i], &s->node_was[i], sizeof(xmlNode)) == 0 &&
           (!names[i] || strcmp((const char *)s->node[i]->name, names[i]) == 0);
}

/* Everything as it was made (names and the id's text compared too), or false.  Compared
 * from the document down, each object only once the one holding it was found unchanged
 * -- still pointing at it, so it was not freed -- never reading what a step freed. */
static bool as_made(const spare *s)
{
    if (memcmp(s->doc, &s->doc_was, sizeof(xmlDoc)) != 0)
        return false;
    for (int i = N_ROOT; i <= N_TC; i++) /* root -> data, context; context -> tc */
        if (!same_node(s, i))
            return false;
    if (memcmp(s->attr, &s->attr_was, sizeof(xmlAttr)) != 0 || strcmp((const char *)s->attr->name, "transactionId"))
        return false;
    return same_node(s, N_TEXT) && strcmp((const char *)s->node[N_TEXT]->content, s->txid) == 0;
}

xmlDocPtr pvm_reqdoc_take(void)
{
    spare *s = this_thread();
    if (!s || s->in_use || (!s->doc && !make(s)))
        return NULL;
    s->in_use = true;
    return s->doc;
}

bool pvm_reqdoc_is(xmlDocPtr doc)
{
    spare *s = mine;
    return s && s->in_use && doc == s->doc;
}

bool pvm_reqdoc_set_txid(xmlDocPtr doc, const char *txid)
{
    spare *s = mine;
    if (!s || !s->in_use || doc != s->doc)
        return false;
    /* an id as long as the text was made with, which was found unchanged since: it still
     * has room.  Another length (none is) spoils the skeleton, so that it is not kept. */
    size_t n = strlen(txid);
    if (n != strlen(s->txid)) {
        s->txid[0] = '?';
        return false;
    }
    memcpy(s->node[N_TEXT]->content, txid, n + 1);
    memcpy(s->txid, txid, n + 1);
    return true;
}

void pvm_reqdoc_free(xmlDocPtr doc)
{
    spare *s = mine;
    if (!doc)
        return;
    if (!s || !s->in_use || doc != s->doc) {
        xmlFreeDoc(doc);
        return;
    }
    s->in_use = false;
    if (!as_made(s)) {
        s->doc = NULL;
        xmlFreeDoc(doc);
    }
}
