/*
 * undo.c -- how each write of the fs provider is undone, and how the undo survives a
 * crash.
 *
 * A write describes its change (fsp_undo) twice: as rollback data, which the engine
 * journals in the call's DONE record, and -- written durably *before* the change -- as a
 * record in ROOT/.provost-quarantine/ named after the transaction and the call.  A rollback
 * with rollback data uses them; an in-doubt rollback (the process died during the call,
 * DONE was never journaled, so no rollback data) reads the record instead: a record that is
 * there proves the change may have been made and holds its pre-image, and no record proves
 * nothing was changed.  Every undo is written so that running it when the change never
 * happened, or running it twice, does nothing more: absent is success.  The record goes
 * when the call is rolled back, or when its transaction ends (fs.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsint.h"

void fsp_undo_clear(fsp_undo *u)
{
    free(u->path);
    free(u->to);
    free(u->content);
    *u = (fsp_undo){.mode = -1, .uid = -1, .gid = -1};
}

int fsp_call_name(provost_pcall *c, xmlDocPtr execute_xml, const char *suffix, char *out, size_t n)
{
    const char *tx = provost_pcall_transaction(c);
    xmlNodePtr ec = provost_child(provost_child(xmlDocGetRootElement(execute_xml), "context"), "executeContext");
    xmlChar *id = ec ? xmlGetProp(ec, BAD_CAST "procedureExecId") : NULL;
    char key[64];
    size_t k = 0;
    for (const char *p = tx ? tx : ""; *p && k < sizeof key - 1; p++)
        if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') || *p == '-')
            key[k++] = *p;
    key[k] = '\0';
    int rc = -1;
    if (k && id && *id) {
        int w = strcmp(suffix, "tmp") == 0 ? snprintf(out, n, ".provost-%s-%s.tmp", key, (const char *)id)
                                           : snprintf(out, n, "%s.%s.%s", key, (const char *)id, suffix);
        rc = w > 0 && (size_t)w < n ? 0 : -1;
    }
    xmlFree(id);
    return rc;
}

/* ---- the fields, as rollback data and as a record --------------------------------------- */

typedef const char *(*getter)(void *ctx, const char *key);

static long get_num(getter get, void *ctx, const char *key, int base)
{
    const char *s = get(ctx, key);
    if (!s || !*s)
        return -1;
    char *end;
    long v = strtol(s, &end, base);
    return *end || v < 0 ? -1 : v;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* 0, or -1 when the fields do not make an undo (no op, no path). */
static int undo_from(fsp_undo *u, getter get, void *ctx)
{
    static const char *const ops[] = {"mkdir", "write", "chmod", "move", "delete"};
    fsp_undo_clear(u);
    const char *op = get(ctx, "op");
    for (size_t i = 0; op && i < sizeof ops / sizeof *ops; i++)
        if (strcmp(op, ops[i]) == 0)
            u->op = ops[i];
    u->path = dup_or_null(get(ctx, "path"));
    u->to = dup_or_null(get(ctx, "to"));
    u->content = dup_or_null(get(ctx, "content"));
    const char *ex = get(ctx, "existed");
    u->existed = ex && strcmp(ex, "1") == 0;
    u->mode = get_num(get, ctx, "mode", 8);
    u->uid = get_num(get, ctx, "uid", 10);
    u->gid = get_num(get, ctx, "gid", 10);
    return u->op && u->path ? 0 : -1;
}

/* Calls PUT for every field U has; stops at the first failure. */
static int undo_each(const fsp_undo *u, int (*put)(void *ctx, const char *key, const char *value), void *ctx)
{
    char mode[16], uid[24], gid[24];
    snprintf(mode, sizeof mode, "%04lo", (unsigned long)u->mode);
    snprintf(uid, sizeof uid, "%ld", u->uid);
    snprintf(gid, sizeof gid, "%ld", u->gid);
    const char *kv[][2] = {{"op", u->op},
                           {"path", u->path},
                           {"to", u->to},
                           {"existed", u->existed ? "1" : NULL},
                           {"mode", u->mode >= 0 ? mode : NULL},
                           {"uid", u->uid >= 0 ? uid : NULL},
                           {"gid", u->gid >= 0 ? gid : NULL},
                           {"content", u->content}};
    for (size_t i = 0; i < sizeof kv / sizeof *kv; i++)
        if (kv[i][1] && put(ctx, kv[i][0], kv[i][1]) != 0)
            return -1;
    return 0;
}

static int put_rollback(void *ctx, const char *key, const char *value)
{
    return provost_set_rollback_data(ctx, key, value);
}

uint32_t fsp_undo_journal(provost_pcall *c, const char *proc, const fsp_undo *u)
{
    if (undo_each(u, put_rollback, c) != 0)
        return provost_failf(c, PROVOST_E_FAIL, "%s %.400s: cannot record rollback data", proc, u->path);
    return PROVOST_S_OK;
}

static const char *get_rollback(void *ctx, const char *key)
{
    return provost_get_rollback_data(ctx, key);
}

/* A record is one "KEY VALUE" line per field, the values base64 (paths may hold line
 * breaks); content is base64 already. */
static int put_line(void *ctx, const char *key, const char *value)
{
    FILE *f = ctx;
    if (strcmp(key, "content") == 0)
        return fprintf(f, "%s %s\n", key, value) < 0 ? -1 : 0;
    char *b = fsp_base64_encode((const unsigned char *)value, strlen(value));
    int rc = b && fprintf(f, "%s %s\n", key, b) >= 0 ? 0 : -1;
    free(b);
    return rc;
}

typedef struct record {
    char *text;   /* the file, its line breaks and separators made NULs */
    char *kv[16]; /* key, value, ... */
    size_t n;
} record;

static const char *get_record(void *ctx, const char *key)
{
    record *r = ctx;
    for (size_t i = 0; i + 1 < r->n; i += 2)
        if (strcmp(r->kv[i], key) == 0)
            return r->kv[i + 1];
    return NULL;
}

uint32_t fsp_undo_save(provost_pcall *c, const fsp_root *r, xmlDocPtr execute_xml, const char *proc,
                       const fsp_undo *u)
{
    char name[160], tmp[170];
    if (fsp_call_name(c, execute_xml, "undo", name, sizeof name) != 0)
        return provost_failf(c, PROVOST_E_FAIL, "%s %.400s: the call has no transaction or procedureExecId",
                         proc, u->path);
    snprintf(tmp, sizeof tmp, "%s.tmp", name);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return provost_failf(c, PROVOST_E_FAIL, "%s: out of memory", proc);
    int bad = undo_each(u, put_line, f);
    if (fclose(f) != 0 || bad) {
        free(text);
        return provost_failf(c, PROVOST_E_FAIL, "%s: out of memory", proc);
    }
    int e = 0, qfd = fsp_quarantine_open(r), fd = -1;
    if (qfd < 0)
        e = errno;
    else if ((fd = openat(qfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        e = errno;
    else if (fsp_write_all(fd, text, len) != 0 || fsync(fd) != 0)
        e = errno;
    if (fd >= 0 && close(fd) != 0 && !e)
        e = errno;
    if (!e && renameat(qfd, tmp, qfd, name) != 0)
        e = errno;
    if (e && qfd >= 0)
        unlinkat(qfd, tmp, 0);
    if (!e)
        fsync(qfd); /* the record's name is durable before the change it describes */
    if (qfd >= 0)
        close(qfd);
    free(text);
    if (e) {
        char buf[256];
        return provost_failf(c, fsp_hresult(e), "%s %.400s: %s (writing its undo record in %.300s/%s)", proc,
                         u->path, strerror_r(e, buf, sizeof buf), r->root, FSP_QUARANTINE);
    }
    fsp_txn_note(c, r->root, name);
    return PROVOST_S_OK;
}

/* Reads the call's record: 1 when there is one (in *U), 0 when there is none, -1 with
 * errno when it cannot be read. */
static int undo_load(provost_pcall *c, const fsp_root *r, xmlDocPtr execute_xml, fsp_undo *u)
{
    char name[160];
    if (fsp_call_name(c, execute_xml, "undo", name, sizeof name) != 0) {
        errno = EINVAL;
        return -1;
    }
    int qfd = fsp_openat2(r->fd, FSP_QUARANTINE, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
    if (qfd < 0)
        return errno == ENOENT ? 0 : -1;
    int fd = openat(qfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(qfd);
    if (fd < 0) {
        errno = e;
        return e == ENOENT ? 0 : -1;
    }
    record rec = {0};
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char *t = realloc(rec.text, cap = cap * 2 + 8192);
            if (!t) {
                e = ENOMEM;
                break;
            }
            rec.text = t;
        }
        ssize_t got = read(fd, rec.text + len, cap - len - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            e = got < 0 ? errno : 0;
            break;
        }
        len += (size_t)got;
    }
    close(fd);
    int rc = -1;
    if (!e && rec.text) {
        rec.text[len] = '\0';
        char *save = NULL;
        for (char *line = strtok_r(rec.text, "\n", &save); line && rec.n + 2 <= 16;
             line = strtok_r(NULL, "\n", &save)) {
            char *sp = strchr(line, ' ');
            if (!sp)
                continue;
            *sp = '\0';
            rec.kv[rec.n++] = line;
            rec.kv[rec.n++] = sp + 1;
        }
        /* every value but content back from base64, in place (it only shrinks) */
        for (size_t i = 0; i + 1 < rec.n; i += 2) {
            if (strcmp(rec.kv[i], "content") == 0)
                continue;
            size_t n;
            unsigned char *v = fsp_base64_decode(rec.kv[i + 1], &n);
            if (v) {
                memcpy(rec.kv[i + 1], v, n);
                rec.kv[i + 1][n] = '\0';
                free(v);
            }
        }
        rc = undo_from(u, get_record, &rec) == 0 ? 1 : (e = EINVAL, -1);
    }
    free(rec.text);
    errno = e;
    return rc;
}

void fsp_undo_forget(provost_pcall *c, const fsp_root *r, xmlDocPtr execute_xml)
{
    char name[160];
    if (fsp_call_name(c, execute_xml, "undo", name, sizeof name) != 0)
        return;
    int qfd = fsp_openat2(r->fd, FSP_QUARANTINE, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
    if (qfd >= 0) {
        unlinkat(qfd, name, 0);
        close(qfd);
    }
}

/* ---- undoing ----------------------------------------------------------------------------- */

static const char *proc_of(const char *op)
{
    return strcmp(op, "mkdir") == 0   ? "undo CreateDirectory"
           : strcmp(op, "write") == 0 ? "undo WriteFile"
           : strcmp(op, "chmod") == 0 ? "undo SetPermissions"
           : strcmp(op, "move") == 0  ? "undo Move"
                                      : "undo Delete";
}

static uint32_t undo_write(provost_pcall *c, xmlDocPtr execute_xml, const fsp_undo *u, const fsp_path *p)
{
    const char *proc = proc_of(u->op);
    char tmp[200];
    if (fsp_call_name(c, execute_xml, "tmp", tmp, sizeof tmp) == 0)
        unlinkat(p->dirfd, tmp, 0); /* left by a call that died before its rename */
    if (!u->existed) {
        if (unlinkat(p->dirfd, p->leaf, 0) != 0 && errno != ENOENT)
            return fsp_fail_errno(c, proc, u->path, errno);
        return PROVOST_S_OK;
    }
    size_t len = 0;
    unsigned char *old = fsp_base64_decode(u->content ? u->content : "", &len);
    if (!old)
        return provost_failf(c, PROVOST_E_FAIL, "%s %.400s: the journaled content is not base64", proc, u->path);
    char rtmp[220];
    snprintf(rtmp, sizeof rtmp, "%s.undo", tmp);
    int rc = fsp_replace_file(p, rtmp, old, len, u->uid, u->gid, u->mode);
    int e = errno;
    free(old);
    return rc == 0 ? PROVOST_S_OK : fsp_fail_errno(c, proc, u->path, e);
}

static uint32_t undo_move(provost_pcall *c, const fsp_root *r, const fsp_undo *u, const fsp_path *from)
{
    const char *proc = proc_of(u->op);
    fsp_path to;
    int why = fsp_path_resolve(r, u->to ? u->to : "", &to);
    if (why == ENOENT || why == ENOTDIR)
        return PROVOST_S_OK; /* the destination's directory is gone: nothing was moved there */
    if (why)
        return fsp_path_fail(c, r, proc, u->to ? u->to : "", why);
    uint32_t rc = PROVOST_S_OK;
    if (renameat2(to.dirfd, to.leaf, from->dirfd, from->leaf, RENAME_NOREPLACE) != 0 && errno != ENOENT)
        rc = errno == EEXIST ? provost_failf(c, FSP_E_ALREADY_EXISTS,
                                         "%s %.400s: cannot move %.400s back: %.400s exists again", proc,
                                         u->path, u->to, u->path)
                             : fsp_fail_errno(c, proc, u->to, errno);
    fsp_path_close(&to);
    return rc;
}

static uint32_t undo_delete(provost_pcall *c, const fsp_root *r, xmlDocPtr execute_xml, const fsp_undo *u,
                            const fsp_path *p)
{
    const char *proc = proc_of(u->op);
    char q[160];
    if (fsp_call_name(c, execute_xml, "deleted", q, sizeof q) != 0)
        return provost_failf(c, PROVOST_E_FAIL, "%s %.400s: the call has no transaction or procedureExecId",
                         proc, u->path);
    int qfd = fsp_openat2(r->fd, FSP_QUARANTINE, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
    if (qfd < 0)
        return errno == ENOENT ? PROVOST_S_OK : fsp_fail_errno(c, proc, FSP_QUARANTINE, errno);
    uint32_t rc = PROVOST_S_OK;
    struct stat st;
    if (fstatat(qfd, q, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT) /* absent: never quarantined, or already put back */
            rc = fsp_fail_errno(c, proc, u->path, errno);
    } else if (renameat2(qfd, q, p->dirfd, p->leaf, RENAME_NOREPLACE) != 0) {
        rc = errno == EEXIST ? provost_failf(c, FSP_E_ALREADY_EXISTS,
                                         "%s %.400s: cannot put it back from %s/%s: %.400s exists again",
                                         proc, u->path, FSP_QUARANTINE, q, u->path)
                             : fsp_fail_errno(c, proc, u->path, errno);
    } else {
        fsp_sync_dir(p->dirfd);
    }
    close(qfd);
    return rc;
}

uint32_t fsp_undo_apply(provost_pcall *c, const fsp_root *r, xmlDocPtr execute_xml, const fsp_undo *u)
{
    const char *proc = proc_of(u->op);
    fsp_path p;
    int why = fsp_path_resolve(r, u->path, &p);
    if (why == ENOENT || why == ENOTDIR) {
        /* its directory is gone: nothing of a mkdir, write or chmod to undo there; a
         * Move or Delete cannot be put back */
        if (strcmp(u->op, "move") && strcmp(u->op, "delete"))
            return PROVOST_S_OK;
    }
    if (why)
        return fsp_path_fail(c, r, proc, u->path, why);
    uint32_t rc = PROVOST_S_OK;
    struct stat st;
    if (strcmp(u->op, "mkdir") == 0) {
        if (unlinkat(p.dirfd, p.leaf, AT_REMOVEDIR) != 0 && errno != ENOENT)
            rc = errno == ENOTEMPTY || errno == EEXIST
                     ? provost_failf(c, FSP_E_DIR_NOT_EMPTY,
                                 "%s %.400s: the directory is not empty: something was put in it since",
                                 proc, u->path)
                     : fsp_fail_errno(c, proc, u->path, errno);
    } else if (strcmp(u->op, "write") == 0) {
        rc = undo_write(c, execute_xml, u, &p);
    } else if (strcmp(u->op, "chmod") == 0) {
        if (fsp_lstat(&p, &st) == 0 && fsp_set_attrs(&p, u->uid, u->gid, u->mode) != 0)
            rc = fsp_fail_errno(c, proc, u->path, errno);
    } else if (strcmp(u->op, "move") == 0) {
        rc = undo_move(c, r, u, &p);
    } else {
        rc = undo_delete(c, r, execute_xml, u, &p);
    }
    fsp_path_close(&p);
    return rc;
}

uint32_t fsp_undo_run(provost_pcall *c, xmlDocPtr execute_xml)
{
    fsp_root r;
    uint32_t rc = fsp_root_open(c, execute_xml, "rollback", &r);
    if (rc != PROVOST_S_OK)
        return rc;
    fsp_undo u = {.mode = -1, .uid = -1, .gid = -1};
    int have = undo_from(&u, get_rollback, c) == 0;
    if (!have && provost_get_rollback_data(c, "op") == NULL && provost_pcall_in_doubt(c)) {
        int got = undo_load(c, &r, execute_xml, &u);
        if (got < 0) {
            char name[160] = "";
            fsp_call_name(c, execute_xml, "undo", name, sizeof name);
            char where[400];
            snprintf(where, sizeof where, "%s/%s", FSP_QUARANTINE, name);
            rc = fsp_fail_errno(c, "rollback in doubt: undo record", where, errno);
        }
        have = got > 0;
    }
    /* no rollback data and no record: the call changed nothing (it found its work done) */
    if (rc == PROVOST_S_OK && have)
        rc = fsp_undo_apply(c, &r, execute_xml, &u);
    if (rc == PROVOST_S_OK)
        fsp_undo_forget(c, &r, execute_xml);
    fsp_undo_clear(&u);
    fsp_root_close(&r);
    return rc;
}

uint32_t fsp_delete_commit(provost_pcall *c, xmlDocPtr execute_xml)
{
    fsp_root r;
    uint32_t rc = fsp_root_open(c, execute_xml, "commit Delete", &r);
    if (rc != PROVOST_S_OK)
        return rc;
    char q[160];
    int qfd = fsp_openat2(r.fd, FSP_QUARANTINE, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
    if (qfd < 0 && errno != ENOENT)
        rc = fsp_fail_errno(c, "commit Delete", FSP_QUARANTINE, errno);
    else if (qfd >= 0 && fsp_call_name(c, execute_xml, "deleted", q, sizeof q) == 0 &&
             fsp_remove_tree(qfd, q) != 0) {
        char where[400];
        snprintf(where, sizeof where, "%s/%s", FSP_QUARANTINE, q);
        rc = fsp_fail_errno(c, "commit Delete", where, errno);
    }
    if (qfd >= 0)
        close(qfd);
    if (rc == PROVOST_S_OK)
        fsp_undo_forget(c, &r, execute_xml);
    fsp_root_close(&r);
    return rc;
}
