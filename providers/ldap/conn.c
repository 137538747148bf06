/*
 * conn.c -- the ldap provider's plumbing: a namespace's providerContext, a bounded pool of
 * bound connections per directory and bind identity (shared by every transaction of the
 * provider instance, so that a batch does not bind once per call), LDAP result codes as
 * HRESULTs, and the DN and value helpers the procedures share.  The bind password comes
 * from the engine's provost_secret() each time a connection is made, and lives only until
 * the bind returns.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lp.h"

/* One pool per (uri, bind identity). */
struct lp_pool {
    char *key;
    LDAP **idle;
    int nidle, total, max;
    pthread_cond_t cond;
    struct lp_pool *next;
};

typedef struct lp_state {
    pthread_mutex_t mu;
    lp_pool *pools;
} lp_state;

/* ---- small helpers ---- */

char *lp_strdup(const char *s)
{
    return strdup(s ? s : "");
}

char *lp_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

uint32_t lp_failf(lp_call *k, uint32_t code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return provost_fail(k->c, code, msg);
}

/* ---- result codes ---- */

uint32_t lp_map(int rc)
{
    switch (rc) {
    case LDAP_SUCCESS:
        return PROVOST_S_OK;
    case LDAP_NO_SUCH_OBJECT:
        return LP_E_NOT_FOUND;
    case LDAP_ALREADY_EXISTS:
    case LDAP_TYPE_OR_VALUE_EXISTS:
        return LP_E_EXISTS;
    case LDAP_INSUFFICIENT_ACCESS:
    case LDAP_INVALID_CREDENTIALS:
    case LDAP_INAPPROPRIATE_AUTH:
    case LDAP_STRONG_AUTH_REQUIRED:
    case LDAP_CONFIDENTIALITY_REQUIRED:
        return LP_E_ACCESS_DENIED;
    case LDAP_TIMELIMIT_EXCEEDED:
    case LDAP_TIMEOUT:
        return LP_E_TIMEOUT;
    case LDAP_SERVER_DOWN:
    case LDAP_CONNECT_ERROR:
    case LDAP_UNAVAILABLE:
    case LDAP_BUSY:
        return LP_E_UNREACHABLE;
    case LDAP_INVALID_DN_SYNTAX:
    case LDAP_INVALID_SYNTAX:
    case LDAP_UNDEFINED_TYPE:
    case LDAP_FILTER_ERROR:
    case LDAP_PARAM_ERROR:
    case LDAP_INAPPROPRIATE_MATCHING:
        return PROVOST_E_INVALIDARG;
    case LDAP_OBJECT_CLASS_VIOLATION:
    case LDAP_NAMING_VIOLATION:
    case LDAP_CONSTRAINT_VIOLATION:
    case LDAP_NOT_ALLOWED_ON_RDN:
        return LP_E_INVALID_DATA;
    case LDAP_NO_SUCH_ATTRIBUTE:
        return LP_E_ELEMENT_NOT_FOUND;
    case LDAP_NOT_ALLOWED_ON_NONLEAF:
        return LP_E_NOT_EMPTY;
    case LDAP_SIZELIMIT_EXCEEDED:
    case LDAP_ADMINLIMIT_EXCEEDED:
        return LP_E_MORE_DATA;
    case LDAP_UNWILLING_TO_PERFORM:
    case LDAP_AFFECTS_MULTIPLE_DSAS:
        return LP_E_NOT_SUPPORTED;
    case LDAP_NO_MEMORY:
        return LP_E_OUTOFMEMORY;
    default:
        return PROVOST_E_FAIL;
    }
}

static int conn_failed(int rc)
{
    return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT || rc == LDAP_UNAVAILABLE;
}

uint32_t lp_fail_ld(lp_call *k, int rc, const char *what, const char *dn)
{
    char *diag = NULL;
    if (k->ld)
        ldap_get_option(k->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
    if (conn_failed(rc))
        k->broken = 1;
    const char *extra = rc == LDAP_TIMEOUT ? "no answer within timeoutMs" : "";
    uint32_t code = lp_failf(k, lp_map(rc), "%s: %s %s at %s: %s (LDAP result %d)%s%s", k->proc, what,
                             dn && *dn ? dn : "\"\"", k->cfg.uri, ldap_err2string(rc), rc,
                             (diag && *diag) || *extra ? ": " : "", diag && *diag ? diag : extra);
    if (diag)
        ldap_memfree(diag);
    return code;
}

/* ---- configuration ---- */

static char *ctx_value(xmlNodePtr pctx, const char *name)
{
    xmlChar *a = pctx ? xmlGetProp(pctx, BAD_CAST name) : NULL;
    if (a) {
        char *s = lp_strdup((const char *)a);
        xmlFree(a);
        return s;
    }
    return provost_child_text(pctx, name);
}

void lp_config_free(lp_config *cfg)
{
    free(cfg->uri);
    free(cfg->bind_dn);
    free(cfg->credential);
    free(cfg->password_file);
    free(cfg->base_dn);
    free(cfg->quarantine_dn);
    memset(cfg, 0, sizeof *cfg);
}

int lp_config_copy(lp_config *dst, const lp_config *src)
{
    *dst = (lp_config){.timeout_ms = src->timeout_ms, .pool_size = src->pool_size};
    char **to[] = {&dst->uri, &dst->bind_dn, &dst->credential, &dst->password_file, &dst->base_dn, &dst->quarantine_dn};
    char *const from[] = {src->uri, src->bind_dn, src->credential, src->password_file, src->base_dn, src->quarantine_dn};
    int bad = 0;
    for (size_t i = 0; i < sizeof to / sizeof *to; i++)
        if (from[i] && !(*to[i] = strdup(from[i])))
            bad = 1;
    if (bad)
        lp_config_free(dst);
    return bad ? -1 : 0;
}

static int int_setting(const char *s, int dflt, int lo, int hi, int *out)
{
    if (!s || !*s) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

uint32_t lp_begin(lp_call *k, provost_pcall *c, xmlDocPtr doc)
{
    memset(k, 0, sizeof *k);
    k->c = c;
    k->proc = provost_pcall_procedure(c);
    k->doc = doc;
    xmlNodePtr top = xmlDocGetRootElement(doc);
    k->data = provost_child(top, "executeData");
    if (!k->data)
        k->data = xmlNewChild(top, NULL, BAD_CAST "executeData", NULL);
    if (!k->data)
        return lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
    xmlNodePtr pctx = provost_child(provost_child(top, "context"), "providerContext");
    lp_config *cfg = &k->cfg;
    cfg->uri = ctx_value(pctx, "uri");
    cfg->bind_dn = ctx_value(pctx, "bindDN");
    cfg->credential = ctx_value(pctx, "credential");
    cfg->password_file = ctx_value(pctx, "passwordFile");
    cfg->base_dn = ctx_value(pctx, "baseDN");
    cfg->quarantine_dn = ctx_value(pctx, "quarantineDN");
    char *t = ctx_value(pctx, "timeoutMs"), *p = ctx_value(pctx, "poolSize");
    int bad_t = int_setting(t, 10000, 1, 3600000, &cfg->timeout_ms);
    int bad_p = int_setting(p, 8, 1, 256, &cfg->pool_size);
    free(t);
    free(p);
    if (!cfg->uri || !*cfg->uri)
        return lp_failf(k, PROVOST_E_INVALIDARG, "%s: the namespace's providerContext needs a uri", k->proc);
    if (!cfg->base_dn || !*cfg->base_dn)
        return lp_failf(k, PROVOST_E_INVALIDARG, "%s: the namespace's providerContext needs a baseDN", k->proc);
    if (bad_t)
        return lp_failf(k, PROVOST_E_INVALIDARG, "%s: providerContext timeoutMs must be 1 to 3600000", k->proc);
    if (bad_p)
        return lp_failf(k, PROVOST_E_INVALIDARG, "%s: providerContext poolSize must be 1 to 256", k->proc);
    LDAPDN d = NULL;
    if (ldap_str2dn(cfg->base_dn, &d, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !d) {
        ldap_dnfree(d);
        return lp_failf(k, PROVOST_E_INVALIDARG, "%s: providerContext baseDN \"%.300s\" is not a DN", k->proc,
                        cfg->base_dn);
    }
    ldap_dnfree(d);
    if (!cfg->quarantine_dn || !*cfg->quarantine_dn) {
        free(cfg->quarantine_dn);
        cfg->quarantine_dn = lp_fmt("ou=provost-quarantine,%s", cfg->base_dn);
        if (!cfg->quarantine_dn)
            return lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
    }
    return lp_check_dn(k, cfg->quarantine_dn, "providerContext quarantineDN");
}

/* ---- the pool ---- */

uint32_t lp_init(void **state)
{
    lp_state *s = calloc(1, sizeof *s);
    if (!s)
        return LP_E_OUTOFMEMORY;
    pthread_mutex_init(&s->mu, NULL);
    /* libldap initialises its global options on first use, which is not thread-safe: do
     * it here, once, before any transaction runs */
    int v = 0;
    ldap_get_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &v);
    /* ...and never frees what that made: keep libldap and liblber loaded when the engine
     * unloads this plug-in, so their process-wide state stays theirs instead of leaking */
    const void *syms[] = {(const void *)ldap_initialize, (const void *)ber_alloc_t};
    for (int i = 0; i < 2; i++) {
        Dl_info info;
        if (dladdr(syms[i], &info) && info.dli_fname)
            dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    }
    *state = s;
    return PROVOST_S_OK;
}

void lp_fini(void *state)
{
    lp_state *s = state;
    if (!s)
        return;
    for (lp_pool *p = s->pools, *next; p; p = next) {
        next = p->next;
        for (int i = 0; i < p->nidle; i++)
            ldap_unbind_ext_s(p->idle[i], NULL, NULL);
        pthread_cond_destroy(&p->cond);
        free(p->idle);
        free(p->key);
        free(p);
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* The pool for this configuration (S->mu held), made on first use. */
static lp_pool *pool_for(lp_state *s, const lp_config *cfg)
{
    char *key = lp_fmt("%s\x1f%s\x1f%s\x1f%s", cfg->uri, cfg->bind_dn ? cfg->bind_dn : "",
                       cfg->credential ? cfg->credential : "", cfg->password_file ? cfg->password_file : "");
    if (!key)
        return NULL;
    for (lp_pool *p = s->pools; p; p = p->next)
        if (strcmp(p->key, key) == 0) {
            free(key);
            return p;
        }
    lp_pool *p = calloc(1, sizeof *p);
    if (p)
        p->idle = calloc((size_t)cfg->pool_size, sizeof *p->idle);
    if (!p || !p->idle) {
        free(p);
        free(key);
        return NULL;
    }
    p->key = key;
    p->max = cfg->pool_size;
    pthread_cond_init(&p->cond, NULL);
    p->next = s->pools;
    s->pools = p;
    return p;
}

/* An idle connection whose server has closed it (or said anything unasked, which for LDAP
 * is a notice of disconnection) is readable. */
static int stale(LDAP *ld)
{
    int fd = -1;
    if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS || fd < 0)
        return 1;
    struct pollfd pfd = {.fd = fd, .events = POLLIN | POLLRDHUP};
    return poll(&pfd, 1, 0) != 0;
}

static uint32_t open_conn(lp_call *k, LDAP **out)
{
    lp_config *cfg = &k->cfg;
    LDAP *ld = NULL;
    int rc = ldap_initialize(&ld, cfg->uri);
    if (rc != LDAP_SUCCESS || !ld)
        return lp_failf(k, PROVOST_E_INVALIDARG, "%s: providerContext uri \"%.300s\": %s", k->proc, cfg->uri,
                        ldap_err2string(rc));
    int v3 = LDAP_VERSION3;
    struct timeval tv = {cfg->timeout_ms / 1000, (cfg->timeout_ms % 1000) * 1000};
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3);
    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
    k->ld = ld;
    uint32_t code = PROVOST_S_OK;
    if (cfg->bind_dn && *cfg->bind_dn) {
        char *secret = NULL;
        code = provost_secret(k->c, cfg->credential, cfg->password_file, &secret, NULL);
        if (code == PROVOST_S_OK) {
            struct berval cred = {strlen(secret), secret};
            rc = ldap_sasl_bind_s(ld, cfg->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
            provost_secret_free(secret);
            if (rc != LDAP_SUCCESS)
                code = lp_fail_ld(k, rc, "bind as", cfg->bind_dn);
        }
    } else {
        /* anonymous: make the connection now, so an unreachable server shows here */
        LDAPMessage *res = NULL;
        char *none[] = {"1.1", NULL};
        rc = ldap_search_ext_s(ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", none, 0, NULL, NULL, &tv, 1, &res);
        ldap_msgfree(res);
        if (conn_failed(rc))
            code = lp_fail_ld(k, rc, "connect for", "the root DSE");
    }
    k->ld = NULL;
    if (code != PROVOST_S_OK) {
        ldap_unbind_ext_s(ld, NULL, NULL);
        return code;
    }
    *out = ld;
    return PROVOST_S_OK;
}

/* libldap writes to sockets a server may have closed: SIGPIPE must not end the process.
 * It is blocked for the calling thread during the call; one raised meanwhile (and not
 * pending before) is taken when the call ends. */
static void pipe_block(lp_call *k)
{
    sigset_t pipe, pend;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigemptyset(&pend);
    sigpending(&pend);
    k->pipe_pending = sigismember(&pend, SIGPIPE) ? 2 : 1;
    pthread_sigmask(SIG_BLOCK, &pipe, &k->oldmask);
}

static void pipe_unblock(lp_call *k)
{
    if (!k->pipe_pending)
        return;
    sigset_t pipe, pend;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigemptyset(&pend);
    if (k->pipe_pending == 1 && sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE)) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &k->oldmask, NULL);
    k->pipe_pending = 0;
}

uint32_t lp_connect(lp_call *k)
{
    lp_state *s = provost_provider_state(k->c);
    if (!s)
        return lp_failf(k, PROVOST_E_FAIL, "%s: provider not initialised", k->proc);
    pipe_block(k);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += k->cfg.timeout_ms / 1000;
    deadline.tv_nsec += (long)(k->cfg.timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    lp_pool *p = pool_for(s, &k->cfg);
    if (!p) {
        pthread_mutex_unlock(&s->mu);
        return lp_failf(k, LP_E_OUTOFMEMORY, "%s: out of memory", k->proc);
    }
    for (;;) {
        if (p->nidle > 0) {
            LDAP *ld = p->idle[--p->nidle];
            pthread_mutex_unlock(&s->mu);
            if (!stale(ld)) {
                k->pool = p;
                k->ld = ld;
                return PROVOST_S_OK;
            }
            ldap_unbind_ext_s(ld, NULL, NULL);
            pthread_mutex_lock(&s->mu);
            p->total--;
            continue;
        }
        if (p->total < p->max) {
            p->total++;
            pthread_mutex_unlock(&s->mu);
            LDAP *ld = NULL;
            uint32_t code = open_conn(k, &ld);
            if (code == PROVOST_S_OK) {
                k->pool = p;
                k->ld = ld;
                return code;
            }
            pthread_mutex_lock(&s->mu);
            p->total--;
            pthread_cond_signal(&p->cond);
            pthread_mutex_unlock(&s->mu);
            return code;
        }
        if (pthread_cond_timedwait(&p->cond, &s->mu, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&s->mu);
            return lp_failf(k, LP_E_TIMEOUT, "%s: all %d connections to %s stayed busy for timeoutMs", k->proc,
                            p->max, k->cfg.uri);
        }
    }
}

void lp_end(lp_call *k)
{
    if (k->ld && k->pool) {
        lp_state *s = provost_provider_state(k->c);
        pthread_mutex_lock(&s->mu);
        if (k->broken || k->pool->nidle >= k->pool->max) {
            k->pool->total--;
            pthread_mutex_unlock(&s->mu);
            ldap_unbind_ext_s(k->ld, NULL, NULL);
            pthread_mutex_lock(&s->mu);
        } else {
            k->pool->idle[k->pool->nidle++] = k->ld;
        }
        pthread_cond_signal(&k->pool->cond);
        pthread_mutex_unlock(&s->mu);
    }
    k->ld = NULL;
    pipe_unblock(k);
    lp_config_free(&k->cfg);
}

/* ---- DNs ---- */

static int rdn_equal(LDAPRDN a, LDAPRDN b)
{
    int i = 0;
    for (; a[i] && b[i]; i++) {
        LDAPAVA *x = a[i], *y = b[i];
        if (x->la_attr.bv_len != y->la_attr.bv_len ||
            strncasecmp(x->la_attr.bv_val, y->la_attr.bv_val, x->la_attr.bv_len) != 0 ||
            x->la_value.bv_len != y->la_value.bv_len ||
            strncasecmp(x->la_value.bv_val, y->la_value.bv_val, x->la_value.bv_len) != 0)
            return 0;
    }
    return !a[i] && !b[i];
}

uint32_t lp_check_dn(lp_call *k, const char *dn, const char *field)
{
    if (!dn || !*dn)
        return lp_failf(k, PROVOST_E_INVALIDARG, "%s: %s is missing", k->proc, field);
    LDAPDN d = NULL, b = NULL;
    if (ldap_str2dn(dn, &d, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !d) {
        ldap_dnfree(d);
        return lp_failf(k, PROVOST_E_INVALIDARG, "%s: %s \"%.300s\" is not a DN", k->proc, field, dn);
    }
    ldap_str2dn(k->cfg.base_dn, &b, LDAP_DN_FORMAT_LDAPV3);
    int nd = 0, nb = 0, under = 1;
    while (d[nd])
        nd++;
    while (b && b[nb])
        nb++;
    if (nd < nb)
        under = 0;
    for (int i = 0; under && i < nb; i++)
        under = rdn_equal(d[nd - nb + i], b[i]);
    ldap_dnfree(d);
    ldap_dnfree(b);
    if (!under)
        return lp_failf(k, LP_E_ACCESS_DENIED, "%s: %s \"%.300s\" is outside baseDN \"%.300s\"", k->proc, field, dn,
                        k->cfg.base_dn);
    return PROVOST_S_OK;
}

int lp_dn_equal(const char *a, const char *b)
{
    char *na = NULL, *nb = NULL;
    int eq;
    if (ldap_dn_normalize(a, LDAP_DN_FORMAT_LDAPV3, &na, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS &&
        ldap_dn_normalize(b, LDAP_DN_FORMAT_LDAPV3, &nb, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS && na && nb)
        eq = strcasecmp(na, nb) == 0;
    else
        eq = strcasecmp(a, b) == 0;
    ldap_memfree(na);
    ldap_memfree(nb);
    return eq;
}

char *lp_dn_parent(const char *dn)
{
    LDAPDN d = NULL;
    char *s = NULL, *out = NULL;
    if (ldap_str2dn(dn, &d, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !d || !d[0]) {
        ldap_dnfree(d);
        return NULL;
    }
    if (!d[1])
        out = strdup("");
    else if (ldap_dn2str(&d[1], &s, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS && s)
        out = strdup(s);
    ldap_memfree(s);
    ldap_dnfree(d);
    return out;
}

char *lp_dn_rdn(const char *dn)
{
    LDAPDN d = NULL;
    char *s = NULL, *out = NULL;
    if (ldap_str2dn(dn, &d, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS && d && d[0] &&
        ldap_rdn2str(d[0], &s, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS && s)
        out = strdup(s);
    ldap_memfree(s);
    ldap_dnfree(d);
    return out;
}

char *lp_make_rdn(const char *type, const char *value)
{
    LDAPAVA ava;
    memset(&ava, 0, sizeof ava);
    ava.la_attr.bv_val = (char *)type;
    ava.la_attr.bv_len = strlen(type);
    ava.la_value.bv_val = (char *)value;
    ava.la_value.bv_len = strlen(value);
    ava.la_flags = LDAP_AVA_STRING;
    LDAPAVA *rdn[2] = {&ava, NULL};
    char *s = NULL, *out = NULL;
    if (ldap_rdn2str(rdn, &s, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS && s)
        out = strdup(s);
    ldap_memfree(s);
    return out;
}

int lp_read(lp_call *k, const char *dn, char **attrs, LDAPMessage **res)
{
    struct timeval tv = {k->cfg.timeout_ms / 1000, (k->cfg.timeout_ms % 1000) * 1000};
    *res = NULL;
    int rc = ldap_search_ext_s(k->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL, &tv, 1, res);
    if (rc == LDAP_SUCCESS && !ldap_first_entry(k->ld, *res))
        rc = LDAP_NO_SUCH_OBJECT;
    if (rc != LDAP_SUCCESS) {
        ldap_msgfree(*res);
        *res = NULL;
    }
    return rc;
}

/* ---- values ---- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *lp_b64(const struct berval *v)
{
    size_t n = v->bv_len, o = 0;
    char *out = malloc((n + 2) / 3 * 4 + 1);
    const unsigned char *s = (const unsigned char *)v->bv_val;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned x = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
        out[o++] = b64chars[x >> 18 & 63];
        out[o++] = b64chars[x >> 12 & 63];
        out[o++] = i + 1 < n ? b64chars[x >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64chars[x & 63] : '=';
    }
    out[o] = 0;
    return out;
}

/* Text XML can carry: UTF-8 without control characters other than tab and line ends. */
int lp_is_text(const struct berval *v)
{
    for (size_t i = 0; i < v->bv_len; i++) {
        unsigned char ch = (unsigned char)v->bv_val[i];
        if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r')
            return 0;
    }
    char *tmp = strndup(v->bv_val, v->bv_len);
    int ok = tmp && xmlCheckUTF8((const unsigned char *)tmp);
    free(tmp);
    return ok;
}

char *lp_encode(const struct berval *v)
{
    if (lp_is_text(v))
        return lp_fmt("=%.*s", (int)v->bv_len, v->bv_val);
    char *b = lp_b64(v);
    char *out = b ? lp_fmt(":%s", b) : NULL;
    free(b);
    return out;
}

int lp_decode(const char *s, struct berval *out)
{
    out->bv_val = NULL;
    out->bv_len = 0;
    if (s[0] == '=') {
        out->bv_val = strdup(s + 1);
        out->bv_len = strlen(s + 1);
        return out->bv_val ? 0 : -1;
    }
    if (s[0] != ':')
        return -1;
    s++;
    size_t n = strlen(s), o = 0;
    unsigned char *buf = malloc(n / 4 * 3 + 1);
    if (!buf || n % 4) {
        free(buf);
        return -1;
    }
    for (size_t i = 0; i < n; i += 4) {
        unsigned x = 0;
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            const char *p = s[i + j] == '=' ? NULL : strchr(b64chars, s[i + j]);
            if (s[i + j] == '=')
                pad++;
            else if (!p || !s[i + j]) {
                free(buf);
                return -1;
            }
            x = x << 6 | (p ? (unsigned)(p - b64chars) : 0);
        }
        buf[o++] = (unsigned char)(x >> 16);
        if (pad < 2)
            buf[o++] = (unsigned char)(x >> 8);
        if (pad < 1)
            buf[o++] = (unsigned char)x;
    }
    buf[o] = 0;
    out->bv_val = (char *)buf;
    out->bv_len = o;
    return 0;
}
