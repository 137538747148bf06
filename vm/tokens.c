/*
 * tokens.c -- the bearer tokens of DB/tokens (provost/tokens.h).  A token is
 * pvt_<id>_<secret>: the id is public (list shows it, revoke takes it), the secret is
 * shown once at creation and only its SHA-256 is kept, so a copy of the file lets nobody
 * in.  The file is text, one token a line after a versioned first line:
 *
 *   provost-tokens 1
 *   ID <TAB> SHA256(SECRET) <TAB> USER <TAB> CREATED <TAB> EXPIRES <TAB> REVOKED
 *
 * times in seconds since the epoch, EXPIRES and REVOKED 0 for never.  It is read whole
 * and refused whole when any line is not one this code writes: a file someone edited by
 * hand is not half-trusted.  Writers take flock on DB/tokens.lock and replace the file by
 * rename, so readers (a service) never see a partial file and concurrent writers lose
 * nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "provost/tokens.h"
#include "vm.h"

#define TK_HEADER "provost-tokens 1"
#define TK_PREFIX "pvt_"
#define TK_ID_BYTES 6
#define TK_SECRET_BYTES 24 /* 192 bits */
#define TK_ID_HEX (2 * TK_ID_BYTES)
#define TK_SECRET_HEX (2 * TK_SECRET_BYTES)
#define TK_USER_MAX 128

typedef struct tk_entry {
    char id[TK_ID_HEX + 1];
    unsigned char hash[32];
    char *user;
    int64_t created, expires, revoked;
} tk_entry;

struct provost_tokens {
    tk_entry *v; /* sorted by id once loaded */
    size_t n, cap;
    bool exists; /* the file's identity when read: a writer replaces it by rename */
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    off_t size;
};

static void tk_clear(provost_tokens *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].user);
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = 0;
}

/* A principal's name as provost/rights.h allows it: nothing that could break a line. */
static bool user_ok(const char *u, size_t n)
{
    if (n == 0 || n > TK_USER_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = u[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-' || c == '@'))
            return false;
    }
    return true;
}

static bool parse_time(const char *s, int64_t *out)
{
    if (!*s || strlen(s) > 18)
        return false;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (*s - '0');
    }
    *out = v;
    return true;
}

static int sha256(const char *s, size_t n, unsigned char out[32])
{
    unsigned len = 0;
    return EVP_Digest(s, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32 ? 0 : -1;
}

/* One line of the file (without its newline) into E; NULL, or what is wrong with it. */
static const char *parse_line(char *line, tk_entry *e)
{
    char *f[6];
    int n = 0;
    for (char *p = line, *tab;; p = tab + 1) {
        if (n == 6)
            return "more than 6 fields";
        f[n++] = p;
        if (!(tab = strchr(p, '\t')))
            break;
        *tab = 0;
    }
    if (n != 6)
        return "fewer than 6 fields";
    if (strlen(f[0]) != TK_ID_HEX || !is_hex(f[0], TK_ID_HEX))
        return "the id is not 12 lowercase hex digits";
    if (strlen(f[1]) != 64 || !is_hex(f[1], 64))
        return "the hash is not 64 lowercase hex digits";
    if (!user_ok(f[2], strlen(f[2])))
        return "the user is not a principal's name";
    if (!parse_time(f[3], &e->created) || !parse_time(f[4], &e->expires) || !parse_time(f[5], &e->revoked))
        return "a time is not a number of seconds";
    memcpy(e->id, f[0], TK_ID_HEX + 1);
    for (int i = 0; i < 32; i++) {
        unsigned b;
        sscanf(f[1] + 2 * i, "%2x", &b);
        e->hash[i] = (unsigned char)b;
    }
    if (!(e->user = strdup(f[2])))
        return "out of memory";
    return NULL;
}

static int push(provost_tokens *t, tk_entry *e)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        tk_entry *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return -1;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = *e;
    return 0;
}

static tk_entry *find(const provost_tokens *t, const char *id)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].id, id) == 0)
            return &t->v[i];
    return NULL;
}

/* The lines of F into T; 0, or -1 with WHY naming PATH and the line. */
static int read_lines(FILE *f, const char *path, provost_tokens *t, char *why, size_t whylen)
{
    char *line = NULL;
    size_t cap = 0, no = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        no++;
        if (len == 0 || line[len - 1] != '\n') {
            snprintf(why, whylen, "%s:%zu: the line is cut short (no end of line): refused", path, no);
            rc = -1;
            break;
        }
        line[len - 1] = 0;
        if (no == 1) {
            if (strcmp(line, TK_HEADER) != 0) {
                snprintf(why, whylen, "%s:1: not a tokens file of version 1 (the first line should be '%s'): refused",
                         path, TK_HEADER);
                rc = -1;
            }
            continue;
        }
        tk_entry e = {0};
        const char *bad = parse_line(line, &e);
        if (!bad && find(t, e.id))
            bad = "a second line for the same id";
        if (!bad && push(t, &e) != 0)
            bad = "out of memory";
        if (bad) {
            free(e.user);
            snprintf(why, whylen, "%s:%zu: malformed token line (%s): refused", path, no, bad);
            rc = -1;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    if (rc == 0 && no == 0) {
        snprintf(why, whylen, "%s: empty (not even the first line '%s'): refused", path, TK_HEADER);
        rc = -1;
    }
    free(line);
    return rc;
}

/* DB_DIR/tokens into T (a missing file: empty), after checking that only this process's
 * user may read it. */
static int tk_read(const char *db_dir, provost_tokens *t, char *why, size_t whylen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tokens", db_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0) {
        snprintf(why, whylen, "%s: %s", path, errno == ELOOP ? "a symbolic link: refused" : strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, whylen, "%s: not a regular file: refused", path);
        close(fd);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        snprintf(why, whylen, "%s: owned by uid %u, not by this process's user (uid %u): refused", path,
                 (unsigned)st.st_uid, (unsigned)geteuid());
        close(fd);
        return -1;
    }
    if (st.st_mode & 077) {
        snprintf(why, whylen, "%s: group or others may use it (mode %04o): refused (chmod 600 it)", path,
                 (unsigned)(st.st_mode & 07777));
        close(fd);
        return -1;
    }
    t->exists = true;
    t->dev = st.st_dev;
    t->ino = st.st_ino;
    t->mtime = st.st_mtim;
    t->size = st.st_size;
    FILE *f = fdopen(fd, "r");
    if (!f) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    int rc = read_lines(f, path, t, why, whylen);
    fclose(f);
    if (rc != 0)
        tk_clear(t);
    return rc;
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* T as DB_DIR/tokens, whole or not at all: a temporary file, synced, renamed over it, and
 * the directory synced so that the rename survives a crash. */
static int tk_write(const char *db_dir, const provost_tokens *t, char *why, size_t whylen)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/tokens", db_dir);
    snprintf(tmp, sizeof tmp, "%s/tokens.tmp", db_dir);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(why, whylen, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    bool ok = fchmod(fd, 0600) == 0 && write_all(fd, TK_HEADER "\n", sizeof TK_HEADER) == 0;
    for (size_t i = 0; ok && i < t->n; i++) {
        const tk_entry *e = &t->v[i];
        char hash[65], line[512];
        to_hex(e->hash, 32, hash);
        int k = snprintf(line, sizeof line, "%s\t%s\t%s\t%lld\t%lld\t%lld\n", e->id, hash, e->user,
                         (long long)e->created, (long long)e->expires, (long long)e->revoked);
        ok = k > 0 && (size_t)k < sizeof line && write_all(fd, line, (size_t)k) == 0;
    }
    ok = ok && fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(why, whylen, "cannot write %s: %s", ok ? path : tmp, strerror(ok ? errno : saved));
        unlink(tmp);
        return -1;
    }
    int dfd = open(db_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        snprintf(why, whylen, "cannot sync %s: %s", db_dir, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    close(dfd);
    return 0;
}

/* DB_DIR/tokens.lock, held (flock) until the descriptor is closed: one writer at a time. */
static int tk_lock(const char *db_dir, char *why, size_t whylen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tokens.lock", db_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    int rc;
    while ((rc = flock(fd, LOCK_EX)) != 0 && errno == EINTR)
        ;
    if (rc != 0) {
        snprintf(why, whylen, "cannot lock %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int provost_token_create(const char *db_dir, const char *user, int64_t expires, char **token, provost_error *err)
{
    *token = NULL;
    if (!user || !user_ok(user, strlen(user)))
        return pvm_api_fail(err, PROVOST_E_INVALIDARG,
                            "bad user name '%.128s' (1 to 128 letters, digits, '.', '_', '-', '@')", user ? user : "");
    if (expires < 0)
        return pvm_api_fail(err, PROVOST_E_INVALIDARG, "bad expiry time %lld", (long long)expires);
    char why[4600];
    int lock = tk_lock(db_dir, why, sizeof why);
    if (lock < 0)
        return pvm_api_fail(err, PROVOST_E_FAIL, "%s", why);
    provost_tokens t = {0};
    int rc = -1;
    unsigned char raw[TK_ID_BYTES + TK_SECRET_BYTES];
    char secret[TK_SECRET_HEX + 1];
    tk_entry e = {.created = (int64_t)time(NULL), .expires = expires};
    if (tk_read(db_dir, &t, why, sizeof why) != 0) {
        pvm_api_fail(err, PROVOST_E_FAIL, "%s", why);
        goto out;
    }
    do { /* an id already in use is drawn again */
        if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
            pvm_api_fail(err, PROVOST_E_FAIL, "cannot draw a random token: %s", strerror(errno));
            goto out;
        }
        to_hex(raw, TK_ID_BYTES, e.id);
    } while (find(&t, e.id));
    to_hex(raw + TK_ID_BYTES, TK_SECRET_BYTES, secret);
    if (sha256(secret, TK_SECRET_HEX, e.hash) != 0 || !(e.user = strdup(user)) || push(&t, &e) != 0) {
        free(e.user);
        pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
        goto out;
    }
    if (tk_write(db_dir, &t, why, sizeof why) != 0) {
        pvm_api_fail(err, PROVOST_E_FAIL, "%s", why);
        goto out;
    }
    size_t len = sizeof TK_PREFIX + TK_ID_HEX + 1 + TK_SECRET_HEX;
    if (!(*token = malloc(len))) {
        pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
        goto out;
    }
    snprintf(*token, len, TK_PREFIX "%s_%s", e.id, secret);
    rc = 0;
out:
    OPENSSL_cleanse(raw, sizeof raw);
    OPENSSL_cleanse(secret, sizeof secret);
    tk_clear(&t);
    close(lock);
    return rc;
}

int provost_token_revoke(const char *db_dir, const char *id, provost_error *err)
{
    char why[4600];
    int lock = tk_lock(db_dir, why, sizeof why);
    if (lock < 0)
        return pvm_api_fail(err, PROVOST_E_FAIL, "%s", why);
    provost_tokens t = {0};
    int rc = -1;
    tk_entry *e = NULL;
    if (tk_read(db_dir, &t, why, sizeof why) != 0)
        pvm_api_fail(err, PROVOST_E_FAIL, "%s", why);
    else if (!id || !(e = find(&t, id)))
        pvm_api_fail(err, PROVOST_E_NOTFOUND, "no token with id '%.64s' (provost token list shows them)", id ? id : "");
    else if (e->revoked) /* revoked already: its first revocation stands */
        rc = 0;
    else {
        e->revoked = (int64_t)time(NULL);
        rc = tk_write(db_dir, &t, why, sizeof why) == 0 ? 0 : pvm_api_fail(err, PROVOST_E_FAIL, "%s", why);
    }
    tk_clear(&t);
    close(lock);
    return rc;
}

int provost_token_list(const char *db_dir, provost_token_info **out, size_t *n, provost_error *err)
{
    *out = NULL;
    *n = 0;
    char why[4600];
    provost_tokens t = {0};
    if (tk_read(db_dir, &t, why, sizeof why) != 0)
        return pvm_api_fail(err, PROVOST_E_FAIL, "%s", why);
    provost_token_info *v = calloc(t.n ? t.n : 1, sizeof *v);
    for (size_t i = 0; v && i < t.n; i++) {
        v[i] = (provost_token_info){.id = strdup(t.v[i].id), .user = t.v[i].user, .created = t.v[i].created,
                                    .expires = t.v[i].expires, .revoked = t.v[i].revoked != 0};
        t.v[i].user = NULL; /* taken */
        if (!v[i].id) {
            provost_token_list_free(v, i + 1);
            v = NULL;
        }
    }
    size_t count = t.n;
    tk_clear(&t);
    if (!v)
        return pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    *out = v;
    *n = count;
    return 0;
}

void provost_token_list_free(provost_token_info *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].id);
        free(v[i].user);
    }
    free(v);
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const tk_entry *)a)->id, ((const tk_entry *)b)->id);
}

int provost_tokens_load(const char *db_dir, provost_tokens **out, provost_error *err)
{
    *out = NULL;
    provost_tokens *t = calloc(1, sizeof *t);
    if (!t)
        return pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "out of memory");
    char why[4600];
    if (tk_read(db_dir, t, why, sizeof why) != 0) {
        free(t);
        return pvm_api_fail(err, PROVOST_E_FAIL, "%s", why);
    }
    if (t->n)
        qsort(t->v, t->n, sizeof *t->v, by_id);
    *out = t;
    return 0;
}

int provost_tokens_changed(const char *db_dir, const provost_tokens *t)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tokens", db_dir);
    struct stat st;
    if (lstat(path, &st) != 0)
        return t->exists;
    return !t->exists || st.st_dev != t->dev || st.st_ino != t->ino || st.st_size != t->size ||
           st.st_mtim.tv_sec != t->mtime.tv_sec || st.st_mtim.tv_nsec != t->mtime.tv_nsec;
}

static void when(int64_t s, char *buf, size_t n)
{
    time_t tt = (time_t)s;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, n, "@%lld", (long long)s);
}

int provost_tokens_verify(const provost_tokens *t, const char *token, int64_t now, const char **user,
                          provost_error *err)
{
    *user = NULL;
    size_t plen = sizeof TK_PREFIX - 1;
    /* the token's text is never put in a message: only its id, once the shape is right */
    if (!token || strlen(token) != plen + TK_ID_HEX + 1 + TK_SECRET_HEX || strncmp(token, TK_PREFIX, plen) != 0 ||
        !is_hex(token + plen, TK_ID_HEX) || token[plen + TK_ID_HEX] != '_' ||
        !is_hex(token + plen + TK_ID_HEX + 1, TK_SECRET_HEX))
        return pvm_api_fail(err, PROVOST_E_ACCESSDENIED, "malformed token (expected pvt_ID_SECRET)");
    tk_entry key = {0};
    memcpy(key.id, token + plen, TK_ID_HEX);
    const tk_entry *e = t && t->n ? bsearch(&key, t->v, t->n, sizeof *t->v, by_id) : NULL;
    unsigned char hash[32];
    if (!e)
        return pvm_api_fail(err, PROVOST_E_ACCESSDENIED, "unknown token %s%s", TK_PREFIX, key.id);
    if (sha256(token + plen + TK_ID_HEX + 1, TK_SECRET_HEX, hash) != 0)
        return pvm_api_fail(err, PROVOST_E_OUTOFMEMORY, "cannot hash the token");
    int differ = CRYPTO_memcmp(hash, e->hash, sizeof hash);
    OPENSSL_cleanse(hash, sizeof hash);
    if (differ)
        return pvm_api_fail(err, PROVOST_E_ACCESSDENIED, "unknown token %s%s (its secret does not match)", TK_PREFIX,
                            key.id);
    char at[40];
    if (e->revoked) {
        when(e->revoked, at, sizeof at);
        return pvm_api_fail(err, PROVOST_E_ACCESSDENIED, "token %s%s was revoked at %s", TK_PREFIX, key.id, at);
    }
    if (e->expires && now >= e->expires) {
        when(e->expires, at, sizeof at);
        return pvm_api_fail(err, PROVOST_E_ACCESSDENIED, "token %s%s expired at %s", TK_PREFIX, key.id, at);
    }
    *user = e->user;
    return 0;
}

void provost_tokens_free(provost_tokens *t)
{
    if (!t)
        return;
    tk_clear(t);
    free(t);
}
