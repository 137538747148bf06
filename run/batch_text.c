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

#include "rbatch.h"

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

/* Skips blanks; true when what follows starts a <request> or an end tag (the cursor is
 * moved on: the caller is done with it). */
static bool request_or_end_follows(cursor *c)
{
    int ch;
    while ((ch = cursor_get(c)) == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
        ;
    if (ch != '<')
        return ch < 0;
    char name[9] = {0};
    for (size_t k = 0; k < 8 && (ch = cursor_get(c)) >= 0; k++) {
        name[k] = (char)ch;
        if (k == 0 && ch == '/')
            return true;
    }
    return strncmp(name, "request", 7) == 0 &&
           (name[7] == ' ' || name[7] == '>' || name[7] == '/' || name[7] == '\t' || name[7] == '\r' || name[7] == '\n');
}

/* The local name of a start tag whose first character is first, read up to the blank,
 * '/' or '>' that ends it (that character is left to the caller as *after). */
static void tag_name(cursor *c, int first, char *name, size_t cap, int *after)
{
    size_t k = 0;
    int t = first;
    while (t >= 0 && t != ' ' && t != '\t' && t != '\r' && t != '\n' && t != '/' && t != '>') {
        if (t == ':')
            k = 0; /* the local name, after a prefix */
        else if (k + 1 < cap)
            name[k++] = (char)t;
        t = cursor_get(c);
    }
    name[k] = 0;
    *after = t;
}

/* Past a comment, a CDATA section or a declaration, after its "<!": false at the end. */
static bool skip_declaration(cursor *c)
{
    char head[8] = {0};
    size_t k = 0;
    int h;
    while (k < 7 && (h = cursor_get(c)) >= 0) {
        head[k++] = (char)h;
        if (k == 2 && memcmp(head, "--", 2) == 0)
            break;
    }
    return strcmp(head, "--") == 0        ? cursor_skip_past(c, "-->")
           : strcmp(head, "[CDATA[") == 0 ? cursor_skip_past(c, "]]>")
                                          : cursor_skip_past(c, ">");
}

/* A start tag whose name starts with first: its name, then to its '>', past quoted values
 * (*empty: it ends with "/>").  False when the file ends first. */
static bool start_tag(cursor *c, int first, char *name, size_t cap, bool *empty)
{
    int t;
    tag_name(c, first, name, cap, &t);
    int quote = 0, prev = t;
    bool closed = t == '>';
    while (!closed && t >= 0 && (t = cursor_get(c)) >= 0) {
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
    *empty = prev == '/';
    return closed;
}

void batch_text_find_child(int fd, off_t off, int depth, unsigned skip, batch_child *out)
{
    cursor *c = malloc(sizeof *c);
    memset(out, 0, sizeof *out);
    out->start = out->end = out->nested = -1;
    if (!c)
        return;
    cursor_at(c, fd, off);
    unsigned seen = 0;
    bool in_target = false;
    char top[16] = ""; /* the local name of the element open at depth 1 */
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
            if (!skip_declaration(c))
                break;
            continue;
        }
        if (next == '/') {
            if (!cursor_skip_past(c, ">"))
                break;
            if (depth > 1) /* an end tag at depth 1 is the root's, or stray: children go on */
                depth--;
            if (in_target && depth == 1) {
                out->end = cursor_pos(c);
                break;
            }
            continue;
        }
        if (!((next >= 'A' && next <= 'Z') || (next >= 'a' && next <= 'z') || next == '_' || next == ':' ||
              next >= 0x80)) {
            if (next == '<')
                c->i--; /* a bare '<' in text: this one may start a tag */
            continue;
        }
        /* a start tag: its name, then to its '>', past quoted values */
        char name[16];
        bool empty;
        if (!start_tag(c, next, name, sizeof name, &empty))
            break;
        if (depth == 2 && strcmp(name, "request") == 0 && strcmp(top, "data") != 0) {
            /* requests never nest: the element open at depth 1 was not closed */
            if (in_target) {
                off_t tag_end = cursor_pos(c);
                out->nested = at;
                if (!empty && strcmp(top, "request") == 0 && request_or_end_follows(c)) {
                    out->how = BATCH_MISTYPED; /* "<request>" typed for "</request>" */
                    out->end = tag_end;
                } else {
                    out->how = BATCH_UNCLOSED;
                    out->end = at;
                }
                break;
            }
            depth = 1;
        }
        if (depth == 1) {
            snprintf(top, sizeof top, "%s", name);
            if (!in_target && seen++ == skip) {
                in_target = true;
                out->start = at;
                if (empty) {
                    out->end = cursor_pos(c);
                    break;
                }
            }
        }
        if (!empty)
            depth++;
    }
    free(c);
}

int batch_text_root(int fd, off_t *at, off_t *after, char **tag, char **name)
{
    cursor *c = malloc(sizeof *c);
    *tag = *name = NULL;
    *at = *after = -1;
    if (!c)
        return -1;
    cursor_at(c, fd, 0);
    int ch, rc = -1;
    while ((ch = cursor_get(c)) >= 0) {
        if (ch != '<')
            continue;
        off_t lt = cursor_pos(c) - 1;
        int next = cursor_get(c);
        if (next == '?' || next == '!') { /* the declaration, comments, a DOCTYPE */
            const char *end = next == '?' ? "?>" : ">";
            if (next == '!' && (ch = cursor_get(c)) == '-')
                end = "-->";
            if (!cursor_skip_past(c, end))
                break;
            continue;
        }
        /* the root's start tag, on one line */
        size_t cap = 256, n = 0;
        char *b = malloc(cap);
        int quote = 0, t = next;
        bool closed = false;
        if (b)
            b[n++] = '<';
        for (; b && t >= 0; t = cursor_get(c)) {
            if (n + 2 >= cap) {
                char *nb = cap < ((size_t)1 << 20) ? realloc(b, cap * 2) : NULL;
                if (!nb) {
                    free(b);
                    b = NULL;
                    break;
                }
                b = nb;
                cap *= 2;
            }
            b[n++] = (char)(t == '\r' || t == '\n' || t == '\t' ? ' ' : t);
            if (quote && t == quote)
                quote = 0;
            else if (!quote && (t == '"' || t == '\''))
                quote = t;
            else if (!quote && t == '>') {
                closed = true;
                break;
            }
        }
        if (b && closed && n >= 3 && b[n - 2] != '/') {
            b[n] = 0;
            size_t k = strcspn(b + 1, " />");
            *name = strndup(b + 1, k);
            *tag = b;
            *at = lt;
            *after = cursor_pos(c);
            rc = *name ? 0 : -1;
            if (rc)
                free(b), *tag = NULL;
        } else {
            free(b);
        }
        break;
    }
    free(c);
    return rc;
}

bool batch_text_blank_from(int fd, off_t off)
{
    cursor *c = malloc(sizeof *c);
    if (!c)
        return false;
    cursor_at(c, fd, off);
    int ch;
    while ((ch = cursor_get(c)) == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
        ;
    free(c);
    return ch < 0;
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

