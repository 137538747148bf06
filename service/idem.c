/*
 * idem.c -- what the engine's keyed submission cannot tell by itself: that a request with
 * this Idempotency-Key is running right now (409), or that the key was used with another
 * request (422).  Only this process runs requests on the database while it serves, so the
 * keys running are known here exactly; the payload of a finished key is remembered by its
 * SHA-256 in a table of the last SVC_IDEM_SLOTS keys (a key pushed out, or one from before
 * the service started, is answered from its outcome without the comparison).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "svc.h"

#define SVC_IDEM_SLOTS 4096u

typedef struct idem_entry {
    char *key;
    unsigned char hash[32];
} idem_entry;

struct svc_idem {
    pthread_mutex_t lock;
    idem_entry running[256]; /* at most max_inflight at once (capped by the server) */
    size_t nrunning;
    idem_entry done[SVC_IDEM_SLOTS];
};

svc_idem *svc_idem_open(void)
{
    svc_idem *m = calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->lock, NULL);
    return m;
}

void svc_idem_close(svc_idem *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nrunning; i++)
        free(m->running[i].key);
    for (size_t i = 0; i < SVC_IDEM_SLOTS; i++)
        free(m->done[i].key);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static unsigned slot(const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a: where a key sits, not a secret */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h % SVC_IDEM_SLOTS;
}

void svc_idem_hash(const svc_req *r, unsigned char hash[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned n = 0;
    if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(c, r->path, strlen(r->path) + 1) != 1 ||
        EVP_DigestUpdate(c, r->body, r->body_len) != 1 || EVP_DigestFinal_ex(c, hash, &n) != 1)
        memset(hash, 0, 32); /* cannot compare: every payload alike */
    EVP_MD_CTX_free(c);
}

int svc_idem_begin(svc_idem *m, const char *key, const unsigned char hash[32])
{
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nrunning && !rc; i++)
        if (strcmp(m->running[i].key, key) == 0)
            rc = 409;
    const idem_entry *d = &m->done[slot(key)];
    if (!rc && d->key && strcmp(d->key, key) == 0 && memcmp(d->hash, hash, 32) != 0)
        rc = 422;
    if (!rc) {
        idem_entry *e = m->nrunning < sizeof m->running / sizeof m->running[0] ? &m->running[m->nrunning] : NULL;
        if (!e || !(e->key = strdup(key)))
            rc = 503;
        else {
            memcpy(e->hash, hash, 32);
            m->nrunning++;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

void svc_idem_end(svc_idem *m, const char *key)
{
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nrunning; i++) {
        if (strcmp(m->running[i].key, key) != 0)
            continue;
        idem_entry *d = &m->done[slot(key)];
        free(d->key);
        *d = m->running[i]; /* the key moves over */
        m->running[i] = m->running[--m->nrunning];
        break;
    }
    pthread_mutex_unlock(&m->lock);
}
