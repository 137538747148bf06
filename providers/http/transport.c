/*
 * transport.c -- the http provider's side of libcurl: a bounded pool of easy handles per
 * provider instance (an idle handle keeps its connections, so calls reuse them), one
 * request sent with the provider's fixed safety settings, and the mapping of transport
 * failures and statuses to HRESULTs.
 *
 * Whatever the call asks, a handle only speaks http/https, verifies TLS, follows no
 * redirect, never raises signals, and talks to the URL built from baseURL and a checked
 * path.  The Authorization value comes from provost_secret at each request and is handed to
 * libcurl only: it is never in a description, rollback data or a log.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_int.h"

struct hp_pool {
    pthread_mutex_t lock;
    CURL *idle[HP_POOL_MAX];
    size_t n;
};

hp_pool *hp_pool_new(void)
{
    hp_pool *p = calloc(1, sizeof *p);
    if (p && pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

void hp_pool_free(hp_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        curl_easy_cleanup(p->idle[i]);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static CURL *pool_get(hp_pool *p)
{
    CURL *h = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->n)
        h = p->idle[--p->n];
    pthread_mutex_unlock(&p->lock);
    return h ? h : curl_easy_init();
}

/* A handle goes back reset (no option, no credential left in it) with its connections,
 * unless the pool is full or the request failed in transport (its connection is suspect:
 * the next call reconnects). */
static void pool_put(hp_pool *p, CURL *h, int healthy)
{
    if (healthy) {
        curl_easy_reset(h);
        pthread_mutex_lock(&p->lock);
        if (p->n < HP_POOL_MAX) {
            p->idle[p->n++] = h;
            h = NULL;
        }
        pthread_mutex_unlock(&p->lock);
    }
    if (h)
        curl_easy_cleanup(h);
}

/* ---- checks on what the call asks ------------------------------------------------------ */

int hp_header_name_ok(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return 0;
    return 1;
}

/* No control character but tab: CR or LF would start another header. */
int hp_header_value_ok(const char *s)
{
    for (; s && *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return 0;
    return s != NULL;
}

static int dot_segment(const char *seg, size_t n)
{
    char buf[16];
    size_t k = 0;
    for (size_t i = 0; i < n && k < sizeof buf - 1; i++) {
        if (seg[i] == '%' && i + 2 < n && seg[i + 1] == '2' && (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
            buf[k++] = '.';
            i += 2;
        } else {
            buf[k++] = seg[i];
        }
    }
    buf[k] = 0;
    return n <= 9 && (strcmp(buf, ".") == 0 || strcmp(buf, "..") == 0);
}

/* A path under baseURL: one leading '/', then visible ASCII without '\' or '#', and no "."
 * or ".." segment (also percent-encoded) -- so the URL's scheme, host and port are always
 * baseURL's, and its path stays under baseURL's. */
int hp_path_ok(const char *path, char *why, size_t whylen)
{
    if (!path || path[0] != '/') {
        snprintf(why, whylen, "must start with '/' (it is relative to baseURL)");
        return 0;
    }
    if (path[1] == '/') {
        snprintf(why, whylen, "starts with \"//\", which would name another host");
        return 0;
    }
    for (const char *p = path; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch <= 0x20 || ch >= 0x7f || ch == '\\' || ch == '#') {
            snprintf(why, whylen, "has a character a path may not hold at offset %zu (percent-encode it)",
                     (size_t)(p - path));
            return 0;
        }
    }
    size_t end = strcspn(path, "?");
    for (size_t i = 1; i <= end;) {
        size_t n = strcspn(path + i, "/?");
        if (i + n > end)
            n = end - i;
        if (dot_segment(path + i, n)) {
            snprintf(why, whylen, "has a \".\" or \"..\" segment");
            return 0;
        }
        i += n + 1;
    }
    return 1;
}

int hp_base_ok(const char *base, char *why, size_t whylen)
{
    if (!base || !*base) {
        snprintf(why, whylen, "the namespace's providerContext needs a baseURL");
        return 0;
    }
    if (strncasecmp(base, "http://", 7) != 0 && strncasecmp(base, "https://", 8) != 0) {
        snprintf(why, whylen, "baseURL \"%.200s\" is not an http:// or https:// URL", base);
        return 0;
    }
    CURLU *u = curl_url();
    char *user = NULL, *query = NULL, *frag = NULL;
    int ok = u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK;
    if (ok) {
        curl_url_get(u, CURLUPART_USER, &user, 0);
        curl_url_get(u, CURLUPART_QUERY, &query, 0);
        curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0);
    }
    if (!ok)
        snprintf(why, whylen, "baseURL \"%.200s\" is not a valid URL", base);
    else if (user)
        snprintf(why, whylen, "baseURL may not hold a user name or password (use authorization and passwordFile)");
    else if (query || frag)
        snprintf(why, whylen, "baseURL \"%.200s\" may not have a query or a fragment", base);
    ok = ok && !user && !query && !frag;
    curl_free(user);
    curl_free(query);
    curl_free(frag);
    curl_url_cleanup(u);
    return ok;
}

/* ---- one request ----------------------------------------------------------------------- */

typedef struct {
    hp_response *resp;
    int too_big;
} sink;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    sink *s = arg;
    size_t len = size * n;
    if (s->resp->len + len > HP_BODY_MAX) {
        s->too_big = 1;
        return 0;
    }
    char *b = realloc(s->resp->body, s->resp->len + len + 1);
    if (!b)
        return 0;
    memcpy(b + s->resp->len, data, len);
    s->resp->len += len;
    b[s->resp->len] = 0;
    s->resp->body = b;
    return len;
}

static void clear_headers(hp_response *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    r->headers = NULL;
    r->nheaders = 0;
}

/* Keeps the header lines of the last response only (a 100 Continue comes before). */
static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    hp_response *r = arg;
    size_t len = size * n, k = len;
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        clear_headers(r);
        return len;
    }
    while (k && (data[k - 1] == '\n' || data[k - 1] == '\r'))
        k--;
    const char *colon = memchr(data, ':', k);
    if (!colon || colon == data)
        return len;
    size_t nl = (size_t)(colon - data);
    const char *v = colon + 1;
    while (v < data + k && (*v == ' ' || *v == '\t'))
        v++;
    size_t vl = (size_t)(data + k - v);
    while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        vl--;
    hp_header *h = realloc(r->headers, (r->nheaders + 1) * sizeof *h);
    if (!h)
        return 0;
    r->headers = h;
    h[r->nheaders].name = strndup(data, nl);
    h[r->nheaders].value = strndup(v, vl);
    if (!h[r->nheaders].name || !h[r->nheaders].value) {
        free(h[r->nheaders].name);
        free(h[r->nheaders].value);
        return 0;
    }
    for (char *p = h[r->nheaders].name; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    r->nheaders++;
    return len;
}

void hp_response_clear(hp_response *resp)
{
    clear_headers(resp);
    free(resp->body);
    *resp = (hp_response){0};
}

const char *hp_response_header(const hp_response *resp, const char *name)
{
    for (size_t i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    return NULL;
}

static uint32_t transport_code(CURLcode e)
{
    switch (e) {
    case CURLE_OPERATION_TIMEDOUT:
        return HP_E_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return HP_E_UNREACHABLE;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR:
        return HP_E_TLS;
    case CURLE_OUT_OF_MEMORY:
        return HP_E_OUTOFMEMORY;
    default:
        return PROVOST_E_FAIL;
    }
}

/* Failures that prove the request never left: nothing can have happened on the service. */
static int never_sent(CURLcode e)
{
    return e == CURLE_COULDNT_CONNECT || e == CURLE_COULDNT_RESOLVE_HOST || e == CURLE_COULDNT_RESOLVE_PROXY ||
           e == CURLE_PEER_FAILED_VERIFICATION || e == CURLE_SSL_CACERT_BADFILE ||
           e == CURLE_SSL_CONNECT_ERROR || e == CURLE_URL_MALFORMAT || e == CURLE_UNSUPPORTED_PROTOCOL;
}

static struct curl_slist *append(struct curl_slist *l, const char *name, const char *value, int *oom)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    struct curl_slist *r = NULL;
    if (line) {
        snprintf(line, n, "%s: %s", name, value);
        r = curl_slist_append(l, line);
        free(line);
    }
    if (!r) {
        *oom = 1;
        return l;
    }
    return r;
}

static int has_header(const hp_request *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return 1;
    return 0;
}

static struct curl_slist *build_headers(const hp_request *r, const char *idem_key, int *oom)
{
    struct curl_slist *l = NULL;
    for (size_t i = 0; i < r->nheaders; i++)
        l = append(l, r->headers[i].name, r->headers[i].value, oom);
    if (idem_key)
        l = append(l, "Idempotency-Key", idem_key, oom);
    if (r->body && r->content_type && !has_header(r, "Content-Type"))
        l = append(l, "Content-Type", r->content_type, oom);
    if (!has_header(r, "Accept"))
        l = append(l, "Accept", "application/json, */*;q=0.5", oom);
    l = curl_slist_append(l, "Expect:"); /* no 100-continue round trip */
    return l;
}

static void set_method(CURL *h, const hp_request *r)
{
    if (strcmp(r->method, "GET") == 0 && !r->body) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (strcmp(r->method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    if (r->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->body));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
    }
}

/* The secret for Authorization, set on H only; wiped by the caller. */
static uint32_t set_auth(provost_pcall *c, CURL *h, const hp_config *cfg, char **secret)
{
    char *user = NULL;
    *secret = NULL;
    if (cfg->auth == HP_AUTH_NONE)
        return PROVOST_S_OK;
    uint32_t rc = provost_secret(c, cfg->credential, cfg->password_file, secret, &user);
    if (rc)
        return rc;
    if (cfg->auth == HP_AUTH_BEARER) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, *secret);
    } else {
        const char *name = cfg->user ? cfg->user : user;
        if (!name) {
            free(user);
            provost_secret_free(*secret);
            *secret = NULL;
            return provost_failf(c, PROVOST_E_INVALIDARG,
                            "authorization=\"basic\" needs a user: providerContext/@user, or a credential with one");
        }
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, name);
        curl_easy_setopt(h, CURLOPT_PASSWORD, *secret);
    }
    free(user);
    return PROVOST_S_OK;
}

static void set_safety(CURL *h, const hp_config *cfg, const char *url, char *errbuf)
{
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (cfg->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, cfg->timeout_ms);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* whatever libcurl can decode */
}

uint32_t hp_perform(provost_pcall *c, hp_pool *pool, const hp_config *cfg, const hp_request *r,
                    const char *idem_key, hp_response *resp, int *maybe_sent, char *why, size_t whylen)
{
    why[0] = 0;
    *resp = (hp_response){0};
    *maybe_sent = 0;
    size_t ulen = strlen(cfg->base) + strlen(r->path) + 1;
    char *url = malloc(ulen);
    CURL *h = url ? pool_get(pool) : NULL;
    if (!h) {
        free(url);
        snprintf(why, whylen, "%s %s: out of memory", r->method, cfg->base);
        return HP_E_OUTOFMEMORY;
    }
    snprintf(url, ulen, "%s%s", cfg->base, r->path);
    char errbuf[CURL_ERROR_SIZE] = "";
    set_safety(h, cfg, url, errbuf);
    char *secret = NULL;
    uint32_t rc = set_auth(c, h, cfg, &secret);
    if (rc) {
        pool_put(pool, h, 1);
        free(url);
        return rc;
    }
    int oom = 0;
    struct curl_slist *hdrs = build_headers(r, idem_key, &oom);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    set_method(h, r);
    sink s = {.resp = resp};
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    CURLcode e = oom ? CURLE_OUT_OF_MEMORY : curl_easy_perform(h);
    provost_secret_free(secret);
    if (e == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        *maybe_sent = 1;
    } else {
        *maybe_sent = !oom && !never_sent(e);
        rc = s.too_big ? PROVOST_E_FAIL : transport_code(e);
        if (rc == HP_E_TIMEOUT)
            snprintf(why, whylen, "%s %s: no response within timeoutMs=%ld (%s)", r->method, url, cfg->timeout_ms,
                     errbuf[0] ? errbuf : curl_easy_strerror(e));
        else if (s.too_big)
            snprintf(why, whylen, "%s %s: the response is larger than %u bytes", r->method, url, HP_BODY_MAX);
        else
            snprintf(why, whylen, "%s %s: %s", r->method, url, errbuf[0] ? errbuf : curl_easy_strerror(e));
        hp_response_clear(resp);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    pool_put(pool, h, e == CURLE_OK);
    free(url);
    return rc;
}

/* ---- statuses -------------------------------------------------------------------------- */

uint32_t hp_status_code(long status)
{
    if (status == 401 || status == 403)
        return HP_E_ACCESS_DENIED;
    if (status == 404)
        return HP_E_NOT_FOUND;
    if (status == 409)
        return HP_E_ALREADY_EXISTS;
    if (status >= 500)
        return HP_E_SERVER;
    return PROVOST_E_INVALIDARG;
}

/* The first HP_ERRBODY_MAX bytes of BODY on one line: line ends and other controls become
 * spaces, a byte that is not UTF-8 becomes '?', and a character cut by the limit is dropped. */
static void quote_body(const char *body, size_t len, char *out, size_t outlen)
{
    size_t n = len < HP_ERRBODY_MAX ? len : HP_ERRBODY_MAX, k = 0;
    for (size_t i = 0; i < n && k + 5 < outlen;) {
        unsigned char ch = (unsigned char)body[i];
        size_t w = ch < 0x80 ? 1 : (ch & 0xE0) == 0xC0 ? 2 : (ch & 0xF0) == 0xE0 ? 3 : (ch & 0xF8) == 0xF0 ? 4 : 0;
        if (w > 1 && i + w > n)
            break; /* cut by the limit */
        if (w > 1 && hp_xml_text_ok(body + i, w)) {
            memcpy(out + k, body + i, w);
            k += w;
            i += w;
            continue;
        }
        out[k++] = w == 1 && ch >= 0x20 && ch != 0x7f ? (char)ch : w == 1 ? ' ' : '?';
        i += w > 1 ? w : 1;
    }
    out[k] = 0;
}

uint32_t hp_status_fail(provost_pcall *c, const hp_config *cfg, const hp_request *r, const hp_response *resp)
{
    char quoted[HP_ERRBODY_MAX * 4 + 8];
    quote_body(resp->body ? resp->body : "", resp->len, quoted, sizeof quoted);
    return provost_failf(c, hp_status_code(resp->status), "%s %s%.400s: status %ld%s%s", r->method, cfg->base, r->path,
                    resp->status, quoted[0] ? ": " : "", quoted);
}
