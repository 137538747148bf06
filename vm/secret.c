/*
 * secret.c -- the provider service that hands a provider the secret its configuration
 * names (provider.h: provost_secret).  A provider never reads a password file itself, so
 * that the rule every provider must keep -- a secret file is one only its owner can read --
 * is checked once, here; a credential comes from the engine's store (credential.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credential.h"
#include "vm.h"

#define SECRET_MAX 4096 /* longer than any password; a bigger file is not a password file */

void provost_secret_free(char *secret)
{
    if (secret) {
        explicit_bzero(secret, strlen(secret));
        free(secret);
    }
}

static uint32_t failf(provost_pcall *c, uint32_t code, const char *fmt, const char *a, const char *b)
{
    char m[1024];
    snprintf(m, sizeof m, fmt, a, b);
    return provost_fail(c, code, m);
}

/* The first line of PATH, a regular file that neither group nor others may read. */
static uint32_t read_password_file(provost_pcall *c, const char *path, char **secret)
{
    if (path[0] != '/')
        return failf(c, PROVOST_E_INVALIDARG, "passwordFile %s: not an absolute path%s", path, "");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return failf(c, errno == ENOENT ? 0x80070002u : errno == EACCES ? 0x80070005u : PROVOST_E_FAIL,
                     "passwordFile %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return failf(c, PROVOST_E_INVALIDARG, "passwordFile %s: not a regular file%s", path, "");
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return failf(c, 0x80070005u, "passwordFile %s: group or others may access it (chmod 600 %s)", path, path);
    }
    char buf[SECRET_MAX + 1];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int err = errno;
            close(fd);
            explicit_bzero(buf, sizeof buf);
            return failf(c, PROVOST_E_FAIL, "passwordFile %s: %s", path, strerror(err));
        }
        if (r == 0 || (n += (size_t)r) == sizeof buf - 1)
            break;
    }
    close(fd);
    buf[n] = 0;
    size_t len = strcspn(buf, "\r\n");
    if (len == n && n == SECRET_MAX) {
        explicit_bzero(buf, sizeof buf);
        return failf(c, PROVOST_E_INVALIDARG, "passwordFile %s: its first line is longer than %s bytes", path, "4096");
    }
    buf[len] = 0;
    if (len == 0)
        return failf(c, PROVOST_E_INVALIDARG, "passwordFile %s: the first line is empty%s", path, "");
    *secret = strdup(buf);
    explicit_bzero(buf, sizeof buf);
    return *secret ? PROVOST_S_OK : provost_fail(c, 0x8007000Eu, "out of memory reading a passwordFile");
}

uint32_t provost_secret(provost_pcall *c, const char *credential, const char *password_file, char **secret,
                        char **user)
{
    *secret = NULL;
    if (user)
        *user = NULL;
    if (credential && *credential && password_file && *password_file)
        return provost_fail(c, PROVOST_E_INVALIDARG,
                            "providerContext names both a credential and a passwordFile: name one");
    if (credential && *credential) {
        char why[1024];
        int rc = pvm_credential_get(c->req->e, credential, user, secret, why, sizeof why);
        return rc == 0 ? PROVOST_S_OK : provost_fail(c, rc == 1 ? 0x80070490u : PROVOST_E_ACCESSDENIED, why);
    }
    if (password_file && *password_file)
        return read_password_file(c, password_file, secret);
    return provost_fail(c, PROVOST_E_INVALIDARG, "providerContext names no credential and no passwordFile");
}
