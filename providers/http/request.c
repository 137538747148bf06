/*
 * request.c -- the http provider's executeData: reading a request (method, path, headers,
 * body or json) and checking it before anything is sent, filling the {placeholders} of an
 * undo from a response, and writing a response back into executeData.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_int.h"

void hp_request_clear(hp_request *r)
{
    free(r->method);
    free(r->path);
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->body);
    *r = (hp_request){0};
}

/* Headers the provider sets itself, or that would change how the message is framed: a
 * call may not give them. */
static int reserved(const char *name)
{
    static const char *const names[] = {"Authorization", "Proxy-Authorization", "Idempotency-Key", "Host",
                                        "Content-Length", "Transfer-Encoding", "Connection", "Expect",
                                        "Upgrade", "TE", "Trailer", "Keep-Alive"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    return 0;
}

int hp_add_header(hp_request *r, const char *name, const char *value)
{
    hp_header *h = realloc(r->headers, (r->nheaders + 1) * sizeof *h);
    if (!h)
        return -1;
    r->headers = h;
    h[r->nheaders].name = strdup(name);
    h[r->nheaders].value = strdup(value);
    if (!h[r->nheaders].name || !h[r->nheaders].value) {
        free(h[r->nheaders].name);
        free(h[r->nheaders].value);
        return -1;
    }
    r->nheaders++;
    return 0;
}

static int method_ok(const char *m)
{
    if (!*m || strlen(m) > 20)
        return 0;
    for (; *m; m++)
        if (!(*m >= 'A' && *m <= 'Z') && !(*m >= 'a' && *m <= 'z') && *m != '-' && *m != '_')
            return 0;
    return 1;
}

/* The headers of EL: header@name elements, each checked. */
static int read_headers(xmlNodePtr el, hp_request *r, char *why, size_t whylen)
{
    for (xmlNodePtr n = el->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "header") != 0)
            continue;
        char *name = (char *)xmlGetNoNsProp(n, BAD_CAST "name");
        char *value = provost_text(n);
        int rc = -1;
        if (!name || !hp_header_name_ok(name))
            snprintf(why, whylen, "a header needs a name attribute that is an HTTP token (it has \"%.60s\")",
                     name ? name : "");
        else if (reserved(name))
            snprintf(why, whylen, "header \"%.60s\" is set by the provider and may not be given", name);
        else if (!value || !hp_header_value_ok(value))
            snprintf(why, whylen, "header \"%.60s\" has a line break or another control character in its value",
                     name);
        else if (hp_add_header(r, name, value) != 0)
            snprintf(why, whylen, "out of memory");
        else
            rc = 0;
        xmlFree(name);
        free(value);
        if (rc)
            return -1;
    }
    return 0;
}

int hp_read_request(xmlNodePtr el, const char *fixed_method, hp_request *r, char *why, size_t whylen)
{
    *r = (hp_request){0};
    r->method = fixed_method ? strdup(fixed_method) : provost_text(provost_child(el, "method"));
    r->path = provost_text(provost_child(el, "path"));
    if (!r->method || !*r->method) {
        snprintf(why, whylen, "method is missing");
        return -1;
    }
    if (!method_ok(r->method)) {
        snprintf(why, whylen, "method \"%.30s\" is not an HTTP method name", r->method);
        return -1;
    }
    for (char *p = r->method; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    char pwhy[200];
    if (!r->path || !*r->path) {
        snprintf(why, whylen, "path is missing");
        return -1;
    }
    if (!hp_path_ok(r->path, pwhy, sizeof pwhy)) {
        snprintf(why, whylen, "path \"%.200s\" %s", r->path, pwhy);
        return -1;
    }
    if (read_headers(el, r, why, whylen) != 0)
        return -1;
    xmlNodePtr body = provost_child(el, "body"), json = provost_child(el, "json");
    if (body && json) {
        snprintf(why, whylen, "give body or json, not both");
        return -1;
    }
    if (json) {
        char jwhy[300];
        r->body = hp_xml_to_json(json, jwhy, sizeof jwhy);
        if (!r->body) {
            snprintf(why, whylen, "json: %s", jwhy);
            return -1;
        }
        r->content_type = "application/json";
    } else if (body) {
        r->body = provost_text(body);
        r->content_type = "text/plain; charset=utf-8";
    }
    return 0;
}

/* ---- placeholders ------------------------------------------------------------------- */

/* Percent-encodes everything but RFC 3986's unreserved characters: a value put in a path
 * stays one segment. */
static char *path_escape(const char *s)
{
    char *out = malloc(strlen(s) * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p))
            *o++ = (char)*p;
        else
            o += sprintf(o, "%%%02X", *p);
    }
    *o = 0;
    return out;
}

/* The value of one placeholder NAME (between the braces), malloc'd; NULL with WHY when the
 * response has none; *KNOWN 0 when NAME is not a placeholder (the text stays as it is). */
static char *lookup(const hp_fillctx *f, const char *name, int *known, char *why, size_t whylen)
{
    *known = 1;
    if (f->probe && (strcmp(name, "location") == 0 || strcmp(name, "status") == 0 || strncmp(name, "header:", 7) == 0 ||
                     strncmp(name, "json:", 5) == 0))
        return strdup(strcmp(name, "location") == 0 ? "/x" : "x");
    if (strcmp(name, "location") == 0) {
        if (!f->location)
            snprintf(why, whylen, "the response has no Location under baseURL for {location}");
        return f->location ? strdup(f->location) : NULL;
    }
    if (strcmp(name, "status") == 0) {
        char s[16];
        snprintf(s, sizeof s, "%ld", f->resp ? f->resp->status : 0L);
        return strdup(s);
    }
    if (strncmp(name, "header:", 7) == 0) {
        const char *v = f->resp ? hp_response_header(f->resp, name + 7) : NULL;
        if (!v)
            snprintf(why, whylen, "the response has no header \"%.60s\" for {%.70s}", name + 7, name);
        return v ? strdup(v) : NULL;
    }
    if (strncmp(name, "json:", 5) == 0) {
        json_t *v = f->json ? hp_json_pointer(f->json, name + 5) : NULL;
        if (!v)
            snprintf(why, whylen, "the response's JSON has nothing at \"%.100s\" for {%.110s}", name + 5, name);
        return v ? hp_json_text(v) : NULL;
    }
    *known = 0;
    return NULL;
}

char *hp_fill(const hp_fillctx *f, const char *tmpl, int in_path, char *why, size_t whylen)
{
    size_t cap = strlen(tmpl) + 1, len = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    for (const char *p = tmpl; *p;) {
        const char *piece = p, *close = NULL;
        size_t plen = 1;
        char *val = NULL;
        if (*p == '{' && (close = strchr(p + 1, '}')) != NULL) {
            char *name = strndup(p + 1, (size_t)(close - p - 1));
            int known = 0;
            val = name ? lookup(f, name, &known, why, whylen) : NULL;
            if (known && !val) {
                free(name);
                free(out);
                return NULL;
            }
            if (val && in_path && strcmp(name, "location") != 0) {
                char *e = path_escape(val);
                free(val);
                val = e;
            }
            free(name);
            if (known) {
                piece = val;
                plen = strlen(val);
                p = close + 1;
            } else {
                p++;
            }
        } else {
            p++;
        }
        if (len + plen + 1 > cap) {
            cap = (len + plen + 1) * 2;
            char *n = realloc(out, cap);
            if (!n) {
                free(val);
                free(out);
                return NULL;
            }
            out = n;
        }
        memcpy(out + len, piece, plen);
        len += plen;
        free(val);
    }
    out[len] = 0;
    return out;
}

/* ---- the response into executeData -------------------------------------------------- */

static int is_json_type(const char *ct)
{
    if (!ct)
        return 0;
    size_t n = strcspn(ct, ";");
    while (n && ct[n - 1] == ' ')
        n--;
    return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

json_t *hp_response_json(const hp_response *resp)
{
    if (!resp->body || !resp->len || !is_json_type(hp_response_header(resp, "content-type")))
        return NULL;
    json_error_t err;
    return json_loadb(resp->body, resp->len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
}

static char *base64(const unsigned char *s, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *o = 0;
    return out;
}

static void drop(xmlNodePtr ed, const char *name)
{
    for (xmlNodePtr n = ed->children, next; n; n = next) {
        next = n->next;
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0) {
            xmlUnlinkNode(n);
            xmlFreeNode(n);
        }
    }
}

int hp_write_response(xmlNodePtr ed, const hp_response *resp, json_t *json)
{
    xmlDocPtr doc = ed->doc;
    drop(ed, "status");
    drop(ed, "header");
    drop(ed, "body");
    drop(ed, "json");
    char st[16];
    snprintf(st, sizeof st, "%ld", resp->status);
    if (!xmlNewTextChild(ed, NULL, BAD_CAST "status", BAD_CAST st))
        return -1;
    for (size_t i = 0; i < resp->nheaders; i++) {
        const char *v = resp->headers[i].value;
        if (!hp_xml_text_ok(v, strlen(v)))
            continue; /* not text: nothing an XML document can carry */
        xmlNodePtr h = xmlNewTextChild(ed, NULL, BAD_CAST "header", BAD_CAST v);
        if (!h || !xmlNewProp(h, BAD_CAST "name", BAD_CAST resp->headers[i].name))
            return -1;
    }
    xmlNodePtr j = json ? hp_json_to_xml(doc, "json", json) : NULL;
    if (j)
        return xmlAddChild(ed, j) ? 0 : -1;
    if (!resp->body || !resp->len)
        return 0;
    if (strlen(resp->body) == resp->len && hp_xml_text_ok(resp->body, resp->len)) {
        xmlNodePtr b = xmlNewDocNode(doc, NULL, BAD_CAST "body", NULL);
        xmlNodePtr t = b ? xmlNewDocTextLen(doc, BAD_CAST resp->body, (int)resp->len) : NULL;
        if (!t || !xmlAddChild(b, t) || !xmlAddChild(ed, b)) {
            xmlFreeNode(t);
            xmlFreeNode(b);
            return -1;
        }
        return 0;
    }
    char *b64 = base64((const unsigned char *)resp->body, resp->len);
    xmlNodePtr b = b64 ? xmlNewTextChild(ed, NULL, BAD_CAST "body", BAD_CAST b64) : NULL;
    free(b64);
    return b && xmlNewProp(b, BAD_CAST "encoding", BAD_CAST "base64") ? 0 : -1;
}
