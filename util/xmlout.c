/*
 * xmlout.c -- serialising through a save context kept per thread and per kind of output
 * (see xmlout.h).  libxml2 writes into the context's output buffer, which hands what it
 * holds to sink() when it fills and when flushed; the text collected is the caller's.
 * A context that met an error is closed and made again: libxml2 never writes through
 * an output buffer again once it has failed.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

char *pu_xml_string(xmlNodePtr n, unsigned flags, size_t *len)
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
