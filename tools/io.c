/*
 * io.c -- what the commands share: one-line errors, reading an input whole (or stdin),
 * and writing a file so that it is either complete or not there at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/tools.h"

#define INPUT_LIMIT ((size_t)1 << 30)

/* A one-line error on stderr; returns the exit status for bad input. */
int die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("provost: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

/* Reads a whole file ("-" is stdin) into a NUL-terminated, 8-aligned buffer. */
char *read_input(const char *path, size_t *len, char *err, size_t errlen)
{
    int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "is a directory");
        close(fd);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = aligned_alloc(8, cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap >= INPUT_LIMIT) {
                snprintf(err, errlen, "larger than 1 GiB");
                free(buf);
                buf = NULL;
                break;
            }
            char *nb = aligned_alloc(8, cap * 2);
            if (nb)
                memcpy(nb, buf, n);
            free(buf);
            buf = nb;
            cap *= 2;
            if (!buf)
                break;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "%s", strerror(errno));
            free(buf);
            buf = NULL;
            break;
        }
        if (r == 0) {
            buf[n] = 0;
            *len = n;
            break;
        }
        n += (size_t)r;
    }
    if (!buf && !err[0])
        snprintf(err, errlen, "out of memory");
    if (fd != 0)
        close(fd);
    return buf;
}

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
int write_atomically(const char *path, const void *data, size_t len, char *err, size_t errlen)
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

