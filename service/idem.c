/*
 * idem.c -- what the engine's keyed submission cannot give by itself: the answer a keyed
 * request got, given again byte for byte to its repeats, across restarts; that a request
 * with this Idempotency-Key is running right now (409); and that the key was used with
 * another request (422).  Only this process runs requests on the database while it
 * serves, so the keys running are known here exactly.  A finished key leaves a file in
 * DB/service-keys/ (named by the SHA-256 of the key, which holds its principal) with the
 * SHA-256 of the request's method, path and body, and the status, type and body answered;
 * it is written to a temporary file, synced, then renamed over, so a repeat finds either
 * the whole answer or none (then the engine's recorded outcome answers, as before).
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "svc.h"

#define IDEM_RUNNING 256u /* at most max_inflight at once (capped by the server) */
#define IDEM_MAGIC "provost-idem 1\n"

struct svc_idem {
    svc_server *srv;
    char dir[4200];
    pthread_mutex_t lock;
    char *running[IDEM_RUNNING];
    size_t nrunning;
};

svc_idem *svc_idem_open(svc_server *s)
{
    svc_idem *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->srv = s;
    snprintf(m->dir, sizeof m->dir, "%s/service-keys", s->db_dir);
    /* the answers hold what the users' requests returned: the owner's only */
    if (mkdir(m->dir, 0700) != 0 && errno != EEXIST)
        svc_log(s, "cannot create %s: %s; repeated keys are answered from their outcome only", m->dir,
                strerror(errno));
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void svc_idem_close(svc_idem *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nrunning; i++)
        free(m->running[i]);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static void sha256(const void *const *parts, const size_t *lens, size_t n, unsigned char hash[32])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned got = 0;
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_DigestUpdate(c, parts[i], lens[i]) == 1;
    if (!ok || EVP_DigestFinal_ex(c, hash, &got) != 1)
        memset(hash, 0, 32); /* cannot compare: every payload alike */
    EVP_MD_CTX_free(c);
}

void svc_idem_hash(const svc_req *r, unsigned char hash[32])
{
    /* each with its NUL, so "/a" + "b" is not "/ab" + "" */
    const void *parts[] = {r->method, r->path, r->body};
    size_t lens[] = {strlen(r->method) + 1, strlen(r->path) + 1, r->body_len};
    sha256(parts, lens, 3, hash);
}

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The file of KEY, in buf. */
static void key_file(const svc_idem *m, const char *key, char *buf, size_t size)
{
    unsigned char h[32];
    char name[65];
    const void *parts[] = {key};
    size_t lens[] = {strlen(key)};
    sha256(parts, lens, 1, h);
    hex(h, 32, name);
    snprintf(buf, size, "%s/%s", m->dir, name);
}

static void drop_running(svc_idem *m, const char *key)
{
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nrunning; i++) {
        if (strcmp(m->running[i], key) != 0)
            continue;
        free(m->running[i]);
        m->running[i] = m->running[--m->nrunning];
        break;
    }
    pthread_mutex_unlock(&m->lock);
}

/* The answer stored for KEY: 1 (p filled, its payload's hash in stored), 0 (none). */
static int load(svc_idem *m, const char *key, unsigned char stored[32], svc_resp *p)
{
    char path[4400];
    key_file(m, key, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char magic[sizeof IDEM_MAGIC], hhex[65], type[64];
    int status = 0;
    size_t len = 0;
    char *body = NULL;
    int ok = fgets(magic, sizeof magic, f) && strcmp(magic, IDEM_MAGIC) == 0 &&
             fscanf(f, "%64s %d %zu %63s", hhex, &status, &len, type) == 4 && fgetc(f) == '\n' && len < (1u << 30) &&
             (body = malloc(len + 1)) && fread(body, 1, len, f) == len && fgetc(f) == EOF;
    fclose(f);
    ok = ok && strlen(hhex) == 64;
    for (int i = 0; ok && i < 32; i++) {
        unsigned v;
        ok = sscanf(hhex + 2 * i, "%2x", &v) == 1;
        stored[i] = (unsigned char)v;
    }
    if (!ok || status < 100 || status > 599) {
        free(body);
        svc_log(m->srv, "%s is not a stored answer: ignored", path);
        return 0;
    }
    body[len] = 0;
    const char *t = strcmp(type, "json") == 0 ? SVC_JSON : strcmp(type, "text") == 0 ? SVC_TEXT : SVC_XML;
    svc_resp_set(p, status, t, body, len);
    return 1;
}

int svc_idem_begin(svc_idem *m, const char *key, const unsigned char hash[32], svc_resp *p)
{
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nrunning && !rc; i++)
        if (strcmp(m->running[i], key) == 0)
            rc = 409;
    if (!rc) {
        char *k = m->nrunning < IDEM_RUNNING ? strdup(key) : NULL;
        if (!k)
            rc = 503;
        else
            m->running[m->nrunning++] = k;
    }
    pthread_mutex_unlock(&m->lock);
    if (rc)
        return rc;
    /* now no other request of this key runs: the file, if any, is whole and stays so */
    unsigned char stored[32];
    svc_resp got = {0};
    if (!load(m, key, stored, &got))
        return 0;
    drop_running(m, key);
    if (memcmp(stored, hash, 32) != 0) {
        svc_resp_clear(&got);
        return 422;
    }
    svc_resp_set(p, got.status, got.type, got.body, got.len);
    svc_resp_header(p, "Idempotent-Replayed", "true");
    return 1;
}

/* Writes the whole file, or nothing: temporary, synced, renamed over, directory synced. */
static int store(svc_idem *m, const char *key, const unsigned char hash[32], const svc_resp *p)
{
    char path[4400], tmp[4500], hhex[65];
    key_file(m, key, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hex(hash, 32, hhex);
    const char *type = p->type && strcmp(p->type, SVC_JSON) == 0   ? "json"
                       : p->type && strcmp(p->type, SVC_TEXT) == 0 ? "text"
                                                                   : "xml";
    char *head = NULL;
    int n = asprintf(&head, IDEM_MAGIC "%s %d %zu %s\n", hhex, p->status, p->len, type);
    if (n < 0)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int ok = fd >= 0 && write(fd, head, (size_t)n) == n && (p->len == 0 || write(fd, p->body, p->len) == (ssize_t)p->len) &&
             fsync(fd) == 0;
    free(head);
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    if (!ok) {
        unlink(tmp);
        return -1;
    }
    int dfd = open(m->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

void svc_idem_end(svc_idem *m, const char *key, const unsigned char hash[32], const svc_resp *p)
{
    if (p && store(m, key, hash, p) != 0)
        svc_log(m->srv, "cannot store the answer of an Idempotency-Key in %s; its repeats are answered from its outcome",
                m->dir);
    drop_running(m, key);
}
