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
 * A column (or key) is an XML name, giving <data><NAME>value</NAME>...</data>; or a path
 * of names, with at most one attribute at its end: "user/@name", "user/address", "@id".
 * The last element of a path is made anew for each column; the elements before it are
 * the last ones of that name made under the same parent (made when missing).  So
 * "user/@name,user/address,user/address" gives one <user name=".."> with two <address>.
 *
 * Values: an empty unquoted CSV field, a JSON null or a missing key add nothing (no
 * element, no attribute, and no parent made for them); a quoted empty field "" and a
 * JSON "" add an empty one.  Text that XML cannot carry (invalid UTF-8, control
 * characters) makes the row invalid.
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

#include "tools/batch.h"

#define MAX_STEPS 32

/* ---- columns -------------------------------------------------------------------------- */

typedef struct colspec {
    char *steps[MAX_STEPS]; /* element names */
    int nsteps;
    char *attr; /* or NULL */
    char *name; /* as written */
} colspec;

static void colspec_free(colspec *c)
{
    for (int i = 0; i < c->nsteps; i++)
        free(c->steps[i]);
    free(c->attr);
    free(c->name);
    memset(c, 0, sizeof *c);
}

const char *batch_column_problem(const char *name)
{
    if (!*name)
        return "it is empty";
    const char *p = name;
    for (int n = 0;; n++) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (n == MAX_STEPS)
            return "it is more than 32 names deep";
        bool attr = len && p[0] == '@';
        if (attr && slash)
            return "an attribute (@name) can only end a path";
        char step[512];
        size_t sl = len - attr;
        if (sl == 0 || sl >= sizeof step)
            return sl ? "a name in it is too long" : "it has an empty name (a '/' too many, or a lone '@')";
        memcpy(step, p + attr, sl);
        step[sl] = 0;
        if (xmlValidateNCName(BAD_CAST step, 0) != 0)
            return "it is not an XML name: use letters, digits, '_', '-' and '.', not starting with a digit, "
                   "'-' or '.' (or a path of such names: user/address, user/@name)";
        if (!slash)
            return NULL;
        p = slash + 1;
    }
}

static int colspec_make(colspec *c, const char *name)
{
    memset(c, 0, sizeof *c);
    if (!(c->name = strdup(name)))
        return -1;
    const char *p = name;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        char *s = p[0] == '@' ? strndup(p + 1, len - 1) : strndup(p, len);
        if (!s)
            return -1;
        if (p[0] == '@')
            c->attr = s;
        else
            c->steps[c->nsteps++] = s;
        if (!slash)
            return 0;
        p = slash + 1;
    }
}

/* ---- building a data document --------------------------------------------------------- */

typedef struct rnode {
    const char *name;
    size_t parent, first, last, next; /* indexes; 0 = none (node 0 is <data>) */
    size_t attrs;                     /* first attribute, index into rattr; 0 = none */
    size_t text, tlen;                /* offset into the value buffer */
    bool has_text;
} rnode;

typedef struct rattr {
    const char *name;
    size_t next, value, vlen;
} rattr;

typedef struct rowbuild {
    rnode *nodes;
    size_t nnodes, capnodes;
    rattr *attrs;
    size_t nattrs, capattrs;
    char *vals; /* values, escaped later */
    size_t nvals, capvals;
    char *out;
    size_t nout, capout;
    char problem[300];
} rowbuild;

static void rb_reset(rowbuild *b)
{
    b->nnodes = 1;
    b->nattrs = 1;
    b->nvals = 0;
    b->nout = 0;
    b->problem[0] = 0;
    memset(&b->nodes[0], 0, sizeof b->nodes[0]);
    b->nodes[0].name = "data";
}

static int rb_init(rowbuild *b)
{
    memset(b, 0, sizeof *b);
    b->capnodes = 64;
    b->capattrs = 16;
    b->nodes = malloc(b->capnodes * sizeof *b->nodes);
    b->attrs = malloc(b->capattrs * sizeof *b->attrs);
    if (!b->nodes || !b->attrs)
        return -1;
    rb_reset(b);
    return 0;
}

static void rb_free(rowbuild *b)
{
    free(b->nodes);
    free(b->attrs);
    free(b->vals);
    free(b->out);
    memset(b, 0, sizeof *b);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static size_t rb_new_node(rowbuild *b, size_t parent, const char *name)
{
    if (grow((void **)&b->nodes, &b->capnodes, b->nnodes + 1, sizeof *b->nodes) != 0)
        return 0;
    size_t i = b->nnodes++;
    rnode *n = &b->nodes[i];
    memset(n, 0, sizeof *n);
    n->name = name;
    n->parent = parent;
    rnode *p = &b->nodes[parent];
    if (p->last)
        b->nodes[p->last].next = i;
    else
        p->first = i;
    p->last = i;
    return i;
}

static size_t rb_last_child(rowbuild *b, size_t parent, const char *name)
{
    size_t found = 0;
    for (size_t c = b->nodes[parent].first; c; c = b->nodes[c].next)
        if (strcmp(b->nodes[c].name, name) == 0)
            found = c;
    return found;
}

/* Checks that v is UTF-8 XML can carry; NULL, or why not. */
static const char *xml_text_problem(const char *v, size_t n)
{
    const unsigned char *p = (const unsigned char *)v, *end = p + n;
    while (p < end) {
        unsigned c = *p;
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!len || p + len > end)
            return "it is not UTF-8";
        unsigned cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
        for (size_t k = 1; k < len; k++) {
            if ((p[k] & 0xC0) != 0x80)
                return "it is not UTF-8";
            cp = (cp << 6) | (p[k] & 0x3F);
        }
        static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return "it is not UTF-8";
        if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0xFFFE || cp == 0xFFFF)
            return "it holds a control character, which XML cannot carry";
        p += len;
    }
    return NULL;
}

/* Adds one value of column c. */
static int rb_add(rowbuild *b, const colspec *c, const char *v, size_t n)
{
    const char *why = xml_text_problem(v, n);
    if (why) {
        snprintf(b->problem, sizeof b->problem, "the value of '%s' cannot be used: %s", c->name, why);
        return -1;
    }
    if (grow((void **)&b->vals, &b->capvals, b->nvals + n + 1, 1) != 0)
        return -1;
    size_t off = b->nvals;
    memcpy(b->vals + off, v, n);
    b->nvals += n;
    size_t at = 0;
    for (int i = 0; i < c->nsteps; i++) {
        bool last_elem = i == c->nsteps - 1 && !c->attr;
        size_t k = last_elem ? 0 : rb_last_child(b, at, c->steps[i]);
        if (!k && !(k = rb_new_node(b, at, c->steps[i])))
            return -1;
        at = k;
    }
    if (!c->attr) {
        b->nodes[at].has_text = true;
        b->nodes[at].text = off;
        b->nodes[at].tlen = n;
        return 0;
    }
    for (size_t a = b->nodes[at].attrs; a; a = b->attrs[a].next)
        if (strcmp(b->attrs[a].name, c->attr) == 0) {
            snprintf(b->problem, sizeof b->problem, "'%s' sets attribute %s of <%s> a second time", c->name, c->attr,
                     b->nodes[at].name);
            return -1;
        }
    if (grow((void **)&b->attrs, &b->capattrs, b->nattrs + 1, sizeof *b->attrs) != 0)
        return -1;
    size_t a = b->nattrs++;
    b->attrs[a] = (rattr){.name = c->attr, .next = 0, .value = off, .vlen = n};
    /* keep column order */
    size_t *link = &b->nodes[at].attrs;
    while (*link)
        link = &b->attrs[*link].next;
    *link = a;
    return 0;
}

static int out_add(rowbuild *b, const char *s, size_t n)
{
    if (grow((void **)&b->out, &b->capout, b->nout + n + 1, 1) != 0)
        return -1;
    memcpy(b->out + b->nout, s, n);
    b->nout += n;
    b->out[b->nout] = 0;
    return 0;
}

static int out_str(rowbuild *b, const char *s)
{
    return out_add(b, s, strlen(s));
}

static int out_escaped(rowbuild *b, const char *s, size_t n, bool attr)
{
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = NULL;
        switch (s[i]) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = attr ? "&quot;" : NULL; break;
        case '\r': e = "&#13;"; break;
        case '\n': e = attr ? "&#10;" : NULL; break;
        case '\t': e = attr ? "&#9;" : NULL; break;
        }
        if (!e)
            continue;
        if (out_add(b, s + from, i - from) != 0 || out_str(b, e) != 0)
            return -1;
        from = i + 1;
    }
    return out_add(b, s + from, n - from);
}

static int out_node(rowbuild *b, size_t i, int depth)
{
    const rnode *n = &b->nodes[i];
    if (out_str(b, "<") || out_str(b, n->name))
        return -1;
    for (size_t a = n->attrs; a; a = b->attrs[a].next) {
        const rattr *at = &b->attrs[a];
        if (out_str(b, " ") || out_str(b, at->name) || out_str(b, "=\"") ||
            out_escaped(b, b->vals + at->value, at->vlen, true) || out_str(b, "\""))
            return -1;
    }
    if (!n->first && (!n->has_text || !n->tlen))
        return out_str(b, "/>");
    if (out_str(b, ">"))
        return -1;
    if (n->has_text && out_escaped(b, b->vals + n->text, n->tlen, false))
        return -1;
    for (size_t c = n->first; c; c = b->nodes[c].next)
        if (out_node(b, c, depth + 1))
            return -1;
    return out_str(b, "</") || out_str(b, n->name) || out_str(b, ">") ? -1 : 0;
}

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
    if (grow((void **)&r->fields, &r->capfields_b, r->nfields_b + 2, 1) != 0)
        return -1;
    r->fields[r->nfields_b++] = (char)c;
    return 0;
}

static int field_start(batch_rows *r)
{
    if (grow((void **)&r->fstart, &r->capf, r->nf + 1, sizeof *r->fstart) != 0)
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
    if (out_node(b, 0, 0) != 0)
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
        if (grow((void **)&r->linebuf, &r->linecap, r->linelen + 2, 1) != 0)
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
            if (grow((void **)&r->jcols, &r->capjcols, r->njcols + 1, sizeof *r->jcols) != 0 ||
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
