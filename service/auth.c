/*
 * auth.c -- who a request runs for: `Authorization: Bearer TOKEN` checked against the
 * tokens beside the database (provost/tokens.h), held in memory and read again when
 * their file changes (the serve loop looks once a second) or on SIGHUP.  Without a
 * token, a request runs as the --allow-anonymous principal if one was given; the health
 * routes (and /metrics with --public-metrics) need none.  A refusal is 401 with
 * WWW-Authenticate: Bearer; what the principal may then do is the engine's to decide.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <microhttpd.h>

#include "provost/tokens.h"
#include "svc.h"

struct svc_auth {
    pthread_rwlock_t lock;
    provost_tokens *tokens; /* NULL: none loaded (every token refused) */
    bool failing;           /* the last reload failed (said once, not every second) */
};

static int load(svc_server *s, svc_auth *a, provost_error *err)
{
    provost_tokens *t = NULL;
    if (provost_tokens_load(s->db_dir, &t, err) != 0)
        return -1;
    pthread_rwlock_wrlock(&a->lock);
    provost_tokens *old = a->tokens;
    a->tokens = t;
    pthread_rwlock_unlock(&a->lock);
    provost_tokens_free(old);
    return 0;
}

static int verify(svc_auth *a, const char *token, char **principal, provost_error *err)
{
    const char *user = NULL;
    pthread_rwlock_rdlock(&a->lock);
    int rc = a->tokens ? provost_tokens_verify(a->tokens, token, (int64_t)time(NULL), &user, err) : -1;
    if (rc == 0 && !(*principal = strdup(user)))
        rc = -1;
    pthread_rwlock_unlock(&a->lock);
    return rc;
}

static void unload(svc_auth *a)
{
    provost_tokens_free(a->tokens);
}

svc_auth *svc_auth_open(svc_server *s, provost_error *err)
{
    svc_auth *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err->message, sizeof err->message, "out of memory");
        return NULL;
    }
    pthread_rwlock_init(&a->lock, NULL);
    if (load(s, a, err) != 0) {
        svc_auth_close(a);
        return NULL;
    }
    return a;
}

void svc_auth_close(svc_auth *a)
{
    if (!a)
        return;
    unload(a);
    pthread_rwlock_destroy(&a->lock);
    free(a);
}

void svc_auth_reload(svc_server *s, bool force)
{
    svc_auth *a = s->auth;
    /* only this thread (the serve loop) replaces the tokens: reading the pointer is safe */
    if (!force && !provost_tokens_changed(s->db_dir, a->tokens))
        return;
    provost_error err = {0};
    if (load(s, a, &err) != 0) {
        if (force || !a->failing)
            svc_log(s, "tokens not reloaded, the previous ones stay: %s", err.message);
        a->failing = true;
    } else {
        svc_log(s, "tokens reloaded");
        a->failing = false;
    }
}

static int refuse(svc_resp *p, const char *challenge, const char *why)
{
    svc_resp_error(p, 401, "%s", why);
    svc_resp_header(p, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
    return -1;
}

int svc_authenticate(svc_server *s, struct MHD_Connection *c, const svc_route *rt, char **principal, svc_resp *p)
{
    *principal = NULL;
    if ((rt->flags & SVC_PUBLIC) || ((rt->flags & SVC_METRICS) && s->o.public_metrics))
        return 0;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h) {
        if (s->o.allow_anonymous) {
            if ((*principal = strdup(s->o.allow_anonymous)))
                return 0;
            svc_resp_error(p, 500, "out of memory");
            return -1;
        }
        return refuse(p, "Bearer realm=\"provost\"", "a bearer token is needed (Authorization: Bearer TOKEN)");
    }
    if (strncasecmp(h, "Bearer ", 7) != 0)
        return refuse(p, "Bearer realm=\"provost\"", "only bearer tokens are taken (Authorization: Bearer TOKEN)");
    const char *token = h + 7;
    while (*token == ' ')
        token++;
    provost_error err = {0};
    if (verify(s->auth, token, principal, &err) != 0)
        return refuse(p, "Bearer realm=\"provost\", error=\"invalid_token\"", err.message);
    return 0;
}
