/*
 * batch_text.c -- reading an XML input as text, for what the reader cannot tell after a
 * well-formedness error: where each child element of the root starts and ends (counting
 * tags, skipping comments, CDATA sections, processing instructions and quoted attribute
 * values), where the error is, and where the next request starts.
 */
#define _GNU_SOURCE /* pread */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/batch.h"

/* Bytes of the file from an offset, one at a time. */
typedef struct cursor {
    int fd;
    off_t off; /* of buf[0] */
    size_t i, n;
    char buf[65536];
} cursor;

static void cursor_at(cursor *c, int fd, off_t off)
{
    c->fd = fd;
    c->off = off;
    c->i = c->n = 0;
}

static off_t cursor_pos(const cursor *c)
{
    return c->off + (off_t)c->i;
}

static int cursor_get(cursor *c)
{
    if (c->i == c->n) {
        c->off += (off_t)c->n;
        c->i = c->n = 0;
        ssize_t r;
        do
            r = pread(c->fd, c->buf, sizeof c->buf, c->off);
        while (r < 0 && errno == EINTR);
        if (r <= 0)
            return -1;
        c->n = (size_t)r;
    }
    return (unsigned char)c->buf[c->i++];
}

/* Skips up to and past the string end; false at the end of the file. */
static bool cursor_skip_past(cursor *c, const char *end)
{
    size_t len = strlen(end), matched = 0;
    int ch;
    while ((ch = cursor_get(c)) >= 0) {
        if (ch == end[matched]) {
            if (++matched == len)
                return true;
        } else {
            matched = ch == end[0] ? 1 : 0;
        }
    }
    return false;
}

void batch_text_find_child(int fd, off_t off, int depth, unsigned skip, off_t *start, off_t *end)
{
    cursor *c = malloc(sizeof *c);
    *start = *end = -1;
    if (!c)
        return;
    cursor_at(c, fd, off);
    unsigned seen = 0;
    bool in_target = false;
    int ch;
    while ((ch = cursor_get(c)) >= 0) {
        if (ch != '<')
            continue;
        off_t at = cursor_pos(c) - 1;
        int next = cursor_get(c);
        if (next < 0)
            break;
        if (next == '?') {
            if (!cursor_skip_past(c, "?>"))
                break;
            continue;
        }
        if (next == '!') {
            char head[8] = {0};
            size_t k = 0;
            int h;
            while (k < 7 && (h = cursor_get(c)) >= 0) {
                head[k++] = (char)h;
                if (k == 2 && memcmp(head, "--", 2) == 0)
                    break;
            }
            bool ok = strcmp(head, "--") == 0 ? cursor_skip_past(c, "-->")
                      : strcmp(head, "[CDATA[") == 0 ? cursor_skip_past(c, "]]>")
                                                     : cursor_skip_past(c, ">");
            if (!ok)
                break;
            continue;
        }
        if (next == '/') {
            if (!cursor_skip_past(c, ">"))
                break;
            depth--;
            if (in_target && depth == 1) {
                *end = cursor_pos(c);
                break;
            }
            continue;
        }
        /* a start tag: to its '>', past quoted values */
        int quote = 0, prev = next, t;
        bool closed = false;
        while ((t = cursor_get(c)) >= 0) {
            if (quote) {
                if (t == quote)
                    quote = 0;
            } else if (t == '"' || t == '\'') {
                quote = t;
            } else if (t == '>') {
                closed = true;
                break;
            }
            prev = t;
        }
        if (!closed)
            break;
        bool empty = prev == '/';
        if (depth == 1 && !in_target && seen++ == skip) {
            in_target = true;
            *start = at;
            if (empty) {
                *end = cursor_pos(c);
                break;
            }
        }
        if (!empty)
            depth++;
    }
    free(c);
}

unsigned long batch_text_lines(int fd, off_t from, off_t to)
{
    cursor *c = malloc(sizeof *c);
    unsigned long n = 0;
    if (!c)
        return 0;
    cursor_at(c, fd, from);
    int ch;
    while (cursor_pos(c) < to && (ch = cursor_get(c)) >= 0)
        n += ch == '\n';
    free(c);
    return n;
}

off_t batch_text_offset(int fd, off_t base, long line, long col, size_t prefix_chars)
{
    cursor *c = malloc(sizeof *c);
    if (!c)
        return -1;
    cursor_at(c, fd, base);
    long skip = col > 0 ? col - 1 : 0;
    off_t result = -1;
    int ch = 0;
    if (line <= 1) {
        skip -= (long)prefix_chars;
    } else {
        long lines = line - 1;
        while (lines > 0 && (ch = cursor_get(c)) >= 0)
            lines -= ch == '\n';
        if (lines > 0) {
            free(c);
            return -1;
        }
    }
    /* skip characters, not bytes (UTF-8), without passing the end of the line */
    for (;;) {
        off_t at = cursor_pos(c);
        if ((ch = cursor_get(c)) < 0 || ch == '\n' || ((ch & 0xC0) != 0x80 && skip-- <= 0)) {
            result = at;
            break;
        }
    }
    free(c);
    return result;
}

off_t batch_text_next_tag(int fd, off_t off, bool with_data)
{
    cursor *c = malloc(sizeof *c);
    if (!c)
        return -1;
    cursor_at(c, fd, off);
    off_t found = -1;
    int ch;
    while (found < 0 && (ch = cursor_get(c)) >= 0) {
        if (ch != '<')
            continue;
        off_t at = cursor_pos(c) - 1;
        char name[9];
        size_t k = 0;
        int t = 0;
        while (k < 8 && (t = cursor_get(c)) >= 0 && t != '<' && t != ' ' && t != '\t' && t != '\r' && t != '\n' &&
               t != '>' && t != '/')
            name[k++] = (char)t;
        name[k] = 0;
        bool end = t == ' ' || t == '\t' || t == '\r' || t == '\n' || t == '>' || t == '/';
        if (end && (strcmp(name, "request") == 0 || (with_data && strcmp(name, "data") == 0)))
            found = at;
        else if (t == '<')
            c->i--; /* it may start the tag */
    }
    free(c);
    return found;
}

long batch_text_column(int fd, off_t off)
{
    char buf[4096];
    long col = 1;
    while (off > 0) {
        size_t n = off < (off_t)sizeof buf ? (size_t)off : sizeof buf;
        ssize_t r = pread(fd, buf, n, off - (off_t)n);
        if (r != (ssize_t)n)
            break;
        for (size_t i = n; i-- > 0;) {
            if (buf[i] == '\n')
                return col;
            col += (buf[i] & 0xC0) != 0x80;
        }
        off -= (off_t)n;
    }
    return col;
}

