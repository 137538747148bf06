/*
 * path.c -- the fs provider's file system primitives: the root, every path resolved
 * beneath it by the kernel (openat2 with RESOLVE_BENEATH), errno -> HRESULT, and the
 * small input parsers (modes, owners, base64).
 *
 * The kernel, not string inspection, decides whether a path stays beneath the root: a
 * "..", an absolute path or a symbolic link that leads out fails the resolution with
 * EXDEV, which the call reports as access denied.  Only the last name of a path is handled
 * by name, through the *at() calls on its directory, which never follow it as a link.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fsint.h"

/* ---- errors ----------------------------------------------------------------------------- */

uint32_t fsp_hresult(int err)
{
    switch (err) {
    case 0:
        return PROVOST_E_FAIL;
    case ENOENT:
        return FSP_E_NOT_FOUND;
    case ENOTDIR:
        return FSP_E_PATH_NOT_FOUND;
    case EACCES:
    case EPERM:
    case EXDEV:
    case EISDIR:
        return FSP_E_ACCESS_DENIED;
    case EROFS:
        return FSP_E_WRITE_PROTECT;
    case EEXIST:
        return FSP_E_ALREADY_EXISTS;
    case ENOSPC:
    case EDQUOT:
        return FSP_E_DISK_FULL;
    case ENOTEMPTY:
        return FSP_E_DIR_NOT_EMPTY;
    case ENAMETOOLONG:
        return FSP_E_NAME_TOO_LONG;
    case EFBIG:
        return FSP_E_FILE_TOO_LARGE;
    case ELOOP:
        return FSP_E_CANT_RESOLVE;
    case EINVAL:
        return PROVOST_E_INVALIDARG;
    case ENOMEM:
        return 0x8007000Eu; /* ERROR_OUTOFMEMORY */
    case EMFILE:
    case ENFILE:
        return 0x80070004u; /* ERROR_TOO_MANY_OPEN_FILES */
    case EBUSY:
        return 0x800700AAu; /* ERROR_BUSY */
    case ETXTBSY:
        return 0x80070020u; /* ERROR_SHARING_VIOLATION */
    case EIO:
        return 0x8007045Du; /* ERROR_IO_DEVICE */
    default:
        return PROVOST_E_FAIL;
    }
}

uint32_t fsp_fail_errno(provost_pcall *c, const char *proc, const char *path, int err)
{
    char buf[256];
    const char *why = strerror_r(err, buf, sizeof buf); /* GNU: thread-safe, returns the text */
    if (err == EXDEV)
        why = "the path leads outside the root";
    return provost_failf(c, fsp_hresult(err), "%s %.400s: %s", proc, path, why);
}

/* ---- the root --------------------------------------------------------------------------- */

int fsp_openat2(int dirfd, const char *path, int flags, mode_t mode)
{
    struct open_how how = {.flags = (unsigned long long)(flags | O_CLOEXEC),
                           .mode = (flags & O_CREAT) ? mode : 0,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    for (int tries = 0;; tries++) {
        long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        /* EAGAIN: a concurrent rename beneath the root; the kernel asks for a retry */
        if (fd >= 0 || (errno != EAGAIN && errno != EINTR) || tries >= 16)
            return (int)fd;
    }
}

uint32_t fsp_root_open(provost_pcall *c, xmlDocPtr execute_xml, const char *proc, fsp_root *r)
{
    r->fd = -1;
    r->root = NULL;
    xmlNodePtr pctx = provost_child(provost_child(xmlDocGetRootElement(execute_xml), "context"), "providerContext");
    xmlChar *root = pctx ? xmlGetProp(pctx, BAD_CAST "root") : NULL;
    if (!root || root[0] != '/') {
        uint32_t rc = provost_failf(c, PROVOST_E_INVALIDARG,
                                "%s: the namespace's providerContext needs a root attribute, an "
                                "absolute directory (it has %s%.400s%s)",
                                proc, root ? "\"" : "none", root ? (const char *)root : "",
                                root ? "\"" : "");
        xmlFree(root);
        return rc;
    }
    r->root = strdup((const char *)root);
    xmlFree(root);
    if (!r->root)
        return provost_failf(c, PROVOST_E_FAIL, "%s: out of memory", proc);
    r->fd = open(r->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (r->fd < 0) {
        int e = errno;
        char what[600];
        snprintf(what, sizeof what, "root %.500s", r->root);
        uint32_t rc = fsp_fail_errno(c, proc, what, e);
        fsp_root_close(r);
        return rc;
    }
    return PROVOST_S_OK;
}

void fsp_root_close(fsp_root *r)
{
    if (r->fd >= 0)
        close(r->fd);
    free(r->root);
    r->fd = -1;
    r->root = NULL;
}

/* ---- paths beneath it ------------------------------------------------------------------- */

static int same_file(int fd, int dirfd, const char *name)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int fsp_path_resolve(const fsp_root *r, const char *given, fsp_path *p)
{
    p->given = given;
    p->dirfd = -1;
    p->leaf = NULL;
    size_t n = strlen(given);
    while (n > 1 && given[n - 1] == '/')
        n--;
    char *copy = strndup(given, n);
    if (!copy)
        return FSP_R_NOMEM;
    char *slash = strrchr(copy, '/');
    const char *dir = ".";
    char *leaf = copy;
    if (slash) {
        *slash = '\0';
        leaf = slash + 1;
        dir = slash == copy ? "/" : copy; /* "/x": absolute, refused by the kernel below */
    }
    int rc = 0;
    int fd = fsp_openat2(r->fd, dir, O_PATH | O_DIRECTORY, 0);
    if (fd < 0)
        rc = errno == EXDEV || errno == ELOOP ? FSP_R_OUTSIDE : errno;
    else if (strcmp(leaf, "..") == 0)
        rc = FSP_R_DOTDOT; /* as a last name, the *at() calls would act on the directory above */
    else if (!*leaf || strcmp(leaf, ".") == 0)
        rc = FSP_R_NONAME;
    else if (strcmp(leaf, FSP_QUARANTINE) == 0 ? same_file(fd, r->fd, ".")
                                               : same_file(fd, r->fd, FSP_QUARANTINE))
        rc = FSP_R_RESERVED;
    if (rc == 0 && !(p->leaf = strdup(leaf)))
        rc = FSP_R_NOMEM;
    free(copy);
    if (rc != 0) {
        if (fd >= 0)
            close(fd);
        return rc;
    }
    p->dirfd = fd;
    return 0;
}

uint32_t fsp_path_fail(provost_pcall *c, const fsp_root *r, const char *proc, const char *given, int why)
{
    switch (why) {
    case FSP_R_OUTSIDE:
        return provost_failf(c, FSP_E_ACCESS_DENIED,
                         "%s %.400s: access denied: the path leads outside the root %.300s", proc, given,
                         r->root);
    case FSP_R_DOTDOT:
        return provost_failf(c, FSP_E_ACCESS_DENIED, "%s %.400s: access denied: a path may not end in \"..\"",
                         proc, given);
    case FSP_R_NONAME:
        return provost_failf(c, PROVOST_E_INVALIDARG,
                         "%s \"%.400s\": the path must name a file or directory beneath the root", proc,
                         given);
    case FSP_R_RESERVED:
        return provost_failf(c, FSP_E_ACCESS_DENIED, "%s %.400s: access denied: %s belongs to the provider",
                         proc, given, FSP_QUARANTINE);
    case FSP_R_NOMEM:
        return provost_failf(c, PROVOST_E_FAIL, "%s: out of memory", proc);
    default:
        return fsp_fail_errno(c, proc, given, why);
    }
}

uint32_t fsp_path_open(provost_pcall *c, const fsp_root *r, const char *proc, const char *given,
                       fsp_path *p)
{
    int why = fsp_path_resolve(r, given, p);
    return why ? fsp_path_fail(c, r, proc, given, why) : PROVOST_S_OK;
}

void fsp_path_close(fsp_path *p)
{
    if (p->dirfd >= 0)
        close(p->dirfd);
    free(p->leaf);
    p->dirfd = -1;
    p->leaf = NULL;
}

int fsp_lstat(const fsp_path *p, struct stat *st)
{
    return fstatat(p->dirfd, p->leaf, st, AT_SYMLINK_NOFOLLOW);
}

uint32_t fsp_fail_symlink(provost_pcall *c, const fsp_root *r, const char *proc, const fsp_path *p)
{
    int fd = fsp_openat2(r->fd, p->given, O_PATH, 0); /* the link followed, from the root */
    int e = fd < 0 ? errno : 0;
    if (fd >= 0)
        close(fd);
    if (e == EXDEV || e == ELOOP)
        return provost_failf(c, FSP_E_ACCESS_DENIED,
                         "%s %.400s: access denied: a symbolic link leading outside the root %.300s",
                         proc, p->given, r->root);
    return provost_failf(c, FSP_E_ACCESS_DENIED,
                     "%s %.400s: access denied: a symbolic link (%s does not write through links)", proc,
                     p->given, proc);
}

int fsp_set_attrs(const fsp_path *p, long uid, long gid, long mode)
{
    int fd = openat(p->dirfd, p->leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    int rc = fstat(fd, &st);
    if (rc == 0 && S_ISLNK(st.st_mode)) {
        errno = ELOOP;
        rc = -1;
    }
    if (rc == 0 && (uid >= 0 || gid >= 0))
        rc = fchownat(fd, "", uid >= 0 ? (uid_t)uid : (uid_t)-1, gid >= 0 ? (gid_t)gid : (gid_t)-1,
                      AT_EMPTY_PATH);
    if (rc == 0 && mode >= 0) {
        /* chmod through the descriptor's /proc entry: it names this very inode, which a
         * rename of the leaf since cannot change; without /proc, by name */
        char self[64];
        snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
        rc = chmod(self, (mode_t)mode);
        if (rc != 0 && errno == ENOENT)
            rc = fchmodat(p->dirfd, p->leaf, (mode_t)mode, 0);
    }
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

void fsp_sync_dir(int dirfd)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int fsp_write_all(int fd, const void *data, size_t n)
{
    const unsigned char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int fsp_replace_file(const fsp_path *p, const char *tmpname, const void *data, size_t len, long uid,
                     long gid, long mode)
{
    unlinkat(p->dirfd, tmpname, 0); /* a stale one, from an attempt that died */
    int fd = openat(p->dirfd, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc = fsp_write_all(fd, data, len);
    if (rc == 0 && (uid >= 0 || gid >= 0))
        rc = fchown(fd, uid >= 0 ? (uid_t)uid : (uid_t)-1, gid >= 0 ? (gid_t)gid : (gid_t)-1);
    if (rc == 0)
        rc = fchmod(fd, mode >= 0 ? (mode_t)mode : 0644); /* after chown, which clears set-id bits */
    if (rc == 0)
        rc = fsync(fd);
    int e = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc == 0 && renameat(p->dirfd, tmpname, p->dirfd, p->leaf) != 0) {
        rc = -1;
        e = errno;
    }
    if (rc != 0) {
        unlinkat(p->dirfd, tmpname, 0);
        errno = e;
        return -1;
    }
    fsp_sync_dir(p->dirfd);
    return 0;
}

int fsp_quarantine_open(const fsp_root *r)
{
    if (mkdirat(r->fd, FSP_QUARANTINE, 0700) == 0)
        fsp_sync_dir(r->fd);
    else if (errno != EEXIST)
        return -1;
    return fsp_openat2(r->fd, FSP_QUARANTINE, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
}

int fsp_remove_tree(int at, const char *name)
{
    struct stat st;
    if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(at, name, 0) == 0 || errno == ENOENT ? 0 : -1;
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *ent;
    while (rc == 0 && (ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        rc = fsp_remove_tree(dirfd(d), ent->d_name);
    }
    int e = errno;
    closedir(d);
    if (rc != 0) {
        errno = e;
        return -1;
    }
    return unlinkat(at, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -1;
}

/* ---- input ------------------------------------------------------------------------------ */

long fsp_parse_mode(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 5 || (n == 5 && s[0] != '0'))
        return -1;
    long m = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '7')
            return -1;
        m = m * 8 + (*p - '0');
    }
    return m <= 07777 ? m : -1;
}

static int all_digits(const char *s)
{
    if (!*s || strlen(s) > 9)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

uint32_t fsp_parse_owner(provost_pcall *c, const char *proc, const char *field, const char *s, int group,
                         long *id)
{
    if (all_digits(s)) {
        *id = strtol(s, NULL, 10);
        return PROVOST_S_OK;
    }
    char buf[16384];
    int e;
    if (group) {
        struct group g, *res = NULL;
        e = getgrnam_r(s, &g, buf, sizeof buf, &res);
        if (res) {
            *id = (long)g.gr_gid;
            return PROVOST_S_OK;
        }
    } else {
        struct passwd pw, *res = NULL;
        e = getpwnam_r(s, &pw, buf, sizeof buf, &res);
        if (res) {
            *id = (long)pw.pw_uid;
            return PROVOST_S_OK;
        }
    }
    if (e != 0 && e != ENOENT && e != ESRCH) {
        char why[256];
        return provost_failf(c, PROVOST_E_FAIL, "%s: %s \"%.200s\": cannot look it up: %s", proc, field, s,
                         strerror_r(e, why, sizeof why));
    }
    return provost_failf(c, FSP_E_NO_MAPPING, "%s: %s \"%.200s\": no such %s", proc, field, s,
                     group ? "group" : "user");
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *fsp_base64_encode(const unsigned char *p, size_t n)
{
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        *o++ = b64chars[v >> 18 & 63];
        *o++ = b64chars[v >> 12 & 63];
        *o++ = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? b64chars[v & 63] : '=';
    }
    *o = '\0';
    return out;
}

unsigned char *fsp_base64_decode(const char *s, size_t *len)
{
    unsigned char *out = malloc(strlen(s) / 4 * 3 + 3);
    if (!out)
        return NULL;
    size_t n = 0;
    unsigned v = 0;
    int bits = 0, pad = 0;
    for (const char *p = s; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            continue;
        const char *k = *p ? strchr(b64chars, *p) : NULL;
        if (*p == '=') {
            pad++;
            continue;
        }
        if (!k || pad) /* not base64, or data after the padding */
            goto bad;
        v = v << 6 | (unsigned)(k - b64chars);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(v >> bits);
        }
    }
    if (pad > 2 || bits >= 6)
        goto bad;
    *len = n;
    return out;
bad:
    free(out);
    return NULL;
}
