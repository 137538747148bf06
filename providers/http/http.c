/*
 * http.c -- the http provider, libprovost-http.so: HTTP and JSON services (SCIM, REST)
 * under the namespace's providerContext/@baseURL.  docs/providers/http.md is its manual.
 *
 *   Request  write  executeData{method, path, header@name*, body|json, undo} -> status,
 *                   header@name*, json|body.  Sends Idempotency-Key: TXID:procedureExecId.
 *   Get      read   executeData{path, header@name*} -> the same
 *
 * A Request must say how to undo itself (undo{method, path, header, body|json}, or
 * undo{none}); the undo's {placeholders} are filled from the response at process time and
 * the resulting request is the call's rollback data, so rollback -- here or in recovery --
 * only sends it.  Undo is idempotent: 404 and 410 are success (absent is success).  An
 * in-doubt rollback re-sends the journaled request with the same Idempotency-Key, so a
 * service that honours the key answers with what the first attempt did (or does it now),
 * and then undoes that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_int.h"

#define KEY_UNDO    "undo"        /* "request" or "none" */
#define KEY_IDEM    "idempotencyKey"
#define KEY_METHOD  "undo.method"
#define KEY_PATH    "undo.path"
#define KEY_HEADERS "undo.headers" /* "name: value" lines */
#define KEY_BODY    "undo.body"
#define KEY_CTYPE   "undo.contentType"

typedef struct {
    hp_pool *pool;
} hp_state;

static uint32_t http_init(void **state)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return PROVOST_E_FAIL;
    hp_state *s = calloc(1, sizeof *s);
    if (s)
        s->pool = hp_pool_new();
    if (!s || !s->pool) {
        free(s);
        curl_global_cleanup();
        return HP_E_OUTOFMEMORY;
    }
    *state = s;
    return PROVOST_S_OK;
}

static void http_fini(void *state)
{
    hp_state *s = state;
    if (s) {
        hp_pool_free(s->pool);
        free(s);
    }
    curl_global_cleanup();
}

/* ---- configuration -------------------------------------------------------------------- */

static void config_clear(hp_config *cfg)
{
    free(cfg->base);
    free(cfg->ca_file);
    free(cfg->credential);
    free(cfg->password_file);
    free(cfg->user);
    *cfg = (hp_config){0};
}

static char *prop(xmlNodePtr n, const char *name)
{
    xmlChar *v = n ? xmlGetNoNsProp(n, BAD_CAST name) : NULL;
    char *out = v && *v ? strdup((const char *)v) : NULL;
    xmlFree(v);
    return out;
}

/* baseURL as libcurl writes it, without the trailing '/': what every URL starts with. */
static char *normal_base(const char *base)
{
    CURLU *u = curl_url();
    char *s = NULL, *out = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &s, CURLU_NO_DEFAULT_PORT) == CURLUE_OK) {
        size_t n = strlen(s);
        while (n && s[n - 1] == '/')
            n--;
        out = strndup(s, n);
    }
    curl_free(s);
    curl_url_cleanup(u);
    return out;
}

static uint32_t read_config(provost_pcall *c, xmlDocPtr doc, const char *proc, hp_config *cfg)
{
    *cfg = (hp_config){.timeout_ms = 10000};
    xmlNodePtr pc = provost_child(provost_child(xmlDocGetRootElement(doc), "context"), "providerContext");
    char why[400], *base = prop(pc, "baseURL"), *auth = prop(pc, "authorization"), *t = prop(pc, "timeoutMs");
    char *in_doubt = prop(pc, "inDoubt");
    uint32_t rc = PROVOST_S_OK;
    cfg->ca_file = prop(pc, "caFile");
    cfg->credential = prop(pc, "credential");
    cfg->password_file = prop(pc, "passwordFile");
    cfg->user = prop(pc, "user");
    char *end = NULL;
    long ms = t ? strtol(t, &end, 10) : 10000;
    if (!hp_base_ok(base, why, sizeof why))
        rc = provost_failf(c, PROVOST_E_INVALIDARG, "%s: %s", proc, why);
    else if (!(cfg->base = normal_base(base)))
        rc = provost_failf(c, PROVOST_E_INVALIDARG, "%s: baseURL \"%.200s\" is not a valid URL", proc, base);
    else if (t && (*end || ms < 1 || ms > 3600000))
        rc = provost_failf(c, PROVOST_E_INVALIDARG,
                      "%s: timeoutMs \"%.40s\" is not a number of milliseconds from 1 to 3600000", proc, t);
    else if (auth && strcmp(auth, "bearer") != 0 && strcmp(auth, "basic") != 0 && strcmp(auth, "none") != 0)
        rc = provost_failf(c, PROVOST_E_INVALIDARG, "%s: authorization=\"%.40s\": it may be bearer, basic or none", proc,
                      auth);
    else if (in_doubt && strcmp(in_doubt, "resend") != 0 && strcmp(in_doubt, "manual") != 0)
        rc = provost_failf(c, PROVOST_E_INVALIDARG, "%s: inDoubt=\"%.40s\": it may be resend or manual", proc, in_doubt);
    cfg->timeout_ms = ms;
    cfg->auth = !auth || strcmp(auth, "none") == 0 ? HP_AUTH_NONE
                : strcmp(auth, "bearer") == 0       ? HP_AUTH_BEARER
                                                    : HP_AUTH_BASIC;
    cfg->in_doubt_manual = in_doubt && strcmp(in_doubt, "manual") == 0;
    free(base);
    free(auth);
    free(t);
    free(in_doubt);
    return rc;
}

/* TXID:procedureExecId -- the same for the call in process, in its in-doubt rollback and
 * in recovery (the id is journaled with the call's INTENT). */
static void idem_key(provost_pcall *c, xmlDocPtr doc, char *out, size_t n)
{
    xmlNodePtr ec = provost_child(provost_child(xmlDocGetRootElement(doc), "context"), "executeContext");
    xmlChar *id = ec ? xmlGetNoNsProp(ec, BAD_CAST "procedureExecId") : NULL;
    snprintf(out, n, "%s:%s", provost_pcall_transaction(c), id ? (const char *)id : "0");
    xmlFree(id);
}

/* ---- undo ----------------------------------------------------------------------------- */

static void fill_text(const hp_fillctx *f, xmlNodePtr n, int in_path, int *failed, char *why, size_t whylen)
{
    for (; n && !*failed; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            char *v = hp_fill(f, (const char *)n->content, in_path, why, whylen);
            if (!v) {
                *failed = 1;
                return;
            }
            xmlNodeSetContent(n, BAD_CAST v);
            free(v);
        } else if (n->type == XML_ELEMENT_NODE) {
            int p = in_path || (n->parent && n->parent->type == XML_ELEMENT_NODE &&
                                strcmp((const char *)n->name, "path") == 0 && n->parent->name &&
                                strcmp((const char *)n->parent->name, "undo") == 0);
            fill_text(f, n->children, p, failed, why, whylen);
        }
    }
}

/* The undo request of UNDO (executeData/undo) with its placeholders filled from F. */
static int build_undo(const hp_fillctx *f, xmlNodePtr undo, hp_request *out, char *why, size_t whylen)
{
    *out = (hp_request){0};
    xmlDocPtr tmp = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr copy = tmp ? xmlDocCopyNode(undo, tmp, 1) : NULL;
    if (!copy) {
        xmlFreeDoc(tmp);
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    xmlDocSetRootElement(tmp, copy);
    int failed = 0;
    why[0] = 0;
    fill_text(f, copy->children, 0, &failed, why, whylen);
    if (failed && !why[0])
        snprintf(why, whylen, "out of memory");
    int rc = failed ? -1 : hp_read_request(copy, NULL, out, why, whylen);
    xmlFreeDoc(tmp);
    return rc;
}

/* Location resolved against the request's URL, as a path under baseURL; NULL when absent
 * or elsewhere (the provider only talks to baseURL). */
static char *location_path(const hp_config *cfg, const hp_request *r, const hp_response *resp)
{
    const char *loc = hp_response_header(resp, "location");
    if (!loc || !hp_header_value_ok(loc))
        return NULL;
    size_t n = strlen(cfg->base) + strlen(r->path) + 1;
    char *url = malloc(n), *abs = NULL, *out = NULL;
    CURLU *u = url ? curl_url() : NULL;
    if (u) {
        snprintf(url, n, "%s%s", cfg->base, r->path);
        if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_URL, &abs, CURLU_NO_DEFAULT_PORT) == CURLUE_OK) {
            size_t b = strlen(cfg->base);
            if (strncmp(abs, cfg->base, b) == 0 && abs[b] == '/')
                out = strdup(abs + b);
        }
    }
    curl_free(abs);
    curl_url_cleanup(u);
    free(url);
    return out;
}

static int save_undo(provost_pcall *c, const char *key, const hp_request *u)
{
    size_t n = 1;
    for (size_t i = 0; i < u->nheaders; i++)
        n += strlen(u->headers[i].name) + strlen(u->headers[i].value) + 3;
    char *lines = malloc(n), *p = lines;
    if (!lines)
        return -1;
    *p = 0;
    for (size_t i = 0; i < u->nheaders; i++)
        p += sprintf(p, "%s: %s\n", u->headers[i].name, u->headers[i].value);
    int rc = provost_set_rollback_data(c, KEY_UNDO, "request") || provost_set_rollback_data(c, KEY_IDEM, key) ||
             provost_set_rollback_data(c, KEY_METHOD, u->method) || provost_set_rollback_data(c, KEY_PATH, u->path) ||
             (u->nheaders && provost_set_rollback_data(c, KEY_HEADERS, lines)) ||
             (u->body && provost_set_rollback_data(c, KEY_BODY, u->body)) ||
             (u->body && u->content_type && provost_set_rollback_data(c, KEY_CTYPE, u->content_type));
    free(lines);
    return rc ? -1 : 0;
}

/* The undo request recorded by process, or -1 with WHY. */
static int load_undo(const provost_pcall *c, hp_request *u, char *why, size_t whylen)
{
    *u = (hp_request){0};
    const char *m = provost_get_rollback_data(c, KEY_METHOD), *path = provost_get_rollback_data(c, KEY_PATH);
    const char *h = provost_get_rollback_data(c, KEY_HEADERS), *b = provost_get_rollback_data(c, KEY_BODY);
    char pwhy[200];
    if (!m || !path || !hp_path_ok(path, pwhy, sizeof pwhy)) {
        snprintf(why, whylen, "the rollback data holds no valid undo request");
        return -1;
    }
    u->method = strdup(m);
    u->path = strdup(path);
    u->body = b ? strdup(b) : NULL;
    u->content_type = provost_get_rollback_data(c, KEY_CTYPE);
    for (const char *p = h; p && *p;) {
        size_t n = strcspn(p, "\n");
        char *line = strndup(p, n), *colon = line ? strstr(line, ": ") : NULL;
        if (colon) {
            *colon = 0;
            hp_add_header(u, line, colon + 2);
        }
        free(line);
        p += n + (p[n] == '\n');
    }
    return u->method && u->path ? 0 : -1;
}

/* Sends the undo U; absent (404, 410) is success. */
static uint32_t send_undo(provost_pcall *c, hp_state *st, const hp_config *cfg, const hp_request *u, const char *key,
                          char *why, size_t whylen)
{
    char ukey[200];
    snprintf(ukey, sizeof ukey, "%s:undo", key);
    hp_response resp;
    int maybe;
    uint32_t rc = hp_perform(c, st->pool, cfg, u, ukey, &resp, &maybe, why, whylen);
    if (rc)
        return rc;
    if (resp.status >= 400 && resp.status != 404 && resp.status != 410) {
        rc = hp_status_code(resp.status);
        snprintf(why, whylen, "%s %s%.300s: status %ld", u->method, cfg->base, u->path, resp.status);
    }
    hp_response_clear(&resp);
    return rc;
}

/* ---- process ---------------------------------------------------------------------------- */

/* The undo of a request answered by RESP, filled; -1 with WHY. */
static int undo_for(const hp_config *cfg, const hp_request *r, const hp_response *resp, xmlNodePtr undo,
                    hp_request *u, char *why, size_t whylen)
{
    json_t *json = hp_response_json(resp);
    char *loc = location_path(cfg, r, resp);
    hp_fillctx f = {.resp = resp, .json = json, .location = loc};
    int rc = build_undo(&f, undo, u, why, whylen);
    json_decref(json);
    free(loc);
    return rc;
}

/* A write whose outcome is unknown (a timeout, a dropped connection): send it again with
 * the same key, and undo whatever that shows was done.  Says what happened in NOTE. */
static void settle_unknown(provost_pcall *c, hp_state *st, const hp_config *cfg, const hp_request *r, xmlNodePtr undo,
                           const char *key, char *note, size_t notelen)
{
    hp_response resp;
    int maybe;
    char why[600];
    hp_request u = {0};
    if (hp_perform(c, st->pool, cfg, r, key, &resp, &maybe, why, sizeof why) != 0)
        snprintf(note, notelen, "; it may have been applied: check the service (Idempotency-Key %s)", key);
    else if (resp.status >= 400)
        snprintf(note, notelen, "; sent again with the same Idempotency-Key: status %ld, nothing to undo", resp.status);
    else if (undo_for(cfg, r, &resp, undo, &u, why, sizeof why) != 0 ||
             send_undo(c, st, cfg, &u, key, why, sizeof why) != 0)
        snprintf(note, notelen,
                 "; it was applied and could not be undone (%.300s): check the service (Idempotency-Key %s)", why,
                 key);
    else
        snprintf(note, notelen, "; sent again with the same Idempotency-Key and undone");
    hp_request_clear(&u);
    hp_response_clear(&resp);
}

static uint32_t finish_request(provost_pcall *c, hp_state *st, const hp_config *cfg, const hp_request *r,
                               xmlNodePtr ed, xmlNodePtr undo, const char *key, const hp_response *resp)
{
    char why[600];
    hp_request u = {0};
    uint32_t rc = PROVOST_S_OK;
    if (provost_child(undo, "none")) {
        if (provost_set_rollback_data(c, KEY_UNDO, "none") != 0)
            return provost_failf(c, HP_E_OUTOFMEMORY, "Request %s %s%s: cannot record rollback data", r->method, cfg->base,
                            r->path);
    } else if (undo_for(cfg, r, resp, undo, &u, why, sizeof why) != 0) {
        return provost_failf(c, PROVOST_E_FAIL,
                        "Request %s %s%.300s: status %ld, but its undo cannot be built: %s; the change was made and "
                        "stays: undo it by hand (Idempotency-Key %s)",
                        r->method, cfg->base, r->path, resp->status, why, key);
    } else if (save_undo(c, key, &u) != 0) {
        rc = send_undo(c, st, cfg, &u, key, why, sizeof why);
        rc = provost_failf(c, HP_E_OUTOFMEMORY, "Request %s %s%.300s: cannot record rollback data; %s", r->method, cfg->base,
                      r->path, rc ? "the change could not be undone: undo it by hand" : "the change was undone");
        hp_request_clear(&u);
        return rc;
    }
    json_t *json = hp_response_json(resp);
    if (hp_write_response(ed, resp, json) != 0) {
        if (u.method)
            send_undo(c, st, cfg, &u, key, why, sizeof why);
        rc = provost_failf(c, HP_E_OUTOFMEMORY, "Request %s %s%.300s: out of memory writing the response", r->method,
                      cfg->base, r->path);
    }
    json_decref(json);
    hp_request_clear(&u);
    return rc;
}

static uint32_t do_request(provost_pcall *c, hp_state *st, const hp_config *cfg, xmlDocPtr doc, xmlNodePtr ed)
{
    char why[800], key[200];
    hp_request r, probe;
    if (hp_read_request(ed, NULL, &r, why, sizeof why) != 0) {
        hp_request_clear(&r);
        return provost_failf(c, PROVOST_E_INVALIDARG, "Request: %s", why);
    }
    xmlNodePtr undo = provost_child(ed, "undo");
    hp_fillctx pf = {.probe = 1};
    uint32_t rc = PROVOST_S_OK;
    if (!undo)
        rc = provost_failf(c, PROVOST_E_INVALIDARG,
                      "Request %s %s%.300s: executeData/undo is missing: say how to undo the request, or "
                      "<undo><none/></undo> when there is nothing to undo",
                      r.method, cfg->base, r.path);
    else if (!provost_child(undo, "none") && build_undo(&pf, undo, &probe, why, sizeof why) != 0)
        rc = provost_failf(c, PROVOST_E_INVALIDARG, "Request: undo: %s", why);
    if (undo && !provost_child(undo, "none"))
        hp_request_clear(&probe);
    if (rc) {
        hp_request_clear(&r);
        return rc;
    }
    idem_key(c, doc, key, sizeof key);
    hp_response resp;
    int maybe;
    rc = hp_perform(c, st->pool, cfg, &r, key, &resp, &maybe, why, sizeof why);
    if (rc && why[0]) {
        char note[600] = "";
        if (maybe && !provost_child(undo, "none"))
            settle_unknown(c, st, cfg, &r, undo, key, note, sizeof note);
        rc = provost_failf(c, rc, "%s%s", why, note);
    } else if (!rc && resp.status >= 400) {
        rc = hp_status_fail(c, cfg, &r, &resp);
    } else if (!rc) {
        rc = finish_request(c, st, cfg, &r, ed, undo, key, &resp);
    }
    hp_response_clear(&resp);
    hp_request_clear(&r);
    return rc;
}

static uint32_t do_get(provost_pcall *c, hp_state *st, const hp_config *cfg, xmlNodePtr ed)
{
    char why[800];
    hp_request r;
    if (hp_read_request(ed, "GET", &r, why, sizeof why) != 0) {
        hp_request_clear(&r);
        return provost_failf(c, PROVOST_E_INVALIDARG, "Get: %s", why);
    }
    hp_response resp;
    int maybe;
    uint32_t rc = hp_perform(c, st->pool, cfg, &r, NULL, &resp, &maybe, why, sizeof why);
    if (rc && why[0]) {
        rc = provost_failf(c, rc, "%s", why);
    } else if (!rc && resp.status >= 400) {
        rc = hp_status_fail(c, cfg, &r, &resp);
    } else if (!rc) {
        json_t *json = hp_response_json(&resp);
        if (hp_write_response(ed, &resp, json) != 0)
            rc = provost_failf(c, HP_E_OUTOFMEMORY, "Get %s%.300s: out of memory writing the response", cfg->base, r.path);
        json_decref(json);
    }
    hp_response_clear(&resp);
    hp_request_clear(&r);
    return rc;
}

static uint32_t http_process(provost_pcall *c, xmlDocPtr doc)
{
    const char *proc = provost_pcall_procedure(c);
    int request = proc && strcasecmp(proc, "Request") == 0, get = proc && strcasecmp(proc, "Get") == 0;
    if (!request && !get)
        return provost_failf(c, HP_E_NOT_FOUND, "the http provider has no procedure \"%s\" (it has Request and Get)",
                        proc ? proc : "");
    xmlNodePtr ed = provost_child(xmlDocGetRootElement(doc), "executeData");
    if (!ed)
        return provost_failf(c, PROVOST_E_INVALIDARG, "%s: executeData is missing", proc);
    hp_config cfg;
    uint32_t rc = read_config(c, doc, proc, &cfg);
    if (!rc)
        rc = request ? do_request(c, provost_provider_state(c), &cfg, doc, ed)
                     : do_get(c, provost_provider_state(c), &cfg, ed);
    config_clear(&cfg);
    return rc;
}

/* ---- rollback --------------------------------------------------------------------------- */

/* The call's DONE was not journaled: re-send the journaled request with its key, and undo
 * what the answer shows.  A 4xx answer means the request never took effect under that key. */
static uint32_t rollback_in_doubt(provost_pcall *c, hp_state *st, const hp_config *cfg, xmlDocPtr doc)
{
    xmlNodePtr ed = provost_child(xmlDocGetRootElement(doc), "executeData");
    char key[200], why[800];
    idem_key(c, doc, key, sizeof key);
    if (!provost_child(ed, "method") && !provost_child(ed, "path"))
        return provost_failf(c, PROVOST_E_FAIL,
                        "undo of Request in doubt: its executeData was not journaled (give the procedure "
                        "saveDataForRollback=\"1\"), so whether it reached %s is unknown: check the service "
                        "(Idempotency-Key %s), then provost txn resolve",
                        cfg->base, key);
    hp_request r;
    xmlNodePtr undo = provost_child(ed, "undo");
    if (hp_read_request(ed, NULL, &r, why, sizeof why) != 0 || !undo || provost_child(undo, "none")) {
        hp_request_clear(&r);
        return PROVOST_S_OK; /* refused before sending, or nothing to undo */
    }
    if (cfg->in_doubt_manual) {
        uint32_t rc = provost_failf(c, PROVOST_E_FAIL,
                               "undo of Request %s %s%.300s in doubt: inDoubt=\"manual\": check the service "
                               "(Idempotency-Key %s), then provost txn resolve",
                               r.method, cfg->base, r.path, key);
        hp_request_clear(&r);
        return rc;
    }
    hp_response resp;
    hp_request u = {0};
    int maybe;
    uint32_t rc = hp_perform(c, st->pool, cfg, &r, key, &resp, &maybe, why, sizeof why);
    if (!rc && resp.status >= 500)
        rc = hp_status_fail(c, cfg, &r, &resp);
    else if (!rc && resp.status < 400 &&
             (undo_for(cfg, &r, &resp, undo, &u, why, sizeof why) != 0 ||
              (rc = send_undo(c, st, cfg, &u, key, why, sizeof why)) != 0))
        rc = provost_failf(c, rc ? rc : PROVOST_E_FAIL, "undo of Request %s %s%.300s in doubt (Idempotency-Key %s): %s",
                      r.method, cfg->base, r.path, key, why);
    else if (rc && why[0])
        rc = provost_failf(c, rc, "undo of Request in doubt: sending it again: %s", why);
    hp_request_clear(&u);
    hp_response_clear(&resp);
    hp_request_clear(&r);
    return rc;
}

static uint32_t http_rollback(provost_pcall *c, xmlDocPtr doc)
{
    const char *proc = provost_pcall_procedure(c);
    if (!proc || strcasecmp(proc, "Request") != 0)
        return PROVOST_S_OK; /* nothing else writes */
    hp_config cfg;
    uint32_t rc = read_config(c, doc, "undo of Request", &cfg);
    if (rc) {
        config_clear(&cfg);
        return rc;
    }
    hp_state *st = provost_provider_state(c);
    const char *what = provost_get_rollback_data(c, KEY_UNDO);
    if (provost_pcall_in_doubt(c)) {
        rc = rollback_in_doubt(c, st, &cfg, doc);
    } else if (what && strcmp(what, "request") == 0) {
        char why[800];
        hp_request u;
        const char *key = provost_get_rollback_data(c, KEY_IDEM);
        if (load_undo(c, &u, why, sizeof why) != 0)
            rc = provost_failf(c, PROVOST_E_FAIL, "undo of Request: %s", why);
        else if ((rc = send_undo(c, st, &cfg, &u, key ? key : "", why, sizeof why)) != 0 && why[0])
            rc = provost_failf(c, rc, "undo of Request: %s", why);
        hp_request_clear(&u);
    }
    config_clear(&cfg);
    return rc;
}

__attribute__((visibility("default"))) const provost_provider provost_provider_v1 = {
    .abi = PROVOST_PROVIDER_ABI,
    .name = "http",
    .init = http_init,
    .fini = http_fini,
    .process = http_process,
    .rollback = http_rollback,
};
