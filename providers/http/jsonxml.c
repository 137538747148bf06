/*
 * jsonxml.c -- the http provider's JSON <-> XML mapping (docs/providers/http.md, "JSON and
 * XML"): an object is an element per member, an array repeats the member's element (each
 * item marked array="true"), a scalar is text with type="number|boolean|null" when it is not
 * a string; type="array" / type="object" mark an element whose value is an array (items as
 * child elements) / an empty object; a member whose name is not an XML name is a <member
 * name="...">.  XML -> JSON is written here directly so that numbers keep their exact text;
 * JSON -> XML reads what jansson parsed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_int.h"

typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_string(buf *b, const char *s)
{
    puts_(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put(b, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            puts_(b, esc);
        } else {
            put(b, (const char *)p, 1);
        }
    }
    puts_(b, "\"");
}

/* ---- XML -> JSON ------------------------------------------------------------------------ */

static char *attr(xmlNodePtr n, const char *name)
{
    return (char *)xmlGetNoNsProp(n, BAD_CAST name);
}

static int is_true(const char *s)
{
    return s && (strcmp(s, "true") == 0 || strcmp(s, "1") == 0);
}

/* S without the XML white space around it, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

/* RFC 8259's number grammar. */
static int json_number_ok(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return 0;
    if (*s == '.') {
        if (!(*++s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == 0;
}

typedef struct {
    char *why;
    size_t whylen;
} errs;

static int value(buf *b, xmlNodePtr el, errs *e);

static int has_elements(xmlNodePtr el, errs *e)
{
    int any = 0;
    for (xmlNodePtr n = el->children; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE)
            any = 1;
    }
    if (!any)
        return 0;
    for (xmlNodePtr n = el->children; n; n = n->next)
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            xmlChar *t = xmlNodeGetContent(n);
            int blank = !t || !*trim((char *)t);
            xmlFree(t);
            if (!blank) {
                snprintf(e->why, e->whylen, "<%s> mixes text and elements: a JSON value is one or the other",
                         (const char *)el->name);
                return -1;
            }
        }
    return 1;
}

static char *member_name(xmlNodePtr el)
{
    if (strcmp((const char *)el->name, "member") == 0) {
        char *n = attr(el, "name");
        if (n)
            return n;
    }
    return (char *)xmlStrdup(el->name);
}

/* Whether an element before N among its siblings has member name NAME. */
static int seen_before(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr m = n->prev; m; m = m->prev) {
        if (m->type != XML_ELEMENT_NODE)
            continue;
        char *mn = member_name(m);
        int same = mn && strcmp(mn, name) == 0;
        xmlFree(mn);
        if (same)
            return 1;
    }
    return 0;
}

/* The elements of one member name, wherever they are among the children, make one member:
 * an array when there are several or one is marked array="true". */
static int object(buf *b, xmlNodePtr el, errs *e)
{
    puts_(b, "{");
    int first = 1, rc = 0;
    for (xmlNodePtr n = el->children; n && rc == 0; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        char *name = member_name(n);
        if (!name || seen_before(n, name)) {
            xmlFree(name);
            continue;
        }
        size_t count = 0;
        int item = 0;
        for (xmlNodePtr m = n; m; m = m->next) {
            if (m->type != XML_ELEMENT_NODE)
                continue;
            char *mn = member_name(m);
            if (mn && strcmp(mn, name) == 0) {
                count++;
                char *a = attr(m, "array");
                item |= is_true(a);
                xmlFree(a);
            }
            xmlFree(mn);
        }
        if (!first)
            puts_(b, ",");
        first = 0;
        put_string(b, name);
        puts_(b, ":");
        if (count > 1 || item) {
            puts_(b, "[");
            int k = 0;
            for (xmlNodePtr m = n; m && rc == 0; m = m->next) {
                if (m->type != XML_ELEMENT_NODE)
                    continue;
                char *mn = member_name(m);
                if (mn && strcmp(mn, name) == 0) {
                    if (k++)
                        puts_(b, ",");
                    rc = value(b, m, e);
                }
                xmlFree(mn);
            }
            puts_(b, "]");
        } else {
            rc = value(b, n, e);
        }
        xmlFree(name);
    }
    puts_(b, "}");
    return rc;
}

static int array(buf *b, xmlNodePtr el, errs *e)
{
    if (has_elements(el, e) < 0)
        return -1;
    puts_(b, "[");
    int k = 0, rc = 0;
    for (xmlNodePtr n = el->children; n && rc == 0; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (k++)
            puts_(b, ",");
        rc = value(b, n, e);
    }
    puts_(b, "]");
    return rc;
}

static int scalar(buf *b, xmlNodePtr el, const char *type, errs *e)
{
    xmlChar *t = xmlNodeGetContent(el);
    char *s = t ? trim((char *)t) : (char *)"";
    int rc = 0;
    if (strcmp(type, "number") == 0 && json_number_ok(s))
        puts_(b, s);
    else if (strcmp(type, "boolean") == 0 && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0))
        puts_(b, s);
    else if (strcmp(type, "null") == 0 && !*s)
        puts_(b, "null");
    else {
        snprintf(e->why, e->whylen, "<%s type=\"%s\"> holds \"%.40s\", which is not a JSON %s",
                 (const char *)el->name, type, s, type);
        rc = -1;
    }
    xmlFree(t);
    return rc;
}

static int value(buf *b, xmlNodePtr el, errs *e)
{
    char *type = attr(el, "type");
    int rc = 0, elems;
    if (!type || strcmp(type, "string") == 0) {
        elems = type ? 0 : has_elements(el, e);
        if (elems < 0) {
            rc = -1;
        } else if (elems) {
            rc = object(b, el, e);
        } else {
            xmlChar *t = xmlNodeGetContent(el);
            put_string(b, t ? (const char *)t : "");
            xmlFree(t);
        }
    } else if (strcmp(type, "object") == 0) {
        rc = has_elements(el, e) < 0 ? -1 : object(b, el, e);
    } else if (strcmp(type, "array") == 0) {
        rc = array(b, el, e);
    } else if (strcmp(type, "number") == 0 || strcmp(type, "boolean") == 0 || strcmp(type, "null") == 0) {
        rc = scalar(b, el, type, e);
    } else {
        snprintf(e->why, e->whylen, "<%s> has type=\"%.40s\": it may be number, boolean, null, string, array or object",
                 (const char *)el->name, type);
        rc = -1;
    }
    xmlFree(type);
    return rc;
}

char *hp_xml_to_json(xmlNodePtr el, char *why, size_t whylen)
{
    buf b = {0};
    errs e = {why, whylen};
    int rc = value(&b, el, &e);
    if (rc != 0 || b.oom) {
        if (b.oom)
            snprintf(why, whylen, "out of memory");
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* ---- JSON -> XML ------------------------------------------------------------------------ */

int hp_xml_text_ok(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        int l = (int)(end - p);
        int ch = xmlGetUTF8Char(p, &l);
        if (ch < 0 || l <= 0)
            return 0;
        if (!(ch == 0x9 || ch == 0xA || ch == 0xD || (ch >= 0x20 && ch <= 0xD7FF) ||
              (ch >= 0xE000 && ch <= 0xFFFD) || ch >= 0x10000))
            return 0;
        p += l;
    }
    return 1;
}

/* An XML name without a colon (so no namespace prefix is implied), in ASCII or any letter
 * beyond it; a name that is not one becomes <member name="...">. */
static int ncname(const char *s)
{
    if (!s || !*s)
        return 0;
    if (strncasecmp(s, "xml", 3) == 0)
        return 0; /* reserved */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int first = p == (const unsigned char *)s;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p >= 0x80)
            continue;
        if (!first && ((*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
            continue;
        return 0;
    }
    return xmlValidateNCName(BAD_CAST s, 0) == 0;
}

/* The shortest text that reads back as D; a whole number below 10^15 without exponent. */
static void real_text(double d, char *out, size_t n)
{
    if (d > -1e15 && d < 1e15 && d == (double)(long long)d) {
        snprintf(out, n, "%lld", (long long)d);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            return;
    }
}

static xmlNodePtr element(xmlDocPtr doc, const char *name)
{
    if (ncname(name))
        return xmlNewDocNode(doc, NULL, BAD_CAST name, NULL);
    xmlNodePtr el = xmlNewDocNode(doc, NULL, BAD_CAST "member", NULL);
    if (el && !xmlNewProp(el, BAD_CAST "name", BAD_CAST name)) {
        xmlFreeNode(el);
        return NULL;
    }
    return el;
}

static int fill(xmlDocPtr doc, xmlNodePtr el, json_t *v);

static int add_member(xmlDocPtr doc, xmlNodePtr parent, const char *name, json_t *v, int item)
{
    xmlNodePtr el = element(doc, name);
    if (!el || !xmlAddChild(parent, el)) {
        xmlFreeNode(el);
        return -1;
    }
    if (item && !xmlNewProp(el, BAD_CAST "array", BAD_CAST "true"))
        return -1;
    return fill(doc, el, v);
}

static int fill(xmlDocPtr doc, xmlNodePtr el, json_t *v)
{
    char num[64];
    const char *key;
    json_t *m;
    size_t i;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        if (json_object_size(v) == 0)
            return xmlNewProp(el, BAD_CAST "type", BAD_CAST "object") ? 0 : -1;
        json_object_foreach(v, key, m) {
            if (!hp_xml_text_ok(key, strlen(key)))
                return -1;
            if (json_is_array(m) && json_array_size(m) > 0) {
                json_t *it;
                json_array_foreach(m, i, it) if (add_member(doc, el, key, it, 1) != 0) return -1;
            } else if (add_member(doc, el, key, m, 0) != 0) {
                return -1;
            }
        }
        return 0;
    case JSON_ARRAY:
        if (!xmlNewProp(el, BAD_CAST "type", BAD_CAST "array"))
            return -1;
        json_array_foreach(v, i, m) if (add_member(doc, el, "item", m, 0) != 0) return -1;
        return 0;
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (strlen(s) != len || !hp_xml_text_ok(s, len))
            return -1;
        xmlNodePtr t = xmlNewDocTextLen(doc, BAD_CAST s, (int)len);
        return t && xmlAddChild(el, t) ? 0 : -1;
    }
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        real_text(json_real_value(v), num, sizeof num);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        xmlNodeAddContent(el, BAD_CAST(json_is_true(v) ? "true" : "false"));
        return xmlNewProp(el, BAD_CAST "type", BAD_CAST "boolean") ? 0 : -1;
    case JSON_NULL:
        return xmlNewProp(el, BAD_CAST "type", BAD_CAST "null") ? 0 : -1;
    }
    xmlNodeAddContent(el, BAD_CAST num);
    return xmlNewProp(el, BAD_CAST "type", BAD_CAST "number") ? 0 : -1;
}

xmlNodePtr hp_json_to_xml(xmlDocPtr doc, const char *name, json_t *v)
{
    xmlNodePtr el = xmlNewDocNode(doc, NULL, BAD_CAST name, NULL);
    if (el && fill(doc, el, v) != 0) {
        xmlFreeNode(el);
        return NULL;
    }
    return el;
}

json_t *hp_json_pointer(json_t *root, const char *pointer)
{
    if (!pointer || !*pointer)
        return root;
    if (*pointer != '/')
        return NULL;
    json_t *v = root;
    const char *p = pointer + 1;
    for (;;) {
        size_t n = strcspn(p, "/");
        char *tok = malloc(n + 1);
        if (!tok)
            return NULL;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (p[i] == '~' && i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
                tok[k++] = p[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                tok[k++] = p[i];
            }
        }
        tok[k] = 0;
        if (json_is_object(v)) {
            v = json_object_get(v, tok);
        } else if (json_is_array(v)) {
            char *end;
            unsigned long idx = strtoul(tok, &end, 10);
            int digits = k > 0 && *end == 0 && tok[0] >= '0' && tok[0] <= '9' && (tok[0] != '0' || k == 1);
            v = digits ? json_array_get(v, idx) : NULL;
        } else {
            v = NULL;
        }
        free(tok);
        if (!v || p[n] == 0)
            return v;
        p += n + 1;
    }
}

char *hp_json_text(json_t *v)
{
    char num[64];
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_real(v)) {
        real_text(json_real_value(v), num, sizeof num);
        return strdup(num);
    }
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}
