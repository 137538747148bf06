/*
 * batch_recover.c -- after a well-formedness error in an XML input of `provost batch`:
 * which child of the root the error belongs to (found in the text, batch_text.c), the
 * item it becomes (the request itself when it parses on its own, else an invalid one with
 * the error's line and column), and where the reader starts again.  See batch_xml.c.
 */
#define _GNU_SOURCE /* pread */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "rbatch_xml.h"

int bxml_restart(batch_xml *x, off_t off, unsigned long line)
{
    if (batch_text_blank_from(x->fd, off)) { /* nothing left: not even the root's end */
        x->mode = M_DONE;
        return 0;
    }
    if (bxml_start_reader(x, off, line, x->root_tag ? x->root_tag : "<requests>") != 0) {
        x->mode = M_DONE;
        return -1;
    }
    x->mode = M_CONTAINER;
    return 0;
}

/* Restarts at the next request after the error (or after from), or ends the file. */
static void restart_after(batch_xml *x, off_t from)
{
    off_t e = batch_text_offset(x->fd, x->base_off, x->err.line, x->err.col, x->prefix_chars);
    if (e < from)
        e = from;
    off_t next = e >= 0 ? batch_text_next_tag(x->fd, e, x->call_mode) : -1;
    if (next < 0) {
        x->mode = M_DONE;
        return;
    }
    bxml_restart(x, next, x->base_line + batch_text_lines(x->fd, x->base_off, next));
}

/* The text [start, end) parsed on its own, inside the root: NULL with *e on error. */
static xmlDocPtr parse_alone(batch_xml *x, off_t start, off_t end, provost_xml_error *e)
{
    const char *open_tag = x->root_tag ? x->root_tag : "<requests>";
    const char *name = x->root_name ? x->root_name : "requests";
    size_t lo = strlen(open_tag), ln = strlen(name), len = (size_t)(end - start);
    if (len > (size_t)1 << 30)
        return NULL;
    char *buf = malloc(lo + len + ln + 4);
    if (!buf)
        return NULL;
    memcpy(buf, open_tag, lo);
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(x->fd, buf + lo + got, len - got, start + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    int total = (int)(lo + got);
    total += sprintf(buf + total, "</%s>", name);
    xmlDocPtr doc = provost_xml_read(buf, (size_t)total, x->path, x->encoding, 0, e);
    free(buf);
    if (doc && !doc->children) {
        xmlFreeDoc(doc);
        doc = NULL;
    }
    return doc;
}

/* e as an invalid item: "malformed XML at line L, column C: MESSAGE", in the file's lines
 * and columns (the parse started at base, on base_line, after prefix_chars characters). */
static void malformed(batch_xml *x, batch_item *it, const provost_xml_error *e, off_t base, unsigned long base_line,
                      size_t prefix_chars)
{
    unsigned long line = base_line + (unsigned long)(e->line > 1 ? e->line - 1 : 0);
    long col = e->col;
    if (e->line <= 1 && prefix_chars)
        col = batch_text_column(x->fd, base) + (col - 1 - (long)prefix_chars);
    /* libxml2's "tag mismatch: a line N and b" counts lines from where the parse started */
    char msg[sizeof e->msg];
    snprintf(msg, sizeof msg, "%s", e->msg);
    char *l = strncmp(msg, "Opening and ending tag mismatch: ", 33) == 0 ? strstr(msg, " line ") : NULL;
    if (l) {
        char *d = l + 6;
        while (*d >= '0' && *d <= '9')
            d++;
        if (strncmp(d, " and ", 5) == 0)
            memmove(l, d, strlen(d) + 1);
    }
    it->line = line;
    if (col >= 1)
        batch_item_invalid(it, "malformed XML at line %lu, column %ld: %s", line, col, msg);
    else
        batch_item_invalid(it, "malformed XML at line %lu: %s", line, msg);
}

/* The reader failed before it returned the root element (its first chunk holds a broken
 * request): when the file's text starts with a container root whose start tag ends before
 * the error, it is taken from there, and the requests are found as after any error. */
static bool root_from_text(batch_xml *x)
{
    off_t at, after;
    char *tag, *name;
    if (batch_text_root(x->fd, &at, &after, &tag, &name) != 0)
        return false;
    const char *local = strchr(name, ':') ? strchr(name, ':') + 1 : name;
    off_t err_off = batch_text_offset(x->fd, x->base_off, x->err.line, x->err.col, x->prefix_chars);
    if (strcmp(local, "request") == 0 || strcmp(local, "data") == 0 || err_off < after) {
        free(tag);
        free(name);
        return false;
    }
    free(x->root_tag);
    free(x->root_name);
    x->root_tag = tag;
    x->root_name = name;
    if (!x->encoding) {
        const xmlChar *enc = xmlTextReaderConstEncoding(x->r);
        x->encoding = enc ? strdup((const char *)enc) : NULL;
    }
    x->mode = M_CONTAINER;
    x->passed = 0;
    return true;
}

/* A child of the root that is not closed: an invalid item; reading goes on at the
 * <request> that showed it (or, for a mistyped end tag, after it). */
static int unclosed(batch_xml *x, batch_item *it, const batch_child *ch, unsigned long start_line)
{
    unsigned long line = x->base_line + batch_text_lines(x->fd, x->base_off, ch->nested);
    long col = batch_text_column(x->fd, ch->nested);
    it->line = start_line;
    /* an error inside its text (an element of its own left open) says more */
    provost_xml_error e = {0};
    xmlDocPtr doc = parse_alone(x, ch->start, ch->end, &e);
    if (doc)
        xmlFreeDoc(doc);
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)(x->root_tag ? x->root_tag : "<requests>"); *p; p++)
        chars += (*p & 0xC0) != 0x80;
    off_t at = e.have ? batch_text_offset(x->fd, ch->start, e.line, e.col, chars) : -1;
    if (at >= 0 && at < ch->end && strncmp(e.msg, "Premature end of data", 21) != 0) {
        malformed(x, it, &e, ch->start, start_line, chars);
    } else if (ch->how == BATCH_MISTYPED) {
        batch_item_invalid(it, "malformed XML at line %lu, column %ld: <request> where </request> belongs", line, col);
    } else {
        batch_item_invalid(it, "malformed XML at line %lu, column %ld: the request is not closed before the next <request>",
                           line, col);
    }
    bxml_restart(x, ch->end, start_line + batch_text_lines(x->fd, ch->start, ch->end));
    return 1;
}

/* The reader stopped at an error.  The child of the root it belongs to is found in the
 * text; an item is made of it (an invalid one if it is broken), and reading goes on after
 * it.  Text or a stray tag between children is an invalid item of its own. */
int bxml_recover(batch_xml *x, batch_item *it, bool expanding)
{
    memset(it, 0, sizeof *it);
    it->input = x->input;
    it->line = file_line(x, 1);
    if (!x->err.have)
        snprintf(x->err.msg, sizeof x->err.msg, "the XML reader failed");
    x->split = x->split_next = NULL;
    x->need_next = false;
    if (x->single || !x->err.have || (x->mode == M_START && !root_from_text(x))) {
        /* one request's own file, or the root itself is broken */
        malformed(x, it, &x->err, x->base_off, x->base_line, x->prefix_chars);
        if (x->single || !x->err.have)
            x->mode = M_DONE;
        else
            restart_after(x, x->base_off + 1);
        return 1;
    }
    batch_child ch;
    unsigned skip = expanding && x->passed ? x->passed - 1 : x->passed;
    batch_text_find_child(x->fd, x->base_off, x->prefix_len ? 1 : 0, skip, &ch);
    if (ch.start < 0) { /* after the last request: the end of the root is broken */
        malformed(x, it, &x->err, x->base_off, x->base_line, x->prefix_chars);
        restart_after(x, x->base_off + 1);
        return 1;
    }
    unsigned long start_line = x->base_line + batch_text_lines(x->fd, x->base_off, ch.start);
    off_t err_off = batch_text_offset(x->fd, x->base_off, x->err.line, x->err.col, x->prefix_chars);
    if (err_off >= 0 && ch.start > err_off) {
        /* the error is before the child: in what lies between children */
        malformed(x, it, &x->err, x->base_off, x->base_line, x->prefix_chars);
        bxml_restart(x, ch.start, start_line);
        return 1;
    }
    if (ch.how != BATCH_CLOSED)
        return unclosed(x, it, &ch, start_line);
    if (ch.end >= 0 && (err_off < 0 || ch.end <= err_off)) {
        /* it ends before the error: it may be whole */
        provost_xml_error e = {0};
        xmlDocPtr doc = parse_alone(x, ch.start, ch.end, &e);
        if (doc) {
            x->standalone = doc;
            x->line_base = start_line;
            x->restart_at = ch.end;
            x->restart_line = start_line + batch_text_lines(x->fd, ch.start, ch.end);
            return bxml_element_item(x, it, xmlDocGetRootElement(doc)->children);
        }
        if (e.have) {
            size_t chars = 0;
            for (const unsigned char *p = (const unsigned char *)(x->root_tag ? x->root_tag : "<requests>"); *p; p++)
                chars += (*p & 0xC0) != 0x80;
            malformed(x, it, &e, ch.start, start_line, chars);
            bxml_restart(x, ch.end, start_line + batch_text_lines(x->fd, ch.start, ch.end));
            return 1;
        }
    }
    malformed(x, it, &x->err, x->base_off, x->base_line, x->prefix_chars);
    restart_after(x, ch.start + 1);
    return 1;
}
