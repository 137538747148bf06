/*
 * batch_xml.c -- the XML inputs of `provost batch`, streamed with libxml2's xmlTextReader
 * so that a file of a million requests never sits in memory whole: one request is expanded
 * at a time, copied into a document of its own (which a worker thread may then use and
 * free), and the reader frees it as it moves on.
 *
 * A file is one of:
 *   - a <request>: one item, or one per <data> when it holds several (each part gets the
 *     request's globalData, context and procedure, as SPEC §10 splits a batch).  The
 *     context and procedure follow the data in a request, so such a file is read twice:
 *     once for everything but the data, once for the data;
 *   - in call mode, a <data> document: one item;
 *   - anything else: a container whose child elements are the requests (in call mode, data
 *     documents or requests without a procedure); a request with several data is split
 *     the same way.
 *
 * Malformed XML in a container costs one item, not the rest of the file.  The reader stops
 * at a well-formedness error, and may have read up to a chunk past the end of the request
 * it was expanding; so the request the error belongs to is found in the text: from where
 * the reader started, element boundaries are counted (tags, comments, CDATA, processing
 * instructions; quotes in tags) up to the request the reader was at.  If that request's
 * text ends before the error and parses on its own, it is an item like any other;
 * otherwise it is an invalid item with the error's line.  Reading then starts again after
 * it (or at the next `<request` after the error), inside a root element made like the
 * original one (same name, same namespace declarations).  Restarts need an encoding where
 * markup is ASCII (UTF-8, ISO-8859-x, ...); in UTF-16 the rest of the file is lost.
 * That recovery is batch_recover.c.
 */
#define _GNU_SOURCE /* vasprintf */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/xmlreader.h>
#include <libxml/xmlsave.h>

#include "rbatch_xml.h"
#include "util/xmlout.h"

/* ---- items ---------------------------------------------------------------------------- */

void batch_item_clear(batch_item *it)
{
    if (it->doc)
        xmlFreeDoc(it->doc);
    free(it->text);
    free(it->client);
    free(it->error);
    memset(it, 0, sizeof *it);
}

int batch_item_invalid(batch_item *it, const char *fmt, ...)
{
    uint64_t pos = it->pos;
    unsigned input = it->input;
    unsigned long line = it->line;
    batch_item_clear(it);
    it->pos = pos;
    it->input = input;
    it->line = line;
    it->kind = BATCH_INVALID;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&it->error, fmt, ap);
    va_end(ap);
    if (n < 0) {
        it->error = NULL;
        return -1;
    }
    return 0;
}

static bool named(xmlNodePtr n, const char *local)
{
    return n && n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST local);
}

static xmlNodePtr child_named(xmlNodePtr n, const char *local)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (named(c, local))
            return c;
    return NULL;
}

static size_t count_data(xmlNodePtr req)
{
    size_t n = 0;
    for (xmlNodePtr c = req->children; c; c = c->next)
        n += named(c, "data");
    return n;
}

/* clientContext/@clientTransactionId of a request document, malloc'd, or NULL. */
static char *client_id(xmlDocPtr doc)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!named(root, "request"))
        return NULL;
    xmlNodePtr cc = child_named(child_named(root, "context"), "clientContext");
    xmlChar *v = cc ? xmlGetProp(cc, BAD_CAST "clientTransactionId") : NULL;
    char *s = v ? strdup((const char *)v) : NULL;
    xmlFree(v);
    return s;
}

/* Finishes an item from doc (consumed): a request document, or in call mode its text. */
static int make_item(batch_xml *x, batch_item *it, xmlDocPtr doc, unsigned long line)
{
    it->input = x->input;
    it->line = line;
    if (x->count_only) {
        if (doc)
            xmlFreeDoc(doc);
        return 1;
    }
    if (!doc)
        return batch_item_invalid(it, "out of memory"), 1;
    it->client = client_id(doc);
    if (!x->call_mode) {
        it->kind = BATCH_REQUEST;
        it->doc = doc;
        return 1;
    }
    it->kind = BATCH_CALL;
    it->text = pu_xml_string((xmlNodePtr)doc, 0, &it->len);
    xmlFreeDoc(doc);
    if (!it->text)
        batch_item_invalid(it, "out of memory");
    return 1;
}

/* A document holding a copy of req with, of its <data> children, only data. */
static xmlDocPtr copy_request(xmlNodePtr req, xmlNodePtr data)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = doc ? xmlDocCopyNode(req, doc, 2) : NULL;
    if (!root) {
        xmlFreeDoc(doc);
        return NULL;
    }
    xmlDocSetRootElement(doc, root);
    for (xmlNodePtr c = req->children; c; c = c->next) {
        if (named(c, "data") && c != data)
            continue;
        xmlNodePtr cp = xmlDocCopyNode(c, doc, 1);
        if (!cp) {
            xmlFreeDoc(doc);
            return NULL;
        }
        xmlAddChild(root, cp);
    }
    return doc;
}

static xmlDocPtr copy_element(xmlNodePtr n)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr root = doc ? xmlDocCopyNode(n, doc, 1) : NULL;
    if (!root) {
        xmlFreeDoc(doc);
        return NULL;
    }
    xmlDocSetRootElement(doc, root);
    return doc;
}

static void insert_at(xmlNodePtr top, size_t anchor, xmlNodePtr n)
{
    xmlNodePtr c = top->children;
    for (size_t i = 0; i < anchor && c; i++)
        c = c->next;
    if (c)
        xmlAddPrevSibling(c, n);
    else
        xmlAddChild(top, n);
}

/* ---- the reader ----------------------------------------------------------------------- */

static int feed(void *ctx, char *buf, int len)
{
    batch_xml *x = ctx;
    if (len <= 0)
        return 0;
    if (x->prefix_pos < x->prefix_len) {
        size_t n = x->prefix_len - x->prefix_pos;
        if (n > (size_t)len)
            n = (size_t)len;
        memcpy(buf, x->prefix + x->prefix_pos, n);
        x->prefix_pos += n;
        return (int)n;
    }
    for (;;) {
        ssize_t n = pread(x->fd, buf, (size_t)len, x->read_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        x->read_off += n;
        return (int)n;
    }
}

static int feed_close(void *ctx)
{
    (void)ctx;
    return 0;
}

/* A reader over the file from offset, after prefix (a start tag on one line, or ""). */
int bxml_start_reader(batch_xml *x, off_t offset, unsigned long line, const char *prefix)
{
    if (x->r)
        xmlFreeTextReader(x->r);
    x->r = NULL;
    free(x->prefix);
    x->prefix = strdup(prefix);
    if (!x->prefix)
        return -1;
    x->prefix_len = strlen(prefix);
    x->prefix_pos = 0;
    x->prefix_chars = 0;
    for (const unsigned char *p = (const unsigned char *)prefix; *p; p++)
        x->prefix_chars += (*p & 0xC0) != 0x80;
    x->base_off = x->read_off = offset;
    x->base_line = x->line_base = line;
    x->passed = 0;
    memset(&x->err, 0, sizeof x->err);
    x->need_next = false;
    x->r = xmlReaderForIO(feed, feed_close, x, x->path, x->encoding, PROVOST_XML_OPTIONS);
    if (!x->r)
        return -1;
    xmlTextReaderSetStructuredErrorHandler(x->r, provost_xml_keep_error, &x->err);
    return 0;
}

batch_xml *batch_xml_open(const char *path, unsigned input, bool call_mode, bool count_only, char *err,
                          size_t errlen)
{
    batch_xml *x = calloc(1, sizeof *x);
    if (!x || !(x->path = strdup(path))) {
        free(x);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    x->input = input;
    x->call_mode = call_mode;
    x->count_only = count_only;
    x->restart_at = -1;
    x->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (x->fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        batch_xml_close(x);
        return NULL;
    }
    if (bxml_start_reader(x, 0, 1, "") != 0) {
        snprintf(err, errlen, "out of memory");
        batch_xml_close(x);
        return NULL;
    }
    return x;
}

void batch_xml_close(batch_xml *x)
{
    if (!x)
        return;
    if (x->r)
        xmlFreeTextReader(x->r);
    if (x->shell)
        xmlFreeDoc(x->shell);
    if (x->standalone)
        xmlFreeDoc(x->standalone);
    if (x->fd >= 0)
        close(x->fd);
    free(x->prefix);
    free(x->encoding);
    free(x->root_tag);
    free(x->root_name);
    free(x->path);
    free(x);
}

/* ---- reading -------------------------------------------------------------------------- */

/* "<name attributes...>" of the reader's current (root) element: a restart reads the rest
 * of the file inside one like it, with the same namespace declarations. */
static void keep_root(batch_xml *x)
{
    free(x->root_tag);
    free(x->root_name);
    x->root_tag = x->root_name = NULL;
    xmlBufferPtr b = xmlBufferCreate();
    if (!b)
        return;
    xmlBufferCCat(b, "<");
    xmlBufferCat(b, xmlTextReaderConstName(x->r));
    while (xmlTextReaderMoveToNextAttribute(x->r) == 1) {
        xmlBufferCCat(b, " ");
        xmlBufferCat(b, xmlTextReaderConstName(x->r));
        xmlBufferCCat(b, "=");
        xmlBufferWriteQuotedString(b, xmlTextReaderConstValue(x->r));
    }
    xmlTextReaderMoveToElement(x->r);
    xmlBufferCCat(b, ">");
    x->root_tag = strdup((const char *)xmlBufferContent(b));
    x->root_name = strdup((const char *)xmlTextReaderConstName(x->r));
    xmlBufferFree(b);
}

static int reader_step(batch_xml *x)
{
    int rc = x->need_next ? xmlTextReaderNext(x->r) : xmlTextReaderRead(x->r);
    x->need_next = false;
    if (x->err.have)
        return -1;
    return rc;
}

/* Reads on to the end of the document: 0, or -1 on a well-formedness error. */
static int read_to_end(batch_xml *x)
{
    int rc;
    while ((rc = reader_step(x)) == 1)
        ;
    return rc;
}

/* The root is a <request>: pass 1 reads everything but its data (and checks the whole
 * file).  One data or none: the request is the item.  Several: pass 2 yields them. */
static int single_request(batch_xml *x, batch_item *it)
{
    x->single = true;
    xmlNodePtr rootnode = xmlTextReaderCurrentNode(x->r);
    unsigned long line = file_line(x, xmlGetLineNo(rootnode)), first_line = line;
    bool empty = xmlTextReaderIsEmptyElement(x->r) == 1;
    xmlDocPtr shell = NULL;
    xmlNodePtr top = NULL, first = NULL;
    size_t anchor = 0, ndata = 0, nkids = 0;
    if (!x->count_only) {
        shell = xmlNewDoc(BAD_CAST "1.0");
        top = shell ? xmlDocCopyNode(rootnode, shell, 2) : NULL;
        if (!top) {
            xmlFreeDoc(shell);
            x->mode = M_DONE;
            it->input = x->input;
            it->line = line;
            return batch_item_invalid(it, "out of memory"), 1;
        }
        xmlDocSetRootElement(shell, top);
    }
    while (!empty) {
        int rc = reader_step(x);
        if (rc == 0)
            break;
        if (rc < 0) {
            xmlFreeNode(first);
            xmlFreeDoc(shell);
            return bxml_recover(x, it, false);
        }
        if (xmlTextReaderDepth(x->r) != 1 || xmlTextReaderNodeType(x->r) != XML_READER_TYPE_ELEMENT)
            continue;
        bool is_data = xmlStrEqual(xmlTextReaderConstLocalName(x->r), BAD_CAST "data");
        ndata += is_data;
        x->need_next = true;
        if (x->count_only || (is_data && ndata > 1))
            continue; /* Next() skips the subtree */
        xmlNodePtr n = xmlTextReaderExpand(x->r);
        if (!n || x->err.have) {
            xmlFreeNode(first);
            xmlFreeDoc(shell);
            return bxml_recover(x, it, true);
        }
        xmlNodePtr cp = xmlDocCopyNode(n, shell, 1);
        if (!cp)
            continue;
        if (is_data) {
            first = cp;
            first_line = file_line(x, xmlGetLineNo(n));
            anchor = nkids;
        } else {
            xmlAddChild(top, cp);
            nkids++;
        }
    }
    if (!empty && read_to_end(x) != 0) {
        xmlFreeNode(first);
        xmlFreeDoc(shell);
        return bxml_recover(x, it, false);
    }
    if (x->count_only) {
        x->mode = M_COUNT;
        x->count_left = ndata ? ndata : 1;
        return -1; /* read on */
    }
    if (ndata <= 1) {
        if (first)
            insert_at(top, anchor, first);
        x->mode = M_DONE;
        return make_item(x, it, shell, ndata ? first_line : line);
    }
    xmlFreeNode(first);
    x->shell = shell;
    x->data_anchor = anchor;
    if (bxml_start_reader(x, 0, 1, "") != 0) {
        x->mode = M_DONE;
        it->input = x->input;
        it->line = line;
        return batch_item_invalid(it, "out of memory"), 1;
    }
    x->mode = M_PASS2;
    return -1;
}

/* In call mode, the root is a <data>: the document is the item. */
static int single_data(batch_xml *x, batch_item *it)
{
    x->single = true;
    xmlNodePtr n = xmlTextReaderExpand(x->r);
    if (!n || x->err.have)
        return bxml_recover(x, it, true);
    unsigned long line = file_line(x, xmlGetLineNo(n));
    xmlDocPtr doc = x->count_only ? NULL : copy_element(n);
    x->need_next = true;
    if (read_to_end(x) != 0) {
        if (doc)
            xmlFreeDoc(doc);
        return bxml_recover(x, it, false);
    }
    x->mode = M_DONE;
    return make_item(x, it, doc, line);
}

/* The next part of the request being split. */
static int next_part(batch_xml *x, batch_item *it)
{
    xmlNodePtr d = x->split_next, after = d->next;
    while (after && !named(after, "data"))
        after = after->next;
    x->split_next = after;
    unsigned long line = file_line(x, xmlGetLineNo(d));
    xmlDocPtr doc = x->count_only ? NULL : copy_request(d->parent, d);
    if (!after)
        x->split = NULL;
    return make_item(x, it, doc, line);
}

/* An item of a child element n of a container's root (the reader's, or a standalone). */
int bxml_element_item(batch_xml *x, batch_item *it, xmlNodePtr n)
{
    while (n && n->type != XML_ELEMENT_NODE)
        n = n->next;
    it->input = x->input;
    it->line = file_line(x, n ? xmlGetLineNo(n) : 1);
    if (!n)
        return batch_item_invalid(it, "no element"), 1;
    bool is_request = named(n, "request"), is_data = named(n, "data");
    if (!is_request && !(is_data && x->call_mode)) {
        if (is_data)
            batch_item_invalid(it, "a <data> outside a <request>: give --call NAMESPACE PROCEDURE to call a "
                                   "procedure with data documents");
        else
            batch_item_invalid(it, "<%s> is not a request: expected <request>%s", (const char *)n->name,
                               x->call_mode ? " or <data>" : "");
        return 1;
    }
    if (is_request && count_data(n) > 1) {
        x->split = n;
        x->split_next = child_named(n, "data");
        return next_part(x, it);
    }
    return make_item(x, it, x->count_only ? NULL : copy_element(n), it->line);
}

/* The root element (M_START): an item, or -1 to read on (a container's root). */
static int root_element(batch_xml *x, batch_item *it, const xmlChar *name)
{
    if (!x->encoding) {
        const xmlChar *enc = xmlTextReaderConstEncoding(x->r);
        x->encoding = enc ? strdup((const char *)enc) : NULL;
    }
    if (xmlStrEqual(name, BAD_CAST "request")) {
        int r = single_request(x, it);
        return r >= 0 ? r : -1;
    }
    if (xmlStrEqual(name, BAD_CAST "data")) {
        if (x->call_mode)
            return single_data(x, it);
        x->single = true;
        x->mode = M_DONE;
        it->input = x->input;
        it->line = file_line(x, xmlGetLineNo(xmlTextReaderCurrentNode(x->r)));
        return batch_item_invalid(it, "a <data> document: give --call NAMESPACE PROCEDURE to call a "
                                      "procedure with it"),
               1;
    }
    keep_root(x);
    x->mode = M_CONTAINER;
    return -1;
}

/* A child of a <request> root with several data (M_PASS2): an item per <data>, or -1. */
static int pass2_element(batch_xml *x, batch_item *it, const xmlChar *name)
{
    x->need_next = true;
    if (!xmlStrEqual(name, BAD_CAST "data"))
        return -1;
    xmlNodePtr n = xmlTextReaderExpand(x->r);
    if (!n || x->err.have)
        return bxml_recover(x, it, true);
    unsigned long line = file_line(x, xmlGetLineNo(n));
    xmlDocPtr doc = xmlCopyDoc(x->shell, 1);
    xmlNodePtr cp = doc ? xmlDocCopyNode(n, doc, 1) : NULL;
    if (cp) {
        insert_at(xmlDocGetRootElement(doc), x->data_anchor, cp);
    } else if (doc) {
        xmlFreeDoc(doc);
        doc = NULL;
    }
    return make_item(x, it, doc, line);
}

/* A child of a container's root (M_CONTAINER): always an item. */
static int container_element(batch_xml *x, batch_item *it, const xmlChar *name)
{
    x->passed++;
    x->need_next = true;
    bool wanted = xmlStrEqual(name, BAD_CAST "request") || xmlStrEqual(name, BAD_CAST "data");
    if (!wanted) /* not a request: no need to read it in */
        return bxml_element_item(x, it, xmlTextReaderCurrentNode(x->r));
    xmlNodePtr n = xmlTextReaderExpand(x->r);
    if (!n || x->err.have)
        return bxml_recover(x, it, true);
    return bxml_element_item(x, it, n);
}

/* Before reading on: a split request's next part, the end of a request parsed alone, or
 * the parts left to count.  An item (or 0 at the end), or -1 to read on. */
static int pending(batch_xml *x, batch_item *it)
{
    if (x->split)
        return next_part(x, it);
    if (x->restart_at >= 0) { /* a request parsed alone after an error is done */
        off_t at = x->restart_at;
        x->restart_at = -1;
        if (x->standalone)
            xmlFreeDoc(x->standalone);
        x->standalone = NULL;
        if (bxml_restart(x, at, x->restart_line) != 0)
            return 0;
    }
    if (x->mode == M_DONE)
        return 0;
    if (x->mode == M_COUNT) {
        if (!x->count_left) {
            x->mode = M_DONE;
            return 0;
        }
        x->count_left--;
        it->input = x->input;
        return 1;
    }
    return -1;
}

static int next_item(batch_xml *x, batch_item *it)
{
    memset(it, 0, sizeof *it);
    for (;;) {
        int r = pending(x, it);
        if (r >= 0)
            return r;
        int rc = reader_step(x);
        if (rc == 0) {
            bool nothing = x->mode == M_START;
            x->mode = M_DONE;
            if (!nothing)
                return 0;
            it->input = x->input;
            it->line = 1;
            return batch_item_invalid(it, "the file holds no XML element"), 1;
        }
        if (rc < 0)
            return bxml_recover(x, it, false);
        if (xmlTextReaderNodeType(x->r) == XML_READER_TYPE_DOCUMENT_TYPE)
            x->dtd = true;
        if (xmlTextReaderNodeType(x->r) != XML_READER_TYPE_ELEMENT)
            continue;
        int depth = xmlTextReaderDepth(x->r);
        const xmlChar *name = xmlTextReaderConstLocalName(x->r);
        if (x->mode == M_START)
            r = root_element(x, it, name);
        else if (depth == 1 && x->mode == M_CONTAINER)
            r = container_element(x, it, name);
        else if (depth == 1 && x->mode == M_PASS2)
            r = pass2_element(x, it, name);
        if (r >= 0)
            return r;
    }
}

/* The streaming reader cannot be stopped at a DOCTYPE as provost_xml_read stops (it has
 * no parser context to hook): it reads the file on (declarations are stored, never
 * expanded: references stay references), and every request of the file is refused with
 * the message run and call give, one result line each. */
int batch_xml_next(batch_xml *x, batch_item *it)
{
    int rc = next_item(x, it);
    if (rc == 1 && x->dtd && !x->count_only && it->kind != BATCH_INVALID)
        batch_item_invalid(it, "%s", provost_xml_no_dtd);
    return rc;
}
