/*
 * batch_state.c -- what makes a batch resumable: its state file (the batch id, the
 * database, what it calls and the inputs it reads), and the list of input files (a
 * directory's files in name order; standard input copied to a temporary file first, so
 * that it can be read twice -- once to count, once to run -- and so that a request whose
 * context and procedure follow its data can be streamed).  And provost_write_atomically,
 * which writes the state (and the command's own outputs) whole or not at all.
 */
#define _GNU_SOURCE /* getrandom, getline */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rbatch.h"
#include "util/str.h"

#define STATE_MAGIC "provost-batch 1"

void batch_new_id(char id[33])
{
    unsigned char r[16];
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = getrandom(r + got, sizeof r - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) { /* no entropy source: the time and the process will do */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            uint64_t v[2] = {(uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 32), (uint64_t)ts.tv_nsec};
            memcpy(r, v, sizeof r);
            break;
        }
        got += (size_t)n;
    }
    for (int i = 0; i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", r[i]);
}

void batch_state_free(batch_state *s)
{
    free(s->db);
    free(s->ns);
    free(s->proc);
    for (int i = 0; i < s->ninputs; i++) {
        free(s->inputs[i]);
        free(s->given[i]);
    }
    free(s->inputs);
    free(s->given);
    memset(s, 0, sizeof *s);
}

static const char *const format_names[] = {"xml", "csv", "jsonl"};

int batch_state_write(const char *path, const batch_state *s, char *err, size_t errlen)
{
    size_t cap = 1024;
    for (int i = 0; i < s->ninputs; i++)
        cap += strlen(s->inputs[i]) + strlen(s->given[i]) + 16;
    cap += (s->db ? strlen(s->db) : 0) + (s->ns ? strlen(s->ns) : 0) + (s->proc ? strlen(s->proc) : 0);
    char *buf = malloc(cap);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int n = snprintf(buf, cap,
                     STATE_MAGIC "\nid %s\ndb %s\nmode %s\nnamespace %s\nprocedure %s\nformat %s\n"
                                 "files %lu %016" PRIx64 "\nfinished %d\n",
                     s->id, s->db ? s->db : "", s->call ? "call" : "requests", s->ns ? s->ns : "",
                     s->proc ? s->proc : "", format_names[s->format], s->nfiles, s->files_hash, s->finished ? 1 : 0);
    for (int i = 0; i < s->ninputs; i++)
        n += snprintf(buf + n, cap - (size_t)n, "input %s\nas %s\n", s->inputs[i], s->given[i]);
    int rc = provost_write_atomically(path, buf, (size_t)n, err, errlen);
    free(buf);
    return rc;
}

int batch_state_read(const char *path, batch_state *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0;
    bool bad = false;
    while (!bad && (n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = 0;
        lineno++;
        if (lineno == 1) {
            bad = strcmp(line, STATE_MAGIC) != 0;
            continue;
        }
        char *sp = strchr(line, ' ');
        if (!sp) {
            bad = true;
            break;
        }
        *sp = 0;
        const char *k = line, *v = sp + 1;
        if (strcmp(k, "id") == 0) {
            bad = strlen(v) != 32;
            snprintf(s->id, sizeof s->id, "%s", v);
        } else if (strcmp(k, "db") == 0) {
            s->db = strdup(v);
        } else if (strcmp(k, "mode") == 0) {
            s->call = strcmp(v, "call") == 0;
        } else if (strcmp(k, "namespace") == 0) {
            s->ns = *v ? strdup(v) : NULL;
        } else if (strcmp(k, "procedure") == 0) {
            s->proc = *v ? strdup(v) : NULL;
        } else if (strcmp(k, "format") == 0) {
            s->format = -1;
            for (int i = 0; i < 3; i++)
                if (strcmp(v, format_names[i]) == 0)
                    s->format = i;
            bad = s->format < 0;
        } else if (strcmp(k, "files") == 0) {
            bad = sscanf(v, "%lu %" SCNx64, &s->nfiles, &s->files_hash) != 2;
        } else if (strcmp(k, "finished") == 0) {
            s->finished = strcmp(v, "1") == 0;
        } else if (strcmp(k, "input") == 0) {
            char **ni = realloc(s->inputs, (size_t)(s->ninputs + 1) * sizeof *ni);
            if (ni)
                s->inputs = ni;
            char **ng = realloc(s->given, (size_t)(s->ninputs + 1) * sizeof *ng);
            if (ng)
                s->given = ng;
            if (!ni || !ng || !(ni[s->ninputs] = strdup(v))) {
                bad = true;
                break;
            }
            ng[s->ninputs] = NULL;
            s->ninputs++;
        } else if (strcmp(k, "as") == 0) {
            if (!s->ninputs || s->given[s->ninputs - 1] || !(s->given[s->ninputs - 1] = strdup(v)))
                bad = true;
        }
    }
    for (int i = 0; i < s->ninputs && !bad; i++)
        bad = !s->given[i];
    free(line);
    fclose(f);
    if (bad || lineno == 0 || !s->id[0]) {
        snprintf(err, errlen, "%s is not a batch state file (or it is damaged)", path);
        batch_state_free(s);
        return -1;
    }
    return 1;
}

/* ---- inputs --------------------------------------------------------------------------- */

void batch_inputs_free(batch_input *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].path);
        free(v[i].shown);
    }
    free(v);
}

static int add_input(batch_input **v, size_t *n, size_t *cap, const char *path, const char *shown, int format)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        batch_input *nv = realloc(*v, c * sizeof *nv);
        if (!nv)
            return -1;
        *v = nv;
        *cap = c;
    }
    batch_input *in = &(*v)[*n];
    in->path = strdup(path);
    in->shown = strdup(shown);
    in->format = format;
    if (!in->path || !in->shown) {
        free(in->path);
        free(in->shown);
        return -1;
    }
    (*n)++;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && pu_strieq(s + a - b, suffix);
}

/* Standard input, copied into an unlinked temporary file: its path is /proc/self/fd/N. */
static int spool_stdin(char *path, size_t cap, char *err, size_t errlen)
{
    const char *dir = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof tmpl, "%s/provost-batch-stdin-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        snprintf(err, errlen, "standard input: cannot make a temporary file in %s: %s", dir && *dir ? dir : "/tmp",
                 strerror(errno));
        return -1;
    }
    unlink(tmpl);
    char buf[65536];
    for (;;) {
        ssize_t r = read(0, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "standard input: %s", strerror(errno));
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        for (ssize_t done = 0; done < r;) {
            ssize_t w = write(fd, buf + done, (size_t)(r - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                snprintf(err, errlen, "standard input: cannot copy it to a temporary file: %s", strerror(errno));
                close(fd);
                return -1;
            }
            done += w;
        }
    }
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return 0;
}

/* CSV or JSON Lines: from the name, else from the first byte that is not a space. */
static int rows_format(const char *path, const char *name)
{
    if (ends_with(name, ".csv"))
        return BATCH_CSV;
    if (ends_with(name, ".jsonl") || ends_with(name, ".ndjson") || ends_with(name, ".json"))
        return BATCH_JSONL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char buf[512];
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : 0;
    if (fd >= 0)
        close(fd);
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r' && buf[i] != '\n')
            return buf[i] == '{' ? BATCH_JSONL : BATCH_CSV;
    return BATCH_CSV;
}

/* The names of a directory's .xml files (not hidden), sorted: 0, or -1 out of memory (what
 * was read is in *names all the same). */
static int xml_names(DIR *d, char ***names, size_t *nn)
{
    size_t capn = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !ends_with(de->d_name, ".xml"))
            continue;
        if (*nn == capn) {
            size_t c = capn ? capn * 2 : 64;
            char **nv = realloc(*names, c * sizeof *nv);
            if (!nv)
                return -1;
            *names = nv;
            capn = c;
        }
        if (!((*names)[*nn] = strdup(de->d_name)))
            return -1;
        ++*nn;
    }
    qsort(*names, *nn, sizeof **names, by_name);
    return 0;
}

/* The regular files among names, in directory p (shown as shown), added as XML inputs; their
 * names go into the hash.  0, or -1 out of memory. */
static int add_dir(const char *p, const char *shown, char **names, size_t nn, batch_input **v, size_t *n,
                   size_t *cap, uint64_t *h)
{
    size_t len = strlen(p), slen = strlen(shown);
    for (size_t i = 0; i < nn; i++) {
        size_t nlen = strlen(names[i]);
        char *full = malloc(len + nlen + 2), *show = malloc(slen + nlen + 2);
        int rc = full && show ? 0 : -1;
        if (!rc) {
            sprintf(full, "%s%s%s", p, len && p[len - 1] == '/' ? "" : "/", names[i]);
            sprintf(show, "%s%s%s", shown, slen && shown[slen - 1] == '/' ? "" : "/", names[i]);
        }
        struct stat fs;
        if (!rc && stat(full, &fs) == 0 && S_ISREG(fs.st_mode)) {
            rc = add_input(v, n, cap, full, show, BATCH_XML);
            for (const unsigned char *c = (const unsigned char *)names[i]; *c; c++)
                *h = (*h ^ *c) * 1099511628211u;
            *h = (*h ^ 0xFE) * 1099511628211u;
        }
        free(full);
        free(show);
        if (rc)
            return -1;
    }
    return 0;
}

int batch_inputs_expand(const char *const *paths, const char *const *given, int ngiven, bool rows, int format,
                        batch_input **out, size_t *nout, uint64_t *hash, char *err, size_t errlen)
{
    batch_input *v = NULL;
    size_t n = 0, cap = 0;
    bool stdin_used = false;
    uint64_t h = 1469598103934665603u; /* FNV-1a over the names of the files of directories */
    for (int g = 0; g < ngiven; g++) {
        const char *p = paths[g], *shown = given[g];
        h = (h ^ 0xFF) * 1099511628211u;
        if (strcmp(p, "-") == 0) {
            if (stdin_used) {
                snprintf(err, errlen, "standard input (-) can be read only once");
                goto fail;
            }
            stdin_used = true;
            char path[64];
            if (spool_stdin(path, sizeof path, err, errlen) != 0)
                goto fail;
            int f = rows ? (format >= 0 ? format : rows_format(path, "")) : BATCH_XML;
            if (add_input(&v, &n, &cap, path, "<stdin>", f) != 0)
                goto oom;
            continue;
        }
        struct stat st;
        if (stat(p, &st) != 0) {
            snprintf(err, errlen, "%s: %s", p, strerror(errno));
            goto fail;
        }
        if (!S_ISDIR(st.st_mode)) {
            int f = rows ? (format >= 0 ? format : rows_format(p, shown)) : BATCH_XML;
            if (add_input(&v, &n, &cap, p, shown, f) != 0)
                goto oom;
            continue;
        }
        if (rows) {
            snprintf(err, errlen, "%s is a directory: --rows reads one CSV or JSON Lines file", p);
            goto fail;
        }
        DIR *d = opendir(p);
        if (!d) {
            snprintf(err, errlen, "%s: %s", p, strerror(errno));
            goto fail;
        }
        char **names = NULL;
        size_t nn = 0;
        size_t before = n;
        bool oom = xml_names(d, &names, &nn) != 0 || add_dir(p, shown, names, nn, &v, &n, &cap, &h) != 0;
        closedir(d);
        for (size_t i = 0; i < nn; i++)
            free(names[i]);
        free(names);
        if (oom)
            goto oom;
        if (n == before) {
            snprintf(err, errlen, "%s: the directory holds no .xml file", p);
            goto fail;
        }
    }
    *out = v;
    *nout = n;
    *hash = h;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    batch_inputs_free(v, n);
    return -1;
}

/* ---- files written whole ---------------------------------------------------------------- */

static const char *file_kind(mode_t m)
{
    return S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device" : S_ISDIR(m) ? "a directory"
         : S_ISFIFO(m) ? "a fifo" : S_ISSOCK(m) ? "a socket" : S_ISLNK(m) ? "a symbolic link" : "special";
}

/* The rename would replace path itself, whatever it is: only a regular file (or
 * nothing) may be replaced, never a device such as /dev/null, nor a link. */
static int replaceable(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0 || S_ISREG(st.st_mode))
        return 0;
    snprintf(err, errlen, "not a regular file (%s): refusing to replace it", file_kind(st.st_mode));
    return -1;
}

/* Writes to a temporary file beside path, then renames it: never a partial bundle. */
int provost_write_atomically(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    if (replaceable(path, err, errlen) != 0)
        return -1;
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return snprintf(err, errlen, "out of memory"), -1;
    snprintf(tmp, n, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        free(tmp);
        return -1;
    }
    const char *p = data;
    size_t left = len;
    int rc = 0;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = -1;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = -1;
    if (rc == 0)
        fchmod(fd, 0644);
    if (close(fd) != 0)
        rc = -1;
    if (rc == 0 && replaceable(path, err, errlen) != 0) { /* it may have changed meanwhile */
        unlink(tmp);
        free(tmp);
        return -1;
    }
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc != 0) {
        snprintf(err, errlen, "%s", strerror(errno ? errno : EIO));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}
