/*
 * xmlout.c -- serialising a plain tree here, anything else through a save context kept per
 * thread and per kind of output (see xmlout.h).  libxml2 writes into the context's output
 * buffer, which hands what it holds to sink() when it fills and when flushed; the text
 * collected is the caller's.
 * A context that met an error is closed and made again: libxml2 never writes through
 * an output buffer again once it has failed.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parserInternals.h> /* xmlStringText */
#include <libxml/xmlsave.h>

#include "util/vec.h"
#include "util/xmlout.h"

#define KINDS 8 /* every combination of the PU_XML_* flags */
/* libxml2 counts what a context wrote in an int: it is made again well before that wraps */
#define RENEW_AFTER ((size_t)1 << 30)

typedef struct sink_buf {
    char *p;
    size_t n, cap;
    bool failed;
} sink_buf;

typedef struct saver {
    xmlSaveCtxtPtr ctxt[KINDS];
    size_t written[KINDS];
    sink_buf out;
} saver;

static __thread saver *mine; /* this thread's, also under the key for its exit */
static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void saver_free(void *p)
{
    saver *s = p;
    mine = NULL; /* a later destructor that serialises gets a new one */
    for (int k = 0; k < KINDS; k++)
        if (s->ctxt[k])
            xmlSaveClose(s->ctxt[k]);
    free(s->out.p);
    free(s);
}

static void make_key(void)
{
    pthread_key_create(&key, saver_free);
}

/* Grown by doubling: a response holding a large text node arrives in many small writes. */
static int sink(void *ctx, const char *buf, int len)
{
    sink_buf *o = ctx;
    if (len < 0 || PU_GROW(o->p, o->cap, o->n + (size_t)len + 1) != 0) {
        o->failed = true;
        return -1;
    }
    memcpy(o->p + o->n, buf, (size_t)len);
    o->n += (size_t)len;
    return len;
}

static saver *this_thread(void)
{
    if (mine)
        return mine;
    pthread_once(&key_once, make_key);
    saver *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (pthread_setspecific(key, s) != 0) {
        free(s);
        return NULL;
    }
    return mine = s;
}

static void drop_context(saver *s, unsigned kind)
{
    s->out = (sink_buf){0};
    xmlSaveClose(s->ctxt[kind]); /* may write what it still holds: into the emptied buffer */
    free(s->out.p);
    s->out = (sink_buf){0};
    s->ctxt[kind] = NULL;
    s->written[kind] = 0;
}

static xmlSaveCtxtPtr context(saver *s, unsigned kind)
{
    if (s->ctxt[kind] && s->written[kind] > RENEW_AFTER)
        drop_context(s, kind);
    if (!s->ctxt[kind]) {
        int opts = (kind & PU_XML_FORMAT ? XML_SAVE_FORMAT : 0) | (kind & PU_XML_DECL ? 0 : XML_SAVE_NO_DECL) |
                   (kind & PU_XML_AS_XML ? XML_SAVE_AS_XML : 0);
        s->ctxt[kind] = xmlSaveToIO(sink, NULL, &s->out, "UTF-8", opts);
    }
    return s->ctxt[kind];
}

/* ---- plain trees, written here ----------------------------------------------------------- */

/* Elements without namespaces, their attributes and ASCII text -- what most responses are
 * -- are written here exactly as libxml2 writes them (text escapes <, >, & and CR;
 * attribute values also ", LF and tab), without the calls through its output buffer and
 * encoder that cost more than the writing itself.  Anything else is left to libxml2. */

#define PLAIN_DEPTH 256

/* The length of S escaped, or (size_t)-1 for a byte outside ASCII. */
static size_t escaped_len(const xmlChar *s, bool attr)
{
    size_t n = 0;
    for (; s && *s; s++) {
        switch (*s) {
        case '<': case '>': n += 4; break;
        case '&': n += 5; break;
        case '\r': n += 5; break;
        case '"': n += attr ? 6 : 1; break;
        case '\n': n += attr ? 5 : 1; break;
        case '\t': n += attr ? 4 : 1; break;
        default:
            if (*s >= 0x80)
                return (size_t)-1;
            n++;
        }
    }
    return n;
}

static char *put(char *o, const char *s, size_t n)
{
    memcpy(o, s, n);
    return o + n;
}

static char *put_escaped(char *o, const xmlChar *s, bool attr)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': o = put(o, "&lt;", 4); break;
        case '>': o = put(o, "&gt;", 4); break;
        case '&': o = put(o, "&amp;", 5); break;
        case '\r': o = put(o, "&#13;", 5); break;
        case '"': o = attr ? put(o, "&quot;", 6) : put(o, "\"", 1); break;
        case '\n': o = attr ? put(o, "&#10;", 5) : put(o, "\n", 1); break;
        case '\t': o = attr ? put(o, "&#9;", 4) : put(o, "\t", 1); break;
        default: *o++ = (char)*s;
        }
    }
    return o;
}

static bool plain_text(const xmlNode *t)
{
    return t->type == XML_TEXT_NODE && t->name == xmlStringText;
}

/* The length of N written (named AS when AS is not NULL), or (size_t)-1 when N is not
 * plain. */
static size_t plain_len(const xmlNode *n, const char *as, int depth)
{
    if (plain_text(n))
        return escaped_len(n->content, false);
    if (n->type != XML_ELEMENT_NODE || n->ns || n->nsDef || depth > PLAIN_DEPTH)
        return (size_t)-1;
    size_t name = strlen(as ? as : (const char *)n->name);
    size_t len = 1 + name + (n->children ? 4 + name : 2); /* <a>..</a> or <a/> */
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        if (a->ns)
            return (size_t)-1;
        len += 4 + strlen((const char *)a->name); /*  a="" */
        for (const xmlNode *t = a->children; t; t = t->next) {
            size_t l = plain_text(t) ? escaped_len(t->content, true) : (size_t)-1;
            if (l == (size_t)-1)
                return l;
            len += l;
        }
    }
    for (const xmlNode *c = n->children; c; c = c->next) {
        size_t l = plain_len(c, NULL, depth + 1);
        if (l == (size_t)-1)
            return l;
        len += l;
    }
    return len;
}

static char *plain_write(const xmlNode *n, const char *as, char *o)
{
    if (plain_text(n))
        return put_escaped(o, n->content, false);
    if (!as)
        as = (const char *)n->name;
    size_t name = strlen(as);
    *o++ = '<';
    o = put(o, as, name);
    for (const xmlAttr *a = n->properties; a; a = a->next) {
        *o++ = ' ';
        o = put(o, (const char *)a->name, strlen((const char *)a->name));
        o = put(o, "=\"", 2);
        for (const xmlNode *t = a->children; t; t = t->next)
            o = put_escaped(o, t->content, true);
        *o++ = '"';
    }
    if (!n->children)
        return put(o, "/>", 2);
    *o++ = '>';
    for (const xmlNode *c = n->children; c; c = c->next)
        o = plain_write(c, NULL, o);
    o = put(o, "</", 2);
    o = put(o, as, name);
    *o++ = '>';
    return o;
}

/* N written here when it is a plain element and FLAGS ask for neither formatting nor a
 * declaration; else NULL with *fallback set. */
static char *plain_string(xmlNodePtr n, unsigned flags, size_t *len, bool *fallback)
{
    *fallback = true;
    if ((flags & (PU_XML_FORMAT | PU_XML_DECL)) || n->type != XML_ELEMENT_NODE ||
        (n->doc && n->doc->type != XML_DOCUMENT_NODE))
        return NULL;
    size_t l = plain_len(n, NULL, 0);
    if (l == (size_t)-1)
        return NULL;
    *fallback = false;
    char *text = malloc(l + 1);
    if (!text)
        return NULL;
    char *end = plain_write(n, NULL, text);
    *end = 0;
    if (len)
        *len = (size_t)(end - text);
    return text;
}

char *pu_xml_plain_wrapped(const char *outer, xmlNodePtr n, const char *as, size_t *len, bool *plain)
{
    *plain = false;
    if (!n || n->type != XML_ELEMENT_NODE || (n->doc && n->doc->type != XML_DOCUMENT_NODE))
        return NULL;
    size_t l = plain_len(n, as, 0);
    if (l == (size_t)-1)
        return NULL;
    *plain = true;
    size_t o = strlen(outer);
    char *text = malloc(l + 2 * o + 6);
    if (!text)
        return NULL;
    char *end = text;
    *end++ = '<';
    end = put(end, outer, o);
    *end++ = '>';
    end = plain_write(n, as, end);
    end = put(end, "</", 2);
    end = put(end, outer, o);
    *end++ = '>';
    *end = 0;
    if (len)
        *len = (size_t)(end - text);
    return text;
}

/* libxml2 itself, through this thread's save context. */
static char *saved_string(xmlNodePtr n, unsigned flags, size_t *len);

char *pu_xml_string(xmlNodePtr n, unsigned flags, size_t *len)
{
    bool fallback = true;
    char *text = n ? plain_string(n, flags, len, &fallback) : NULL;
    return fallback ? saved_string(n, flags, len) : text;
}

static char *saved_string(xmlNodePtr n, unsigned flags, size_t *len)
{
    unsigned kind = flags & (KINDS - 1);
    saver *s = n ? this_thread() : NULL;
    xmlSaveCtxtPtr c = s ? context(s, kind) : NULL;
    if (!c)
        return NULL;
    s->out = (sink_buf){0};
    xmlSaveTree(c, n); /* its result is the context's running total: not a status */
    bool ok = xmlSaveFlush(c) >= 0 && !s->out.failed;
    /* room for the NUL and the newline a formatted text may need */
    ok = ok && PU_GROW(s->out.p, s->out.cap, s->out.n + 2) == 0;
    char *text = s->out.p;
    size_t l = s->out.n;
    s->out = (sink_buf){0};
    s->written[kind] += l;
    if (!ok) {
        drop_context(s, kind);
        free(text);
        return NULL;
    }
    if ((kind & PU_XML_FORMAT) && (l == 0 || text[l - 1] != '\n'))
        text[l++] = '\n';
    text[l] = 0;
    if (len)
        *len = l;
    return text;
}
