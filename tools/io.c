/*
 * io.c -- what the commands share: one-line errors and reading an input whole (or stdin).
 * (Writing a file whole is provost_write_atomically, in provost/batch.h.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools.h"

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
