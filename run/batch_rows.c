/*
 * batch_rows.c -- rows of a CSV or JSON Lines file turned into data documents, for
 * `provost batch --call NS PROC --rows FILE`.
 *
 * CSV is RFC 4180: a header row naming the columns, fields separated by commas, records by
 * CRLF or LF, a field in double quotes may hold commas, line breaks and doubled quotes.  A
 * UTF-8 byte order mark is skipped; empty lines are skipped (they are not rows).  JSON
 * Lines: one flat object per line (strings, numbers, true/false, null; an array of them
 * repeats an element); blank lines are skipped.
 *
 * What a row becomes (columns, paths, values): batch_rowxml.c.
 */
#define _GNU_SOURCE /* strndup */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/tree.h>

#include "rbatch.h"
#include "rbatch_rows.h"

/* ---- the files ------------------------------------------------------------------------ */

struct batch_rows {
    char *path;
    unsigned input;
    int format;
    bool count_only;
    int fd;
    char buf[65536];
    size_t pos, n;
    bool eof, failed_read;
    unsigned long line; /* of the next byte */
    /* CSV */
    colspec *cols;
    size_t ncols;
    char *fields;           /* the current record's bytes */
    size_t nfields_b, capfields_b;
    size_t *fstart, *flen;  /* per field */
    bool *fquoted;
    size_t nf, capf;
    /* JSONL: the columns of the current row */
    colspec *jcols;
    size_t njcols, capjcols;
    char *linebuf;
    size_t linelen, linecap;
    rowbuild b;
};

static int rd(batch_rows *r)
{
    if (r->pos == r->n) {
        if (r->eof)
            return -1;
        ssize_t k;
        do
            k = read(r->fd, r->buf, sizeof r->buf);
        while (k < 0 && errno == EINTR);
        if (k <= 0) {
            r->eof = true;
            r->failed_read = k < 0;
            return -1;
        }
        r->n = (size_t)k;
        r->pos = 0;
    }
    return (unsigned char)r->buf[r->pos++];
}

static int peek(batch_rows *r)
{
    int c = rd(r);
    if (c >= 0)
        r->pos--;
    return c;
}

static int field_byte(batch_rows *r, int c)
{
    if (rows_grow((void **)&r->fields, &r->capfields_b, r->nfields_b + 2, 1) != 0)
        return -1;
    r->fields[r->nfields_b++] = (char)c;
    return 0;
}

static int field_start(batch_rows *r)
{
    if (rows_grow((void **)&r->fstart, &r->capf, r->nf + 1, sizeof *r->fstart) != 0)
        return -1;
    size_t cap = r->capf;
    /* the three arrays grow together */
    size_t *nl = realloc(r->flen, cap * sizeof *nl);
    if (!nl)
        return -1;
    r->flen = nl;
    bool *nq = realloc(r->fquoted, cap * sizeof *nq);
    if (!nq)
        return -1;
    r->fquoted = nq;
    r->fstart[r->nf] = r->nfields_b;
    r->flen[r->nf] = 0;
    r->fquoted[r->nf] = false;
    r->nf++;
    return 0;
}

static void field_end(batch_rows *r)
{
    r->flen[r->nf - 1] = r->nfields_b - r->fstart[r->nf - 1];
}

/* One CSV record: 1, or 0 at the end of the file.  *why is set when it is malformed (the
 * record is read to its end all the same). */
static int csv_record(batch_rows *r, unsigned long *line, char *why, size_t whylen)
{
    why[0] = 0;
    for (;;) { /* skip empty lines */
        int c = peek(r);
        if (c == '\n') {
            rd(r);
            r->line++;
        } else if (c == '\r') {
            rd(r);
            if (peek(r) == '\n')
                rd(r);
            r->line++;
        } else {
            break;
        }
    }
    *line = r->line;
    r->nf = 0;
    r->nfields_b = 0;
    if (peek(r) < 0)
        return 0;
    enum { START, PLAIN, QUOTED, AFTER } st = START;
    if (field_start(r) != 0)
        return snprintf(why, whylen, "out of memory"), 1;
    for (;;) {
        int c = rd(r);
        bool eol = c < 0 || c == '\n' || c == '\r';
        if (st == QUOTED) {
            if (c < 0) {
                if (!why[0])
                    snprintf(why, whylen, "a quoted field that starts on line %lu is never closed", *line);
                field_end(r);
                return 1;
            }
            if (c == '"') {
                if (peek(r) == '"') {
                    rd(r);
                    field_byte(r, '"');
                } else {
                    st = AFTER;
                }
                continue;
            }
            if (c == '\n')
                r->line++;
            field_byte(r, c);
            continue;
        }
        if (eol || c == ',') {
            field_end(r);
            if (eol) {
                if (c == '\r' && peek(r) == '\n')
                    rd(r);
                if (c >= 0)
                    r->line++;
                return 1;
            }
            if (field_start(r) != 0)
                return snprintf(why, whylen, "out of memory"), 1;
            st = START;
            continue;
        }
        if (st == START && c == '"') {
            r->fquoted[r->nf - 1] = true;
            st = QUOTED;
            continue;
        }
        if (c == '"' && !why[0])
            snprintf(why, whylen, "field %zu has a quote inside a value that is not quoted (quote the field and "
                     "double the quote)", r->nf);
        if (st == AFTER && !why[0])
            snprintf(why, whylen, "field %zu has text after its closing quote", r->nf);
        field_byte(r, c);
        st = PLAIN;
    }
}

batch_rows *batch_rows_open(const char *path, unsigned input, int format, bool count_only, char *err,
                            size_t errlen)
{
    batch_rows *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path)) || rb_init(&r->b) != 0) {
        if (r)
            batch_rows_close(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->input = input;
    r->format = format;
    r->count_only = count_only;
    r->line = 1;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        batch_rows_close(r);
        return NULL;
    }
    /* a UTF-8 byte order mark */
    if (peek(r) == 0xEF && r->n - r->pos >= 3 && memcmp(r->buf + r->pos, "\xEF\xBB\xBF", 3) == 0)
        r->pos += 3;
    if (format != BATCH_CSV)
        return r;
    char why[300];
    unsigned long line;
    if (csv_record(r, &line, why, sizeof why) == 0) {
        snprintf(err, errlen, "the file is empty: a CSV file starts with a header row naming the columns");
        batch_rows_close(r);
        return NULL;
    }
    if (why[0]) {
        snprintf(err, errlen, "%lu: the header row is malformed: %s", line, why);
        batch_rows_close(r);
        return NULL;
    }
    r->cols = calloc(r->nf, sizeof *r->cols);
    if (!r->cols) {
        snprintf(err, errlen, "out of memory");
        batch_rows_close(r);
        return NULL;
    }
    r->ncols = r->nf;
    for (size_t i = 0; i < r->nf; i++) {
        char name[1024];
        size_t n = r->flen[i] < sizeof name - 1 ? r->flen[i] : sizeof name - 1;
        memcpy(name, r->fields + r->fstart[i], n);
        name[n] = 0;
        const char *problem = memchr(r->fields + r->fstart[i], 0, r->flen[i]) ? "it holds a NUL byte"
                                                                                : batch_column_problem(name);
        if (problem) {
            snprintf(err, errlen, "%lu: column %zu '%s' cannot name an element: %s", line, i + 1, name, problem);
            batch_rows_close(r);
            return NULL;
        }
        if (colspec_make(&r->cols[i], name) != 0) {
            snprintf(err, errlen, "out of memory");
            batch_rows_close(r);
            return NULL;
        }
    }
    return r;
}

void batch_rows_close(batch_rows *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    for (size_t i = 0; i < r->ncols; i++)
        colspec_free(&r->cols[i]);
    free(r->cols);
    free(r->fields);
    free(r->fstart);
    free(r->flen);
    free(r->fquoted);
    for (size_t i = 0; i < r->njcols; i++)
        colspec_free(&r->jcols[i]);
    free(r->jcols);
    free(r->linebuf);
    rb_free(&r->b);
    free(r->path);
    free(r);
}

static int finish_row(batch_rows *r, batch_item *it)
{
    rowbuild *b = &r->b;
    if (rb_write(b) != 0)
        return batch_item_invalid(it, "out of memory"), 1;
    it->kind = BATCH_CALL;
    it->text = malloc(b->nout + 1);
    if (!it->text)
        return batch_item_invalid(it, "out of memory"), 1;
    memcpy(it->text, b->out, b->nout + 1);
    it->len = b->nout;
    return 1;
}

static int csv_next(batch_rows *r, batch_item *it)
{
    char why[300];
    unsigned long line;
    if (csv_record(r, &line, why, sizeof why) == 0) {
        if (!r->failed_read)
            return 0;
        r->failed_read = false;
        it->line = r->line;
        return batch_item_invalid(it, "the rest of the file cannot be read: %s", strerror(EIO)), 1;
    }
    it->line = line;
    if (r->count_only)
        return 1;
    if (why[0])
        return batch_item_invalid(it, "malformed CSV row: %s", why), 1;
    if (r->nf != r->ncols)
        return batch_item_invalid(it, "the row has %zu field%s, the header %zu", r->nf, r->nf == 1 ? "" : "s",
                                  r->ncols),
               1;
    rb_reset(&r->b);
    for (size_t i = 0; i < r->nf; i++) {
        if (!r->flen[i] && !r->fquoted[i])
            continue;
        if (rb_add(&r->b, &r->cols[i], r->fields + r->fstart[i], r->flen[i]) != 0)
            return batch_item_invalid(it, "%s", r->b.problem[0] ? r->b.problem : "out of memory"), 1;
    }
    return finish_row(r, it);
}

/* One line of the file (without its line break): 1, or 0 at the end. */
static int next_line(batch_rows *r)
{
    r->linelen = 0;
    int c;
    bool any = false;
    while ((c = rd(r)) >= 0) {
        any = true;
        if (c == '\n')
            break;
        if (rows_grow((void **)&r->linebuf, &r->linecap, r->linelen + 2, 1) != 0)
            return -1;
        r->linebuf[r->linelen++] = (char)c;
    }
    if (r->linelen && r->linebuf[r->linelen - 1] == '\r')
        r->linelen--;
    if (r->linebuf)
        r->linebuf[r->linelen] = 0;
    return any ? 1 : 0;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

/* The text of a JSON scalar: 1 (with *s, *n; buf holds numbers), 0 null, -1 not a scalar. */
static int scalar(json_t *v, const char **s, size_t *n, char *buf, size_t cap)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        *s = json_string_value(v);
        *n = json_string_length(v);
        return 1;
    case JSON_INTEGER:
        *n = (size_t)snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        *s = buf;
        return 1;
    case JSON_REAL: {
        double d = json_real_value(v);
        for (int prec = 15; prec <= 17; prec++) { /* the shortest that reads back the same */
            *n = (size_t)snprintf(buf, cap, "%.*g", prec, d);
            if (strtod(buf, NULL) == d)
                break;
        }
        *s = buf;
        return 1;
    }
    case JSON_TRUE:
        *s = "true";
        *n = 4;
        return 1;
    case JSON_FALSE:
        *s = "false";
        *n = 5;
        return 1;
    case JSON_NULL:
        return 0;
    default:
        return -1;
    }
}

static int jsonl_next(batch_rows *r, batch_item *it)
{
    for (;;) {
        unsigned long line = r->line;
        int got = next_line(r);
        if (got < 0)
            return it->line = line, batch_item_invalid(it, "out of memory"), 1;
        if (got == 0)
            return 0;
        r->line++;
        if (blank(r->linebuf, r->linelen))
            continue;
        it->line = line;
        if (r->count_only)
            return 1;
        json_error_t je;
        json_t *o = json_loadb(r->linebuf, r->linelen, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
        if (!o)
            return batch_item_invalid(it, "malformed JSON at column %d: %s", je.column, je.text), 1;
        if (!json_is_object(o)) {
            json_decref(o);
            return batch_item_invalid(it, "the line is not a JSON object: a row is one flat object per line"), 1;
        }
        rb_reset(&r->b);
        for (size_t i = 0; i < r->njcols; i++)
            colspec_free(&r->jcols[i]);
        r->njcols = 0;
        const char *key;
        json_t *v;
        json_object_foreach(o, key, v)
        {
            const char *problem = batch_column_problem(key);
            if (problem) {
                batch_item_invalid(it, "key '%s' cannot name an element: %s", key, problem);
                json_decref(o);
                return 1;
            }
            /* the row's nodes point at the names until it is written */
            if (rows_grow((void **)&r->jcols, &r->capjcols, r->njcols + 1, sizeof *r->jcols) != 0 ||
                colspec_make(&r->jcols[r->njcols++], key) != 0) {
                json_decref(o);
                return batch_item_invalid(it, "out of memory"), 1;
            }
            const colspec *c = &r->jcols[r->njcols - 1];
            size_t count = json_is_array(v) ? json_array_size(v) : 1;
            const char *bad = NULL;
            if (json_is_array(v) && c->attr)
                bad = "an attribute takes one value, not an array";
            for (size_t k = 0; k < count && !bad; k++) {
                json_t *e = json_is_array(v) ? json_array_get(v, k) : v;
                char num[64];
                const char *str;
                size_t n;
                int kind = scalar(e, &str, &n, num, sizeof num);
                if (kind < 0)
                    bad = json_is_array(v) ? "an array may only hold strings, numbers, booleans and nulls"
                                           : "it is an object: rows are flat (a value is a string, a number, a "
                                             "boolean, null, or an array of them)";
                else if (kind > 0 && rb_add(&r->b, c, str, n) != 0)
                    bad = r->b.problem[0] ? r->b.problem : "out of memory";
            }
            if (bad) {
                if (bad == r->b.problem)
                    batch_item_invalid(it, "%s", bad);
                else
                    batch_item_invalid(it, "the value of '%s' cannot be used: %s", key, bad);
                json_decref(o);
                return 1;
            }
        }
        int rc = finish_row(r, it);
        json_decref(o);
        return rc;
    }
}

int batch_rows_next(batch_rows *r, batch_item *it)
{
    memset(it, 0, sizeof *it);
    it->input = r->input;
    return r->format == BATCH_CSV ? csv_next(r, it) : jsonl_next(r, it);
}
