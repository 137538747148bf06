/*
 * jobs_spool.c -- submitting to a database another process (a running worker) holds:
 * the submit is written as a file into DB/queue-spool/ and the worker stores it as a job.
 * The submitter chooses the job's id, so it can print it at once, and the id makes storing
 * idempotent: a worker that dies between storing a job and removing its file stores
 * nothing twice.  A file is written under a temporary name, synced, then renamed, so a
 * worker never reads half of one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "provost/queue.h"
#include "vm.h"

#define SPOOL_MAGIC "provost-queue-spool 1\n"
#define SPOOL_MAX ((size_t)64 << 20)

void provost_queue_new_id(char id[48])
{
    char uuid[40];
    pvm_uuid(uuid);
    snprintf(id, 48, "1:%s", uuid);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int provost_queue_spool_submit(const char *db_path, const char *xml, size_t len, const provost_queue_options *o,
                               char id[48], provost_error *err)
{
    provost_queue_options none = {0};
    o = o ? o : &none;
    char dir[4096], tmp[4200], final[4200];
    snprintf(dir, sizeof dir, "%s/queue-spool", db_path);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "cannot create the queue's spool %s: %s", dir, strerror(errno));
    provost_queue_new_id(id);
    /* the file's name is the id's UUID, without its braces */
    snprintf(final, sizeof final, "%s/%.36s.job", dir, id + 3);
    snprintf(tmp, sizeof tmp, "%s/.%.36s.tmp", dir, id + 3);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "cannot write %s: %s", tmp, strerror(errno));
    char head[256 + 256 * 64];
    size_t k = (size_t)snprintf(head, sizeof head, SPOOL_MAGIC "id %s\ndue %lld\n", id, (long long)o->due_ms);
    if (o->has_priority)
        k += (size_t)snprintf(head + k, sizeof head - k, "priority %d\n", o->priority);
    if (o->suspended)
        k += (size_t)snprintf(head + k, sizeof head - k, "suspended\n");
    for (size_t i = 0; i < o->nafter && i < 256; i++)
        k += (size_t)snprintf(head + k, sizeof head - k, "after %.47s\n", o->after[i]);
    k += (size_t)snprintf(head + k, sizeof head - k, "\n");
    int rc = write_all(fd, head, k) == 0 && write_all(fd, xml, len) == 0 && fsync(fd) == 0 ? 0 : -1;
    int e = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc == 0 && rename(tmp, final) != 0) {
        rc = -1;
        e = errno;
    }
    if (rc != 0) {
        unlink(tmp);
        id[0] = 0;
        return pvm_api_fail(err, PROVOST_E_JOURNAL, "cannot write %s: %s", final, strerror(e));
    }
    sync_dir(dir);
    return 0;
}

static char *read_file(int dfd, const char *name, size_t *len)
{
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || (size_t)st.st_size > SPOOL_MAX) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    char *b = malloc((size_t)st.st_size + 1);
    size_t n = 0;
    while (b && n < (size_t)st.st_size) {
        ssize_t r = read(fd, b + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (b)
        b[n] = 0;
    *len = n;
    return b;
}

/* The header of a spool file into o (after pointing into text), the request's start in
 * *body; NULL, or why it does not parse. */
static const char *parse(char *text, size_t len, provost_queue_options *o, const char **after, char id[48],
                         const char **body)
{
    if (strlen(text) != len)
        return "it holds a NUL byte";
    if (strncmp(text, SPOOL_MAGIC, strlen(SPOOL_MAGIC)) != 0)
        return "it does not start with '" "provost-queue-spool 1" "'";
    id[0] = 0;
    char *p = text + strlen(SPOOL_MAGIC);
    for (;;) {
        char *nl = strchr(p, '\n');
        if (!nl)
            return "its header does not end with an empty line";
        *nl = 0;
        if (!*p) {
            *body = nl + 1;
            break;
        }
        char *end;
        if (strncmp(p, "id ", 3) == 0 && strlen(p + 3) == 40 && strncmp(p + 3, "1:{", 3) == 0 && p[42] == '}') {
            snprintf(id, 48, "%s", p + 3);
        } else if (strncmp(p, "due ", 4) == 0) {
            o->due_ms = strtoll(p + 4, &end, 10);
            if (end == p + 4 || *end || o->due_ms < 0)
                return "its due time is not a number";
        } else if (strncmp(p, "priority ", 9) == 0) {
            long v = strtol(p + 9, &end, 10);
            if (end == p + 9 || *end || v < -32768 || v > 32767)
                return "its priority is not a number from -32768 to 32767";
            o->priority = (int)v;
            o->has_priority = 1;
        } else if (strcmp(p, "suspended") == 0) {
            o->suspended = 1;
        } else if (strncmp(p, "after ", 6) == 0 && o->nafter < 256) {
            after[o->nafter++] = p + 6;
        } else {
            return "its header has a line it does not know";
        }
        p = nl + 1;
    }
    return id[0] ? NULL : "it names no queue id (id 1:{UUID})";
}

/* Moves a file that cannot become a job aside, for the operator. */
static void reject(int dfd, const char *dir, const char *name, const char *why,
                   void (*on_reject)(void *, const char *, const char *), void *ud)
{
    mkdirat(dfd, "rejected", 0700);
    char to[300], path[4400];
    snprintf(to, sizeof to, "rejected/%s", name);
    renameat(dfd, name, dfd, to);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (on_reject)
        on_reject(ud, path, why);
}

static bool spool_name(const char *n)
{
    size_t l = strlen(n);
    return n[0] != '.' && l > 4 && strcmp(n + l - 4, ".job") == 0;
}

int provost_queue_ingest(provost_engine *e, const char *db_path, int sync,
                         void (*on_reject)(void *ud, const char *file, const char *why), void *ud, size_t *n,
                         provost_error *err)
{
    static pthread_mutex_t one = PTHREAD_MUTEX_INITIALIZER; /* one thread of a worker at a time */
    *n = 0;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/queue-spool", db_path);
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* nothing was ever spooled */
    if (pthread_mutex_trylock(&one) != 0) {
        closedir(d);
        return 0;
    }
    int dfd = dirfd(d), rc = 0;
    for (struct dirent *de; rc == 0 && (de = readdir(d));) {
        if (!spool_name(de->d_name))
            continue;
        size_t len = 0;
        char *text = read_file(dfd, de->d_name, &len);
        if (!text)
            continue; /* gone meanwhile, or unreadable: looked at again next time */
        provost_queue_options o = {.sync = sync};
        const char *after[256], *body = NULL;
        char id[48], got[48];
        const char *why = parse(text, len, &o, after, id, &body);
        o.after = after;
        o.id = id;
        provost_error e2;
        if (why) {
            reject(dfd, dir, de->d_name, why, on_reject, ud);
        } else if (provost_queue_submit(e, body, len - (size_t)(body - text), &o, got, &e2) != 0) {
            if (e2.code == PROVOST_E_INVALIDARG || e2.code == PROVOST_E_NOTFOUND)
                reject(dfd, dir, de->d_name, e2.message, on_reject, ud);
            else {
                *err = e2;
                rc = -1;
            }
        } else {
            /* stored (or stored already, by a worker that stopped before this) */
            unlinkat(dfd, de->d_name, 0);
            (*n)++;
        }
        free(text);
    }
    pthread_mutex_unlock(&one);
    closedir(d);
    return rc;
}
