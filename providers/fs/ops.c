/*
 * ops.c -- the fs provider's procedures: CreateDirectory, WriteFile, SetPermissions, Move
 * and Delete (writes), Stat and ReadFile (reads).  See docs/providers/fs.md.
 *
 * Every write looks before it writes, so that a call re-driven after a crash or a retry
 * finds its work done and succeeds without doing it twice: such a call changes nothing
 * and records nothing to undo.  Otherwise it records its undo (undo.c) before it changes
 * anything, and a call that fails half-way undoes its own partial work.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fsint.h"

/* What every procedure starts from. */
typedef struct call {
    provost_pcall *c;
    xmlDocPtr x;
    xmlNodePtr data; /* executeData */
    const char *proc;
    fsp_root root;
} call;

/* executeData/NAME, required: NULL after failing the call. */
static char *need(call *k, const char *name, uint32_t *rc)
{
    char *s = provost_child_text(k->data, name);
    if (!s)
        *rc = provost_failf(k->c, PROVOST_E_INVALIDARG, "%s: executeData/%s is missing", k->proc, name);
    return s;
}

/* The optional mode, owner and group: -1 for those absent. */
static uint32_t attrs(call *k, int mode_required, long *mode, long *uid, long *gid)
{
    uint32_t rc = PROVOST_S_OK;
    char *m = provost_child_text(k->data, "mode"), *o = provost_child_text(k->data, "owner"),
         *g = provost_child_text(k->data, "group");
    *mode = *uid = *gid = -1;
    if (!m && mode_required)
        rc = provost_failf(k->c, PROVOST_E_INVALIDARG, "%s: executeData/mode is missing", k->proc);
    else if (m && (*mode = fsp_parse_mode(m)) < 0)
        rc = provost_failf(k->c, PROVOST_E_INVALIDARG,
                       "%s: executeData/mode \"%.100s\" is not an octal mode such as 0644", k->proc, m);
    else if (o)
        rc = fsp_parse_owner(k->c, k->proc, "owner", o, 0, uid);
    if (rc == PROVOST_S_OK && g)
        rc = fsp_parse_owner(k->c, k->proc, "group", g, 1, gid);
    free(m);
    free(o);
    free(g);
    return rc;
}

/* Whether ST already has the attributes asked for (-1: not asked). */
static int attrs_match(const struct stat *st, long mode, long uid, long gid)
{
    return (mode < 0 || (long)(st->st_mode & 07777) == mode) && (uid < 0 || (long)st->st_uid == uid) &&
           (gid < 0 || (long)st->st_gid == gid);
}

/* The change failed after its record was written: undo what part of it was made, then
 * report the failure (errno E) -- the undo's own description, if it fails, is replaced. */
static uint32_t abandon(call *k, const fsp_undo *u, const char *path, int e)
{
    int undone = fsp_undo_apply(k->c, &k->root, k->x, u) == PROVOST_S_OK;
    if (undone)
        fsp_undo_forget(k->c, &k->root, k->x);
    char buf[256];
    const char *why = strerror_r(e, buf, sizeof buf);
    return provost_failf(k->c, fsp_hresult(e), "%s %.400s: %s%s", k->proc, path, why,
                     undone ? "" : " (and its partial change could not be undone)");
}

/* The change is made: hand the undo to the engine, or undo it and fail. */
static uint32_t finish(call *k, const fsp_undo *u)
{
    if (fsp_undo_journal(k->c, k->proc, u) == PROVOST_S_OK)
        return PROVOST_S_OK;
    return abandon(k, u, u->path, ENOMEM); /* the engine could not keep the rollback data */
}

/* ---- writes ------------------------------------------------------------------------------ */

static uint32_t create_directory(call *k, fsp_path *p)
{
    long mode, uid, gid;
    uint32_t rc = attrs(k, 0, &mode, &uid, &gid);
    if (rc != PROVOST_S_OK)
        return rc;
    struct stat st;
    if (fsp_lstat(p, &st) == 0) {
        if (S_ISLNK(st.st_mode))
            return fsp_fail_symlink(k->c, &k->root, k->proc, p);
        if (!S_ISDIR(st.st_mode))
            return provost_failf(k->c, FSP_E_ALREADY_EXISTS, "%s %.400s: exists and is not a directory",
                             k->proc, p->given);
        if (!attrs_match(&st, mode, uid, gid))
            return provost_failf(k->c, FSP_E_ALREADY_EXISTS,
                             "%s %.400s: exists with mode %04o, owner %ld, group %ld, not as asked "
                             "(SetPermissions changes them)",
                             k->proc, p->given, (unsigned)(st.st_mode & 07777), (long)st.st_uid,
                             (long)st.st_gid);
        return PROVOST_S_OK; /* there as asked: nothing done, nothing to undo */
    }
    if (errno != ENOENT)
        return fsp_fail_errno(k->c, k->proc, p->given, errno);
    fsp_undo u = {.op = "mkdir", .path = (char *)p->given, .mode = -1, .uid = -1, .gid = -1};
    if ((rc = fsp_undo_save(k->c, &k->root, k->x, k->proc, &u)) != PROVOST_S_OK)
        return rc;
    /* made private, then given its mode: nobody uses it before it has its owner */
    if (mkdirat(p->dirfd, p->leaf, 0700) != 0) {
        int e = errno;
        fsp_undo_forget(k->c, &k->root, k->x);
        return fsp_fail_errno(k->c, k->proc, p->given, e);
    }
    if (fsp_set_attrs(p, uid, gid, mode >= 0 ? mode : 0755) != 0)
        return abandon(k, &u, p->given, errno);
    fsp_sync_dir(p->dirfd);
    return finish(k, &u);
}

/* The new content from executeData/content (text) or executeData/base64. */
static unsigned char *new_content(call *k, size_t *len, uint32_t *rc)
{
    char *text = provost_child_text(k->data, "content"), *b64 = provost_child_text(k->data, "base64");
    unsigned char *out = NULL;
    if (text && b64) {
        *rc = provost_failf(k->c, PROVOST_E_INVALIDARG, "%s: executeData has both content and base64: give one",
                        k->proc);
    } else if (text) {
        *len = strlen(text);
        out = (unsigned char *)text;
        text = NULL;
    } else if (b64) {
        if (!(out = fsp_base64_decode(b64, len)))
            *rc = provost_failf(k->c, PROVOST_E_INVALIDARG, "%s: executeData/base64 is not base64", k->proc);
    } else {
        *rc = provost_failf(k->c, PROVOST_E_INVALIDARG, "%s: executeData/content (or base64) is missing", k->proc);
    }
    free(text);
    free(b64);
    return out;
}

/* The existing file's content (at most FSP_MAX_PREIMAGE bytes) and attributes. */
static unsigned char *old_content(call *k, fsp_path *p, struct stat *st, size_t *len, uint32_t *rc)
{
    int fd = openat(p->dirfd, p->leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 || fstat(fd, st) != 0) {
        *rc = fsp_fail_errno(k->c, k->proc, p->given, errno);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    unsigned char *buf = NULL;
    if (!S_ISREG(st->st_mode))
        *rc = provost_failf(k->c, FSP_E_ACCESS_DENIED, "%s %.400s: access denied: not a regular file", k->proc,
                        p->given);
    else if (st->st_size > FSP_MAX_PREIMAGE)
        *rc = provost_failf(k->c, FSP_E_FILE_TOO_LARGE,
                        "%s %.400s: the file to replace is larger than %u bytes, the most whose old "
                        "content is kept for undo",
                        k->proc, p->given, FSP_MAX_PREIMAGE);
    else if (!(buf = malloc((size_t)st->st_size + 1)))
        *rc = provost_failf(k->c, PROVOST_E_FAIL, "%s: out of memory", k->proc);
    *len = 0;
    while (buf && *len <= (size_t)st->st_size) {
        ssize_t n = read(fd, buf + *len, (size_t)st->st_size + 1 - *len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *rc = fsp_fail_errno(k->c, k->proc, p->given, errno);
            free(buf);
            buf = NULL;
        }
        if (n <= 0)
            break;
        *len += (size_t)n;
    }
    if (buf && *len > (size_t)st->st_size) { /* grew as we read it */
        *rc = provost_failf(k->c, FSP_E_ACCESS_DENIED, "%s %.400s: the file changed while it was read", k->proc,
                        p->given);
        free(buf);
        buf = NULL;
    }
    close(fd);
    return buf;
}

static uint32_t write_file(call *k, fsp_path *p)
{
    long mode, uid, gid;
    uint32_t rc = attrs(k, 0, &mode, &uid, &gid);
    size_t len = 0, oldlen = 0;
    unsigned char *data = rc == PROVOST_S_OK ? new_content(k, &len, &rc) : NULL, *old = NULL;
    if (rc != PROVOST_S_OK)
        return rc;
    fsp_undo u = {.op = "write", .path = (char *)p->given, .mode = -1, .uid = -1, .gid = -1};
    struct stat st;
    if (fsp_lstat(p, &st) == 0) {
        if (S_ISLNK(st.st_mode))
            rc = fsp_fail_symlink(k->c, &k->root, k->proc, p);
        else if (!(old = old_content(k, p, &st, &oldlen, &rc)))
            ;
        else if (oldlen == len && memcmp(old, data, len) == 0 && attrs_match(&st, mode, uid, gid))
            goto out; /* there as asked: nothing done, nothing to undo */
        else if (!(u.content = fsp_base64_encode(old, oldlen)))
            rc = provost_failf(k->c, PROVOST_E_FAIL, "%s: out of memory", k->proc);
        u.existed = 1;
        u.mode = st.st_mode & 07777;
        u.uid = st.st_uid;
        u.gid = st.st_gid;
        /* what is not asked for stays as it was */
        mode = mode >= 0 ? mode : u.mode;
        uid = uid >= 0 ? uid : u.uid;
        gid = gid >= 0 ? gid : u.gid;
    } else if (errno != ENOENT) {
        rc = fsp_fail_errno(k->c, k->proc, p->given, errno);
    }
    char tmp[200];
    if (rc == PROVOST_S_OK && fsp_call_name(k->c, k->x, "tmp", tmp, sizeof tmp) != 0)
        rc = provost_failf(k->c, PROVOST_E_FAIL, "%s %.400s: the call has no transaction or procedureExecId",
                       k->proc, p->given);
    if (rc == PROVOST_S_OK)
        rc = fsp_undo_save(k->c, &k->root, k->x, k->proc, &u);
    if (rc == PROVOST_S_OK) {
        if (fsp_replace_file(p, tmp, data, len, uid, gid, mode) != 0) {
            int e = errno; /* the target is untouched: the rename is the last step */
            fsp_undo_forget(k->c, &k->root, k->x);
            rc = fsp_fail_errno(k->c, k->proc, p->given, e);
        }
        else
            rc = finish(k, &u);
    }
out:
    free(u.content);
    free(old);
    free(data);
    return rc;
}

static uint32_t set_permissions(call *k, fsp_path *p)
{
    long mode, uid, gid;
    uint32_t rc = attrs(k, 1, &mode, &uid, &gid);
    if (rc != PROVOST_S_OK)
        return rc;
    struct stat st;
    if (fsp_lstat(p, &st) != 0)
        return fsp_fail_errno(k->c, k->proc, p->given, errno);
    if (S_ISLNK(st.st_mode))
        return fsp_fail_symlink(k->c, &k->root, k->proc, p);
    if (attrs_match(&st, mode, uid, gid))
        return PROVOST_S_OK; /* already so: nothing done, nothing to undo */
    fsp_undo u = {.op = "chmod", .path = (char *)p->given, .mode = st.st_mode & 07777,
                  .uid = uid >= 0 ? (long)st.st_uid : -1, .gid = gid >= 0 ? (long)st.st_gid : -1};
    if ((rc = fsp_undo_save(k->c, &k->root, k->x, k->proc, &u)) != PROVOST_S_OK)
        return rc;
    if (fsp_set_attrs(p, uid, gid, mode) != 0)
        return abandon(k, &u, p->given, errno);
    return finish(k, &u);
}

static uint32_t move(call *k, fsp_path *from)
{
    uint32_t rc = PROVOST_S_OK;
    char *to_s = need(k, "to", &rc);
    if (!to_s)
        return rc;
    fsp_path to;
    if ((rc = fsp_path_open(k->c, &k->root, k->proc, to_s, &to)) != PROVOST_S_OK) {
        free(to_s);
        return rc;
    }
    struct stat st;
    int from_there = fsp_lstat(from, &st) == 0, from_errno = errno;
    int to_there = fsp_lstat(&to, &st) == 0;
    fsp_undo u = {.op = "move", .path = (char *)from->given, .to = to_s, .mode = -1, .uid = -1, .gid = -1};
    if (!from_there && from_errno == ENOENT && to_there)
        ; /* moved already (a call re-driven): nothing done, nothing to undo */
    else if (!from_there)
        rc = fsp_fail_errno(k->c, k->proc, from->given, from_errno);
    else if (to_there)
        rc = provost_failf(k->c, FSP_E_ALREADY_EXISTS, "%s %.400s to %.400s: the destination exists", k->proc,
                       from->given, to_s);
    else if ((rc = fsp_undo_save(k->c, &k->root, k->x, k->proc, &u)) != PROVOST_S_OK)
        ;
    else if (renameat2(from->dirfd, from->leaf, to.dirfd, to.leaf, RENAME_NOREPLACE) != 0) {
        int e = errno;
        fsp_undo_forget(k->c, &k->root, k->x);
        rc = e == EXDEV ? provost_failf(k->c, FSP_E_NOT_SAME_DEV,
                                    "%s %.400s to %.400s: they are on different file systems", k->proc,
                                    from->given, to_s)
                        : fsp_fail_errno(k->c, k->proc, from->given, e);
    } else {
        fsp_sync_dir(to.dirfd);
        fsp_sync_dir(from->dirfd);
        rc = finish(k, &u);
    }
    fsp_path_close(&to);
    free(to_s);
    return rc;
}

/* Delete's process: into the quarantine (commit removes it, rollback puts it back). */
static uint32_t delete(call *k, fsp_path *p)
{
    struct stat st;
    if (fsp_lstat(p, &st) != 0)
        return errno == ENOENT ? PROVOST_S_OK /* gone already: nothing to undo */
                               : fsp_fail_errno(k->c, k->proc, p->given, errno);
    char q[160];
    if (fsp_call_name(k->c, k->x, "deleted", q, sizeof q) != 0)
        return provost_failf(k->c, PROVOST_E_FAIL, "%s %.400s: the call has no transaction or procedureExecId",
                         k->proc, p->given);
    fsp_undo u = {.op = "delete", .path = (char *)p->given, .mode = -1, .uid = -1, .gid = -1};
    uint32_t rc = fsp_undo_save(k->c, &k->root, k->x, k->proc, &u);
    if (rc != PROVOST_S_OK)
        return rc;
    int qfd = fsp_quarantine_open(&k->root);
    if (qfd < 0 || renameat2(p->dirfd, p->leaf, qfd, q, RENAME_NOREPLACE) != 0) {
        int e = errno;
        fsp_undo_forget(k->c, &k->root, k->x);
        if (qfd >= 0)
            close(qfd);
        return e == EXDEV ? provost_failf(k->c, FSP_E_NOT_SAME_DEV,
                                      "%s %.400s: it is on another file system than %s/%s, where it "
                                      "would wait for the commit",
                                      k->proc, p->given, k->root.root, FSP_QUARANTINE)
                          : fsp_fail_errno(k->c, k->proc, p->given, e);
    }
    fsync(qfd);
    close(qfd);
    fsp_sync_dir(p->dirfd);
    return finish(k, &u);
}

/* ---- reads ------------------------------------------------------------------------------- */

/* Replaces executeData/NAME (a call re-driven does not add a second one). */
static xmlNodePtr output(call *k, const char *name, const char *text)
{
    for (xmlNodePtr n = provost_child(k->data, name); n; n = provost_child(k->data, name)) {
        xmlUnlinkNode(n);
        xmlFreeNode(n);
    }
    return xmlNewTextChild(k->data, NULL, BAD_CAST name, BAD_CAST text);
}

static void id_name(long id, int group, char *out, size_t n)
{
    char buf[16384];
    if (group) {
        struct group g, *res = NULL;
        if (getgrgid_r((gid_t)id, &g, buf, sizeof buf, &res) == 0 && res) {
            snprintf(out, n, "%s", g.gr_name);
            return;
        }
    } else {
        struct passwd pw, *res = NULL;
        if (getpwuid_r((uid_t)id, &pw, buf, sizeof buf, &res) == 0 && res) {
            snprintf(out, n, "%s", pw.pw_name);
            return;
        }
    }
    snprintf(out, n, "%ld", id);
}

static uint32_t stat_path(call *k, fsp_path *p)
{
    struct stat st;
    if (fsp_lstat(p, &st) != 0)
        return fsp_fail_errno(k->c, k->proc, p->given, errno);
    const char *type = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "directory"
                                                  : S_ISLNK(st.st_mode) ? "symlink" : "other";
    char mode[16], owner[256], group[256], size[32];
    snprintf(mode, sizeof mode, "%04o", (unsigned)(st.st_mode & 07777));
    snprintf(size, sizeof size, "%lld", (long long)st.st_size);
    id_name((long)st.st_uid, 0, owner, sizeof owner);
    id_name((long)st.st_gid, 1, group, sizeof group);
    xmlNodePtr n = output(k, "stat", NULL);
    if (!n || !xmlNewProp(n, BAD_CAST "type", BAD_CAST type) || !xmlNewProp(n, BAD_CAST "mode", BAD_CAST mode) ||
        !xmlNewProp(n, BAD_CAST "owner", BAD_CAST owner) || !xmlNewProp(n, BAD_CAST "group", BAD_CAST group) ||
        !xmlNewProp(n, BAD_CAST "size", BAD_CAST size))
        return provost_failf(k->c, PROVOST_E_FAIL, "%s: out of memory", k->proc);
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t t = readlinkat(p->dirfd, p->leaf, target, sizeof target - 1);
        if (t >= 0) {
            target[t] = '\0';
            if (xmlCheckUTF8(BAD_CAST target))
                xmlSetProp(n, BAD_CAST "target", BAD_CAST target);
        }
    }
    return PROVOST_S_OK;
}

/* Text an XML document can carry as it is. */
static int is_xml_text(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    return xmlCheckUTF8(s);
}

static uint32_t read_file(call *k, fsp_path *p)
{
    int fd = openat(p->dirfd, p->leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 && errno == ELOOP)
        return fsp_fail_symlink(k->c, &k->root, k->proc, p);
    if (fd < 0 || fstat(fd, &st) != 0) {
        uint32_t rc = fsp_fail_errno(k->c, k->proc, p->given, errno);
        if (fd >= 0)
            close(fd);
        return rc;
    }
    uint32_t rc = PROVOST_S_OK;
    unsigned char *buf = NULL;
    size_t len = 0;
    if (!S_ISREG(st.st_mode))
        rc = provost_failf(k->c, FSP_E_ACCESS_DENIED, "%s %.400s: access denied: not a regular file", k->proc,
                       p->given);
    else if (st.st_size > FSP_MAX_READ)
        rc = provost_failf(k->c, FSP_E_FILE_TOO_LARGE, "%s %.400s: larger than %u bytes", k->proc, p->given,
                       FSP_MAX_READ);
    else if (!(buf = malloc((size_t)st.st_size + 1)))
        rc = provost_failf(k->c, PROVOST_E_FAIL, "%s: out of memory", k->proc);
    while (buf && len < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rc = fsp_fail_errno(k->c, k->proc, p->given, errno);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (rc == PROVOST_S_OK) {
        buf[len] = '\0';
        char *b64 = NULL;
        xmlNodePtr n = is_xml_text(buf, len) ? output(k, "content", (const char *)buf)
                       : (b64 = fsp_base64_encode(buf, len)) ? output(k, "base64", b64)
                                                             : NULL;
        free(b64);
        if (!n)
            rc = provost_failf(k->c, PROVOST_E_FAIL, "%s: out of memory", k->proc);
    }
    free(buf);
    return rc;
}

/* ---- dispatch ---------------------------------------------------------------------------- */

static const struct {
    const char *name;
    uint32_t (*fn)(call *, fsp_path *);
    const char *path_field;
} procs[] = {
    {"CreateDirectory", create_directory, "path"},
    {"WriteFile", write_file, "path"},
    {"SetPermissions", set_permissions, "path"},
    {"Move", move, "from"},
    {"Delete", delete, "path"},
    {"Stat", stat_path, "path"},
    {"ReadFile", read_file, "path"},
};

uint32_t fsp_process(provost_pcall *c, xmlDocPtr execute_xml)
{
    const char *name = provost_pcall_procedure(c);
    size_t i = 0;
    while (i < sizeof procs / sizeof *procs && (!name || strcasecmp(name, procs[i].name) != 0))
        i++;
    if (i == sizeof procs / sizeof *procs)
        return provost_failf(c, FSP_E_NO_PROCEDURE,
                         "the fs provider has no procedure \"%.200s\" (it has CreateDirectory, WriteFile, "
                         "SetPermissions, Move, Delete, Stat and ReadFile)",
                         name ? name : "");
    call k = {.c = c, .x = execute_xml, .proc = procs[i].name};
    k.data = provost_child(xmlDocGetRootElement(execute_xml), "executeData");
    uint32_t rc = fsp_root_open(c, execute_xml, k.proc, &k.root);
    if (rc != PROVOST_S_OK)
        return rc;
    char *given = need(&k, procs[i].path_field, &rc);
    fsp_path p;
    if (given && !k.data)
        rc = provost_failf(c, PROVOST_E_INVALIDARG, "%s: there is no executeData", k.proc);
    else if (given && (rc = fsp_path_open(c, &k.root, k.proc, given, &p)) == PROVOST_S_OK) {
        rc = procs[i].fn(&k, &p);
        fsp_path_close(&p);
    }
    free(given);
    fsp_root_close(&k.root);
    return rc;
}
