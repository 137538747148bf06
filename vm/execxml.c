/*
 * execxml.c -- the executeXml document of a step or a call: made here, and given back here
 * when done with.  Each thread keeps one of them for the next step instead of freeing it,
 * since making the document and its root and freeing them again cost more than most of what
 * a step does: the next step finds it as it was made -- the document and its root exactly
 * as recorded when they were made, fields, name and all -- with the old contents freed.  A
 * document that anything changed (a provider may, its root is its own) is freed instead.
 * An empty executeData made here is kept the same way, its contents freed, for the next
 * step that asks for an empty one (most steps without a literal executeData or a before);
 * one that was changed in any way but its contents is freed with the rest.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

typedef struct spare {
    xmlDocPtr doc; /* this thread's, or NULL */
    bool in_use;
    xmlDoc doc_was;   /* as made, its root linked */
    xmlNode root_was; /* as made, without children */
    xmlNodePtr ed;    /* an empty executeData made here, under the root, or NULL */
    xmlNode ed_was;   /* as made, without children */
} spare;

static __thread spare *mine;
static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

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

/* A new document with an executeXml root and nothing under it. */
static xmlDocPtr make(void)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = doc ? xmlNewDocNode(doc, NULL, BAD_CAST "executeXml", NULL) : NULL;
    if (!root) {
        xmlFreeDoc(doc);
        return NULL;
    }
    xmlDocSetRootElement(doc, root);
    return doc;
}

/* N as recorded in WAS, but for its children, and still named NAME. */
static bool same_node(xmlNodePtr n, const xmlNode *was, const char *name)
{
    xmlNode now;
    memcpy(&now, n, sizeof now);
    now.children = now.last = NULL;
    return memcmp(&now, was, sizeof now) == 0 && strcmp((const char *)n->name, name) == 0;
}

/* The thread's document unchanged since it was made, but for its root's children. */
static bool as_made(const spare *s)
{
    xmlNodePtr root = s->doc->children;
    return root && memcmp(s->doc, &s->doc_was, sizeof(xmlDoc)) == 0 && same_node(root, &s->root_was, "executeXml");
}

/* The kept executeData still the root's one child, unchanged but for its contents. */
static bool ed_as_made(const spare *s)
{
    xmlNodePtr root = s->doc->children;
    return s->ed && root->children == s->ed && root->last == s->ed && same_node(s->ed, &s->ed_was, "executeData");
}

/* The one place an executeXml document is made: the root, and under it executeData -- a
 * copy of DATA (a step's literal executeData, a logged call's saved one) or an empty one
 * when DATA is NULL.  *exec is set to it; NULL when out of memory.  Given back with
 * pvm_execute_xml_free(). */
xmlDocPtr pvm_execute_xml(xmlNodePtr data, xmlNodePtr *exec)
{
    *exec = NULL;
    spare *s = this_thread();
    xmlDocPtr doc = NULL;
    if (s && s->doc && !s->in_use) {
        doc = s->doc;
        s->in_use = true;
    } else {
        doc = make();
        if (doc && s && !s->doc) { /* the thread's from now on */
            s->doc = doc;
            s->in_use = true;
            memcpy(&s->doc_was, doc, sizeof(xmlDoc));
            memcpy(&s->root_was, doc->children, sizeof(xmlNode));
        }
    }
    if (!doc)
        return NULL;
    xmlNodePtr root = doc->children;
    bool keep = s && doc == s->doc;
    if (keep && s->ed) {
        if (!data) {
            *exec = s->ed;
            return doc;
        }
        xmlUnlinkNode(s->ed);
        xmlFreeNode(s->ed);
        s->ed = NULL;
    }
    xmlNodePtr ed = data ? xmlDocCopyNode(data, doc, 1) : xmlNewDocNode(doc, NULL, BAD_CAST "executeData", NULL);
    if (!ed || !xmlAddChild(root, ed)) {
        xmlFreeNode(ed);
        pvm_execute_xml_free(doc);
        return NULL;
    }
    if (keep && !data) {
        s->ed = ed;
        memcpy(&s->ed_was, ed, sizeof(xmlNode));
    }
    *exec = ed;
    return doc;
}

void pvm_execute_xml_free(xmlDocPtr doc)
{
    spare *s = mine;
    if (!doc)
        return;
    if (!s || doc != s->doc) {
        xmlFreeDoc(doc);
        return;
    }
    s->in_use = false;
    if (!as_made(s)) {
        s->doc = NULL;
        s->ed = NULL;
        xmlFreeDoc(doc);
        return;
    }
    xmlNodePtr root = doc->children;
    if (ed_as_made(s)) {
        xmlFreeNodeList(s->ed->children);
        s->ed->children = s->ed->last = NULL;
        return;
    }
    s->ed = NULL; /* freed below if still here; else no longer the document's */
    xmlFreeNodeList(root->children);
    root->children = root->last = NULL;
}
