/*
 * lang.c -- recognising the language's elements and reading their attributes: known
 * attribute sets (an unknown one is a warning: it is usually a typo), enumerated values
 * (an unknown one is an error naming what is accepted), names of namespaces and
 * procedures.
 */
#include <string.h>

#include "internal.h"
#include "util/str.h"

bool pvc_is_lang(xmlNodePtr node)
{
    if (!node || node->type != XML_ELEMENT_NODE)
        return false;
    if (!node->ns || !node->ns->href)
        return true;
    const char *uri = (const char *)node->ns->href;
    return strcmp(uri, PVC_MPF_URI) == 0 || strcmp(uri, PVC_MPF_URI_TLS) == 0;
}

bool pvc_is_xsl(xmlNodePtr node)
{
    return node && node->type == XML_ELEMENT_NODE && node->ns && node->ns->href &&
           strcmp((const char *)node->ns->href, PVC_XSL_URI) == 0;
}

bool pvc_named(xmlNodePtr node, const char *name)
{
    return pvc_is_lang(node) && strcmp((const char *)node->name, name) == 0;
}

xmlNodePtr pvc_next(xmlNodePtr node)
{
    for (node = node ? node->next : NULL; node; node = node->next)
        if (node->type == XML_ELEMENT_NODE)
            return node;
    return NULL;
}

xmlNodePtr pvc_first_child(xmlNodePtr node)
{
    for (node = node ? node->children : NULL; node; node = node->next)
        if (node->type == XML_ELEMENT_NODE)
            return node;
    return NULL;
}

static bool blank(const xmlChar *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

void pvc_check_content(pvc_ctx *ctx, xmlNodePtr node)
{
    for (xmlNodePtr c = node->children; c; c = c->next) {
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && !blank(c->content)) {
            char text[48]; /* the start of the text, on one line, to find it by */
            size_t n = 0;
            bool more = false;
            for (const xmlChar *p = c->content; *p && !more;) {
                size_t len = *p < 0x80 ? 1 : *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : 2;
                if (blank((const xmlChar[]){*p, 0})) {
                    if (n && text[n - 1] != ' ')
                        text[n++] = ' ';
                    p++;
                } else if (n + len + 4 > sizeof text || strnlen((const char *)p, len) < len) {
                    more = true;
                } else {
                    memcpy(text + n, p, len);
                    n += len;
                    p += len;
                }
            }
            while (n && text[n - 1] == ' ')
                n--;
            text[n] = 0;
            pvc_error(ctx, node, "unexpected text \"%s%s\" inside <%s>: only elements belong here "
                                 "(write notes as XML comments)",
                      text, more ? "..." : "", (const char *)node->name);
            return;
        }
        if (c->type == XML_ENTITY_REF_NODE) {
            pvc_error(ctx, node, "unexpected entity reference inside <%s>", (const char *)node->name);
            return;
        }
    }
}

const char *pvc_attr(xmlNodePtr node, const char *name)
{
    for (xmlAttrPtr a = node->properties; a; a = a->next) {
        if (a->ns || strcmp((const char *)a->name, name) != 0)
            continue;
        if (a->children && a->children->type == XML_TEXT_NODE && !a->children->next)
            return (const char *)a->children->content;
        return a->children ? (const char *)a->children->content : "";
    }
    return NULL;
}

void pvc_check_attrs(pvc_ctx *ctx, xmlNodePtr node, const char *const *known)
{
    for (xmlAttrPtr a = node->properties; a; a = a->next) {
        if (a->ns) /* xml:lang, xsi:* and other qualified attributes are not ours */
            continue;
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(*k, (const char *)a->name) == 0;
        if (!ok) {
            const char *near = NULL;
            for (const char *const *k = known; *k && !near; k++)
                if (pu_strieq(*k, (const char *)a->name))
                    near = *k;
            if (near)
                pvc_attr_warning(ctx, node, (const char *)a->name,
                                 "unknown attribute '%s' on <%s> is ignored (did you mean '%s'?)",
                                 (const char *)a->name, (const char *)node->name, near);
            else
                pvc_attr_warning(ctx, node, (const char *)a->name,
                                 "unknown attribute '%s' on <%s> is ignored",
                                 (const char *)a->name, (const char *)node->name);
        }
    }
}

const char *pvc_require(pvc_ctx *ctx, xmlNodePtr node, const char *name)
{
    const char *v = pvc_attr(node, name);
    if (!v)
        pvc_error(ctx, node, "<%s> needs a '%s' attribute", (const char *)node->name, name);
    return v;
}

int pvc_enum(pvc_ctx *ctx, xmlNodePtr node, const char *name, const char *const *values,
             const int *codes, int def)
{
    const char *v = pvc_attr(node, name);
    if (!v)
        return def;
    for (int i = 0; values[i]; i++)
        if (pu_strieq(v, values[i]))
            return codes ? codes[i] : i;
    char list[256] = "";
    for (int i = 0; values[i]; i++) {
        if (codes && i > 0 && codes[i] == codes[i - 1])
            continue; /* list synonyms once */
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, "%s'%s'", n ? ", " : "", values[i]);
    }
    pvc_attr_error(ctx, node, name, "%s=\"%s\" is not valid on <%s>: use one of %s", name, v,
                   (const char *)node->name, list);
    return -1;
}

int pvc_bool(pvc_ctx *ctx, xmlNodePtr node, const char *name, int def)
{
    static const char *const values[] = {"0", "1", "false", "true", NULL};
    static const int codes[] = {0, 1, 0, 1};
    int v = pvc_enum(ctx, node, name, values, codes, def);
    return v < 0 ? def : v;
}

bool pvc_check_name(pvc_ctx *ctx, xmlNodePtr node, const char *attr, const char *what)
{
    const char *v = pvc_attr(node, attr);
    if (!v)
        return false;
    if (!*v) {
        pvc_attr_error(ctx, node, attr, "the %s name is empty", what);
        return false;
    }
    size_t len = strlen(v);
    if (len > PROVOST_MAX_NAME) { /* names are database keys: never cut short, so bounded */
        pvc_attr_error(ctx, node, attr, "the %s name is %zu characters long: at most %d are allowed",
                       what, len, PROVOST_MAX_NAME);
        return false;
    }
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ' ')) {
            if (c >= 0x20 && c < 0x7F)
                pvc_attr_error(ctx, node, attr,
                               "%s name \"%s\" contains '%c': use letters, digits, '_', '-', '.' and spaces",
                               what, v, c);
            else
                pvc_attr_error(ctx, node, attr,
                               "%s name \"%s\" contains a character outside ASCII letters, digits, '_', '-', '.' and spaces",
                               what, v);
            return false;
        }
    }
    return true;
}

static bool mpf_uri(const xmlChar *href)
{
    return href && (strcmp((const char *)href, PVC_MPF_URI) == 0 || strcmp((const char *)href, PVC_MPF_URI_TLS) == 0);
}

/* The MPF namespace is the language's, not the data's: a file that declares it as its
 * default namespace means the same as one that does not, so literal data and XSL result
 * elements in it are put in no namespace. */
static void strip_mpf(xmlNodePtr n, xmlNsPtr *dead)
{
    if (n->ns && mpf_uri(n->ns->href))
        n->ns = NULL;
    for (xmlNsPtr *d = &n->nsDef; *d;) {
        if (mpf_uri((*d)->href) && !(*d)->prefix) {
            xmlNsPtr x = *d;
            *d = x->next;
            x->next = *dead;
            *dead = x;
        } else {
            d = &(*d)->next;
        }
    }
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            strip_mpf(c, dead);
}

void pvc_strip_mpf(xmlNodePtr node)
{
    xmlNsPtr dead = NULL; /* freed after the walk: descendants point at them until then */
    if (node && node->type == XML_ELEMENT_NODE)
        strip_mpf(node, &dead);
    if (dead)
        xmlFreeNsList(dead);
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ pu_lower((unsigned char)*s)) * 1099511628211ull;
    return h;
}

/* Slot of name in the index: where it is, or the empty slot where it would go. */
static size_t proc_slot(pvc_ctx *ctx, const char *name)
{
    size_t mask = ctx->procindex.cap - 1, j = (size_t)name_hash(name) & mask;
    while (ctx->procindex.v[j] && !pu_strieq(pvc_attr(ctx->procnodes.v[ctx->procindex.v[j] - 1], "name"), name))
        j = (j + 1) & mask;
    return j;
}

xmlNodePtr pvc_proc_find(pvc_ctx *ctx, const char *name)
{
    if (!name || !ctx->procindex.cap)
        return NULL;
    uint32_t i = ctx->procindex.v[proc_slot(ctx, name)];
    return i ? ctx->procnodes.v[i - 1] : NULL;
}

xmlNodePtr pvc_proc_add(pvc_ctx *ctx, xmlNodePtr node)
{
    const char *name = pvc_attr(node, "name");
    *PVC_PUSH(ctx, ctx->procnodes) = node;
    if (!name)
        return NULL;
    if ((ctx->procnodes.n + 1) * 2 > ctx->procindex.cap) { /* grow and re-insert */
        size_t cap = ctx->procindex.cap ? ctx->procindex.cap * 2 : 64;
        free(ctx->procindex.v);
        ctx->procindex.v = NULL;
        ctx->procindex.v = pvc_alloc(ctx, cap * sizeof(uint32_t));
        memset(ctx->procindex.v, 0, cap * sizeof(uint32_t));
        ctx->procindex.cap = cap;
        for (size_t i = 0; i + 1 < ctx->procnodes.n; i++) {
            const char *n = pvc_attr(ctx->procnodes.v[i], "name");
            if (n) {
                size_t j = proc_slot(ctx, n);
                if (!ctx->procindex.v[j])
                    ctx->procindex.v[j] = (uint32_t)i + 1;
            }
        }
    }
    size_t j = proc_slot(ctx, name);
    if (ctx->procindex.v[j])
        return ctx->procnodes.v[ctx->procindex.v[j] - 1];
    ctx->procindex.v[j] = (uint32_t)ctx->procnodes.n;
    return NULL;
}
