/*
 * batch_rowxml.c -- the data document of one row of `--rows`.
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbatch.h"
#include "rbatch_rows.h"

/* ---- columns -------------------------------------------------------------------------- */

void colspec_free(colspec *c)
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

int colspec_make(colspec *c, const char *name)
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

void rb_reset(rowbuild *b)
{
    b->nnodes = 1;
    b->nattrs = 1;
    b->nvals = 0;
    b->nout = 0;
    b->problem[0] = 0;
    memset(&b->nodes[0], 0, sizeof b->nodes[0]);
    b->nodes[0].name = "data";
}

int rb_init(rowbuild *b)
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

void rb_free(rowbuild *b)
{
    free(b->nodes);
    free(b->attrs);
    free(b->vals);
    free(b->out);
    memset(b, 0, sizeof *b);
}

int rows_grow(void **p, size_t *cap, size_t need, size_t size)
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
    if (rows_grow((void **)&b->nodes, &b->capnodes, b->nnodes + 1, sizeof *b->nodes) != 0)
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
int rb_add(rowbuild *b, const colspec *c, const char *v, size_t n)
{
    const char *why = xml_text_problem(v, n);
    if (why) {
        snprintf(b->problem, sizeof b->problem, "the value of '%s' cannot be used: %s", c->name, why);
        return -1;
    }
    if (rows_grow((void **)&b->vals, &b->capvals, b->nvals + n + 1, 1) != 0)
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
    if (rows_grow((void **)&b->attrs, &b->capattrs, b->nattrs + 1, sizeof *b->attrs) != 0)
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
    if (rows_grow((void **)&b->out, &b->capout, b->nout + n + 1, 1) != 0)
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

int rb_write(rowbuild *b)
{
    b->nout = 0;
    return out_node(b, 0, 0);
}
